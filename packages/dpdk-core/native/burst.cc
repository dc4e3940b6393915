#include "burst.h"

#include <cstring>
#include <limits>
#include <string>

#include "journaled.h"
#include "fastcall.h"

namespace dpdk_core {

Napi::Function Burst::Define(Napi::Env env) {
  return DefineClass(env, "Burst",
                     {
                         InstanceAccessor<&Burst::Length>("length"),
                         InstanceAccessor<&Burst::Capacity>("capacity"),
                         InstanceMethod<&Burst::Free>("free"),
                         InstanceMethod<&Burst::FreeFrom>("freeFrom"),
                         InstanceMethod<&Burst::PacketLength>("packetLength"),
                         InstanceMethod<&Burst::SetPacketLength>("setPacketLength"),
                         InstanceMethod<&Burst::ReadBytes>("readBytes"),
                         InstanceMethod<&Burst::WriteBytes>("writeBytes"),
                         InstanceMethod<&Burst::AllocPackets>("allocPackets"),
                     });
}

// Ids are reused only after their Burst is gone, so an id names a live Burst
// or none; TypeScript only passes ids read from a Burst's private field.
Burst* Burst::FromId(napi_env env, const AddonData& data, double id) {
  if (!(id >= 0 && id < static_cast<double>(data.bursts.size())) || id != static_cast<uint32_t>(id) ||
      data.bursts[static_cast<uint32_t>(id)] == nullptr) {
    throw Napi::TypeError::New(env, "burst must be a Burst");
  }
  return data.bursts[static_cast<uint32_t>(id)];
}

Burst* Burst::FromIdWithRoom(napi_env env, const AddonData& data, const double* args, const char* op, uint32_t* n) {
  Burst* burst = FromId(env, data, args[0]);
  *n = FastU32(env, args[1], "count");
  if (*n > burst->room()) {
    ThrowDpdkCode(Napi::Env(env), op, "ENOSPC",
                  "cannot add " + std::to_string(*n) + " packets to a burst with room for " +
                      std::to_string(burst->room()) + "; free or send some first");
  }
  return burst;
}

Burst::Burst(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Burst>(info) {
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
  JournaledFree(pkts_.data(), count_, false);
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
  JournaledFree(pkts_.data() + from, n, false);
  count_ = from;
  return Napi::Number::New(info.Env(), n);
}

// Moves packets [start, start+count) to the end of another burst, keeping
// their order in both; all or nothing, so no packet is ever lost or doubled.
// An omitted count arrives as Infinity (TypeScript's default: the rest).
uint32_t MoveTo(napi_env env, AddonData& data, const double* args) {
  Burst* from = Burst::FromId(env, data, args[0]);
  Burst* to = Burst::FromId(env, data, args[1]);
  const uint32_t count = from->count();
  uint32_t start = FastU32(env, args[2], "start");
  if (start > count) {
    throw Napi::RangeError::New(env, "start " + std::to_string(start) + " is past the burst's " +
                                         std::to_string(count) + " packets");
  }
  uint32_t n = args[3] == std::numeric_limits<double>::infinity() ? count - start : FastU32(env, args[3], "count");
  if (n > count - start) {
    throw Napi::RangeError::New(env, "cannot move " + std::to_string(n) + " packets from index " +
                                         std::to_string(start) + " of a burst holding " + std::to_string(count));
  }
  if (to == from) {
    throw Napi::RangeError::New(env, "cannot move packets of a burst into itself");
  }
  if (n > to->room()) {
    throw Napi::RangeError::New(env, "target burst has room for " + std::to_string(to->room()) + " packets, not " +
                                         std::to_string(n));
  }
  memcpy(to->pkts() + to->count(), from->pkts() + start, n * sizeof(rte_mbuf*));
  to->SetCount(to->count() + n);
  memmove(from->pkts() + start, from->pkts() + start + n, (count - start - n) * sizeof(rte_mbuf*));
  from->SetCount(count - n);
  return n;
}

// Calibration for the benchmarks: the cost of a call that does nothing, and
// of one shaped like the packet path (a burst id in, a number out) that only
// resolves its burst. A packet-path call cannot cost less than these.
namespace {

napi_value EmptyCall(napi_env, napi_callback_info) { return nullptr; }

uint32_t ResolveOnly(napi_env env, AddonData& data, const double* args) {
  return Burst::FromId(env, data, args[0])->count();
}

}  // namespace

void InitBurst(Napi::Env env, Napi::Object exports) {
  InitFastFrame(env, exports);
  Napi::Function ctor = Burst::Define(env);
  Data(env).burstCtor = Napi::Persistent(ctor);
  exports.Set("Burst", ctor);
  exports.Set("burstMoveTo", BindAddon<MoveTo>(env, "burstMoveTo"));
  napi_value empty;
  napi_create_function(env, "calibrationEmptyCall", NAPI_AUTO_LENGTH, EmptyCall, nullptr, &empty);
  exports.Set("calibrationEmptyCall", empty);
  exports.Set("calibrationBurstCall", BindAddon<ResolveOnly>(env, "calibrationBurstCall"));
}

}  // namespace dpdk_core
