import { CounterRates } from '../src';

const rows = (entries: Record<string, { rx: number; tx: number }>): Map<string, { rx: number; tx: number }> => new Map(Object.entries(entries));

test('the first sample has no rates; later ones divide what moved by the time between', () => {
  const rates = new CounterRates<'rx' | 'tx'>();
  expect(rates.sample(rows({ p0: { rx: 100, tx: 0 } }), 1000).size).toBe(0);
  expect(rates.sample(rows({ p0: { rx: 600, tx: 250 } }), 1500).get('p0')).toEqual({ rx: 1000, tx: 500 });
  expect(rates.sample(rows({ p0: { rx: 600, tx: 250 } }), 3500).get('p0')).toEqual({ rx: 0, tx: 0 });
});

test('a counter that went down was reset: its rate counts what it holds now, never negative', () => {
  const rates = new CounterRates<'rx' | 'tx'>();
  rates.sample(rows({ slave0: { rx: 5000, tx: 4000 } }), 0);
  expect(rates.sample(rows({ slave0: { rx: 300, tx: 4100 } }), 1000).get('slave0')).toEqual({ rx: 300, tx: 100 });
});

test('a row the previous sample lacked has no rates yet; no time elapsed gives no rates', () => {
  const rates = new CounterRates<'rx' | 'tx'>();
  rates.sample(rows({ a: { rx: 1, tx: 1 } }), 0);
  const r = rates.sample(rows({ a: { rx: 3, tx: 1 }, b: { rx: 7, tx: 7 } }), 2000);
  expect(r.get('a')).toEqual({ rx: 1, tx: 0 });
  expect(r.has('b')).toBe(false);
  expect(rates.sample(rows({ a: { rx: 9, tx: 9 } }), 2000).size).toBe(0);
});
