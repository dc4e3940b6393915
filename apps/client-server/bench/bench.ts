/**
 * `pnpm bench`: forwarded packets per second of the TypeScript pair against
 * DPDK's C client_server_mp, on the same virtual devices (two net_null ports:
 * an endless source and sink), cores (server on CPU 0, one client on CPU 1)
 * and duration, alternating configurations round by round, with the mixed
 * pairs too. Prints each run, the median per configuration and the ratios.
 *
 *   tsx bench/bench.ts [--rounds N] [--seconds S]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { removeLeftovers } from '@mp/test-kit';

const APP = path.join(__dirname, '..');
const TSX = require.resolve('tsx');

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

const ROUNDS = option('--rounds', 3);
const SECONDS = option('--seconds', 5);
const WARMUP_MS = 1500;

type Lang = 'ts' | 'c';
interface Config {
  server: Lang;
  client: Lang;
}
const CONFIGS: Config[] = [
  { server: 'c', client: 'c' },
  { server: 'ts', client: 'ts' },
  { server: 'ts', client: 'c' },
  { server: 'c', client: 'ts' },
];
const name = (c: Config): string => `${c.server.toUpperCase()} server + ${c.client.toUpperCase()} client`;

function launch(lang: Lang, role: 'server' | 'client', args: string[]): ChildProcess {
  const [cmd, argv] =
    lang === 'c'
      ? ['stdbuf', ['-oL', path.join(APP, '.build', role === 'server' ? 'mp_server' : 'mp_client'), ...args]]
      : [process.execPath, [path.join(APP, 'bin', role === 'server' ? 'mp-server' : 'mp-client'), ...args]];
  return spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
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

interface Sample {
  /** Forwarded packets per second of wall time. */
  pps: number;
  /** Packets the server received per second (forwarded + dropped because the client's ring was full): how far ahead of the client the server runs. */
  rxPps: number;
  /** Forwarded packets per CPU-second the client got: what is left of the rate once other load on the machine is factored out. */
  perClientCpu: number;
  clientCpu: number;
}

async function run(config: Config, round: number): Promise<Sample> {
  const prefix = `mp-bench-${process.pid}-${round}-${config.server}${config.client}`;
  const common = [`--file-prefix=${prefix}`, '--no-pci', '--log-level=warning'];
  const server = launch(config.server, 'server', [
    ...common,
    '-l',
    '0',
    '-m',
    '128',
    '--base-virtaddr=0x600000000000',
    '--vdev=net_null0',
    '--vdev=net_null1',
    '--',
    '-p',
    '3',
    '-n',
    '1',
    ...(config.server === 'ts' ? ['--stats-interval', '0'] : []),
  ]);
  try {
    await waitOutput(server, /Port 1 (init \.\.\. done|Link up)/, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    const client = launch(config.client, 'client', [...common, '--proc-type=secondary', '--lcores=1@1', '--', '-n', '0']);
    await waitOutput(client, /Client process 0 handling packets/, 30_000);
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const observer = spawn(process.execPath, ['--import', TSX, path.join(__dirname, 'observe.ts'), ...common, '--proc-type=secondary', '--lcores=9@0', '--', String(SECONDS), String(server.pid), String(client.pid)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    observer.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => observer.on('exit', r));
    await stop(client, 'SIGKILL');
    const line = out.split('\n').find((l) => l.startsWith('{'));
    if (line === undefined) throw new Error(`observer printed nothing: ${out}`);
    const o = JSON.parse(line) as { seconds: number; txPps: number; rxPps: number; clientCpu: number };
    return { pps: o.txPps, rxPps: o.rxPps, perClientCpu: (o.txPps * o.seconds) / Math.max(o.clientCpu, 0.01), clientCpu: o.clientCpu / o.seconds };
  } finally {
    await stop(server, 'SIGINT');
    // The C server exits without rte_eal_cleanup, and the client was SIGKILLed.
    removeLeftovers(prefix);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const mpps = (v: number): string => `${(v / 1e6).toFixed(3)} Mpps`;

async function main(): Promise<void> {
  execFileSync('bash', [path.join(APP, 'scripts', 'build-c.sh')], { stdio: 'inherit' });
  const results = new Map<string, Sample[]>(CONFIGS.map((c) => [name(c), []]));
  console.log(`client-server benchmark: ${ROUNDS} rounds x ${SECONDS} s, server -l 0 (CPU 0), client --lcores=1@1 (CPU 1), 2 x net_null, 1 client`);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? CONFIGS : [...CONFIGS].reverse();
    for (const c of order) {
      const s = await run(c, round);
      results.get(name(c))?.push(s);
      console.log(
        `round ${round + 1}  ${name(c).padEnd(24)} ${mpps(s.pps)}   ${mpps(s.perClientCpu)} per client CPU-second (client got ${(s.clientCpu * 100).toFixed(0)}% of a CPU), server rx ${mpps(s.rxPps)}`,
      );
    }
  }
  const med = (c: Config, f: (s: Sample) => number): number => median((results.get(name(c)) ?? []).map(f));
  const cc = { server: 'c', client: 'c' } as const;
  console.log('\nmedians                    wall-clock rate    per client CPU-second    server rx');
  for (const c of CONFIGS) {
    console.log(
      `  ${name(c).padEnd(24)} ${mpps(med(c, (s) => s.pps)).padStart(14)}    ${mpps(med(c, (s) => s.perClientCpu)).padStart(14)}    ${mpps(med(c, (s) => s.rxPps)).padStart(14)}`,
    );
  }
  console.log('\nratio to the C pair (TS/C)');
  for (const c of CONFIGS.slice(1)) {
    console.log(
      `  ${name(c).padEnd(24)} ${(med(c, (s) => s.pps) / med(cc, (s) => s.pps)).toFixed(3)}x wall-clock, ${(med(c, (s) => s.perClientCpu) / med(cc, (s) => s.perClientCpu)).toFixed(3)}x per client CPU-second`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
