/**
 * The stats screen's rates: each stats snapshot rated against the one
 * before, from the counters port_info and the server already keep and the
 * ports' device byte counters, read on the stats timer (never per packet).
 */
import { CounterRates } from '@mp/metrics';
import type { PortStats as DeviceStats } from '@mp/dpdk-core';
import type { StatsSnapshot } from './stats';

export class StatsRates {
  private readonly ports = new CounterRates<'rx' | 'tx' | 'txDrop' | 'rxBytes' | 'txBytes'>();
  private readonly clients = new CounterRates<'rx' | 'rxDrop' | 'tx' | 'txDrop'>();

  /** `s` with the rates of each port and client since the previous call at `atMs` (ms, monotonic); the first call adds none. */
  rate(s: StatsSnapshot, device: ReadonlyMap<number, Pick<DeviceStats, 'ibytes' | 'obytes'>>, atMs: number): StatsSnapshot {
    const ports = this.ports.sample(
      new Map(s.ports.map((p) => [String(p.id), { rx: p.rx, tx: p.tx, txDrop: p.txDrop, rxBytes: device.get(p.id)?.ibytes ?? 0, txBytes: device.get(p.id)?.obytes ?? 0 }])),
      atMs,
    );
    const clients = this.clients.sample(new Map(s.clients.map((c) => [String(c.id), { rx: c.rx, rxDrop: c.rxDrop, tx: c.tx, txDrop: c.txDrop }])), atMs);
    return {
      ports: s.ports.map((p) => {
        const r = ports.get(String(p.id));
        return r ? { ...p, rates: { rxPps: r.rx, txPps: r.tx, txDropPps: r.txDrop, rxBps: r.rxBytes * 8, txBps: r.txBytes * 8 } } : p;
      }),
      clients: s.clients.map((c) => {
        const r = clients.get(String(c.id));
        return r ? { ...c, rates: { rxPps: r.rx, rxDropPps: r.rxDrop, txPps: r.tx, txDropPps: r.txDrop } } : c;
      }),
    };
  }
}
