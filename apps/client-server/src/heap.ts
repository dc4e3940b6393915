/**
 * How much JavaScript heap this process uses and how many garbage
 * collections it has run, for the JSON stats lines: a forwarding loop that
 * allocates nothing per packet or per vector leaves both flat.
 */
import { PerformanceObserver } from 'node:perf_hooks';

let collections = 0;
let observing = false;

/** Heap in use (bytes) and garbage collections since the first call. */
export function heapStats(): { heapUsed: number; gcs: number } {
  if (!observing) {
    observing = true;
    new PerformanceObserver((list) => {
      collections += list.getEntries().length;
    }).observe({ entryTypes: ['gc'] });
  }
  return { heapUsed: process.memoryUsage().heapUsed, gcs: collections };
}
