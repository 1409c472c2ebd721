/**
 * The report page's helpers and model, as browser JavaScript (ES2017, inside the page's
 * one IIFE): DOM/SVG builders that only ever set text with `textContent` and values with
 * `setAttribute` (so nothing from the log is parsed as HTML), time and duration formats,
 * `drawnEvents(data)`: every drawn event in log order, and `buildModel(data, events)`:
 * lanes per task, the embedded attempts (from orch's attempt fold) and markers.
 *
 * @example
 * const page = `(function(){${REPORT_MODEL_JS}${REPORT_TIMELINE_JS}…})();`;
 */
export const REPORT_MODEL_JS = String.raw`
var SVG_NS = document.getElementById('timeline').namespaceURI;
function el(tag, attrs, text) {
  var n = document.createElement(tag);
  setAttrs(n, attrs);
  if (text !== undefined && text !== null) n.textContent = String(text);
  return n;
}
function svgEl(tag, attrs, parent) {
  var n = document.createElementNS(SVG_NS, tag);
  setAttrs(n, attrs);
  if (parent) parent.appendChild(n);
  return n;
}
function setAttrs(n, attrs) {
  if (!attrs) return;
  Object.keys(attrs).forEach(function (k) {
    if (attrs[k] !== undefined && attrs[k] !== null) n.setAttribute(k, String(attrs[k]));
  });
}
function tip(node, text) {
  var t = document.createElementNS(SVG_NS, 'title');
  t.textContent = text;
  node.appendChild(t);
  return node;
}
function list(x) { return Array.isArray(x) ? x : []; }
function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); }
function cut(text, n) { text = String(text); return text.length > n ? text.slice(0, n - 1) + '…' : text; }
function clock(ms) { return isFinite(ms) ? new Date(ms).toISOString().slice(11, 23) : '?'; }
function stamp(ms) { return isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').slice(0, 23) + 'Z' : '?'; }
function dur(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return '';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  if (ms < 3600000) return Math.floor(ms / 60000) + ' m ' + Math.round((ms % 60000) / 1000) + ' s';
  return Math.floor(ms / 3600000) + ' h ' + Math.round((ms % 3600000) / 60000) + ' m';
}
function lastLine(text) {
  var lines = String(text || '').split('\n').filter(function (l) { return l.trim() !== ''; });
  return lines.length === 0 ? '' : lines[lines.length - 1];
}
function exitText(a) {
  if (a.end === null) return a.started === null ? 'never started' : 'no exit recorded';
  if (a.end.kind === 'lost') return 'lost: ' + a.end.text;
  if (a.end.kind === 'spawn_failed') return 'spawn failed: ' + a.end.text;
  return a.end.signal ? 'signal ' + a.end.signal : 'exit ' + a.end.code;
}
// A spawn's workspace set-up: 'set-up npm ci: exit 0, 1.2 s; 2 file(s) copied'.
function setupText(s) {
  if (!s) return '';
  var result = s.timedOut ? 'timed out' : s.exitCode === null ? 'killed or not started' : 'exit ' + s.exitCode;
  var parts = [];
  if (s.commandLine !== null) parts.push('set-up ' + s.commandLine + ': ' + result + ', ' + dur(s.durationMs));
  if (s.copied > 0) parts.push(s.copied + ' file(s) copied');
  return parts.join('; ');
}
function outcomeClass(a) {
  if (a.end === null) return 'o-open';
  if (a.end.kind === 'exit' && a.end.code === 0 && !a.end.signal) return 'o-ok';
  return a.end.kind === 'exit' ? 'o-fail' : 'o-lost';
}

var END_EVENTS = { exit: 'AgentExited', lost: 'AgentLost', spawn_failed: 'AgentSpawnFailed' };
function when(data, ms) { return ms === null || ms === undefined ? NaN : data.epoch + ms; }
// Every drawn event in log order, with its time in epoch ms: the embedded ones and the
// request, start and outcome of each attempt (embedded with the attempt).
function drawnEvents(data) {
  var out = data.events.map(function (ev) { return [ev[0], ev[1], when(data, ev[2]), ev[3]]; });
  data.attempts.forEach(function (a) {
    out.push([a.requested[0], 'AgentSpawnRequested', when(data, a.requested[1]), { spawnId: a.spawnId, taskId: a.task }]);
    if (a.started) out.push([a.started[0], 'AgentStarted', when(data, a.started[1]), { spawnId: a.spawnId }]);
    if (a.ended) out.push([a.ended[0], END_EVENTS[a.end.kind], when(data, a.ended[1]), { spawnId: a.spawnId }]);
  });
  return out.sort(function (x, y) { return x[0] - y[0]; });
}

function buildModel(data, events) {
  var lanes = new Map();
  var order = [];
  function lane(id, title) {
    var l = lanes.get(id);
    if (l === undefined) { l = { id: id, title: title === undefined ? id : title, attempts: [], marks: [] }; lanes.set(id, l); order.push(l); }
    else if (title !== undefined && l.title === l.id) l.title = title;
    return l;
  }
  data.final.tasks.forEach(function (t) { lane(t.id, t.title); });
  var run = { id: null, title: 'run · CI · PRs', attempts: [], marks: [] };
  // The plans recorded, by position: their tasks are lanes too.
  var plans = new Map();
  data.states.changes.forEach(function (c) { if (c[1] === 1) plans.set(c[0], c[2]); });
  var attempts = data.attempts.map(function (r) {
    var ended = r.ended === undefined ? null : r.ended;
    return { spawnId: r.spawnId, task: r.task, attempt: r.lane ? r.attempt + ' · ' + r.lane : r.attempt, role: r.role === undefined ? null : r.role,
      requested: { pos: r.requested[0], at: when(data, r.requested[1]) },
      started: r.started === undefined ? null : { pos: r.started[0], at: when(data, r.started[1]) },
      end: r.end === undefined ? null : r.end, endAt: ended === null ? null : when(data, ended[1]), endPos: ended === null ? null : ended[0],
      durationMs: r.durationMs === undefined ? null : r.durationMs, usage: r.usage || null, tail: r.tail || null,
      summary: r.summary || null, gate: r.gate || null, merge: r.merge || null, setup: r.setup || null, ports: r.ports || null };
  });
  var bySpawn = new Map();
  attempts.forEach(function (a) { bySpawn.set(a.spawnId, a); });
  var first = null, last = null;
  function mark(target, ev, kind, label) {
    target.marks.push({ pos: ev[0], at: ev[2], type: ev[1], kind: kind, label: label });
  }
  events.forEach(function (ev) {
    var pos = ev[0], type = ev[1], at = ev[2], d = ev[3];
    if (isFinite(at)) { if (first === null || at < first) first = at; if (last === null || at > last) last = at; }
    var a = d.spawnId !== undefined ? bySpawn.get(d.spawnId) : undefined;
    var taskLane = d.taskId !== undefined ? lane(d.taskId) : a !== undefined ? lane(a.task) : run;
    switch (type) {
      case 'PlanLoaded': case 'PlanRevised':
        list(plans.get(pos)).forEach(function (row) { lane(data.states.ids[row[0]], row[1]); });
        mark(run, ev, 'plan', type === 'PlanLoaded' ? 'plan loaded' : 'plan revised');
        return;
      case 'AgentSpawnRequested':
        if (a !== undefined && a.requested.pos === pos) taskLane.attempts.push(a);
        return;
      case 'BreakpointReported':
        mark(taskLane, ev, 'bp-' + d.kind, 'breakpoint ' + d.kind + (d.summary ? ': ' + d.summary : '') + (list(d.on).length > 0 ? ' (on ' + list(d.on).join(', ') + ')' : '') + (d.url ? ' ' + d.url : ''));
        return;
      case 'GatePassed': case 'GateFailed':
        mark(taskLane, ev, type === 'GatePassed' ? 'gate-ok' : 'gate-fail', type === 'GatePassed' ? 'gate passed' : 'gate failed' + (d.outputTail ? ': ' + lastLine(d.outputTail) : ''));
        return;
      case 'BranchMerged': case 'MergeConflicted':
        mark(taskLane, ev, type === 'BranchMerged' ? 'merge-ok' : 'merge-fail', type === 'BranchMerged' ? 'merged ' + d.commit : 'merge conflict: ' + list(d.files).join(', '));
        return;
      case 'RetryScheduled':
        mark(taskLane, ev, 'retry', 'retry ' + d.attempt + ' not before ' + d.notBefore + ' (' + d.reason + ')');
        return;
      case 'TaskCompleted': case 'TaskFailed': case 'TaskCancelled':
        mark(taskLane, ev, type === 'TaskCompleted' ? 'task-ok' : 'task-fail', type + (d.reason ? ': ' + d.reason : ''));
        return;
      case 'TaskRetryRequested':
        mark(taskLane, ev, 'retry', 'retried by a person' + (d.reason ? ': ' + d.reason : ''));
        return;
      case 'SignalRejected':
        mark(taskLane, ev, 'rejected', 'signal rejected (' + d.reason + ')');
        return;
      case 'CiCompleted':
        mark(run, ev, d.result === 'pass' ? 'ci-ok' : 'ci-fail', 'CI ' + d.result + (d.ref ? ' on ' + String(d.ref).slice(0, 10) : '') + (d.url ? ' ' + d.url : ''));
        return;
      case 'MilestoneCompleted':
        mark(run, ev, 'milestone', 'milestone ' + d.milestoneId + ' complete');
        return;
      case 'PullRequestOpened':
        mark(run, ev, 'pr', 'pull request for ' + d.milestoneId + ': ' + d.url);
        return;
      case 'ReviewReceived':
        mark(run, ev, 'pr', 'review of ' + d.milestoneId + ': ' + d.kind + (d.path ? ' on ' + d.path : '') + (d.taskId ? ' (task ' + d.taskId + ')' : ''));
        return;
      case 'ReviewAnswered':
        mark(run, ev, 'pr', 'review of ' + d.milestoneId + ' answered: ' + d.taskId + ' merged as ' + String(d.commit).slice(0, 10));
        return;
      case 'RunForked':
        mark(run, ev, 'run', 'forked from ' + (d.from ? d.from.stateDir + (d.from.runId ? ' run ' + d.from.runId : '') + ' at position ' + d.from.position : '?'));
        return;
      case 'NotificationFailed':
        mark(run, ev, 'limit', 'notification given up: ' + d.rule + ' for #' + d.position + ' ' + d.eventType + ' after ' + d.attempt + ' attempt(s): ' + lastLine(d.error));
        return;
      case 'RunStarted': case 'RunStopped':
        mark(run, ev, 'run', type === 'RunStarted' ? 'run started (pid ' + d.pid + ')' : 'run stopped: ' + d.reason);
        return;
      case 'RateLimited': case 'BudgetExhausted':
        mark(run, ev, 'limit', type === 'RateLimited' ? 'rate limited until ' + d.resetAt : 'budget exhausted ($' + d.spentUsd + ' of $' + d.budget + ')');
        return;
      case 'BudgetRaised':
        mark(run, ev, 'limit', 'budget raised by $' + d.amountUsd + (d.reason ? ': ' + d.reason : ''));
        return;
      default:
        return;
    }
  });
  return { lanes: order, run: run, attempts: attempts, first: first, last: last };
}
`;
