/**
 * The lcore allocators of a group, found by their layout rather than by name:
 * a tool looking at a group does not know which names its apps chose.
 */
import { DpdkError, walkMemzones } from '@mp/dpdk-core';
import { LcoreAllocator, openLcoreAllocator } from './allocator';
import { HEADER_BYTES } from './layout';

/**
 * Every memzone that is an initialised lcore allocator of this layout,
 * opened. Each candidate zone (any zone big enough) gets a memzone handle in
 * this process, released by cleanup().
 */
export function findLcoreAllocators(): LcoreAllocator[] {
  const found: LcoreAllocator[] = [];
  for (const z of walkMemzones()) {
    if (z.length < HEADER_BYTES) continue;
    try {
      found.push(openLcoreAllocator(z.name));
    } catch (e) {
      // Not an allocator (another layout), or one still being written.
      if (!(e instanceof DpdkError && (e.code === 'E_LAYOUT' || e.code === 'EAGAIN'))) throw e;
    }
  }
  return found;
}
