// The one-owner audit of a packet pool (auditMempool): at a moment when
// nothing moves, every buffer of the pool must be listed in exactly one
// place: the pool's ring, an lcore's cache, or a holder the caller names (a
// packet ring, a named TX buffer, a burst of this process). A buffer listed
// twice was freed twice or has two owners; one listed nowhere is lost (or
// held where the audit cannot look, such as a device's queues).
#include <rte_mbuf.h>
#include <rte_memzone.h>

#include <string>
#include <vector>

#include "burst.h"
#include "common.h"
#include "pool_objects.h"
#include "ring.h"
#include "txzone.h"

namespace dpdk_core {

namespace {

constexpr uint32_t kExamples = 8;

class Census {
 public:
  explicit Census(rte_mempool* mp) : pool_(mp), seen_(pool_.size(), 0), where_(pool_.size(), 0) {}

  uint32_t Place(std::string name) {
    places_.push_back(std::move(name));
    return static_cast<uint32_t>(places_.size() - 1);
  }

  // An entry of the pool's own ring or caches: anything else there is corruption.
  void Free(const void* obj, uint32_t place) {
    if (!Note(obj, place)) foreign_++;
  }

  // A packet a holder lists, segment by segment. Packets of other pools
  // belong to other audits; only this pool's segments are followed.
  void Packet(const rte_mbuf* m, uint32_t place) {
    for (uint32_t segs = 0; m != nullptr && segs < pool_.size(); segs++) {
      if (!Note(m, place)) return;
      m = m->next;
    }
  }

  Napi::Object Result(Napi::Env env) const {
    uint32_t distinct = 0;
    uint32_t duplicates = 0;
    for (uint8_t n : seen_) {
      distinct += n > 0;
      duplicates += n > 1;
    }
    Napi::Array examples = Napi::Array::New(env);
    for (uint32_t i = 0; i < examples_.size(); i++) {
      Napi::Object e = Napi::Object::New(env);
      Napi::Array places = Napi::Array::New(env, 2);
      places.Set(0u, places_[examples_[i].first]);
      places.Set(1u, places_[examples_[i].second]);
      e.Set("object", examples_[i].object);
      e.Set("places", places);
      examples.Set(i, e);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("size", pool_.size());
    o.Set("duplicates", duplicates);
    o.Set("lost", pool_.size() - distinct);
    o.Set("foreign", foreign_);
    o.Set("examples", examples);
    return o;
  }

 private:
  bool Note(const void* obj, uint32_t place) {
    const int64_t idx = pool_.IndexOf(obj);
    if (idx < 0) return false;
    if (seen_[idx] == 0) {
      where_[idx] = place;
    } else if (seen_[idx] == 1 && examples_.size() < kExamples) {
      examples_.push_back({static_cast<uint32_t>(idx), where_[idx], place});
    }
    if (seen_[idx] < 255) seen_[idx]++;
    return true;
  }

  struct Example {
    uint32_t object;
    uint32_t first;
    uint32_t second;
  };

  const PoolObjects pool_;
  std::vector<uint8_t> seen_;
  std::vector<uint32_t> where_;
  std::vector<std::string> places_;
  std::vector<Example> examples_;
  uint32_t foreign_ = 0;
};

// Counts what [from, to) of a ring of pointers lists.
template <typename Count>
uint32_t EachListed(rte_ring* r, uint32_t from, uint32_t to, Count count) {
  void** slots = RingSlots(r);
  for (uint32_t pos = from; pos != to; pos++) count(slots[pos & r->mask]);
  return to - from;
}

std::vector<std::string> ArgNames(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an array of names");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t j = 0; j < a.Length(); j++) {
    Napi::Value v = a.Get(j);
    if (!v.IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an array of names");
    out.push_back(v.As<Napi::String>().Utf8Value());
  }
  return out;
}

// (pool, ringNames, txBufferNames, burstIds) => { size, inRing, inCaches,
//   held, duplicates, lost, foreign, settled, examples }
Napi::Value AuditMempool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rte_mempool* mp = MempoolFrom(env, info[0], "pool");
  rte_ring* pr = PoolRing(mp);
  if (pr == nullptr) {
    ThrowDpdkCode(env, "auditMempool", "ENOTSUP",
                  std::string("pool '") + mp->name + "' uses the " + rte_mempool_get_ops(mp->ops_index)->name +
                      " driver, whose contents cannot be read; only ring drivers can be audited");
  }
  const std::vector<std::string> ringNames = ArgNames(info, 1, "rings");
  const std::vector<std::string> zoneNames = ArgNames(info, 2, "txBuffers");
  if (!info[3].IsArray()) throw Napi::TypeError::New(env, "bursts must be an array of burst ids");
  Napi::Array burstIds = info[3].As<Napi::Array>();
  // Every holder is resolved before anything is counted.
  std::vector<rte_ring*> rings;
  for (const std::string& name : ringNames) rings.push_back(FindRing(env, "auditMempool", name, sizeof(void*), true));
  std::vector<const rte_eth_dev_tx_buffer*> buffers;
  for (const std::string& name : zoneNames) {
    const rte_memzone* mz = rte_memzone_lookup(name.c_str());
    if (mz == nullptr) ThrowDpdk(env, "auditMempool", ENOENT, "no TX buffer zone named '" + name + "'");
    if (!IsTxZone(mz)) ThrowDpdkCode(env, "auditMempool", "EINVAL", "memzone '" + name + "' is not a named TX buffer");
    buffers.push_back(ZoneBuffer(mz));
  }
  std::vector<Burst*> bursts;
  for (uint32_t i = 0; i < burstIds.Length(); i++) {
    Napi::Value id = burstIds.Get(i);
    if (!id.IsNumber()) throw Napi::TypeError::New(env, "bursts must be an array of burst ids");
    bursts.push_back(Burst::FromId(env, Data(env), id.As<Napi::Number>().DoubleValue()));
  }

  Census census(mp);
  const uint32_t ring = census.Place("pool ring");
  const bool settled = pr->prod.head == pr->prod.tail && pr->cons.head == pr->cons.tail;
  const uint32_t inRing = EachListed(pr, pr->cons.tail, pr->prod.tail, [&](void* o) { census.Free(o, ring); });
  uint32_t inCaches = 0;
  for (uint32_t lcore = 0; lcore < RTE_MAX_LCORE; lcore++) {
    const rte_mempool_cache* c = rte_mempool_default_cache(mp, lcore);
    if (c == nullptr || c->len == 0) continue;
    const uint32_t place = census.Place("lcore " + std::to_string(lcore) + " cache");
    const uint32_t len = std::min<uint32_t>(c->len, RTE_MEMPOOL_CACHE_MAX_SIZE * 2);
    for (uint32_t j = 0; j < len; j++) census.Free(c->objs[j], place);
    inCaches += len;
  }
  uint32_t held = 0;
  for (uint32_t i = 0; i < rings.size(); i++) {
    const uint32_t place = census.Place("ring " + ringNames[i]);
    rte_ring* r = rings[i];
    held += EachListed(r, r->cons.tail, r->prod.tail, [&](void* o) { census.Packet(static_cast<rte_mbuf*>(o), place); });
  }
  for (uint32_t i = 0; i < buffers.size(); i++) {
    const uint32_t place = census.Place("tx buffer " + zoneNames[i]);
    const uint16_t n = std::min(TxLength(buffers[i]), buffers[i]->size);
    for (uint16_t j = 0; j < n; j++) census.Packet(buffers[i]->pkts[j], place);
    held += n;
  }
  for (uint32_t i = 0; i < bursts.size(); i++) {
    const uint32_t place = census.Place("burst " + std::to_string(i));
    for (uint32_t j = 0; j < bursts[i]->count(); j++) census.Packet(bursts[i]->pkts()[j], place);
    held += bursts[i]->count();
  }
  Napi::Object result = census.Result(env);
  result.Set("inRing", inRing);
  result.Set("inCaches", inCaches);
  result.Set("held", held);
  result.Set("settled", settled);
  return result;
}

}  // namespace

void InitMempoolAudit(Napi::Env env, Napi::Object exports) {
  exports.Set("auditMempool", Napi::Function::New(env, AuditMempool, "auditMempool"));
}

}  // namespace dpdk_core
