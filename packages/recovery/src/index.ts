export { Supervisor } from './supervisor';
export type { ExitEvent, ExitReason, GroupInfo, SlaveInfo, SlaveSpecInput, SlaveStatus, SupervisorEvents, SupervisorOptionsInput } from './supervisor-spec';
export { SupervisedProcess, type CommandOutcome, type ProcessExit } from './supervised-process';
export { SlaveLink, SLAVE_ENV, attachSlave, type SlaveCommand } from './slave-link';
export { decideRestart, recentCrashes, restartPolicySchema, type RestartDecision, type RestartPolicy, type RestartPolicyInput } from './restart-policy';
export { checkGraph, dependentsClosure, startWaves, stopWaves, type DependencyNode } from './deps';
export {
  customResource,
  drainRing,
  packetVectors,
  poolAudit,
  poolCache,
  reclaimAll,
  txBuffers,
  type PoolLike,
  type ReclaimContext,
  type ReclaimReport,
  type ReclaimResult,
  type Resource,
  type RingLike,
} from './resources';
export { HolderWatch, type Holder, type HolderEvent } from './holder-watch';
export { ControlZone, controlZoneLayout, type CounterLayout, type SlaveState } from './control-zone';
