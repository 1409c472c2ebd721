import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { gitResult } from './git.js';
import { readRef } from './refs.js';

/**
 * orch's merge commits and the integration branch's move, made without starting git: a merge
 * is then one git process (`git merge-tree --write-tree`), where `git commit-tree` and
 * `git update-ref` took two more (each a fork of orch's process, 2–4 ms of its CPU, plus git's
 * own start).
 *
 * - The commit is a loose object written the way git writes one: `commit <size>\0<text>`,
 *   SHA-1, zlib, a temporary file in `objects/xx/` renamed into place, read-only. Its text is
 *   what `git commit-tree <tree> -p … -m <message>` makes (the test compares the two ids).
 * - The ref moves under git's own lock (`<ref>.lock`, created exclusively), only from the
 *   expected old value (a compare-and-swap), with a reflog line when git would write one.
 *
 * Only for repositories where that is exactly what git does: SHA-1 objects, refs as files,
 * no commit signing, no commit encoding, no shared-repository permissions. Anything else (or
 * a held lock) answers `undefined` and the caller runs git.
 */

/** Writes orch's merge commits and moves one ref, in-process; see the module comment. */
export interface InProcessWriter {
  /** The commit's id, or undefined when git must make it. */
  commit(tree: string, parents: readonly string[], message: string): string | undefined;
  /** Moves `ref` from `from` to `to`: `moved` (done), `stale` (it is not at `from`), or undefined (ask git). */
  moveRef(ref: string, from: string, to: string, reason: string): 'moved' | 'stale' | undefined;
}

const CONFIG_KEYS =
  '^(extensions\\.objectformat|extensions\\.refstorage|commit\\.gpgsign|i18n\\.commitencoding|core\\.sharedrepository|core\\.logallrefupdates|core\\.bare)$';

/**
 * The in-process writer for a repository, or null when it has something git must handle (see
 * the module comment). Two git processes, once: the configuration and the identity
 * (`identityConfig`: `user.*=…` entries, as `fallbackIdentity` in git.ts gives).
 *
 * @example
 * const writer = await inProcessWriter('/repo', '/repo/.git', await fallbackIdentity('/repo'));
 */
export async function inProcessWriter(
  repoRoot: string,
  commonDir: string,
  identityConfig: readonly string[],
  now: () => Date = () => new Date(),
): Promise<InProcessWriter | null> {
  if (process.env['ORCH_GIT_IN_PROCESS'] === '0') return null;
  const config = await gitResult(repoRoot, ['config', '-z', '--get-regexp', CONFIG_KEYS]);
  // Exit 1: none of them is set.
  if (config.exitCode !== 0 && config.exitCode !== 1) return null;
  const values = new Map<string, string>();
  for (const entry of config.stdout.split('\0')) {
    const nl = entry.indexOf('\n');
    if (nl > 0) values.set(entry.slice(0, nl).toLowerCase(), entry.slice(nl + 1));
  }
  const objectFormat = values.get('extensions.objectformat');
  if (objectFormat !== undefined && objectFormat.toLowerCase() !== 'sha1') return null;
  if (values.has('extensions.refstorage')) return null;
  if (isTrue(values.get('commit.gpgsign'))) return null;
  const encoding = values.get('i18n.commitencoding');
  if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) return null;
  const shared = values.get('core.sharedrepository');
  if (shared !== undefined && !/^(false|umask|0|no|off)$/i.test(shared)) return null;
  // The reflog: git writes it for branches unless core.logAllRefUpdates is false (default:
  // true in a repository with a worktree), and always when the log file exists.
  const logAll = values.get('core.logallrefupdates');
  const bare = isTrue(values.get('core.bare'));
  const reflog = logAll === undefined ? !bare : isTrue(logAll) || logAll.toLowerCase() === 'always';

  const author = await ident(repoRoot, identityConfig, 'GIT_AUTHOR_IDENT');
  const committer = await ident(repoRoot, identityConfig, 'GIT_COMMITTER_IDENT');
  if (author === undefined || committer === undefined) return null;
  const objects = path.join(commonDir, 'objects');

  return {
    commit(tree, parents, message) {
      const when = gitDate(now());
      const text =
        `tree ${tree}\n` +
        parents.map((p) => `parent ${p}\n`).join('') +
        `author ${author} ${when}\ncommitter ${committer} ${when}\n\n` +
        (message.endsWith('\n') ? message : `${message}\n`);
      try {
        return writeLooseObject(objects, 'commit', Buffer.from(text, 'utf8'));
      } catch {
        return undefined;
      }
    },
    moveRef(ref, from, to, reason) {
      const file = path.join(commonDir, ref);
      const lock = `${file}.lock`;
      let fd: number;
      try {
        fd = fs.openSync(lock, 'wx');
      } catch {
        return undefined; // held (or cannot be made): git says what is wrong
      }
      let renamed = false;
      try {
        const current = readRef(commonDir, ref);
        if (current === undefined) return undefined;
        if (current !== from) return 'stale';
        fs.writeSync(fd, `${to}\n`);
        fs.closeSync(fd);
        fd = -1;
        const log = path.join(commonDir, 'logs', ref);
        if (reflog || fs.existsSync(log)) {
          fs.mkdirSync(path.dirname(log), { recursive: true });
          fs.appendFileSync(
            log,
            `${from} ${to} ${committer} ${gitDate(now())}\t${reason.replace(/\n/g, ' ')}\n`,
          );
        }
        fs.renameSync(lock, file);
        renamed = true;
        return 'moved';
      } catch {
        return undefined;
      } finally {
        if (fd >= 0) fs.closeSync(fd);
        if (!renamed) fs.rmSync(lock, { force: true });
      }
    },
  };
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(true|yes|on|1)$/i.test(value.trim());
}

/** `Name <email>` as git would write it (`git var GIT_*_IDENT`, without its date). */
async function ident(
  repoRoot: string,
  identityConfig: readonly string[],
  which: string,
): Promise<string | undefined> {
  const r = await gitResult(repoRoot, ['var', which], { config: [...identityConfig] });
  if (r.exitCode !== 0) return undefined;
  const m = /^(.*>) \d+ [+-]\d{4}$/.exec(r.stdout.trim());
  return m?.[1];
}

/** `<seconds> <±hhmm>` in the local time zone, as git stamps a commit. */
function gitDate(d: Date): string {
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const tz = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
  return `${Math.floor(d.getTime() / 1000)} ${tz}`;
}

/** Writes a loose object (unless git has it already) and returns its id. */
function writeLooseObject(objects: string, type: string, body: Buffer): string {
  const store = Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body]);
  const id = crypto.createHash('sha1').update(store).digest('hex');
  const dir = path.join(objects, id.slice(0, 2));
  const file = path.join(dir, id.slice(2));
  if (fs.existsSync(file)) return id;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `tmp_obj_orch_${process.pid}_${crypto.randomBytes(4).toString('hex')}`);
  fs.writeFileSync(tmp, zlib.deflateSync(store), { mode: 0o444 });
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return id;
}
