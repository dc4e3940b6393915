/**
 * The main job, `pnpm --filter client-server start`: the server on two
 * net_null ports (each is an endless traffic source and sink), two clients
 * started for it, and the server's live stats table, until Ctrl-C or
 * --duration.
 *
 *   start [--duration SEC] [--clients N] [--metrics-port PORT [--metrics-host HOST]]   virtual ports
 *   start [EAL options] -- [server options]              real NICs or other devices
 *
 * This process runs no EAL: it supervises. The server (mp-server, the
 * primary) is its child, and so is each client (mp-client --reattach, a
 * launcher that keeps its pid while the client re-attaches). When the server
 * dies by a signal this process did not send (kill -9, a crash), the clients
 * leave its group, the demo starts a new server with the same --file-prefix
 * (which takes over the runtime directory and hugepage files the dead one
 * left) and the clients attach to it; its stats screen goes on. The next
 * server waits as a warm standby (server-standby.ts) from when the clients forward,
 * so a restart does not wait for Node to start.
 *
 * Lcore ids: the demo gives them itself, server 1 (or what the user's EAL
 * options say), lcore 0 to DPDK's tools, clients the next free ids from 2. It
 * is the only launcher in a prefix of its own, so nobody else hands out ids
 * there, and a client keeps its id across server restarts: a lease in the
 * server's memory would die with every server, and a launcher without EAL
 * could not take a new one. The server's client registry still refuses a
 * client whose id is in use. With a CPU per process the clients are pinned;
 * with fewer CPUs they float over all CPUs under their unique ids.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { lcoreIdsFromArgv } from '@mp/dpdk-core';
import { z } from 'zod';
import { EXIT, HelpRequested, STOP_SIGNALS, keepRunningWithoutOutput, parseOptions, reportError } from '@mp/dpdk-core/cli';
import { durationSchema, parseServerArgs } from './args';
import { Clients, bin } from './demo-clients';
import { MAX_CLIENTS } from './shared';
import { STANDBY_ENV } from './server-standby';

const CPUS = os.availableParallelism();

/** The server's lcore id; lcore 0 is left to DPDK's tools (see demoServerArgv). */
const SERVER_LCORE = 1;
const TOOLS_LCORE = 0;
/** A server that dies this many times in a row before any client attached is not restarted again. */
const MAX_FAILED_STARTS = 3;
/** How long a restart waits for the clients to leave the dead group (their hugepage files block a new primary). */
const LEAVE_WAIT_MS = 5000;

const DEMO_USAGE = `usage: start [--duration SEC] [--clients N] [--metrics-port PORT [--metrics-host HOST]]
       start [EAL options] -- -p PORTMASK -n NUM_CLIENTS [server options]`;

const demoSchema = z
  .object({
    duration: durationSchema.optional(),
    clients: z.coerce.number().int().min(1).max(MAX_CLIENTS, `at most ${MAX_CLIENTS} clients`).default(2),
    // Handed to the server as they are; its parser checks them.
    metricsPort: z.string().optional(),
    metricsHost: z.string().optional(),
  })
  .strict();

/** The server's argv: the user's own `[EAL] -- [app]`, or the virtual-port default. */
export function demoServerArgv(argv: readonly string[], pid = process.pid): { serverArgv: string[]; duration?: number } {
  if (argv.includes('--')) return { serverArgv: [...argv] };
  const o = parseOptions(argv, { prog: 'start', usage: DEMO_USAGE, options: { duration: { type: 'string' }, clients: { type: 'string' }, 'metrics-port': { type: 'string' }, 'metrics-host': { type: 'string' } }, schema: demoSchema });
  if (o === 'help') throw new HelpRequested(DEMO_USAGE);
  // lcore id 1 on CPU 0: DPDK's own tools (dpdk-dumpcap, dpdk-proc-info) always run as lcore 0, and
  // dpdk-dumpcap frees into the capture pool that the server's capture callbacks allocate from.
  const serverArgv = [
    `--lcores=${SERVER_LCORE}@0`,
    '--no-pci',
    '-m',
    '256',
    `--file-prefix=mp-demo-${pid}`,
    '--vdev=net_null0',
    '--vdev=net_null1',
    '--log-level=warning',
    '--',
    '-p',
    '3',
    '-n',
    String(o.clients),
    ...(o.metricsPort === undefined ? [] : ['--metrics-port', o.metricsPort]),
    ...(o.metricsHost === undefined ? [] : ['--metrics-host', o.metricsHost]),
  ];
  return o.duration !== undefined ? { serverArgv, duration: o.duration } : { serverArgv };
}

/** EAL options a client shares with the server: the group's prefix, devices and memory flags, not its cores. */
function clientEalArgs(serverEal: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < serverEal.length; i++) {
    const a = serverEal[i] as string;
    if (/^--(file-prefix|log-level|huge-dir)=/.test(a) || a === '--no-pci') out.push(a);
    else if (/^--(file-prefix|log-level|huge-dir)$/.test(a)) out.push(a, serverEal[++i] as string);
  }
  return out;
}

/** One lcore id per client: the lowest ids that are neither the server's (EAL's default: one per CPU) nor the tools'. */
export function clientLcores(serverEal: readonly string[], clients: number, cpus = CPUS): number[] {
  const taken = new Set([TOOLS_LCORE, ...(lcoreIdsFromArgv(serverEal)?.ids ?? Array.from({ length: cpus }, (_, i) => i))]);
  const ids: number[] = [];
  for (let id = 0; ids.length < clients; id++) if (!taken.has(id)) ids.push(id);
  return ids;
}

/** An mp-server started as a warm standby (server-standby.ts): Node and the addon loaded, EAL not started until `go` on its stdin. */
function standbyServer(serverArgv: readonly string[]): ChildProcess {
  const p = spawn(process.execPath, [bin('mp-server'), ...serverArgv], { stdio: ['pipe', 'inherit', 'inherit'], env: { ...process.env, [STANDBY_ENV]: '1' } });
  // A standby killed meanwhile (Ctrl-C reaches it too) is replaced by a fresh process.
  p.stdin?.on('error', () => undefined);
  return p;
}

const exited = (p: ChildProcess): Promise<unknown> => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)));

export async function main(rawArgv: readonly string[]): Promise<number> {
  // `pnpm start -- --duration 10` passes its own '--' through.
  const argv = rawArgv[0] === '--' ? rawArgv.slice(1) : rawArgv;
  let serverArgv: string[];
  let duration: number | undefined;
  let clientArgs: { eal: string[]; lcores: number[] };
  try {
    ({ serverArgv, duration } = demoServerArgv(argv));
    const p = parseServerArgs(serverArgv);
    if (p.help) throw new HelpRequested(DEMO_USAGE);
    clientArgs = { eal: clientEalArgs(p.ealArgs), lcores: clientLcores(p.ealArgs, p.options.clients) };
  } catch (e) {
    return reportError('start', e);
  }
  let stopping = false;
  let server: ChildProcess | undefined;
  let standby: ChildProcess | undefined;
  let served = false;
  let failedStarts = 0;
  const spawnServer = (): ChildProcess => standbyServer(serverArgv);
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const clients = new Clients(
    clientArgs.eal,
    clientArgs.lcores,
    () => {
      served = true;
      // The next server loads now, while this one forwards, not after it died.
      if (!standby && !stopping) {
        const next = spawnServer();
        standby = next;
        next.on('exit', () => standby === next && (standby = undefined));
      }
    },
    (c, code, signal) => void process.stderr.write(`demo: client ${c} exited (${signal ?? `code ${code}`})\n`),
  );
  // Without a server (between a death and the restart, or after it ended by
  // itself) the clients' launchers are waiting: stop them, and the warm
  // standby, which ends when its stdin closes.
  const noServer = (code: number): void => {
    clients.stop('SIGTERM');
    standby?.stdin?.end();
    finish(code);
  };
  const stop = (sig: NodeJS.Signals): void => {
    stopping = true;
    standby?.stdin?.end();
    if (server) server.kill(sig);
    else noServer(0);
  };
  const startServer = (): void => {
    served = false;
    const s = standby ?? spawnServer();
    standby = undefined;
    s.stdin?.end('go\n');
    server = s;
    s.on('exit', (code, signal) => {
      server = undefined;
      failedStarts = served ? 0 : failedStarts + 1;
      if (!stopping && signal !== null && failedStarts < MAX_FAILED_STARTS) {
        process.stderr.write(`demo: the server (pid ${s.pid}) was killed by ${signal}; starting a new one once the clients have left its group\n`);
        void clients.left(LEAVE_WAIT_MS).then(() => (stopping ? undefined : startServer()));
        return;
      }
      const result = code === 0 ? 0 : (code ?? EXIT.failure);
      if (stopping) return finish(result);
      stopping = true;
      if (signal !== null) process.stderr.write(`demo: the server was killed by ${signal} ${failedStarts} times in a row before any client attached; giving up\n`);
      noServer(result);
    });
  };
  startServer();
  for (const sig of STOP_SIGNALS) process.on(sig, stop);
  // The terminal closed (SIGHUP, one of the stops): writing to it now fails, which must not end the shutdown half way.
  keepRunningWithoutOutput();
  if (duration !== undefined) {
    // Counted from when the clients forward: stopping while one is still attaching would pull the shared memory from under it.
    const seconds = duration;
    // unref: stopped earlier (Ctrl-C), the demo must not wait for the timer to exit.
    void clients.ready.then(() =>
      setTimeout(() => {
        process.stdout.write(`demo: --duration ${seconds} s elapsed\n`);
        stop('SIGTERM');
      }, seconds * 1000).unref(),
    );
  }
  const code = await finished;
  await Promise.all([clients.exited(), ...(standby ? [exited(standby)] : [])]);
  return code;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
