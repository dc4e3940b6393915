import { MEMPOOL_NAME_MAX, MEMZONE_NAME_MAX, RING_NAME_MAX, RING_SIZE_MAX } from '@mp/dpdk-core';

/** DPDK 22.11's limits that every name and size here is validated against. */
export const limits = {
  ringName: RING_NAME_MAX,
  mempoolName: MEMPOOL_NAME_MAX,
  memzoneName: MEMZONE_NAME_MAX,
  ringSize: RING_SIZE_MAX,
} as const;
