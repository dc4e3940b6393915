#include "burst.h"

#include <cstring>

namespace dpdk_core {

Napi::Function Burst::Define(Napi::Env env) {
  return DefineClass(env, "Burst",
                     {
                         InstanceAccessor<&Burst::Length>("length"),
                         InstanceAccessor<&Burst::Capacity>("capacity"),
                         InstanceMethod<&Burst::Free>("free"),
                     });
}

Burst* Burst::From(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(Data(env).burstCtor.Value())) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a Burst");
  }
  return Burst::Unwrap(value.As<Napi::Object>());
}

Burst::Burst(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Burst>(info) {
  uint32_t capacity = ArgU32(info, 0, "capacity");
  if (capacity == 0 || capacity > kMaxCapacity) {
    throw Napi::RangeError::New(info.Env(), "burst capacity must be 1.." + std::to_string(kMaxCapacity));
  }
  capacity_ = capacity;
  pkts_.assign(capacity, nullptr);
}

// A burst collected with packets still in it returns them to their pool, as
// long as DPDK's memory is still mapped.
Burst::~Burst() {
  AddonData& data = Data(Env());
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

void InitBurst(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = Burst::Define(env);
  Data(env).burstCtor = Napi::Persistent(ctor);
  exports.Set("Burst", ctor);
}

}  // namespace dpdk_core
