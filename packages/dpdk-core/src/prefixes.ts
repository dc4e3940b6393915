/**
 * A process group's files, seen from outside the group (no EAL needed): each
 * `--file-prefix` has a runtime directory (`<base>/dpdk/<prefix>`: the shared
 * config the primary keeps an fcntl lock on, one `mp_socket_<pid>_<n>` per
 * attached secondary) and hugepage files `<prefix>map_<n>` in each hugetlbfs
 * mount, on which every process that maps them keeps a shared flock. This is
 * what tells a live group from what a dead one left behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { dpdkError } from './errors';
import { filePrefixSchema } from './eal-args';
import { runtimeDir } from './eal';
import { entries, hugepageFiles, runtimeDirFor } from './machine';
import { native } from './native';
import { validate } from './validate';
import { ownerAlive } from './proc';

/** How long a runtime directory without a config file counts as a primary still starting. */
const STARTING_MS = 10_000;

export interface PrefixFile {
  path: string;
  bytes: number;
  /** Some process maps it (holds DPDK's flock on it), or that cannot be told (`unreadable`). */
  inUse: boolean;
  /** Why its lock could not be tested (another user's file, say). */
  unreadable?: string;
}

export interface PrefixState {
  prefix: string;
  /** The runtime directory, or null if there is none. */
  runtimeDir: string | null;
  /** The pid holding the lock on the config file: the live primary; null when none holds it or the kernel does not name it. */
  primaryPid: number | null;
  /**
   * Whether the primary lives: the config file is locked (whether or not
   * its holder is named: one in another pid namespace is not), or a live
   * process is bound to the primary's IPC or telemetry socket in the runtime
   * directory (a primary started --in-memory keeps no config file).
   */
  primaryAlive: boolean;
  /** Secondaries by their IPC sockets, each alive or a dead one's leftover. */
  secondaries: Array<{ pid: number; alive: boolean }>;
  hugepageFiles: PrefixFile[];
}

/**
 * What a prefix has on this machine and who uses it: the primary (the holder
 * of the config file's fcntl lock, F_GETLK; the same test as
 * rte_eal_primary_proc_alive, which says only yes or no), the secondaries
 * (`mp_socket_<pid>_<n>` in the runtime directory; the primary's own socket
 * is `mp_socket`) and the hugepage files.
 */
export function describePrefix(prefix: string): PrefixState {
  const p = validate(filePrefixSchema, prefix, 'describePrefix', 'file prefix');
  const dir = runtimeDirFor(p);
  const hasDir = fs.existsSync(dir);
  const lock = native.fileLocks(path.join(dir, 'config'));
  return {
    prefix: p,
    runtimeDir: hasDir ? dir : null,
    primaryPid: lock.lockPid > 0 ? lock.lockPid : null,
    primaryAlive: lock.locked || (hasDir && boundSockets(dir).some((f) => PRIMARY_SOCKETS.includes(path.basename(f)))),
    secondaries: socketPids(dir).map((pid) => ({ pid, alive: ownerAlive(pid, null) })),
    hugepageFiles: hugepageFiles(p).map((f) => {
      const l = native.fileLocks(f);
      return { path: f, bytes: statSize(f), inUse: l.flocked || l.locked, ...(l.unreadable === undefined ? {} : { unreadable: l.unreadable }) };
    }),
  };
}

/** The primary's own sockets in its runtime directory: IPC (none with --in-memory) and telemetry. */
const PRIMARY_SOCKETS = ['mp_socket', 'dpdk_telemetry.v2'];

/**
 * Socket files under `dir` that a live process has bound: /proc/net/unix
 * lists the path of every bound socket, and a dead process's socket file is
 * left on disk but not listed.
 */
function boundSockets(dir: string): string[] {
  let table: string;
  try {
    table = fs.readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return [];
  }
  const inside = `${dir}/`;
  // Columns: Num RefCount Protocol Flags Type St Inode Path.
  return table
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/)[7] ?? '')
    .filter((p) => p.startsWith(inside));
}

function statSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The pids in a runtime directory's secondary sockets, mp_socket_<pid>_<n>. */
function socketPids(dir: string): number[] {
  const pids = new Set<number>();
  for (const f of entries(dir)) {
    const m = /^mp_socket_(\d+)_/.exec(f);
    if (m) pids.add(Number(m[1]));
  }
  return [...pids].sort((a, b) => a - b);
}

/** Live secondaries of this process's group other than `known` (for a primary about to shut down). */
export function liveSecondaries(known: readonly number[] = []): number[] {
  return socketPids(runtimeDir()).filter((pid) => pid !== process.pid && !known.includes(pid) && ownerAlive(pid, null));
}

/**
 * Removes what a dead group left behind: its runtime directory and hugepage
 * files. Refused ('EBUSY', naming the pid) while its primary or a secondary
 * runs or a process still maps one of its hugepage files. Returns the paths
 * it removed.
 */
export function cleanPrefix(prefix: string): string[] {
  const s = describePrefix(prefix);
  const op = 'cleanPrefix';
  if (s.primaryAlive) {
    const [who, kill] =
      s.primaryPid !== null
        ? [`pid ${s.primaryPid}`, ` (kill ${s.primaryPid})`]
        : ['it holds its config lock or its sockets, under a pid this namespace does not show', ''];
    throw dpdkError('EBUSY', op, `the primary of --file-prefix=${s.prefix} is alive (${who}); stop it first${kill}, it removes its own files`);
  }
  const live = s.secondaries.filter((x) => x.alive).map((x) => x.pid);
  if (live.length > 0) {
    throw dpdkError('EBUSY', op, `secondaries of --file-prefix=${s.prefix} are still running (pid ${live.join(', ')}); stop them first`);
  }
  // A primary creates its runtime directory a moment before it locks the config file in it.
  if (s.runtimeDir !== null && !fs.existsSync(path.join(s.runtimeDir, 'config')) && Date.now() - fs.statSync(s.runtimeDir).mtimeMs < STARTING_MS) {
    throw dpdkError('EBUSY', op, `--file-prefix=${s.prefix} has a new runtime directory without a config file: a primary may be starting; try again in a few seconds`);
  }
  const unreadable = s.hugepageFiles.find((f) => f.unreadable !== undefined);
  if (unreadable !== undefined) {
    throw dpdkError('EACCES', op, `cannot tell whether a process maps ${unreadable.path} (${unreadable.unreadable}); run as its owner or as root`);
  }
  const mapped = s.hugepageFiles.filter((f) => f.inUse);
  if (mapped.length > 0) {
    throw dpdkError('EBUSY', op, `a process still maps hugepage files of --file-prefix=${s.prefix} (${mapped.map((f) => f.path).join(', ')}); find it with: grep -l ${mapped[0]?.path} /proc/*/maps`);
  }
  const removed: string[] = [];
  // Each under an exclusive flock, as EAL clears them: one a primary started since has mapped is left.
  for (const f of s.hugepageFiles) if (native.unlinkIfUnlocked(f.path)) removed.push(f.path);
  if (s.runtimeDir !== null) {
    removeRuntimeDir(s.runtimeDir, op);
    removed.push(s.runtimeDir);
  }
  return removed;
}

/**
 * Empties and removes a runtime directory as EAL leaves one: files only,
 * never following a symlink, and only under a `dpdk` directory that is a
 * real directory owned by this user or root (under /tmp another user could
 * have made it a symlink into this user's files).
 */
function removeRuntimeDir(dir: string, op: string): void {
  const uid = process.getuid?.() ?? 0;
  for (const d of [path.dirname(dir), dir]) {
    const st = fs.lstatSync(d);
    if (!st.isDirectory() || (st.uid !== uid && st.uid !== 0)) {
      throw dpdkError('EPERM', op, `${d} is not a directory of this user's or root's (a symlink, or someone else's); remove it by hand if it is a leftover`);
    }
  }
  // Under the config file's write lock: a primary starting meanwhile fails to take it rather than lose its files.
  const left = native.removeDeadRuntimeDir(dir);
  if (left.length > 0) {
    throw dpdkError('ENOTEMPTY', op, `${dir} holds more than EAL puts there (${left.join(', ')}); remove it by hand if it is a leftover`);
  }
}
