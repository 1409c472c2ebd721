/**
 * The report page's summary and attempts table, as browser JavaScript (inside the page's
 * IIFE, after the model): `fillSummary(data, model)`, `fillAttempts(model)` (rows added in
 * pages on request) and `attemptRow(attempt)`. Shared by the report and `orch serve`'s
 * live page.
 *
 * @example
 * const page = `(function(){${REPORT_MODEL_JS}${REPORT_TABLES_JS}…})();`;
 */
export const REPORT_TABLES_JS = String.raw`
function countBy(items, key) {
  var out = new Map();
  items.forEach(function (i) { out.set(i[key], (out.get(i[key]) || 0) + 1); });
  return Array.from(out.entries()).map(function (e) { return e[1] + ' ' + e[0].replace('_', ' '); }).join(', ');
}
function usageText(u) {
  if (!u) return '';
  var parts = [];
  if (u.inputTokens !== undefined) parts.push('in ' + u.inputTokens);
  if (u.outputTokens !== undefined) parts.push('out ' + u.outputTokens);
  if (u.costUsd !== undefined) parts.push('$' + Number(u.costUsd).toFixed(4));
  return parts.join(' · ');
}
function fillSummary(data, model) {
  var f = data.final;
  var failed = model.attempts.filter(function (a) { return outcomeClass(a) !== 'o-ok'; }).length;
  var ci = model.run.marks.filter(function (m) { return m.type === 'CiCompleted'; });
  var ciFailed = ci.filter(function (m) { return m.kind === 'ci-fail'; }).length;
  var prs = f.milestones.filter(function (m) { return m.pr !== null; }).length;
  var lines = [
    'Plan: ' + (f.plan === null ? 'none recorded' : f.plan.name + ' (' + f.plan.source + ')'),
    f.tasks.length + ' task(s): ' + (countBy(f.tasks, 'status') || 'none') + '; ' + f.phases.length + ' phase(s); ' +
      f.milestones.length + ' milestone(s), ' + prs + ' with a pull request',
    model.attempts.length + ' attempt(s), ' + failed + ' not clean; ' + ci.length + ' CI result(s), ' + ciFailed + ' failed; cost $' + Number(f.costUsd).toFixed(4),
    'Log: ' + data.eventCount + ' event(s) up to position ' + data.to + (model.first === null ? '' : ', ' + stamp(model.first) + ' to ' + stamp(model.last) + ' (' + dur(model.last - model.first) + ')')
  ];
  if (data.fork) lines.push('Forked from ' + data.fork.stateDir + (data.fork.runId ? ' run ' + data.fork.runId : '') + ' at position ' + data.fork.position +
    (data.fork.forkedAt ? ' (' + data.fork.forkedAt + ')' : '') + (data.fork.repo ? '; work goes on in ' + data.fork.repo : ''));
  list(data.notifications).forEach(function (n) {
    lines.push('Notifications ' + n.rule + ': ' + n.delivered + ' delivered, ' + n.retrying + ' being retried, ' + n.givenUp + ' given up; ' +
      n.failedAttempts + ' failed attempt(s)' + (n.lastError ? ' (last error: ' + lastLine(n.lastError) + ')' : ''));
  });
  var box = document.getElementById('summary');
  clear(box);
  lines.forEach(function (l) { box.appendChild(el('li', null, l)); });
}
// Long logs have tens of thousands of attempts: rows are added in pages, on request.
var FIRST_ROWS = 500, MORE_ROWS = 2000;
function fillAttempts(model) {
  var body = document.querySelector('#attempts tbody');
  var more = document.getElementById('attempts-more');
  var shown = 0;
  clear(body);
  function page(n) {
    var end = Math.min(model.attempts.length, shown + n);
    for (; shown < end; shown++) body.appendChild(attemptRow(model.attempts[shown]));
    var left = model.attempts.length - shown;
    more.hidden = left === 0;
    more.textContent = 'show ' + Math.min(MORE_ROWS, left) + ' more (' + left + ' not shown)';
  }
  more.onclick = function () { page(MORE_ROWS); };
  page(FIRST_ROWS);
  if (model.attempts.length === 0) body.appendChild(el('tr', null)).appendChild(el('td', { colspan: 12 }, 'no attempts recorded'));
}
function attemptRow(a) {
  var took = a.durationMs !== null && a.durationMs !== undefined ? a.durationMs : a.endAt !== null ? a.endAt - a.requested.at : null;
  var tr = el('tr', { 'data-spawn': a.spawnId, 'data-task': a.task, class: outcomeClass(a) });
  [a.task, a.attempt, a.role, '#' + a.requested.pos + ' ' + clock(a.requested.at), dur(took), exitText(a), a.gate || '', a.merge || '',
    a.summary || (outcomeClass(a) === 'o-ok' ? '' : lastLine(a.tail)), usageText(a.usage),
    [setupText(a.setup), a.ports ? 'ports ' + a.ports : ''].filter(function (t) { return t !== ''; }).join('; ')].forEach(function (v, i) {
    tr.appendChild(el('td', { class: ['task', 'attempt', 'role', 'spawned', 'duration', 'exit', 'gate', 'merge', 'summary', 'usage', 'workspace'][i] }, v));
  });
  var out = el('td', { class: 'output' });
  function tailBox(label, text, cls) {
    var det = el('details', { class: cls });
    det.appendChild(el('summary', null, label));
    det.appendChild(el('pre', null, text));
    out.appendChild(det);
  }
  if (a.tail) tailBox('output tail', a.tail, 'agent-tail');
  if (a.setup && a.setup.tail) tailBox('set-up output', a.setup.tail, 'setup-tail');
  tr.appendChild(out);
  return tr;
}
`;

/**
 * The report page's main script, as browser JavaScript (inside the page's IIFE, after the
 * state lookup, model, timeline and graph): reads the embedded data, fills the summary,
 * draws the timeline and the dependency graph, builds the attempts table, and wires the
 * scrubber (`#scrubber`, a range over log positions 0…to) to orch's states embedded in the
 * page (`makeStateLookup`): on every `input` event the state table (`#state-table`, one
 * `tr[data-task]` per task with `.status` and `.attempts` cells), the lane status dots and
 * the timeline cursor show the state at that position, and `body[data-position]` says
 * which position is shown.
 *
 * @example
 * const page = `(function(){${REPORT_MODEL_JS}…${REPORT_UI_JS}})();`;
 */
export const REPORT_UI_JS =
  REPORT_TABLES_JS +
  String.raw`
function main() {
  var data = JSON.parse(document.getElementById('orch-data').textContent);
  var events = drawnEvents(data);
  var model = buildModel(data, events);
  var states = makeStateLookup(data.states);
  var positions = events.map(function (e) { return e[0]; });
  var scrubber = document.getElementById('scrubber');
  var axis = document.getElementById('axis');
  var label = document.getElementById('scrub-label');
  var extra = document.getElementById('scrub-extra');
  var tbody = document.querySelector('#state-table tbody');
  var current = data.to, statuses = new Map(), timeline = null;
  scrubber.min = '0';
  scrubber.max = String(data.to);
  scrubber.value = String(data.to);
  fillSummary(data, model);
  fillAttempts(model);
  drawGraph(document.getElementById('graph'), data.final);
  function drawLanes() {
    timeline = drawTimeline(document.getElementById('timeline'), model, data, events, axis.value, scrubTo);
    timeline.setCursor(current, statuses);
  }
  function eventAt(p) {
    var i = positions.indexOf(p);
    return i < 0 ? null : events[i];
  }
  function show(p) {
    var view = states.at(p);
    current = p;
    statuses = new Map();
    view.tasks.forEach(function (t) { statuses.set(t.id, t.status); });
    var ev = eventAt(p);
    var what = ev === null ? (p === 0 ? 'before the first event' : 'an event the report does not draw (phase bookkeeping)')
      : ev[1] + ' ' + (ev[3].taskId || ev[3].milestoneId || ev[3].phaseId || (ev[3].spawnId ? 'spawn ' + ev[3].spawnId : '')) + ' at ' + stamp(ev[2]);
    label.textContent = 'Position ' + p + ' of ' + data.to + ': ' + what;
    extra.textContent = (countBy(view.tasks, 'status') || 'no plan recorded yet') + '; ' + view.liveAgents + ' live agent(s); CI: ' +
      (view.ci === null ? 'no result yet' : view.ci.result + ' (#' + view.ci.position + ')') + '; pull requests: ' +
      (view.prs.length === 0 ? 'none' : view.prs.map(function (pr) { return pr.milestone; }).join(', '));
    clear(tbody);
    view.tasks.forEach(function (t) {
      var tr = el('tr', { 'data-task': t.id, 'data-status': t.status });
      tr.appendChild(el('td', { class: 'id' }, t.id));
      tr.appendChild(el('td', { class: 'title' }, t.title));
      tr.appendChild(el('td', { class: 'phase' }, t.phase));
      tr.appendChild(el('td', { class: 'role' }, t.role));
      var cell = el('td', { class: 'status' });
      cell.appendChild(el('span', { class: 'badge s-' + t.status }, t.status));
      tr.appendChild(cell);
      tr.appendChild(el('td', { class: 'detail' }, t.detail));
      tr.appendChild(el('td', { class: 'attempts' }, t.attempts));
      tbody.appendChild(tr);
    });
    if (timeline !== null) timeline.setCursor(p, statuses);
    document.body.setAttribute('data-position', String(p));
  }
  function scrubTo(p) {
    scrubber.value = String(p);
    show(p);
  }
  scrubber.addEventListener('input', function () { show(Number(scrubber.value)); });
  document.getElementById('prev').addEventListener('click', function () {
    var before = positions.filter(function (q) { return q < current; });
    scrubTo(before.length === 0 ? 0 : before[before.length - 1]);
  });
  document.getElementById('next').addEventListener('click', function () {
    var after = positions.filter(function (q) { return q > current; });
    scrubTo(after.length === 0 ? data.to : after[0]);
  });
  axis.addEventListener('change', drawLanes);
  show(data.to);
  drawLanes();
}
try {
  main();
} catch (err) {
  var box = document.getElementById('report-error');
  box.hidden = false;
  box.textContent = 'This report could not be drawn: ' + (err && err.message ? err.message : String(err));
  throw err;
}
`;
