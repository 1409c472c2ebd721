#!/usr/bin/env node
// `npm test`'s checks before vitest: the build, then type-check, ESLint and Prettier side by
// side (ESLint's typed rules alone take about a minute on one core; one after the other the
// four took 120 s on this project's 2-core machine). Each step's output is printed whole when
// it ends, so the logs do not interleave; the exit code is 1 when any step failed, naming it.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import process from 'node:process';

/** @typedef {{ script: string, code: number, output: string, ms: number }} StepResult */

/**
 * Runs `npm run <script>` with its output captured; resolves to its exit code and output.
 *
 * @param {string} script
 * @returns {Promise<StepResult>}
 */
function run(script) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn('npm', ['run', '--silent', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    /** @type {Buffer[]} */
    const chunks = [];
    child.stdout.on('data', (/** @type {Buffer} */ d) => chunks.push(d));
    child.stderr.on('data', (/** @type {Buffer} */ d) => chunks.push(d));
    child.on('error', (error) =>
      resolve({ script, code: 1, output: String(error), ms: Date.now() - started }),
    );
    child.on('close', (code, signal) =>
      resolve({
        script,
        code: code ?? (signal ? 1 : 0),
        output: Buffer.concat(chunks).toString(),
        ms: Date.now() - started,
      }),
    );
  });
}

/**
 * Prints a step's outcome and output.
 *
 * @param {StepResult} result
 * @returns {StepResult}
 */
function report(result) {
  const mark = result.code === 0 ? 'ok' : `FAILED (exit ${result.code})`;
  process.stdout.write(`\n> npm run ${result.script}: ${mark} in ${(result.ms / 1000).toFixed(1)} s\n`);
  if (result.output.trim() !== '')
    process.stdout.write(result.output.endsWith('\n') ? result.output : `${result.output}\n`);
  return result;
}

// The build first: bin/*.js (linted with types) and the tests' set-up read dist/.
const build = report(await run('build'));
/** @type {StepResult[]} */
const results = [build];
if (build.code === 0) {
  const typecheckThenFormat = (async () => [
    report(await run('typecheck')),
    report(await run('format:check')),
  ])();
  const lint = run('lint:code').then(report);
  results.push(...(await typecheckThenFormat), await lint);
}
const failed = results.filter((r) => r.code !== 0).map((r) => r.script);
if (failed.length > 0) {
  process.stderr.write(`\ncheck: ${failed.join(', ')} failed (see above); the tests were not run\n`);
  process.exit(1);
}
