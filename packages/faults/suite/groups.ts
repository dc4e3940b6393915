/**
 * The apps as the suite runs them: their built programs as real processes
 * (test-kit Fixtures: tracked by PID, each group on its own --file-prefix,
 * --no-pci, small memory), with the failpoint preload in their environment,
 * and what they print read back: stats lines, deaths, audits, events.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PacketVectorFailpoint } from '@mp/dpdk-core';
import { ealArgs, startProcess, uniquePrefix, type Fixture } from '@mp/test-kit';
import { sleep, until } from './fault';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const BIN = {
  server: path.join(ROOT, 'apps', 'client-server', 'bin', 'mp-server'),
  client: path.join(ROOT, 'apps', 'client-server', 'bin', 'mp-client'),
  l2fwd: path.join(ROOT, 'apps', 'master-slave', 'bin', 'mp-l2fwd'),
  dpdkMp: path.join(ROOT, 'apps', 'dpdk-mp', 'bin', 'dpdk-mp'),
};
export const NULL_PORTS = ['net_null0', 'net_null1'];

/** Where the suite writes `<pid>` = a failpoint name for failpoints.cjs to arm. */
const armDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-faults-arm-'));
process.on('exit', () => fs.rmSync(armDir, { recursive: true, force: true }));
const appEnv = { NODE_OPTIONS: `--require ${path.join(__dirname, 'failpoints.cjs')}`, MP_FAULTS_ARM_DIR: armDir };

/** Makes process `pid` SIGKILL itself at `failpoint` of its packet vectors. */
export function armFailpoint(pid: number, failpoint: PacketVectorFailpoint): void {
  // Written aside and renamed into place: failpoints.cjs polls for the file,
  // and a poll between writeFileSync's truncate and its write read an empty
  // name, armed nothing and stopped polling (a slave that never died, about
  // one arming in 700 beside two CPU hogs).
  const file = path.join(armDir, String(pid));
  fs.writeFileSync(`${file}.tmp`, failpoint);
  fs.renameSync(`${file}.tmp`, file);
}

export function node(label: string, bin: string, args: readonly string[]): Fixture {
  return startProcess(label, process.execPath, [bin, ...args], { env: appEnv });
}

/** The JSON of the last line `tag {...}` a process printed (undefined if none). */
export function lastJson<T>(f: Fixture, tag: string): T | undefined {
  for (let i = f.stdoutLines.length - 1; i >= 0; i--) {
    const l = f.stdoutLines[i] as string;
    if (l.startsWith(`${tag} {`)) return JSON.parse(l.slice(tag.length + 1)) as T;
  }
  return undefined;
}

export interface ServerStats {
  ports: Array<{ id: number; rx: number; tx: number; txDrop: number }>;
  clients: Array<{ id: number; rx: number; rxDrop: number; tx: number; txDrop: number }>;
  queued: number[];
  poolAvailable: number;
  device: Array<{ id: number; rxNoMbuf: number }>;
}

export interface PoolAudit {
  size: number;
  twice: number;
  lost: number;
}

/** How a client-server group ended: exit codes, the server's last counters and its pool audit. */
export interface CsEnd {
  codes: Array<number | null>;
  stats: ServerStats | undefined;
  audit: PoolAudit | undefined;
  /** Packets the ports received that no counter accounts for (sent, dropped, or still queued). */
  unaccounted: number | null;
  /** The last stderr line of each process that exited with an error. */
  errors: string[];
}

/** mp-server with `clients` client slots on `vdevs`, and its clients as the suite starts them (client id i on lcore 2+i). */
export class CsGroup {
  readonly prefix: string;
  readonly server: Fixture;
  readonly clients = new Map<number, Fixture>();

  constructor(tag: string, opts: { clients?: number; vdevs?: readonly string[]; app?: readonly string[]; prefix?: string } = {}) {
    this.prefix = opts.prefix ?? uniquePrefix(tag);
    const vdevs = (opts.vdevs ?? NULL_PORTS).map((v) => `--vdev=${v}`);
    const app = ['-p', '3', '-n', String(opts.clients ?? 2), '--stats-interval', '0.2', '--stats-format', 'json', ...(opts.app ?? [])];
    this.server = node('mp-server', BIN.server, [...ealArgs(this.prefix, ['-l', '0', ...vdevs]), '--', ...app]);
  }

  /** Waits for the server to finish its init (generous: other groups may be busy beside it); kills it if it never does. */
  async ready(): Promise<void> {
    try {
      await this.server.waitForLine(/Finished Process Init/, 60_000);
    } catch (e) {
      this.server.kill('SIGKILL');
      await this.server.exited;
      throw e;
    }
  }

  clientEal(lcore: number): string[] {
    return [`--file-prefix=${this.prefix}`, '--no-pci', '--log-level=warning', `--lcores=${lcore}@1`, '--proc-type=secondary'];
  }

  startClient(id: number, extra: readonly string[] = []): Fixture {
    const c = node(`mp-client ${id}`, BIN.client, [...this.clientEal(2 + id), '--', '-n', String(id), '--stats-interval', '0.1', ...extra]);
    this.clients.set(id, c);
    return c;
  }

  /** Whether client `id`'s tx counter moves within `timeoutMs` (it prints `stats {"tx":...}` every 0.1 s). */
  async forwarding(id: number, timeoutMs = 20_000): Promise<boolean> {
    const c = this.clients.get(id);
    if (!c) return false;
    const tx = (): number | undefined => lastJson<{ tx: number }>(c, 'stats')?.tx;
    const first = await until(() => (c.exitStatus === undefined ? tx() : false), timeoutMs);
    if (first === undefined) return false;
    return (await until(() => c.exitStatus === undefined && (tx() ?? 0) > first, timeoutMs)) === true;
  }

  /** The server's lines about dead clients: `client N (pid P, lcore L) died; pool repair: ...`. */
  deaths(): string[] {
    return this.server.stdoutLines.filter((l) => /^client \d+ \(pid \d+, lcore \d+\) died; /.test(l));
  }

  /** Waits for the server's repair line about `pid`; returns it (undefined on timeout). */
  async repaired(pid: number, timeoutMs = 10_000): Promise<string | undefined> {
    return until(() => this.deaths().find((l) => l.includes(`(pid ${pid},`)), timeoutMs);
  }

  /** Stops the group as an operator would (SIGINT to the server, which stops its clients) and reads its last words. */
  async stop(): Promise<CsEnd> {
    this.server.kill('SIGINT');
    const procs = [this.server, ...this.clients.values()];
    const codes = (await Promise.all(procs.map((p) => p.waitForExit(30_000).catch(() => p.exitStatus)))).map((s) => s?.code ?? null);
    const stats = lastJson<ServerStats>(this.server, 'stats');
    const m = this.server.stdoutLines.map((l) => /^pool audit: (\d+) buffers, (\d+) listed twice, (\d+) lost with killed clients$/.exec(l)).find((x) => x);
    const audit = m ? { size: Number(m[1]), twice: Number(m[2]), lost: Number(m[3]) } : undefined;
    let unaccounted: number | null = null;
    if (stats) {
      const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
      const rx = sum(stats.ports.map((p) => p.rx));
      const out = sum(stats.clients.map((c) => c.tx + c.txDrop + c.rxDrop));
      unaccounted = rx - out - sum(stats.queued);
    }
    const errors = procs
      .filter((p) => (p.exitStatus?.code ?? 0) !== 0)
      .map((p) => `${p.label}: ${p.stderrLines.filter((l) => l.trim() !== '').at(-1) ?? `exit ${p.exitStatus?.code}`}`);
    return { codes, stats, audit, unaccounted, errors };
  }
}

export type Ev = Record<string, unknown> & { event: string; name?: string };

export interface MsEnd {
  code: number | null;
  shutdown: Ev | undefined;
  audits: Array<{ pool: string; size: number; duplicates: number; lost: number }>;
  unaccounted: number | null;
}

/** mp-l2fwd --json (the master; it starts its slaves and their warm standbys itself). */
export class MsGroup {
  readonly prefix: string;
  readonly master: Fixture;

  constructor(tag: string, opts: { eal?: readonly string[]; app?: readonly string[]; prefix?: string } = {}) {
    this.prefix = opts.prefix ?? uniquePrefix(tag);
    const eal = opts.eal ?? ['-l', '0', ...NULL_PORTS.map((v) => `--vdev=${v}`)];
    const app = opts.app ?? ['-p', '3', '-q', '1', '-T', '1', '--float'];
    this.master = node('mp-l2fwd', BIN.l2fwd, [...ealArgs(this.prefix, [...eal]), '--', ...app, '--json']);
  }

  events(): Ev[] {
    return this.master.stdoutLines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Ev);
  }

  count(pred: (e: Ev) => boolean): number {
    return this.events().filter(pred).length;
  }

  /** The nth event matching `pred` (undefined on timeout or if the master exits). */
  async event(pred: (e: Ev) => boolean, nth = 1, timeoutMs = 30_000): Promise<Ev | undefined> {
    return until(() => (this.master.exitStatus !== undefined ? undefined : this.events().filter(pred)[nth - 1]), timeoutMs);
  }

  async ready(): Promise<Ev | undefined> {
    return this.event(is('started'), 1, 60_000);
  }

  /** The pid of the slave now running as `name`. */
  pidOf(name: string): number {
    const ready = this.events().filter(is('ready', name));
    return (ready[ready.length - 1]?.pid as number | undefined) ?? 0;
  }

  /** Whether the port counters of the latest stats event show tx moving within `timeoutMs`. */
  async forwarding(timeoutMs = 20_000): Promise<boolean> {
    const tx = (e: Ev | undefined): number => (e?.total as { tx?: number } | undefined)?.tx ?? -1;
    const n = this.count(is('stats'));
    const first = await this.event(is('stats'), n + 1, timeoutMs);
    if (!first) return false;
    return (await this.event((e) => e.event === 'stats' && tx(e) > tx(first), 1, timeoutMs)) !== undefined;
  }

  async stop(): Promise<MsEnd> {
    this.master.kill('SIGINT');
    const status = await this.master.waitForExit(60_000).catch(() => this.master.exitStatus);
    await sleep(0);
    const shutdown = this.events().find(is('shutdown'));
    const total = shutdown?.total as { rx: number; tx: number; dropped: number } | undefined;
    return {
      code: status?.code ?? null,
      shutdown,
      audits: (shutdown?.audits as MsEnd['audits'] | undefined) ?? [],
      unaccounted: total ? total.rx - total.tx - total.dropped : null,
    };
  }
}

export const is =
  (event: string, name?: string) =>
  (e: Ev): boolean =>
    e.event === event && (name === undefined || e.name === name);
