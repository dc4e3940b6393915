/**
 * What DPDK finds on the machine before EAL runs, read without the addon (so
 * a tool can report on a machine where it cannot load): hugepage sizes as the
 * kernel reserves them, hugetlbfs mounts, the hugepage files of a
 * --file-prefix and where runtime directories live. Importable on its own as
 * `@mp/dpdk-core/machine`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { filePrefixSchema } from './eal-args';
import { validate } from './validate';

const SYSFS_HUGEPAGES = '/sys/kernel/mm/hugepages';

/** DPDK's hugepage file name, HUGEFILE_FMT "%smap_%d": the number keeps prefix "x" off prefix "xmap_y"'s files. */
const HUGEPAGE_FILE = /^(.+)map_(\d+)$/;

export interface HugepageSize {
  kb: number;
  /** nr_hugepages: reserved for hugetlbfs, in use or not. */
  reserved: number;
  free: number;
  /** The sysfs file that sets `reserved`. */
  sysfs: string;
}

function readNumber(file: string): number {
  return Number(fs.readFileSync(file, 'utf8').trim());
}

/** A directory's entries; none if it cannot be read. */
export function entries(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Every hugepage size the kernel offers, smallest first; empty without hugepage support. */
export function hugepageSizes(): HugepageSize[] {
  return entries(SYSFS_HUGEPAGES)
    .map((d) => /^hugepages-(\d+)kB$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      kb: Number(m[1]),
      reserved: readNumber(path.join(SYSFS_HUGEPAGES, m[0], 'nr_hugepages')),
      free: readNumber(path.join(SYSFS_HUGEPAGES, m[0], 'free_hugepages')),
      sysfs: path.join(SYSFS_HUGEPAGES, m[0], 'nr_hugepages'),
    }))
    .sort((a, b) => a.kb - b.kb);
}

/** The size a hugetlbfs mount without pagesize= serves (Hugepagesize in /proc/meminfo). */
function defaultHugepageKb(): number {
  return Number(/Hugepagesize:\s+(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 2048);
}

export interface HugepageMount {
  path: string;
  /** The page size it serves. */
  pageSizeKb: number;
}

/** hugetlbfs mounts, from /proc/mounts; of several on one path, the last (the one that hides the others). */
export function hugepageMounts(): HugepageMount[] {
  const out = new Map<string, HugepageMount>();
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, where, type, options] = line.split(' ');
    if (type !== 'hugetlbfs' || where === undefined) continue;
    const size = /(?:^|,)pagesize=(\d+)([KMG])/.exec(options ?? '');
    const kb = size ? Number(size[1]) * { K: 1, M: 1024, G: 1024 * 1024 }[size[2] as 'K' | 'M' | 'G'] : defaultHugepageKb();
    const at = where.replace(/\\040/g, ' ');
    out.delete(at);
    out.set(at, { path: at, pageSizeKb: kb });
  }
  return [...out.values()];
}

/** The hugepage files of exactly this prefix, in every hugetlbfs mount. */
export function hugepageFiles(prefix: string, mounts: readonly HugepageMount[] = hugepageMounts()): string[] {
  const p = validate(filePrefixSchema, prefix, 'hugepageFiles', 'file prefix');
  return mounts.flatMap((m) => entries(m.path).filter((f) => HUGEPAGE_FILE.exec(f)?.[1] === p).map((f) => path.join(m.path, f)));
}

/**
 * Where DPDK keeps a file prefix's runtime files (the rule of 22.11's
 * eal_create_runtime_dir): systemd's RUNTIME_DIRECTORY first, then /var/run
 * for root, XDG_RUNTIME_DIR or /tmp for other users.
 */
export function runtimeDirFor(filePrefix: string, env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  const base = env['RUNTIME_DIRECTORY'] ?? (uid === 0 ? '/var/run' : (env['XDG_RUNTIME_DIR'] ?? '/tmp'));
  // As EAL joins them ("%s/dpdk"): an empty variable gives /dpdk, never a path relative to the current directory.
  return `${base}/dpdk/${filePrefix}`;
}

/** The directory that holds every prefix's runtime directory, for this user. */
export function runtimeBase(): string {
  return path.dirname(runtimeDirFor('_'));
}

/** Every prefix with a runtime directory or hugepage files here, live or not. */
export function listPrefixes(): string[] {
  const names = new Set(entries(runtimeBase()).filter((d) => filePrefixSchema.safeParse(d).success));
  for (const m of hugepageMounts()) {
    for (const f of entries(m.path)) {
      const prefix = HUGEPAGE_FILE.exec(f)?.[1];
      // A name DPDK accepted but a prefix here cannot be (too long, odd characters) is not listed rather than failing every look.
      if (prefix !== undefined && filePrefixSchema.safeParse(prefix).success) names.add(prefix);
    }
  }
  return [...names].sort();
}
