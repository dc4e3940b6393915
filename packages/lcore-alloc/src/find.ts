/**
 * The lcore allocators of a group, found by their layout rather than by name:
 * a tool looking at a group does not know which names its apps chose.
 */
import { hasCode, walkMemzones } from '@mp/dpdk-core';
import type { LcoreAllocator } from './allocator';
import { allocatorZone } from './allocator-zone';
import { openLcoreAllocator } from './create';

/**
 * Every memzone that is an initialised lcore allocator of this layout,
 * opened. Each candidate zone (any zone big enough) gets a memzone handle in
 * this process, released by cleanup().
 */
export function findLcoreAllocators(): LcoreAllocator[] {
  const found: LcoreAllocator[] = [];
  for (const z of walkMemzones()) {
    if (z.length < allocatorZone.bytes(1)) continue;
    try {
      found.push(openLcoreAllocator(z.name));
    } catch (e) {
      // Not an allocator (another layout), or one still being written.
      if (!hasCode(e, 'E_LAYOUT', 'EAGAIN')) throw e;
    }
  }
  return found;
}
