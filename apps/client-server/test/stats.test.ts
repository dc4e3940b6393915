import { PORT_INFO } from '../src/shared';
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

  it('renders one JSON object per line', () => {
    const line = renderJson(snap, { t: 1 });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.split('\n')).toHaveLength(2);
    expect(JSON.parse(line.slice('stats '.length))).toEqual({ t: 1, ...snap });
  });
});
