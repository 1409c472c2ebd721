import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of a file or directory under test/fixtures/plans. */
export function fixture(...parts: string[]): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'plans', ...parts);
}

/** Every file under a fixture directory, keyed by `/`-separated path relative to it. */
export function readFixtureDir(dir: string): Record<string, string> {
  const root = fixture(dir);
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else out[r] = fs.readFileSync(path.join(root, r), 'utf8');
    }
  };
  walk('');
  return out;
}

/** The text of one fixture file. */
export function readFixture(...parts: string[]): string {
  return fs.readFileSync(fixture(...parts), 'utf8');
}
