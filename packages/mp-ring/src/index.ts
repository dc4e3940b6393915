/**
 * @mp/mp-ring, the shared-memory layer: typed C-layout structs, declared zones
 * checked by one header, owned slots, rings of packets and of typed messages.
 */
export { MessageRing, createMessageRing, lookupRing, messageSize, schemaZoneName, type PacketRing, type RingOptions, type SyncMode } from './message-ring';
export {
  CACHE_LINE,
  describeLayout,
  layoutHash,
  offsetOf,
  t,
  type AlignedType,
  type ArrayType,
  type Fields,
  type ScalarName,
  type ScalarType,
  type StructType,
  type Type,
  type ValueOf,
  type ViewOf,
} from './struct-layout';
export { decode, encode, viewOf } from './struct-view';
export { createStruct, lookupStruct, type SharedStruct } from './shared-struct';
export { SharedZone, ZONE_HEADER, checkZone, createZone, declareZone, openZone, type ZoneDeclaration, type ZoneLayout } from './zone';
export { OwnedSlot, nextGeneration, ownerWords, packOwnerWord, startStampOf, unpackOwnerWord, type Ownership } from './owned-slot';
export { limits } from './limits';
export {
  Burst,
  DpdkError,
  MEMPOOL_NAME_MAX,
  createMempoolCache,
  createPacketRing,
  createPktmbufPool,
  lookupMempool,
  type Mempool,
  type MempoolCache,
  type PktmbufPoolOptions,
} from '@mp/dpdk-core';
