// TX buffers (rte_eth_dev_tx_buffer) that a process killed at any instruction
// leaves in a state another process can undo, shared by TxBuffer and
// packet vectors. A named buffer lives in a memzone of that name, so that when
// its process dies another one can find it and give the packets it still
// lists back to their pools (reclaimTxBuffer, or the next buffer created
// under that name).
#pragma once

#include <rte_ethdev.h>
#include <rte_memzone.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "journaled.h"
#include "common.h"
#include "owner.h"

namespace dpdk_core {

// The first bytes of every named zone this addon keeps packets in (TX
// buffers, packet vectors). Its creator records itself as the owner as soon
// as the zone is reserved, then writes kUnpublishedZone, then the magic that
// says what the zone holds, never cleared after. A zone still marked
// unpublished holds nothing to give back (its creator died before handing
// it anything) and is taken over as new. A zone with any other first word
// (0 included) was not made here: a plain reserveMemzone() one, say, which
// taking over would overwrite and free under its user. The owner is the
// process that holds the zone; nobody else adopts or reclaims it while that
// process lives.
struct ZoneHeader {
  uint64_t magic;
  ZoneOwner owner;
};
constexpr uint64_t kUnpublishedZone = 0x6275706e757a7064ULL;  // "dpzunpub"

// A named buffer's zone: the header (padded to a cache line, so the buffer
// stays aligned), then the rte_eth_dev_tx_buffer.
constexpr uint64_t kTxZoneMagic = 0x7478627566763032ULL;  // "txbufv02"
constexpr size_t kTxZoneHeader = 64;
static_assert(sizeof(ZoneHeader) <= kTxZoneHeader, "the zone header fits the TX zone's first cache line");

inline rte_eth_dev_tx_buffer* ZoneBuffer(const rte_memzone* mz) {
  return reinterpret_cast<rte_eth_dev_tx_buffer*>(static_cast<uint8_t*>(mz->addr) + kTxZoneHeader);
}

bool IsTxZone(const rte_memzone* mz);

// What a buffer holds and a process killed at any instruction could leave:
// the pointer is stored before length covers it, and flush clears length
// before the device takes the packets (rte_eth_tx_buffer_flush clears it
// after, so a kill in between would leave packets the device owns listed
// and reclaim would free them twice). The burst and the free of what the
// device refuses are journaled (activity.h): from the moment length is
// cleared, repairMempool finishes what a kill interrupts.
inline uint16_t TxLength(const rte_eth_dev_tx_buffer* buf) { return __atomic_load_n(&buf->length, __ATOMIC_ACQUIRE); }

inline void TxClearLength(rte_eth_dev_tx_buffer* buf) {
  __atomic_store_n(&buf->length, static_cast<uint16_t>(0), __ATOMIC_RELEASE);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

// Sends what buf holds; what the device refuses is freed here and counted
// by the buffer's error callback (which only counts). Returns how many went.
inline uint16_t TxFlush(uint16_t port, uint16_t queue, rte_eth_dev_tx_buffer* buf) {
  const uint16_t n = buf->length;
  if (n == 0) return 0;
  // The buffer lives in DPDK's memory (a named zone or its heap), which
  // every process of the group can read.
  const uint16_t sent = JournaledTx(port, queue, buf->pkts, n, true, false, Guard{&buf->length, 0, 16},
                                    [buf] { TxClearLength(buf); });
  if (sent != n) buf->error_callback(&buf->pkts[sent], static_cast<uint16_t>(n - sent), buf->error_userdata);
  return sent;
}

// rte_eth_tx_buffer for n packets, in that order: each chunk that fits is
// copied in, then published with one length store; a full buffer is flushed.
// With `counted`, each chunk is added there before it is stored (a journal's
// count, vector.h). Returns how many went out.
inline uint32_t TxPutBulk(uint16_t port, uint16_t queue, rte_eth_dev_tx_buffer* buf, rte_mbuf* const* pkts,
                          uint32_t n, uint32_t* counted = nullptr) {
  // A counted hand-over comes from a journaled vector's zone: between the
  // count and the length store the packets are in neither holder, and the
  // journal says so (repairMempool frees them).
  PoolActivity* a = counted != nullptr && n > 0 ? ActivityHere() : nullptr;
  uint32_t sent = 0;
  while (n > 0) {
    const uint16_t len = buf->length;
    if (len >= buf->size) {
      sent += TxFlush(port, queue, buf);
      continue;
    }
    const uint32_t take = std::min<uint32_t>(n, static_cast<uint32_t>(buf->size - len));
    if (counted != nullptr) {
      if (a != nullptr) {
        RecordHandOver(a, const_cast<rte_mbuf**>(pkts), take, Guard{counted, *counted + take}, &buf->length,
                       static_cast<uint16_t>(len + take));
      }
      __atomic_store_n(counted, *counted + take, __ATOMIC_RELEASE);
      // Release keeps earlier stores before it; this keeps the chunk's stores after it.
      __atomic_signal_fence(__ATOMIC_SEQ_CST);
      FailpointAt(PoolFailpoint::kHandCounted);
    }
    std::memcpy(&buf->pkts[len], pkts, take * sizeof(rte_mbuf*));
    __atomic_store_n(&buf->length, static_cast<uint16_t>(len + take), __ATOMIC_RELEASE);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    pkts += take;
    n -= take;
    if (len + take == buf->size) sent += TxFlush(port, queue, buf);
  }
  ActivityIdle(a);
  return sent;
}

// Gives the packets a buffer lists back to their pools; how many. Length is
// cleared first for the same reason as in TxFlush.
uint16_t TxDiscard(rte_eth_dev_tx_buffer* buf);

// A named zone this process holds (AddonData::heldZones): a TX buffer's, or
// a packet vector's. `adopted`: it existed, published by an owner that is
// gone, and still holds what that owner left.
struct NamedZone {
  const rte_memzone* mz;
  bool adopted;
};

inline ZoneHeader* HeaderOf(const rte_memzone* mz) { return static_cast<ZoneHeader*>(mz->addr); }

// Looks zone `name` up or reserves it (zeroed, owned by this process, magic
// published), at least `len` bytes. An existing zone must carry `magic` (or
// none yet, with an owner recorded), be big enough, and have no live owner
// (EBUSY names it): it is then taken over with one compare-exchange of its
// owner word.
NamedZone HoldNamedZone(Napi::Env env, const char* op, const std::string& name, size_t len, int socket, uint64_t magic,
                        const std::string& kind);
void ReleaseNamedZone(AddonData& data, const rte_memzone* mz);

// For reclaiming a dead owner's zone from another process: throws unless the
// zone carries `magic`, is not held by this process, has no Memzone handle
// here when the reclaim will free it (`freeing`: its views would map freed
// memory), and its owner is gone; then makes this process its owner until
// ReleaseNamedZone (or DisownNamedZone, to leave it for a later holder).
void ClaimDeadZone(Napi::Env env, const char* op, const rte_memzone* mz, uint64_t magic, const std::string& kind,
                   const std::string& name, bool freeing);
void DisownNamedZone(const rte_memzone* mz);

// A buffer this process holds: in its named zone, or plain (zone null).
struct HeldTxBuffer {
  rte_eth_dev_tx_buffer* buf = nullptr;
  const rte_memzone* zone = nullptr;
};

// A buffer of `size` packets on `socket`, not yet initialised. With a name,
// in the zone of that name: reserved, or adopted from a dead owner, whose
// leftover packets go back to their pools and are added to *discarded. The
// zone is then held (HoldNamedZone) until ReleaseTxBuffer.
HeldTxBuffer HoldTxBuffer(Napi::Env env, const char* op, const std::string& name, uint32_t size, int socket,
                          uint64_t* discarded);

// Frees the buffer (and its zone); packets must have been discarded.
void ReleaseTxBuffer(AddonData& data, HeldTxBuffer& held);

}  // namespace dpdk_core
