/**
 * The main job, `pnpm --filter client-server start`: the server on two
 * net_null ports (each is an endless traffic source and sink), two clients
 * started for it, and the live stats table, until Ctrl-C or --duration.
 *
 *   start [--duration SEC] [--clients N] [--metrics-port PORT [--metrics-host HOST]]   virtual ports
 *   start [EAL options] -- [server options]              real NICs or other devices
 *
 * The server runs in this process; each client is its own process, attached
 * as a secondary with an lcore id leased from @mp/lcore-alloc. With a CPU per
 * process the clients are pinned; with fewer CPUs than processes they float
 * over all CPUs under their unique lcore ids.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ealState } from '@mp/dpdk-core';
import { createLcoreAllocator, type LcoreAllocator } from '@mp/lcore-alloc';
import { z } from 'zod';
import { EXIT, HelpRequested, parseOptions, reportError } from '@mp/dpdk-core/cli';
import { durationSchema, parseServerArgs } from './args';
import { startServer, type ServerHandle } from './server';
import { MAX_CLIENTS } from './shared';

/**
 * CPUs this process may use, read before EAL pins the main thread to the
 * server's lcore (after that, and in children spawned from it, only one
 * CPU would show).
 */
const CPUS = os.availableParallelism();

/** The server's lcore id; lcore 0 is left to DPDK's tools (see demoServerArgv). */
const SERVER_LCORE = 1;
const TOOLS_LCORE = 0;

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

class ClientProcesses {
  /** One per client: resolves once it forwards (or has exited). */
  readonly ready: Array<Promise<void>> = [];

  constructor(
    private readonly alloc: LcoreAllocator,
    private readonly ealArgs: string[],
    private readonly onUnexpectedExit: (client: number, code: number | null, signal: string | null) => void,
  ) {}

  start(clientId: number, clients: number): void {
    const cpus = CPUS;
    const pinned = cpus > clients;
    const lease = this.alloc.acquire();
    const where = pinned ? `${(clientId % (cpus - 1)) + 1}` : `(0-${cpus - 1})`;
    const bin = path.join(__dirname, '..', 'bin', 'mp-client');
    const child = spawn(process.execPath, [bin, `--lcores=${lease.id}@${where}`, '--proc-type=secondary', ...this.ealArgs, '--', '-n', String(clientId)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.ready.push(
      new Promise<void>((resolve) => {
        let seen = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          if (/handling packets/.test(seen)) resolve();
        });
        child.on('exit', () => resolve());
      }),
    );
    if (child.pid === undefined) throw new Error(`cannot start client ${clientId}`);
    const childLease = this.alloc.transfer(lease, child.pid);
    child.on('exit', (code, signal) => {
      // After the server's cleanup the allocator's memzone is gone, and the lease with it.
      if (ealState() === 'initialised') this.alloc.release(childLease);
      if (code !== 0) this.onUnexpectedExit(clientId, code, signal);
    });
  }
}

export async function main(rawArgv: readonly string[]): Promise<number> {
  // `pnpm start -- --duration 10` passes its own '--' through.
  const argv = rawArgv[0] === '--' ? rawArgv.slice(1) : rawArgv;
  let server: ServerHandle;
  let parsed: ReturnType<typeof parseServerArgs> & { help: false };
  let duration: number | undefined;
  try {
    const demo = demoServerArgv(argv);
    duration = demo.duration;
    const p = parseServerArgs(demo.serverArgv);
    if (p.help) throw new HelpRequested(DEMO_USAGE);
    parsed = p;
    server = await startServer(demo.serverArgv);
  } catch (e) {
    return reportError('start', e);
  }
  let clients: ClientProcesses;
  try {
    const alloc = createLcoreAllocator({ reserved: [TOOLS_LCORE] });
    clients = new ClientProcesses(alloc, clientEalArgs(parsed.ealArgs), (c, code, signal) => {
      process.stderr.write(`demo: client ${c} exited (${signal ?? `code ${code}`})\n`);
    });
    for (let c = 0; c < parsed.options.clients; c++) clients.start(c, parsed.options.clients);
  } catch (e) {
    // The server's forwarding loop would keep this process alive for ever: stop it (and any client started) first.
    server.stop('the clients could not be started');
    await server.done;
    return reportError('start', e);
  }
  const onSignal = (sig: NodeJS.Signals): void => server.stop(`${sig} received`);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The terminal closed: stop as cleanly as on Ctrl-C instead of leaving the group's files behind;
  // writing to the terminal now fails (EIO), which must not end the shutdown half way.
  process.on('SIGHUP', (sig) => {
    for (const out of [process.stdout, process.stderr]) out.on('error', () => undefined);
    onSignal(sig);
  });
  if (duration !== undefined) {
    // Counted from when the clients forward: stopping while one is still
    // attaching would pull the shared memory from under it.
    const seconds = duration;
    // unref: stopped earlier (Ctrl-C), the demo must not wait for the timer to exit.
    void Promise.all(clients.ready).then(() => setTimeout(() => server.stop(`--duration ${seconds} s elapsed`), seconds * 1000).unref());
  }
  const code = await server.done;
  return code === 0 ? 0 : EXIT.failure;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
