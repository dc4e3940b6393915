import { PORT_INFO } from '../src/shared';
import { StatsRates } from '../src/rates';
import { readStats, renderJson, renderText } from '../src/stats';

function portInfo(): DataView {
  const v = new DataView(new ArrayBuffer(PORT_INFO.size));
  v.setUint16(PORT_INFO.numPorts, 2, true);
  v.setUint16(PORT_INFO.id(0), 2, true);
  v.setUint16(PORT_INFO.id(1), 5, true);
  v.setBigUint64(PORT_INFO.rx(0), 100n, true);
  v.setBigUint64(PORT_INFO.rx(1), 40n, true);
  // tx counters are indexed by port id, as the C client writes them
  v.setBigUint64(PORT_INFO.tx(0, 2), 30n, true);
  v.setBigUint64(PORT_INFO.tx(0, 5), 45n, true);
  v.setBigUint64(PORT_INFO.tx(1, 5), 25n, true);
  v.setBigUint64(PORT_INFO.txDrop(1, 2), 7n, true);
  return v;
}

describe('stats', () => {
  const macs = new Map([
    [2, '02:00:00:00:00:02'],
    [5, '02:00:00:00:00:05'],
  ]);
  const snap = readStats(portInfo(), 2, [{ rx: 75, rxDrop: 0 }, { rx: 60, rxDrop: 5 }], macs);

  it('sums per port and per client like do_stats_display', () => {
    expect(snap.ports).toEqual([
      { id: 2, mac: '02:00:00:00:00:02', rx: 100, tx: 30, txDrop: 7 },
      { id: 5, mac: '02:00:00:00:00:05', rx: 40, tx: 70, txDrop: 0 },
    ]);
    expect(snap.clients).toEqual([
      { id: 0, rx: 75, rxDrop: 0, tx: 75, txDrop: 0 },
      { id: 1, rx: 60, rxDrop: 5, tx: 25, txDrop: 7 },
    ]);
  });

  it("renders the C sample's screen after an ANSI clear", () => {
    const text = renderText(snap);
    expect(text.startsWith('\x1b[2J\x1b[1;1H')).toBe(true);
    expect(text).toContain("Port 2: '02:00:00:00:00:02'\tPort 5: '02:00:00:00:00:05'");
    expect(text).toContain('Port 5 - rx:        40\ttx:        70');
    expect(text).toContain('Client  1 - rx:        60, rx_drop:         5\n            tx:        25, tx_drop:         7');
  });

  it('rates each port and client from the previous snapshot; the first has none', () => {
    const rates = new StatsRates();
    const bytes = (n: number) => new Map([2, 5].map((id) => [id, { ibytes: n * 64, obytes: n * 32 }]));
    expect(rates.rate(snap, bytes(0), 1000)).toEqual(snap);
    const later = readStats(portInfo(), 2, [{ rx: 175, rxDrop: 10 }, { rx: 60, rxDrop: 5 }], macs);
    const rated = rates.rate(later, bytes(1000), 3000);
    expect(rated.ports[0]).toEqual({ ...later.ports[0], rates: { rxPps: 0, txPps: 0, txDropPps: 0, rxBps: 256000, txBps: 128000 } });
    expect(rated.clients.map((c) => c.rates)).toEqual([
      { rxPps: 50, rxDropPps: 5, txPps: 0, txDropPps: 0 },
      { rxPps: 0, rxDropPps: 0, txPps: 0, txDropPps: 0 },
    ]);
  });

  it("puts the rates beside the C sample's lines without changing them, and pool and rings under", () => {
    const rated = {
      ports: snap.ports.map((p) => ({ ...p, rates: { rxPps: 5160000, txPps: 141500, txDropPps: 0, rxBps: 2.642e9, txBps: 72.4e6 } })),
      clients: snap.clients.map((c) => ({ ...c, rates: { rxPps: 2500000, rxDropPps: 10000, txPps: 2499000, txDropPps: 0 } })),
    };
    const occupancy = { pool: { name: 'MProc_pktmbuf_pool', size: 7936, available: 7792, inUse: 144 }, rings: [{ name: 'MProc_Client_0_RX', count: 12, capacity: 127 }] };
    const text = renderText(rated, { clear: false, occupancy });
    // What the demo and Ctrl-C tests read of the C lines matches them only.
    expect([...text.matchAll(/tx: +(\d+), tx_drop/g)].map((m) => m[1])).toEqual(['75', '25']);
    expect(text).toContain('Port 5 - rx:        40\ttx:        70\trx/s:   5160000\ttx/s:    141500\trx Mbit/s:    2642.0\ttx Mbit/s:      72.4\n');
    expect(text).toContain(
      'Client  1 - rx:        60, rx_drop:         5\n            tx:        25, tx_drop:         7\n          rx/s:   2500000, rx_drop/s:     10000, tx/s:   2499000, tx_drop/s:         0\n',
    );
    expect(text).toContain('POOL AND RINGS\n--------------\nMProc_pktmbuf_pool - in use:       144, available:      7792 of 7936\nMProc_Client_0_RX  - queued:        12 of 127\n');
  });

  it('renders one JSON object per line', () => {
    const line = renderJson(snap, { t: 1 });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.split('\n')).toHaveLength(2);
    expect(JSON.parse(line.slice('stats '.length))).toEqual({ t: 1, ...snap });
  });
});
