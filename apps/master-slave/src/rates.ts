/**
 * The stats' rates: each snapshot rated against the one before, from the
 * counters the slaves keep in the stats zone and the recovery control zone
 * and the ports' device byte counters, read on the stats timer (never per
 * packet).
 */
import type { PortStats as DeviceStats } from '@mp/dpdk-core';
import { CounterRates } from '@mp/metrics';
import type { PortRates, SlaveStats, StatsSnapshot } from './stats';

export class L2fwdRates {
  private readonly ports = new CounterRates<'rx' | 'tx' | 'dropped' | 'rxBytes' | 'txBytes'>();
  private readonly slaves = new CounterRates<'rx' | 'tx'>();

  /** `s` and `slaves` with their rates since the previous call at `atMs` (ms, monotonic); the first call adds none. */
  rate<S extends SlaveStats>(
    s: StatsSnapshot,
    device: ReadonlyMap<number, Pick<DeviceStats, 'ibytes' | 'obytes'>>,
    slaves: readonly S[],
    atMs: number,
  ): { snap: StatsSnapshot; slaves: S[] } {
    const counts = new Map(s.ports.map((p) => [String(p.port), { rx: p.rx, tx: p.tx, dropped: p.dropped, rxBytes: device.get(p.port)?.ibytes ?? 0, txBytes: device.get(p.port)?.obytes ?? 0 }]));
    const ports = this.ports.sample(counts, atMs);
    const perSlave = this.slaves.sample(new Map(slaves.map((v) => [v.name, { rx: v.rx, tx: v.tx }])), atMs);
    const rated = s.ports.map((p) => {
      const r = ports.get(String(p.port));
      return r ? { ...p, rates: { rxPps: r.rx, txPps: r.tx, droppedPps: r.dropped, rxBps: r.rxBytes * 8, txBps: r.txBytes * 8 } } : p;
    });
    const sum = (f: keyof PortRates): number => rated.reduce((t, p) => t + (p.rates?.[f] ?? 0), 0);
    const total = ports.size > 0 ? { ...s.total, rates: { rxPps: sum('rxPps'), txPps: sum('txPps'), droppedPps: sum('droppedPps'), rxBps: sum('rxBps'), txBps: sum('txBps') } } : s.total;
    return {
      snap: { ports: rated, total },
      slaves: slaves.map((v) => {
        const r = perSlave.get(v.name);
        return r ? { ...v, rates: { rxPps: r.rx, txPps: r.tx } } : v;
      }),
    };
  }
}
