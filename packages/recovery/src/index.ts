export { Supervisor, type ExitEvent, type ExitReason, type GroupInfo, type Lease, type LcoreLeaser, type SlaveInfo, type SlaveSpecInput, type SupervisorEvents, type SupervisorOptionsInput } from './supervisor';
export { SlaveLink, SLAVE_ENV, attachSlave, type SlaveCommand } from './slave';
export { decideRestart, recentCrashes, restartPolicySchema, type RestartDecision, type RestartPolicy, type RestartPolicyInput } from './policy';
export { checkGraph, dependentsClosure, startWaves, stopWaves, type DependencyNode } from './deps';
export { customResource, drainRing, packetVectors, poolAudit, poolCache, txBuffers, type PoolLike, type ReclaimContext, type ReclaimResult, type Resource, type RingLike } from './resources';
export { ControlZone, type SlaveState } from './control-zone';
export { COUNTER_COUNT } from './layout';
