import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { openSqliteEventStore } from '../../src/store/index.js';
import { git, gitRepo, ORCH_BIN, sleep } from '../fixtures/agents/e2e-repo.js';
import { assertBuilt } from './helpers/cli.js';

/**
 * `orch mcp` as a real child process (the built CLI), driven by the MCP SDK's own `Client`
 * over stdio against a real repository: the tools, a run started in the background, an
 * agent that reports through its own `orch mcp`, a person's unblock and cancel, a CI
 * result, the report resource, and errors as tool errors.
 */

const agent = fileURLToPath(new URL('../fixtures/agents/mcp-agent.mjs', import.meta.url));

let dir: string;
let repo: string;
let gate: string;
let client: Client;
let stderr = '';

interface ToolAnswer {
  isError?: boolean;
  content: { type: string; text: string }[];
}

async function call(name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
  return (await client.callTool({ name, arguments: args })) as ToolAnswer;
}

const text = (a: ToolAnswer) => a.content.map((c) => c.text).join('\n');

function events(): RecordedEvent[] {
  const store = openSqliteEventStore(path.join(repo, '.state', 'orch.db'), { readonly: true });
  try {
    return [...store.readAll()];
  } finally {
    store.close();
  }
}

/** Polls the status tool (JSON) until no live process holds the lease. */
async function untilRunOver(): Promise<{ tasks: { id: string; status: string }[] }> {
  for (let i = 0; i < 600; i++) {
    const answer = await call('status', { json: true });
    if (!answer.isError) {
      const doc = JSON.parse(text(answer)) as {
        lease: { alive: boolean | null } | null;
        tasks: { id: string; status: string }[];
      };
      if (doc.lease === null || doc.lease.alive === false) return doc;
    }
    await sleep(250);
  }
  throw new Error('the run did not end');
}

beforeAll(async () => {
  assertBuilt();
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-mcp-e2e-')));
  repo = gitRepo(path.join(dir, 'repo'));
  gate = path.join(dir, 'gate');
  fs.writeFileSync(
    path.join(repo, 'plan.yaml'),
    `name: MCP
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: Build
        tasks:
          - { id: T1, title: Make the base, role: dev }
          - { id: T2, title: Pick a colour, role: dev }
          - { id: T3, title: Paint it, role: dev, dependsOn: [T2] }
`,
  );
  fs.writeFileSync(
    path.join(repo, 'orch.config.json'),
    JSON.stringify({
      planDir: 'plan.yaml',
      maxRetries: 1,
      retryInterval: 0,
      agents: { dev: { command: [process.execPath, agent], env: { MCP_GATE: gate } } },
    }),
  );
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'plan');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && k !== 'NODE_ENV' && !k.startsWith('ORCH_')) env[k] = v;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [ORCH_BIN, 'mcp', '--repo', repo],
    env,
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  client = new Client({ name: 'orch-e2e', version: '1.0.0' });
  await client.connect(transport);
});

afterAll(async () => {
  await client?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('orch mcp (built binary, MCP SDK client over stdio)', () => {
  it('lists its tools and the report resource', async () => {
    const tools = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(tools).toEqual(['cancel', 'ci', 'log', 'plan', 'signal', 'spawn', 'status', 'unblock']);
    const resources = (await client.listResources()).resources;
    expect(resources).toEqual([expect.objectContaining({ uri: 'orch://report', mimeType: 'text/html' })]);
  });

  it('plan shows the plan; status before any run is a tool error with the CLI text', async () => {
    const plan = await call('plan');
    expect(plan.isError).toBeFalsy();
    expect(text(plan)).toMatch(/T1.*Make the base/);
    expect(text(plan)).toMatch(/T3.*Paint it/);
    const json = JSON.parse(text(await call('plan', { json: true }))) as { tasks: { id: string }[] };
    expect(json.tasks.map((t) => t.id)).toEqual(['T1', 'T2', 'T3']);
    const status = await call('status');
    expect(status.isError).toBe(true);
    expect(text(status)).toMatch(/^Error: no orch log at .*orch\.db/);
  });

  it('spawn starts a run in the background, refuses a second one, and the agent signals through MCP', async () => {
    const started = await call('spawn');
    expect(started.isError, text(started)).toBeFalsy();
    const pid = Number(/pid (\d+)/.exec(text(started))?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(pid).not.toBe(process.pid);
    const outputFile = /output goes to (\S+)\. /.exec(text(started))?.[1] ?? '';
    expect(path.dirname(outputFile)).toBe(path.join(repo, '.state', 'mcp'));
    expect(fs.readFileSync(path.join(repo, '.state', '.gitignore'), 'utf8')).toContain('Written by orch');
    // T1's agent waits for the gate: the run holds the lease meanwhile.
    const again = await call('spawn');
    expect(again.isError).toBe(true);
    expect(text(again)).toContain(`Error: another orch process (pid ${pid}`);
    expect(text(again)).toContain('(LEASE_HELD)');
    fs.writeFileSync(gate, 'go\n');
    const doc = await untilRunOver();
    const byId = Object.fromEntries(doc.tasks.map((t) => [t.id, t.status]));
    expect(byId).toMatchObject({ T1: 'complete', T2: 'blocked', T3: 'pending' });
    const log = events();
    const run = log.find((e) => e.type === 'RunStarted');
    expect((run?.data as { pid: number }).pid).toBe(pid);
    const t1Spawn = log.find((e) => e.type === 'AgentSpawnRequested' && e.streamId === 'task-T1');
    const spawnId = (t1Spawn?.data as { spawnId: string }).spawnId;
    const complete = log.find((e) => e.type === 'BreakpointReported' && e.streamId === 'task-T1');
    expect(complete).toMatchObject({
      data: { spawnId, kind: 'complete', summary: 'T1 done through MCP' },
      metadata: { actor: `agent:${spawnId}`, via: 'mcp' },
    });
    const blocked = log.find((e) => e.type === 'BreakpointReported' && e.streamId === 'task-T2');
    expect(blocked).toMatchObject({
      data: { kind: 'blocked', on: ['person'], summary: 'which colour: red or blue?' },
      metadata: { via: 'mcp' },
    });
    expect(git(repo, 'ls-tree', '--name-only', 'integration')).toContain('T1.txt');
    // The log tool tells T1's story and shows who reported and how.
    const story = text(await call('log', { task: 'T1' }));
    expect(story).toContain(`BreakpointReported  by agent:${spawnId} via mcp`);
    expect(story).toMatch(/attempt 1/i);
  });

  it('unblock, cancel and ci record what the CLI records, with via mcp; a bad task id is a tool error', async () => {
    const before = events().length;
    const unknown = await call('cancel', { task: 'nope' });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toBe(
      'Error: there is no task "nope" in the log\'s plan (UNKNOWN_TASK)\nHint: see `orch status` for the task ids',
    );
    const notBlocked = await call('unblock', { task: 'T3' });
    expect(notBlocked.isError).toBe(true);
    expect(text(notBlocked)).toContain('task T3 is not blocked (it is pending)');
    expect(events()).toHaveLength(before);

    const unblock = await call('unblock', { task: 'T2', summary: 'blue' });
    expect(unblock.isError, text(unblock)).toBeFalsy();
    expect(text(unblock)).toMatch(/^released task T2 \(blocked on person\) at log position \d+/);
    const cancel = await call('cancel', { task: 'T3', summary: 'not needed' });
    expect(text(cancel)).toMatch(/^cancelled task T3 \(it was pending\)/);
    const ci = await call('ci', { result: 'pass', ref: 'integration' });
    expect(text(ci)).toMatch(/^recorded CI pass at log position \d+ \(run-/);
    const added = events().slice(before);
    expect(added.map((e) => [e.type, e.metadata['actor'], e.metadata['via']])).toEqual([
      ['TaskUnblocked', 'user', 'mcp'],
      ['TaskCancelled', 'user', 'mcp'],
      ['CiCompleted', 'user', 'mcp'],
    ]);
    expect(added[0]?.metadata['summary']).toBe('blue');

    // The server is still there, and a second run through it finishes T2.
    const started = await call('spawn');
    expect(started.isError, text(started)).toBeFalsy();
    const doc = await untilRunOver();
    expect(Object.fromEntries(doc.tasks.map((t) => [t.id, t.status]))).toMatchObject({
      T1: 'complete',
      T2: 'complete',
      T3: 'failed',
    });
  });

  it('serves the HTML report of the whole log as orch://report', async () => {
    const read = await client.readResource({ uri: 'orch://report' });
    const [page] = read.contents as { uri: string; mimeType: string; text: string }[];
    expect(page?.mimeType).toBe('text/html');
    expect(page?.text).toMatch(/^<!doctype html>/i);
    expect(page?.text).toContain('Pick a colour');
    expect(stderr).toBe('');
  });
});
