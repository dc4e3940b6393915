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
  /** Some process maps it (holds DPDK's flock on it). */
  inUse: boolean;
}

export interface PrefixState {
  prefix: string;
  /** The runtime directory, or null if there is none. */
  runtimeDir: string | null;
  /** The pid holding the lock on the config file: the live primary; null when none holds it. */
  primaryPid: number | null;
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
    secondaries: socketPids(dir).map((pid) => ({ pid, alive: ownerAlive(pid, null) })),
    hugepageFiles: hugepageFiles(p).map((f) => {
      const l = native.fileLocks(f);
      return { path: f, bytes: statSize(f), inUse: l.flocked || l.lockPid > 0 };
    }),
  };
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
  if (s.primaryPid !== null) {
    throw dpdkError('EBUSY', op, `the primary of --file-prefix=${s.prefix} is alive (pid ${s.primaryPid}); stop it first (kill ${s.primaryPid}), it removes its own files`);
  }
  const live = s.secondaries.filter((x) => x.alive).map((x) => x.pid);
  if (live.length > 0) {
    throw dpdkError('EBUSY', op, `secondaries of --file-prefix=${s.prefix} are still running (pid ${live.join(', ')}); stop them first`);
  }
  // A primary creates its runtime directory a moment before it locks the config file in it.
  if (s.runtimeDir !== null && !fs.existsSync(path.join(s.runtimeDir, 'config')) && Date.now() - fs.statSync(s.runtimeDir).mtimeMs < STARTING_MS) {
    throw dpdkError('EBUSY', op, `--file-prefix=${s.prefix} has a new runtime directory without a config file: a primary may be starting; try again in a few seconds`);
  }
  const mapped = s.hugepageFiles.filter((f) => f.inUse);
  if (mapped.length > 0) {
    throw dpdkError('EBUSY', op, `a process still maps hugepage files of --file-prefix=${s.prefix} (${mapped.map((f) => f.path).join(', ')}); find it with: grep -l ${mapped[0]?.path} /proc/*/maps`);
  }
  const removed: string[] = [];
  for (const f of s.hugepageFiles) {
    fs.rmSync(f.path, { force: true });
    removed.push(f.path);
  }
  if (s.runtimeDir !== null) {
    fs.rmSync(s.runtimeDir, { recursive: true, force: true });
    removed.push(s.runtimeDir);
  }
  return removed;
}
