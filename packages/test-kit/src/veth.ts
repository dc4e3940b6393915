/**
 * Live interfaces for tests of net_pcap ports (which work from secondaries
 * over live interfaces, where pcap files break): veth pairs, and known frames
 * sent into them and captured out of them by tools/traffic.py (AF_PACKET;
 * Node has no raw sockets). Root needed.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startProcess } from './index';

const TRAFFIC = path.join(__dirname, '..', 'tools', 'traffic.py');

/**
 * veth pairs for `ports` net_pcap ports with one TX interface per queue (TX
 * queue q of port p writes to `tx(p, q)`), so each queue's output is seen
 * apart. Traffic goes in at the `inject(p)` peers and is captured at the
 * `captureAt(p, q)` peers. IPv6 is off so the kernel sends nothing of its own.
 * Interface names are `<prefix><tag>...`: at most 15 characters in all.
 */
export class Veths {
  readonly names: string[] = [];

  constructor(
    readonly prefix: string,
    readonly tag: string,
    readonly ports: number,
    readonly queues: number,
  ) {}

  rx(p: number): string {
    return `${this.prefix}${this.tag}${p}r`;
  }
  inject(p: number): string {
    return `${this.rx(p)}p`;
  }
  tx(p: number, q: number): string {
    return `${this.prefix}${this.tag}${p}t${q}`;
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

/** A short tag unique to this test process, for interface names. */
export function vethTag(n: number): string {
  return `${(process.pid % 1296).toString(36).padStart(2, '0')}${n.toString(36)}`;
}

/**
 * Frame lengths: frame seq is `lengths[seq % lengths.length]` bytes long;
 * without them, 60 + (seq * 37) % 941. With `flows`, frames are UDP over
 * IPv4 and frame seq belongs to flow seq % flows (see traffic.py).
 */
export interface FrameOptions {
  lengths?: readonly number[];
  flows?: number;
}

/**
 * Sends `count` known frames into each port's injection interface (frames of
 * port p carry tag p) while capturing what comes out of every TX interface
 * (closed loop: a few frames in flight at a time; see traffic.py exchange).
 * Returns the capture per interface.
 */
export async function exchange(veths: Veths, count: number, opts: FrameOptions = {}): Promise<Capture> {
  const inputs = Array.from({ length: veths.ports }, (_, p) => `${veths.inject(p)}:${p}`);
  const outputs: string[] = [];
  for (let p = 0; p < veths.ports; p++) for (let q = 0; q < veths.queues; q++) outputs.push(veths.captureAt(p, q));
  const lengths = opts.lengths === undefined ? [] : ['--lengths', opts.lengths.join(',')];
  const flows = opts.flows === undefined ? [] : ['--flows', String(opts.flows)];
  const proc = startProcess('exchange', 'python3', [TRAFFIC, 'exchange', String(count), '--in', ...inputs, '--out', ...outputs, ...lengths, ...flows]);
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

  /** Frames sent on TX queue q, from any port, port by port. */
  ofQueue(q: number): string[] {
    return Array.from({ length: this.veths.ports }, (_, p) => this.got[this.veths.captureAt(p, q)] ?? []).flat();
  }
}

/** Where traffic.py's marker ("MPTS", tag, seq) sits: after the UDP header in flow frames. */
const markerAt = (opts: FrameOptions): number => ((opts.flows ?? 0) > 0 ? 42 : 14);

/** The frames traffic.py sends with tag `tag`, as hex, to compare byte for byte. */
export function expectedFrames(tag: number, count: number, opts: FrameOptions = {}): string[] {
  const lengths = opts.lengths ?? [];
  const flows = opts.flows ?? 0;
  const out: string[] = [];
  for (let seq = 0; seq < count; seq++) {
    const length = lengths.length > 0 ? (lengths[seq % lengths.length] as number) : 60 + ((seq * 37) % 941);
    const f = Buffer.alloc(length);
    Buffer.from([0x02, 0, 0, 0, 0xaa, tag, 0x02, 0, 0, 0, 0xbb, tag]).copy(f, 0);
    if (flows > 0) {
      const flow = seq % flows;
      f.writeUInt16BE(0x0800, 12);
      Buffer.from([0x45, 0]).copy(f, 14);
      f.writeUInt16BE(length - 14, 16);
      f.writeUInt16BE(0x4000, 20);
      Buffer.from([64, 17]).copy(f, 22);
      Buffer.from([10, tag, flow >> 8, flow & 0xff, 10, 99, 0, 1]).copy(f, 26);
      f.writeUInt16BE(1024 + flow, 34);
      f.writeUInt16BE(4789, 36);
      f.writeUInt16BE(length - 34, 38);
    } else {
      f.writeUInt16BE(0x88b5, 12);
    }
    const at = markerAt(opts);
    f.write('MPTS', at, 'latin1');
    f[at + 4] = tag;
    f.writeUInt32BE(seq, at + 5);
    for (let i = at + 9; i < length; i++) f[i] = (seq + i - at - 9) & 0xff;
    out.push(f.toString('hex'));
  }
  return out;
}

/** The sequence number traffic.py wrote into a frame (hex). */
export function frameSeq(hex: string, opts: FrameOptions = {}): number {
  return Buffer.from(hex, 'hex').readUInt32BE(markerAt(opts) + 5);
}

/** The flow of a flow frame (hex): its source address's last two bytes. */
export function frameFlow(hex: string): number {
  return Buffer.from(hex, 'hex').readUInt16BE(28);
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
  for (const [f, n] of left) for (let i = 0; i < n; i++) missingSeqs.push(frameSeq(f));
  return { missing: missingSeqs.length, extra, missingSeqs: missingSeqs.sort((a, b) => a - b).slice(0, 20) };
}
