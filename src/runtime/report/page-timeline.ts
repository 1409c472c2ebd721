/**
 * The report page's timeline, as browser JavaScript (inside the page's IIFE, after the
 * model): one lane per task (plus a lane for the run, CI and pull requests), a bar per
 * attempt from its spawn request to its exit/loss (open-ended while no outcome is
 * recorded), markers for breakpoints, gates, merges, retries and task outcomes, an x axis
 * by time or by log position, and a cursor the scrubber moves.
 *
 * `drawTimeline(svg, model, data, events, mode, onPick)` returns `{ setCursor(position, statusById) }`;
 * clicking a bar or marker calls `onPick(position)`; hovering one shows its details in `#tip`.
 *
 * @example
 * const page = `(function(){${REPORT_MODEL_JS}${REPORT_TIMELINE_JS}…})();`;
 */
export const REPORT_TIMELINE_JS = String.raw`
var LABEL_W = 260, PLOT_W = 1000, PAD_R = 16, LANE_H = 24, AXIS_H = 30;
function drawTimeline(svg, model, data, events, mode, onPick) {
  clear(svg);
  // One listener and one tooltip for every bar and marker (tens of thousands on long logs):
  // each shape only carries data-i, its index in picks.
  var picks = [];
  var W = LABEL_W + PLOT_W + PAD_R;
  var p1 = Math.max(1, data.to);
  var t0 = model.first === null ? 0 : model.first;
  var t1 = model.last === null || model.last <= t0 ? t0 + 1 : model.last;
  var positions = events.map(function (e) { return e[0]; });
  var times = events.map(function (e) { return e[2]; });
  // The time shown for a position: that of the last drawn event at or before it.
  function timeAt(p) {
    var lo = 0, hi = positions.length - 1, found = -1;
    while (lo <= hi) { var mid = (lo + hi) >> 1; if (positions[mid] <= p) { found = mid; lo = mid + 1; } else hi = mid - 1; }
    return found < 0 || !isFinite(times[found]) ? t0 : times[found];
  }
  function x(pos, at) {
    var f = mode === 'time' ? (at - t0) / (t1 - t0) : pos / p1;
    if (!isFinite(f)) f = 0;
    return LABEL_W + Math.max(0, Math.min(1, f)) * PLOT_W;
  }
  var rows = [model.run].concat(model.lanes);
  var height = AXIS_H + rows.length * LANE_H + 6;
  setAttrs(svg, { width: W, height: height, viewBox: '0 0 ' + W + ' ' + height });
  var axis = svgEl('g', { class: 'axis' }, svg);
  for (var i = 0; i <= 5; i++) {
    var f = i / 5, X = LABEL_W + f * PLOT_W;
    svgEl('line', { x1: X, x2: X, y1: AXIS_H - 6, y2: height }, axis);
    var label = svgEl('text', { x: X, y: AXIS_H - 12, 'text-anchor': i === 0 ? 'start' : i === 5 ? 'end' : 'middle' }, axis);
    label.textContent = mode === 'time' ? (i === 0 ? clock(t0) : '+' + dur(f * (t1 - t0))) : '#' + Math.round(f * p1);
  }
  rows.forEach(function (row, i) {
    var y = AXIS_H + i * LANE_H, mid = y + LANE_H / 2;
    var g = svgEl('g', { class: row.id === null ? 'lane run-lane' : 'lane', 'data-task': row.id }, svg);
    svgEl('rect', { class: i % 2 ? 'lane-bg odd' : 'lane-bg', x: 0, y: y, width: W, height: LANE_H }, g);
    if (row.id !== null) svgEl('circle', { class: 'lane-status', cx: 10, cy: mid, r: 5 }, g);
    var text = svgEl('text', { class: 'lane-label', x: 22, y: mid + 4 }, g);
    text.textContent = row.id === null ? row.title : cut(row.id + '  ' + row.title, 36);
    tip(text, row.id === null ? row.title : row.id + ': ' + row.title);
    row.attempts.forEach(function (a) { drawAttempt(g, a, y); });
    row.marks.forEach(function (m) { drawMark(g, m, mid); });
  });
  function drawAttempt(g, a, y) {
    var xs = x(a.requested.pos, a.requested.at);
    var xe = Math.max(xs + 3, x(a.endPos !== null ? a.endPos : p1, a.endAt !== null ? a.endAt : t1));
    var took = a.durationMs !== null && a.durationMs !== undefined ? a.durationMs : a.endAt !== null ? a.endAt - a.requested.at : null;
    svgEl('rect', { class: 'attempt ' + outcomeClass(a), 'data-spawn': a.spawnId, 'data-i': picks.length, x: xs, y: y + 4, width: xe - xs, height: LANE_H - 8, rx: 3 }, g);
    picks.push({ pos: a.endPos !== null ? a.endPos : a.requested.pos, text: 'attempt ' + a.attempt + ' of ' + a.task + ' (' + a.role + '): ' + exitText(a) +
      (took === null ? '' : ', ' + dur(took)) + (a.summary ? '\n' + a.summary : '') + '\nspawn ' + a.spawnId + ', #' + a.requested.pos + (a.endPos !== null ? '–#' + a.endPos : '') });
    if (a.started !== null) svgEl('line', { class: 'started', x1: x(a.started.pos, a.started.at), x2: x(a.started.pos, a.started.at), y1: y + 4, y2: y + LANE_H - 4 }, g);
    if (xe - xs > 18) {
      var n = svgEl('text', { class: 'bar-label', x: xs + 4, y: y + LANE_H / 2 + 4 }, g);
      n.textContent = String(a.attempt);
    }
  }
  function drawMark(g, m, mid) {
    var X = x(m.pos, m.at), k = m.kind, shape;
    var attrs = { class: 'marker m-' + k, 'data-type': m.type, 'data-i': picks.length };
    picks.push({ pos: m.pos, text: '#' + m.pos + ' ' + clock(m.at) + ' ' + m.label });
    if (k.indexOf('bp-') === 0) shape = svgEl('polygon', Object.assign(attrs, { points: [X, mid - 7, X + 6, mid, X, mid + 7, X - 6, mid].join(' ') }), g);
    else if (k === 'gate-ok' || k === 'gate-fail') shape = svgEl('rect', Object.assign(attrs, { x: X - 1.5, y: mid - 7, width: 3, height: 14 }), g);
    else if (k === 'merge-ok' || k === 'ci-ok' || k === 'ci-fail') shape = svgEl('circle', Object.assign(attrs, { cx: X, cy: mid, r: 5 }), g);
    else if (k === 'merge-fail' || k === 'rejected') shape = svgEl('path', Object.assign(attrs, { d: 'M' + (X - 5) + ' ' + (mid - 5) + 'L' + (X + 5) + ' ' + (mid + 5) + 'M' + (X + 5) + ' ' + (mid - 5) + 'L' + (X - 5) + ' ' + (mid + 5) }), g);
    else if (k === 'retry') shape = svgEl('circle', Object.assign(attrs, { cx: X, cy: mid, r: 3 }), g);
    else if (k === 'task-ok' || k === 'task-fail' || k === 'milestone') shape = svgEl('rect', Object.assign(attrs, { x: X - 5, y: mid - 5, width: 10, height: 10 }), g);
    else if (k === 'pr') shape = svgEl('polygon', Object.assign(attrs, { points: [X, mid - 7, X + 7, mid + 6, X - 7, mid + 6].join(' ') }), g);
    else shape = svgEl('rect', Object.assign(attrs, { x: X - 1, y: mid - 9, width: 2, height: 18 }), g);
    return shape;
  }
  var tipBox = document.getElementById('tip');
  function pickOf(ev) {
    var n = ev.target && ev.target.closest ? ev.target.closest('[data-i]') : null;
    return n === null ? null : picks[Number(n.getAttribute('data-i'))];
  }
  svg.onclick = function (ev) { var p = pickOf(ev); if (p) onPick(p.pos); };
  svg.onmousemove = function (ev) {
    var p = pickOf(ev);
    if (!p) { tipBox.hidden = true; return; }
    tipBox.textContent = p.text;
    tipBox.hidden = false;
    tipBox.style.left = Math.min(ev.clientX + 14, window.innerWidth - 380) + 'px';
    tipBox.style.top = ev.clientY + 14 + 'px';
  };
  svg.onmouseleave = function () { tipBox.hidden = true; };
  var cursor = svgEl('line', { class: 'cursor', y1: AXIS_H - 6, y2: height }, svg);
  return {
    setCursor: function (p, statusById) {
      var X = x(p, timeAt(p));
      setAttrs(cursor, { x1: X, x2: X });
      svg.querySelectorAll('g.lane[data-task]').forEach(function (g) {
        var status = statusById.has(g.getAttribute('data-task')) ? statusById.get(g.getAttribute('data-task')) : 'absent';
        g.setAttribute('data-status', status);
        var dot = g.querySelector('.lane-status');
        if (dot) dot.setAttribute('class', 'lane-status s-' + status);
      });
    }
  };
}
`;
