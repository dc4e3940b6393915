/**
 * Rates from counters the packet loops already keep: the stats screens read
 * them on a timer and divide what moved by the time between two reads, so
 * measuring adds nothing to the packet path.
 */

/**
 * Per-second rates of counters that only grow, sampled over time, for rows
 * of them (a port's rx and tx, a client's, a slave's). A counter that went
 * down was reset (a restarted slave counts from 0 again, as Prometheus
 * assumes of a counter): its rate is what it holds now over the interval,
 * never negative.
 */
export class CounterRates<K extends string> {
  private last: { atMs: number; rows: ReadonlyMap<string, Readonly<Record<K, number>>> } | undefined;

  /**
   * Records every row's counters at `atMs` (a monotonic clock, in ms) and
   * returns each row's rates per second since the previous sample. The first
   * sample has no rates, nor has a row the previous sample lacked.
   */
  sample(rows: ReadonlyMap<string, Readonly<Record<K, number>>>, atMs: number): Map<string, Record<K, number>> {
    const rates = new Map<string, Record<K, number>>();
    const last = this.last;
    this.last = { atMs, rows };
    if (last === undefined || atMs <= last.atMs) return rates;
    const seconds = (atMs - last.atMs) / 1000;
    for (const [key, now] of rows) {
      const before = last.rows.get(key);
      if (before === undefined) continue;
      const perSecond = { ...now } as Record<K, number>;
      for (const field of Object.keys(now) as K[]) {
        const v = now[field];
        perSecond[field] = (v >= before[field] ? v - before[field] : v) / seconds;
      }
      rates.set(key, perSecond);
    }
    return rates;
  }
}
