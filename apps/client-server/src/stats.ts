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
}

export interface ClientStats {
  id: number;
  rx: number;
  rxDrop: number;
  tx: number;
  txDrop: number;
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

const n9 = (v: number): string => String(v).padStart(9);

/** The C sample's screen, cleared with the same ANSI sequence. */
export function renderText(s: StatsSnapshot, opts: { clear: boolean } = { clear: true }): string {
  const lines: string[] = [];
  lines.push('PORTS', '-----');
  lines.push(s.ports.map((p) => `Port ${p.id}: '${p.mac}'`).join('\t'), '');
  for (const p of s.ports) lines.push(`Port ${p.id} - rx: ${n9(p.rx)}\ttx: ${n9(p.tx)}`);
  lines.push('', 'CLIENTS', '-------');
  for (const c of s.clients) {
    lines.push(`Client ${String(c.id).padStart(2)} - rx: ${n9(c.rx)}, rx_drop: ${n9(c.rxDrop)}`);
    lines.push(`            tx: ${n9(c.tx)}, tx_drop: ${n9(c.txDrop)}`);
  }
  lines.push('');
  return (opts.clear ? CLEAR : '') + lines.join('\n') + '\n';
}

/** One line of JSON, tagged so a reader can pick it out of other output. */
export function renderJson(s: StatsSnapshot, extra: Record<string, unknown> = {}): string {
  return `stats ${JSON.stringify({ ...extra, ...s })}\n`;
}
