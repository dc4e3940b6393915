// What the pool repair and the pool audit both need to read in a shared
// packet pool: its ring (for the ring drivers), and the set of objects the
// pool was built with, to tell its buffers from anything else a cache, ring
// or TX buffer might list.
#pragma once

#include <rte_mempool.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace dpdk_core {

// The rte_ring behind a pool of the ring drivers (ring_mp_mc, ring_sp_sc,
// ...), or null for other drivers, whose state cannot be read here.
inline rte_ring* PoolRing(const rte_mempool* mp) {
  const rte_mempool_ops* ops = rte_mempool_get_ops(mp->ops_index);
  return std::strncmp(ops->name, "ring_", 5) == 0 ? static_cast<rte_ring*>(mp->pool_data) : nullptr;
}

// A ring's slots (rings of 8-byte elements: pools and packet rings).
inline void** RingSlots(rte_ring* r) { return reinterpret_cast<void**>(r + 1); }

// Every object of a pool, by address, with its index (rte_mempool_obj_iter's order).
class PoolObjects {
 public:
  explicit PoolObjects(rte_mempool* mp) {
    // Reserved up front: the callback runs inside DPDK, where nothing may throw.
    list_.reserve(mp->size);
    rte_mempool_obj_iter(mp, Add, &list_);
    for (uint32_t i = 0; i < list_.size(); i++) index_.emplace(list_[i], i);
  }

  // The object's index, or -1 if it is not an object of this pool.
  int64_t IndexOf(const void* obj) const {
    auto it = index_.find(obj);
    return it == index_.end() ? -1 : it->second;
  }
  uint32_t size() const { return static_cast<uint32_t>(list_.size()); }

 private:
  static void Add(rte_mempool* mp, void* list, void* obj, unsigned) {
    auto* l = static_cast<std::vector<const void*>*>(list);
    if (l->size() < l->capacity()) l->push_back(obj);
  }

  std::vector<const void*> list_;
  std::unordered_map<const void*, uint32_t> index_;
};

// Empties an lcore's cache, returning its first `keep` objects to the pool:
// the length is cleared before they go to the ring, so a process killed in
// between loses them rather than leaving them listed in the cache as well
// (rte_mempool_cache_flush clears it after, and whoever repairs that cache
// next would put them in the pool a second time).
inline void EmptyCache(rte_mempool* mp, rte_mempool_cache* cache, uint32_t keep) {
  std::vector<void*> objs(cache->objs, cache->objs + std::min(keep, cache->len));
  __atomic_store_n(&cache->len, 0u, __ATOMIC_RELEASE);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  if (!objs.empty()) rte_mempool_ops_enqueue_bulk(mp, objs.data(), static_cast<unsigned>(objs.size()));
}

}  // namespace dpdk_core
