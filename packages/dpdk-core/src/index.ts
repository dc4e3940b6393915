export { DpdkError } from './errors';
export {
  DEFAULT_BASE_VIRTADDR,
  EAL_OPTIONS,
  applyEalDefaults,
  MAX_LCORE,
  buildEalArgs,
  ealConfigSchema,
  parseEalArgs,
  splitArgv,
  type EalConfig,
  type ParsedEalOption,
} from './eal-args';
export {
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
  validate,
  walkMemzones,
  type Memzone,
  type ReserveOptions,
} from './memzone';
export { checkDpdkVersion } from './native';
export { ports, type PortSummary } from './ethdev';
