/**
 * `pnpm bench` (the measured processes run compiled JS: bin/mp-l2fwd loads
 * dist/; tsx only runs this driver and the observer, which sleeps):
 *
 * 1. Forwarding rate of mp-l2fwd against DPDK's C l2fwd
 *    (/usr/share/dpdk/examples/l2fwd/main.c, built with gcc into
 *    bench/.build), on the same two net_null ports, the same CPUs and the
 *    same duration, in each layout a user may choose (LAYOUTS). A third
 *    side, "C vector", is the same main.c with its RX loop replaced by
 *    bench/l2fwd-vector-loop.h: C l2fwd in the slave's shape (a vector of
 *    VECTOR_CAPACITY packets, bursts of SLAVE_BURST, describe, handler and
 *    send passes), which tells what the shape costs from what JavaScript
 *    and the kill-safe journal cost. The three alternate round by round,
 *    each in turn first. All are measured the same way: a secondary
 *    (bench/port-observer.ts) reads rte_eth_stats of both ports at the start
 *    and the end of the window.
 * 2. Recovery time: SIGKILL of a slave -> packets flowing again out of its
 *    output port (the master's `resumed` event), median over KILLS kills,
 *    for the default (warm standby promoted, pair paused) and --cold-restart.
 *
 * Environment: BENCH=all|rate|recovery, LAYOUT (a name in LAYOUTS; all by
 * default), ROUNDS (3), SECONDS (5), KILLS (20).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { DEFAULT_BASE_VIRTADDR } from '@mp/dpdk-core';
import { leftovers, median, removeLeftovers } from '@mp/test-kit';
import { SLAVE_BURST, VECTOR_CAPACITY } from '../src/shared';

const MODE = process.env['BENCH'] ?? 'all';
const ROUNDS = Number(process.env['ROUNDS'] ?? 3);
const SECONDS = Number(process.env['SECONDS'] ?? 5);
const KILLS = Number(process.env['KILLS'] ?? 20);
const BIN = path.join(__dirname, '..', 'bin', 'mp-l2fwd');
const OBSERVER = path.join(__dirname, 'port-observer.ts');
const TSX = require.resolve('tsx');
const C_SOURCE = '/usr/share/dpdk/examples/l2fwd/main.c';
const BUILD = path.join(__dirname, '.build');
const C_L2FWD = path.join(BUILD, 'l2fwd');
const VECTOR_LOOP = path.join(__dirname, 'l2fwd-vector-loop.h');
const C_VECTOR_SOURCE = path.join(BUILD, 'l2fwd-vector.c');
const C_VECTOR = path.join(BUILD, 'l2fwd-vector');
const PORTS = ['--vdev=net_null0', '--vdev=net_null1'];

/**
 * What a user may choose, with the same lcores and app options for C l2fwd
 * and mp-l2fwd (TS adds its master's lcore, mostly idle, on CPU 0):
 * - q1: one port per forwarding core, both CPUs forwarding;
 * - q2: both ports on one forwarding core (-q 2), the other CPU for the rest;
 * - one-cpu: everything on CPU 0;
 * - q2-no-mac: q2 with --no-mac-updating on both sides. The TS handler then
 *   only writes a destination per packet and touches no packet byte, so this
 *   is what the vector path itself costs against C l2fwd: no handler can
 *   bring mp-l2fwd closer to C than this row.
 */
const LAYOUTS = {
  q1: { c: ['--lcores=0@0,1@1'], ts: ['--lcores=0@0,1@0,2@1'], q: '1', app: [], what: 'one port per core, C l2fwd on lcores 0@0 and 1@1; TS slaves on CPUs 0 and 1' },
  q2: { c: ['-l', '0,1'], ts: ['-l', '0,1'], q: '2', app: [], what: 'both ports on one core (-q 2): C l2fwd forwards on lcore 0, TS\'s one slave on lcore 1' },
  'one-cpu': { c: ['--lcores=0@0'], ts: ['--lcores=0@0,1@0'], q: '2', app: [], what: 'everything on CPU 0 (-q 2)' },
  'q2-no-mac': {
    c: ['-l', '0,1'],
    ts: ['-l', '0,1'],
    q: '2',
    app: ['--no-mac-updating'],
    what: 'q2 without MAC updating: the vector path\'s own cost, no packet byte touched in TypeScript',
  },
} as const;
type Layout = keyof typeof LAYOUTS;
const TS_LCORES = LAYOUTS.q1.ts[0];

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))] ?? NaN;
}

/** gcc as for every C side: DPDK's flags from pkg-config. */
function gcc(out: string, source: string): void {
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'libdpdk'], { encoding: 'utf8' });
  if (flags.status !== 0) throw new Error(`pkg-config libdpdk failed: ${flags.stderr}`);
  const cc = spawnSync('gcc', ['-O3', '-march=native', '-Wno-deprecated-declarations', '-o', out, source, ...flags.stdout.trim().split(/\s+/)], { stdio: 'inherit' });
  if (cc.status !== 0) throw new Error(`building ${path.basename(out)} failed`);
}

/**
 * Builds C l2fwd unless the binary is newer than the source, and its vector
 * shape every time (a second; its sizes are the slave's, read here): main.c
 * with bursts and TX buffers of SLAVE_BURST and its RX loop replaced by
 * l2fwd-vector-loop.h.
 */
function buildC(): void {
  fs.mkdirSync(BUILD, { recursive: true });
  if (!fs.existsSync(C_L2FWD) || fs.statSync(C_L2FWD).mtimeMs < fs.statSync(C_SOURCE).mtimeMs) gcc(C_L2FWD, C_SOURCE);
  const main = fs.readFileSync(C_SOURCE, 'utf8');
  const rx = /\t*\/\* Read packet from RX queues\. 8< \*\/[\s\S]*?\/\* >8 End of read packet from RX queues\. \*\//;
  const burst = /#define MAX_PKT_BURST 32\n/;
  if (!rx.test(main) || !burst.test(main)) throw new Error(`${C_SOURCE} is not the l2fwd this bench patches (no RX loop markers or MAX_PKT_BURST 32)`);
  fs.writeFileSync(C_VECTOR_SOURCE, main.replace(burst, `#define MAX_PKT_BURST ${SLAVE_BURST}\n#define VECTOR_CAPACITY ${VECTOR_CAPACITY}\n`).replace(rx, `#include "${VECTOR_LOOP}"`));
  gcc(C_VECTOR, C_VECTOR_SOURCE);
}

/** Lines of a child's stdout, with a wait for the first one matching. */
function lines(child: ChildProcess): { all: string[]; waitFor(re: RegExp, timeoutMs?: number): Promise<string> } {
  const all: string[] = [];
  let wake: (() => void) | null = null;
  readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
    all.push(l);
    wake?.();
  });
  return {
    all,
    async waitFor(re, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = all.find((l) => re.test(l));
        if (hit !== undefined) return hit;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process exited before ${re}:\n${all.join('\n')}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}:\n${all.join('\n')}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
    },
  };
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

let runs = 0;
/** The sides of a rate run: C l2fwd, C l2fwd in the slave's vector shape, mp-l2fwd. */
const SIDES = ['C', 'C vector', 'TS'] as const;
type Side = (typeof SIDES)[number];

async function rateRun(side: Side, layout: Layout): Promise<number> {
  runs += 1;
  const prefix = `ms-rate-${process.pid}-${runs}`;
  const common = [`--file-prefix=${prefix}`, '-m', '256', '--no-pci', '--log-level=warning', `--base-virtaddr=${DEFAULT_BASE_VIRTADDR}`, ...PORTS];
  const l = LAYOUTS[layout];
  const child =
    side === 'TS'
      ? spawn(process.execPath, [BIN, ...common, ...l.ts, '--', '-p', '3', '-q', l.q, '-T', '0', '--json', ...l.app], { stdio: ['ignore', 'pipe', 'pipe'] })
      : // Line-buffered so its "link status ... done" arrives when it is printed.
        spawn('stdbuf', ['-oL', side === 'C' ? C_L2FWD : C_VECTOR, ...common, ...l.c, '--', '-p', '3', '-q', l.q, '-T', '0', ...l.app], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const out = lines(child);
  try {
    await out.waitFor(side === 'TS' ? /"event":"started"/ : /^Checking link status.*done/);
    const obs = spawnSync(
      process.execPath,
      ['--import', TSX, OBSERVER, '--proc-type=secondary', `--file-prefix=${prefix}`, '--lcores=7@0', '--no-pci', '--log-level=warning', '--', '1000', String(SECONDS * 1000)],
      { encoding: 'utf8' },
    );
    const line = /^RESULT (.*)$/m.exec(obs.stdout)?.[1];
    if (obs.status !== 0 || line === undefined) throw new Error(`observer failed on ${side} (status ${obs.status}):\n${obs.stdout}\n${obs.stderr}`);
    const r = JSON.parse(line) as { txMpps: number; rxMpps: number; drops: number };
    return r.txMpps;
  } catch (e) {
    throw new Error(`${String(e)}\n${side} stderr:\n${stderr}`);
  } finally {
    child.kill('SIGINT');
    await exited(child);
    const left = leftovers(prefix);
    removeLeftovers(prefix);
    if (side === 'TS' && left.length > 0) throw new Error(`mp-l2fwd left ${left.join(', ')} behind`);
  }
}

/** Targets (issue 11): at least C's rate with a core per port, 0.95x with both ports on one core. */
const TARGET: Record<Layout, number> = { q1: 1.0, q2: 0.95, 'one-cpu': 0.95, 'q2-no-mac': 0.95 };

async function rateBench(layout: Layout): Promise<void> {
  buildC();
  const l = LAYOUTS[layout];
  console.log(`\n[${layout}] ${l.what}`);
  const app = ['-p', '3', '-q', l.q, ...l.app].join(' ');
  console.log(`  C l2fwd ${l.c.join(' ')} -- ${app} -T 0    TS mp-l2fwd ${l.ts.join(' ')} -- ${app}`);
  const mpps = new Map<Side, number[]>(SIDES.map((side) => [side, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Each side first in turn.
    for (let k = 0; k < SIDES.length; k++) {
      const side = SIDES[(round + k) % SIDES.length] as Side;
      mpps.get(side)?.push(await rateRun(side, layout));
    }
  }
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' ');
  for (const side of SIDES) {
    const xs = mpps.get(side) as number[];
    console.log(`  ${side.padEnd(8)} Mpps forwarded: ${fmt(xs)}  median ${median(xs).toFixed(2)}`);
  }
  // a's rate over b's, round by round.
  const per = (a: Side, b: Side): number[] => (mpps.get(a) as number[]).map((x, i) => x / ((mpps.get(b) as number[])[i] as number));
  const ratio = median(per('TS', 'C'));
  // Three places: compared unrounded, 0.946 would print as a 0.95 that is NOT met.
  console.log(`  TS/C per round: ${fmt(per('TS', 'C'))}  median ${ratio.toFixed(3)}x  target >= ${TARGET[layout]}x -> ${ratio >= TARGET[layout] ? 'met' : 'NOT met'}`);
  console.log(`  TS/C vector per round: ${fmt(per('TS', 'C vector'))}  median ${median(per('TS', 'C vector')).toFixed(2)}x`);
  console.log(`  C vector/C per round: ${fmt(per('C vector', 'C'))}  median ${median(per('C vector', 'C')).toFixed(2)}x`);
}

async function recoveryBench(cold: boolean): Promise<void> {
  const prefix = `mp_l2fwd_bench_${process.pid}_${cold ? 'cold' : 'warm'}`;
  const child = spawn(
    BIN,
    [`--file-prefix=${prefix}`, '-m', '256', '--no-pci', '--log-level=warning', TS_LCORES, ...PORTS, '--', '-p', '3', '-T', '0', '--json', ...(cold ? ['--cold-restart'] : [])],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const events: Array<Record<string, unknown>> = [];
  let wake: (() => void) | null = null;
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    events.push(JSON.parse(line) as Record<string, unknown>);
    wake?.();
  });
  const count = (pred: (e: Record<string, unknown>) => boolean): number => events.filter(pred).length;
  const waitFor = async (event: string, n: number, pred: (e: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = events.filter((e) => e['event'] === event && pred(e));
      if (found.length >= n) return found[n - 1] as Record<string, unknown>;
      if (child.exitCode !== null) throw new Error('mp-l2fwd exited during the benchmark');
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };
  await waitFor('started', 1);
  const resume: number[] = [];
  const ack: number[] = [];
  const downtime: number[] = [];
  const takeover: number[] = [];
  for (let k = 1; k <= KILLS; k++) {
    const victim = k % 2 ? 'slave0' : 'slave1';
    if (!cold) {
      // Steady state before each kill: the victim's standby is attached and idle.
      const promotions = count((e) => e['event'] === 'ready' && e['name'] === victim && e['promoted'] === true);
      await waitFor('standby-ready', promotions + 1, (e) => e['name'] === victim);
    }
    const ready = events.filter((e) => e['event'] === 'ready' && e['name'] === victim);
    process.kill((ready[ready.length - 1] as Record<string, unknown>)['pid'] as number, 'SIGKILL');
    resume.push((await waitFor('resumed', k))['resumeMs'] as number);
    ack.push((await waitFor('stop', k))['ackMs'] as number);
    downtime.push((await waitFor('recovered', k))['downtimeMs'] as number);
    if (!cold) takeover.push((await waitFor('ready', k, (e) => e['promoted'] === true))['startMs'] as number);
  }
  child.kill('SIGINT');
  const done = await waitFor('shutdown', 1);
  await exited(child);
  const line = (label: string, v: number[]): string => `  ${label.padEnd(40)} median ${String(pct(v, 0.5)).padStart(5)} ms   p90 ${String(pct(v, 0.9)).padStart(5)} ms   max ${String(Math.max(...v)).padStart(5)} ms`;
  console.log(
    [
      `\nrecovery over ${KILLS} SIGKILLs, ${cold ? '--cold-restart (dead slave and its pair restarted as new processes)' : 'default (warm standby promoted, pair paused and resumed)'}`,
      line('kill -> traffic resumed on its port', resume),
      line('kill -> group recovered (supervisor)', downtime),
      line(`STOP(${cold ? 'stop' : 'pause'}) -> ACK from the busy pair`, ack),
      ...(cold ? [] : [line('promote -> ACK from the standby', takeover)]),
      `  buffers lost with the killed slaves: ${String(done['unaccountedBuffers'])}`,
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  if (MODE === 'all' || MODE === 'rate') {
    const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
    console.log(`forwarding rate, net_null0 <-> net_null1, ${SECONDS} s windows, ${ROUNDS} rounds of C, C vector and TS alternating; ${os.cpus().length} CPUs (${cpu}), Node ${process.version}`);
    const only = process.env['LAYOUT'];
    if (only !== undefined && !(only in LAYOUTS)) throw new Error(`LAYOUT must be one of ${Object.keys(LAYOUTS).join(', ')}`);
    for (const layout of Object.keys(LAYOUTS) as Layout[]) if (only === undefined || only === layout) await rateBench(layout);
  }
  if (MODE === 'all' || MODE === 'recovery') {
    await recoveryBench(false);
    await recoveryBench(true);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
