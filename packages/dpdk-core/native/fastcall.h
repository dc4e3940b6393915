// The packet path's calling convention, shared by every kind that moves a
// Burst or a packet vector (rings, ports, TX buffers, pools, vectors, the burst itself).
//
// node-addon-api wraps every call (a CallbackInfo, an unwrap of `this`) and
// unwrapping an object is a private-property lookup costing more than moving
// 32 packets through a ring. So packet-path functions are raw N-API callbacks
// that never unwrap anything:
// - the object they act on is the function's data (a shared State the handle
//   also holds and clears when it closes, so a function outliving its handle
//   throws E_CLOSED instead of touching freed memory), or AddonData for
//   functions addressed by numbers (ports);
// - their numbers travel through the addon's frame, not as napi_values:
//   TypeScript writes the arguments into a Float64Array over AddonData's
//   fastArgs, calls the function with no arguments and reads the count it
//   returns from an Int32Array over fastResult. Converting napi_values
//   (napi_get_cb_info's argument copy, napi_get_value_*, napi_typeof for an
//   optional argument, napi_create_uint32 for the result) cost more than the
//   V8 call itself; reading doubles from memory costs nothing. C++ still
//   checks every number (integer, range) as it did the napi_values;
// - a Burst arrives as its id, which TypeScript reads from a private field
//   only Burst instances have (Burst.idOf: a TypeError for anything else), and
//   C++ resolves through the addon's table (a TypeError for an id naming no
//   live Burst), so neither a wrong object nor a forged number reaches C.
#pragma once

#include <memory>

#include "burst.h"

namespace dpdk_core {

// The frame: kFastArgs doubles, then the int32 result (src/fastcall.ts).
constexpr size_t kFastArgs = 4;
constexpr size_t kFastResultOffset = kFastArgs * sizeof(double);
constexpr size_t kFastFrameBytes = kFastResultOffset + 8;

// An integer in [0, 2^32); a TypeError naming `what` otherwise.
uint32_t FastU32(napi_env env, double v, const char* what);

// Allocates this environment's frame and exports it as `fastFrame`.
void InitFastFrame(Napi::Env env, Napi::Object exports);

// Throws unless EAL is initialised and not cleaned up (reads AddonData only).
inline void FastRequireEal(napi_env env, const AddonData& data, const char* op) {
  if (!data.ealInitialised || data.ealCleanedUp) RequireEal(Napi::Env(env), op);
}

namespace fastcall_detail {

// What a bound function carries: its handle's State and the frame's owner.
template <typename State>
struct Bound {
  std::shared_ptr<State> state;
  AddonData* data;
};

template <typename State>
void DeleteBound(napi_env, void* data, void*) {
  delete static_cast<Bound<State>*>(data);
}

// Packet counts fit an int32, which JS reads back as a small integer.
template <typename Target, uint32_t (*Op)(napi_env, Target&, const double*)>
napi_value Run(napi_env env, AddonData& data, Target& target) {
  try {
    *data.fastResult = static_cast<int32_t>(Op(env, target, data.fastArgs));
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  }
  return nullptr;
}

}  // namespace fastcall_detail

// A packet-path function bound to a handle's State.
template <typename State, uint32_t (*Op)(napi_env, State&, const double*)>
napi_value BoundCall(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  napi_get_cb_info(env, info, nullptr, nullptr, nullptr, &data);
  auto* bound = static_cast<fastcall_detail::Bound<State>*>(data);
  return fastcall_detail::Run<State, Op>(env, *bound->data, *bound->state);
}

// A packet-path function addressed by numbers alone (port, queue, burst id).
template <uint32_t (*Op)(napi_env, AddonData&, const double*)>
napi_value AddonCall(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  napi_get_cb_info(env, info, nullptr, nullptr, nullptr, &data);
  auto* addon = static_cast<AddonData*>(data);
  return fastcall_detail::Run<AddonData, Op>(env, *addon, *addon);
}

template <typename State, uint32_t (*Op)(napi_env, State&, const double*)>
Napi::Function Bind(Napi::Env env, const char* name, const std::shared_ptr<State>& state) {
  auto* ref = new fastcall_detail::Bound<State>{state, &Data(env)};
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, BoundCall<State, Op>, ref, &fn) != napi_ok ||
      napi_add_finalizer(env, fn, ref, fastcall_detail::DeleteBound<State>, nullptr, nullptr) != napi_ok) {
    delete ref;
    throw Napi::Error::New(env, std::string("cannot create the fast path function ") + name);
  }
  return Napi::Function(env, fn);
}

template <uint32_t (*Op)(napi_env, AddonData&, const double*)>
Napi::Function BindAddon(Napi::Env env, const char* name) {
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, AddonCall<Op>, &Data(env), &fn) != napi_ok) {
    throw Napi::Error::New(env, std::string("cannot create the fast path function ") + name);
  }
  return Napi::Function(env, fn);
}

}  // namespace dpdk_core
