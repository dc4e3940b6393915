// Packet vectors: the packet path for packet logic written in JavaScript.
//
// One native call (fill) takes up to a vector's capacity of packets from its
// input -- RX bursts from its ports in turn until it is full or every port
// came back empty, or one dequeue from its ring -- and describes each packet
// in typed arrays over an ArrayBuffer JavaScript holds: where its data starts
// in the pool's memory, how many bytes of it can be read there in place, its
// input port. JavaScript reads and writes the bytes through a view of the
// pool's memory (one per pool per process) and writes a destination per
// packet; one native call (send) hands every packet to the output its
// destination names, or frees it. Nothing is allocated and nothing crosses
// into C per packet.
//
// A named vector keeps its packet pointers in a memzone of that name, with a
// journal of how far send has got, so that when its process dies any other
// process can give back what it held: packets taken from ports to their pool,
// packets taken from a ring back to that ring (reclaimPacketVector), with the
// exception of what the two adjacent stores of a hand-over leave between them
// (lost, never freed twice).
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common.h"
#include "counters.h"
#include "mempool.h"
#include "ring.h"
#include "txzone.h"

namespace dpdk_core {

constexpr uint32_t kMaxVector = 2048;
// The destination that frees a packet.
constexpr uint16_t kDropDestination = 0xffff;

// A named vector's zone: this header, then `capacity` packet pointers.
constexpr uint64_t kVectorZoneMagic = 0x706b747665633031ULL;  // "pktvec01"
constexpr size_t kVectorZoneHeader = 128;
enum VectorInput : uint32_t { kInputPorts = 1, kInputRing = 2 };

struct VectorJournal {
  ZoneHeader header;
  uint32_t capacity;
  uint32_t input;   // VectorInput
  uint32_t count;   // packets listed in the zone's pointers [0, count)
  uint32_t done;    // of those, [0, done) went to an output or were freed
  uint32_t active;  // ring input: a peeked batch is pending
  uint32_t tail0;   // ring input: the ring's consumer tail when it was peeked
  char ring[RTE_RING_NAMESIZE];
};
static_assert(sizeof(VectorJournal) <= kVectorZoneHeader, "the journal fits the zone's header");

inline rte_mbuf** ZonePackets(const rte_memzone* mz) {
  return reinterpret_cast<rte_mbuf**>(static_cast<uint8_t*>(mz->addr) + kVectorZoneHeader);
}

// Test-only fault injection, armed through the addon's internal
// `armFailpoint` (never from the environment, so production processes cannot
// trip it by accident).
enum class Failpoint { kNone, kSendKillAfterChunk, kKillAfterFill, kKillInPeek };

struct RxSource {
  uint16_t port;
  uint16_t queue;
};

enum class OutputKind { kBuffered, kDirect, kRing };

struct Output {
  OutputKind kind;
  uint16_t port = 0;
  uint16_t queue = 0;
  HeldTxBuffer held;                // kBuffered
  std::shared_ptr<RingSlot> ring;   // kRing
  bool bulk = true;                 // kRing: a share goes in whole or not at all
  uint32_t bulkLimit = 0;           // kRing, bulk: a share goes in pieces of at most this (0: whole)
  VectorState* owner = nullptr;     // for the TX buffer's error callback
  uint32_t index = 0;
};

struct VectorState {
  AddonData* data = nullptr;
  std::shared_ptr<PoolState> pool;
  PoolSpan span{0, 0};
  uint32_t capacity = 0;
  uint32_t count = 0;
  // false: the handler never reads packet bytes, so fill() leaves off/len
  // alone (len stays 0 and every accessor refuses).
  bool describeBytes = true;
  // fill() prefetches each packet's first data line as it describes its
  // bytes (read only when describeBytes). Off unless the constructor is told:
  // its default (on with bytes) is TypeScript's to give.
  bool prefetchBytes = false;
  rte_mbuf** pkts = nullptr;        // own storage, or a named vector's zone
  std::vector<rte_mbuf*> own;
  std::vector<rte_mbuf*> staging;   // send: packets grouped by destination
  std::vector<uint32_t> shares;     // send: packets per output (+1: dropped)
  // What JavaScript sees, in two ArrayBuffers (see the layout in vector.cc).
  uint32_t* off = nullptr;
  uint16_t* len = nullptr;
  uint16_t* port = nullptr;
  uint16_t* dest = nullptr;
  double* received = nullptr;       // per input source
  double* sent = nullptr;           // per output: on the wire or in its ring
  double* dropped = nullptr;        // per output: refused by the device or a full ring
  double* discarded = nullptr;      // one: freed by the DROP destination or free()
  uint32_t* held = nullptr;         // count, as JavaScript reads it
  // Input: ports in turn, or one ring.
  std::vector<RxSource> sources;
  uint16_t burstSize = 32;
  uint32_t cursor = 0;
  std::shared_ptr<RingSlot> inRing;
  rte_ring* peeked = nullptr;       // the ring of a pending batch
  std::vector<Output> outputs;
  // Any output is a ring: send() groups each output's share and hands it on
  // in one call. A bulk ring needs its share whole; any ring is fed one
  // enqueue per share instead of one per run (by flow, runs are a packet or
  // two long, and each small enqueue made the consumer see its ring a
  // packet or two at a time).
  bool groupShares = false;
  // Counters the caller shares (often a memzone view other processes read).
  CounterArray* counters = nullptr;
  std::vector<int32_t> receivedAt, sentAt, droppedAt;
  // Their words, set for each call (MirrorCounters): their memory may have
  // gone since the last one.
  volatile uint64_t* mirror = nullptr;
  const rte_memzone* zone = nullptr;
  VectorJournal* journal = nullptr;
  Failpoint failpoint = Failpoint::kNone;
  bool closed = false;

  // Describes pkts[from, to) for JavaScript; inputPort < 0: each packet's
  // mbuf->port.
  void Describe(uint32_t from, uint32_t to, int32_t inputPort);
  // Points `mirror` at the shared counters' words; E_CLOSED if their memory is gone.
  void MirrorCounters(napi_env env, const char* op);
  void AddSent(uint32_t out, uint32_t n);
  void AddDropped(uint32_t out, uint32_t n);
};

// The packet path (vector_path.cc): fill, send, flush and free, bound to a
// vector's state by its fastPath() (fastcall.h).
uint32_t OpFill(napi_env env, VectorState& s, const double*);
uint32_t OpSend(napi_env env, VectorState& s, const double*);
uint32_t OpFlush(napi_env env, VectorState& s, const double*);
uint32_t OpFree(napi_env env, VectorState& s, const double*);
// Empties and frees the TX buffers and zones; the vector is closed after.
void CloseVector(VectorState& s);

// A dead owner's named vector (vector_reclaim.cc): what it held goes back.
// Returns {requeued (back in the ring), freed (back to the pool)}; the caller
// holds the zone.
std::pair<uint32_t, uint32_t> SettleZone(const rte_memzone* mz);
// reclaimPacketVector(name): for a named vector whose process is gone.
Napi::Value ReclaimPacketVector(const Napi::CallbackInfo& info);

// Exports PacketVector, reclaimPacketVector and maxVector.
void InitVector(Napi::Env env, Napi::Object exports);

// cleanup(): the packets every vector holds go back (to their ring or pool),
// their TX buffers are emptied and freed.
void ReleaseVectors(AddonData& data);

}  // namespace dpdk_core
