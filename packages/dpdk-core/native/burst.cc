#include "burst.h"

#include <cstring>

namespace dpdk_core {

Napi::Function Burst::Define(Napi::Env env) {
  return DefineClass(env, "Burst",
                     {
                         InstanceAccessor<&Burst::Length>("length"),
                         InstanceAccessor<&Burst::Capacity>("capacity"),
                         InstanceMethod<&Burst::Free>("free"),
                         InstanceMethod<&Burst::FreeFrom>("freeFrom"),
                         InstanceMethod<&Burst::MoveTo>("moveTo"),
                         InstanceMethod<&Burst::PacketLength>("packetLength"),
                         InstanceMethod<&Burst::SetPacketLength>("setPacketLength"),
                         InstanceMethod<&Burst::ReadBytes>("readBytes"),
                         InstanceMethod<&Burst::WriteBytes>("writeBytes"),
                         InstanceMethod<&Burst::RewriteMacs>("rewriteMacs"),
                         InstanceMethod<&Burst::AllocPackets>("allocPackets"),
                     });
}

// Every Burst carries this type tag from its constructor. Checking the tag is
// several times cheaper than instanceof, and Burst::From is on every burst call.
static const napi_type_tag kBurstTag = {0x6d7062757273742dULL, 0x64706b2d636f7265ULL};

Burst* Burst::From(Napi::Env env, Napi::Value value, const char* what) {
  bool tagged = false;
  if (!value.IsObject() || napi_check_object_type_tag(env, value, &kBurstTag, &tagged) != napi_ok || !tagged) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a Burst");
  }
  return Burst::Unwrap(value.As<Napi::Object>());
}

// Unwrapping an object costs a private-property lookup (~50 ns here), more
// than a ring operation on 32 packets: hot paths take the burst's `id` (a
// plain data property JS reads through an inline cache) and find the Burst in
// the addon's table instead. An id always names a live Burst or none.
Burst* Burst::FromId(napi_env env, AddonData& data, napi_value value) {
  uint32_t id = 0;
  if (napi_get_value_uint32(env, value, &id) != napi_ok || id >= data.bursts.size() || data.bursts[id] == nullptr) {
    throw Napi::TypeError::New(env, "burst must be a Burst");
  }
  return data.bursts[id];
}

Burst::Burst(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Burst>(info) {
  if (napi_type_tag_object(info.Env(), info.This(), &kBurstTag) != napi_ok) {
    throw Napi::Error::New(info.Env(), "cannot tag the Burst object");
  }
  uint32_t capacity = ArgU32(info, 0, "capacity");
  if (capacity == 0 || capacity > kMaxCapacity) {
    throw Napi::RangeError::New(info.Env(), "burst capacity must be 1.." + std::to_string(kMaxCapacity));
  }
  capacity_ = capacity;
  pkts_.assign(capacity, nullptr);
  AddonData& data = Data(info.Env());
  if (data.freeBurstIds.empty()) {
    id_ = static_cast<uint32_t>(data.bursts.size());
    data.bursts.push_back(this);
  } else {
    id_ = data.freeBurstIds.back();
    data.freeBurstIds.pop_back();
    data.bursts[id_] = this;
  }
  info.This().As<Napi::Object>().DefineProperty(
      Napi::PropertyDescriptor::Value("id", Napi::Number::New(info.Env(), id_), napi_enumerable));
}

// A burst collected with packets still in it returns them to their pool, as
// long as DPDK's memory is still mapped.
Burst::~Burst() {
  AddonData& data = Data(Env());
  if (id_ < data.bursts.size() && data.bursts[id_] == this) {
    data.bursts[id_] = nullptr;
    data.freeBurstIds.push_back(id_);
  }
  if (count_ > 0 && data.ealInitialised && !data.ealCleanedUp) FreeAll();
}

void Burst::Consume(uint32_t n) {
  if (n >= count_) {
    count_ = 0;
    return;
  }
  memmove(pkts_.data(), pkts_.data() + n, (count_ - n) * sizeof(rte_mbuf*));
  count_ -= n;
}

void Burst::FreeAll() {
  if (count_ > 0) rte_pktmbuf_free_bulk(pkts_.data(), count_);
  count_ = 0;
}

Napi::Value Burst::Length(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), count_); }
Napi::Value Burst::Capacity(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), capacity_); }

Napi::Value Burst::Free(const Napi::CallbackInfo& info) {
  if (count_ > 0) RequireEal(info.Env(), "burst.free");
  uint32_t n = count_;
  FreeAll();
  return Napi::Number::New(info.Env(), n);
}

// Frees the packets from index on (what a partial send left behind).
Napi::Value Burst::FreeFrom(const Napi::CallbackInfo& info) {
  uint32_t from = ArgU32(info, 0, "index");
  if (from >= count_) return Napi::Number::New(info.Env(), 0);
  RequireEal(info.Env(), "burst.freeFrom");
  uint32_t n = count_ - from;
  rte_pktmbuf_free_bulk(pkts_.data() + from, n);
  count_ = from;
  return Napi::Number::New(info.Env(), n);
}

// Moves packets [start, start+count) to the end of another burst, keeping
// their order in both; all or nothing, so no packet is ever lost or doubled.
Napi::Value Burst::MoveTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Burst* other = Burst::From(env, info[0], "target");
  uint32_t start = info.Length() > 1 && !info[1].IsUndefined() ? ArgU32(info, 1, "start") : 0;
  if (start > count_) {
    throw Napi::RangeError::New(env, "start " + std::to_string(start) + " is past the burst's " +
                                         std::to_string(count_) + " packets");
  }
  uint32_t n = info.Length() > 2 && !info[2].IsUndefined() ? ArgU32(info, 2, "count") : count_ - start;
  if (n > count_ - start) {
    throw Napi::RangeError::New(env, "cannot move " + std::to_string(n) + " packets from index " +
                                         std::to_string(start) + " of a burst holding " + std::to_string(count_));
  }
  if (other == this) {
    throw Napi::RangeError::New(env, "cannot move packets of a burst into itself");
  }
  if (n > other->room()) {
    throw Napi::RangeError::New(env, "target burst has room for " + std::to_string(other->room()) + " packets, not " +
                                         std::to_string(n));
  }
  memcpy(other->pkts() + other->count(), pkts_.data() + start, n * sizeof(rte_mbuf*));
  other->SetCount(other->count() + n);
  memmove(pkts_.data() + start, pkts_.data() + start + n, (count_ - start - n) * sizeof(rte_mbuf*));
  count_ -= n;
  return Napi::Number::New(env, n);
}

void InitBurst(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = Burst::Define(env);
  Data(env).burstCtor = Napi::Persistent(ctor);
  exports.Set("Burst", ctor);
}

}  // namespace dpdk_core
