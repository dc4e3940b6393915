#include "mempool_cache.h"

#include <rte_mbuf.h>

#include "burst.h"
#include "fastcall.h"
#include "journaled.h"

namespace dpdk_core {

namespace {

// All-or-nothing, like rte_pktmbuf_alloc_bulk: returns n or 0. Objects taken
// through a cache are raw, so each is reset as rte_pktmbuf_alloc would.
uint32_t OpCacheAllocBulk(napi_env env, PoolState& s, const double* args) {
  s.Live(env, "cache.allocBulk", true);
  uint32_t n = 0;
  Burst* burst = Burst::FromIdWithRoom(env, *s.data, args, "cache.allocBulk", &n);
  rte_mbuf** dst = burst->pkts() + burst->count();
  // A user cache's refill from the ring is DPDK's: not journaled.
  PoolActivity* a = ActivityHere();
  RecordOpaque(a, s.mp);
  const bool got = rte_mempool_generic_get(s.mp, reinterpret_cast<void**>(dst), n, s.cache) == 0;
  ActivityIdle(a);
  if (!got) return 0;
  for (uint32_t i = 0; i < n; i++) rte_pktmbuf_reset(dst[i]);
  burst->SetCount(burst->count() + n);
  return n;
}

// freeBurst(burstId): frees every packet of the burst; single-segment packets
// of this pool go back through the cache, anything else through
// rte_pktmbuf_free.
uint32_t OpCacheFreeBurst(napi_env env, PoolState& s, const double* args) {
  s.Live(env, "cache.freeBurst", true);
  Burst* burst = Burst::FromId(env, *s.data, args[0]);
  rte_mbuf** pkts = burst->pkts();
  const uint32_t n = burst->count();
  uint32_t kept = 0;
  // Packets of other pools go through their default caches, a full user
  // cache flushes to the ring: DPDK's, not journaled.
  PoolActivity* a = ActivityHere();
  RecordOpaque(a, nullptr);
  for (uint32_t i = 0; i < n; i++) {
    rte_mbuf* m = pkts[i];
    if (m->pool != s.mp || m->nb_segs != 1) {
      rte_pktmbuf_free(m);
      continue;
    }
    m = rte_pktmbuf_prefree_seg(m);
    if (m != nullptr) pkts[kept++] = m;
  }
  if (kept > 0) rte_mempool_generic_put(s.mp, reinterpret_cast<void* const*>(pkts), kept, s.cache);
  ActivityIdle(a);
  burst->SetCount(0);
  return n;
}

}  // namespace

Napi::Function MempoolCache::Define(Napi::Env env) {
  return DefineClass(env, "MempoolCache",
                     {
                         InstanceAccessor<&MempoolCache::Size>("size"),
                         InstanceAccessor<&MempoolCache::Count>("count"),
                         InstanceAccessor<&MempoolCache::Closed>("closed"),
                         InstanceMethod<&MempoolCache::FastPath>("fastPath"),
                         InstanceMethod<&MempoolCache::Flush>("flush"),
                         InstanceMethod<&MempoolCache::Close>("close"),
                     });
}

MempoolCache::MempoolCache(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MempoolCache>(info) {
  if (info.Length() < 2 || !info[0].IsExternal() || !info[1].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "MempoolCache handles come from Mempool.createCache()");
  }
  mp_ = info[0].As<Napi::External<rte_mempool>>().Data();
  cache_ = info[1].As<Napi::External<rte_mempool_cache>>().Data();
  st_->data = &Data(info.Env());
  st_->mp = mp_;
  st_->cache = cache_;
  Data(info.Env()).mempoolCaches.Add(this);
}

MempoolCache::~MempoolCache() {
  AddonData& data = Data(Env());
  // A collected cache still holds objects of the pool: give them back.
  if (cache_ != nullptr && data.EalUsable()) Destroy();
  data.mempoolCaches.Remove(this);
}

void MempoolCache::Forget() {
  cache_ = nullptr;
  mp_ = nullptr;
  st_->cache = nullptr;
  st_->mp = nullptr;
  Data(Env()).mempoolCaches.Remove(this);
}

void MempoolCache::Destroy() {
  if (cache_ == nullptr) return;
  PoolActivity* a = ActivityHere();
  RecordOpaque(a, mp_);
  rte_mempool_cache_flush(cache_, mp_);
  ActivityIdle(a);
  rte_mempool_cache_free(cache_);
  cache_ = nullptr;
  mp_ = nullptr;
  st_->cache = nullptr;
  st_->mp = nullptr;
  Data(Env()).mempoolCaches.Remove(this);
}

rte_mempool_cache* MempoolCache::Live(const char* op) {
  if (cache_ == nullptr) {
    ThrowDpdkCode(Env(), op, "E_CLOSED", "mempool cache is closed (closed, its pool freed, or EAL cleaned up)");
  }
  return cache_;
}

Napi::Value MempoolCache::Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Live("size")->size); }
Napi::Value MempoolCache::Count(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Live("count")->len); }
Napi::Value MempoolCache::Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), cache_ == nullptr); }

// { allocBulk(burstId, n), freeBurst(burstId) } for the TypeScript handle.
Napi::Value MempoolCache::FastPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object fns = Napi::Object::New(env);
  fns.Set("allocBulk", Bind<PoolState, OpCacheAllocBulk>(env, "allocBulk", st_));
  fns.Set("freeBurst", Bind<PoolState, OpCacheFreeBurst>(env, "freeBurst", st_));
  return fns;
}

Napi::Value MempoolCache::Flush(const Napi::CallbackInfo& info) {
  rte_mempool_cache* cache = Live("cache.flush");
  PoolActivity* a = ActivityHere();
  RecordOpaque(a, mp_);
  rte_mempool_cache_flush(cache, mp_);
  ActivityIdle(a);
  return info.Env().Undefined();
}

Napi::Value MempoolCache::Close(const Napi::CallbackInfo& info) {
  if (cache_ != nullptr) RequireEal(info.Env(), "cache.close");
  Destroy();
  return info.Env().Undefined();
}

}  // namespace dpdk_core
