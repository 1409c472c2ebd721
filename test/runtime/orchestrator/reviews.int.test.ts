import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema } from '../../../src/core/config.js';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { replay } from '../../../src/core/replayer.js';
import { statusDocument } from '../../../src/core/status-document.js';
import { statusView } from '../../../src/core/status-view.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { formatEventLine } from '../../../src/runtime/render/log-lines.js';
import { renderStatusText } from '../../../src/runtime/render/status-text.js';
import { git, makePlanRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

/**
 * Review feedback goes back to the work (`pr.reviews`), through the real Orchestrator: real
 * agent processes and worktrees, a real bare `origin`, and a scripted `gh` first on PATH
 * (test/fixtures/gh/gh: GitHub is the one hosted service stood in for) that serves the
 * reviews and records what orch asked.
 */

const AGENT = fileURLToPath(new URL('../../fixtures/roadmap-e2e/agent.mjs', import.meta.url));
const GH_DIR = fileURLToPath(new URL('../../fixtures/gh', import.meta.url));
const PR_URL = 'https://github.example/acme/repo/pull/7';

const PLAN = `name: Reviews
milestones:
  - id: M1
    title: First
    phases:
      - id: P1
        title: Only
        dependsOn: []
        tasks:
          - { id: T1, title: Write a, role: dev }
          - { id: T2, title: Write b, role: dev, dependsOn: [T1] }
`;

const dirs: string[] = [];
const savedEnv = { PATH: process.env['PATH'], FAKE_GH_DIR: process.env['FAKE_GH_DIR'] };
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  delete process.env['FAKE_GH_APPROVE_AFTER'];
});

function setup(approveAfter: number) {
  const root = tempDir('reviews');
  dirs.push(root);
  const repo = makePlanRepo(root, PLAN);
  const origin = path.join(root, 'origin.git');
  git(root, 'init', '-q', '--bare', origin);
  git(repo, 'remote', 'add', 'origin', origin);
  const ghState = path.join(root, 'gh');
  fs.mkdirSync(ghState);
  process.env['FAKE_GH_DIR'] = ghState;
  process.env['PATH'] = `${GH_DIR}${path.delimiter}${process.env['PATH'] ?? ''}`;
  process.env['FAKE_GH_APPROVE_AFTER'] = String(approveAfter);
  const script = path.join(root, 'script.json');
  fs.writeFileSync(
    script,
    JSON.stringify({
      T1: { file: 'a.txt', line: 'T1 attempt {attempt}' },
      T2: { file: 'b.txt', line: 'T2 attempt {attempt}' },
    }),
  );
  const prompts = path.join(root, 'prompts.txt');
  const config = (reviews: boolean) =>
    OrchestratorConfigSchema.parse({
      planDir: 'plan.yaml',
      retryInterval: 0,
      autoMerge: true,
      pr: { provider: 'github', reviews, pollInterval: 0.2 },
      agents: {
        dev: {
          command: [process.execPath, AGENT, '{promptFile}'],
          env: { ROADMAP_SCRIPT: script, ROADMAP_PROMPTS: prompts },
        },
      },
    });
  const calls = (): string[][] =>
    fs
      .readFileSync(path.join(ghState, 'calls.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]);
  const serve = (view: unknown, fileComments: unknown) => {
    fs.writeFileSync(path.join(ghState, 'view.json'), JSON.stringify(view));
    fs.writeFileSync(path.join(ghState, 'file-comments.json'), JSON.stringify(fileComments));
  };
  return { root, repo, origin, config, calls, serve, prompts };
}

const ofType = (log: RecordedEvent[], type: string) => log.filter((e) => e.type === type);

describe('review feedback on milestone pull requests (pr.reviews)', () => {
  it('sends a file comment to the task that last touched the file, a general one to the last task; answers each fix; ends on approval', async () => {
    const { repo, origin, config, calls, serve, prompts } = setup(2);
    serve(
      {
        number: 7,
        reviews: [{ id: 100, author: { login: 'alice' }, body: '', state: 'CHANGES_REQUESTED' }],
        comments: [
          {
            id: 300,
            author: { login: 'bob' },
            body: 'Please end b.txt with a newline note.',
            url: `${PR_URL}#c300`,
          },
        ],
      },
      [
        {
          id: 200,
          user: { login: 'alice' },
          body: 'a.txt should say hello first.',
          path: 'a.txt',
          line: 1,
          html_url: `${PR_URL}#r200`,
          pull_request_review_id: 100,
        },
      ],
    );
    const outcome = await new Orchestrator({ repoDir: repo, config: config(true), pollIntervalMs: 50 }).run();
    expect(outcome.exitCode, outcome.reason).toBe(0);

    const log = repoEvents(repo);
    const received = ofType(log, 'ReviewReceived').map((e) => e.data);
    expect(received).toEqual([
      { milestoneId: 'M1', reviewId: 'review-100', kind: 'changes_requested', author: 'alice' },
      {
        milestoneId: 'M1',
        reviewId: 'comment-200',
        kind: 'changes_requested',
        author: 'alice',
        body: 'a.txt should say hello first.',
        path: 'a.txt',
        line: 1,
        url: `${PR_URL}#r200`,
        taskId: 'T1',
      },
      {
        milestoneId: 'M1',
        reviewId: 'issue-comment-300',
        kind: 'commented',
        author: 'bob',
        body: 'Please end b.txt with a newline note.',
        url: `${PR_URL}#c300`,
        taskId: 'T2',
      },
      { milestoneId: 'M1', reviewId: 'review-999', kind: 'approved', author: 'reviewer' },
    ]);
    const reopened = ofType(log, 'TaskReopened').map((e) => e.data as { taskId: string; reviews: unknown });
    expect(reopened).toEqual([
      expect.objectContaining({
        taskId: 'T1',
        reviews: [
          {
            reviewId: 'comment-200',
            author: 'alice',
            body: 'a.txt should say hello first.',
            path: 'a.txt',
            line: 1,
          },
        ],
      }),
      expect.objectContaining({
        taskId: 'T2',
        reviews: [
          { reviewId: 'issue-comment-300', author: 'bob', body: 'Please end b.txt with a newline note.' },
        ],
      }),
    ]);

    // The comments are in the prompts of the attempts that fix them.
    const prompt = fs.readFileSync(prompts, 'utf8');
    const t1Second = prompt.split('=== ').find((p) => p.startsWith('T1 attempt 2'));
    expect(t1Second).toContain('a review of the pull request asked for changes');
    expect(t1Second).toContain('alice on a.txt:1:\na.txt should say hello first.');
    expect(prompt.split('=== ').find((p) => p.startsWith('T2 attempt 2'))).toContain(
      'bob:\nPlease end b.txt with a newline note.',
    );

    // Each fix merged, the milestone branch moved to it and pushed, the PR got a reply.
    const answered = ofType(log, 'ReviewAnswered').map(
      (e) => e.data as { taskId: string; commit: string; reviewIds: string[]; reply: string },
    );
    expect(answered.map((a) => [a.taskId, a.reviewIds])).toEqual(
      expect.arrayContaining([
        ['T1', ['comment-200']],
        ['T2', ['issue-comment-300']],
      ]),
    );
    const merges = ofType(log, 'BranchMerged').map((e) => e.data as { taskId: string; commit: string });
    for (const a of answered) {
      expect(a.commit).toBe(merges.filter((m) => m.taskId === a.taskId).at(-1)?.commit);
      expect(a.reply).toContain(`task ${a.taskId} addressed 1 review comment(s)`);
      expect(a.reply).toContain(a.commit.slice(0, 12));
    }
    const head = git(repo, 'rev-parse', 'integration');
    expect(git(origin, 'rev-parse', 'milestone/M1')).toBe(head);
    expect(git(repo, 'show', 'milestone/M1:a.txt').split('\n')).toEqual(['T1 attempt 1', 'T1 attempt 2']);
    const replies = calls().filter((c) => c[0] === 'pr' && c[1] === 'comment');
    expect(replies.map((c) => [c[2], c[3]])).toEqual([
      [PR_URL, '--body'],
      [PR_URL, '--body'],
    ]);
    expect(replies.map((c) => c[4])).toEqual(answered.map((a) => a.reply));
    expect(calls()).toContainEqual(['pr', 'view', PR_URL, '--json', 'number,reviews,comments']);
    expect(calls()).toContainEqual(['api', 'repos/{owner}/{repo}/pulls/7/comments']);

    // status and log show it.
    const view = statusView(replay(log));
    expect(view.milestones[0]?.review).toEqual({
      received: 4,
      decision: 'approved',
      open: [],
      answered: 2,
    });
    expect(renderStatusText(statusDocument(replay(log)), null)).toContain(
      'M1  First  [complete]  PR https://github.example/acme/repo/pull/7 (milestone/M1)  review: approved (0 open, 2 answered)',
    );
    expect(formatEventLine(ofType(log, 'ReviewReceived')[1]!)).toContain(
      'ReviewReceived  milestone=M1 review=comment-200 kind=changes_requested by=alice on=a.txt:1 task=T1',
    );

    // A second run records nothing again and reads no reviews: the PR is approved.
    const before = calls().length;
    const again = await new Orchestrator({ repoDir: repo, config: config(true), pollIntervalMs: 50 }).run();
    expect(again.exitCode).toBe(0);
    expect(ofType(repoEvents(repo), 'ReviewReceived')).toHaveLength(4);
    expect(
      calls()
        .slice(before)
        .filter((c) => c[1] === 'view'),
    ).toEqual([]);
  });

  it('a run stopped after the reopening is carried on by the next: nothing recorded twice, every fix answered', async () => {
    const { repo, config, calls, serve } = setup(2);
    serve(
      {
        number: 7,
        reviews: [],
        comments: [{ id: 301, author: { login: 'bob' }, body: 'Rename the heading.' }],
      },
      [{ id: 201, user: { login: 'alice' }, body: 'Say hello.', path: 'a.txt', line: 1 }],
    );
    const first = new Orchestrator({
      repoDir: repo,
      config: config(true),
      pollIntervalMs: 50,
      onEvent: (event) => {
        if (event.type === 'TaskReopened') void first.stop('stopped after the reopening');
      },
    });
    expect((await first.run()).exitCode).toBe(130);
    const stopped = repoEvents(repo);
    expect(ofType(stopped, 'ReviewReceived')).toHaveLength(2);
    expect(ofType(stopped, 'TaskReopened').length).toBeGreaterThan(0);
    expect(ofType(stopped, 'ReviewAnswered')).toEqual([]);

    const second = await new Orchestrator({ repoDir: repo, config: config(true), pollIntervalMs: 50 }).run();
    expect(second.exitCode, second.reason).toBe(0);
    const log = repoEvents(repo);
    expect(ofType(log, 'ReviewReceived').map((e) => (e.data as { reviewId: string }).reviewId)).toEqual([
      'comment-201',
      'issue-comment-301',
      'review-999',
    ]);
    expect(
      ofType(log, 'TaskReopened')
        .map((e) => (e.data as { taskId: string }).taskId)
        .sort(),
    ).toEqual(['T1', 'T2']);
    expect(
      ofType(log, 'ReviewAnswered')
        .map((e) => (e.data as { taskId: string }).taskId)
        .sort(),
    ).toEqual(['T1', 'T2']);
    expect(calls().filter((c) => c[1] === 'comment')).toHaveLength(2);
  });

  it('off by default: no review is read; pr.reviews with the local provider is refused', async () => {
    const { repo, config, calls, serve } = setup(0);
    serve({ number: 7, reviews: [{ id: 1, body: 'no', state: 'CHANGES_REQUESTED' }], comments: [] }, []);
    const outcome = await new Orchestrator({
      repoDir: repo,
      config: config(false),
      pollIntervalMs: 50,
    }).run();
    expect(outcome.exitCode).toBe(0);
    expect(calls().some((c) => c[1] === 'view' || c[0] === 'api')).toBe(false);
    expect(ofType(repoEvents(repo), 'ReviewReceived')).toEqual([]);
    expect(() => OrchestratorConfigSchema.parse({ pr: { reviews: true } })).toThrow(
      /pr\.reviews needs pr\.provider/,
    );
  });
});
