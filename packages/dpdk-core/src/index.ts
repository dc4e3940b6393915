export { DpdkError, PROJECT_CODES, codeSource, dpdkError, errnoOf, hasCode, type CodeSource } from './errors';
export { validate } from './validate';
export {
  DEFAULT_BASE_VIRTADDR,
  EAL_OPTIONS,
  applyEalDefaults,
  MAX_LCORE,
  buildEalArgs,
  DEFAULT_FILE_PREFIX,
  ealArgvOf,
  ealConfigSchema,
  ealOptionValue,
  filePrefixOf,
  filePrefixSchema,
  lcoreIdsFromArgv,
  parseEalArgs,
  splitArgv,
  type EalConfig,
  type ParsedEalOption,
} from './eal-args';
export {
  abandon,
  cleanup,
  currentLcore,
  dpdkVersion,
  ealState,
  initEal,
  initEalFromArgv,
  lcoreCount,
  lcores,
  mainLcore,
  memoryStats,
  primaryProcessAlive,
  processType,
  runtimeDir,
  runtimeDirFor,
  type EalState,
  type Lcore,
  type MemoryStats,
  type ProcessType,
} from './eal';
export {
  ANY_SOCKET,
  MEMZONE_NAME_MAX,
  lookupMemzone,
  memzoneNameSchema,
  reserveMemzone,
  walkMemzones,
  type Memzone,
  type ReserveOptions,
} from './memzone';
export { addonLoadError, checkDpdkVersion } from './load-error';
export { monotonicMs } from './fastcall';
export {
  RING_ELEMENT_SIZE_MAX,
  RING_FLAGS,
  RING_NAME_MAX,
  RING_SIZE_MAX,
  createElementRing,
  createPacketRing,
  lookupElementRing,
  lookupPacketRing,
  ringFlags,
  ringModes,
  ringNameSchema,
  ringOptionsSchema,
  Ring,
  type BurstHandle,
  type RingOptions,
  type SyncMode,
} from './ring';
export {
  DEFAULT_DESC,
  MAX_PORTS,
  Port,
  openPort,
  portConfigSchema,
  portCount,
  portIdSchema,
  portIds,
  ports,
  rxBurst,
  txBurst,
  type LinkStatus,
  type PortConfig,
  type PortConfigured,
  type PortInfo,
  type PortStats,
  type PortSummary,
  type QueueSetupOptions,
} from './ethdev';
export { BURST_CAPACITY_MAX, Burst } from './burst';
export {
  MBUF_DEFAULT_BUF_SIZE,
  MBUF_HEADROOM,
  MEMPOOL_CACHE_MAX,
  MEMPOOL_NAME_MAX,
  createMempoolCache,
  createPktmbufPool,
  lookupMempool,
  mempoolNameSchema,
  pktmbufPoolOptionsSchema,
  type Mempool,
  type MempoolCache,
  type PktmbufPoolOptions,
} from './mempool';
export { createTxBuffer, reclaimTxBuffer, type TxBuffer } from './txbuffer';
export { ETHER_ADDR_LEN, ETHER_HDR_LEN, formatMac, parseMac } from './packet';
export {
  DROP,
  type PacketVector,
  type PacketOffsets,
  type PacketVectorFailpoint,
  VECTOR_CAPACITY_MAX,
  createPacketVector,
  packetVectorOptionsSchema,
  reclaimPacketVector,
  type PacketVectorOptions,
  type ReclaimedVector,
} from './vector';
export {
  MBUF_FREE_BATCH,
  armPoolFailpoint,
  mempoolRingState,
  poolActivity,
  repairMempool,
  type MempoolRingState,
  type PoolActivity,
  type PoolFailpoint,
  type RefillOutcome,
  type RepairActivity,
  type RepairOutcome,
  type RepairResult,
} from './mempool-repair';
export { auditMempool, type AuditHolders, type MempoolAudit } from './mempool-audit';
export { queryTelemetry, registerTelemetry, telemetryCommandSchema, type TelemetryCommand, type TelemetryValue } from './telemetry';
export { enableCapture } from './capture';
export { walkMempools, walkRings, type MempoolSummary, type RingSummary } from './inspect';
export {
  hugepageFiles,
  hugepageMounts,
  hugepageSizes,
  listPrefixes,
  runtimeBase,
  type HugepageMount,
  type HugepageSize,
} from './machine';
export { cleanPrefix, describePrefix, liveSecondaries, type PrefixFile, type PrefixState } from './prefixes';
export { CLOCK_TICK_MS, ownerAlive, parseProcStat, pidExists, processArgv, readProcStat, startStamp, type ProcStat } from './proc';
