/**
 * mp-l2fwd's master: the primary. Configures the ports, one packet pool per
 * slave, the shared port statistics, and supervises one slave process per
 * forwarding unit with @mp/recovery (l2fwd_fork rebuilt on separate
 * processes: no fork after EAL init).
 */
import os from 'node:os';
import path from 'node:path';
import {
  DpdkError,
  createPktmbufPool,
  enableCapture,
  initEalFromArgv,
  lcores,
  mainLcore,
  monotonicMs,
  openPort,
  portIds,
  reserveMemzone,
  type Mempool,
  type Port,
} from '@mp/dpdk-core';
import { createLcoreAllocator, type LcoreAllocator } from '@mp/lcore-alloc';
import { Supervisor, packetVectors, poolAudit, poolCache, txBuffers, type SlaveSpecInput } from '@mp/recovery';
import { enabledPorts, pairPorts, parseAppArgs, slaveUnits, type AppOptions } from './args';
import { CONTROL_ZONE, LCORE_ZONE, POOL_CACHE, RX_DESC, SLAVE_MAX_PUT, STAT, STATS_BYTES, STATS_ZONE, TX_DESC, poolSize, slavePoolName, statIndex, txBufferName, vectorName, type SlaveConfig } from './names';
import { serveMasterMetrics } from './metrics';
import { L2fwdRates } from './rates';
import { renderStats, statsSnapshot } from './stats';

interface Unit {
  index: number;
  name: string;
  routes: Array<{ rx: number; tx: number }>;
  pool: Mempool;
  /** Buffers the unit's RX queues hold with no slave running (the audit's baseline). */
  baseline: number;
}

/** EAL options slaves inherit from the master's command line. */
function inheritedEalArgs(ealArgs: readonly string[]): string[] {
  return ealArgs.filter((a) => a.startsWith('--log-level') || a === '--no-pci' || a.startsWith('--base-virtaddr') || a === '--in-memory' || a === '--no-telemetry');
}

function slaveEntry(): string {
  return path.join(__dirname, `slave${path.extname(__filename)}`);
}

export interface MasterHandle {
  supervisor: Supervisor;
  units: Unit[];
  shutdown(): Promise<void>;
}

export async function runMaster(argv: readonly string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<MasterHandle> {
  const { ealArgs, appArgs } = initEalFromArgv(argv, { secondariesWillAttach: true });
  const opts: AppOptions = parseAppArgs(appArgs);
  const prefix = (ealArgs.find((a) => a.startsWith('--file-prefix=')) ?? '--file-prefix=rte').slice('--file-prefix='.length);
  const { enabled, missing } = enabledPorts(opts.portmask, portIds());
  if (missing.length > 0) out(`WARNING: leftover ports in mask: ${missing.join(', ')}`);
  if (enabled.length === 0) {
    throw new DpdkError('ENODEV', 19, 'mp-l2fwd', `no port of mask 0x${opts.portmask.toString(16)} exists; add ports (e.g. --vdev=net_tap0) or fix -p`);
  }
  const dst = pairPorts(enabled);
  const unitPorts = slaveUnits(enabled, opts.portsPerSlave);
  const main = mainLcore();
  const workers = lcores().filter((l) => l.id !== main);
  if (!opts.float && workers.length < unitPorts.length) {
    throw new DpdkError(
      'EINVAL',
      22,
      'mp-l2fwd',
      `${unitPorts.length} slave(s) needed for ${enabled.length} port(s) at -q ${opts.portsPerSlave}, but the EAL lcore set has ${workers.length} lcore(s) besides the main one; ` +
        `give ${unitPorts.length + 1} lcores (e.g. -l 0-${unitPorts.length}), raise -q, or use --float`,
    );
  }

  const statsZone = reserveMemzone(STATS_ZONE, { length: STATS_BYTES });
  const stats = new BigUint64Array(statsZone.view());
  const units: Unit[] = unitPorts.map((ports, index) => {
    const pool = createPktmbufPool(slavePoolName(index), { size: poolSize(ports.length), cacheSize: POOL_CACHE });
    return { index, name: `slave${index}`, routes: ports.map((rx) => ({ rx, tx: dst.get(rx) as number })), pool, baseline: 0 };
  });
  const poolOfPort = new Map<number, Mempool>();
  for (const u of units) for (const r of u.routes) poolOfPort.set(r.rx, u.pool);
  const ports: Port[] = enabled.map((id) => {
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
  // dpdk-dumpcap / dpdk-pdump can attach; DPDK 22.11 captures only what this process itself sends or receives (README).
  enableCapture();

  let allocator: LcoreAllocator | undefined;
  const cpus = `0-${os.cpus().length - 1}`;
  if (opts.float) allocator = createLcoreAllocator({ name: LCORE_ZONE });
  const unitOfPort = new Map<number, Unit>();
  for (const u of units) for (const r of u.routes) unitOfPort.set(r.rx, u);

  const specs: SlaveSpecInput[] = units.map((u, i) => {
    const config: SlaveConfig = { unit: u.index, routes: u.routes, macUpdating: opts.macUpdating };
    // A slave depends on the slaves receiving from the ports it sends to: their
    // port pair is reset together, as l2fwd_fork's reset_pair did.
    const dependsOn = [...new Set(u.routes.map((r) => unitOfPort.get(r.tx)?.name).filter((n): n is string => n !== undefined && n !== u.name))];
    const worker = workers[i];
    return {
      name: u.name,
      entry: slaveEntry(),
      args: [JSON.stringify(config)],
      lcore: opts.float || worker === undefined ? { floating: true as const, cpus } : { id: worker.id, cpu: worker.cpu },
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

  const supervisor = new Supervisor(
    {
      filePrefix: prefix,
      zoneName: CONTROL_ZONE,
      ealArgs: inheritedEalArgs(ealArgs),
      ownLcores: [main],
      heartbeatTimeoutMs: 1000,
      ackTimeoutMs: 100,
      restart: { initialDelayMs: 0, maxRestarts: 100, windowMs: 60_000 },
      ...(allocator
        ? {
            leaser: {
              acquire: () => {
                const lease = (allocator as LcoreAllocator).acquire({ reclaimDead: false });
                return { id: lease.id, release: () => void lease.release() };
              },
            },
          }
        : {}),
    },
    specs,
  );

  const emit = (event: string, text: string, data: Record<string, unknown>): void => {
    out(opts.json ? JSON.stringify({ event, ...data }) : `[recovery] ${text}`);
  };
  const leasedIds = (): number[] | undefined => allocator?.leases().map((l) => l.id);
  const deaths = new Map<string, { at: number; tx: Array<{ port: number; before: number }> }>();
  supervisor.on('exit', (e) => {
    if (e.reason === 'stopped') return;
    const unit = units.find((u) => u.name === e.name);
    deaths.set(e.name, { at: e.at, tx: (unit?.routes ?? []).map((r) => ({ port: r.tx, before: Number(stats[statIndex(r.tx, STAT.tx)]) })) });
    emit('exit', `${e.name} (pid ${e.pid}, lcore ${e.lcore}) ${e.reason}: ${e.signal ? `signal ${e.signal}` : `exit code ${e.code}`}`, { ...e });
  });
  supervisor.on('hang', (e) => emit('hang', `${e.name} (pid ${e.pid}) hung: no heartbeat for ${e.silentMs} ms, killing it`, { ...e }));
  supervisor.on('stop', (e) => emit('stop', `${e.mode === 'pause' ? 'paused' : 'stopped'} ${e.name} (pid ${e.pid}): ${e.outcome} in ${e.ackMs} ms`, { ...e }));
  supervisor.on('resume', (e) => emit('resume', `resumed ${e.name} (pid ${e.pid}): ${e.outcome} in ${e.ackMs} ms`, { ...e }));
  supervisor.on('standby-ready', (e) => {
    if (opts.json) out(JSON.stringify({ event: 'standby-ready', ...e, leases: leasedIds() }));
  });
  supervisor.on('standby-exit', (e) =>
    emit('standby-exit', `standby of ${e.name} (pid ${e.pid}) ended: ${e.reason}${e.respawnInMs !== null ? `, another in ${e.respawnInMs} ms` : ''}`, { ...e }),
  );
  supervisor.on('reclaim', (e) =>
    emit(
      'reclaim',
      `reclaimed ${e.name} (lcore ${e.lcore}): ${e.resources.map((r) => `${r.label} ${JSON.stringify(r.detail ?? {})}`).join('; ')}; unaccounted buffers ${e.unaccountedBuffers}`,
      { name: e.name, lcore: e.lcore, unaccountedBuffers: e.unaccountedBuffers, resources: e.resources },
    ),
  );
  supervisor.on('reclaim-error', (e) => emit('reclaim-error', `reclaim of ${e.name} (${e.label}) failed: ${e.error.message}`, { name: e.name, label: e.label, message: e.error.message }));
  supervisor.on('gave-up', (e) => emit('gave-up', `gave up on ${e.name}: ${e.reason}`, { name: e.name, reason: e.reason }));
  supervisor.on('ready', (e) => {
    if (opts.json) out(JSON.stringify({ event: 'ready', ...e }));
  });
  supervisor.on('recovered', (e) => {
    const how = [
      e.promoted.length > 0 ? `promoted the standby of ${e.promoted.join(', ')}` : '',
      e.restarted.filter((n) => !e.promoted.includes(n)).length > 0 ? `restarted ${e.restarted.filter((n) => !e.promoted.includes(n)).join(', ')}` : '',
      e.resumed.length > 0 ? `resumed ${e.resumed.join(', ')}` : '',
    ].filter((s) => s !== '');
    emit('recovered', `${e.crashed.join(', ')} recovered: ${how.join('; ')} in ${e.downtimeMs} ms`, { ...e, leases: leasedIds() });
    for (const name of e.crashed) {
      const death = deaths.get(name);
      if (!death) continue;
      deaths.delete(name);
      const readyAt = Date.now();
      const poll = setInterval(() => {
        const moved = death.tx.find((t) => Number(stats[statIndex(t.port, STAT.tx)]) > t.before);
        if (moved) {
          clearInterval(poll);
          emit('resumed', `traffic resumed through port ${moved.port} ${Date.now() - death.at} ms after ${name} died`, {
            name,
            port: moved.port,
            resumeMs: Date.now() - death.at,
          });
        } else if (Date.now() - readyAt > 10_000) {
          clearInterval(poll);
        }
      }, 1);
    }
  });

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
          leases: leasedIds(),
          pools: units.map((u) => ({ name: u.pool.name, size: u.pool.size, baseline: u.baseline })),
        })
      : `mp-l2fwd: ${enabled.length} port(s), ${units.length} slave(s): ` +
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
        ealLcore: s.counters[15],
        restarts: s.restarts,
        rx: s.counters[0] ?? 0,
        tx: s.counters[1] ?? 0,
        standby: s.standby,
      }));
      const rated = rates.rate(statsSnapshot(stats, enabled), device, slaves, monotonicMs());
      const pools = units.map((u) => ({ name: u.pool.name, size: u.pool.size, available: u.pool.availableCount(), inUse: u.pool.inUseCount() }));
      out(opts.json ? JSON.stringify({ event: 'stats', ...rated.snap, slaves: rated.slaves, pools, leases: leasedIds() }) : renderStats(rated.snap, { slaves: rated.slaves, pools }));
    }, opts.statsPeriod * 1000);
  }

  let closing: Promise<void> | null = null;
  const shutdown = (): Promise<void> => {
    closing ??= (async () => {
      // First: a scrape reads the ports, pools and zones this shutdown frees.
      await metrics?.close();
      if (statsTimer) clearInterval(statsTimer);
      const r = await supervisor.shutdown();
      const snap = statsSnapshot(stats, enabled);
      for (const p of ports) p.stop();
      for (const p of ports) p.close();
      // Buffers lost with killed slaves keep a pool "in use" for ever; such a
      // pool is released with the rest of EAL's memory at exit.
      for (const u of units) if (u.pool.inUseCount() === 0) u.pool.free();
      allocator?.free();
      statsZone.free();
      out(opts.json ? JSON.stringify({ event: 'shutdown', unaccountedBuffers: r.unaccountedBuffers, ...snap }) : `${renderStats(snap)}\nmp-l2fwd: shut down; unaccounted buffers ${r.unaccountedBuffers}`);
    })();
    return closing;
  };
  return { supervisor, units, shutdown };
}
