/**
 * The server's statistics, with the C sample's content (main.c
 * do_stats_display): ports with MAC, rx and tx; per client rx, rx_drop, tx,
 * tx_drop. Read from the port_info bytes and rendered as a live terminal table
 * or one JSON object per line. Pure: works on any bytes with that layout.
 */
import { PORT_INFO } from './shared';

export interface PortStats {
  id: number;
  mac: string;
  rx: number;
  tx: number;
  txDrop: number;
  /** Per second since the previous stats (rates.ts); the first stats have none. */
  rates?: PortRates;
}

export interface ClientStats {
  id: number;
  rx: number;
  rxDrop: number;
  tx: number;
  txDrop: number;
  rates?: ClientRates;
}

/** Packets per second of the counters above, and bits per second from the device's byte counters. */
export interface PortRates {
  rxPps: number;
  txPps: number;
  txDropPps: number;
  rxBps: number;
  txBps: number;
}

export interface ClientRates {
  rxPps: number;
  rxDropPps: number;
  txPps: number;
  txDropPps: number;
}

/** How full the pool and the client rings are, for the text screen (the JSON lines carry them already). */
export interface Occupancy {
  pool: { name: string; size: number; available: number; inUse: number };
  rings: Array<{ name: string; count: number; capacity: number }>;
}

export interface StatsSnapshot {
  ports: PortStats[];
  clients: ClientStats[];
}

/** The server-side per-client counters (the C sample keeps them in rte_malloc'd `struct client`). */
export interface ServerClientCounters {
  rx: number;
  rxDrop: number;
}

/**
 * Sums the clients' tx/tx_drop the way do_stats_display does: `rx_stats.rx[]`
 * is indexed by port index, `tx_stats[].tx[]` by port id (a C quirk kept for
 * compatibility).
 */
export function readStats(
  portInfo: DataView,
  numClients: number,
  serverCounters: readonly ServerClientCounters[],
  macs: ReadonlyMap<number, string>,
): StatsSnapshot {
  const numPorts = portInfo.getUint16(PORT_INFO.numPorts, true);
  const ids: number[] = [];
  for (let i = 0; i < numPorts; i++) ids.push(portInfo.getUint16(PORT_INFO.id(i), true));
  const u64 = (offset: number): number => Number(portInfo.getBigUint64(offset, true));
  const ports: PortStats[] = ids.map((id, index) => ({ id, mac: macs.get(id) ?? '00:00:00:00:00:00', rx: u64(PORT_INFO.rx(index)), tx: 0, txDrop: 0 }));
  const clients: ClientStats[] = [];
  for (let c = 0; c < numClients; c++) {
    const counters = serverCounters[c] ?? { rx: 0, rxDrop: 0 };
    const client: ClientStats = { id: c, rx: counters.rx, rxDrop: counters.rxDrop, tx: 0, txDrop: 0 };
    ids.forEach((id, index) => {
      const tx = u64(PORT_INFO.tx(c, id));
      const drop = u64(PORT_INFO.txDrop(c, id));
      const port = ports[index] as PortStats;
      port.tx += tx;
      port.txDrop += drop;
      client.tx += tx;
      client.txDrop += drop;
    });
    clients.push(client);
  }
  return { ports, clients };
}

const CLEAR = '\x1b[2J\x1b[1;1H';

const n9 = (v: number): string => String(Math.round(v)).padStart(9);
const mbit = (bps: number): string => (bps / 1e6).toFixed(1).padStart(9);

/** Beside a port's counters: its rates, in the same layout. */
function portRates(r: PortRates | undefined): string {
  return r ? `\trx/s: ${n9(r.rxPps)}\ttx/s: ${n9(r.txPps)}\trx Mbit/s: ${mbit(r.rxBps)}\ttx Mbit/s: ${mbit(r.txBps)}` : '';
}

/**
 * The C sample's screen, cleared with the same ANSI sequence; with rates, a
 * port's beside its counters and a client's in a third line under its two,
 * column under column, labelled per second (the C lines themselves stay as
 * they were, and a reader of them never takes a rate for a counter).
 */
export function renderText(s: StatsSnapshot, opts: { clear: boolean; occupancy?: Occupancy } = { clear: true }): string {
  const lines: string[] = [];
  lines.push('PORTS', '-----');
  lines.push(s.ports.map((p) => `Port ${p.id}: '${p.mac}'`).join('\t'), '');
  for (const p of s.ports) lines.push(`Port ${p.id} - rx: ${n9(p.rx)}\ttx: ${n9(p.tx)}${portRates(p.rates)}`);
  lines.push('', 'CLIENTS', '-------');
  for (const c of s.clients) {
    lines.push(`Client ${String(c.id).padStart(2)} - rx: ${n9(c.rx)}, rx_drop: ${n9(c.rxDrop)}`);
    lines.push(`            tx: ${n9(c.tx)}, tx_drop: ${n9(c.txDrop)}`);
    const r = c.rates;
    if (r) lines.push(`          rx/s: ${n9(r.rxPps)}, rx_drop/s: ${n9(r.rxDropPps)}, tx/s: ${n9(r.txPps)}, tx_drop/s: ${n9(r.txDropPps)}`);
  }
  const o = opts.occupancy;
  if (o) {
    lines.push('', 'POOL AND RINGS', '--------------');
    const width = Math.max(o.pool.name.length, ...o.rings.map((r) => r.name.length));
    lines.push(`${o.pool.name.padEnd(width)} - in use: ${n9(o.pool.inUse)}, available: ${n9(o.pool.available)} of ${o.pool.size}`);
    for (const r of o.rings) lines.push(`${r.name.padEnd(width)} - queued: ${n9(r.count)} of ${r.capacity}`);
  }
  lines.push('');
  return (opts.clear ? CLEAR : '') + lines.join('\n') + '\n';
}

/** One line of JSON, tagged so a reader can pick it out of other output. */
export function renderJson(s: StatsSnapshot, extra: Record<string, unknown> = {}): string {
  return `stats ${JSON.stringify({ ...extra, ...s })}\n`;
}
