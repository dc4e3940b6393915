// What other kinds need of a pool handle: its shared state (see fastcall.h)
// and where its buffers live in this process's address space.
#pragma once

#include <rte_mempool.h>

#include <memory>
#include <string>

#include "common.h"
#include "fastcall.h"

namespace dpdk_core {

// What a handle shares with the functions and packet vectors that act on the
// pool, which may outlive it: the handle clears the pointers when it closes.
struct PoolState {
  AddonData* data = nullptr;
  rte_mempool* mp = nullptr;
  rte_mempool_cache* cache = nullptr;  // user caches only
  std::string name;

  void Live(napi_env env, const char* op, bool isCache) const {
    FastRequireEal(env, *data, op);
    if (isCache ? cache != nullptr : mp != nullptr) return;
    if (!isCache) ThrowClosed(env, op, "mempool", name);
    ThrowDpdkCode(Napi::Env(env), op, "E_CLOSED", "mempool cache is closed (closed, its pool freed, or EAL cleaned up)");
  }
};

// The virtual memory holding a pool's objects: from its lowest memory chunk
// to the end of its highest (one chunk, unless DPDK had to split the pool).
struct PoolSpan {
  uintptr_t base;
  uint64_t length;
};
PoolSpan SpanOf(const rte_mempool* mp);

// Packet views address a pool's memory with 32-bit offsets (Node 20's typed
// arrays and DataViews stop at 4 GiB too).
constexpr uint64_t kMaxViewBytes = 0xffffffffULL;

// The state of a live Mempool handle; a TypeError for anything else, E_CLOSED
// for a closed handle.
std::shared_ptr<PoolState> PoolStateFrom(Napi::Env env, Napi::Value value, const char* what);

// The pool's handle is closing and its memory view going: packet vectors
// over it stop describing the packets they hold (vector.cc), so their
// accessors refuse them instead of reading the detached view.
void HideViewsOf(AddonData& data, const PoolState& pool);

}  // namespace dpdk_core
