/**
 * How much JavaScript heap this process uses and how many garbage
 * collections it has run, for the JSON stats lines. Scavenges (minor
 * collections) are what allocation causes: a forwarding loop that allocates
 * nothing per packet or per vector runs none. Major collections also come
 * from V8's memory reducer, which compacts the heap once a process settles.
 */
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';

const collections = { scavenges: 0, majorGcs: 0 };
let observing = false;

/** Heap in use (bytes) and garbage collections since the first call. */
export function heapStats(): { heapUsed: number; scavenges: number; majorGcs: number } {
  if (!observing) {
    observing = true;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) collections.scavenges++;
        else collections.majorGcs++;
      }
    }).observe({ entryTypes: ['gc'] });
  }
  return { heapUsed: process.memoryUsage().heapUsed, ...collections };
}
