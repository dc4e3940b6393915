// A mempool cache owned by the caller rather than by an lcore id: for threads
// or processes without a unique lcore id, which must not touch the per-lcore
// caches (they are not thread safe). Made by Mempool.createCache(); what the
// pool's handle and cleanup() need of it.
#pragma once

#include <rte_mempool.h>

#include <memory>

#include "common.h"
#include "mempool.h"

namespace dpdk_core {

class MempoolCache : public Napi::ObjectWrap<MempoolCache> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit MempoolCache(const Napi::CallbackInfo& info);
  ~MempoolCache() override;

  rte_mempool* pool() const { return mp_; }
  uint32_t held() const { return cache_ == nullptr ? 0 : cache_->len; }

  // Closes the handle without giving anything back (abandon()).
  void Forget();
  // Returns the cached objects to the pool and frees the cache.
  void Destroy();

 private:
  rte_mempool_cache* Live(const char* op);

  Napi::Value Size(const Napi::CallbackInfo& info);
  Napi::Value Count(const Napi::CallbackInfo& info);
  Napi::Value Closed(const Napi::CallbackInfo& info);
  Napi::Value FastPath(const Napi::CallbackInfo& info);
  Napi::Value Flush(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  std::shared_ptr<PoolState> st_ = std::make_shared<PoolState>();
  rte_mempool* mp_ = nullptr;
  rte_mempool_cache* cache_ = nullptr;
};

}  // namespace dpdk_core
