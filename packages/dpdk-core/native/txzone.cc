#include "txzone.h"

#include <rte_errno.h>
#include <rte_malloc.h>

#include <cstring>

namespace dpdk_core {

bool IsTxZone(const rte_memzone* mz) {
  if (mz->len < kTxZoneHeader + RTE_ETH_TX_BUFFER_SIZE(1)) return false;
  if (*static_cast<const uint64_t*>(mz->addr) != kTxZoneMagic) return false;
  const rte_eth_dev_tx_buffer* buf = ZoneBuffer(mz);
  return buf->size > 0 && kTxZoneHeader + RTE_ETH_TX_BUFFER_SIZE(buf->size) <= mz->len;
}

uint16_t TxDiscard(rte_eth_dev_tx_buffer* buf) {
  const uint16_t n = TxLength(buf);
  if (n == 0) return 0;
  __atomic_store_n(&buf->length, static_cast<uint16_t>(0), __ATOMIC_RELEASE);
  rte_pktmbuf_free_bulk(buf->pkts, n);
  return n;
}

NamedZone HoldNamedZone(Napi::Env env, const char* op, const std::string& name, size_t len, int socket,
                        bool (*isKind)(const rte_memzone*), const std::string& kind) {
  AddonData& data = Data(env);
  NamedZone zone{rte_memzone_lookup(name.c_str()), false};
  if (zone.mz != nullptr) {
    if (!isKind(zone.mz)) {
      ThrowDpdkCode(env, op, "EEXIST", "memzone '" + name + "' exists and is not a " + kind + "; choose another name");
    }
    if (zone.mz->len < len) {
      ThrowDpdkCode(env, op, "EEXIST",
                    kind + " '" + name + "' exists, smaller than this one needs; use the size it was made with, or another name");
    }
    if (data.heldZones.count(zone.mz) != 0) {
      ThrowDpdkCode(env, op, "EBUSY", kind + " '" + name + "' is held by another handle of this process; free that one first");
    }
    zone.adopted = true;
  } else {
    zone.mz = rte_memzone_reserve(name.c_str(), len, socket, RTE_MEMZONE_SIZE_HINT_ONLY);
    if (zone.mz == nullptr) {
      ThrowDpdk(env, op, rte_errno, "cannot reserve memzone '" + name + "' for a " + kind + "; raise -m or free memzones");
    }
    std::memset(zone.mz->addr, 0, len);
  }
  data.heldZones.insert(zone.mz);
  return zone;
}

void ReleaseNamedZone(AddonData& data, const rte_memzone* mz) {
  data.heldZones.erase(mz);
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
  const NamedZone zone = HoldNamedZone(env, op, name, kTxZoneHeader + RTE_ETH_TX_BUFFER_SIZE(size), socket, IsTxZone, "tx buffer");
  // What a dead owner left in it goes back to the pool.
  if (zone.adopted) *discarded += TxDiscard(ZoneBuffer(zone.mz));
  else *static_cast<uint64_t*>(zone.mz->addr) = kTxZoneMagic;
  held.zone = zone.mz;
  held.buf = ZoneBuffer(zone.mz);
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
