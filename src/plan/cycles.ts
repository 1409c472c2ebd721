/**
 * Cycle finding on a CSR graph: strongly connected components (iterative Tarjan, so
 * 10,000-node chains do not overflow the stack), then one concrete shortest cycle per
 * component, to name in an error message.
 */

/**
 * One cycle per strongly connected component that has one (a component of two or more
 * nodes, or a node with an edge to itself). Each cycle is a node list whose last node
 * leads back to the first, starting at the component's smallest node by `compare`.
 *
 * @example
 * // 0 → 1 → 0
 * findCycles(2, Int32Array.from([0, 1, 2]), Int32Array.from([1, 0]), (a, b) => a - b); // [[0, 1]]
 */
export function findCycles(
  n: number,
  start: Int32Array,
  adj: Int32Array,
  compare: (a: number, b: number) => number,
): number[][] {
  const comp = components(n, start, adj);
  const members = new Map<number, number[]>();
  for (let v = 0; v < n; v++) {
    const c = comp[v] ?? 0;
    const list = members.get(c);
    if (list) list.push(v);
    else members.set(c, [v]);
  }
  const cycles: number[][] = [];
  for (const nodes of members.values()) {
    const first = nodes[0] ?? 0;
    const selfLoop = nodes.length === 1 && hasEdge(start, adj, first, first);
    if (nodes.length < 2 && !selfLoop) continue;
    const root = nodes.reduce((best, v) => (compare(v, best) < 0 ? v : best), first);
    cycles.push(selfLoop ? [root] : shortestCycle(root, comp, start, adj));
  }
  return cycles.sort((a, b) => compare(a[0] ?? 0, b[0] ?? 0));
}

function hasEdge(start: Int32Array, adj: Int32Array, a: number, b: number): boolean {
  for (let e = start[a] ?? 0; e < (start[a + 1] ?? 0); e++) if (adj[e] === b) return true;
  return false;
}

// Breadth-first inside the component from root back to root.
function shortestCycle(root: number, comp: Int32Array, start: Int32Array, adj: Int32Array): number[] {
  const c = comp[root];
  const parent = new Map<number, number>();
  const queue = [root];
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head] ?? 0;
    for (let e = start[v] ?? 0; e < (start[v + 1] ?? 0); e++) {
      const w = adj[e] ?? 0;
      if (comp[w] !== c) continue;
      if (w === root) {
        const path = [v];
        let u = v;
        while (u !== root) {
          u = parent.get(u) ?? root;
          path.push(u);
        }
        return path.reverse();
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [root];
}

function components(n: number, start: Int32Array, adj: Int32Array): Int32Array {
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const comp = new Int32Array(n).fill(-1);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const callV: number[] = [];
  const callE: number[] = [];
  let counter = 0;
  let compCount = 0;
  for (let s = 0; s < n; s++) {
    if (index[s] !== -1) continue;
    callV.push(s);
    callE.push(start[s] ?? 0);
    index[s] = low[s] = counter++;
    stack.push(s);
    onStack[s] = 1;
    while (callV.length > 0) {
      const top = callV.length - 1;
      const v = callV[top] ?? 0;
      const e = callE[top] ?? 0;
      if (e < (start[v + 1] ?? 0)) {
        callE[top] = e + 1;
        const w = adj[e] ?? 0;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          callV.push(w);
          callE.push(start[w] ?? 0);
        } else if (onStack[w] === 1) {
          low[v] = Math.min(low[v] ?? 0, index[w] ?? 0);
        }
        continue;
      }
      if (low[v] === index[v]) {
        let w: number;
        do {
          w = stack.pop() ?? v;
          onStack[w] = 0;
          comp[w] = compCount;
        } while (w !== v);
        compCount++;
      }
      callV.pop();
      callE.pop();
      const parent = callV[callV.length - 1];
      if (parent !== undefined) low[parent] = Math.min(low[parent] ?? 0, low[v] ?? 0);
    }
  }
  return comp;
}
