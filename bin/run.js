#!/usr/bin/env node
// The orch binary: oclif reads the shipped manifest, so only the command that runs is loaded.
import process from 'node:process';
// `orch status` starts reading its log before oclif loads, a tail folded on a worker thread
// meanwhile (src/runtime/operations/status-prefetch.ts); the command takes the answer.
if (process.argv[2] === 'status' && process.env['ORCH_STATUS_PREFETCH'] !== '0') {
  try {
    await (await import('../dist/cli/status-prefetch.js')).startStatusPrefetch(process.argv.slice(3));
  } catch {
    // Not built: the command reads the log itself.
  }
}
const { execute } = await import('@oclif/core');

await execute({ dir: import.meta.url });
