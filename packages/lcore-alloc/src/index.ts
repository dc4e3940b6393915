export {
  DEFAULT_ALLOCATOR_NAME,
  Lease,
  LcoreAllocator,
  createLcoreAllocator,
  openLcoreAllocator,
  type AcquireOptions,
  type AllocatorStats,
  type CreateOptions,
  type LeaseInfo,
  type LeaseRef,
} from './allocator';
export { findLcoreAllocators } from './find';
export { CPU_SET_SIZE, cpuSetString, defaultLeaseIds, lcoreEalArgs, type CpuSet } from './eal-args';
export * as layout from './layout';
export { eligible, exhaustionMessage, formatIds, rankCandidates, type PickRequest, type SlotState } from './policy';
export { ownerAlive, parseProcStat, readProcStat, startStamp, type ProcStat } from './proc';
