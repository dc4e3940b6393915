/**
 * `pnpm bench:restart`: how long after a SIGKILL a client forwards again,
 * C against TypeScript, in one run. The TS mp-server forwards between two
 * net_null ports (an endless source) on CPU 0 (`-l 0`); in every round, in
 * an order that rotates, one client at a time on CPU 1:
 *
 * - C restart: a C mp_client (id 0, lcore 1) is killed and a new one started;
 * - TS restart (cold): a TS mp-client (id 1, lcore 2) is killed and a new
 *   one started;
 * - TS standby: a TS mp-client (id 2, lcore 3) is killed while a warm
 *   standby (`--standby`, same id and lcore) waits; it takes over.
 *
 * Beside them, the floor under any cold TS restart, no EAL involved: Node
 * starting and exiting (`node -e 0`), and Node loading mp-client's modules
 * (`require('dist/client.js')`), spawn to exit.
 *
 * An observer secondary (restart-watch.ts) does the kill, waits until the
 * process is dead, and reports when that client id's tx counters in
 * port_info move again: the time from the kill. The C client needs no
 * repair (the server keeps no registry slot for it); the TS ones include the
 * server's detection and repair of the dead client's slot.
 *
 *   ROUNDS=20 tsx bench/restart.ts
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { median, removeLeftovers } from '@mp/test-kit';

const APP = path.join(__dirname, '..');
const TSX = require.resolve('tsx');
const ROUNDS = Number(process.env['ROUNDS'] ?? 20);
if (!Number.isInteger(ROUNDS) || ROUNDS <= 0) throw new Error(`ROUNDS must be a positive integer, not ${process.env['ROUNDS']}`);
/** How long a client forwards before it is killed: it is under full traffic, its ring full. */
const UNDER_TRAFFIC_MS = 200;
/** Generous: on a loaded machine a start, or a killed process's exit, has been seen to stall for many seconds. */
const START_TIMEOUT_MS = 60_000;

const PREFIX = `mp-restart-${process.pid}`;
const COMMON = [`--file-prefix=${PREFIX}`, '--no-pci', '--log-level=warning'];

interface Scenario {
  name: string;
  id: number;
  lang: 'c' | 'ts';
  standby: boolean;
}
const SCENARIOS: Scenario[] = [
  { name: 'C restart', id: 0, lang: 'c', standby: false },
  { name: 'TS restart (cold)', id: 1, lang: 'ts', standby: false },
  { name: 'TS standby takeover', id: 2, lang: 'ts', standby: true },
];

/** Lines a child prints, and a way to wait for one. */
class Lines {
  readonly seen: string[] = [];
  readonly exited: Promise<void>;
  private waiters: Array<{ re: RegExp; resolve: (m: RegExpExecArray) => void; reject: (e: Error) => void }> = [];
  private ended: string | null = null;

  constructor(readonly child: ChildProcess) {
    if (child.stdout) readline.createInterface({ input: child.stdout }).on('line', (l) => this.push(l));
    if (child.stderr) readline.createInterface({ input: child.stderr }).on('line', (l) => this.push(l));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.ended = `exited (${code ?? signal})`;
        for (const w of this.waiters) w.reject(new Error(`${this.ended}; output:\n${this.seen.join('\n')}`));
        this.waiters = [];
        resolve();
      }),
    );
  }

  private push(line: string): void {
    this.seen.push(line);
    this.waiters = this.waiters.filter((w) => {
      const m = w.re.exec(line);
      if (m) w.resolve(m);
      return !m;
    });
  }

  next(re: RegExp, what: string, timeoutMs = START_TIMEOUT_MS): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      if (this.ended !== null) return reject(new Error(`${what}: ${this.ended} before ${re}`));
      const timer = setTimeout(() => reject(new Error(`${what}: nothing matched ${re} in ${timeoutMs} ms; output:\n${this.seen.join('\n')}`)), timeoutMs);
      this.waiters.push({
        re,
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(new Error(`${what}: ${e.message}`))),
      });
    });
  }
}

function launch(role: 'server' | 'client', lang: 'c' | 'ts', args: string[]): Lines {
  const [cmd, argv] =
    lang === 'c'
      ? ['stdbuf', ['-oL', path.join(APP, '.build', role === 'server' ? 'mp_server' : 'mp_client'), ...args]]
      : [process.execPath, [path.join(APP, 'bin', role === 'server' ? 'mp-server' : 'mp-client'), ...args]];
  return new Lines(spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] }));
}

function startClient(s: Scenario, standby = false): Lines {
  return launch('client', s.lang, [...COMMON, '--proc-type=secondary', `--lcores=${s.id + 1}@1`, '--', '-n', String(s.id), ...(standby ? ['--standby'] : [])]);
}

async function stop(p: Lines, signal: NodeJS.Signals): Promise<void> {
  const child = p.child;
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  await p.exited;
}

class Observer {
  private readonly p: Lines;

  constructor() {
    const child = spawn(process.execPath, ['--import', TSX, path.join(__dirname, 'restart-watch.ts'), ...COMMON, '--proc-type=secondary', '--lcores=9@0'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.p = new Lines(child);
  }

  private ask(line: string): void {
    this.p.child.stdin?.write(`${line}\n`);
  }

  async forwarding(id: number): Promise<void> {
    const reply = this.p.next(new RegExp(`^(forwarding|stuck) ${id}\\b`), `client ${id} forwarding`, 2 * START_TIMEOUT_MS);
    this.ask(`forwarding ${id}`);
    const m = await reply;
    if (m[1] === 'stuck') throw new Error(`client ${id} never forwarded (the pool jammed by a killed C client?)`);
  }

  /** Kills `victim`; `restart` runs once it is dead; resolves with ms from the kill until client id forwards again. */
  async killAndTime(victim: Lines, id: number, restart: () => void): Promise<number> {
    const dead = this.p.next(new RegExp(`^dead ${id}$`), `client ${id} dead`, 2 * START_TIMEOUT_MS);
    const moved = this.p.next(new RegExp(`^(moved|stuck) ${id} ([\\d.]+)$`), `client ${id} forwarding again`, 2 * START_TIMEOUT_MS);
    this.ask(`kill ${victim.child.pid} ${id}`);
    await dead;
    restart();
    const m = await moved;
    if (m[1] === 'stuck') throw new Error(`client ${id} did not forward again within ${m[2]} ms`);
    return Number(m[2]);
  }

  async quit(): Promise<void> {
    this.ask('quit');
    await this.p.exited;
  }
}

/** The floors: spawn to exit of a bare Node, and of one that loads mp-client's modules. */
const FLOORS: Array<{ name: string; argv: string[] }> = [
  { name: 'node -e 0', argv: ['-e', '0'] },
  { name: 'node, client modules', argv: ['-e', `require(${JSON.stringify(path.join(APP, 'dist', 'client.js'))})`] },
];

function floor(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, { stdio: 'ignore' });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`node ${argv.join(' ')} exited ${code}`)))),
  );
}

/** One kill and restart of scenario s; returns ms from the kill until its counters move again. */
async function measure(s: Scenario, observer: Observer): Promise<number> {
  const victim = startClient(s);
  await observer.forwarding(s.id);
  const standby = s.standby ? startClient(s, true) : undefined;
  await standby?.next(/standby ready/, `standby ${s.id}`);
  await new Promise((r) => setTimeout(r, UNDER_TRAFFIC_MS));
  let replacement = standby;
  const ms = await observer.killAndTime(victim, s.id, () => {
    replacement ??= startClient(s);
  });
  await victim.exited;
  // The C client has no clean stop (SIGINT kills it as SIGKILL would); the TS one releases everything.
  if (replacement) await stop(replacement, 'SIGINT');
  return ms;
}

async function main(): Promise<void> {
  execFileSync('bash', [path.join(APP, 'scripts', 'build-c.sh')], { stdio: 'inherit' });
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  console.log(`client restart benchmark: ROUNDS=${ROUNDS}; ${os.cpus().length} CPUs (${cpu}), Node ${process.version}, load average ${os.loadavg()[0]?.toFixed(2)}`);
  console.log('TS mp-server -l 0 on 2 x net_null, -n 3; one client at a time, --lcores=<id+1>@1; ms from SIGKILL until the id\'s tx moves again');
  const server = launch('server', 'ts', [...COMMON, '-l', '0', '-m', '256', '--vdev=net_null0', '--vdev=net_null1', '--', '-p', '3', '-n', '3', '--stats-interval', '0']);
  const rows = [...SCENARIOS.map((s) => s.name), ...FLOORS.map((f) => f.name)];
  const times = rows.map(() => [] as number[]);
  let observer: Observer | undefined;
  try {
    await server.next(/Finished Process Init/, 'mp-server');
    observer = new Observer();
    for (let round = 0; round < ROUNDS; round++) {
      const line: string[] = [];
      for (let k = 0; k < SCENARIOS.length; k++) {
        const i = (round + k) % SCENARIOS.length;
        const ms = await measure(SCENARIOS[i] as Scenario, observer);
        times[i]?.push(ms);
        line.push(`${(SCENARIOS[i] as Scenario).name} ${ms.toFixed(1)}`);
      }
      for (const [k, f] of FLOORS.entries()) {
        const ms = await floor(f.argv);
        times[SCENARIOS.length + k]?.push(ms);
        line.push(`${f.name} ${ms.toFixed(1)}`);
      }
      console.log(`  round ${String(round + 1).padStart(2)}: ${line.join(', ')} ms`);
    }
  } finally {
    await observer?.quit();
    await stop(server, 'SIGINT');
    // Killed clients leave their sockets in the runtime directory.
    removeLeftovers(PREFIX);
  }
  const c = median(times[0] as number[]);
  console.log('medians (ms from SIGKILL until forwarding again)');
  rows.forEach((name, i) => {
    const xs = times[i] as number[];
    const m = median(xs);
    console.log(`  ${name.padEnd(22)} ${m.toFixed(1).padStart(7)}  (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})  /C ${(m / c).toFixed(2)}x`);
  });
  console.log('target: a TS client forwards again within 1.5x the C client\'s time');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
