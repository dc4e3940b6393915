/**
 * mp-server: the primary of client_server_mp. Owns the ports, the packet pool,
 * one ring per client and the port_info memzone (names and layout of the C
 * sample, so C clients attach to it), reads each port in turn and hands the
 * packets to the clients round robin. Beyond the C sample: it tells attached
 * clients to stop before it shuts down, and when a client dies it repairs
 * what that client left half done in the pool before the client's slot can
 * be reused.
 */
import {
  auditMempool,
  cleanup,
  createPacketRing,
  createPacketVector,
  createPktmbufPool,
  currentLcore,
  dpdkError,
  enableCapture,
  hasCode,
  initEalFromArgv,
  monotonicMs,
  openPort,
  ports as listPorts,
  processType,
  registerTelemetry,
  type Mempool,
  type PacketVector,
  type Port,
  type TelemetryCommand,
} from '@mp/dpdk-core';
import { EXIT, HelpRequested, UsageError, holdStopSignals, reportError } from '@mp/dpdk-core/cli';
import { createStruct, type PacketRing, type SharedStruct } from '@mp/mp-ring';
import type { HolderWatch } from '@mp/recovery';
import { SERVER_USAGE, parseServerArgs, type ServerOptions } from './args';
import { AttachedClients } from './attached-clients';
import { watchClients } from './client-repair';
import { distributor, readsBytes, type Distributor } from './distribute';
import { markReady } from './ready';
import { ClientRegistry } from './registry';
import { STANDBY_ENV, untilGo } from './server-standby';
import {
  CLIENT_QUEUE_RINGSIZE,
  MBUF_CACHE_SIZE,
  MZ_PORT_INFO,
  MZ_REGISTRY,
  PACKET_READ_SIZE,
  PKTMBUF_POOL_NAME,
  SERVER_READ_SIZE,
  serverVectorCapacity,
  clientRingName,
  poolSize,
  portInfoLayout,
  queuePlan,
} from './shared';
import { heapStats } from './heap';
import { serveServerMetrics } from './metrics';
import { StatsRates } from './rates';
import { readStats, renderJson, renderText, type StatsSnapshot } from './stats';
import type { MetricsEndpoint } from '@mp/metrics';

/** The packet loop's clock, bound here: through the package's exports it would be a getter call each time. */
const now = monotonicMs;

/**
 * How long the forwarding loop runs before it hands control back to the
 * event loop (signals, timers, client repair): each return costs an
 * allocation (Node's Immediate), so it happens two hundred times a
 * second, not once per vector. The clock is read every VECTORS_PER_CLOCK vectors.
 */
const TURN_MS = 5;
const VECTORS_PER_CLOCK = 16;
/**
 * How often the server looks for dead clients, which a standby waits for. A
 * look reads each held slot's pid and asks kill(pid, 0), allocating nothing;
 * one look in ten reads /proc (recovery's HolderWatch).
 */
const WATCH_MS = 10;
/**
 * How often the telemetry snapshots are refreshed: once a second, as the
 * stats screen. Each refresh is checked by @mp/dpdk-core's zod schema,
 * about 37 KB of garbage for the two commands; at 4 a second that was the
 * server's only steady allocation (a scavenge every 7 s).
 */
const TELEMETRY_MS = 1000;

export interface ServerHandle {
  /** Resolves with the exit code once the server has shut down. */
  readonly done: Promise<number>;
  stop(reason: string): void;
  snapshot(): StatsSnapshot;
}

class Server implements ServerHandle {
  readonly done: Promise<number>;
  private resolveDone!: (code: number) => void;
  private stopping = false;
  private readonly macs = new Map<number, string>();
  private readonly portInfoView: DataView;
  private timers: NodeJS.Timeout[] = [];
  private readonly log: (line: string) => void;
  private telemetry: { clients: TelemetryCommand; ports: TelemetryCommand } | undefined;
  private readonly watch: HolderWatch;
  private readonly attached: AttachedClients;
  private readonly rates = new StatsRates();

  constructor(
    private readonly opts: ServerOptions,
    private readonly portInfo: SharedStruct<typeof portInfoLayout>,
    private readonly registry: ClientRegistry,
    private readonly pool: Mempool,
    private readonly ports: Port[],
    private readonly rings: PacketRing[],
    private readonly vector: PacketVector,
    private readonly distribute: Distributor,
    private readonly metrics: MetricsEndpoint | undefined,
  ) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    for (const p of ports) this.macs.set(p.id, p.mac);
    this.portInfoView = new DataView(portInfo.memzone.view());
    this.log = (line) => process.stdout.write(`${line}\n`);
    this.watch = watchClients(registry, pool, opts.portIds, this.log);
    this.attached = new AttachedClients(registry);
  }

  start(): void {
    this.telemetry = {
      clients: registerTelemetry('/mp/clients', 'client-server clients: rx, rx_drop, tx, tx_drop per client id; pid of TS clients and pool repairs after their deaths'),
      ports: registerTelemetry('/mp/ports', 'client-server ports: id, mac, rx, tx, tx_drop per port'),
    };
    this.publishTelemetry();
    this.timers.push(setInterval(() => this.publishTelemetry(), TELEMETRY_MS));
    this.timers.push(setInterval(() => void this.watchClients(), WATCH_MS));
    if (this.opts.statsInterval > 0) {
      heapStats();
      this.timers.push(setInterval(() => this.printStats(), this.opts.statsInterval * 1000));
    }
    if (this.opts.duration !== undefined) {
      this.timers.push(setTimeout(() => this.stop(`--duration ${this.opts.duration} s elapsed`), this.opts.duration * 1000));
    }
    setImmediate(this.pumpLater);
  }

  /** The next turn of the loop, made once: the loop allocates nothing of its own. */
  private readonly pumpLater = (): void => this.pump();

  /**
   * main.c do_packet_forwarding, in turns that hand control back to the event
   * loop: fill the vector from the ports in turn (rx_stats in port_info
   * counts each read), give each packet a client (round robin or by flow, in
   * TypeScript), and enqueue each client's share on its ring (bulk, as the C
   * server does: a share that does not fit is dropped and counted).
   */
  private pump(): void {
    if (this.stopping) return;
    const vec = this.vector;
    const until = now() + TURN_MS;
    do {
      for (let v = 0; v < VECTORS_PER_CLOCK; v++) {
        if (vec.fill() === 0) continue;
        this.distribute();
        vec.send();
      }
    } while (now() < until);
    setImmediate(this.pumpLater);
  }

  snapshot(): StatsSnapshot {
    const counters = [];
    for (let c = 0; c < this.opts.clients; c++) counters.push({ rx: this.vector.sent[c] as number, rxDrop: this.vector.dropped[c] as number });
    return readStats(this.portInfoView, this.opts.clients, counters, this.macs);
  }

  /** What `dpdk-telemetry.py` shows for /mp/clients and /mp/ports; also the server-side counters in the control memzone. */
  private publishTelemetry(): void {
    const s = this.snapshot();
    for (const c of s.clients) this.registry.publish(c.id, c.rx, c.rxDrop);
    this.telemetry?.clients.publish({
      clients: s.clients.length,
      rx: s.clients.map((c) => c.rx),
      rx_drop: s.clients.map((c) => c.rxDrop),
      tx: s.clients.map((c) => c.tx),
      tx_drop: s.clients.map((c) => c.txDrop),
      pid: s.clients.map((c) => this.registry.holding(c.id).pid),
      repairs: s.clients.map((c) => this.registry.repairs(c.id)),
    });
    this.telemetry?.ports.publish({
      ports: s.ports.length,
      id: s.ports.map((p) => p.id),
      mac: s.ports.map((p) => p.mac),
      rx: s.ports.map((p) => p.rx),
      tx: s.ports.map((p) => p.tx),
      tx_drop: s.ports.map((p) => p.txDrop),
    });
  }

  private printStats(): void {
    const stats = new Map(this.ports.map((p) => [p.id, p.stats()]));
    const s = this.rates.rate(this.snapshot(), stats, now());
    if (this.opts.statsFormat === 'json') {
      const device = [...stats].map(([id, st]) => ({ id, imissed: st.imissed, ierrors: st.ierrors, rxNoMbuf: st.rxNoMbuf, oerrors: st.oerrors }));
      const queued = this.rings.map((r) => r.count());
      process.stdout.write(
        renderJson(s, { time: Date.now(), device, poolSize: this.pool.size, poolAvailable: this.pool.availableCount(), queued, ...heapStats() }),
      );
    } else {
      // In use from the same read as available: two reads while clients run need not add up to the size.
      const available = this.pool.availableCount();
      const pool = { name: this.pool.name, size: this.pool.size, available, inUse: this.pool.size - available };
      const rings = this.rings.map((r) => ({ name: r.name, count: r.count(), capacity: r.capacity }));
      process.stdout.write(renderText(s, { clear: process.stdout.isTTY === true, occupancy: { pool, rings } }));
    }
  }

  /**
   * Remembers every client seen registered, then lets the watch repair what
   * dead ones left half done (client-repair.ts) before their slot (and so
   * their lcore id) can be used again.
   */
  private watchClients(): Promise<void> {
    this.attached.remember();
    return this.watch.check();
  }

  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log(`stopping: ${reason}`);
    void this.shutdown().then(
      (code) => this.resolveDone(code),
      (e: unknown) => {
        process.stderr.write(`mp-server: shutdown failed: ${(e as Error).message}\n`);
        this.resolveDone(EXIT.failure);
      },
    );
  }

  /** Clients first (they transmit on our ports and hold our buffers), then ports, rings, pool, memory. */
  private async shutdown(): Promise<number> {
    // First: a scrape reads the ports and the pool this shutdown frees.
    await this.metrics?.close();
    const allStopped = await this.attached.stop();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.watchClients();
    if (this.opts.statsInterval > 0) this.printStats();
    this.vector.close();
    for (const p of this.ports) p.close();
    for (const r of this.rings) r.free();
    // With everyone stopped, every buffer is in the pool's ring or a cache,
    // once: what is not was lost with killed clients (cleanup() frees the
    // pool regardless); what is there twice was freed twice.
    const audit = auditMempool(this.pool);
    this.log(`pool audit: ${audit.size} buffers, ${audit.duplicates} listed twice, ${audit.lost} lost with killed clients`);
    if (audit.lost === 0) this.pool.free();
    this.registry.free();
    this.portInfo.free();
    cleanup();
    this.log('server stopped');
    return allStopped ? 0 : EXIT.failure;
  }
}

const PROG = 'mp-server';

/** Everything init.c does, in its order, after the app args were checked. */
export async function startServer(argv: readonly string[]): Promise<ServerHandle> {
  const parsed = parseServerArgs(argv);
  if (parsed.help) throw new HelpRequested(SERVER_USAGE);
  const opts = parsed.options;
  const procType = parsed.eal.find((o) => o.name === '--proc-type')?.value;
  if (procType === 'secondary') {
    throw new UsageError(PROG, 'the server is the primary process; drop --proc-type=secondary (clients are the secondaries)');
  }
  try {
    initEalFromArgv(argv);
  } catch (e) {
    throw dpdkError(hasCode(e) ? e.code : 'EINVAL', PROG, `cannot initialise EAL: ${(e as Error).message}`);
  }
  if (processType() !== 'primary') {
    throw dpdkError('EEXIST', PROG, 'another primary already runs with this --file-prefix; the server must be the primary (use another --file-prefix)');
  }
  const available = listPorts().map((p) => p.id);
  const missing = opts.portIds.filter((id) => !available.includes(id));
  if (missing.length > 0) {
    throw dpdkError(
      'ENODEV',
      PROG,
      `the port mask selects port${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which ${missing.length > 1 ? 'do' : 'does'} not exist (ports: ${available.join(', ') || 'none'}); add devices (--vdev, -a) or fix -p`,
    );
  }
  const portInfo = createStruct(MZ_PORT_INFO, portInfoLayout);
  portInfo.fields.num_ports = opts.portIds.length;
  portInfo.fields.id.set(opts.portIds);
  const registry = ClientRegistry.create(MZ_REGISTRY, { pid: process.pid, lcore: currentLcore(), clients: opts.clients, ports: opts.portIds.length });

  const size = poolSize(opts.portIds.length, opts.clients);
  process.stdout.write(`Creating mbuf pool '${PKTMBUF_POOL_NAME}' [${size} mbufs] ...\n`);
  const pool = createPktmbufPool(PKTMBUF_POOL_NAME, { size, cacheSize: MBUF_CACHE_SIZE });
  const plan = queuePlan(opts.clients);
  const ports: Port[] = [];
  for (const id of opts.portIds) {
    process.stdout.write(`Port ${id} init ... `);
    const port = openPort(id);
    try {
      port.configure({ rxQueues: plan.rxQueues, txQueues: plan.txQueues });
      for (let q = 0; q < plan.rxQueues; q++) port.setupRxQueue(q, pool);
      for (let q = 0; q < plan.txQueues; q++) port.setupTxQueue(q);
      port.setPromiscuous(true);
      port.start();
    } catch (e) {
      throw dpdkError(
        hasCode(e) ? e.code : 'EINVAL',
        PROG,
        `port ${id} (${port.name}) refused the server's queue plan, ${plan.rxQueues} RX queue and ${plan.txQueues} TX queue${plan.txQueues > 1 ? 's' : ''} (one per client): ${(e as Error).message}. ` +
          "Some drivers need as many RX as TX queues (net_tap does): use fewer clients or another device; DPDK's log above has the driver's reason",
      );
    }
    ports.push(port);
    process.stdout.write('done\n');
  }
  for (const port of ports) {
    const link = await port.waitForLink();
    process.stdout.write(`Port ${port.id} Link ${link.up ? 'up' : 'down'} - speed ${link.speedMbps} Mbps\n`);
  }
  const rings: PacketRing[] = [];
  for (let c = 0; c < opts.clients; c++) {
    rings.push(createPacketRing(clientRingName(c), { size: CLIENT_QUEUE_RINGSIZE, producer: 'single', consumer: 'single' }));
  }
  // Round robin hands each client its share in pieces of the C server's read
  // size (32), each whole or not at all, as the C server enqueues its share
  // of each read: a ring with room for 32 but not a whole vector's share
  // still takes 32 (a client that runs rarely, as on a CPU it shares with the
  // server, finds its ring 3/4 full, not 1/2). By flow a share is
  // whatever the hash gave, so the ring takes what fits.
  const vector = createPacketVector({
    pool,
    capacity: serverVectorCapacity(opts.clients),
    bytes: readsBytes(opts.distribute),
    input: { ports: opts.portIds.map((port) => ({ port, queue: 0 })), burstSize: SERVER_READ_SIZE },
    outputs: rings.map((ring) => (opts.distribute === 'rr' ? { ring, bulk: true, bulkLimit: PACKET_READ_SIZE } : { ring, bulk: false })),
    counters: { array: portInfo.fields.rx_stats.rx, received: opts.portIds.map((_, index) => index) },
  });
  // dpdk-dumpcap / dpdk-pdump can now attach and capture what the server receives.
  enableCapture();
  const metrics = await serveServerMetrics(opts, {
    ports,
    pool,
    rings,
    portInfo: new DataView(portInfo.memzone.view()),
    enqueued: vector.sent,
    dropped: vector.dropped,
    repairs: (c) => registry.repairs(c),
  });
  if (metrics) process.stdout.write(`Serving Prometheus metrics at ${metrics.url}\n`);
  const server = new Server(opts, portInfo, registry, pool, ports, rings, vector, distributor(opts.distribute, vector, opts.clients), metrics);
  markReady(registry.generation);
  process.stdout.write(`APP: Finished Process Init (pid ${process.pid}, lcore ${currentLcore() ?? '?'}, ${opts.clients} clients, ports ${opts.portIds.join(',')}).\n`);
  server.start();
  return server;
}

/** The bin's entry: exit codes and messages by @mp/dpdk-core/cli's convention. */
export async function main(argv: readonly string[]): Promise<number> {
  if (process.env[STANDBY_ENV] === '1' && !(await untilGo())) return 0;
  let server: ServerHandle;
  // Taken after a standby's wait (a signal ends it at once) and before the
  // start: the "Finished Process Init" line may be answered by a signal at once.
  const signals = holdStopSignals();
  try {
    server = await startServer(argv);
  } catch (e) {
    return reportError(PROG, e);
  }
  signals.onStop((sig) => server.stop(`${sig} received`));
  return server.done;
}
