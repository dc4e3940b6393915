/** Port statistics as l2fwd prints them: per port sent/received/dropped, then the aggregate. */
import { statIndex, type PortCounter } from './shared';

export interface StatsSnapshot {
  ports: Array<{ port: number; rx: number; tx: number; dropped: number }>;
  total: { rx: number; tx: number; dropped: number };
}

export function statsSnapshot(stats: BigUint64Array, ports: readonly number[]): StatsSnapshot {
  const read = (port: number, counter: PortCounter): number => Number(stats[statIndex(port, counter)] ?? 0n);
  const rows = ports.map((port) => ({ port, rx: read(port, 'rx'), tx: read(port, 'tx'), dropped: read(port, 'dropped') }));
  const total = rows.reduce((t, r) => ({ rx: t.rx + r.rx, tx: t.tx + r.tx, dropped: t.dropped + r.dropped }), { rx: 0, tx: 0, dropped: 0 });
  return { ports: rows, total };
}

export function renderStats(s: StatsSnapshot): string {
  const line = (label: string, v: number): string => `${label.padEnd(26)}${String(v).padStart(20)}`;
  const out: string[] = ['', 'Port statistics ===================================='];
  for (const r of s.ports) {
    out.push(`Statistics for port ${r.port} ------------------------------`, line('Packets sent:', r.tx), line('Packets received:', r.rx), line('Packets dropped:', r.dropped));
  }
  out.push(
    'Aggregate statistics ===============================',
    line('Total packets sent:', s.total.tx),
    line('Total packets received:', s.total.rx),
    line('Total packets dropped:', s.total.dropped),
    '====================================================',
  );
  return out.join('\n');
}
