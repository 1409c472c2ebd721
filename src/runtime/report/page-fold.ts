/**
 * The report page's fold, as browser JavaScript (ES2017, no modules, no DOM): it steps each
 * task through the task machine's own transition table (embedded as JSON) over the embedded
 * events, with the machine's guards written out again here. It mirrors `src/core/fold.ts`
 * for what the page shows (task status and attempts, live agents, latest CI result, PRs); a
 * property test holds it to `statusView(stateAt(events, p))` at every position.
 *
 * `makeOrchFold(data)` returns `{ at(position) }`; `at` answers in O(events since the
 * nearest checkpoint), so dragging the scrubber over a long log stays smooth.
 */

/** The guards the page implements; a machine naming any other guard is refused at render. */
export const PAGE_GUARDS: readonly string[] = [
  'declaredComplete',
  'isCurrentSpawn',
  'isNextAttempt',
  'exitedCleanly',
  'reportsBlocked',
];

/**
 * The fold's source. Evaluate it in a page (or `vm`) and call `makeOrchFold(data)`.
 *
 * @example
 * const makeOrchFold = vm.runInNewContext(`${REPORT_FOLD_JS}\nmakeOrchFold;`);
 * makeOrchFold(buildReportData(events)).at(12).tasks; // [{ id: 'T001', status: 'running', ... }]
 */
export const REPORT_FOLD_JS = String.raw`
function makeOrchFold(data) {
  'use strict';
  var machine = data.machine;
  var statusOf = data.statusOf;
  var events = data.events;
  var has = function (o, k) { return o !== null && typeof o === 'object' && Object.prototype.hasOwnProperty.call(o, k); };
  var isCurrent = function (c, e) { return c.spawnId !== null && e.data.spawnId === c.spawnId; };
  var GUARDS = {
    declaredComplete: function (c) { return c.declaredComplete; },
    isCurrentSpawn: isCurrent,
    // A spawn or retry must be for exactly the next attempt.
    isNextAttempt: function (c, e) { return e.data.attempt === c.attempts + 1; },
    exitedCleanly: function (c, e) {
      return isCurrent(c, e) && e.type === 'AgentExited' && e.data.exitCode === 0 && !e.data.signal;
    },
    reportsBlocked: function (c, e) {
      return isCurrent(c, e) && e.type === 'BreakpointReported' && e.data.kind === 'blocked';
    }
  };
  function pick(list, ctx, e) {
    if (!list) return null;
    for (var i = 0; i < list.length; i++) {
      var t = list[i];
      if (t.guard === undefined) return t;
      if (!has(GUARDS, t.guard)) throw new Error('report: the task machine uses an unknown guard ' + t.guard);
      if (GUARDS[t.guard](ctx, e)) return t;
    }
    return null;
  }
  // Only recordSpawn touches what the page shows (attempts) or what guards read (spawnId).
  function act(ctx, t, e) {
    if (!t.actions || t.actions.indexOf('recordSpawn') < 0 || e.type !== 'AgentSpawnRequested') return ctx;
    return { declaredComplete: ctx.declaredComplete, attempts: e.data.attempt, spawnId: e.data.spawnId };
  }
  function settle(entry, e) {
    for (var i = 0; i < 32; i++) {
      var st = machine.states[entry.value];
      var t = pick(st && st.always, entry.ctx, e);
      if (!t) return entry;
      entry = { value: t.target === undefined ? entry.value : t.target, ctx: act(entry.ctx, t, e) };
    }
    throw new Error('report: always transitions from ' + entry.value + ' do not settle');
  }
  function initial(declaredComplete) {
    var ctx = { declaredComplete: declaredComplete, attempts: 0, spawnId: null };
    return settle({ value: machine.initial, ctx: ctx }, { type: 'xstate.init', data: {} });
  }
  function step(entry, e) {
    var st = machine.states[entry.value];
    var on = st && st.on;
    var t = pick(has(on, e.type) ? on[e.type] : null, entry.ctx, e);
    if (!t) return entry;
    return settle({ value: t.target === undefined ? entry.value : t.target, ctx: act(entry.ctx, t, e) }, e);
  }

  // Spawns the fold accepted, by id: { position, task }. Shared by every state: whether a spawn
  // request is accepted is decided once, the first time the fold reaches it (events are always
  // first folded in log order), so a state at position p knows the spawns accepted at or before p.
  // Only live agents are per state, which keeps checkpoints small on logs with many attempts.
  var accepted = new Map();
  function empty() {
    return { position: 0, plan: null, tasks: new Map(), live: new Map(), ci: null, prs: new Map() };
  }
  function clone(s) {
    // Entries are replaced, never changed in place, so copying the maps is enough.
    return { position: s.position, plan: s.plan, tasks: new Map(s.tasks), live: new Map(s.live), ci: s.ci, prs: new Map(s.prs) };
  }
  function stepTask(s, taskId, e) {
    var cur = s.tasks.get(taskId);
    if (cur === undefined) return;
    var next = step(cur, e);
    if (next !== cur) s.tasks.set(taskId, next);
  }
  function applyPlan(s, plan) {
    s.plan = plan;
    var phaseDone = new Set();
    plan.phases.forEach(function (p) { if (p.status === 'complete') phaseDone.add(p.id); });
    var tasks = new Map();
    plan.tasks.forEach(function (t) {
      var kept = s.tasks.get(t.id);
      tasks.set(t.id, kept !== undefined ? kept : initial(t.status === 'complete' || phaseDone.has(t.phase)));
    });
    s.tasks = tasks;
  }
  function apply(s, ev) {
    var e = { position: ev[0], type: ev[1], recordedAt: ev[2], data: ev[3] };
    var d = e.data;
    s.position = e.position;
    switch (e.type) {
      case 'PlanLoaded': case 'PlanRevised':
        if (d.plan) applyPlan(s, d.plan);
        return;
      case 'CiCompleted':
        s.ci = { result: d.result, position: e.position, ref: d.ref === undefined ? null : d.ref };
        return;
      case 'PullRequestOpened':
        s.prs.set(d.milestoneId, { url: d.url, position: e.position });
        return;
      case 'AgentSpawnRequested': {
        // A spawn id is used once: a request with an id accepted earlier changes nothing.
        var seen = accepted.get(d.spawnId);
        if (seen !== undefined && seen.position !== e.position) return;
        var cur = s.tasks.get(d.taskId);
        if (cur === undefined) return;
        var next = step(cur, e);
        if (next === cur || next.value !== 'spawning' || next.ctx.spawnId !== d.spawnId) return;
        s.tasks.set(d.taskId, next);
        s.live.set(d.spawnId, 'spawning');
        accepted.set(d.spawnId, { position: e.position, task: d.taskId });
        return;
      }
      case 'AgentStarted': case 'AgentExited': case 'AgentLost': case 'AgentSpawnFailed': case 'BreakpointReported': {
        // Reports about an unknown spawn, or one already resolved, are stale: ignore them.
        var agent = accepted.get(d.spawnId);
        var status = s.live.get(d.spawnId);
        if (agent === undefined || agent.position > e.position || status === undefined) return;
        if (e.type === 'AgentStarted') { if (status !== 'spawning') return; s.live.set(d.spawnId, 'running'); }
        else if (e.type === 'AgentSpawnFailed') { if (status !== 'spawning') return; s.live.delete(d.spawnId); }
        else if (e.type === 'AgentExited' || e.type === 'AgentLost') s.live.delete(d.spawnId);
        stepTask(s, agent.task, e);
        return;
      }
      case 'GateStarted': case 'GatePassed': case 'GateFailed': case 'MergeRequested': case 'BranchMerged':
      case 'MergeConflicted': case 'RetryScheduled': case 'TaskUnblocked': case 'TaskCompleted': case 'TaskFailed':
      case 'TaskCancelled': case 'TaskReopened':
        stepTask(s, d.taskId, e);
        return;
      default:
        return;
    }
  }

  var EVERY = 256;
  var checkpoints = [{ index: 0, state: empty() }];
  var cursor = { index: 0, state: empty() };
  function view(s, position) {
    var plan = s.plan;
    var tasks = plan === null ? [] : plan.tasks.map(function (t) {
      var entry = s.tasks.get(t.id);
      return {
        id: t.id, title: t.title, phase: t.phase, role: t.role,
        status: entry === undefined ? 'pending' : (has(statusOf, entry.value) ? statusOf[entry.value] : 'pending'),
        detail: entry === undefined ? 'pending' : entry.value,
        attempts: entry === undefined ? 0 : entry.ctx.attempts
      };
    });
    var liveAgents = s.live.size;
    var prs = [];
    s.prs.forEach(function (pr, id) { prs.push({ milestone: id, url: pr.url }); });
    return { position: position, lastEvent: s.position, tasks: tasks, liveAgents: liveAgents, ci: s.ci, prs: prs };
  }
  return {
    /** The state after every event up to and including position p. */
    at: function (p) {
      if (cursor.index > 0 && events[cursor.index - 1][0] > p) {
        var from = checkpoints[0];
        for (var i = checkpoints.length - 1; i >= 0; i--) {
          var c = checkpoints[i];
          if (c.index === 0 || events[c.index - 1][0] <= p) { from = c; break; }
        }
        cursor = { index: from.index, state: clone(from.state) };
      }
      while (cursor.index < events.length && events[cursor.index][0] <= p) {
        apply(cursor.state, events[cursor.index]);
        cursor.index++;
        var last = checkpoints[checkpoints.length - 1];
        if (cursor.index % EVERY === 0 && last.index < cursor.index) {
          checkpoints.push({ index: cursor.index, state: clone(cursor.state) });
        }
      }
      return view(cursor.state, p);
    }
  };
}
`;
