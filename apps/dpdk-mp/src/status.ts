/**
 * dpdk-mp status: every group on the machine, or one group in detail. For the
 * detail it attaches as a secondary for a moment, the way dpdk-proc-info
 * does, and only reads: it takes no packet and no object from any pool, so
 * it touches no per-lcore cache and its lcore id cannot clash with anyone's;
 * it still picks an id no process of the group names, floats over all CPUs,
 * maps no hugepages of its own (a secondary maps the primary's), skips PCI
 * and logs only errors. Then it detaches (cleanup()).
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  dpdkError,
  hasCode,
  MAX_LCORE,
  cleanup,
  describePrefix,
  dpdkVersion,
  filePrefixSchema,
  initEal,
  lcoreIdsFromArgv,
  listPrefixes,
  openPort,
  ports,
  processArgv,
  queryTelemetry,
  walkMempools,
  walkMemzones,
  walkRings,
  type PortStats,
  type PrefixState,
} from '@mp/dpdk-core';
import { findLcoreAllocators } from '@mp/lcore-alloc';
import { z } from 'zod';
import { EXIT } from '@mp/dpdk-core/cli';
import type { Command } from './cli';
import { bytes, rate, table } from './table';

const schema = z
  .object({
    filePrefix: filePrefixSchema.optional(),
    json: z.boolean().default(false),
    interval: z.coerce.number({ error: 'give milliseconds, e.g. 1000' }).int('give whole milliseconds').min(100, 'at least 100 ms').max(60_000, 'at most 60000 ms').default(1000),
  })
  .strict();

type Options = z.output<typeof schema>;

/** One line per prefix: what is on the machine, without attaching. */
export interface PrefixSummary {
  prefix: string;
  primaryPid: number | null;
  /** Alive even when the kernel does not name its pid (another pid namespace) or it keeps no config file (--in-memory). */
  primaryAlive: boolean;
  liveSecondaries: number[];
  hugepageFiles: number;
  hugepageBytes: number;
  runtimeDir: string | null;
}

function summarize(s: PrefixState): PrefixSummary {
  return {
    prefix: s.prefix,
    primaryPid: s.primaryPid,
    primaryAlive: s.primaryAlive,
    liveSecondaries: s.secondaries.filter((x) => x.alive).map((x) => x.pid),
    hugepageFiles: s.hugepageFiles.length,
    hugepageBytes: s.hugepageFiles.reduce((n, f) => n + f.bytes, 0),
    runtimeDir: s.runtimeDir,
  };
}

function listAll(json: boolean): number {
  const groups = listPrefixes().map((p) => summarize(describePrefix(p)));
  if (json) {
    process.stdout.write(`${JSON.stringify({ groups }, null, 2)}\n`);
    return EXIT.ok;
  }
  if (groups.length === 0) {
    process.stdout.write('no DPDK process groups on this machine (no runtime directory, no hugepage file)\n');
    return EXIT.ok;
  }
  const rows = groups.map((g) => [
    g.prefix,
    g.primaryPid !== null ? `pid ${g.primaryPid} alive` : g.primaryAlive ? 'alive (pid not shown here)' : 'dead',
    String(g.liveSecondaries.length),
    `${g.hugepageFiles} (${bytes(g.hugepageBytes)})`,
    g.runtimeDir ?? '-',
  ]);
  process.stdout.write(`${table(['PREFIX', 'PRIMARY', 'SECONDARIES', 'HUGEPAGE FILES', 'RUNTIME DIR'], rows, '')}\n`);
  if (groups.some((g) => !g.primaryAlive)) {
    process.stdout.write('\ngroups whose primary is dead left files behind: dpdk-mp clean --all-dead\n');
  }
  return EXIT.ok;
}

export interface ProcessInfo {
  pid: number;
  role: 'primary' | 'secondary';
  argv: string[];
  lcores: number[];
  mainLcore: number;
  /** 'argv': from its EAL options; 'default': it gave none, so EAL made one lcore per CPU. */
  lcoresFrom: 'argv' | 'default';
}

/**
 * A process of the group and the lcores it runs as, read from the EAL
 * arguments it gave: for the primary, the ones it reports over telemetry
 * (/eal/params: what it passed to rte_eal_init, which a program such as the
 * demo builds itself); otherwise its command line.
 */
function processInfo(pid: number, role: ProcessInfo['role'], ealArgv?: readonly string[]): ProcessInfo {
  const argv = processArgv(pid);
  const parsed = lcoreIdsFromArgv(ealArgv ?? argv);
  if (parsed !== null) return { pid, role, argv, lcores: parsed.ids, mainLcore: parsed.main, lcoresFrom: 'argv' };
  const all = Array.from({ length: os.availableParallelism() }, (_, i) => i);
  return { pid, role, argv, lcores: all, mainLcore: 0, lcoresFrom: 'default' };
}

/** The primary's EAL arguments, or undefined when it serves no telemetry (--no-telemetry). */
function primaryEalArgs(prefix: string): string[] | undefined {
  try {
    const params = queryTelemetry(prefix, '/eal/params');
    return Array.isArray(params) ? params.map(String) : undefined;
  } catch (e) {
    if (hasCode(e, 'ENOENT', 'ECONNREFUSED')) return undefined;
    throw e;
  }
}

export interface PortStatus {
  id: number;
  name: string;
  mac: string;
  link: { up: boolean; speedMbps: number };
  rxPps: number;
  txPps: number;
  rxBps: number;
  txBps: number;
  stats: PortStats;
}

function portRates(before: PortStats, after: PortStats, seconds: number): Pick<PortStatus, 'rxPps' | 'txPps' | 'rxBps' | 'txBps'> {
  const per = (a: number, b: number): number => Math.max(0, b - a) / seconds;
  return {
    rxPps: per(before.ipackets, after.ipackets),
    txPps: per(before.opackets, after.opackets),
    rxBps: per(before.ibytes, after.ibytes) * 8,
    txBps: per(before.obytes, after.obytes) * 8,
  };
}

/** An lcore id no process of the group names, from the top (apps lease from the bottom). */
function freeLcore(procs: readonly ProcessInfo[]): number {
  const used = new Set(procs.flatMap((p) => p.lcores));
  for (let id = MAX_LCORE - 1; id >= 0; id--) if (!used.has(id)) return id;
  throw dpdkError('EBUSY', 'dpdk-mp', 'every lcore id (0-127) is used by this group; dpdk-mp has none left to attach with');
}

async function inspect(prefix: string, intervalMs: number): Promise<GroupStatus> {
  const state = describePrefix(prefix);
  if (!state.primaryAlive) {
    const others = listPrefixes().filter((p) => p !== prefix && describePrefix(p).primaryAlive);
    const left = state.runtimeDir !== null || state.hugepageFiles.length > 0;
    throw dpdkError(
      'ESRCH',
      'dpdk-mp',
      `no primary process runs with --file-prefix=${prefix}` +
        (left ? `; a dead one left files behind (remove them: dpdk-mp clean --file-prefix ${prefix})` : '') +
        (others.length > 0 ? `; running groups: ${others.join(', ')}` : '; no group is running (dpdk-mp status lists them)'),
    );
  }
  if (state.primaryPid === null) {
    throw dpdkError(
      'ENOTSUP',
      'dpdk-mp',
      `the primary of --file-prefix=${prefix} runs, but its pid is not visible here (another pid namespace) or it keeps no shared config (--in-memory): inspect it from its own namespace`,
    );
  }
  const primary = processInfo(state.primaryPid, 'primary', primaryEalArgs(prefix));
  const secondaries = state.secondaries.filter((s) => s.alive).map((s) => processInfo(s.pid, 'secondary'));
  const lcore = freeLcore([primary, ...secondaries]);
  try {
    initEal({
      processType: 'secondary',
      filePrefix: prefix,
      lcores: `${lcore}@(0-${os.availableParallelism() - 1})`,
      noPci: true,
      logLevel: 'error',
    });
  } catch (e) {
    throw dpdkError(
      hasCode(e) ? e.code : 'EINVAL',
      'dpdk-mp',
      `cannot attach to --file-prefix=${prefix}: ${(e as Error).message}. ` +
        'A primary that is not a Node process should be started with --base-virtaddr=0x600000000000, where a Node secondary can map its memory',
    );
  }
  try {
    const list = ports();
    const before = list.map((p) => openPort(p.id).stats());
    const started = process.hrtime.bigint();
    await sleep(intervalMs);
    const after = list.map((p) => openPort(p.id).stats());
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const portStatus = list.map((p, i): PortStatus => {
      const link = openPort(p.id).link();
      const a = after[i] as PortStats;
      return { ...p, link: { up: link.up, speedMbps: link.speedMbps }, ...portRates(before[i] as PortStats, a, seconds), stats: a };
    });
    const leases = findLcoreAllocators().flatMap((alloc) =>
      alloc.leases().map((l) => ({ allocator: alloc.name, id: l.id, ownerPid: l.ownerPid, alive: l.alive, role: l.role, since: l.since })),
    );
    return {
      prefix,
      dpdkVersion: dpdkVersion(),
      sampledMs: Math.round(seconds * 1000),
      primary: { ...primary, alive: true },
      secondaries,
      lcores: lcoreUse([primary, ...secondaries]),
      leases,
      ports: portStatus,
      rings: walkRings(),
      pools: walkMempools(),
      memzones: walkMemzones().sort((a, b) => a.name.localeCompare(b.name)),
      hugepageFiles: state.hugepageFiles.length,
      hugepageBytes: state.hugepageFiles.reduce((n, f) => n + f.bytes, 0),
    };
  } finally {
    cleanup();
  }
}

function lcoreUse(procs: readonly ProcessInfo[]): Array<{ id: number; pids: number[] }> {
  const byId = new Map<number, number[]>();
  for (const p of procs) for (const id of p.lcores) byId.set(id, [...(byId.get(id) ?? []), p.pid]);
  return [...byId.entries()].sort((a, b) => a[0] - b[0]).map(([id, pids]) => ({ id, pids }));
}

export type GroupStatus = {
  prefix: string;
  dpdkVersion: string;
  sampledMs: number;
  primary: ProcessInfo & { alive: true };
  secondaries: ProcessInfo[];
  lcores: Array<{ id: number; pids: number[] }>;
  leases: Array<{ allocator: string; id: number; ownerPid: number; alive: boolean; role: string; since: number | null }>;
  ports: PortStatus[];
  rings: ReturnType<typeof walkRings>;
  pools: ReturnType<typeof walkMempools>;
  memzones: ReturnType<typeof walkMemzones>;
  hugepageFiles: number;
  hugepageBytes: number;
};

/** A command line as one short string: node's own path and the script's directories add nothing. */
function shortCommand(argv: readonly string[]): string {
  const words = argv.map((a, i) => (i <= 1 && a.includes('/') ? a.slice(a.lastIndexOf('/') + 1) : a));
  const text = words.join(' ');
  return text.length > 90 ? `${text.slice(0, 87)}...` : text;
}

function lcoreText(p: ProcessInfo): string {
  const ids = p.lcores.join(',');
  return p.lcoresFrom === 'default' ? `${ids} (default: one per CPU)` : p.lcores.length > 1 ? `${ids} (main ${p.mainLcore})` : ids;
}

export function renderStatus(s: GroupStatus): string {
  const out: string[] = [];
  out.push(`group --file-prefix=${s.prefix}: ${s.dpdkVersion}, rates over ${(s.sampledMs / 1000).toFixed(1)} s, ${s.hugepageFiles} hugepage files (${bytes(s.hugepageBytes)})`);
  out.push('', 'PROCESSES');
  const procs = [s.primary, ...s.secondaries];
  out.push(table(['PID', 'ROLE', 'LCORES', 'COMMAND'], procs.map((p) => [String(p.pid), p.role === 'primary' ? 'primary (alive)' : 'secondary', lcoreText(p), shortCommand(p.argv)])));
  for (const l of s.lcores.filter((x) => x.pids.length > 1)) {
    out.push(`  note: lcore ${l.id} is named by pids ${l.pids.join(', ')}: safe only while at most one of them takes from or returns to a pool (idle EAL worker threads and warm standbys do not)`);
  }
  out.push('', 'LCORE LEASES');
  out.push(
    s.leases.length === 0
      ? '  none (no @mp/lcore-alloc allocator in this group, or no lease held)'
      : table(['ALLOCATOR', 'LCORE', 'OWNER', 'SINCE'], s.leases.map((l) => [l.allocator, String(l.id), `pid ${l.ownerPid} ${l.alive ? 'alive' : 'dead'}`, l.since === null ? '-' : new Date(l.since).toISOString()])),
  );
  out.push('', 'PORTS');
  out.push(
    s.ports.length === 0
      ? '  none'
      : table(
          ['ID', 'NAME', 'MAC', 'LINK', 'RX PPS', 'TX PPS', 'RX PACKETS', 'TX PACKETS', 'MISSED', 'ERRORS', 'NO MBUF'],
          s.ports.map((p) => [
            String(p.id),
            p.name,
            p.mac,
            p.link.up ? `up ${p.link.speedMbps} Mbps` : 'down',
            rate(p.rxPps),
            rate(p.txPps),
            String(p.stats.ipackets),
            String(p.stats.opackets),
            String(p.stats.imissed),
            String(p.stats.ierrors + p.stats.oerrors),
            String(p.stats.rxNoMbuf),
          ]),
        ),
  );
  out.push('', 'RINGS');
  out.push(
    s.rings.length === 0
      ? '  none'
      : table(['NAME', 'SIZE', 'COUNT', 'FREE', 'FILL'], s.rings.map((r) => [r.name, String(r.size), String(r.count), String(r.freeCount), `${Math.round((100 * r.count) / Math.max(1, r.capacity))}%`])),
  );
  out.push('', 'POOLS');
  out.push(
    s.pools.length === 0
      ? '  none'
      : table(['NAME', 'SIZE', 'IN USE', 'AVAILABLE', 'CACHE', 'ELEMENT', 'DRIVER'], s.pools.map((p) => [p.name, String(p.size), String(p.inUse), String(p.available), String(p.cacheSize), bytes(p.eltSize), p.ops])),
  );
  out.push('', 'MEMZONES');
  out.push(table(['NAME', 'LENGTH', 'SOCKET'], s.memzones.map((m) => [m.name, bytes(m.length), String(m.socket)])));
  return `${out.join('\n')}\n`;
}

export const command: Command<Options> = {
  options: { 'file-prefix': { type: 'string' }, json: { type: 'boolean' }, interval: { type: 'string' } },
  schema,
  async run(o) {
    const prefix = o.filePrefix;
    if (prefix === undefined) return listAll(o.json);
    const s = await inspect(prefix, o.interval);
    process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : renderStatus(s));
    return EXIT.ok;
  },
};
