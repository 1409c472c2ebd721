/**
 * For tests that need a program of the machine (Chromium, tmux, PostgreSQL): outside CI a
 * missing one skips those tests with a warning; with `CI=true` it fails the test file, so a
 * CI machine without it cannot pass quietly (`.ci/run` installs them).
 *
 * @example
 * const hasChromium = available('chromium', fs.existsSync('/usr/bin/chromium'), 'install Debian\'s chromium');
 */
export function available(what: string, present: boolean, hint: string): boolean {
  if (present) return true;
  const message = `${what} is missing: ${hint}`;
  if (process.env['CI'] === 'true')
    throw new Error(`CI=true and ${message} (tests that need it may not be skipped in CI)`);
  console.warn(`${message}; the tests that need it are skipped`);
  return false;
}
