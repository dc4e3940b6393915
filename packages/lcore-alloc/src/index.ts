export { LcoreAllocator, type AcquireOptions, type AllocatorStats } from './allocator';
export { DEFAULT_ALLOCATOR_NAME, createLcoreAllocator, openLcoreAllocator, type CreateOptions } from './create';
export { Lease, type LeaseInfo, type LeaseRef } from './lease';
export { allocatorZone } from './allocator-zone';
export { findLcoreAllocators } from './find';
export { CPU_SET_SIZE, cpuListSchema, cpuNumber, cpuSetString, defaultLeaseIds, lcoreEalArgs, lcoreIdSchema, type CpuSet } from './lease-args';
export { eligible, exhaustionMessage, formatIds, rankCandidates, type PickRequest, type SlotState } from './lease-policy';
