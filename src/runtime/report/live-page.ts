import { escapeHtml } from './html.js';
import { REPORT_GRAPH_JS } from './page-graph.js';
import { REPORT_MODEL_JS } from './page-model.js';
import { REPORT_STATES_JS } from './page-states.js';
import { REPORT_CSS } from './page-style.js';
import { REPORT_TIMELINE_JS } from './page-timeline.js';
import { REPORT_TABLES_JS } from './page-ui.js';

/**
 * The live page of `orch serve`: the report's lanes, dependency graph and attempts table
 * (the same browser code as `orch report`), fed by the server instead of embedded data, a
 * state table that shows the status document at the scrubber's position (`/api/status`),
 * the live agents with their elapsed and idle time and output, and the controls. The page
 * has no inline script or style: `/app.js` and `/app.css` are served beside it, so the
 * Content-Security-Policy can forbid every inline script. Untrusted text (titles, output)
 * is only ever set with `textContent`.
 */

/**
 * The page's HTML shell (static: nothing from the log is in it).
 *
 * @example
 * renderLivePage().includes('<script src="/app.js"'); // true
 */
export function renderLivePage(title = 'orch serve'): string {
  const t = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t}</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
<h1 id="title">${t}</h1>
<p id="connection">connecting…</p>
<ul id="summary"></ul>
<div id="report-error" hidden></div>
</header>
<section id="controls">
<h2>Controls</h2>
<p id="run-line"></p>
<div class="control-row">
<button type="button" id="spawn-start">start orch spawn</button>
<button type="button" id="spawn-stop">stop orch spawn</button>
<label>note <input type="text" id="note" size="40" maxlength="2000" placeholder="why (kept in the log)"></label>
</div>
<div class="control-row">
<label>CI result <select id="ci-result"><option value="pass">pass</option><option value="fail">fail</option></select></label>
<input type="text" id="ci-ref" size="14" maxlength="200" placeholder="ref (optional)">
<button type="button" id="ci-record">record CI result</button>
</div>
<div class="control-row">
<label>raise the budget by $ <input type="number" id="budget-raise" min="0.01" step="0.01" size="8" placeholder="5"></label>
<button type="button" id="budget-record">raise budget</button>
</div>
<p id="control-result" role="status"></p>
</section>
<section id="wizard">
<h2>Plan a goal</h2>
<div class="control-row">
<label>goal <input type="text" id="goal" size="60" maxlength="2000" placeholder="what to build"></label>
<button type="button" id="draft-start">draft a plan</button>
</div>
<p id="draft-step" role="status">No plan drafted here yet: describe the goal, and the planner agent writes a plan for it.</p>
<ul id="draft-problems"></ul>
<div id="draft-tree"></div>
<textarea id="draft-text" rows="18" cols="100" spellcheck="false" aria-label="the plan file" hidden></textarea>
<div class="control-row">
<button type="button" id="draft-save" disabled>save and check</button>
<button type="button" id="draft-approve" disabled>approve and run</button>
</div>
</section>
<section id="state">
<h2>State at a log position</h2>
<div class="scrub-row">
<button type="button" id="prev" title="previous drawn event">&#9664;</button>
<input type="range" id="scrubber" min="0" max="0" step="1" value="0" aria-label="log position">
<button type="button" id="next" title="next drawn event">&#9654;</button>
<label><input type="checkbox" id="follow" checked> follow the run</label>
</div>
<p id="scrub-label"></p>
<p id="scrub-extra"></p>
<div class="scroll"><table id="state-table">
<thead><tr><th>task</th><th>title</th><th>phase</th><th>role</th><th>status</th><th>machine state</th><th>attempts</th><th>actions</th></tr></thead>
<tbody></tbody>
</table></div>
</section>
<section id="agents">
<h2>Live agents</h2>
<div class="scroll"><table id="agent-table">
<thead><tr><th>task</th><th>attempt</th><th>role</th><th>spawn</th><th>elapsed</th><th>idle</th><th>last output line</th><th></th></tr></thead>
<tbody></tbody>
</table></div>
<h3 id="output-title" hidden></h3>
<pre id="agent-output" hidden></pre>
</section>
<section id="lanes">
<h2>Timeline</h2>
<label>x axis <select id="axis"><option value="time">time</option><option value="position">log position</option></select></label>
<div class="scroll"><svg id="timeline" role="img" aria-label="timeline, one lane per task"></svg></div>
<div id="tip" hidden></div>
</section>
<section id="dependencies">
<h2>Dependency graph (status at the end of the log)</h2>
<div class="scroll"><svg id="graph" role="img" aria-label="dependency graph"></svg></div>
</section>
<section id="attempt-list">
<h2>Attempts</h2>
<div class="scroll"><table id="attempts">
<thead><tr><th>task</th><th>attempt</th><th>role</th><th>spawned</th><th>duration</th><th>exit</th><th>gate</th><th>merge</th><th>summary</th><th>usage</th><th>workspace</th><th>output</th></tr></thead>
<tbody></tbody>
</table></div>
<button type="button" id="attempts-more" hidden></button>
</section>
</body>
</html>
`;
}

/**
 * The live page's own script, as browser JavaScript (inside the page's IIFE, after the
 * report's model, timeline, graph and tables). The token comes from the URL's fragment
 * (`#token=…`, never sent to the server by the browser) and goes with every API request as
 * `Authorization: Bearer` (as `?token=` for the event stream, which cannot send headers).
 * The server pushes `update` events (server-sent events) when the log moves and every
 * second while agents run; the page then fetches the report data (`/api/report`) and the
 * status document at the shown position (`/api/status?to=`). `body[data-position]` says
 * which position the state table shows.
 *
 * @example
 * const script = `(function(){${REPORT_MODEL_JS}…${LIVE_UI_JS}})();`;
 */
export const LIVE_UI_JS = String.raw`
var token = (function () {
  var m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  return m === null ? '' : decodeURIComponent(m[1]);
})();
function headers(json) {
  var h = { Authorization: 'Bearer ' + token };
  if (json) h['Content-Type'] = 'application/json';
  return h;
}
function answer(r) {
  return r.json().then(function (body) {
    if (!r.ok) throw new Error(body && body.error ? body.error + (body.hint ? ' (' + body.hint + ')' : '') : r.status + ' ' + r.statusText);
    return body;
  });
}
function getJson(url) { return fetch(url, { headers: headers(false), cache: 'no-store' }).then(answer); }
function postJson(url, body) {
  return fetch(url, { method: 'POST', headers: headers(true), body: JSON.stringify(body || {}) }).then(answer);
}
function live() {
  var data = null, model = null, events = [], positions = [], timeline = null, statuses = new Map();
  var current = 0, logPosition = -1, shownOutput = null;
  var reportBusy = false, reportAgain = false, statusSeq = 0;
  var scrubber = document.getElementById('scrubber');
  var follow = document.getElementById('follow');
  var axis = document.getElementById('axis');
  var label = document.getElementById('scrub-label');
  var extra = document.getElementById('scrub-extra');
  var tbody = document.querySelector('#state-table tbody');
  var result = document.getElementById('control-result');
  var connection = document.getElementById('connection');
  function say(text, bad) { result.textContent = text; result.className = bad ? 'bad' : 'good'; }
  function drawLanes() {
    if (data === null) return;
    timeline = drawTimeline(document.getElementById('timeline'), model, data, events, axis.value, scrubTo);
    timeline.setCursor(current, statuses);
  }
  function loadReport() {
    if (reportBusy) { reportAgain = true; return; }
    reportBusy = true;
    getJson('/api/report').then(function (d) {
      data = d;
      events = drawnEvents(data);
      model = buildModel(data, events);
      positions = events.map(function (e) { return e[0]; });
      scrubber.max = String(data.to);
      document.getElementById('title').textContent = data.title.replace(/^orch report/, 'orch serve');
      fillSummary(data, model);
      fillAttempts(model);
      drawGraph(document.getElementById('graph'), data.final);
      drawLanes();
      if (follow.checked) scrubTo(data.to);
    }).catch(function (err) { say('could not load the run: ' + err.message, true); })
      .then(function () { reportBusy = false; if (reportAgain) { reportAgain = false; loadReport(); } });
  }
  function show(p) {
    current = p;
    var seq = ++statusSeq;
    getJson('/api/status?to=' + p).then(function (doc) {
      if (seq !== statusSeq) return;
      renderStatus(doc);
    }).catch(function (err) { say('could not load the state at ' + p + ': ' + err.message, true); });
  }
  function renderStatus(doc) {
    var p = doc.position;
    statuses = new Map();
    doc.tasks.forEach(function (t) { statuses.set(t.id, t.status); });
    var ev = null, i = positions.indexOf(p);
    if (i >= 0) ev = events[i];
    label.textContent = 'Position ' + p + ' of ' + (data === null ? p : data.to) + (ev === null ? '' : ': ' + ev[1] + ' ' +
      (ev[3].taskId || ev[3].milestoneId || ev[3].phaseId || (ev[3].spawnId ? 'spawn ' + ev[3].spawnId : '')) + ' at ' + stamp(ev[2])) +
      (p === logPosition ? ' (the end of the log)' : '');
    extra.textContent = (countBy(doc.tasks, 'status') || 'no plan recorded yet') + '; ' + doc.totals.agents.live + ' live agent(s); cost $' +
      Number(doc.costUsd).toFixed(4) + '; run: ' + (doc.run === null ? 'none yet' : doc.run.status);
    clear(tbody);
    doc.tasks.forEach(function (t) {
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
      var actions = el('td', { class: 'actions' });
      if (p === logPosition) {
        if (t.status !== 'complete' && t.status !== 'failed') actions.appendChild(el('button', { type: 'button', 'data-action': 'cancel', 'data-task': t.id }, 'cancel'));
        if (t.status === 'blocked') actions.appendChild(el('button', { type: 'button', 'data-action': 'unblock', 'data-task': t.id }, 'unblock'));
        if (t.detail === 'failed') actions.appendChild(el('button', { type: 'button', 'data-action': 'retry', 'data-task': t.id }, 'retry'));
      }
      tr.appendChild(actions);
      tbody.appendChild(tr);
    });
    if (timeline !== null) timeline.setCursor(p, statuses);
    document.body.setAttribute('data-position', String(p));
  }
  function scrubTo(p) {
    scrubber.value = String(p);
    show(p);
  }
  scrubber.addEventListener('input', function () {
    var p = Number(scrubber.value);
    follow.checked = data !== null && p === data.to;
    show(p);
  });
  follow.addEventListener('change', function () { if (follow.checked && data !== null) scrubTo(data.to); });
  document.getElementById('prev').addEventListener('click', function () {
    var before = positions.filter(function (q) { return q < current; });
    follow.checked = false;
    scrubTo(before.length === 0 ? 0 : before[before.length - 1]);
  });
  document.getElementById('next').addEventListener('click', function () {
    var after = positions.filter(function (q) { return q > current; });
    scrubTo(after.length === 0 ? (data === null ? 0 : data.to) : after[0]);
  });
  axis.addEventListener('change', drawLanes);
  function note() { return document.getElementById('note').value.trim(); }
  function control(url, body, done) {
    say('sending…', false);
    postJson(url, body).then(function (r) { say(done(r), false); }).catch(function (err) { say(err.message, true); });
  }
  tbody.addEventListener('click', function (ev) {
    var b = ev.target && ev.target.closest ? ev.target.closest('button[data-action]') : null;
    if (b === null) return;
    var task = b.getAttribute('data-task'), action = b.getAttribute('data-action');
    var body = note() === '' ? {} : { note: note() };
    control('/api/tasks/' + encodeURIComponent(task) + '/' + action, body, function (r) {
      return action + ' ' + task + ': recorded at log position ' + r.position;
    });
  });
  document.getElementById('ci-record').addEventListener('click', function () {
    var ref = document.getElementById('ci-ref').value.trim();
    var body = { result: document.getElementById('ci-result').value };
    if (ref !== '') body.ref = ref;
    control('/api/ci', body, function (r) { return 'CI ' + r.result + ' recorded at log position ' + r.position; });
  });
  document.getElementById('budget-record').addEventListener('click', function () {
    var body = { raiseUsd: Number(document.getElementById('budget-raise').value) };
    if (note() !== '') body.note = note();
    control('/api/budget', body, function (r) {
      return 'budget raised by $' + r.amountUsd.toFixed(2) + ' to $' + r.budgetUsd.toFixed(2) + ' ($' + r.spentUsd.toFixed(2) + ' spent) at log position ' + r.position;
    });
  });
  document.getElementById('spawn-start').addEventListener('click', function () {
    control('/api/spawn/start', {}, function (r) { return 'orch spawn started (pid ' + r.pid + ')'; });
  });
  document.getElementById('spawn-stop').addEventListener('click', function () {
    control('/api/spawn/stop', {}, function (r) { return 'orch spawn stopped' + (r.code === null ? '' : ' (exit ' + r.code + ')'); });
  });
  var draftText = document.getElementById('draft-text');
  var draftPoll = null;
  function renderDraft(v, withText) {
    var step = document.getElementById('draft-step');
    var words = {
      none: 'No plan drafted here yet: describe the goal, and the planner agent writes a plan for it.',
      drafting: 'The planner is drafting a plan for "' + v.goal + '"…',
      drafted: 'Drafted a plan for "' + v.goal + '" in ' + v.file + (v.problems.length === 0 ? ': valid.' : ': ' + v.problems.length + ' problem(s).'),
      failed: 'The draft for "' + v.goal + '" failed: ' + v.error + (v.file === null ? '' : ' (' + v.file + ' is as the planner left it; edit it below)')
    };
    step.textContent = words[v.step] + (v.approved ? ' Approved.' : '');
    document.body.setAttribute('data-draft-step', v.step);
    var problemList = document.getElementById('draft-problems');
    clear(problemList);
    v.problems.forEach(function (p) { problemList.appendChild(el('li', { class: 'bad' }, p.file + ':' + p.line + ': ' + p.message)); });
    var tree = document.getElementById('draft-tree');
    clear(tree);
    if (v.plan !== null) {
      var top = el('ul', { class: 'plan-tree' });
      v.plan.milestones.forEach(function (m) {
        var mi = el('li', {}, m.id + ' ' + m.title);
        var pl = el('ul');
        v.plan.phases.filter(function (ph) { return ph.milestone === m.id; }).forEach(function (ph) {
          var pi = el('li', {}, ph.id + ' ' + ph.title + (ph.dependsOn.length ? ' (after ' + ph.dependsOn.join(', ') + ')' : ''));
          var tl = el('ul');
          v.plan.tasks.filter(function (t) { return t.phase === ph.id; }).forEach(function (t) {
            tl.appendChild(el('li', { 'data-task': t.id }, t.id + ' ' + t.title + ' [' + t.role + ']' + (t.dependsOn.length ? ' after ' + t.dependsOn.join(', ') : '')));
          });
          pi.appendChild(tl);
          pl.appendChild(pi);
        });
        mi.appendChild(pl);
        top.appendChild(mi);
      });
      tree.appendChild(top);
    }
    var editable = (v.step === 'drafted' || v.step === 'failed') && v.text !== null;
    draftText.hidden = !editable;
    if (editable && withText) draftText.value = v.text;
    document.getElementById('draft-save').disabled = !editable;
    document.getElementById('draft-approve').disabled = !editable || v.plan === null;
    document.getElementById('draft-start').disabled = v.step === 'drafting';
    if (v.step === 'drafting' && draftPoll === null) draftPoll = setTimeout(function () { draftPoll = null; loadDraft(true); }, 1000);
  }
  function loadDraft(withText) {
    getJson('/api/draft').then(function (v) { renderDraft(v, withText); }).catch(function (err) { say(err.message, true); });
  }
  function draftControl(url, body, done) {
    say('sending…', false);
    postJson(url, body).then(function (v) { renderDraft(v, true); say(done(v), false); }).catch(function (err) { say(err.message, true); });
  }
  document.getElementById('draft-start').addEventListener('click', function () {
    draftControl('/api/draft', { goal: document.getElementById('goal').value }, function () { return 'the planner started'; });
  });
  document.getElementById('draft-save').addEventListener('click', function () {
    draftControl('/api/draft/edit', { text: draftText.value }, function (v) {
      return 'saved ' + v.file + (v.problems.length === 0 ? ': valid' : ': ' + v.problems.length + ' problem(s)');
    });
  });
  document.getElementById('draft-approve').addEventListener('click', function () {
    draftControl('/api/draft/approve', {}, function (v) { return 'approved ' + v.tasks + ' task(s); orch spawn started (pid ' + v.spawn.pid + ')'; });
  });
  var agentBody = document.querySelector('#agent-table tbody');
  agentBody.addEventListener('click', function (ev) {
    var b = ev.target && ev.target.closest ? ev.target.closest('button[data-spawn]') : null;
    if (b === null) return;
    shownOutput = b.getAttribute('data-spawn');
    loadOutput();
  });
  function loadOutput() {
    if (shownOutput === null) return;
    var spawn = shownOutput;
    getJson('/api/agents/' + encodeURIComponent(spawn) + '/output').then(function (o) {
      if (spawn !== shownOutput) return;
      var title = document.getElementById('output-title'), pre = document.getElementById('agent-output');
      title.hidden = false;
      pre.hidden = false;
      title.textContent = 'Output of ' + o.task + ' attempt ' + o.attempt + ' (last ' + o.text.length + ' characters of ' + o.size + ' bytes)';
      pre.textContent = o.text;
    }).catch(function (err) { say(err.message, true); });
  }
  function renderRun(u) {
    var line = document.getElementById('run-line');
    var lease = u.lease;
    var who = lease === null ? 'no orch process holds the lease'
      : 'lease held by pid ' + lease.pid + ' on ' + lease.host + ' (run ' + lease.runId + ', since ' + lease.acquiredAt + ')' + (lease.alive === false ? ' — that process is gone' : '');
    line.textContent = (u.spawn.running ? 'orch spawn started here is running (pid ' + u.spawn.pid + '); ' : '') + who;
    document.getElementById('spawn-start').disabled = u.spawn.running;
    document.getElementById('spawn-stop').disabled = !u.spawn.running;
  }
  function renderAgents(u) {
    clear(agentBody);
    u.agents.forEach(function (a) {
      var tr = el('tr', { 'data-spawn': a.spawnId, 'data-task': a.task });
      var since = a.startedAt === null ? a.requestedAt : a.startedAt;
      var last = a.lastOutputAt === null ? since : Math.max(a.lastOutputAt, since);
      [a.task, a.attempt, a.role, a.spawnId.slice(0, 8), dur(u.now - since), dur(u.now - last), a.lastLine || ''].forEach(function (v, i) {
        tr.appendChild(el('td', { class: ['task', 'attempt', 'role', 'spawn', 'elapsed', 'idle', 'line'][i] }, v));
      });
      var td = el('td');
      td.appendChild(el('button', { type: 'button', 'data-spawn': a.spawnId }, 'output'));
      tr.appendChild(td);
      agentBody.appendChild(tr);
    });
    if (u.agents.length === 0) agentBody.appendChild(el('tr')).appendChild(el('td', { colspan: 8 }, 'no live agent'));
  }
  if (token === '') {
    connection.textContent = 'No token in this address: open the URL that orch serve printed (it ends with #token=…).';
    connection.className = 'bad';
    return;
  }
  loadDraft(true);
  var stream = new EventSource('/api/events?token=' + encodeURIComponent(token));
  stream.addEventListener('open', function () { connection.textContent = 'live: following the log'; connection.className = 'good'; });
  stream.addEventListener('error', function () { connection.textContent = 'disconnected from orch serve; retrying…'; connection.className = 'bad'; });
  stream.addEventListener('update', function (m) {
    var u = JSON.parse(m.data);
    renderRun(u);
    renderAgents(u);
    if (shownOutput !== null) loadOutput();
    if (u.position !== logPosition) {
      logPosition = u.position;
      document.body.setAttribute('data-log-position', String(u.position));
      loadReport();
    }
  });
}
try {
  live();
} catch (err) {
  var box = document.getElementById('report-error');
  box.hidden = false;
  box.textContent = 'This page could not be drawn: ' + (err && err.message ? err.message : String(err));
  throw err;
}
`;

/**
 * `/app.js`: the report's browser code and the live page's, in one IIFE.
 *
 * @example
 * liveScript().startsWith('(function () {'); // true
 */
export function liveScript(): string {
  return `(function () {\n'use strict';\n${REPORT_STATES_JS}${REPORT_MODEL_JS}${REPORT_TIMELINE_JS}${REPORT_GRAPH_JS}${REPORT_TABLES_JS}${LIVE_UI_JS}})();\n`;
}

/**
 * `/app.css`: the report's stylesheet and the live page's additions.
 *
 * @example
 * liveStyle().includes('#controls'); // true
 */
export function liveStyle(): string {
  return `${REPORT_CSS}
h3 { font-size: 15px; margin: 14px 0 6px; }
.control-row { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 6px 0; }
#connection, #control-result { margin: 4px 0; }
.good { color: #2d6a4f; } .bad { color: #b3261e; font-weight: 600; }
td.actions button { margin-right: 4px; }
#draft-text { width: 100%; font-family: ui-monospace, monospace; font-size: 12px; }
ul.plan-tree { font-size: 13px; }
td.line { font-family: ui-monospace, monospace; font-size: 12px; max-width: 520px; overflow-wrap: anywhere; }
#agent-output { max-width: none; max-height: 360px; overflow: auto; background: #1d2330; color: #f1f3f5; padding: 8px; }
`;
}
