/**
 * `pnpm bench`: forwarded packets per second of the TypeScript processes
 * against DPDK's C client_server_mp on the same virtual devices, CPUs and
 * duration, configurations alternating round by round (order flipping).
 *
 * 1. The pair: server on CPU 0, one client on CPU 1, two net_null ports (an
 *    endless source and sink): C pair, TS pair and both mixed pairs.
 * 2. How the cost grows: 1, 2 and 4 clients (floating over the machine's
 *    CPUs) by 2 and 4 net_null ports, TS pair against C pair in each cell.
 * 3. `--distribute flow` against `rr`: TS pair, 2 clients, two net_pcap
 *    ports replaying a pcap of 1024 UDP flows forever (`infinite_rx`: each
 *    RX copies the next frame into the buffer, as a NIC writes what arrives)
 *    and dropping what they send into /dev/null, so the flow hash sees real
 *    headers that do not depend on which buffers the pool hands out (why
 *    not net_null: flowPorts).
 * 4. The flow handler alone: src/distribute.ts's flow hash over 512-packet
 *    vectors from net_null (flow-hash.ts) against the same handler in C over
 *    the same vectors (flow-hash.c), ns per packet; and the same TS handler
 *    with its reads unchecked (through unsafeMemory()).
 * 5. Allocation: the TS pair forwarding for 60 s after its first 10; heap in use and garbage
 *    collections of server and client from their JSON stats lines, printed
 *    every 10 s (so the printing itself barely counts).
 *
 * Every run of 1-3 is labelled with the placement of CPUs 0 and 1 around it
 * (cpuPlacement): on this VM a cache line's round trip between them takes
 * either 50-80 ns or 300-410 ns, for minutes or for seconds at a time, and
 * every pair, C's as much as TS's, forwards about 4 times slower in the far
 * placement.
 * A round whose runs did not all have one placement is run again, and the
 * ratios are given per placement.
 *
 * The one-CPU layout (server and client on CPU 0) runs the four pairs of 1
 * again, placement left out.
 *
 *   tsx bench/bench.ts [--rounds N] [--seconds S] [--only pair|one-cpu|scale|flow|handler|heap]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { median, removeLeftovers, udpFlowFrames, writePcap } from '@mp/test-kit';
import { FLOWS } from './flows';

const APP = path.join(__dirname, '..');
const TSX = require.resolve('tsx');
/**
 * tsx's in-thread require hook, for the timed TypeScript side: `--import tsx`
 * starts tsx's ESM hooks, which detach an ArrayBuffer (WebAssembly memory
 * growing) and so turn off V8's "no ArrayBuffer was ever detached" shortcut
 * for the whole process; every packet access then carries a detached check
 * (see @mp/dpdk-core's README, Speed). The apps run compiled JavaScript,
 * which keeps the shortcut.
 */
const TSX_CJS = require.resolve('tsx/cjs');

/** The parts, in the order they run (the functions are declared below). */
const PARTS: Record<string, () => Promise<void>> = {
  pair: pairBench,
  'one-cpu': oneCpuBench,
  scale: scaleBench,
  flow: flowBench,
  handler: handlerBench,
  heap: heapBench,
};
// pnpm run passes the `--` that separates its own options on to the script.
const argv = process.argv.slice(2);
const { values } = parseArgs({
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '5' }, only: { type: 'string' } },
});
function positive(name: string, text: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number, not '${text}'`);
  return v;
}
const ROUNDS = positive('rounds', values.rounds);
const SECONDS = positive('seconds', values.seconds);
const ONLY = values.only;
if (ONLY !== undefined && !(ONLY in PARTS)) throw new Error(`--only takes one of ${Object.keys(PARTS).join(', ')}, not '${ONLY}'`);
const WARMUP_MS = 1500;

type Lang = 'ts' | 'c';
interface Config {
  server: Lang;
  client: Lang;
  distribute?: 'rr' | 'flow';
}
/** Where a run's traffic comes from and how many clients take it. */
interface Cell {
  ports: string[];
  clients: number;
  /** --lcores of client i. */
  clientLcores: (i: number) => string;
  /** Working directory of every process of the run (where relative paths in `ports` point). */
  cwd?: string;
  /** Every process on CPU 0: where CPUs 0 and 1 are does not matter. */
  oneCpu?: boolean;
}

const name = (c: Config): string =>
  `${c.server.toUpperCase()} server + ${c.client.toUpperCase()} client${c.distribute === undefined ? '' : ` (--distribute ${c.distribute})`}`;
const nullPorts = (n: number): string[] => Array.from({ length: n }, (_, i) => `--vdev=net_null${i}`);
const pinnedClient = (i: number): string => `--lcores=${i + 1}@1`;
const floatingClient = (i: number): string => `--lcores=${i + 1}@(0-${os.cpus().length - 1})`;
const cpu0Client = (i: number): string => `--lcores=${i + 1}@0`;

/** The pcap of FLOWS UDP flows that flowPorts replays, by its name in `dir`. */
const FLOW_PCAP = 'flows';
/**
 * `n` net_pcap ports, each replaying `dir`/FLOW_PCAP forever on its RX queue
 * and dropping what each of `txQueues` TX queues sends into /dev/null (one
 * per client: TX queue = client id). The file is named relative to the
 * run's working directory (`Cell.cwd`) because net_pcap keeps only the
 * first 63 characters of its arguments for secondaries (ETH_PCAP_ARG_MAXLEN),
 * which re-open the files from them.
 *
 * Why not net_null with flows written into the pool's buffers: net_null
 * writes no bytes, so a frame's flow is fixed by the buffer it lands in.
 * What the server drops (a full ring) goes back on top of its lcore's pool
 * cache and is read again first, while what a ring took leaves. The buffers
 * the server keeps reading so become those whose flows hash to the client
 * whose ring is full: measured, 69-86 % of 128-packet vectors went whole to
 * one client, >= 99 % of packets to a ring with <= 1 free slot while the
 * other ring had >= 64 free, and the clients forwarded ~1 % of rr.
 */
function flowPorts(n: number, txQueues: number, dir: string): string[] {
  writePcap(path.join(dir, FLOW_PCAP), udpFlowFrames(FLOWS, 1).map((f) => new Uint8Array(f)));
  return Array.from({ length: n }, (_, i) => {
    const args = `rx_pcap=${FLOW_PCAP},${'tx_pcap=/dev/null,'.repeat(txQueues)}infinite_rx=1`;
    if (args.length > 63) throw new Error(`net_pcap keeps 63 characters of its arguments for secondaries; '${args}' has ${args.length}`);
    return `--vdev=net_pcap${i},${args}`;
  });
}

function launch(lang: Lang, role: 'server' | 'client', args: string[], cwd?: string): ChildProcess {
  const [cmd, argv] =
    lang === 'c'
      ? ['stdbuf', ['-oL', path.join(APP, '.build', role === 'server' ? 'mp_server' : 'mp_client'), ...args]]
      : [process.execPath, [path.join(APP, 'bin', role === 'server' ? 'mp-server' : 'mp-client'), ...args]];
  return spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
}

function waitOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output:\n${seen}`)), timeoutMs);
    const on = (chunk: Buffer): void => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${pattern}; output:\n${seen}`));
    });
  });
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

/** What one run forwarded. */
interface Rates {
  /** Forwarded packets per second: the median of the window's 250 ms slices (observe.ts). */
  pps: number;
  /** The slowest and the fastest slice. */
  sliceRange: [number, number];
  /** Packets the server received per second (forwarded + dropped because a client's ring was full): how far ahead of the clients the server runs. */
  rxPps: number;
  /** Forwarded packets per second of each client: a share that is not fair shows here. */
  clientPps: number[];
}

/** A run's rates, with where CPUs 0 and 1 were around it. */
interface Sample extends Rates {
  /**
   * Where CPUs 0 and 1 were around the run. 'changed': not the same before
   * and after, or (placementBound) the slices' rates more than SLICE_SPREAD
   * apart, a change and back inside the window, or the rates of the round's
   * runs that far apart (alternate).
   */
  placement: Placement | 'changed';
  /** The cache line's round trips between them before and after the run, ns. */
  roundTripNs: number[];
}

/** A compiled helper in .build/ (rebuilt every invocation: it takes a second). */
function compile(name: string, source: string, flags: string[]): string {
  const out = path.join(APP, '.build', name);
  execFileSync('gcc', ['-O3', '-march=native', '-o', out, path.join(__dirname, source), ...flags], { stdio: 'inherit' });
  return out;
}

/** 'one-cpu': a run whose processes all share CPU 0 (Cell.oneCpu). */
type Placement = 'near' | 'far' | 'one-cpu';
/**
 * A cache line's round trip between CPUs 0 and 1 (bench/cache-ping.c) above
 * this is the far placement: measured here 50-80 ns near, 300-410 ns far,
 * nothing between.
 */
const FAR_ROUND_TRIP_NS = 200;
let cachePing: string | undefined;
/** Where CPUs 0 and 1 are now, measured while nothing of the bench runs on them. */
function cpuPlacement(): { placement: Placement; roundTripNs: number } {
  cachePing ??= compile('cache-ping', 'cache-ping.c', ['-pthread']);
  const roundTripNs = Number(execFileSync(cachePing, ['0', '1'], { encoding: 'utf8' }).trim());
  return { placement: roundTripNs > FAR_ROUND_TRIP_NS ? 'far' : 'near', roundTripNs };
}

let runs = 0;
async function run(cell: Cell, config: Config): Promise<Rates> {
  runs += 1;
  const prefix = `mp-bench-${process.pid}-${runs}`;
  const common = [`--file-prefix=${prefix}`, '--no-pci', '--log-level=warning'];
  const mask = ((1 << cell.ports.length) - 1).toString(16);
  const server = launch(config.server, 'server', [
    ...common,
    '-l',
    '0',
    '-m',
    '256',
    '--base-virtaddr=0x600000000000',
    ...cell.ports,
    '--',
    '-p',
    mask,
    '-n',
    String(cell.clients),
    ...(config.server === 'ts' ? ['--stats-interval', '0'] : []),
    ...(config.distribute === undefined ? [] : ['--distribute', config.distribute]),
  ], cell.cwd);
  const clients: ChildProcess[] = [];
  try {
    await waitOutput(server, new RegExp(`Port ${cell.ports.length - 1} (init \\.\\.\\. done|Link up)`), 30_000);
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < cell.clients; i++) {
      const client = launch(config.client, 'client', [...common, '--proc-type=secondary', cell.clientLcores(i), '--', '-n', String(i)], cell.cwd);
      clients.push(client);
      await waitOutput(client, new RegExp(`Client process ${i} handling packets`), 30_000);
    }
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const observer = spawn(
      process.execPath,
      ['--import', TSX, path.join(__dirname, 'observe.ts'), ...common, '--proc-type=secondary', '--lcores=9@0', '--', String(SECONDS)],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: cell.cwd },
    );
    let out = '';
    observer.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => observer.on('exit', r));
    const line = out.split('\n').find((l) => l.startsWith('{'));
    if (line === undefined) throw new Error(`observer printed nothing: ${out}`);
    const o = JSON.parse(line) as { rxPps: number; clientTxPps: number[]; sliceTxPps: number[] };
    return { pps: median(o.sliceTxPps), sliceRange: [Math.min(...o.sliceTxPps), Math.max(...o.sliceTxPps)], rxPps: o.rxPps, clientPps: o.clientTxPps.slice(0, cell.clients) };
  } finally {
    for (const c of clients) await stop(c, 'SIGKILL');
    await stop(server, 'SIGINT');
    // The C server exits without rte_eal_cleanup, and the clients were SIGKILLed.
    removeLeftovers(prefix);
  }
}

/**
 * Rates further apart than this, of one run's slices or of one round's runs,
 * are taken for a change of placement: far forwards about 4 times slower.
 */
const SLICE_SPREAD = 2;

/**
 * Whether `cell` gives each process a CPU of its own on CPUs 0 and 1: only
 * then does a rate follow the placement alone (with more processes than
 * CPUs the scheduler spreads rates that far by itself).
 */
const placementBound = (cell: Cell): boolean => cell.oneCpu !== true && cell.clients + 1 <= os.cpus().length;

/** run(), between two measurements of the placement, its slices checked too. */
async function placedRun(cell: Cell, config: Config): Promise<Sample> {
  if (cell.oneCpu === true) return { ...(await run(cell, config)), placement: 'one-cpu', roundTripNs: [] };
  const before = cpuPlacement();
  const s = await run(cell, config);
  const after = cpuPlacement();
  const kept = after.placement === before.placement && (!placementBound(cell) || s.sliceRange[1] <= SLICE_SPREAD * s.sliceRange[0]);
  return { ...s, placement: kept ? before.placement : 'changed', roundTripNs: [before.roundTripNs, after.roundTripNs] };
}

const mpps = (v: number): string => `${(v / 1e6).toFixed(3)} Mpps`;
/** `<placement> <format(median, count)>` for each placement with values ('changed' left out). */
function perPlacement(xs: Array<{ placement: Placement | 'changed'; value: number }>, format: (median: number, count: number) => string): string[] {
  return (['near', 'far', 'one-cpu'] as const)
    .map((p) => [p, xs.filter((x) => x.placement === p).map((x) => x.value)] as const)
    .filter(([, values]) => values.length > 0)
    .map(([p, values]) => `${p} ${format(median(values), values.length)}`);
}

/** The median rate of the runs in each placement (runs labelled 'changed' left out). */
function rates(samples: Sample[]): string {
  return perPlacement(samples.map((s) => ({ placement: s.placement, value: s.pps })), mpps).join(', ') || 'no run in one placement';
}
/** How many times a round is run at most while its runs' placements differ. */
const ROUND_TRIES = 4;

/**
 * a/b of each round, and their medians per placement: rounds whose runs did
 * not share one placement (after ROUND_TRIES) count in neither.
 */
function ratios(a: Sample[], b: Sample[]): string {
  const per = a.map((s, i) => ({ value: s.pps / (b[i] as Sample).pps, placement: s.placement === (b[i] as Sample).placement ? s.placement : 'changed' }));
  const medians = perPlacement(per, (m, count) => `${m.toFixed(2)}x (${count})`);
  return `per round ${per.map((x) => `${x.value.toFixed(2)} ${x.placement}`).join(', ')}; median ${medians.join(', ') || 'none (no round had one placement)'}`;
}

/**
 * Every config once per round, order flipping each round, a round run again
 * (up to ROUND_TRIES times) while its runs' placements differ; returns the
 * samples per config.
 */
async function alternate(cell: Cell, configs: Config[], label: (c: Config) => string): Promise<Sample[][]> {
  const samples = configs.map(() => [] as Sample[]);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? configs.map((_, i) => i) : configs.map((_, i) => configs.length - 1 - i);
    let got: Sample[] = [];
    for (let attempt = 1; attempt <= ROUND_TRIES; attempt++) {
      got = [];
      for (const i of order) {
        const s = await placedRun(cell, configs[i] as Config);
        got[i] = s;
        const each = s.clientPps.length > 1 ? `, clients ${s.clientPps.map((p) => (p / 1e6).toFixed(3)).join(' / ')}` : '';
        console.log(`  round ${round + 1}  ${label(configs[i] as Config).padEnd(44)} ${mpps(s.pps)}  (slices ${(s.sliceRange[0] / 1e6).toFixed(3)}-${(s.sliceRange[1] / 1e6).toFixed(3)}, server rx ${mpps(s.rxPps)}${each}) ${s.placement}${s.roundTripNs.length > 0 ? ` (${s.roundTripNs.join('/')} ns)` : ''}`);
      }
      // A run placed far from its start to its end, with near measured
      // before and after it, has slices all alike: it shows only against
      // the round's other runs, which forward at the same rate give or take
      // far less than SLICE_SPREAD.
      const pps = got.map((s) => s.pps);
      const apart = placementBound(cell) && Math.max(...pps) > SLICE_SPREAD * Math.min(...pps);
      if (apart) got = got.map((s) => ({ ...s, placement: 'changed' }));
      const first = got[0]?.placement;
      if (first !== 'changed' && got.every((s) => s.placement === first)) break;
      const why = apart ? `its rates are more than ${SLICE_SPREAD}x apart (a run placed far throughout)` : "the runs' CPU placements differ";
      if (attempt < ROUND_TRIES) console.log(`  round ${round + 1}: ${why}; run again`);
    }
    got.forEach((s, i) => samples[i]?.push(s));
  }
  return samples;
}

const C_PAIR: Config = { server: 'c', client: 'c' };
const TS_PAIR: Config = { server: 'ts', client: 'ts' };

const PAIRS: Config[] = [C_PAIR, TS_PAIR, { server: 'ts', client: 'c' }, { server: 'c', client: 'ts' }];

/** The C pair, the TS pair and both mixed pairs on `cell`, each against the C pair. */
async function pairsBench(cell: Cell): Promise<void> {
  const samples = await alternate(cell, PAIRS, name);
  const c = samples[0] as Sample[];
  console.log('  medians');
  PAIRS.forEach((cfg, i) => console.log(`    ${name(cfg).padEnd(28)} ${rates(samples[i] as Sample[])}`));
  for (let i = 1; i < PAIRS.length; i++) {
    console.log(`    ${name(PAIRS[i] as Config).padEnd(28)} TS/C ${ratios(samples[i] as Sample[], c)}`);
  }
}

async function pairBench(): Promise<void> {
  console.log('\n[pair] server -l 0 (CPU 0), one client --lcores=1@1 (CPU 1), 2 x net_null; target >= 1.0x the C pair');
  await pairsBench({ ports: nullPorts(2), clients: 1, clientLcores: pinnedClient });
}

/**
 * Server and client time-sharing CPU 0, as on a one-CPU machine: each runs
 * while the other waits for the scheduler, so a ring's size and the
 * scheduler's slices bound the rate as much as either loop does.
 */
async function oneCpuBench(): Promise<void> {
  console.log('\n[one-cpu] server -l 0, one client --lcores=1@0: both on CPU 0, 2 x net_null; TS against the C pair');
  await pairsBench({ ports: nullPorts(2), clients: 1, clientLcores: cpu0Client, oneCpu: true });
}

async function scaleBench(): Promise<void> {
  console.log(`\n[scale] server -l 0, clients floating over CPUs 0-${os.cpus().length - 1}; TS pair against C pair in each cell; target >= 0.9x`);
  const rows: string[] = [];
  for (const ports of [2, 4]) {
    for (const clients of [1, 2, 4]) {
      console.log(` ${clients} client(s), ${ports} ports`);
      const [c, ts] = await alternate({ ports: nullPorts(ports), clients, clientLcores: floatingClient }, [C_PAIR, TS_PAIR], name);
      rows.push(
        `    ${String(clients).padStart(2)} client(s) x ${ports} ports   C ${rates(c as Sample[])}   TS ${rates(ts as Sample[])}   TS/C ${ratios(ts as Sample[], c as Sample[])}`,
      );
    }
  }
  console.log('  cells');
  for (const row of rows) console.log(row);
}

async function flowBench(): Promise<void> {
  const clients = 2;
  console.log(
    `\n[flow] TS pair, ${clients} clients floating over CPUs 0-${os.cpus().length - 1}, 2 x net_pcap replaying ${FLOWS} UDP flows (infinite_rx, TX to /dev/null); target: flow costs at most 10% against rr`,
  );
  const configs: Config[] = [
    { ...TS_PAIR, distribute: 'rr' },
    { ...TS_PAIR, distribute: 'flow' },
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-bench-flows-'));
  try {
    const [rr, flow] = await alternate({ ports: flowPorts(2, clients, dir), clients, clientLcores: floatingClient, cwd: dir }, configs, name);
    console.log(`  flow/rr ${ratios(flow as Sample[], rr as Sample[])}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Clients the handler micro-benchmark distributes to, given to both programs at run time. */
const HANDLER_CLIENTS = 4;

/** The handler micro-benchmark's sides: C, the TS handler, and the TS handler with its reads unchecked. */
type HandlerSide = 'C' | 'TS' | 'TS unchecked';

/** One run of a side of the handler micro-benchmark: its ns per packet. */
function handlerRun(side: HandlerSide): number {
  runs += 1;
  const prefix = `mp-bench-${process.pid}-${runs}`;
  const eal = [`--file-prefix=${prefix}`, '--no-pci', '-l', '1', '-m', '128', '--log-level=warning', '--vdev=net_null0', '--', '20000', '3', String(HANDLER_CLIENTS)];
  const out =
    side === 'C'
      ? execFileSync(path.join(APP, '.build', 'flow-hash'), eal, { encoding: 'utf8' })
      : execFileSync(process.execPath, ['--require', TSX_CJS, path.join(__dirname, 'flow-hash.ts'), ...eal, side === 'TS' ? 'checked' : 'unchecked'], { encoding: 'utf8' });
  removeLeftovers(prefix);
  const line = /^RESULT (.*)$/m.exec(out)?.[1];
  if (line === undefined) throw new Error(`${side} flow-hash printed no result:\n${out}`);
  return (JSON.parse(line) as { nsPerPacket: number }).nsPerPacket;
}

/**
 * C against TS, and against the same TS handler reading through
 * unsafeMemory() with no bounds check: the checks' cost, and how near C this
 * code runs in V8 at best on the machine.
 */
async function handlerBench(): Promise<void> {
  compile('flow-hash', 'flow-hash.c', execFileSync('pkg-config', ['--cflags', '--libs', 'libdpdk'], { encoding: 'utf8' }).trim().split(/\s+/));
  console.log('\n[handler] parse Ethernet/IPv4/UDP + flow hash per packet of 512-packet vectors from net_null, lcore 1; target: TS >= 0.8x C (cost <= 1.25x)');
  const sides: HandlerSide[] = ['C', 'TS', 'TS unchecked'];
  const ns = new Map<HandlerSide, number[]>(sides.map((side) => [side, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Each side first, middle and last in turn.
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(round + k) % sides.length] as HandlerSide;
      ns.get(side)?.push(handlerRun(side));
    }
  }
  const c = ns.get('C') as number[];
  for (const side of sides) {
    const xs = ns.get(side) as number[];
    console.log(`  ${side.padEnd(12)} ns/packet ${xs.map((x) => x.toFixed(2)).join(' ')}  median ${median(xs).toFixed(2)}`);
  }
  for (const side of ['TS', 'TS unchecked'] as const) {
    const speed = c.map((x, i) => x / ((ns.get(side) as number[])[i] as number));
    console.log(`  ${side} speed / C per round ${speed.map((x) => x.toFixed(2)).join(' ')}  median ${median(speed).toFixed(2)}x`);
  }
}

/** Stats lines of a TS process (`stats {json}`), as they arrive. */
interface HeapLine {
  at: number;
  heapUsed: number;
  scavenges: number;
  majorGcs: number;
}
function statsLines(child: ChildProcess): HeapLine[] {
  const lines: HeapLine[] = [];
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) {
      if (!l.startsWith('stats {')) continue;
      const j = JSON.parse(l.slice(6)) as HeapLine;
      lines.push({ at: Date.now(), heapUsed: j.heapUsed, scavenges: j.scavenges, majorGcs: j.majorGcs });
    }
  });
  return lines;
}

async function heapBench(): Promise<void> {
  // Stats every 10 s; the window is from the first line to the seventh, 60 s
  // of a settled process (young space grown: a 10 s window can miss a
  // scavenge that comes every 20 s).
  const interval = 10;
  const lastLine = 7;
  console.log(`\n[heap] TS pair forwarding on 2 x net_null; heap and GCs from the JSON stats printed ${interval} s and ${lastLine * interval} s after each started`);
  const prefix = `mp-bench-${process.pid}-heap`;
  const common = [`--file-prefix=${prefix}`, '--no-pci', '--log-level=warning'];
  const stats = ['--stats-interval', String(interval), '--stats-format', 'json'];
  const server = launch('ts', 'server', [...common, '-l', '0', '-m', '256', ...nullPorts(2), '--', '-p', '3', '-n', '1', ...stats]);
  const serverStats = statsLines(server);
  let client: ChildProcess | undefined;
  try {
    await waitOutput(server, /Port 1 (init \.\.\. done|Link up)/, 30_000);
    client = launch('ts', 'client', [...common, '--proc-type=secondary', pinnedClient(0), '--', '-n', '0', ...stats]);
    const clientStats = statsLines(client);
    await waitOutput(client, /Client process 0 handling packets/, 30_000);
    await new Promise((r) => setTimeout(r, (lastLine * interval + 1.5) * 1000));
    for (const [who, lines] of [
      ['client', clientStats],
      ['server', serverStats],
    ] as const) {
      const [start, end] = [lines[0], lines[lastLine - 1]];
      if (start === undefined || end === undefined) throw new Error(`${who} printed too few stats lines`);
      console.log(
        `  ${who}: heap used ${(start.heapUsed / 1e6).toFixed(2)} MB -> ${(end.heapUsed / 1e6).toFixed(2)} MB; in the window ${end.scavenges - start.scavenges} scavenges, ${end.majorGcs - start.majorGcs} major collections (memory reducer)`,
      );
    }
  } finally {
    if (client !== undefined) await stop(client, 'SIGINT');
    await stop(server, 'SIGINT');
    removeLeftovers(prefix);
  }
}

async function main(): Promise<void> {
  execFileSync('bash', [path.join(APP, 'scripts', 'build-c.sh')], { stdio: 'inherit' });
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  console.log(`client-server benchmark: ${ROUNDS} rounds x ${SECONDS} s per configuration, alternating; ${os.cpus().length} CPUs (${cpu}), Node ${process.version}`);
  for (const [part, run] of Object.entries(PARTS)) if (ONLY === undefined || ONLY === part) await run();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
