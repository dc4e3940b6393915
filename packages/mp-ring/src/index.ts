export {
  MessageRing,
  createMessageRing,
  createRing,
  lookupRing,
  messageSize,
  schemaZoneName,
  type PacketRing,
  type RingOptions,
  type SyncMode,
} from './ring';
export {
  CACHE_LINE,
  decode,
  describeLayout,
  encode,
  layoutHash,
  t,
  viewOf,
  type AlignedType,
  type ArrayType,
  type Fields,
  type ScalarName,
  type ScalarType,
  type StructType,
  type Type,
  type ValueOf,
  type ViewOf,
} from './layout';
export { createStruct, lookupStruct, type SharedStruct } from './struct';
export { limits } from './limits';
export {
  Burst,
  DpdkError,
  MEMPOOL_NAME_MAX,
  createMempoolCache,
  createPktmbufPool,
  lookupMempool,
  type Mempool,
  type MempoolCache,
  type PktmbufPoolOptions,
} from '@mp/dpdk-core';
