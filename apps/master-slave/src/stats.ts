/**
 * Port statistics as l2fwd prints them: per port sent/received/dropped, then
 * the aggregate; with rates (rates.ts) each beside its counter, and the
 * slaves and pools after the aggregate.
 */
import { statIndex, type PortCounter } from './shared';

/** Packets per second; bits per second from the device's byte counters (ports only). */
export interface PortRates {
  rxPps: number;
  txPps: number;
  droppedPps: number;
  rxBps: number;
  txBps: number;
}

export interface StatsSnapshot {
  /** `rates`: per second since the previous stats; the first stats have none. */
  ports: Array<{ port: number; rx: number; tx: number; dropped: number; rates?: PortRates }>;
  total: { rx: number; tx: number; dropped: number; rates?: PortRates };
}

/** What the stats screen shows of a slave beside its counters. */
export interface SlaveStats {
  name: string;
  status: string;
  pid: number;
  lcore: number;
  restarts: number;
  rx: number;
  tx: number;
  rates?: { rxPps: number; txPps: number };
}

export interface PoolStats {
  name: string;
  size: number;
  available: number;
  inUse: number;
}

export function statsSnapshot(stats: BigUint64Array, ports: readonly number[]): StatsSnapshot {
  const read = (port: number, counter: PortCounter): number => Number(stats[statIndex(port, counter)] ?? 0n);
  const rows = ports.map((port) => ({ port, rx: read(port, 'rx'), tx: read(port, 'tx'), dropped: read(port, 'dropped') }));
  const total = rows.reduce((t, r) => ({ rx: t.rx + r.rx, tx: t.tx + r.tx, dropped: t.dropped + r.dropped }), { rx: 0, tx: 0, dropped: 0 });
  return { ports: rows, total };
}

const rate = (pps: number | undefined, bps?: number): string =>
  pps === undefined ? '' : `${String(Math.round(pps)).padStart(14)}/s${bps === undefined ? '' : `${(bps / 1e6).toFixed(1).padStart(12)} Mbit/s`}`;

export function renderStats(s: StatsSnapshot, more: { slaves?: readonly SlaveStats[]; pools?: readonly PoolStats[] } = {}): string {
  const line = (label: string, v: number, perSecond = ''): string => `${label.padEnd(26)}${String(v).padStart(20)}${perSecond}`;
  const out: string[] = ['', 'Port statistics ===================================='];
  for (const r of s.ports) {
    const p = r.rates;
    out.push(
      `Statistics for port ${r.port} ------------------------------`,
      line('Packets sent:', r.tx, rate(p?.txPps, p?.txBps)),
      line('Packets received:', r.rx, rate(p?.rxPps, p?.rxBps)),
      line('Packets dropped:', r.dropped, rate(p?.droppedPps)),
    );
  }
  const t = s.total.rates;
  out.push(
    'Aggregate statistics ===============================',
    line('Total packets sent:', s.total.tx, rate(t?.txPps, t?.txBps)),
    line('Total packets received:', s.total.rx, rate(t?.rxPps, t?.rxBps)),
    line('Total packets dropped:', s.total.dropped, rate(t?.droppedPps)),
  );
  if (more.slaves) {
    out.push('Slave statistics ===================================');
    for (const v of more.slaves) {
      out.push(
        `${v.name}: pid ${v.pid}, lcore ${v.lcore}, ${v.status}, ${v.restarts} restart${v.restarts === 1 ? '' : 's'}`,
        line('Packets received:', v.rx, rate(v.rates?.rxPps)),
        line('Packets sent:', v.tx, rate(v.rates?.txPps)),
      );
    }
  }
  if (more.pools) {
    out.push('Pool statistics ====================================');
    for (const p of more.pools) out.push(`${p.name}: ${p.inUse} in use, ${p.available} available of ${p.size}`);
  }
  out.push('====================================================');
  return out.join('\n');
}
