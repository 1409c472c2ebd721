/**
 * The report page's stylesheet (inline; no fonts, images or imports). Status colours are
 * classes `s-<status>` that set both `fill` (SVG) and `background` (HTML badges).
 *
 * @example
 * const head = `<style>${REPORT_CSS}</style>`;
 */
export const REPORT_CSS = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5f6b7a; --line: #d9dee5; }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px 24px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #fbfcfd; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
#summary { margin: 0; padding-left: 18px; color: var(--muted); }
#tip { position: fixed; z-index: 5; max-width: 380px; padding: 6px 8px; background: #1d2330; color: #fff; font-size: 12px; white-space: pre-wrap; border-radius: 4px; pointer-events: none; }
#tip[hidden] { display: none; }
#report-error { background: #fde2e4; border: 1px solid #e63946; padding: 8px 12px; margin: 8px 0; }
.scroll { overflow: auto; border: 1px solid var(--line); background: #fff; max-height: 640px; }
.scrub-row { display: flex; gap: 8px; align-items: center; }
#scrubber { flex: 1; }
#scrub-label { font-weight: 600; margin: 6px 0 0; }
#scrub-extra { color: var(--muted); margin: 2px 0 8px; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f0f2f5; position: sticky; top: 0; }
td.summary { max-width: 360px; }
td.workspace { max-width: 320px; font-size: 12px; }
pre { white-space: pre-wrap; max-width: 520px; margin: 4px 0; font-size: 12px; }
.badge { display: inline-block; padding: 0 8px; border-radius: 9px; font-size: 12px; }
.key { display: inline-block; width: 12px; height: 12px; border-radius: 3px; vertical-align: -1px; margin: 0 3px 0 10px; }
.legend { color: var(--muted); font-size: 12px; margin: 4px 0 8px; }
tr.o-fail td.exit, tr.o-lost td.exit { color: #b3261e; font-weight: 600; }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
.axis line { stroke: #e6e9ee; }
.axis text { fill: var(--muted); font-size: 11px; }
.lane-bg { fill: #fff; } .lane-bg.odd { fill: #f6f8fa; }
.lane-label { font-family: ui-monospace, monospace; font-size: 11.5px; }
.run-lane .lane-label { font-style: italic; fill: var(--muted); }
.attempt { cursor: pointer; stroke: rgba(0,0,0,.25); stroke-width: .5; }
.o-ok.attempt { fill: #74c69d; } .o-fail.attempt { fill: #f08080; } .o-lost.attempt { fill: #adb5bd; }
.o-open.attempt { fill: #ffd166; fill-opacity: .7; stroke-dasharray: 3 2; }
.started { stroke: rgba(0,0,0,.45); stroke-width: 1; }
.bar-label { font-size: 10px; fill: #1d2330; pointer-events: none; }
.marker { cursor: pointer; stroke: #1d2330; stroke-width: .6; }
.m-bp-complete { fill: #2d6a4f; } .m-bp-blocked { fill: #fb8500; } .m-bp-pr { fill: #7b2cbf; }
.m-gate-ok { fill: #2d6a4f; stroke: none; } .m-gate-fail { fill: #d00000; stroke: none; }
.m-merge-ok { fill: #40916c; } .m-merge-fail, .m-rejected { stroke: #d00000; stroke-width: 2; fill: none; }
.m-rejected { stroke: #6c757d; }
.m-retry { fill: #fff; stroke: #6c757d; }
.m-task-ok { fill: #2d6a4f; } .m-task-fail { fill: #d00000; }
.m-ci-ok { fill: #52b788; } .m-ci-fail { fill: #e63946; }
.m-pr { fill: #7b2cbf; } .m-milestone { fill: #264653; }
.m-plan, .m-run, .m-limit { fill: #6c757d; stroke: none; } .m-limit { fill: #fb8500; }
.cursor { stroke: #3a0ca3; stroke-width: 2; pointer-events: none; }
.edge { fill: none; stroke: #8d99ae; stroke-width: 1.2; } .edge.soft { stroke: #c9d1da; stroke-dasharray: 4 3; }
.arrow { fill: #8d99ae; }
.node rect { stroke: rgba(0,0,0,.3); }
.node.phase rect { stroke-width: 2; }
.node-id { font-weight: 600; font-size: 11.5px; } .node-title { font-size: 11px; }
.s-pending, .s-waiting { fill: #dde1e7; background: #dde1e7; }
.s-ready { fill: #a9d6e5; background: #a9d6e5; }
.s-running, .s-in_progress { fill: #ffd166; background: #ffd166; }
.s-blocked { fill: #fdba74; background: #fdba74; }
.s-complete { fill: #74c69d; background: #74c69d; }
.s-failed { fill: #f08080; background: #f08080; }
.s-open { fill: #dde1e7; background: #dde1e7; }
.s-absent { fill: #fff; stroke: #adb5bd; }
`;
