/**
 * mp-l2fwd's master: the primary. Configures the ports, one packet pool per
 * slave, the shared port statistics, and supervises one slave process per
 * forwarding unit with @mp/recovery (l2fwd_fork rebuilt on separate
 * processes: no fork after EAL init). runMaster is these steps in order.
 */
import os from 'node:os';
import path from 'node:path';
import { auditMempool, createPktmbufPool, dpdkError, ealArgvOf, enableCapture, filePrefixOf, initEalFromArgv, lcores, mainLcore, monotonicMs, openPort, portIds, type Lcore, type Mempool, type ParsedEalOption, type Port } from '@mp/dpdk-core';
import { HelpRequested, UsageError } from '@mp/dpdk-core/cli';
import { cpuSetString, createLcoreAllocator, type LcoreAllocator } from '@mp/lcore-alloc';
import { createZone } from '@mp/mp-ring';
import { Supervisor, packetVectors, poolAudit, poolCache, txBuffers, type SlaveSpecInput } from '@mp/recovery';
import { USAGE, enabledPorts, pairPorts, parseL2fwdCommandLine, slaveUnits, type AppOptions } from './args';
import { leasedIds, reportRecovery } from './report';
import {
  LCORE_ZONE,
  POOL_CACHE,
  RX_DESC,
  SLAVE_MAX_PUT,
  STATS_ZONE,
  SUPERVISOR_ZONE,
  TX_DESC,
  poolSize,
  slaveCounters,
  slavePoolName,
  statsZone,
  txBufferName,
  vectorName,
  type SlaveConfig,
} from './shared';
import { serveMasterMetrics } from './metrics';
import { L2fwdRates } from './rates';
import { renderStats, statsSnapshot } from './stats';

const PROG = 'mp-l2fwd';

interface Unit {
  index: number;
  name: string;
  routes: Array<{ rx: number; tx: number }>;
  pool: Mempool;
  /** Buffers the unit's RX queues hold with no slave running (the audit's baseline). */
  baseline: number;
}

export interface MasterHandle {
  supervisor: Supervisor;
  units: Unit[];
  shutdown(): Promise<void>;
}

/** The forwarding units: which ports each slave receives from, where each sends, on which lcores. */
interface Plan {
  enabled: number[];
  units: Array<Array<{ rx: number; tx: number }>>;
  main: number;
  workers: Lcore[];
}

/** EAL options slaves inherit from the master's command line (drivers loaded with -d included), however they were written. */
const INHERITED_EAL_OPTIONS = new Set(['--log-level', '--no-pci', '--base-virtaddr', '--in-memory', '--no-telemetry', '-d']);
function inheritedEalArgs(eal: readonly ParsedEalOption[]): string[] {
  return ealArgvOf(eal.filter((o) => INHERITED_EAL_OPTIONS.has(o.name)));
}

function slaveEntry(): string {
  return path.join(__dirname, `slave${path.extname(__filename)}`);
}

/** Ports of the mask, their pairs, one unit per -q ports, and enough lcores for the units (unless they float). */
function planUnits(opts: AppOptions, out: (line: string) => void): Plan {
  const ids = portIds();
  const { enabled, missing } = enabledPorts(opts.portmask, ids);
  // As l2fwd 22.11 ("Invalid portmask; possible ..."): a port of the mask that does not exist is refused, not skipped.
  if (missing.length > 0 || enabled.length === 0) {
    const possible = ids.reduce((m, p) => (p < 32 ? m | (1 << p) : m), 0) >>> 0;
    throw dpdkError(
      'ENODEV',
      PROG,
      `port(s) ${missing.join(', ') || 'none'} of mask 0x${opts.portmask.toString(16)} do not exist (ports: ${ids.join(', ') || 'none'}, mask 0x${possible.toString(16)}); fix -p, or add the ports (e.g. --vdev=net_tap0)`,
    );
  }
  const dst = pairPorts(enabled);
  const units = slaveUnits(enabled, opts.portsPerSlave).map((ports) => ports.map((rx) => ({ rx, tx: dst.get(rx) as number })));
  const main = mainLcore();
  const workers = lcores().filter((l) => l.id !== main);
  if (!opts.float && workers.length < units.length) {
    throw new UsageError(
      PROG,
      `${units.length} slave(s) needed for ${enabled.length} port(s) at -q ${opts.portsPerSlave}, but the EAL lcore set has ${workers.length} lcore(s) besides the main one; ` +
        `give ${units.length + 1} lcores (e.g. -l 0-${units.length}), raise -q, or use --float`,
    );
  }
  return { enabled, units, main, workers };
}

/** One pool per unit, each port's RX queue on the pool of the unit receiving from it; the ports started. */
function startPorts(plan: Plan): { units: Unit[]; ports: Port[] } {
  const units: Unit[] = plan.units.map((routes, index) => {
    const pool = createPktmbufPool(slavePoolName(index), { size: poolSize(routes.length), cacheSize: POOL_CACHE });
    return { index, name: `slave${index}`, routes, pool, baseline: 0 };
  });
  const poolOfPort = new Map<number, Mempool>();
  for (const u of units) for (const r of u.routes) poolOfPort.set(r.rx, u.pool);
  const ports = plan.enabled.map((id) => {
    const port = openPort(id);
    port.configure({ rxQueues: 1, txQueues: 1, rxDesc: RX_DESC, txDesc: TX_DESC, rss: false });
    port.setupRxQueue(0, poolOfPort.get(id) as Mempool);
    port.setupTxQueue(0);
    try {
      port.setPromiscuous(true);
    } catch {
      // Not every virtual device has a promiscuous mode; forwarding does not need it.
    }
    port.start();
    return port;
  });
  for (const u of units) u.baseline = u.pool.inUseCount();
  return { units, ports };
}

/** One slave per unit: pinned to a worker lcore or floating, depending on the slaves sending to its ports, with what it holds. */
function slaveSpecs(units: Unit[], plan: Plan, opts: AppOptions): SlaveSpecInput[] {
  const cpus = `0-${os.cpus().length - 1}`;
  const unitOfPort = new Map<number, Unit>();
  for (const u of units) for (const r of u.routes) unitOfPort.set(r.rx, u);
  return units.map((u, i) => {
    const config: SlaveConfig = { unit: u.index, routes: u.routes, macUpdating: opts.macUpdating };
    // A slave depends on the slaves receiving from the ports it sends to: their
    // port pair is reset together, as l2fwd_fork's reset_pair did.
    const dependsOn = [...new Set(u.routes.map((r) => unitOfPort.get(r.tx)?.name).filter((n): n is string => n !== undefined && n !== u.name))];
    const worker = plan.workers[i];
    return {
      name: u.name,
      entry: slaveEntry(),
      args: [JSON.stringify(config)],
      // Pinned as the master's EAL set that lcore: on the CPUs -l/--lcores gave it.
      lcore: opts.float || worker === undefined ? { floating: true as const, cpus } : { id: worker.id, cpu: cpuSetString(worker.cpus) },
      dependsOn,
      // Fast recovery: the pair only pauses (its pool and queues are its own,
      // nothing of the dead slave's reaches them) and the dead slave's warm
      // standby, attached and idle, takes over once the pool is repaired.
      standby: !opts.coldRestart,
      onDependencyExit: opts.coldRestart ? 'restart' : 'pause',
      resources: [
        poolCache(u.pool, { maxPut: SLAVE_MAX_PUT }),
        packetVectors([vectorName(u.index)]),
        txBuffers([...new Set(u.routes.map((r) => txBufferName(u.index, r.tx)))]),
        poolAudit(u.pool, () => u.baseline),
      ],
    };
  });
}

export async function runMaster(argv: readonly string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<MasterHandle> {
  const line = parseL2fwdCommandLine(argv);
  if (line.help) throw new HelpRequested(USAGE);
  const opts = line.options;
  initEalFromArgv(argv, { secondariesWillAttach: true });
  const prefix = filePrefixOf(line.eal);
  const plan = planUnits(opts, out);
  const statsZoneHandle = createZone(STATS_ZONE, statsZone);
  const stats = new BigUint64Array(statsZoneHandle.memzone.view());
  const { units, ports } = startPorts(plan);
  // dpdk-dumpcap / dpdk-pdump can attach; DPDK 22.11 captures only what this process itself sends or receives (README).
  enableCapture();
  const allocator: LcoreAllocator | undefined = opts.float ? createLcoreAllocator({ name: LCORE_ZONE }) : undefined;
  const supervisor = new Supervisor(
    {
      filePrefix: prefix,
      zoneName: SUPERVISOR_ZONE,
      ealArgs: inheritedEalArgs(line.eal),
      ownLcores: [plan.main],
      heartbeatTimeoutMs: 1000,
      ackTimeoutMs: opts.ackTimeout,
      restart: { initialDelayMs: 0, maxRestarts: 100, windowMs: 60_000 },
      counters: slaveCounters,
      ...(allocator ? { allocator } : {}),
    },
    slaveSpecs(units, plan, opts),
  );
  const stopReports = reportRecovery({ supervisor, routesOf: (name) => units.find((u) => u.name === name)?.routes ?? [], stats, allocator, json: opts.json, out });

  // Before any slave starts: a port in use is refused with nothing to stop.
  const metrics = await serveMasterMetrics(opts, { ports, pools: units.map((u) => u.pool), stats, supervisor });
  if (metrics) out(opts.json ? JSON.stringify({ event: 'metrics', url: metrics.url }) : `mp-l2fwd: serving Prometheus metrics at ${metrics.url}`);

  await supervisor.start();
  out(
    opts.json
      ? JSON.stringify({
          event: 'started',
          prefix,
          ports: ports.map((p) => ({ id: p.id, mac: p.mac })),
          slaves: supervisor.status().map((s) => ({ name: s.name, pid: s.pid, lcore: s.lcore, standby: s.standby })),
          leases: leasedIds(allocator),
          pools: units.map((u) => ({ name: u.pool.name, size: u.pool.size, baseline: u.baseline })),
        })
      : `mp-l2fwd: ${plan.enabled.length} port(s), ${units.length} slave(s): ` +
          supervisor
            .status()
            .map((s) => `${s.name} pid ${s.pid} lcore ${s.lcore}`)
            .join(', '),
  );

  let statsTimer: NodeJS.Timeout | null = null;
  if (opts.statsPeriod > 0) {
    const rates = new L2fwdRates();
    statsTimer = setInterval(() => {
      const device = new Map(ports.map((p) => [p.id, p.stats()]));
      const slaves = supervisor.status().map((s) => ({
        name: s.name,
        status: s.status,
        pid: s.pid,
        lcore: s.lcore,
        ealLcore: s.counters['ealLcore'],
        restarts: s.restarts,
        rx: Number(s.counters['received'] ?? 0),
        tx: Number(s.counters['sent'] ?? 0),
        standby: s.standby,
      }));
      const rated = rates.rate(statsSnapshot(stats, plan.enabled), device, slaves, monotonicMs());
      // In use from the same read as available: two reads while slaves run need not add up to the size.
      const pools = units.map((u) => {
        const available = u.pool.availableCount();
        return { name: u.pool.name, size: u.pool.size, available, inUse: u.pool.size - available };
      });
      out(opts.json ? JSON.stringify({ event: 'stats', ...rated.snap, slaves: rated.slaves, pools, leases: leasedIds(allocator) }) : renderStats(rated.snap, { slaves: rated.slaves, pools }));
    }, opts.statsPeriod * 1000);
  }

  let closing: Promise<void> | null = null;
  const shutdown = (): Promise<void> => {
    closing ??= (async () => {
      // First: a scrape reads the ports, pools and zones this shutdown frees.
      await metrics?.close();
      if (statsTimer) clearInterval(statsTimer);
      const r = await supervisor.shutdown();
      const snap = statsSnapshot(stats, plan.enabled);
      for (const p of ports) p.stop();
      for (const p of ports) p.close();
      // With the slaves stopped and the ports closed, every buffer is in its
      // pool's ring or a cache, once (as mp-server audits its pool): what is
      // not was lost with killed slaves, what is there twice was freed twice.
      const audits = units.map((u) => {
        const a = auditMempool(u.pool);
        return { pool: u.pool.name, size: a.size, duplicates: a.duplicates, lost: a.lost };
      });
      // Buffers lost with killed slaves keep a pool "in use" for ever; such a
      // pool is released with the rest of EAL's memory at exit.
      for (const u of units) if (u.pool.inUseCount() === 0) u.pool.free();
      allocator?.free();
      stopReports();
      statsZoneHandle.release();
      const audited = audits.map((a) => `${a.pool} ${a.size} buffers, ${a.duplicates} listed twice, ${a.lost} lost`).join('; ');
      out(
        opts.json
          ? JSON.stringify({ event: 'shutdown', unaccountedBuffers: r.unaccountedBuffers, audits, ...snap })
          : `${renderStats(snap)}\nmp-l2fwd: shut down; unaccounted buffers ${r.unaccountedBuffers}; pool audit: ${audited}`,
      );
    })();
    return closing;
  };
  return { supervisor, units, shutdown };
}
