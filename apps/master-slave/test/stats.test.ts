import { L2fwdRates } from '../src/rates';
import { renderStats, type SlaveStats, type StatsSnapshot } from '../src/stats';

const snap = (rx: number, tx: number): StatsSnapshot => ({
  ports: [
    { port: 0, rx, tx, dropped: 0 },
    { port: 1, rx: tx, tx: rx, dropped: 2 },
  ],
  total: { rx: rx + tx, tx: rx + tx, dropped: 2 },
});
const slave = (rx: number): SlaveStats => ({ name: 'slave0', status: 'running', pid: 42, lcore: 1, restarts: 1, rx, tx: rx });
const bytes = (n: number) => new Map([0, 1].map((id) => [id, { ibytes: n * 64, obytes: n * 64 }]));

test('rates from the previous snapshot, per port, in total and per slave; none the first time', () => {
  const rates = new L2fwdRates();
  const first = rates.rate(snap(1000, 500), bytes(0), [slave(100)], 0);
  expect(first.snap).toEqual(snap(1000, 500));
  expect(first.slaves).toEqual([slave(100)]);
  const later = rates.rate(snap(3000, 1500), bytes(1000), [slave(20)], 2000);
  expect(later.snap.ports[0]?.rates).toEqual({ rxPps: 1000, txPps: 500, droppedPps: 0, rxBps: 256000, txBps: 256000 });
  expect(later.snap.total.rates).toEqual({ rxPps: 1500, txPps: 1500, droppedPps: 0, rxBps: 512000, txBps: 512000 });
  // slave0 was restarted: its new process counts from 0.
  expect(later.slaves[0]?.rates).toEqual({ rxPps: 10, txPps: 10 });
});

test("l2fwd's lines as they were without rates; with them, each rate beside its counter; slaves and pools after the aggregate", () => {
  expect(renderStats(snap(1000, 500))).toBe(
    [
      '',
      'Port statistics ====================================',
      'Statistics for port 0 ------------------------------',
      'Packets sent:                              500',
      'Packets received:                         1000',
      'Packets dropped:                             0',
      'Statistics for port 1 ------------------------------',
      'Packets sent:                             1000',
      'Packets received:                          500',
      'Packets dropped:                             2',
      'Aggregate statistics ===============================',
      'Total packets sent:                       1500',
      'Total packets received:                   1500',
      'Total packets dropped:                       2',
      '====================================================',
    ].join('\n'),
  );
  const rates = new L2fwdRates();
  rates.rate(snap(0, 0), bytes(0), [slave(0)], 0);
  const r = rates.rate(snap(5_160_000, 141_500), bytes(5_160_000), [slave(2_500_000)], 1000);
  const text = renderStats(r.snap, { slaves: r.slaves, pools: [{ name: 'ms_pool_0', size: 4128, available: 3872, inUse: 256 }] });
  expect(text).toContain('Packets received:                      5160000       5160000/s      2641.9 Mbit/s\n');
  expect(text).toContain('Packets dropped:                             2             0/s\n');
  expect(text).toContain(
    'Slave statistics ===================================\nslave0: pid 42, lcore 1, running, 1 restart\nPackets received:                      2500000       2500000/s\nPackets sent:                          2500000       2500000/s\n',
  );
  expect(text).toContain('Pool statistics ====================================\nms_pool_0: 256 in use, 3872 available of 4128\n====================================================');
});
