import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gitRepo, ORCH_BIN, orchEnv, runOrch, type OrchResult } from '../fixtures/agents/e2e-repo.js';

// Untrusted text (plan titles, an agent's summary and output, git messages, ids in errors)
// holding terminal escapes goes through every command that prints; in text mode no raw
// ESC, BEL or CR reaches stdout or stderr, and --json keeps the original bytes.

/** CSI (clear screen), OSC 52 (write the clipboard), OSC 8 (a hyperlink), BEL, CR, a lone ESC. */
const HOSTILE =
  'x\x1b[2Jy\x1b]52;c;aGk=\x07z\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ bell\x07 cr\r lone\x1b end';
// eslint-disable-next-line no-control-regex
const RAW = /[\x1b\x07\r]/;

const agent = fileURLToPath(new URL('../fixtures/agents/hostile.mjs', import.meta.url));
let dir: string;
let repo: string;
let signalOut: string;
const env = () => orchEnv({ HOSTILE_TEXT: HOSTILE, HOSTILE_SIGNAL_OUT: signalOut, ORCH_BIN });
const planFile = () => path.join(repo, 'plan.json');
const orch = (...args: string[]) => runOrch([...args, '--repo', repo], { env: env() });
const plan = {
  name: `Plan ${HOSTILE}`,
  milestones: [
    {
      id: 'M1',
      title: `Milestone ${HOSTILE}`,
      phases: [
        {
          id: 'S1',
          title: `Phase ${HOSTILE}`,
          tasks: [{ id: 'T1', title: `Task ${HOSTILE}`, role: 'dev' }],
        },
      ],
    },
  ],
};

/** No raw control byte in either stream; returns the result for more checks. */
function safe(what: string, r: OrchResult): OrchResult {
  expect(RAW.test(r.stdout), `${what}: stdout ${JSON.stringify(r.stdout)}`).toBe(false);
  expect(RAW.test(r.stderr), `${what}: stderr ${JSON.stringify(r.stderr)}`).toBe(false);
  return r;
}

beforeAll(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-untrusted-e2e-')));
  signalOut = path.join(dir, 'signal-out.txt');
  repo = gitRepo(path.join(dir, 'repo'));
  fs.writeFileSync(path.join(repo, 'plan.json'), JSON.stringify(plan, null, 2));
  const config = {
    maxConcurrent: 1,
    maxRetries: 0,
    retryInterval: 0,
    agents: { default: { command: [process.execPath, agent] } },
  };
  fs.writeFileSync(path.join(repo, 'orch.config.json'), JSON.stringify(config));
  fs.writeFileSync(path.join(repo, '.gitignore'), '.state/\n');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

it('no raw ESC, BEL or CR reaches the terminal from any command; --json keeps the original', async () => {
  // orch plan: the tree, the goal report, the graph.
  const tree = safe('plan', await orch('plan', '--plan-dir', planFile()));
  expect(tree.code, tree.stderr).toBe(0);
  expect(tree.stdout).toContain('Milestone x\\x1b[2Jy\\x1b]52;c;aGk=\\x07z');
  expect(tree.stdout).toContain('bell\\x07 cr\\r lone\\x1b end');
  safe('plan --goal', await orch('plan', '--plan-dir', planFile(), '--goal', `task ${HOSTILE}`));
  safe('plan --graph', await orch('plan', '--plan-dir', planFile(), '--graph', 'mermaid'));
  const planJson = await orch('plan', '--plan-dir', planFile(), '--json');
  expect((JSON.parse(planJson.stdout) as { plan: { name: string } }).plan.name).toBe(`Plan ${HOSTILE}`);

  // orch spawn: progress lines (the plan's name, the agent's summary), the summary table.
  const run = safe('spawn', await orch('spawn', '--plan-dir', planFile()));
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toContain('summary x\\x1b[2Jy');
  const signalText = fs.readFileSync(signalOut, 'utf8');
  expect(signalText).toContain('recorded complete for task T1');
  expect(RAW.test(signalText), `signal: ${JSON.stringify(signalText)}`).toBe(false);

  // orch status, replay, log, log --task, ci.
  const status = safe('status', await orch('status'));
  expect(status.stdout).toContain('Plan x\\x1b[2Jy');
  safe('replay', await orch('replay'));
  safe('replay --to', await orch('replay', '--to', '3'));
  const log = safe('log', await orch('log'));
  expect(log.stdout).toContain('summary x\\x1b[2Jy');
  const story = safe('log --task', await orch('log', '--task', 'T1'));
  expect(story.stdout).toContain('breakpoint complete: summary x\\x1b[2Jy');
  const ci = safe(
    'ci',
    await orch('ci', 'pass', '--ref', `ref ${HOSTILE}`, '--url', `https://ci/${HOSTILE}`),
  );
  expect(ci.code).toBe(0);
  safe('log after ci', await orch('log', '--type', 'CiCompleted'));

  // --json keeps the original bytes.
  const logJson = await orch('log', '--json');
  const events = JSON.parse(logJson.stdout) as { type: string; data: Record<string, unknown> }[];
  expect(events.find((e) => e.type === 'BreakpointReported')?.data['summary']).toBe(`summary ${HOSTILE}`);
  expect(events.find((e) => e.type === 'CiCompleted')?.data['ref']).toBe(`ref ${HOSTILE}`);
  const statusJson = await orch('status', '--json');
  expect((JSON.parse(statusJson.stdout) as { plan: { name: string } }).plan.name).toBe(`Plan ${HOSTILE}`);

  // Errors: a hostile id or value in the message (stderr), and the JSON error keeps it.
  const unknownTask = safe('signal unblock', await orch('signal', 'unblock', '--task', `T${HOSTILE}`));
  expect(unknownTask.code).not.toBe(0);
  expect(unknownTask.stderr).toMatch(/^Error: /);
  const spawnError = safe('signal complete', await orch('signal', 'complete', '--spawn', `s${HOSTILE}`));
  expect(spawnError.code).not.toBe(0);
  // A hostile task id is refused, and a dependency on a hostile id is named: both in the problems.
  const tasks = [
    { id: `T${HOSTILE}`, title: 'hostile id', role: 'dev' },
    { id: 'T2', title: 'depends', role: 'dev', dependsOn: [`Q${HOSTILE}`] },
  ];
  const bad = {
    name: 'Bad',
    milestones: [{ id: 'M1', title: 'M', phases: [{ id: 'S1', title: 'S', tasks }] }],
  };
  fs.writeFileSync(path.join(repo, 'bad.json'), JSON.stringify(bad));
  const invalid = safe('plan (invalid)', await orch('plan', '--plan-dir', path.join(repo, 'bad.json')));
  expect(invalid.code).toBe(1);
  expect(invalid.stderr).toContain('depends on Qx\\x1b[2Jy');
  const missing = safe('plan (missing)', await orch('plan', '--plan-dir', `nowhere${HOSTILE}`));
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain('nowherex\\x1b[2Jy');
  const missingJson = await orch('plan', '--plan-dir', `nowhere${HOSTILE}`, '--json');
  expect(missingJson.stdout).toContain('\\u001b[2J');
  safe('spawn --agent-cmd', await orch('spawn', '--agent-cmd', `[${JSON.stringify(HOSTILE)}`));

  // orch status --watch, piped: one summary line per interval.
  const watched = await new Promise<OrchResult>((resolve) => {
    const child = spawn(
      process.execPath,
      [ORCH_BIN, 'status', '--watch', '--interval', '1', '--repo', repo],
      {
        env: env(),
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    setTimeout(() => child.kill('SIGTERM'), 2500);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  safe('status --watch', watched);
  expect(watched.stdout).toContain('tasks 1/1 done');
});
