// Packet-buffer pools (rte_mempool of rte_mbuf); the user-owned caches made
// from them are in mempool_cache.cc. One Mempool wrapper per pool per process, tracked like memzones so cleanup()
// frees the pools this process created and invalidates every handle.
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <memory>
#include <string>

#include "journaled.h"
#include "burst.h"
#include "common.h"
#include "fastcall.h"
#include "handle_registry.h"
#include "mempool.h"
#include "mempool_cache.h"
#include "pool_objects.h"

namespace dpdk_core {

namespace {

// allocBulk(burstId, n): rte_pktmbuf_alloc_bulk, n or 0.
uint32_t OpPoolAllocBulk(napi_env env, PoolState& s, const double* args) {
  s.Live(env, "allocBulk", false);
  uint32_t n = 0;
  Burst* burst = Burst::FromIdWithRoom(env, *s.data, args, "allocBulk", &n);
  // Journaled: all or nothing, so never fewer than n from the cache.
  PoolActivity* a = ActivityHere();
  const uint32_t got = JournaledGets(a, s.mp, n, Guard{}, static_cast<uint32_t>(RxGet::kIntoBurst), 0, [&](uint32_t k) {
    return k == n && rte_pktmbuf_alloc_bulk(s.mp, burst->pkts() + burst->count(), n) == 0 ? n : 0;
  });
  burst->SetCount(burst->count() + got);
  ActivityIdle(a);
  return got;
}

}  // namespace

class Mempool : public TrackedHandle<Mempool, rte_mempool> {
 public:
  static constexpr const char* kKind = "mempool";
  static HandleRegistry<Mempool>& Registry(AddonData& data) { return data.mempools; }

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Mempool",
                       {
                           InstanceAccessor("name", &Mempool::Name, nullptr),
                           InstanceAccessor<&Mempool::Size>("size"),
                           InstanceAccessor<&Mempool::CacheSize>("cacheSize"),
                           InstanceAccessor<&Mempool::DataRoomSize>("dataRoomSize"),
                           InstanceAccessor<&Mempool::PrivSize>("privSize"),
                           InstanceAccessor<&Mempool::Socket>("socket"),
                           InstanceAccessor("created", &Mempool::Created, nullptr),
                           InstanceAccessor("closed", &Mempool::Closed, nullptr),
                           InstanceMethod<&Mempool::AvailableCount>("availableCount"),
                           InstanceMethod<&Mempool::InUseCount>("inUseCount"),
                           InstanceMethod<&Mempool::CacheCount>("cacheCount"),
                           InstanceMethod<&Mempool::FlushCache>("flushCache"),
                           InstanceMethod<&Mempool::FastPath>("fastPath"),
                           InstanceMethod<&Mempool::CreateCache>("createCache"),
                           InstanceMethod<&Mempool::MemoryView>("memoryView"),
                           InstanceMethod<&Mempool::Free>("free"),
                           InstanceMethod("close", &Mempool::Close),
                       });
  }

  explicit Mempool(const Napi::CallbackInfo& info)
      : TrackedHandle(info, 2, "Mempool handles come from createPktmbufPool() or lookupMempool()"),
        size_(ptr_->size),
        eltSize_(ptr_->elt_size) {
    st_->data = data_;
    st_->mp = ptr_;
    st_->name = name_;
  }

  // The packet-path functions bound to this handle may outlive it: once it
  // is collected they must not reach a pool that may then be freed.
  ~Mempool() override { st_->mp = nullptr; }

  // A pool of the same name re-created with other buffers is another pool.
  bool Describes(const rte_mempool* mp) const {
    return TrackedHandle::Describes(mp) && mp->size == size_ && mp->elt_size == eltSize_;
  }

  static Napi::Object Wrap(Napi::Env env, rte_mempool* mp, bool created) {
    if (Mempool* existing = Find(env, mp)) return existing->Value();
    return Data(env).mempoolCtor.New(
        {Napi::External<rte_mempool>::New(env, mp), Napi::Boolean::New(env, created)});
  }

  using TrackedHandle::Live;

  // Unlike Invalidate, leaves the pool's user caches alone: they hold the
  // pool pointer themselves.
  void Retire() {
    DetachView();
    Unregister(false);
    st_->mp = nullptr;
  }

  // Invalidates the handle and the user caches made from it; with free, also
  // returns the pool's memory to DPDK (creator only).
  void Invalidate(bool free) {
    if (ptr_ == nullptr) return;
    rte_mempool* mp = ptr_;
    DestroyCachesOf(*data_, mp);
    DetachView();
    if (Unregister(free)) rte_mempool_free(mp);
    st_->mp = nullptr;
  }

  const std::shared_ptr<PoolState>& State() const { return st_; }

  static void DestroyCachesOf(AddonData& data, rte_mempool* mp) {
    data.mempoolCaches.ForEach([mp](MempoolCache& c) {
      if (c.pool() == mp) c.Destroy();
    });
  }

 private:
  unsigned ArgLcore(const Napi::CallbackInfo& info, const char* op) {
    uint32_t lcore = ArgU32(info, 0, "lcoreId");
    if (lcore >= RTE_MAX_LCORE) {
      ThrowDpdkCode(info.Env(), op, "EINVAL",
                    "lcore id " + std::to_string(lcore) + " is out of range (0.." + std::to_string(RTE_MAX_LCORE - 1) + ")");
    }
    return lcore;
  }

  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Live("size")->size); }
  Napi::Value CacheSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), Live("cacheSize")->cache_size);
  }
  Napi::Value DataRoomSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), rte_pktmbuf_data_room_size(Live("dataRoomSize")));
  }
  Napi::Value PrivSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), rte_pktmbuf_priv_size(Live("privSize")));
  }
  Napi::Value Socket(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Live("socket")->socket_id); }

  // One external ArrayBuffer over the pool's objects per handle, for packet
  // vectors' in-place views. It is detached when the handle closes (close,
  // free, cleanup), so nothing reads through it once the pool may be gone,
  // and it holds its handle so that a collected handle cannot leave it
  // undetached.
  Napi::Value MemoryView(const Napi::CallbackInfo& info) {
    rte_mempool* mp = Live("memoryView");
    if (!view_.IsEmpty()) {
      Napi::Value v = view_.Value();
      if (v.IsArrayBuffer()) return v;
    }
    const PoolSpan span = SpanOf(mp);
    if (span.length == 0 || span.length > kMaxViewBytes) {
      ThrowDpdkCode(info.Env(), "memoryView", "EINVAL",
                    "mempool '" + name_ + "' spans " + std::to_string(span.length) +
                        " bytes of memory; packet views cover pools of 1 byte to 4 GiB: use a smaller pool");
    }
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(info.Env(), reinterpret_cast<void*>(span.base), span.length);
    ab.DefineProperty(Napi::PropertyDescriptor::Value("mempool", Value(), napi_default));
    view_ = Napi::Weak(ab.As<Napi::Object>());
    return ab;
  }

  void DetachView() {
    if (view_.IsEmpty()) return;
    HideViewsOf(*data_, *st_);
    Napi::Value v = view_.Value();
    if (v.IsArrayBuffer() && !v.As<Napi::ArrayBuffer>().IsDetached()) v.As<Napi::ArrayBuffer>().Detach();
    view_.Reset();
  }

  // Objects in the pool's ring plus every per-lcore cache (DPDK's definition).
  Napi::Value AvailableCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), rte_mempool_avail_count(Live("availableCount")));
  }
  Napi::Value InUseCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), rte_mempool_in_use_count(Live("inUseCount")));
  }

  Napi::Value CacheCount(const Napi::CallbackInfo& info) {
    rte_mempool* mp = Live("cacheCount");
    rte_mempool_cache* cache = rte_mempool_default_cache(mp, ArgLcore(info, "cacheCount"));
    return Napi::Number::New(info.Env(), cache == nullptr ? 0 : cache->len);
  }

  // Empties an lcore's cache into the pool: this process's own, or one no
  // live thread or process uses. Kill-safe (EmptyCache), so a process killed
  // while flushing its own cache leaves nothing a repair would return twice.
  Napi::Value FlushCache(const Napi::CallbackInfo& info) {
    rte_mempool* mp = Live("flushCache");
    const uint32_t lcore = ArgLcore(info, "flushCache");
    rte_mempool_cache* cache = rte_mempool_default_cache(mp, lcore);
    uint32_t flushed = cache == nullptr ? 0 : cache->len;
    if (cache == nullptr || flushed == 0) return Napi::Number::New(info.Env(), 0);
    // This process's own cache: a journaled transfer. Another lcore's: its
    // objects leave that cache before they reach the ring, and a kill in
    // between loses them (and leaves a stuck enqueue the proofs cannot pin).
    PoolActivity* a = ActivityHere();
    if (a != nullptr && lcore == rte_lcore_id() && ExactCache(mp, lcore) == cache && OwnFlush(a, mp, cache)) {
      return Napi::Number::New(info.Env(), flushed);
    }
    RecordOpaque(a, mp);
    EmptyCache(mp, cache, flushed);
    ActivityIdle(a);
    return Napi::Number::New(info.Env(), flushed);
  }

  // { allocBulk(burstId, n) } for the TypeScript handle.
  Napi::Value FastPath(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object fns = Napi::Object::New(env);
    fns.Set("allocBulk", Bind<PoolState, OpPoolAllocBulk>(env, "allocBulk", st_));
    return fns;
  }

  Napi::Value CreateCache(const Napi::CallbackInfo& info) {
    rte_mempool* mp = Live("createCache");
    uint32_t size = ArgU32(info, 0, "size");
    int64_t socket = ArgI64(info, 1, "socket");
    if (size == 0 || size > RTE_MEMPOOL_CACHE_MAX_SIZE) {
      ThrowDpdkCode(info.Env(), "createCache", "EINVAL",
                    "cache size must be 1.." + std::to_string(RTE_MEMPOOL_CACHE_MAX_SIZE));
    }
    rte_mempool_cache* cache = rte_mempool_cache_create(size, static_cast<int>(socket));
    if (cache == nullptr) {
      ThrowDpdk(info.Env(), "createCache", rte_errno, "cannot allocate a mempool cache of " + std::to_string(size));
    }
    return Data(info.Env()).mempoolCacheCtor.New(
        {Napi::External<rte_mempool>::New(info.Env(), mp), Napi::External<rte_mempool_cache>::New(info.Env(), cache)});
  }

  // Refused while packets are out of the pool: freeing it under them (in a
  // burst, a ring or a port's queues) would corrupt memory at their next free.
  Napi::Value Free(const Napi::CallbackInfo& info) {
    if (ptr_ == nullptr) return info.Env().Undefined();
    RequireEal(info.Env(), "freeMempool");
    RequireCreator(info.Env(), "freeMempool");
    // This process's user caches give their objects back when destroyed,
    // which a refused free must not do: count them as in the pool.
    uint32_t cached = 0;
    data_->mempoolCaches.ForEach([this, &cached](MempoolCache& c) {
      if (c.pool() == ptr_) cached += c.held();
    });
    unsigned inUse = rte_mempool_in_use_count(ptr_) - cached;
    if (inUse > 0) {
      ThrowDpdkCode(info.Env(), "freeMempool", "EBUSY",
                    "mempool '" + name_ + "' still has " + std::to_string(inUse) +
                        " packets in use (bursts, rings, TX buffers or port queues); free them and stop/close the "
                        "ports using it first");
    }
    // A port's RX queue allocates from it on every burst (and holds none of
    // its buffers while the driver refills on demand, as net_null does).
    for (const auto& [port, pools] : data_->rxQueuePools) {
      for (size_t q = 0; q < pools.size(); q++) {
        if (pools[q] != ptr_) continue;
        ThrowDpdkCode(info.Env(), "freeMempool", "EBUSY",
                      "mempool '" + name_ + "' feeds rx queue " + std::to_string(q) + " of port " + std::to_string(port) +
                          "; close the port (port.close()) before freeing the pool");
      }
    }
    Invalidate(true);
    return info.Env().Undefined();
  }

  std::shared_ptr<PoolState> st_ = std::make_shared<PoolState>();
  Napi::ObjectReference view_;
  uint32_t size_;
  uint32_t eltSize_;
};

PoolSpan SpanOf(const rte_mempool* mp) {
  uintptr_t lo = UINTPTR_MAX;
  uintptr_t hi = 0;
  const rte_mempool_memhdr* chunk;
  STAILQ_FOREACH(chunk, &mp->mem_list, next) {
    const auto addr = reinterpret_cast<uintptr_t>(chunk->addr);
    lo = std::min(lo, addr);
    hi = std::max(hi, addr + chunk->len);
  }
  return lo < hi ? PoolSpan{lo, hi - lo} : PoolSpan{0, 0};
}

std::shared_ptr<PoolState> PoolStateFrom(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(Data(env).mempoolCtor.Value())) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a Mempool");
  }
  Mempool* pool = Mempool::Unwrap(value.As<Napi::Object>());
  pool->Live(what);
  return pool->State();
}

rte_mempool* MempoolFrom(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(Data(env).mempoolCtor.Value())) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a Mempool");
  }
  return Mempool::Unwrap(value.As<Napi::Object>())->Live(what);
}

namespace {

Napi::Value CreatePktmbufPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "createPktmbufPool");
  std::string name = ArgString(info, 0, "name");
  uint32_t size = ArgU32(info, 1, "size");
  uint32_t cacheSize = ArgU32(info, 2, "cacheSize");
  uint32_t dataRoom = ArgU32(info, 3, "dataRoomSize");
  uint32_t privSize = ArgU32(info, 4, "privSize");
  int64_t socket = ArgI64(info, 5, "socket");
  if (name.empty() || name.size() >= RTE_MEMPOOL_NAMESIZE || size == 0 || cacheSize > RTE_MEMPOOL_CACHE_MAX_SIZE ||
      dataRoom > UINT16_MAX || privSize > UINT16_MAX || privSize % RTE_MBUF_PRIV_ALIGN != 0) {
    ThrowDpdkCode(env, "createPktmbufPool", "EINVAL", "invalid arguments for pool '" + name + "'");
  }
  rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), size, cacheSize, static_cast<uint16_t>(privSize),
                                            static_cast<uint16_t>(dataRoom), static_cast<int>(socket));
  if (mp == nullptr) {
    int err = rte_errno;
    std::string hint = err == EEXIST   ? "; a pool of that name exists: look it up instead, or pick another name"
                       : err == ENOMEM ? "; not enough hugepage memory: lower size/dataRoomSize or raise -m"
                                       : "";
    ThrowDpdk(env, "createPktmbufPool", err,
              "cannot create mbuf pool '" + name + "' of " + std::to_string(size) + " buffers" + hint);
  }
  Data(env).mempools.MarkCreated(mp);
  return Mempool::Wrap(env, mp, true);
}

Napi::Value LookupMempool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "lookupMempool");
  std::string name = ArgString(info, 0, "name");
  rte_mempool* mp = rte_mempool_lookup(name.c_str());
  if (mp == nullptr) {
    ThrowDpdk(env, "lookupMempool", ENOENT,
              "no mempool named '" + name +
                  "'; is the primary running with the same --file-prefix, and has it created the pool?");
  }
  // Every packet call would write mbuf fields past smaller elements.
  if (mp->private_data_size < sizeof(rte_pktmbuf_pool_private) || mp->elt_size < sizeof(rte_mbuf)) {
    ThrowDpdkCode(env, "lookupMempool", "EINVAL",
                  "mempool '" + name + "' is not a pool of packet buffers (rte_pktmbuf_pool_create); it cannot be used here");
  }
  return Mempool::Wrap(env, mp, false);
}

}  // namespace

void FreeCreatedMempools(AddonData& data) {
  data.mempoolCaches.ForEach([](MempoolCache& c) { c.Destroy(); });
  data.mempools.FreeCreated([](const void* mp, bool) {
    rte_mempool_free(const_cast<rte_mempool*>(static_cast<const rte_mempool*>(mp)));
  });
}

// Packets left in bursts go back to their pools: in a secondary the pools are
// shared and outlive this process, so leaving them would leak buffers.
void FreeBurstPackets(AddonData& data) {
  for (Burst* b : data.bursts) {
    if (b != nullptr) b->FreeAll();
  }
}

void ForgetPools(Napi::Env env) {
  AddonData& data = Data(env);
  data.mempoolCaches.ForEach([](MempoolCache& c) { c.Forget(); });
  data.mempools.InvalidateAll([](Mempool& pool) { pool.Retire(); });
}

void ReleasePacketPlane(Napi::Env env) {
  AddonData& data = Data(env);
  FreeBurstPackets(data);
  FreeTxBuffers(data);
  CloseConfiguredPorts(data);
  data.mempools.InvalidateAll([](Mempool& pool) { pool.Invalidate(true); });
  FreeCreatedMempools(data);
}

void FreePacketPlane(AddonData& data) {
  FreeBurstPackets(data);
  FreeTxBuffers(data);
  CloseConfiguredPorts(data);
  FreeCreatedMempools(data);
}

void InitMempool(Napi::Env env, Napi::Object exports) {
  AddonData& data = Data(env);
  Napi::Function ctor = Mempool::Define(env);
  data.mempoolCtor = Napi::Persistent(ctor);
  data.mempoolCacheCtor = Napi::Persistent(MempoolCache::Define(env));
  exports.Set("Mempool", ctor);
  exports.Set("createPktmbufPool", Napi::Function::New(env, CreatePktmbufPool, "createPktmbufPool"));
  exports.Set("lookupMempool", Napi::Function::New(env, LookupMempool, "lookupMempool"));
}

}  // namespace dpdk_core
