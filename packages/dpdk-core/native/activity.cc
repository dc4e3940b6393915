#include "activity.h"

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_memzone.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "common.h"
#include "pool_objects.h"

namespace dpdk_core {

PoolActivity* g_claimedActivity[RTE_MAX_LCORE] = {};
namespace {
PoolActivity* g_waitedActivity = nullptr;
}  // namespace
PoolFailpoint g_poolFailpoint = PoolFailpoint::kNone;

namespace {

// The zone of every lcore's record: a cache line of header, then the records.
constexpr const char* kZoneName = "mp_pool_activity";
constexpr uint64_t kZoneMagic = 0x706f6f6c61637431ULL;  // "poolact1"
struct ActivityZone {
  alignas(64) uint64_t magic;
  PoolActivity records[RTE_MAX_LCORE];
};

bool g_unavailable = false;
uint32_t g_failSkip = 0;

ActivityZone* ZoneOf(const rte_memzone* mz) {
  if (mz == nullptr || mz->len < sizeof(ActivityZone)) return nullptr;
  auto* z = static_cast<ActivityZone*>(mz->addr);
  return __atomic_load_n(&z->magic, __ATOMIC_ACQUIRE) == kZoneMagic ? z : nullptr;
}

// The zone, made by whichever process needs it first. One that finds it
// made but not yet published waits for the maker's one store.
ActivityZone* HoldZone() {
  const rte_memzone* mz = rte_memzone_lookup(kZoneName);
  if (mz == nullptr) {
    mz = rte_memzone_reserve(kZoneName, sizeof(ActivityZone), SOCKET_ID_ANY, 0);
    if (mz != nullptr) {
      std::memset(mz->addr, 0, sizeof(ActivityZone));
      __atomic_store_n(&static_cast<ActivityZone*>(mz->addr)->magic, kZoneMagic, __ATOMIC_RELEASE);
    } else {
      mz = rte_memzone_lookup(kZoneName);  // another process made it at the same moment
    }
  }
  if (mz == nullptr || mz->len < sizeof(ActivityZone)) return nullptr;
  for (int spins = 0; spins < 1000000; spins++) {
    if (ActivityZone* z = ZoneOf(mz)) return z;
    rte_pause();
  }
  return nullptr;
}

const char* OpName(uint32_t op) {
  switch (op) {
    case kActPut:
      return "put";
    case kActTx:
      return "tx";
    case kActGet:
      return "get";
    case kActOpaque:
      return "opaque";
    case kActHandTx:
      return "hand-over";
    default:
      return "idle";
  }
}

// Pools whose calls can be journaled exactly, by pool and its ring (a pool
// freed and made again at the same address gets a new ring).
struct ExactMemo {
  const rte_mempool* mp = nullptr;
  const void* ring = nullptr;
  bool exact = false;
};
ExactMemo g_memo[4];
uint32_t g_memoNext = 0;

bool ExactPool(rte_mempool* mp) {
  for (const ExactMemo& m : g_memo) {
    if (m.mp == mp && m.ring == mp->pool_data) return m.exact;
  }
  const rte_ring* r = PoolRing(mp);
  const bool exact = r != nullptr && mp->cache_size > 0 && r->prod.sync_type == RTE_RING_SYNC_MT &&
                     r->cons.sync_type == RTE_RING_SYNC_MT;
  g_memo[g_memoNext++ % 4] = {mp, mp->pool_data, exact};
  return exact;
}

PortDrivers g_drivers[RTE_MAX_ETHPORTS] = {};

PortDrivers Classify(uint16_t port) {
  const PortDrivers unknown{TxFree::kUnknown, RxGet::kUnknown};
  rte_eth_dev_info info;
  if (!rte_eth_dev_is_valid_port(port) || rte_eth_dev_info_get(port, &info) != 0 || info.driver_name == nullptr) {
    return unknown;
  }
  const std::string driver = info.driver_name;
  // DPDK 22.11: eth_null_tx/eth_null_copy_tx, eth_pcap_tx/_tx_dumper/eth_tx_drop
  // and eth_memif_tx free each packet with rte_pktmbuf_free once it is out,
  // in order; eth_null_rx and eth_pcap_rx allocate into the burst only.
  if (driver == "net_null" || driver == "net_pcap") return {TxFree::kInOrder, RxGet::kIntoBurst};
  // pmd_tx_burst frees each packet in order too (GSO segments aside, which
  // the repair checks for); its RX allocates the replacements it keeps.
  if (driver == "net_tap") return {TxFree::kInOrder, RxGet::kUnknown};
  if (driver == "net_ring") return {TxFree::kRing, RxGet::kNone};
  if (driver == "net_memif") {
    // Zero-copy keeps sent packets until the peer is done with them (only a
    // primary runs it: a secondary always copies).
    const rte_devargs* args = info.device == nullptr ? nullptr : rte_dev_devargs(info.device);
    const bool zeroCopy = rte_eal_process_type() == RTE_PROC_PRIMARY && args != nullptr && args->args != nullptr &&
                          std::strstr(args->args, "zero-copy=yes") != nullptr;
    return zeroCopy ? unknown : PortDrivers{TxFree::kInOrder, RxGet::kIntoBurst};
  }
  return unknown;
}

}  // namespace

PortDrivers DriversOf(uint16_t port) {
  if (port >= RTE_MAX_ETHPORTS) return {TxFree::kUnknown, RxGet::kUnknown};
  PortDrivers& d = g_drivers[port];
  if (d.tx == TxFree{}) d = Classify(port);
  return d;
}

PoolActivity* FindActivity(uint32_t lcore) {
  ActivityZone* z = ZoneOf(rte_memzone_lookup(kZoneName));
  return z == nullptr || lcore >= RTE_MAX_LCORE ? nullptr : &z->records[lcore];
}

namespace {

// Whether the record's owner died inside a pool call it journals, which
// repairMempool has not settled yet.
bool DiedInsideCall(const PoolActivity& a) {
  return a.owner.pid != 0 && (OpOf(a.op) != kActIdle || XferOf(a.xfer) != kXferNone) && !OwnerAlive(a.owner);
}

}  // namespace

PoolActivity* ClaimActivityAtInit(unsigned lcore) {
  if (lcore >= RTE_MAX_LCORE) return nullptr;
  PoolActivity* a = FindActivity(lcore);
  if (a == nullptr || SameOwner(a->owner, SelfOwner())) return ClaimActivity(lcore);
  // A live process already waiting for the record takes it first: a standby
  // promoted but not yet running, before a standby started after its
  // promotion, which would otherwise take the record here and leave the
  // promoted one's calls unjournaled and its repair refused as a live
  // process's (seen beside two CPU hogs).
  const ZoneOwner waiting = a->waiting;
  const bool otherWaits = waiting.pid != 0 && !SameOwner(waiting, SelfOwner()) && OwnerAlive(waiting);
  // Nobody's (its owner exited and released it), or a dead owner's whose
  // call a repair settled: the journal says nothing more, and it is taken now.
  const bool free = a->owner.pid == 0 ||
                    ((__atomic_load_n(&a->op, __ATOMIC_ACQUIRE) & kActRepaired) != 0 && !OwnerAlive(a->owner));
  if (free && !otherWaits) return ClaimActivity(lcore);
  // Otherwise this process is named as waiting until its first pool call
  // takes the record (a client joining on the id, a warm standby: they make
  // no pool call before the owner is gone), so a repair of this process if
  // it dies first uses the record, which still describes the cache.
  if (!otherWaits) {
    StoreOwner(&a->waiting, SelfOwner());
    g_waitedActivity = a;
  }
  return nullptr;
}

PoolActivity* ClaimActivitySlow(unsigned lcore) {
  if (g_unavailable) return nullptr;
  ActivityZone* z = HoldZone();
  if (z == nullptr) {
    g_unavailable = true;
    fprintf(stderr, "dpdk-core: cannot reserve memzone '%s' for the pool activity journal; repairMempool falls back to maxPut for this process\n",
            kZoneName);
    return nullptr;
  }
  PoolActivity* a = &z->records[lcore];
  const ZoneOwner before = a->owner;
  // A live process holds this lcore id (a warm standby attaches on the id of
  // the client it will replace, and makes no pool call until that one is
  // dead and repaired): its record is its own. Resetting it would erase
  // the journal of a call it may be inside; no record is taken now, and the
  // next pool call asks again.
  if (before.pid != 0 && !SameOwner(before, SelfOwner()) && OwnerAlive(before)) return nullptr;
  if (DiedInsideCall(*a)) {
    fprintf(stderr,
            "dpdk-core: lcore %u was used by pid %d, which died inside a pool call and was not repaired (repairMempool) "
            "before this process took the lcore id; its cache may list stale objects\n",
            lcore, before.pid);
  }
  PublishPair(&a->op, kActIdle, 0);
  PublishWord(&a->xfer, kXferNone);
  StoreOwner(&a->owner, SelfOwner());
  StoreOwner(&a->waiting, ZoneOwner{0, 0});
  if (g_waitedActivity == a) g_waitedActivity = nullptr;
  g_claimedActivity[lcore] = a;
  return a;
}

void ReleaseActivity() {
  for (PoolActivity*& a : g_claimedActivity) {
    if (a == nullptr) continue;
    PublishPair(&a->op, kActIdle, 0);
    PublishWord(&a->xfer, kXferNone);
    StoreOwner(&a->owner, ZoneOwner{0, 0});
    a = nullptr;
  }
  if (g_waitedActivity != nullptr && SameOwner(g_waitedActivity->waiting, SelfOwner())) {
    StoreOwner(&g_waitedActivity->waiting, ZoneOwner{0, 0});
  }
  g_waitedActivity = nullptr;
  for (PortDrivers& d : g_drivers) d = PortDrivers{};
  for (ExactMemo& m : g_memo) m = ExactMemo{};
}

rte_mempool_cache* ExactCache(rte_mempool* mp, unsigned lcore) {
  if (lcore >= RTE_MAX_LCORE || !ExactPool(mp)) return nullptr;
  return rte_mempool_default_cache(mp, lcore);
}

void PoolFailpointReached(PoolFailpoint at) {
  if (g_failSkip > 0) {
    g_failSkip--;
    return;
  }
  raise(SIGKILL);
}

// rte_mempool_do_generic_put for each chunk of `chunk` objects, as DPDK
// 22.11 inlines it (the length raised, then the objects stored), stopped
// with half of a chunk stored.
void DieInsidePuts(rte_mempool_cache* cache, rte_mbuf* const* pkts, uint32_t n, uint32_t chunk) {
  const uint32_t chunks = (n + chunk - 1) / chunk;
  const uint32_t whole = std::min(chunks - 1, chunks / 2);
  for (uint32_t c = 0; c < whole; c++) {
    const uint32_t len = cache->len;
    __atomic_store_n(&cache->len, len + chunk, __ATOMIC_RELAXED);
    std::memcpy(&cache->objs[len], pkts + c * chunk, chunk * sizeof(void*));
  }
  const uint32_t size = std::min(chunk, n - whole * chunk);
  const uint32_t len = cache->len;
  __atomic_store_n(&cache->len, len + size, __ATOMIC_RELAXED);
  for (uint32_t j = 0; j < size / 2; j++) cache->objs[len + j] = pkts[whole * chunk + j];
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  raise(SIGKILL);
  abort();
}

// rte_mempool_do_generic_get served from the cache: the length lowered
// (the objects are copied out after it).
void DieInsideGet(rte_mempool_cache* cache, uint32_t n) {
  __atomic_store_n(&cache->len, cache->len - n, __ATOMIC_RELAXED);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  raise(SIGKILL);
  abort();
}

void RequireSettled(Napi::Env env, const char* op, ZoneOwner owner, const void* lo, size_t len, const std::string& what) {
  ActivityZone* z = ZoneOf(rte_memzone_lookup(kZoneName));
  if (z == nullptr || owner.pid == 0) return;
  const auto* from = static_cast<const uint8_t*>(lo);
  auto inside = [&](const void* p) {
    const auto* q = static_cast<const uint8_t*>(p);
    return q >= from && q < from + len;
  };
  for (uint32_t lcore = 0; lcore < RTE_MAX_LCORE; lcore++) {
    const PoolActivity& a = z->records[lcore];
    if (!SameOwner(a.owner, owner)) continue;
    const uint32_t o = OpOf(__atomic_load_n(&a.op, __ATOMIC_ACQUIRE));
    const bool handOver = o == kActHandTx && inside(a.handWord);
    if ((o == kActPut || o == kActTx || o == kActGet || o == kActHandTx) && (inside(a.array) || inside(a.guardWord) || handOver)) {
      ThrowDpdkCode(env, op, "EAGAIN",
                    what + " was in the middle of a pool call (" + OpName(o) + ") when pid " + std::to_string(owner.pid) +
                        " died on lcore " + std::to_string(lcore) + ": repairMempool(pool, { lcore: " + std::to_string(lcore) +
                        " }) must settle it first, then reclaim");
    }
  }
}

const char* ActivityOpName(uint32_t op) { return OpName(op); }

namespace {

// armPoolFailpoint(name, skip): test-only (see PoolFailpoint).
Napi::Value ArmPoolFailpoint(const Napi::CallbackInfo& info) {
  static const std::pair<const char*, PoolFailpoint> kNames[] = {
      {"none", PoolFailpoint::kNone},
      {"put-recorded", PoolFailpoint::kPutRecorded},
      {"put-started", PoolFailpoint::kPutStarted},
      {"put-partial", PoolFailpoint::kPutPartial},
      {"put-done", PoolFailpoint::kPutDone},
      {"get-recorded", PoolFailpoint::kGetRecorded},
      {"get-partial", PoolFailpoint::kGetPartial},
      {"get-done", PoolFailpoint::kGetDone},
      {"flush-reserving", PoolFailpoint::kFlushReserving},
      {"flush-cas", PoolFailpoint::kFlushCas},
      {"flush-copied", PoolFailpoint::kFlushCopied},
      {"flush-emptied", PoolFailpoint::kFlushEmptied},
      {"flush-published", PoolFailpoint::kFlushPublished},
      {"refill-reserving", PoolFailpoint::kRefillReserving},
      {"refill-cas", PoolFailpoint::kRefillCas},
      {"refill-copied", PoolFailpoint::kRefillCopied},
      {"refill-published", PoolFailpoint::kRefillPublished},
      {"enqueue-cas", PoolFailpoint::kEnqueueCas},
      {"enqueue-copied", PoolFailpoint::kEnqueueCopied},
      {"hand-counted", PoolFailpoint::kHandCounted},
  };
  const std::string name = ArgString(info, 0, "failpoint");
  const uint32_t skip = ArgU32(info, 1, "skip");
  for (const auto& [n, at] : kNames) {
    if (name == n) {
      g_failSkip = skip;
      g_poolFailpoint = at;
      return info.Env().Undefined();
    }
  }
  throw Napi::RangeError::New(info.Env(), "unknown pool failpoint '" + name + "'");
}

// poolActivity(lcore): the record, for diagnostics and tests.
Napi::Value PoolActivityOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "poolActivity");
  const uint32_t lcore = ArgU32(info, 0, "lcore");
  const PoolActivity* a = FindActivity(lcore);
  if (a == nullptr) return env.Null();
  const uint32_t word = __atomic_load_n(&a->op, __ATOMIC_ACQUIRE);
  const uint32_t xfer = __atomic_load_n(&a->xfer, __ATOMIC_ACQUIRE);
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", a->owner.pid);
  o.Set("op", OpName(OpOf(word)));
  o.Set("inCall", (word & kActInCall) != 0);
  o.Set("shared", (word & kActShared) != 0);
  o.Set("repaired", (word & kActRepaired) != 0);
  o.Set("waiting", a->waiting.pid);
  o.Set("done", a->done);
  o.Set("n", a->n);
  o.Set("transfer", XferOf(xfer) == kXferFlush     ? "flush"
                    : XferOf(xfer) == kXferRefill  ? "refill"
                    : XferOf(xfer) == kXferEnqueue ? "enqueue"
                                                   : "none");
  o.Set("phase", PhaseOf(xfer) == kPhaseReserving ? "reserving" : PhaseOf(xfer) == kPhaseReserved ? "reserved" : "");
  return o;
}

}  // namespace

void InitActivity(Napi::Env env, Napi::Object exports) {
  exports.Set("armPoolFailpoint", Napi::Function::New(env, ArmPoolFailpoint, "armPoolFailpoint"));
  exports.Set("poolActivity", Napi::Function::New(env, PoolActivityOf, "poolActivity"));
}

}  // namespace dpdk_core
