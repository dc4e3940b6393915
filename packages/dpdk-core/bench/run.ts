/**
 * `pnpm bench`: C against TypeScript on the same DPDK, in one invocation,
 * alternating the two sides round by round (the order flips every round) so
 * that machine noise hits both alike. Each run is a fresh primary with its
 * own --file-prefix; whatever a C run leaves in /var/run/dpdk or hugetlbfs is
 * removed, and a TypeScript run must leave nothing.
 *
 *   ring:     enqueue + dequeue of a 32-packet burst on an SP/SC ring (ns/packet)
 *   pipeline: net_null rx(32) -> ring -> dequeue -> TX buffer -> net_null (Mpps)
 *
 * Environment: BENCH_ROUNDS (default 5), BENCH_LCORE (default 1).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leftovers, median, removeLeftovers } from '@mp/test-kit';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LCORE = process.env.BENCH_LCORE ?? '1';
const BUILD = path.join(__dirname, '.build');
const TSX = require.resolve('tsx');

interface Bench {
  name: string;
  unit: string;
  /** true when bigger is better (a rate), false for a cost. */
  higherIsBetter: boolean;
  metric: string;
  c: string;
  ts: string;
  eal: string[];
  args: string[];
  target: string;
  meets: (ratio: number) => boolean;
  /** Further TS-side metrics to report (medians). */
  extra?: string[];
}

const benches: Bench[] = [
  {
    name: 'ring burst enqueue+dequeue of 32 packets',
    unit: 'ns/packet',
    higherIsBetter: false,
    metric: 'nsPerPacket',
    c: 'ring-burst',
    ts: 'ring-burst.ts',
    eal: ['-m', '64'],
    args: ['2000000', '3'],
    target: 'TS cost <= 1.5x C',
    meets: (r) => r <= 1.5,
    extra: ['emptyCallNs', 'burstCallNs'],
  },
  {
    name: 'pipeline net_null rx(32) -> ring -> tx_buffer -> net_null',
    unit: 'Mpps',
    higherIsBetter: true,
    metric: 'mpps',
    c: 'pipeline',
    ts: 'pipeline.ts',
    eal: ['-m', '128', '--vdev=net_null0', '--vdev=net_null1'],
    args: ['500000', '3'],
    target: 'TS rate >= 0.8x C',
    meets: (r) => r >= 0.8,
  },
];

// The TypeScript sides import the compiled package (dist/), as applications
// do: code loaded from src/ through tsx reads every imported binding through
// esbuild's export getters, which cost the pipeline ~20% of its rate.
function buildTs(): void {
  execFileSync('pnpm', ['run', 'build:ts'], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
}

function buildC(): void {
  fs.mkdirSync(BUILD, { recursive: true });
  const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'libdpdk'], { encoding: 'utf8' }).trim().split(/\s+/);
  for (const b of benches) {
    execFileSync('gcc', ['-O3', '-march=native', '-o', path.join(BUILD, b.c), path.join(__dirname, `${b.c}.c`), ...flags], {
      stdio: 'inherit',
    });
  }
}

let runs = 0;
function runOne(b: Bench, side: 'C' | 'TS'): Record<string, number> {
  runs += 1;
  const prefix = `mpbench-${process.pid}-${runs}`;
  const eal = [`--file-prefix=${prefix}`, '--no-pci', '-l', LCORE, '--log-level=warning', ...b.eal, '--', ...b.args];
  const r =
    side === 'C'
      ? spawnSync(path.join(BUILD, b.c), eal, { encoding: 'utf8' })
      : spawnSync(process.execPath, ['--import', TSX, path.join(__dirname, b.ts), ...eal], { encoding: 'utf8' });
  const left = leftovers(prefix);
  removeLeftovers(prefix);
  const line = /^RESULT (.*)$/m.exec(r.stdout ?? '')?.[1];
  if (r.status !== 0 || line === undefined) {
    throw new Error(`${side} ${b.c} failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  if (side === 'TS' && left.length > 0) throw new Error(`TS ${b.ts} left ${left.join(', ')} behind`);
  return JSON.parse(line) as Record<string, number>;
}

function main(): void {
  buildTs();
  buildC();
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const dpdk = execFileSync('pkg-config', ['--modversion', 'libdpdk'], { encoding: 'utf8' }).trim();
  console.log(`machine: ${os.cpus().length} cores (${cpu}), Node ${process.version}, DPDK ${dpdk}; lcore ${LCORE}; ${ROUNDS} rounds, C and TS alternating`);
  let allMet = true;
  for (const b of benches) {
    const c: number[] = [];
    const ts: number[] = [];
    const ratios: number[] = [];
    const extra = new Map<string, number[]>((b.extra ?? []).map((k) => [k, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order: Array<'C' | 'TS'> = round % 2 === 0 ? ['C', 'TS'] : ['TS', 'C'];
      const got: Record<string, Record<string, number>> = {};
      for (const side of order) got[side] = runOne(b, side);
      const cv = got.C?.[b.metric] as number;
      const tv = got.TS?.[b.metric] as number;
      c.push(cv);
      ts.push(tv);
      ratios.push(tv / cv);
      for (const [k, xs] of extra) xs.push(got.TS?.[k] as number);
    }
    const ratio = median(ratios);
    const met = b.meets(ratio);
    allMet &&= met;
    const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' ');
    console.log(`\n${b.name} (${b.unit}, ${b.higherIsBetter ? 'higher' : 'lower'} is better)`);
    console.log(`  C : ${fmt(c)}  median ${median(c).toFixed(3)}`);
    console.log(`  TS: ${fmt(ts)}  median ${median(ts).toFixed(3)}`);
    console.log(`  TS/C per round: ${fmt(ratios)}  median ${ratio.toFixed(2)}  target: ${b.target} -> ${met ? 'met' : 'NOT met'}`);
    for (const [k, xs] of extra) console.log(`  TS ${k}: ${fmt(xs)}  median ${median(xs).toFixed(2)}`);
    if (extra.has('burstCallNs')) {
      // Two packet-shaped calls per burst plus C's own work: the best ratio N-API allows.
      const floor = (2 * median(extra.get('burstCallNs') ?? []) + 32 * median(c)) / (32 * median(c));
      console.log(`  N-API floor for this loop (2 packet-shaped calls + C's work): ${floor.toFixed(2)}x C`);
    }
  }
  console.log(allMet ? '\nall targets met' : '\nsome targets not met (see above)');
}

main();
