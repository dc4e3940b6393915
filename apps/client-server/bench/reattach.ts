/**
 * `pnpm --filter client-server bench:reattach` (or `npx tsx bench/reattach.ts`):
 * the main job's recovery from a killed primary. The demo (built, dist/)
 * runs its server on two net_null ports (traffic never stops) and two
 * clients with --reattach; the server prints JSON stats every 50 ms. Each
 * round SIGKILLs the server, then measures from the kill to
 *
 *   - left: every client said it noticed the death and left the group (on
 *     stderr; the demo starts the next server after that),
 *   - server: the new server's "Finished Process Init" (the demo restarted it),
 *   - traffic: the first stats line of the new server in which every client
 *     has transmitted (its counters start at 0), i.e. forwarding again;
 *
 * then lets it forward for 3 s and kills again. Prints median and max of
 * each over the rounds, and the CPU it ran on. Times are upper bounds by up
 * to one stats interval (50 ms).
 *
 *   tsx bench/reattach.ts [--kills N]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leftovers, median } from '@mp/test-kit';

const APP = path.join(__dirname, '..');
const DEMO = path.join(APP, 'dist', 'demo.js');
const CLIENTS = 2;
const STATS_INTERVAL_S = 0.05;
/**
 * Forwarding time between recovery and the next kill: the demo's standby
 * server and the launchers' standby clients, started when the clients
 * joined, have loaded by then (a kill sooner after a restart pays for
 * starting Node again, on a busy 2-CPU machine up to a second more).
 */
const STEADY_MS = 3000;
const ROUND_TIMEOUT_MS = 30_000;

const killsArg = process.argv.indexOf('--kills');
const KILLS = killsArg >= 0 ? Number(process.argv[killsArg + 1]) : 20;
if (!Number.isInteger(KILLS) || KILLS < 1) throw new Error('--kills needs a whole number of at least 1');

interface Stats {
  clients: Array<{ tx: number }>;
}

const prefix = `mp-bench-reattach-${process.pid}`;
const demo = spawn(
  process.execPath,
  [DEMO, `--lcores=1@0`, '--no-pci', '-m', '256', `--file-prefix=${prefix}`, '--vdev=net_null0', '--vdev=net_null1', '--log-level=warning', '--',
    '-p', '3', '-n', String(CLIENTS), '--stats-interval', String(STATS_INTERVAL_S), '--stats-format', 'json'],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);

/** When each client last said it left its group (stderr, passed through). */
const leftAt: number[] = [];
demo.stderr.on('data', (chunk: Buffer) => {
  const at = performance.now();
  process.stderr.write(chunk);
  for (const m of chunk.toString().matchAll(/mp-client (\d+): the server \(primary process\) has exited/g)) leftAt[Number(m[1])] = at;
});

/** Every stdout line of the demo (its server's), with when it arrived. */
let onLine: (line: string, at: number) => void = () => undefined;
let partial = '';
demo.stdout.on('data', (chunk: Buffer) => {
  const at = performance.now();
  const lines = (partial + chunk.toString()).split('\n');
  partial = lines.pop() ?? '';
  for (const l of lines) onLine(l, at);
});

/** The first line (from now on) for which `pick` returns a value; rejects after ROUND_TIMEOUT_MS. */
function next<T>(pick: (line: string) => T | undefined): Promise<{ value: T; at: number }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no such line within ${ROUND_TIMEOUT_MS} ms`)), ROUND_TIMEOUT_MS);
    onLine = (line, at) => {
      const value = pick(line);
      if (value === undefined) return;
      clearTimeout(t);
      onLine = () => undefined;
      resolve({ value, at });
    };
  });
}

const forwarding = (line: string): true | undefined => {
  if (!line.startsWith('stats ')) return undefined;
  const s = JSON.parse(line.slice(6)) as Stats;
  return s.clients.length === CLIENTS && s.clients.every((c) => c.tx > 0) ? true : undefined;
};

function serverPid(): number {
  for (const d of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== demo.pid) continue;
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('mp-server')) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error('the demo runs no server');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function main(): Promise<void> {
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  console.log(`reattach: ${KILLS} SIGKILLs of the demo's server under traffic (${CLIENTS} clients, net_null), ${os.availableParallelism()} CPUs, ${cpu}`);
  await next(forwarding);
  const left: number[] = [];
  const server: number[] = [];
  const traffic: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    await sleep(STEADY_MS);
    const ready = next((l) => (/APP: Finished Process Init/.test(l) ? true : undefined));
    const killed = performance.now();
    process.kill(serverPid(), 'SIGKILL');
    const r = await ready;
    const f = await next(forwarding);
    const allLeft = Math.max(...Array.from({ length: CLIENTS }, (_, c) => leftAt[c] ?? Infinity)) - killed;
    left.push(allLeft);
    server.push(r.at - killed);
    traffic.push(f.at - killed);
    console.log(`kill ${String(k + 1).padStart(2)}: clients left after ${allLeft.toFixed(0)} ms, server again after ${(r.at - killed).toFixed(0)} ms, traffic again after ${(f.at - killed).toFixed(0)} ms`);
  }
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  console.log(`primary SIGKILL -> every client left the dead group: median ${ms(median(left))}, max ${ms(Math.max(...left))}`);
  console.log(`primary SIGKILL -> new server initialised: median ${ms(median(server))}, max ${ms(Math.max(...server))}`);
  console.log(`primary SIGKILL -> traffic forwarded again by the clients: median ${ms(median(traffic))}, max ${ms(Math.max(...traffic))} (target: median < 2000 ms)`);
}

void main()
  .catch((e: unknown) => {
    console.error(`reattach bench: ${(e as Error).message}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    if (demo.exitCode === null && demo.signalCode === null) {
      demo.kill('SIGINT');
      await new Promise((r) => demo.once('exit', r));
    }
    const left = leftovers(prefix);
    if (left.length > 0) {
      console.error(`left behind: ${left.join(', ')}`);
      process.exitCode = 1;
    }
  });
