#!/usr/bin/env node
// The orch binary: oclif reads the shipped manifest, so only the command that runs is loaded.
import process from 'node:process';
// `orch status --json` on a local log whose cached document is current, or whose status
// parts serve the tail, prints the document without loading oclif (the same text the command
// prints). Other `orch status` calls start reading the log before oclif loads, a tail folded
// on a worker thread meanwhile; the command takes the answer. Anything else, or any error:
// the command runs as usual. (src/runtime/operations/status-prefetch.ts)
let done = false;
if (process.argv[2] === 'status' && process.env['ORCH_STATUS_PREFETCH'] !== '0') {
  try {
    const prefetch = await import('../dist/cli/status-prefetch.js');
    const args = process.argv.slice(3);
    const json = await prefetch.statusJsonNow(args);
    if (json !== undefined) {
      process.stdout.write(`${json}\n`);
      done = true;
    } else if (!args.includes('--json')) {
      await prefetch.startStatusPrefetch(args);
    }
  } catch {
    // Not built: the command reads the log itself.
  }
}
if (!done) {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
