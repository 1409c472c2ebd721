import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { OrchestratorConfigSchema } from '../src/core/config.js';
import { Orchestrator } from '../src/runtime/orchestrator/orchestrator.js';
import type { BenchModule } from './types.js';

/**
 * `orch spawn` throughput: N tasks whose agent is a no-op command (`true`), maxConcurrent
 * 20, through the whole orchestrator — the log (synchronous=FULL), a git worktree per
 * task, the gate step (none configured) and a merge per task. Baseline, same run: a raw
 * execa loop starting the same N processes with the same concurrency. Goal: <= 1.5x.
 */

const CONCURRENCY = 20;

function makeRepo(n: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-bench-spawn-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'bench');
  git('config', 'user.email', 'bench@orch.invalid');
  const tasks = Array.from(
    { length: n },
    (_, i) => `          - { id: T${i + 1}, title: no-op ${i + 1}, role: dev }`,
  );
  fs.writeFileSync(
    path.join(dir, 'plan.yaml'),
    `name: Bench\nmilestones:\n  - id: M1\n    title: All\n    phases:\n      - id: P1\n        title: Everything\n        dependsOn: []\n        tasks:\n${tasks.join('\n')}\n`,
  );
  fs.writeFileSync(path.join(dir, '.gitignore'), '.state/\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'bench plan');
  return dir;
}

async function rawLoop(n: number): Promise<number> {
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next += 1;
      await execa('true', [], { detached: true, stdin: 'ignore', reject: true });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return performance.now() - start;
}

async function orchRun(n: number): Promise<number> {
  const repo = makeRepo(n);
  try {
    const config = OrchestratorConfigSchema.parse({
      planDir: 'plan.yaml',
      maxConcurrent: CONCURRENCY,
      retryInterval: 0,
      agents: { default: { command: ['true'] } },
    });
    const start = performance.now();
    const outcome = await new Orchestrator({ repoDir: repo, config }).run();
    const ms = performance.now() - start;
    if (outcome.exitCode !== 0) throw new Error(`bench run did not complete: ${outcome.reason}`);
    return ms;
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
}

const bench: BenchModule = async ({ quick }) => {
  const n = quick ? 40 : 200;
  await rawLoop(10);
  const raw = await rawLoop(n);
  const orch = await orchRun(n);
  const ratio = orch / raw;
  return [
    {
      name: `spawn.${n}-noop-tasks.c${CONCURRENCY}`,
      unit: 'ms',
      value: orch,
      baseline: raw,
      ratio,
      better: 'lower',
      goal: '<= 1.5x raw execa loop',
      met: ratio <= 1.5,
      baselineName: `raw execa loop, ${n} × true, concurrency ${CONCURRENCY}`,
    },
  ];
};

export default bench;
