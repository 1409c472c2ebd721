/**
 * The report page's view of orch's states, as browser JavaScript (ES2017, no modules, no
 * DOM): it looks positions up in the embedded changes (`data.states`, see `states.ts`),
 * which orch's own fold computed when the report was made. It judges nothing.
 *
 * `makeStateLookup(states)` returns `{ at(position) }`: the tasks (plan order, with
 * status, machine state and attempts), live agents, latest CI result and open pull
 * requests after every event up to and including `position`. Moving forward applies the
 * changes since the last answer; moving back starts again from the first change.
 *
 * @example
 * const makeStateLookup = vm.runInNewContext(`${REPORT_STATES_JS}\nmakeStateLookup;`);
 * makeStateLookup(data.states).at(12).tasks; // [{ id: 'T001', status: 'running', detail: 'running', attempts: 1, ... }]
 */
export const REPORT_STATES_JS = String.raw`
function makeStateLookup(states) {
  'use strict';
  var changes = states.changes;
  var cursor = null;
  function start() {
    return { position: 0, next: 0, plan: [], tasks: new Map(), live: 0, ci: null, prs: [] };
  }
  function apply(s, c) {
    switch (c[1]) {
      case 0: s.tasks.set(c[2], { value: c[3], attempts: c[4] }); return;
      case 1: s.plan = c[2]; return;
      case 2: s.live = c[2]; return;
      case 3: s.ci = { result: c[2], position: c[3] }; return;
      case 4: s.prs = c[2]; return;
      default: throw new Error('report: unknown state change ' + JSON.stringify(c));
    }
  }
  return {
    at: function (p) {
      if (cursor === null || cursor.position > p) cursor = start();
      while (cursor.next < changes.length && changes[cursor.next][0] <= p) apply(cursor, changes[cursor.next++]);
      cursor.position = p;
      var s = cursor;
      var tasks = s.plan.map(function (row) {
        var entry = s.tasks.get(row[0]);
        var value = entry === undefined ? null : states.values[entry.value];
        return {
          id: states.ids[row[0]], title: row[1], phase: row[2], role: row[3],
          status: value ? value[1] : 'pending',
          detail: value ? value[0] : 'pending',
          attempts: entry === undefined ? 0 : entry.attempts
        };
      });
      var prs = s.prs.map(function (id) { return { milestone: id }; });
      return { position: p, tasks: tasks, liveAgents: s.live, ci: s.ci, prs: prs };
    }
  };
}
`;
