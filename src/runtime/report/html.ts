import type { RecordedEvent } from '../../core/envelope.js';
import { buildReportData } from './data.js';
import type { ReportData, ReportDataOptions } from './data.js';
import { REPORT_GRAPH_JS } from './page-graph.js';
import { REPORT_MODEL_JS } from './page-model.js';
import { REPORT_STATES_JS } from './page-states.js';
import { REPORT_CSS } from './page-style.js';
import { REPORT_TIMELINE_JS } from './page-timeline.js';
import { REPORT_UI_JS } from './page-ui.js';

/** Options of {@link renderReport}. */
export type ReportOptions = ReportDataOptions;

/**
 * The post-mortem report of a log as one self-contained HTML page (inline CSS, JS and SVG;
 * nothing is fetched, and a Content-Security-Policy forbids fetching): a timeline with a
 * lane per task, the dependency graph coloured by final status, the attempts table, and a
 * scrubber showing the task statuses at any log position, as orch's own fold computed
 * them when the page was made (the page looks them up). Everything from the log is
 * embedded as JSON (with `<`, `>`, `&` escaped) and put on the page as text, never as HTML.
 *
 * @example
 * const html = renderReport(store.readAll(), { to: 120 });
 * fs.writeFileSync('report.html', html);
 */
export function renderReport(events: Iterable<RecordedEvent>, options: ReportOptions = {}): string {
  return renderReportData(buildReportData(events, options));
}

/**
 * The page for already gathered report data.
 *
 * @example
 * renderReportData(buildReportData(events)).startsWith('<!doctype html>'); // true
 */
export function renderReportData(data: ReportData): string {
  const script = `(function () {\n'use strict';\n${REPORT_STATES_JS}${REPORT_MODEL_JS}${REPORT_TIMELINE_JS}${REPORT_GRAPH_JS}${REPORT_UI_JS}})();\n`;
  const title = escapeHtml(data.title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header>
<h1>${title}</h1>
<ul id="summary"></ul>
<div id="report-error" hidden></div>
</header>
<section id="state">
<h2>State at a log position</h2>
<div class="scrub-row">
<button type="button" id="prev" title="previous drawn event">&#9664;</button>
<input type="range" id="scrubber" min="0" max="0" step="1" value="0" aria-label="log position">
<button type="button" id="next" title="next drawn event">&#9654;</button>
</div>
<p id="scrub-label"></p>
<p id="scrub-extra"></p>
<div class="scroll"><table id="state-table">
<thead><tr><th>task</th><th>title</th><th>phase</th><th>role</th><th>status</th><th>machine state</th><th>attempts</th></tr></thead>
<tbody></tbody>
</table></div>
</section>
<section id="lanes">
<h2>Timeline</h2>
<label>x axis <select id="axis"><option value="time">time</option><option value="position">log position</option></select></label>
<div class="legend">${legend()}</div>
<div class="scroll"><svg id="timeline" role="img" aria-label="timeline, one lane per task"></svg></div>
<div id="tip" hidden></div>
</section>
<section id="dependencies">
<h2>Dependency graph (final status)</h2>
<div class="legend">boxes: phases; rounded boxes: tasks; arrows: dependencies; dashed: a phase's tasks</div>
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
<script type="application/json" id="orch-data">${jsonForScript(data)}</script>
<script>
${script}</script>
</body>
</html>
`;
}

function legend(): string {
  const statuses = ['pending', 'ready', 'running', 'blocked', 'complete', 'failed']
    .map((s) => `<span class="key s-${s}"></span>${s}`)
    .join(' ');
  const marks =
    'bars: attempts (green exit 0, red error, grey lost, dashed no outcome); ◆ breakpoint · ▮ gate · ● merge / CI · ✕ conflict / rejected signal · ○ retry · ■ task outcome / milestone · ▲ pull request · | run, plan';
  return `${statuses}<br>${marks}`;
}

/**
 * Text for HTML element content and attribute values.
 *
 * @example
 * escapeHtml('<script>'); // '&lt;script&gt;'
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON that is safe inside `<script type="application/json">`: no `<`, `>` or `&` can end
 * the element or open a comment, and line separators are escaped too.
 *
 * @example
 * jsonForScript({ t: '</script>' }); // '{"t":"\\u003c/script\\u003e"}'
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
