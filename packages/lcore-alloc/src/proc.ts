/** Process liveness lives in @mp/dpdk-core (tools that inspect a group need it too); re-exported for this package's users. */
export { ownerAlive, parseProcStat, readProcStat, startStamp, type ProcStat } from '@mp/dpdk-core';
