import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  git,
  gitRepo,
  ORCH_BIN,
  orchEnv,
  readLogEvents,
  runOrch,
  type OrchResult,
} from '../fixtures/agents/e2e-repo.js';

/**
 * A person cancels a task while its agent runs, through the built CLI (`npm run build`
 * first): `orch signal cancel --task` from another terminal; the running `orch spawn` stops
 * that agent's process group, finishes the rest, and ends with exit 1 naming the cancelled task.
 */

const hang = fileURLToPath(new URL('../fixtures/agents/hang.mjs', import.meta.url));
const finish = fileURLToPath(new URL('../fixtures/agents/block-person.mjs', import.meta.url));

let dir: string;
let repo: string;

function orch(...args: string[]): Promise<OrchResult> {
  return runOrch([...args, '--repo', repo]);
}

function events(): { type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }[] {
  const file = path.join(repo, '.state', 'orch.db');
  return readLogEvents(file) as never;
}

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-cancel-e2e-')));
  repo = gitRepo(path.join(dir, 'repo'));
  fs.writeFileSync(
    path.join(repo, 'plan.yaml'),
    `name: Cancel
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: Two tasks
        tasks:
          - { id: T1, title: Never ends, role: slow }
          - { id: T2, title: Quick, role: dev }
`,
  );
  fs.writeFileSync(
    path.join(repo, 'orch.config.json'),
    JSON.stringify({
      planDir: 'plan.yaml',
      maxRetries: 3,
      retryInterval: 0,
      agents: {
        slow: { command: [process.execPath, hang] },
        dev: { command: [process.execPath, finish], env: { BLOCK_TASK: 'none' } },
      },
    }),
  );
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'plan');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('cancelling a task', () => {
  it('stops its running agent, finishes the rest, and ends with exit 1 naming it', async () => {
    const child = spawn(process.execPath, [ORCH_BIN, 'spawn', '-q', '--repo', repo], {
      env: orchEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    // Wait until T1's agent runs.
    let pid: number | undefined;
    for (let i = 0; i < 200 && pid === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const started = events().find((e) => e.type === 'AgentStarted');
      pid = started ? (started.data['pid'] as number) : undefined;
    }
    expect(pid, output).toBeDefined();
    expect(() => process.kill(pid!, 0)).not.toThrow();

    const cancel = await orch('signal', 'cancel', '--task', 'T1', '--summary', 'not needed after all');
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(/^cancelled task T1 \(it was running\) at log position \d+/);

    const code = await exited;
    expect(code, output).toBe(1);
    expect(output).toMatch(/cancelled: T1/);
    expect(() => process.kill(pid!, 0)).toThrow();

    const log = events();
    const cancelled = log.filter((e) => e.type === 'TaskCancelled');
    expect(cancelled.map((e) => [e.data, e.metadata['actor']])).toEqual([
      [{ taskId: 'T1', reason: 'not needed after all' }, 'user'],
    ]);
    // T1 got no other attempt; T2 was done.
    expect(log.filter((e) => e.type === 'AgentSpawnRequested').map((e) => e.data['taskId'])).toEqual([
      'T1',
      'T2',
    ]);
    expect(log.some((e) => e.type === 'BranchMerged' && e.data['taskId'] === 'T2')).toBe(true);
    const status = JSON.parse((await orch('status', '--json')).stdout) as {
      tasks: { id: string; status: string; detail: string }[];
      agents: { task: string; status: string }[];
    };
    expect(status.tasks.map((t) => [t.id, t.status, t.detail])).toEqual([
      ['T1', 'failed', 'cancelled'],
      ['T2', 'complete', 'complete'],
    ]);
    expect(status.agents.filter((a) => a.status === 'running' || a.status === 'spawning')).toEqual([]);

    // Over now: cancelling again is refused, as is an unknown task; nothing is recorded.
    const again = await orch('signal', 'cancel', '--task', 'T1');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/task T1 is already over \(cancelled\)/);
    expect((await orch('signal', 'cancel', '--task', 'nope')).code).toBe(2);
    expect(events().filter((e) => e.type === 'TaskCancelled')).toHaveLength(1);
  }, 60_000);
});
