// The packet path's calling convention, shared by every kind that moves a
// Burst (rings, ports, TX buffers, pools, forwarders, the burst itself).
//
// node-addon-api wraps every call (a CallbackInfo, an unwrap of `this`) and
// unwrapping an object is a private-property lookup costing more than moving
// 32 packets through a ring. So packet-path functions are raw N-API callbacks
// that never unwrap anything:
// - the object they act on is the function's data (a shared State the handle
//   also holds and clears when it closes, so a function outliving its handle
//   throws E_CLOSED instead of touching freed memory), or AddonData for
//   functions addressed by numbers (ports);
// - a Burst arrives as its id, which TypeScript reads from a private field
//   only Burst instances have (Burst.idOf: a TypeError for anything else), and
//   C++ resolves through the addon's table (a TypeError for an id naming no
//   live Burst), so neither a wrong object nor a forged number reaches C.
#pragma once

#include <memory>

#include "burst.h"

namespace dpdk_core {

// Arguments past the caller's are undefined (napi_get_cb_info fills them).
constexpr size_t kFastArgs = 4;

// An integer in [0, 2^32); a TypeError naming `what` otherwise.
uint32_t FastU32(napi_env env, napi_value v, const char* what);
bool FastIsUndefined(napi_env env, napi_value v);

// Throws unless EAL is initialised and not cleaned up (reads AddonData only).
inline void FastRequireEal(napi_env env, const AddonData& data, const char* op) {
  if (!data.ealInitialised || data.ealCleanedUp) RequireEal(Napi::Env(env), op);
}

namespace fastcall_detail {

inline napi_value Result(napi_env env, uint32_t n) {
  napi_value result;
  napi_create_uint32(env, n, &result);
  return result;
}

template <typename State>
void DeleteState(napi_env, void* data, void*) {
  delete static_cast<std::shared_ptr<State>*>(data);
}

}  // namespace fastcall_detail

// A packet-path function bound to a handle's State.
template <typename State, uint32_t (*Op)(napi_env, State&, const napi_value*)>
napi_value BoundCall(napi_env env, napi_callback_info info) {
  size_t argc = kFastArgs;
  napi_value argv[kFastArgs];
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  try {
    return fastcall_detail::Result(env, Op(env, **static_cast<std::shared_ptr<State>*>(data), argv));
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

// A packet-path function addressed by numbers alone (port, queue, burst id).
template <uint32_t (*Op)(napi_env, AddonData&, const napi_value*)>
napi_value AddonCall(napi_env env, napi_callback_info info) {
  size_t argc = kFastArgs;
  napi_value argv[kFastArgs];
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  try {
    return fastcall_detail::Result(env, Op(env, *static_cast<AddonData*>(data), argv));
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

template <typename State, uint32_t (*Op)(napi_env, State&, const napi_value*)>
Napi::Function Bind(Napi::Env env, const char* name, const std::shared_ptr<State>& state) {
  auto* ref = new std::shared_ptr<State>(state);
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, BoundCall<State, Op>, ref, &fn) != napi_ok ||
      napi_add_finalizer(env, fn, ref, fastcall_detail::DeleteState<State>, nullptr, nullptr) != napi_ok) {
    delete ref;
    throw Napi::Error::New(env, std::string("cannot create the fast path function ") + name);
  }
  return Napi::Function(env, fn);
}

template <uint32_t (*Op)(napi_env, AddonData&, const napi_value*)>
Napi::Function BindAddon(Napi::Env env, const char* name) {
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, AddonCall<Op>, &Data(env), &fn) != napi_ok) {
    throw Napi::Error::New(env, std::string("cannot create the fast path function ") + name);
  }
  return Napi::Function(env, fn);
}

}  // namespace dpdk_core
