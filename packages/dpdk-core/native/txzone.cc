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
  AddonData& data = Data(env);
  const size_t need = kTxZoneHeader + RTE_ETH_TX_BUFFER_SIZE(size);
  const rte_memzone* mz = rte_memzone_lookup(name.c_str());
  if (mz != nullptr) {
    if (!IsTxZone(mz)) {
      ThrowDpdkCode(env, op, "EEXIST", "memzone '" + name + "' exists and is not a tx buffer; choose another name");
    }
    if (mz->len < need) {
      ThrowDpdkCode(env, op, "EEXIST",
                    "tx buffer '" + name + "' exists with room for fewer than " + std::to_string(size) +
                        " packets; use its size or another name");
    }
    if (data.heldTxZones.count(mz) != 0) {
      ThrowDpdkCode(env, op, "EBUSY", "tx buffer '" + name + "' is held by another handle of this process; free that one first");
    }
    *discarded += TxDiscard(ZoneBuffer(mz));
  } else {
    mz = rte_memzone_reserve(name.c_str(), need, socket, RTE_MEMZONE_SIZE_HINT_ONLY);
    if (mz == nullptr) {
      ThrowDpdk(env, op, rte_errno,
                "cannot reserve memzone '" + name + "' for a tx buffer of " + std::to_string(size) +
                    " packets; raise -m or free memzones");
    }
    std::memset(mz->addr, 0, need);
    *static_cast<uint64_t*>(mz->addr) = kTxZoneMagic;
  }
  data.heldTxZones.insert(mz);
  held.zone = mz;
  held.buf = ZoneBuffer(mz);
  return held;
}

void ReleaseTxBuffer(AddonData& data, HeldTxBuffer& held) {
  if (held.zone != nullptr) {
    data.heldTxZones.erase(held.zone);
    rte_memzone_free(held.zone);
  } else if (held.buf != nullptr) {
    rte_free(held.buf);
  }
  held = HeldTxBuffer{};
}

}  // namespace dpdk_core
