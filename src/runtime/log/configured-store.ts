import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The config's `store.url` (the log in PostgreSQL, or a shared SQLite file) becomes this
 * process's `ORCH_DATABASE_URL` unless that is already set (the environment wins), so every
 * command opens the same log as `orch spawn`. The config file is read only when it mentions
 * `store` (a bare start stays cheap); a file that cannot be read is left to the commands that
 * read the whole config, which say what is wrong with it.
 *
 * @example
 * useConfiguredStore('/repo'); // orch.config.json has store.url: ORCH_DATABASE_URL is now that
 */
export function useConfiguredStore(repoDir: string): void {
  const current = process.env['ORCH_DATABASE_URL'];
  if (current !== undefined && current.trim() !== '') return;
  for (const name of ['orch.config.json', 'orch.config.yaml', 'orch.config.yml']) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(repoDir, name), 'utf8');
    } catch {
      continue;
    }
    if (!/\bstore\b/.test(text)) return;
    let url: unknown;
    try {
      const parsed: unknown = name.endsWith('.json')
        ? JSON.parse(text)
        : (createRequire(import.meta.url)('yaml') as { parse(text: string): unknown }).parse(text);
      url = (parsed as { store?: { url?: unknown } } | null)?.store?.url;
    } catch {
      // The command's own config reading reports a broken file.
      return;
    }
    if (typeof url !== 'string' || url.trim() === '') return;
    process.env['ORCH_DATABASE_URL'] = url;
    // So a bad value is named as the config's, not as ORCH_DATABASE_URL's (see logLocation).
    process.env['ORCH_DATABASE_URL_FROM'] = path.join(repoDir, name);
    return;
  }
}
