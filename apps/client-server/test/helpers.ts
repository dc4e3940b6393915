/**
 * Test plumbing for the client-server suites: real processes (the TS bins and
 * the C sample built from dpdk-doc), veth pairs under net_pcap, and the
 * AF_PACKET traffic tool. Every process is a test-kit Fixture (tracked by
 * PID, checked by assertCleanTeardown); every veth is deleted.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { assertCleanTeardown, ealArgs, requireHugepages, startProcess, type Fixture } from '@mp/test-kit';

export const APP = path.join(__dirname, '..');
export const BIN = {
  server: path.join(APP, 'bin', 'mp-server'),
  client: path.join(APP, 'bin', 'mp-client'),
  cServer: path.join(APP, '.build', 'mp_server'),
  cClient: path.join(APP, '.build', 'mp_client'),
};
const TRAFFIC = path.join(APP, 'tools', 'traffic.py');
const TELEMETRY = path.join(APP, 'tools', 'telemetry.py');

export function tsServer(label: string, args: readonly string[]): Fixture {
  return startProcess(label, process.execPath, [BIN.server, ...args]);
}

export function tsClient(label: string, args: readonly string[]): Fixture {
  return startProcess(label, process.execPath, [BIN.client, ...args]);
}

/** The C binaries print with stdio: line-buffer it so their lines arrive as they are printed. */
export function cServer(label: string, args: readonly string[]): Fixture {
  return startProcess(label, 'stdbuf', ['-oL', BIN.cServer, ...args]);
}

export function cClient(label: string, args: readonly string[]): Fixture {
  return startProcess(label, 'stdbuf', ['-oL', BIN.cClient, ...args]);
}

/** Builds the C sample (idempotent), failing with the reason if it cannot. */
export function buildC(): void {
  execFileSync('bash', [path.join(APP, 'scripts', 'build-c.sh')], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** EAL args of a group member: the server's vdevs go to the server only. */
export function serverEal(prefix: string, vdevs: readonly string[], extra: readonly string[] = ['-l', '0']): string[] {
  return [...ealArgs(prefix), ...extra, ...vdevs.map((v) => `--vdev=${v}`)];
}

export function clientEal(prefix: string, lcore: number, cpu = 1): string[] {
  return [`--file-prefix=${prefix}`, '--no-pci', '--log-level=warning', `--lcores=${lcore}@${cpu}`, '--proc-type=secondary'];
}

export interface StatsLine {
  ports: Array<{ id: number; mac: string; rx: number; tx: number; txDrop: number }>;
  clients: Array<{ id: number; rx: number; rxDrop: number; tx: number; txDrop: number }>;
}

/** The latest `stats {...}` line a TS server printed after line `from`, waiting for one if needed. */
export async function nextStats(server: Fixture, timeoutMs = 10_000): Promise<StatsLine> {
  const m = await server.waitForLine(/^stats (.*)$/, timeoutMs, { from: server.stdoutLines.length });
  return JSON.parse(m[1] as string) as StatsLine;
}

/** Waits until `check` holds for a stats line of the server. */
export async function statsUntil(server: Fixture, check: (s: StatsLine) => boolean, timeoutMs = 15_000): Promise<StatsLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await nextStats(server, Math.max(1, deadline - Date.now()));
    if (check(s)) return s;
    if (Date.now() > deadline) throw new Error(`stats never satisfied the check; last: ${JSON.stringify(s)}`);
  }
}

/**
 * veth pairs for two net_pcap ports with one TX interface per client (TX
 * queue q of port p writes to `<p>t<q>`), so each client's output is seen
 * apart. Traffic goes in at the `rp` peers and is captured at the `t<q>p`
 * peers. IPv6 is off so the kernel sends nothing of its own.
 */
export class Veths {
  readonly names: string[] = [];

  constructor(
    readonly tag: string,
    readonly ports: number,
    readonly queues: number,
  ) {}

  rx(p: number): string {
    return `cs${this.tag}${p}r`;
  }
  inject(p: number): string {
    return `${this.rx(p)}p`;
  }
  tx(p: number, q: number): string {
    return `cs${this.tag}${p}t${q}`;
  }
  captureAt(p: number, q: number): string {
    return `${this.tx(p, q)}p`;
  }

  create(): void {
    for (let p = 0; p < this.ports; p++) {
      this.pair(this.rx(p), this.inject(p));
      for (let q = 0; q < this.queues; q++) this.pair(this.tx(p, q), this.captureAt(p, q));
    }
  }

  private pair(a: string, b: string): void {
    execFileSync('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    this.names.push(a);
    for (const i of [a, b]) {
      execFileSync('sysctl', ['-qw', `net.ipv6.conf.${i}.disable_ipv6=1`]);
      execFileSync('ip', ['link', 'set', i, 'up']);
    }
  }

  /** net_pcap vdev strings, one per port. */
  vdevs(): string[] {
    const out: string[] = [];
    for (let p = 0; p < this.ports; p++) {
      const tx = Array.from({ length: this.queues }, (_, q) => `tx_iface=${this.tx(p, q)}`).join(',');
      out.push(`net_pcap${p},rx_iface=${this.rx(p)},${tx}`);
    }
    return out;
  }

  destroy(): void {
    for (const n of this.names.splice(0)) {
      try {
        execFileSync('ip', ['link', 'del', n], { stdio: 'ignore' });
      } catch {
        // already gone (deleting one end of a veth deletes both)
      }
    }
  }
}

/** A short tag unique to this test process, for interface names (at most 15 characters in all). */
export function vethTag(n: number): string {
  return `${(process.pid % 1296).toString(36).padStart(2, '0')}${n.toString(36)}`;
}

/**
 * Sends `count` known frames into each port's injection interface while
 * capturing what comes out of every TX interface (closed loop: a few frames
 * in flight at a time; see traffic.py exchange). Returns the capture per
 * interface.
 */
export async function exchange(veths: Veths, count: number): Promise<Capture> {
  const inputs = Array.from({ length: veths.ports }, (_, p) => `${veths.inject(p)}:${p}`);
  const outputs: string[] = [];
  for (let p = 0; p < veths.ports; p++) for (let q = 0; q < veths.queues; q++) outputs.push(veths.captureAt(p, q));
  const proc = startProcess('exchange', 'python3', [TRAFFIC, 'exchange', String(count), '--in', ...inputs, '--out', ...outputs]);
  const status = await proc.waitForExit(120_000);
  const line = proc.stdoutLines.find((l) => l.startsWith('{'));
  if (status.code !== 0 || line === undefined) throw new Error(`traffic exchange failed: ${proc.describe()}`);
  return new Capture(veths, JSON.parse(line) as Record<string, string[]>);
}

/** What an exchange captured, by TX interface (port p, queue q). */
export class Capture {
  constructor(
    private readonly veths: Veths,
    private readonly got: Record<string, string[]>,
  ) {}

  /** Frames that left port p, on any queue, queue by queue. */
  outOf(p: number): string[] {
    return Array.from({ length: this.veths.queues }, (_, q) => this.got[this.veths.captureAt(p, q)] ?? []).flat();
  }

  /** Frames sent on TX queue q (by client q), from any port, port by port. */
  ofQueue(q: number): string[] {
    return Array.from({ length: this.veths.ports }, (_, p) => this.got[this.veths.captureAt(p, q)] ?? []).flat();
  }
}

/**
 * The veth pairs of a suite (2 ports x 2 queues): created before its tests
 * (after `setup`), deleted after its teardown check.
 */
export function suiteVeths(n: number, setup: () => void = () => undefined): Veths {
  const veths = new Veths(vethTag(n), 2, 2);
  beforeAll(() => {
    requireHugepages();
    setup();
    veths.create();
  });
  afterAll(async () => {
    try {
      await assertCleanTeardown();
    } finally {
      veths.destroy();
    }
  });
  return veths;
}

/** Asks the primary of `prefix` a telemetry command, as dpdk-telemetry.py would. */
export function telemetry(prefix: string, command: string): Record<string, unknown> {
  const out = execFileSync('python3', [TELEMETRY, path.join('/var/run/dpdk', prefix, 'dpdk_telemetry.v2'), command], { encoding: 'utf8' });
  return (JSON.parse(out.trim()) as Record<string, Record<string, unknown>>)[command] ?? {};
}

/** The frames traffic.py sends, as hex, to compare byte for byte. */
export function expectedFrames(tag: number, count: number): string[] {
  const out: string[] = [];
  for (let seq = 0; seq < count; seq++) {
    const head = Buffer.concat([
      Buffer.from([0x02, 0, 0, 0, 0xaa, tag, 0x02, 0, 0, 0, 0xbb, tag, 0x88, 0xb5]),
      Buffer.from('MPTS'),
      Buffer.from([tag]),
      (() => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(seq);
        return b;
      })(),
    ]);
    const length = 60 + ((seq * 37) % 941);
    const body = Buffer.alloc(length - head.length);
    for (let i = 0; i < body.length; i++) body[i] = (seq + i) & 0xff;
    out.push(Buffer.concat([head, body]).toString('hex'));
  }
  return out;
}

/** What a multiset comparison found: frames expected but not seen, and seen but not expected (short, for failures). */
export function frameDiff(got: readonly string[], want: readonly string[]): { missing: number; extra: number; missingSeqs: number[] } {
  const left = new Map<string, number>();
  for (const f of want) left.set(f, (left.get(f) ?? 0) + 1);
  let extra = 0;
  for (const f of got) {
    const n = left.get(f) ?? 0;
    if (n === 0) extra++;
    else left.set(f, n - 1);
  }
  const missingSeqs: number[] = [];
  for (const [f, n] of left) for (let i = 0; i < n; i++) missingSeqs.push(Buffer.from(f, 'hex').readUInt32BE(19));
  return { missing: missingSeqs.length, extra, missingSeqs: missingSeqs.sort((a, b) => a - b).slice(0, 20) };
}

/** A TS client's tx counter, from the next `stats {json}` line it prints (it needs --stats-interval). */
export async function clientTx(client: Fixture): Promise<number> {
  const m = await client.waitForLine(/^stats (.*)$/, 10_000, { from: client.stdoutLines.length });
  return (JSON.parse(m[1] as string) as { tx: number }).tx;
}

/** Waits until the client's tx counter moves: it is forwarding. */
export async function forwarding(client: Fixture, timeoutMs = 15_000): Promise<void> {
  const first = await clientTx(client);
  const deadline = Date.now() + timeoutMs;
  while ((await clientTx(client)) <= first) {
    if (Date.now() > deadline) throw new Error(`${client.label} did not forward for ${timeoutMs} ms (tx stuck at ${first})`);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
