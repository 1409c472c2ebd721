import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../src/store/index.js';
import { git, gitRepo, runOrch, type OrchResult } from '../fixtures/agents/e2e-repo.js';

/**
 * A task that failed for good, retried by a person, through the built CLI (`npm run build`
 * first): the agent fails its first two runs (maxRetries 1: the task fails, `orch spawn`
 * exits 1); `orch signal retry --task` puts it back with a fresh allowance; the next
 * `orch spawn` gives it attempt 3, which succeeds.
 */

const agent = fileURLToPath(new URL('../fixtures/agents/fail-n.mjs', import.meta.url));

let dir: string;
let repo: string;

function orch(...args: string[]): Promise<OrchResult> {
  return runOrch([...args, '--repo', repo]);
}

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-retry-e2e-')));
  repo = gitRepo(path.join(dir, 'repo'));
  fs.writeFileSync(
    path.join(repo, 'plan.yaml'),
    `name: Retry
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: Flaky work
        tasks:
          - { id: T1, title: Talk to the flaky service, role: dev }
          - { id: T2, title: Build on it, role: dev, dependsOn: [T1] }
`,
  );
  fs.writeFileSync(
    path.join(repo, 'orch.config.json'),
    JSON.stringify({
      planDir: 'plan.yaml',
      maxRetries: 1,
      retryInterval: 0,
      agents: {
        dev: {
          command: [process.execPath, agent],
          env: { FAIL_TIMES: '2', FAIL_N_COUNTER: path.join(dir, 'fail-n-count') },
        },
      },
    }),
  );
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'plan');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a task that failed for good', () => {
  it('is retried by orch signal retry and completes on the next orch spawn', async () => {
    const first = await orch('spawn', '-q');
    expect(first.code, first.stdout + first.stderr).toBe(1);
    expect(first.stdout + first.stderr).toMatch(/T1/);

    // Refused, with nothing recorded: a task that has not failed, and one that does not exist.
    const notFailed = await orch('signal', 'retry', '--task', 'T2');
    expect(notFailed.code).toBe(1);
    expect(notFailed.stderr).toMatch(/task T2 has not failed \(it is pending\)/);
    const unknown = await orch('signal', 'retry', '--task', 'nope');
    expect(unknown.code).toBe(2);
    const noTask = await orch('signal', 'retry');
    expect(noTask.code).not.toBe(0);
    expect(noTask.stderr).toMatch(/needs --task ID/);

    const retry = await orch('signal', 'retry', '--task', 'T1', '--summary', 'the service is back');
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(/^retried task T1 \(failed after 2 attempt\(s\)\) at log position \d+/);
    // Retrying twice is refused: it is no longer failed.
    expect((await orch('signal', 'retry', '--task', 'T1')).code).toBe(1);

    const second = await orch('spawn', '-q');
    expect(second.code, second.stdout + second.stderr).toBe(0);

    const status = await orch('status', '--json');
    const doc = JSON.parse(status.stdout) as { tasks: { id: string; status: string }[] };
    expect(doc.tasks.map((t) => [t.id, t.status])).toEqual([
      ['T1', 'complete'],
      ['T2', 'complete'],
    ]);

    const store = openSqliteEventStore(path.join(repo, '.state', 'orch.db'), { readonly: true });
    try {
      const events = [...store.readAll()];
      const t1Spawns = events.filter(
        (e) => e.type === 'AgentSpawnRequested' && (e.data as { taskId: string }).taskId === 'T1',
      );
      expect(t1Spawns.map((e) => (e.data as { attempt: number }).attempt)).toEqual([1, 2, 3]);
      const retries = events.filter((e) => e.type === 'TaskRetryRequested');
      expect(retries).toHaveLength(1);
      expect(retries[0]?.data).toEqual({ taskId: 'T1', reason: 'the service is back' });
      expect(retries[0]?.metadata).toMatchObject({ actor: 'user' });
    } finally {
      store.close();
    }
    // The prompts count the fresh allowance: 2 attempts, then 2 more after the retry; the
    // third carries what the first two left.
    const prompt = (n: number) =>
      fs.readFileSync(path.join(repo, '.state', 'prompts', 'T1', `${n}.md`), 'utf8');
    expect(prompt(2)).toContain('Attempt: 2 of at most 2');
    expect(prompt(3)).toContain('Attempt: 3 of at most 4');
    expect(prompt(3)).toContain('failing on purpose (run 2 of 2 failures)');
    const verify = await orch('replay', '--verify');
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });
});

describe('orch signal budget', () => {
  it('raises a configured budget, and refuses without one or with a bad amount', async () => {
    const configFile = path.join(repo, 'orch.config.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    const none = await orch('signal', 'budget', '--raise', '5');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no budget is configured/);
    fs.writeFileSync(configFile, JSON.stringify({ ...config, budget: 3 }));
    const bad = await orch('signal', 'budget', '--raise', 'five');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/must be a number of dollars above 0/);
    const missing = await orch('signal', 'budget');
    expect(missing.stderr).toMatch(/needs --raise USD/);
    const wrongKind = await orch('signal', 'retry', '--task', 'T1', '--raise', '5');
    expect(wrongKind.stderr).toMatch(/--raise only applies to orch signal budget/);
    const ok = await orch('signal', 'budget', '--raise', '2', '--summary', 'one more try');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(
      /^raised the budget by \$2\.00 to \$5\.00 \(\$0\.00 spent\) at log position \d+/,
    );
    const store = openSqliteEventStore(path.join(repo, '.state', 'orch.db'), { readonly: true });
    try {
      const raised = [...store.readAll()].filter((e) => e.type === 'BudgetRaised');
      expect(raised.map((e) => [e.data, e.metadata['actor']])).toEqual([
        [{ amountUsd: 2, reason: 'one more try' }, 'user'],
      ]);
    } finally {
      store.close();
    }
  });
});
