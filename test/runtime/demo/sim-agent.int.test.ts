import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAgent } from '../../../src/runtime/agents/runner.js';
import { failsThisAttempt, taskHash } from '../../../src/runtime/demo/sim-agent.js';
import { WorkspaceManager } from '../../../src/runtime/git/workspace.js';
import { git, makeRepo, removeDir, tempDir } from '../helpers.js';

// The sim agent from source, loaded through tsx (its bin/orch-sim.js twin needs a build).
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const simCommand = [
  process.execPath,
  '--import',
  tsx,
  fileURLToPath(new URL('../fixtures/run-sim.ts', import.meta.url)),
];
const missingCli = '/nonexistent/orch/bin/run.js';

let dir: string;
let repo: string;
let stateDir: string;
let ws: WorkspaceManager;

beforeEach(async () => {
  dir = tempDir('sim');
  repo = makeRepo(path.join(dir, 'repo'));
  stateDir = path.join(dir, 'state');
  ws = await WorkspaceManager.open({
    repoDir: repo,
    sandboxDir: path.join(dir, 'sandbox'),
    integrationBranch: 'integration',
    baseBranch: 'main',
  });
});

afterEach(() => removeDir(dir));

async function runSim(
  taskId: string,
  attempt: number,
  env: Record<string, string>,
  prompt = `# Task ${taskId}: Build the thing\n`,
) {
  const w = await ws.ensureWorkspace(taskId);
  const result = await runAgent({
    command: simCommand,
    prompt,
    identity: {
      runId: 'run-1',
      taskId,
      spawnId: `spawn-${taskId}-${attempt}`,
      role: 'implementer',
      attempt,
      stateDir,
      workspace: w.path,
    },
    // Reporting through the real CLI costs a process start; only the first test needs it.
    env: { ORCH_SIM_ORCH_CLI: missingCli, ...env },
    timeoutMs: 30_000,
  });
  return { w, result };
}

describe('orch-sim', () => {
  it('commits real work on the task branch and reports completion with orch signal', async () => {
    const { w, result } = await runSim('T001', 1, { ORCH_SIM_MODE: 'succeed', ORCH_SIM_ORCH_CLI: '' });
    expect(result.exitCode).toBe(0);
    expect(git(w.path, 'log', '-1', '--format=%s')).toBe('T001: Build the thing (orch-sim, attempt 1)');
    expect(git(w.path, 'status', '--porcelain')).toBe('');
    const file = fs.readFileSync(path.join(w.path, 'orch-sim', 'T001.md'), 'utf8');
    expect(file).toContain('# T001: Build the thing');
    expect(file).toContain('spawn spawn-T001-1');
    expect(await ws.commitsAhead('T001')).toBe(1);
    expect(result.tail).toContain(
      'orch-sim: reporting: orch signal complete --summary "orch-sim finished T001 (attempt 1)"',
    );
    // The merge of its branch is a real one.
    expect((await ws.mergeTask('T001', 'Merge T001')).status).toBe('merged');
  });

  it('adds a commit per attempt on a retry in the same workspace', async () => {
    await runSim('T002', 1, { ORCH_SIM_MODE: 'succeed' });
    const { w } = await runSim('T002', 2, { ORCH_SIM_MODE: 'succeed' });
    expect(git(w.path, 'rev-list', '--count', 'integration..HEAD')).toBe('2');
    expect(fs.readFileSync(path.join(w.path, 'orch-sim', 'T002.md'), 'utf8')).toContain('## Attempt 2');
  });

  it('fails the first attempt when told to, then succeeds', async () => {
    const first = await runSim('T003', 1, { ORCH_SIM_FAIL_FIRST: '1' });
    expect(first.result.exitCode).toBe(1);
    expect(first.result.tail).toContain('failing attempt 1 of T003 on purpose');
    expect(await ws.commitsAhead('T003')).toBe(0);
    const second = await runSim('T003', 2, { ORCH_SIM_FAIL_FIRST: '1' });
    expect(second.result.exitCode).toBe(0);
    expect(await ws.commitsAhead('T003')).toBe(1);
  });

  it('makes parallel tasks conflict on merge in conflict mode', async () => {
    await runSim('A', 1, { ORCH_SIM_MODE: 'conflict' });
    await runSim('B', 1, { ORCH_SIM_MODE: 'conflict' });
    expect((await ws.mergeTask('A', 'Merge A')).status).toBe('merged');
    expect(await ws.mergeTask('B', 'Merge B')).toEqual({ status: 'conflict', files: ['orch-sim/SHARED.md'] });
  });

  it('treats a failed completion report as a warning (the work is committed) but a failed block report as a failure', async () => {
    const done = await runSim('T004', 1, { ORCH_SIM_MODE: 'succeed', ORCH_SIM_ORCH_CLI: missingCli });
    expect(done.result.exitCode).toBe(0);
    expect(done.result.tail).toContain(
      `orch-sim: could not report "complete" with \`orch signal\` (${missingCli})`,
    );
    const blocked = await runSim('T005', 1, { ORCH_SIM_MODE: 'block-ci', ORCH_SIM_ORCH_CLI: missingCli });
    expect(blocked.result.exitCode).toBe(1);
    expect(blocked.result.tail).toContain('orch signal blocked --on ci --summary "T005 waits for CI"');
    expect(blocked.result.tail).toContain('could not report "blocked"');
    expect(await ws.commitsAhead('T005')).toBe(1);
  });

  it('commits with its own identity when the repository has none', async () => {
    const { w } = await runSim('T006', 1, {
      ORCH_SIM_MODE: 'exit-only',
      HOME: path.join(dir, 'empty-home'),
      XDG_CONFIG_HOME: path.join(dir, 'empty-home'),
    });
    // The repo itself has an identity from makeRepo; a fresh clone without one is the real test.
    expect(git(w.path, 'log', '-1', '--format=%an')).toBe('Test User');
    const bare = makeRepo(path.join(dir, 'bare-id'));
    git(bare, 'config', '--unset', 'user.name');
    git(bare, 'config', '--unset', 'user.email');
    const result = await runAgent({
      command: simCommand,
      prompt: 'x',
      identity: {
        runId: 'r',
        taskId: 'T007',
        spawnId: 's',
        role: 'dev',
        attempt: 1,
        stateDir,
        workspace: bare,
      },
      env: {
        ORCH_SIM_MODE: 'exit-only',
        HOME: path.join(dir, 'empty-home'),
        XDG_CONFIG_HOME: path.join(dir, 'empty-home'),
      },
    });
    expect(result.exitCode).toBe(0);
    expect(git(bare, 'log', '-1', '--format=%an <%ae>')).toBe('orch-sim <orch-sim@localhost.invalid>');
  });

  it('refuses an unknown mode', async () => {
    const { result } = await runSim('T008', 1, { ORCH_SIM_MODE: 'dance' });
    expect(result.exitCode).toBe(2);
    expect(result.tail).toContain('unknown ORCH_SIM_MODE "dance"');
  });

  it('decides deterministically which first attempts fail', () => {
    const ids = Array.from({ length: 400 }, (_, i) => `T${i}`);
    const failing = ids.filter((id) => failsThisAttempt({ ORCH_TASK_ID: id, ORCH_ATTEMPT: '1' }));
    expect(failing.length).toBeGreaterThan(60);
    expect(failing.length).toBeLessThan(140);
    expect(ids.filter((id) => failsThisAttempt({ ORCH_TASK_ID: id, ORCH_ATTEMPT: '1' }))).toEqual(failing);
    expect(ids.some((id) => failsThisAttempt({ ORCH_TASK_ID: id, ORCH_ATTEMPT: '2' }))).toBe(false);
    expect(failsThisAttempt({ ORCH_TASK_ID: failing[0], ORCH_ATTEMPT: '1', ORCH_SIM_FAIL_FIRST: '0' })).toBe(
      false,
    );
    expect(
      failsThisAttempt({
        ORCH_TASK_ID: 'x',
        ORCH_ATTEMPT: '1',
        ORCH_SIM_MODE: 'succeed',
        ORCH_SIM_FAIL_FIRST: '1',
      }),
    ).toBe(false);
    expect(taskHash('T1')).toBe(taskHash('T1'));
  });
});
