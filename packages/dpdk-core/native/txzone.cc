#include "txzone.h"

#include <rte_errno.h>
#include <rte_malloc.h>

#include <cstring>

namespace dpdk_core {

bool IsTxZone(const rte_memzone* mz) {
  if (mz->len < kTxZoneHeader + RTE_ETH_TX_BUFFER_SIZE(1)) return false;
  if (__atomic_load_n(&HeaderOf(mz)->magic, __ATOMIC_ACQUIRE) != kTxZoneMagic) return false;
  const rte_eth_dev_tx_buffer* buf = ZoneBuffer(mz);
  return buf->size > 0 && kTxZoneHeader + RTE_ETH_TX_BUFFER_SIZE(buf->size) <= mz->len &&
         TxLength(buf) <= buf->size;
}

uint16_t TxDiscard(rte_eth_dev_tx_buffer* buf) {
  const uint16_t n = TxLength(buf);
  if (n == 0) return 0;
  JournaledFree(buf->pkts, n, true, Guard{&buf->length, 0, 16}, [buf] { TxClearLength(buf); });
  return n;
}

namespace {

std::string OwnerText(ZoneOwner owner) { return "pid " + std::to_string(owner.pid); }

// Takes the owner word over from a dead (or absent) owner; EBUSY if it lives
// or another process took it first.
void TakeOver(Napi::Env env, const char* op, const rte_memzone* mz, const std::string& kind, const std::string& name) {
  ZoneHeader* h = HeaderOf(mz);
  ZoneOwner seen = h->owner;
  const ZoneOwner self = SelfOwner();
  // By pid and stamp: a later process given a dead holder's pid is not it,
  // and must not skip the check that the dead one's pool call was settled.
  const bool mine = SameOwner(seen, self);
  if (!mine && OwnerAlive(seen)) {
    ThrowDpdkCode(env, op, "EBUSY",
                  kind + " '" + name + "' is held by live process " + OwnerText(seen) +
                      "; stop that process first, or use another name");
  }
  // A pool call the dead owner was making on these packets is settled by
  // repairMempool first: both would give them back otherwise.
  if (!mine) RequireSettled(env, op, seen, mz->addr, mz->len, kind + " '" + name + "'");
  if (!ClaimOwner(&h->owner, &seen)) {
    ThrowDpdkCode(env, op, "EBUSY",
                  kind + " '" + name + "' was taken by " + OwnerText(seen) + " at the same moment; try again once it is free");
  }
}

// Clears what follows the header and writes `magic`: the zone is made, or
// made again from an unpublished one.
void Publish(const rte_memzone* mz, uint64_t magic) {
  std::memset(static_cast<uint8_t*>(mz->addr) + sizeof(ZoneHeader), 0, mz->len - sizeof(ZoneHeader));
  __atomic_store_n(&HeaderOf(mz)->magic, magic, __ATOMIC_RELEASE);
}

}  // namespace

NamedZone HoldNamedZone(Napi::Env env, const char* op, const std::string& name, size_t len, int socket, uint64_t magic,
                        const std::string& kind) {
  AddonData& data = Data(env);
  NamedZone zone{rte_memzone_lookup(name.c_str()), false};
  if (zone.mz != nullptr) {
    const uint64_t found = __atomic_load_n(&HeaderOf(zone.mz)->magic, __ATOMIC_ACQUIRE);
    if (found != magic && found != kUnpublishedZone) {
      ThrowDpdkCode(env, op, "EEXIST", "memzone '" + name + "' exists and is not a " + kind + "; choose another name");
    }
    if (zone.mz->len < len) {
      ThrowDpdkCode(env, op, "EEXIST",
                    kind + " '" + name + "' exists, smaller than this one needs; use the size it was made with, or another name");
    }
    if (data.heldZones.count(zone.mz) != 0) {
      ThrowDpdkCode(env, op, "EBUSY", kind + " '" + name + "' is held by another handle of this process; free that one first");
    }
    TakeOver(env, op, zone.mz, kind, name);
    // Unpublished: its creator died before handing it anything; it starts afresh.
    zone.adopted = found == magic;
    if (!zone.adopted) Publish(zone.mz, magic);
  } else {
    zone.mz = rte_memzone_reserve(name.c_str(), len, socket, RTE_MEMZONE_SIZE_HINT_ONLY);
    if (zone.mz == nullptr) {
      ThrowDpdk(env, op, rte_errno, "cannot reserve memzone '" + name + "' for a " + kind + "; raise -m or free memzones");
    }
    // Until it is marked, its first word is DPDK's zero, which no other
    // process takes over: the owner is this process's alone to write. Then
    // the mark: killed from there on, the creator leaves a zone that the next
    // holder of the name, seeing the owner dead, takes over. Killed before
    // it, a zone that answers EEXIST until the primary restarts.
    StoreOwner(&HeaderOf(zone.mz)->owner, SelfOwner());
    __atomic_store_n(&HeaderOf(zone.mz)->magic, kUnpublishedZone, __ATOMIC_RELEASE);
    Publish(zone.mz, magic);
  }
  data.heldZones.insert(zone.mz);
  return zone;
}

void ClaimDeadZone(Napi::Env env, const char* op, const rte_memzone* mz, uint64_t magic, const std::string& kind,
                   const std::string& name, bool freeing) {
  AddonData& data = Data(env);
  if (mz->len < sizeof(ZoneHeader) || __atomic_load_n(&HeaderOf(mz)->magic, __ATOMIC_ACQUIRE) != magic) {
    ThrowDpdkCode(env, op, "EINVAL", "memzone '" + name + "' is not a " + kind + "; nothing was changed");
  }
  if (data.heldZones.count(mz) != 0) {
    ThrowDpdkCode(env, op, "EBUSY", kind + " '" + name + "' is held by a live handle of this process; free() it instead");
  }
  if (freeing && data.memzones.Find(mz) != nullptr) {
    ThrowDpdkCode(env, op, "EBUSY",
                  "memzone '" + name + "' has an open memzone handle in this process; close it before freeing the zone");
  }
  TakeOver(env, op, mz, kind, name);
  data.heldZones.insert(mz);
}

void DisownNamedZone(const rte_memzone* mz) {
  StoreOwner(&HeaderOf(mz)->owner, ZoneOwner{0, 0});
}

void ReleaseNamedZone(AddonData& data, const rte_memzone* mz) {
  data.heldZones.erase(mz);
  // A memzone handle of this process on the zone (lookupMemzone of its
  // name) keeps it: freed under the handle, the handle's view would reach
  // memory DPDK hands out again or unmaps. Settled and ownerless, the zone
  // waits for a reclaim or the next holder of its name.
  if (data.memzones.Find(mz) != nullptr) {
    DisownNamedZone(mz);
    return;
  }
  rte_memzone_free(mz);
}

HeldTxBuffer HoldTxBuffer(Napi::Env env, const char* op, const std::string& name, uint32_t size, int socket,
                          uint64_t* discarded) {
  HeldTxBuffer held;
  if (name.empty()) {
    // Hugepage memory on the port's socket, like the C client: the buffer is
    // written on every packet and should sit next to the device's queues.
    held.buf = static_cast<rte_eth_dev_tx_buffer*>(rte_zmalloc_socket("tx_buffer", RTE_ETH_TX_BUFFER_SIZE(size), 0, socket));
    if (held.buf == nullptr) {
      ThrowDpdkCode(env, op, "ENOMEM", "cannot allocate a tx buffer of " + std::to_string(size) + " packets; raise -m");
    }
    return held;
  }
  const NamedZone zone =
      HoldNamedZone(env, op, name, kTxZoneHeader + RTE_ETH_TX_BUFFER_SIZE(size), socket, kTxZoneMagic, "tx buffer");
  // What a dead owner left in it goes back to the pool (a length beyond the
  // buffer's size is not something this code wrote: nothing is freed then).
  rte_eth_dev_tx_buffer* buf = ZoneBuffer(zone.mz);
  if (zone.adopted && TxLength(buf) <= buf->size) *discarded += TxDiscard(buf);
  held.zone = zone.mz;
  held.buf = buf;
  return held;
}

void ReleaseTxBuffer(AddonData& data, HeldTxBuffer& held) {
  if (held.zone != nullptr) {
    ReleaseNamedZone(data, held.zone);
  } else if (held.buf != nullptr) {
    rte_free(held.buf);
  }
  held = HeldTxBuffer{};
}

}  // namespace dpdk_core
