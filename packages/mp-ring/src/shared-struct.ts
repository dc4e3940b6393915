/**
 * C structs in memzones: a C layout declared once (struct-layout.ts) laid over
 * a memzone, read and written in place by every process that maps it, C or
 * TypeScript. A C struct has no room for the header of a declared zone
 * (zone.ts), so a lookup checks the one thing C gives: the zone's length.
 */
import { dpdkError, lookupMemzone, reserveMemzone, validate, memzoneNameSchema, type Memzone } from '@mp/dpdk-core';
import { CACHE_LINE, type StructType, type ViewOf } from './struct-layout';
import { viewOf } from './struct-view';

export interface SharedStruct<T extends StructType> {
  readonly name: string;
  readonly layout: T;
  /** The typed accessors: reads and writes go straight to shared memory. */
  readonly fields: ViewOf<T>;
  readonly memzone: Memzone;
  /** Creator only: frees the memzone (every view over it stops working). */
  free(): void;
  /** Drops this process's handle; the memzone stays. */
  close(): void;
}

function wrap<T extends StructType>(name: string, layout: T, mz: Memzone): SharedStruct<T> {
  return {
    name,
    layout,
    fields: viewOf(layout, mz.view()),
    memzone: mz,
    free: () => mz.free(),
    close: () => mz.close(),
  };
}

/** DPDK rounds a memzone's length up to a cache line. */
const zoneLength = (size: number): number => Math.ceil(size / CACHE_LINE) * CACHE_LINE;

/**
 * Reserves a zeroed memzone of `layout.size` bytes (as `rte_memzone_reserve(name,
 * sizeof(struct), ...)` does in C) and returns typed accessors over it.
 */
export function createStruct<T extends StructType>(name: string, layout: T, opts: { socket?: number } = {}): SharedStruct<T> {
  const n = validate(memzoneNameSchema, name, 'createStruct', 'memzone name');
  const mz = reserveMemzone(n, { length: layout.size, align: Math.max(CACHE_LINE, layout.align), ...opts });
  return wrap(n, layout, mz);
}

/**
 * Looks up a struct memzone another process (C or TS) reserved. A zone whose
 * length is not this layout's size (rounded to a cache line) is refused with
 * 'ESCHEMA': the two sides disagree on the struct.
 */
export function lookupStruct<T extends StructType>(name: string, layout: T): SharedStruct<T> {
  const n = validate(memzoneNameSchema, name, 'lookupStruct', 'memzone name');
  const mz = lookupMemzone(n);
  if (mz.length !== zoneLength(layout.size)) {
    throw dpdkError(
      'ESCHEMA',
      'lookupStruct',
      `memzone '${n}' is ${mz.length} bytes but this layout needs ${layout.size} (${zoneLength(layout.size)} with cache-line rounding); ` +
        'both processes must declare the same struct',
    );
  }
  return wrap(n, layout, mz);
}
