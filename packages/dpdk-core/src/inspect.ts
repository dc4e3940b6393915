/**
 * Every ring and packet pool in the group's shared memory, whoever created
 * it: counts only, for tools and stats (native/inspect.cc). Any process of
 * the group, after initEal.
 */
import { native } from './native';

export interface RingSummary {
  name: string;
  /** Slots (a power of two unless created with exactSize); `capacity` of them usable. */
  size: number;
  capacity: number;
  count: number;
  freeCount: number;
  /** RING_F_* flags; ringModes(flags) reads them. */
  flags: number;
  socket: number;
}

export interface MempoolSummary {
  name: string;
  /** Mempool driver, e.g. "ring_mp_mc". */
  ops: string;
  size: number;
  cacheSize: number;
  eltSize: number;
  populated: number;
  /** In the pool's ring and in every lcore's cache. */
  available: number;
  /** Out of the pool: in packets held anywhere (queues, rings, bursts, TX buffers). */
  inUse: number;
  socket: number;
}

/** Every ring of the group (the pools' own rings included), by name. */
export function walkRings(): RingSummary[] {
  return native.walkRings().sort((a, b) => a.name.localeCompare(b.name));
}

/** Every mempool of the group, by name. */
export function walkMempools(): MempoolSummary[] {
  return native.walkMempools().sort((a, b) => a.name.localeCompare(b.name));
}
