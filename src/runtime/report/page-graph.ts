/**
 * The report page's dependency graph, as browser JavaScript (inside the page's IIFE): the
 * final plan's phases and tasks as SVG boxes in columns by topological depth (a phase after
 * the phases it depends on; a task after its phase and its dependencies, which may be tasks
 * or phases), each coloured by its final status from orch's own fold. Solid arrows are
 * dependencies; dashed lines join a phase to its tasks. A cycle (which plan validation
 * refuses) cannot hang the page: a node met again while its depth is being computed counts
 * as depth 0.
 *
 * @example
 * const page = `(function(){${REPORT_MODEL_JS}${REPORT_GRAPH_JS}…})();`;
 */
export const REPORT_GRAPH_JS = String.raw`
var NODE_W = 170, NODE_H = 36, COL_W = 220, ROW_H = 46, GRAPH_PAD = 12;
function drawGraph(svg, final) {
  clear(svg);
  var nodes = new Map();
  var ordered = [];
  function add(key, kind, item) {
    var n = { key: key, kind: kind, item: item, deps: [], soft: [], depth: null };
    nodes.set(key, n);
    ordered.push(n);
    return n;
  }
  var phaseIds = new Set(final.phases.map(function (p) { return p.id; }));
  var taskIds = new Set(final.tasks.map(function (t) { return t.id; }));
  final.phases.forEach(function (p) {
    var n = add('p:' + p.id, 'phase', p);
    list(p.dependsOn).forEach(function (d) { if (phaseIds.has(d)) n.deps.push('p:' + d); });
    final.tasks.forEach(function (t) {
      if (t.phase !== p.id) return;
      var tn = add('t:' + t.id, 'task', t);
      tn.soft.push(n.key);
    });
  });
  final.tasks.forEach(function (t) { if (!nodes.has('t:' + t.id)) add('t:' + t.id, 'task', t); });
  final.tasks.forEach(function (t) {
    var n = nodes.get('t:' + t.id);
    list(t.dependsOn).forEach(function (d) {
      if (taskIds.has(d)) n.deps.push('t:' + d);
      else if (phaseIds.has(d)) n.deps.push('p:' + d);
    });
  });
  var visiting = new Set();
  function depth(n) {
    if (n.depth !== null) return n.depth;
    if (visiting.has(n.key)) return 0;
    visiting.add(n.key);
    var d = 0;
    n.deps.concat(n.soft).forEach(function (k) { d = Math.max(d, depth(nodes.get(k)) + 1); });
    visiting.delete(n.key);
    n.depth = d;
    return d;
  }
  var columns = [];
  ordered.forEach(function (n) {
    var d = depth(n);
    while (columns.length <= d) columns.push([]);
    n.row = columns[d].length;
    columns[d].push(n);
  });
  var rowsMax = columns.reduce(function (m, c) { return Math.max(m, c.length); }, 0);
  var W = GRAPH_PAD * 2 + Math.max(1, columns.length) * COL_W;
  var H = GRAPH_PAD * 2 + Math.max(1, rowsMax) * ROW_H;
  setAttrs(svg, { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H });
  function pos(n) { return { x: GRAPH_PAD + n.depth * COL_W, y: GRAPH_PAD + n.row * ROW_H }; }
  var edges = svgEl('g', { class: 'edges' }, svg);
  ordered.forEach(function (n) {
    var to = pos(n);
    n.soft.forEach(function (k) { edge(pos(nodes.get(k)), to, 'edge soft'); });
    n.deps.forEach(function (k) { edge(pos(nodes.get(k)), to, 'edge'); });
  });
  function edge(a, b, cls) {
    var x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x - 4, y2 = b.y + NODE_H / 2, c = (x2 - x1) / 2;
    svgEl('path', { class: cls, d: 'M' + x1 + ' ' + y1 + 'C' + (x1 + c) + ' ' + y1 + ' ' + (x2 - c) + ' ' + y2 + ' ' + x2 + ' ' + y2 }, edges);
    if (cls === 'edge') svgEl('polygon', { class: 'arrow', points: [x2 + 4, y2, x2 - 3, y2 - 4, x2 - 3, y2 + 4].join(' ') }, edges);
  }
  ordered.forEach(function (n) {
    var p = pos(n), item = n.item;
    var g = svgEl('g', { class: 'node ' + n.kind, 'data-id': item.id, 'data-kind': n.kind, 'data-status': item.status }, svg);
    // A blocked phase is one still waiting for its dependencies: grey, not the orange of a blocked task.
    var cls = n.kind === 'phase' && item.status === 'blocked' ? 'waiting' : item.status;
    svgEl('rect', { class: 's-' + cls, x: p.x, y: p.y, width: NODE_W, height: NODE_H, rx: n.kind === 'phase' ? 2 : 8 }, g);
    var head = svgEl('text', { class: 'node-id', x: p.x + 8, y: p.y + 15 }, g);
    head.textContent = cut(item.id, 14) + ' · ' + item.status.replace('_', ' ');
    var title = svgEl('text', { class: 'node-title', x: p.x + 8, y: p.y + 29 }, g);
    title.textContent = cut(item.title, 26);
    tip(g, (n.kind === 'phase' ? 'phase ' : 'task ') + item.id + ': ' + item.title + '\nstatus: ' + item.status +
      (list(item.dependsOn).length > 0 ? '\ndepends on: ' + item.dependsOn.join(', ') : '') +
      (n.kind === 'task' ? '\nattempts: ' + item.attempts + (item.lastFailure ? '\nlast failure: ' + item.lastFailure : '') : ''));
  });
}
`;
