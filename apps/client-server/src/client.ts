/**
 * mp-client: a secondary of client_server_mp. Looks up its ring, the pool and
 * port_info by the C sample's names, dequeues bursts and sends each packet
 * out of the port paired with the one it came in on, on TX queue = client id,
 * counting tx/tx_drop in its port_info slot. Beyond the C sample: it checks
 * its id and lcore against the other clients, stops when the server asks,
 * exits cleanly on SIGINT/SIGTERM, and notices within a second that the
 * server has died; with --reattach it then attaches to the next server
 * (reattach.ts).
 */
import {
  DEFAULT_FILE_PREFIX,
  DROP,
  abandon,
  cleanup,
  createPacketVector,
  currentLcore,
  dpdkError,
  ealOptionValue,
  filePrefixOf,
  hasCode,
  initEalFromArgv,
  monotonicMs,
  lookupMempool,
  portCount,
  primaryProcessAlive,
  processType,
  type Mempool,
  type PacketVector,
  type ParsedEalOption,
} from '@mp/dpdk-core';
import { EXIT, HelpRequested, UsageError, holdStopSignals, reportError } from '@mp/dpdk-core/cli';
import { lookupRing, lookupStruct, offsetOf, type Ownership, type PacketRing, type SharedStruct } from '@mp/mp-ring';
import { CLIENT_USAGE, parseClientArgs, type ClientOptions } from './args';
import { heapStats } from './heap';
import { runReattaching } from './reattach';
import { awaitTurn, checkGroup, onLauncherExit, reattachAfter, reportAttached } from './reattach-child';
import { ClientRegistry } from './registry';
import { standBy } from './standby';
import {
  MAX_ETHPORTS,
  MZ_PORT_INFO,
  MZ_REGISTRY,
  PACKET_READ_SIZE,
  PKTMBUF_POOL_NAME,
  TX_BUFFER_SIZE,
  clientRingName,
  clientTxBufferName,
  clientVectorName,
  pairPorts,
  portInfoLayout,
} from './shared';

/** The packet loop's clock, bound here: through the package's exports it would be a getter call each time. */
const now = monotonicMs;

/**
 * How long the forwarding loop runs before it hands control back to the
 * event loop (signals, timers): each return costs an allocation (Node's
 * Immediate), so it happens two hundred times a second, not once per poll of
 * an empty ring. The clock is read every POLLS_PER_CLOCK polls.
 */
const TURN_MS = 5;
const POLLS_PER_CLOCK = 64;

/**
 * client.c's forwarding rule, as the handler of `vec`: each packet out of the
 * port paired with the one it came in on (`route[input port]` is that port's
 * output, or DROP). Made for its vector, as the server's distributors are.
 */
export function toPairedPort(vec: PacketVector, route: Uint16Array): () => void {
  const { dests, ports } = vec;
  return () => {
    const n = vec.count;
    for (let i = 0; i < n; i++) dests[i] = route[ports[i] as number] as number;
  };
}
/** How often the client checks that the server (primary) is alive: well within the 1 s promise. */
const PRIMARY_CHECK_MS = 200;
/** The same under a --reattach launcher, where the check starts the way back: the next group waits. */
const REATTACH_CHECK_MS = 50;

const PROG = 'mp-client';

/**
 * Clients are secondaries: `--proc-type=secondary` is added when missing, and
 * `auto` is accepted only while a server runs (it would otherwise make this
 * client a primary with nothing to attach to).
 */
function secondaryArgv(argv: readonly string[], eal: readonly ParsedEalOption[]): string[] {
  const type = ealOptionValue(eal, '--proc-type');
  if (type === 'primary') throw new UsageError(PROG, 'a client is a secondary process; use --proc-type=secondary (or auto)');
  const prefix = filePrefixOf(eal);
  if (!primaryProcessAlive(prefix)) {
    throw dpdkError('ENOENT', PROG, `no server is running with --file-prefix=${prefix}; start mp-server first (with the same --file-prefix)`);
  }
  return type === undefined ? ['--proc-type=secondary', ...argv] : [...argv];
}

export class Client {
  readonly done: Promise<number>;
  private resolveDone!: (code: number) => void;
  private stopping = false;
  private needFlush = false;
  private timers: NodeJS.Timeout[] = [];
  private readonly forward: () => void;

  constructor(
    private readonly opts: ClientOptions,
    private readonly ring: PacketRing,
    private readonly pool: Mempool,
    private readonly vector: PacketVector,
    route: Uint16Array,
    /** Its slot in the server's registry; undefined under a server that keeps none (a C mp_server). */
    private readonly member: { registry: ClientRegistry; slot: Ownership } | undefined,
    private readonly lcore: number,
    /** This client's tx_stats in port_info, where its vector counts per port id. */
    private readonly txStats: { tx: BigUint64Array; tx_drop: BigUint64Array },
    /** Run by a --reattach launcher, which starts it again for the next server. */
    private readonly launched: boolean,
  ) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    this.forward = toPairedPort(vector, route);
  }

  start(): void {
    this.timers.push(
      setInterval(() => {
        if (!primaryProcessAlive()) this.serverGone();
      }, this.launched ? REATTACH_CHECK_MS : PRIMARY_CHECK_MS),
    );
    if (this.opts.statsInterval > 0) {
      heapStats();
      this.timers.push(setInterval(() => this.printStats(), this.opts.statsInterval * 1000));
    }
    setImmediate(this.pumpLater);
  }

  /** The next turn of the loop, made once: the loop allocates nothing of its own. */
  private readonly pumpLater = (): void => this.pump();

  /**
   * client.c's main loop: take what the ring holds, buffer each packet for
   * its paired port, flush when the ring runs dry. The vector is named: each
   * batch it takes is journaled, so if this process is killed half way the
   * server puts back in the ring what had not gone to a TX buffer
   * (reclaimPacketVector) and empties the TX buffers (reclaimTxBuffer).
   */
  private pump(): void {
    if (this.stopping) return;
    if (this.member?.registry.stopRequested) {
      this.stop('the server asked its clients to stop');
      return;
    }
    const vec = this.vector;
    const until = now() + TURN_MS;
    do {
      for (let i = 0; i < POLLS_PER_CLOCK; i++) {
        if (vec.fill() > 0) {
          this.forward();
          vec.send();
          this.needFlush = true;
        } else if (this.needFlush) {
          vec.flush();
          this.needFlush = false;
        }
      }
    } while (now() < until);
    setImmediate(this.pumpLater);
  }

  private printStats(): void {
    let tx = 0n;
    let drop = 0n;
    for (let p = 0; p < MAX_ETHPORTS; p++) {
      tx += this.txStats.tx[p] as bigint;
      drop += this.txStats.tx_drop[p] as bigint;
    }
    const s = { client: this.opts.clientId, tx: Number(tx), txDrop: Number(drop), queued: this.ring.count() };
    process.stdout.write(
      this.opts.statsFormat === 'json'
        ? `stats ${JSON.stringify({ ...s, ...heapStats() })}\n`
        : `Client ${s.client} - tx: ${s.tx}, tx_drop: ${s.txDrop}, queued: ${s.queued}\n`,
    );
  }

  /**
   * Sends what the TX buffers hold and returns every buffer this process
   * holds, including its lcore's pool cache, so nothing is lost with it.
   * Packets still in the ring stay there for the next client with this id.
   */
  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    process.stdout.write(`client ${this.opts.clientId} stopping: ${reason}\n`);
    this.vector.flush();
    this.vector.close();
    this.pool.flushCache(this.lcore);
    this.member?.registry.release(this.opts.clientId, this.member.slot);
    cleanup();
    this.resolveDone(0);
  }

  /**
   * The server's memory may be gone with it, and its locks held: touch
   * nothing shared (not even at exit: abandon), say so and leave with the
   * documented code.
   */
  private serverGone(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    abandon();
    const next = this.launched ? 're-attaching once a new one runs' : 'restart it, then restart the clients (or run them with --reattach)';
    process.stderr.write(`mp-client ${this.opts.clientId}: the server (primary process) has exited; ${next}\n`);
    this.resolveDone(EXIT.peerGone);
  }
}

/** The server's registry, or undefined under a server that keeps none (a C mp_server). */
function openRegistry(): ClientRegistry | undefined {
  try {
    return ClientRegistry.open(MZ_REGISTRY);
  } catch (e) {
    if (hasCode(e, 'ENOENT')) return undefined;
    throw e;
  }
}

/**
 * Everything a client does before it takes its registry slot: attached as a
 * secondary, its ring, the pool and port_info looked up, its routes worked
 * out. A standby (standby.ts) stops here until the slot is free.
 */
export interface AttachedClient {
  opts: ClientOptions;
  registry: ClientRegistry | undefined;
  ring: PacketRing;
  pool: Mempool;
  portInfo: SharedStruct<typeof portInfoLayout>;
  lcore: number;
  outputs: number[];
  route: Uint16Array;
  /** Under a --reattach launcher: the generation of the server it waited for. */
  expected: number | undefined;
}

export function attachClient(argv: readonly string[], expected?: number): AttachedClient {
  const parsed = parseClientArgs(argv);
  if (parsed.help) throw new HelpRequested(CLIENT_USAGE);
  const opts = parsed.options;
  const fullArgv = secondaryArgv(argv, parsed.eal);
  try {
    initEalFromArgv(fullArgv);
  } catch (e) {
    throw dpdkError(hasCode(e) ? e.code : 'EINVAL', PROG, `cannot attach to the server: ${(e as Error).message}`);
  }
  if (processType() !== 'secondary') {
    throw dpdkError('ENOENT', PROG, 'this client became a primary (no server was running); start mp-server first');
  }
  if (portCount() === 0) throw dpdkError('ENODEV', PROG, 'No Ethernet ports - bye (the server has no ports?)');
  if (expected !== undefined) checkGroup(expected);
  const registry = openRegistry();
  let ring: PacketRing;
  try {
    ring = lookupRing(clientRingName(opts.clientId));
  } catch (e) {
    if (!hasCode(e, 'ENOENT')) throw e;
    const n = registry?.numClients;
    throw dpdkError(
      'ENOENT',
      PROG,
      n !== undefined
        ? `client id ${opts.clientId} is out of range: the server runs ${n} client${n === 1 ? '' : 's'} (ids 0-${n - 1})`
        : `Cannot get RX ring ${clientRingName(opts.clientId)} - is the server running with more than ${opts.clientId} clients?`,
    );
  }
  const pool = lookupMempool(PKTMBUF_POOL_NAME);
  // 'ESCHEMA' if the server's struct port_info is not this one.
  const portInfo = lookupStruct(MZ_PORT_INFO, portInfoLayout);
  const ids = [...portInfo.fields.id.subarray(0, portInfo.fields.num_ports)];
  const lcore = currentLcore();
  if (lcore === null) throw dpdkError('EINVAL', PROG, 'this process has no lcore id; start it with -l or --lcores');
  const pairs = pairPorts(ids);
  const outputs = [...new Set(pairs.values())];
  const route = new Uint16Array(MAX_ETHPORTS).fill(DROP);
  for (const [input, output] of pairs) route[input] = outputs.indexOf(output);
  return { opts, registry, ring, pool, portInfo, lcore, outputs, route, expected };
}

/** Takes the client's registry slot, creates its named vector and starts forwarding. */
export async function runClient(a: AttachedClient): Promise<Client> {
  const { opts, registry, ring, pool, portInfo, lcore, outputs, route, expected } = a;
  const member = registry ? { registry, slot: await registry.join(opts.clientId, lcore) } : undefined;
  if (!member) process.stderr.write('mp-client: the server keeps no client registry (a C mp_server?); dead-client repair is off\n');
  if (member && expected !== undefined) reportAttached(member.registry.generation);
  const txStats = portInfo.fields.tx_stats[opts.clientId] as { tx: BigUint64Array; tx_drop: BigUint64Array };
  // The vector counts into port_info's words: tx_stats[id].tx[port] and .tx_drop[port], by index over the whole zone.
  const word = (field: 'tx' | 'tx_drop', port: number): number => offsetOf(portInfoLayout, ['tx_stats', opts.clientId, field, port]) / 8;
  let vector: PacketVector;
  try {
    vector = createPacketVector({
      pool,
      // client.c's read size: a batch stays listed in the ring until it is
      // sent (the journaled peek), and a whole ring's batch left the server
      // no room for its next share until then.
      capacity: PACKET_READ_SIZE,
      // Packets go out by the port they came in on: no byte is read.
      bytes: false,
      input: { ring },
      outputs: outputs.map((port) => ({ port, queue: opts.clientId, buffer: { size: TX_BUFFER_SIZE, name: clientTxBufferName(opts.clientId, port) } })),
      name: clientVectorName(opts.clientId),
      counters: {
        array: new BigUint64Array(portInfo.memzone.view()),
        sent: outputs.map((port) => word('tx', port)),
        dropped: outputs.map((port) => word('tx_drop', port)),
      },
    });
  } catch (e) {
    member?.registry.release(opts.clientId, member.slot);
    throw e;
  }
  const client = new Client(opts, ring, pool, vector, route, member, lcore, txStats, expected !== undefined);
  process.stdout.write(`\nClient process ${opts.clientId} handling packets (pid ${process.pid}, lcore ${lcore})\n[Press Ctrl-C to quit ...]\n`);
  client.start();
  return client;
}

export async function main(argv: readonly string[]): Promise<number> {
  let client: Client;
  let prefix = DEFAULT_FILE_PREFIX;
  // Taken before the start: the "handling packets" line may be answered by a
  // signal at once. The waits below (a turn, a standby's) stop on their own.
  const signals = holdStopSignals();
  try {
    const parsed = parseClientArgs(argv);
    if (!parsed.help) prefix = filePrefixOf(parsed.eal);
    if (!parsed.help && parsed.options.reattach) {
      // The launcher passes signals to the client it runs.
      signals.release();
      return await runReattaching(argv, prefix, parsed.options.clientId);
    }
    const after = reattachAfter();
    const expected = after === undefined ? undefined : await awaitTurn(prefix, after);
    if (expected === null) return EXIT.ok;
    const attached = attachClient(argv, expected);
    if (attached.opts.standby) {
      const outcome = await standBy(attached, runClient);
      if (typeof outcome === 'number') return outcome;
      client = outcome;
    } else {
      client = await runClient(attached);
    }
  } catch (e) {
    // Under a launcher, a server that died while this client attached is the launcher's to wait out.
    if (reattachAfter() !== undefined && !primaryProcessAlive(prefix)) {
      abandon();
      return EXIT.peerGone;
    }
    return reportError(PROG, e);
  }
  signals.onStop((sig) => client.stop(`${sig} received`));
  if (reattachAfter() !== undefined) onLauncherExit(() => client.stop('its --reattach launcher exited'));
  return client.done;
}
