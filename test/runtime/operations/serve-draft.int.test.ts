import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/runtime/operations/serve.js';
import { acquireLease } from '../../../src/runtime/system/lease.js';
import type { WizardView } from '../../../src/runtime/operations/serve-draft.js';
import { openSqliteEventStore } from '../../../src/store/index.js';
import { ORCH_BIN, git, gitRepo } from '../../fixtures/agents/e2e-repo.js';

/**
 * The wizard of `orch serve` through its API, on a real git repository: the scripted planner
 * drafts a plan in the server (fixing its first, invalid draft), the person breaks and fixes
 * it by editing the text, approves it, and `orch spawn` (the built CLI) runs it to the end
 * with a scripted agent. Every step is in the log.
 */

const PLANNER = fileURLToPath(new URL('../../fixtures/agents/planner/claude', import.meta.url));
const AGENT = fileURLToPath(new URL('../../fixtures/agents/succeed.mjs', import.meta.url));

let root: string;
let repo: string;
let server: RunningServer;
const auth = () => ({ authorization: `Bearer ${server.token}` });

function types(): string[] {
  const store = openSqliteEventStore(path.join(repo, '.state', 'orch.db'), { readonly: true });
  try {
    return [...store.readAll()].map((e) => e.type);
  } finally {
    store.close();
  }
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > end) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-serve-draft-')));
  repo = gitRepo(path.join(root, 'repo'));
  fs.writeFileSync(
    path.join(repo, 'orch.config.json'),
    JSON.stringify({
      retryInterval: 0,
      agents: {
        planner: { command: [PLANNER, '-p', '{promptFile}'] },
        dev: { command: [process.execPath, AGENT] },
      },
    }),
  );
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'config');
  server = await startServer({
    repoDir: repo,
    stateDir: path.join(repo, '.state'),
    orchCommand: [process.execPath, ORCH_BIN],
    pollMs: 50,
  });
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('orch serve: the wizard (goal → draft → edit → approve → run)', () => {
  it('refuses every wizard route without the token', async () => {
    for (const [method, url] of [
      ['GET', '/api/draft'],
      ['POST', '/api/draft'],
      ['POST', '/api/draft/edit'],
      ['POST', '/api/draft/approve'],
    ] as const) {
      const r = await server.app.inject({
        method,
        url,
        payload: method === 'POST' ? { goal: 'x' } : undefined,
      });
      expect([url, r.statusCode]).toEqual([url, 401]);
    }
    expect(fs.existsSync(path.join(repo, 'plan.yaml'))).toBe(false);
  });

  it('has nothing to edit or approve before a draft, and refuses an empty goal', async () => {
    const view = await server.app.inject({ method: 'GET', url: '/api/draft', headers: auth() });
    expect(view.json()).toMatchObject({ step: 'none' });
    const edit = await server.app.inject({
      method: 'POST',
      url: '/api/draft/edit',
      headers: auth(),
      payload: { text: 'x' },
    });
    expect([edit.statusCode, edit.json().code]).toEqual([409, 'NO_DRAFT']);
    const empty = await server.app.inject({
      method: 'POST',
      url: '/api/draft',
      headers: auth(),
      payload: { goal: ' ' },
    });
    expect(empty.statusCode).toBe(400);
  });

  it('drafts, shows the plan, records the edits and the approval, and runs the plan', async () => {
    const start = await server.app.inject({
      method: 'POST',
      url: '/api/draft',
      headers: auth(),
      payload: { goal: 'a command-line calculator' },
    });
    expect(start.statusCode).toBe(200);
    expect(start.json()).toMatchObject({ step: 'drafting', goal: 'a command-line calculator' });
    const again = await server.app.inject({
      method: 'POST',
      url: '/api/draft',
      headers: auth(),
      payload: { goal: 'y' },
    });
    expect([again.statusCode, again.json().code]).toEqual([409, 'DRAFT_RUNNING']);

    const read = async () =>
      (await server.app.inject({ method: 'GET', url: '/api/draft', headers: auth() })).json<WizardView>();
    const drafted = await until(read, (v) => v.step !== 'drafting');
    expect(drafted).toMatchObject({ step: 'drafted', file: 'plan.yaml', problems: [], error: null });
    expect(drafted.plan?.tasks.map((t) => t.id)).toEqual(['T1', 'T2', 'T3']);
    expect(drafted.text).toContain('dependsOn: [T1]');
    expect(types()).toEqual([
      'PlanDraftRequested',
      'PlanDraftAttempted',
      'PlanDraftAttempted',
      'PlanDraftAccepted',
    ]);

    // The person breaks the plan: the problem is shown at its file:line, and approving is refused.
    const broken = drafted.text!.replace('dependsOn: [T1]', 'dependsOn: [T7]');
    const edit = await server.app.inject({
      method: 'POST',
      url: '/api/draft/edit',
      headers: auth(),
      payload: { text: broken },
    });
    expect(edit.statusCode).toBe(200);
    const editedView = edit.json<WizardView>();
    expect(editedView.plan).toBeNull();
    expect(editedView.problems[0]).toMatchObject({
      file: 'plan.yaml',
      message: expect.stringContaining('T7'),
    });
    const refused = await server.app.inject({ method: 'POST', url: '/api/draft/approve', headers: auth() });
    expect([refused.statusCode, refused.json().code]).toEqual([409, 'PLAN_INVALID']);

    // Fixed, with a fourth task of the person's own.
    const fixed = `${drafted.text!}          - { id: T4, title: Print the help, role: dev }\n`;
    const edit2 = await server.app.inject({
      method: 'POST',
      url: '/api/draft/edit',
      headers: auth(),
      payload: { text: fixed },
    });
    expect(edit2.json<WizardView>().plan?.tasks.map((t) => t.id)).toEqual(['T1', 'T2', 'T3', 'T4']);
    expect(fs.readFileSync(path.join(repo, 'plan.yaml'), 'utf8')).toBe(fixed);

    const approve = await server.app.inject({ method: 'POST', url: '/api/draft/approve', headers: auth() });
    expect(approve.statusCode, approve.body).toBe(200);
    expect(approve.json()).toMatchObject({ approved: true, tasks: 4, spawn: { running: true } });

    const status = async () =>
      (await server.app.inject({ method: 'GET', url: '/api/status', headers: auth() })).json<{
        tasks: { id: string; status: string }[];
      }>();
    const end = await until(
      status,
      (s) => s.tasks.length === 4 && s.tasks.every((t) => t.status === 'complete'),
    );
    expect(end.tasks.map((t) => [t.id, t.status])).toEqual([
      ['T1', 'complete'],
      ['T2', 'complete'],
      ['T3', 'complete'],
      ['T4', 'complete'],
    ]);
    const log = types();
    expect(log.slice(0, 7)).toEqual([
      'PlanDraftRequested',
      'PlanDraftAttempted',
      'PlanDraftAttempted',
      'PlanDraftAccepted',
      'PlanDraftEdited',
      'PlanDraftEdited',
      'PlanDraftApproved',
    ]);
    expect(log).toContain('PlanLoaded');
    const store = openSqliteEventStore(path.join(repo, '.state', 'orch.db'), { readonly: true });
    try {
      const edits = [...store.readAll({ types: ['PlanDraftEdited', 'PlanDraftApproved'] })];
      expect(
        edits.map((e) => [e.type, e.metadata['actor'], (e.data as { problemCount?: number }).problemCount]),
      ).toEqual([
        ['PlanDraftEdited', 'user', 1],
        ['PlanDraftEdited', 'user', 0],
        ['PlanDraftApproved', 'user', undefined],
      ]);
    } finally {
      store.close();
    }

    // Another process holds the lease: the next draft fails at once, naming it, and the page
    // does not take the earlier draft for this one.
    await until(
      async () =>
        (await server.app.inject({ method: 'GET', url: '/api/spawn', headers: auth() })).json<{
          spawn: { running: boolean };
        }>(),
      (v) => !v.spawn.running,
    );
    const lease = await acquireLease(path.join(repo, '.state'), { runId: 'held-elsewhere' });
    try {
      const next = await server.app.inject({
        method: 'POST',
        url: '/api/draft',
        headers: auth(),
        payload: { goal: 'something else' },
      });
      expect(next.statusCode).toBe(200);
      const failed = await until(read, (v) => v.step !== 'drafting');
      expect(failed).toMatchObject({
        step: 'failed',
        goal: 'something else',
        file: null,
        draftId: null,
        plan: null,
      });
      expect(failed.error).toMatch(/lease|held/i);
      const edit3 = await server.app.inject({
        method: 'POST',
        url: '/api/draft/edit',
        headers: auth(),
        payload: { text: 'x' },
      });
      expect([edit3.statusCode, edit3.json().code]).toEqual([409, 'DRAFT_NOT_EDITABLE']);
    } finally {
      lease.release();
    }
    // The planner never ran: the plan is the one the run wrote its progress back into.
    expect(fs.readFileSync(path.join(repo, 'plan.yaml'), 'utf8')).toContain(
      '{ status: complete, id: T4, title: Print the help, role: dev }',
    );
  }, 240_000);
});
