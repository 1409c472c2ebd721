import { createRequire } from 'node:module';

let addon: { nativeBinding?: string } | undefined;

/**
 * better-sqlite3's compiled addon, found once where `npm ci` builds it, as the
 * `nativeBinding` option: the default lookup (the `bindings` package) tries a dozen paths
 * on every process start, a few milliseconds of every command. Where the addon is elsewhere
 * (another build layout), the option is left out and better-sqlite3 finds it itself.
 *
 * @example
 * new Database(file, { readonly: true, ...nativeAddon() });
 */
export function nativeAddon(): { nativeBinding?: string } {
  if (addon !== undefined) return addon;
  try {
    addon = {
      nativeBinding: createRequire(import.meta.url).resolve(
        'better-sqlite3/build/Release/better_sqlite3.node',
      ),
    };
  } catch {
    addon = {};
  }
  return addon;
}
