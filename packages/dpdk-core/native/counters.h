// Counters the packet path adds to through a raw pointer: a caller's
// BigUint64Array, often a view of a memzone so that other processes read the
// counts live (client_server_mp's rx_stats and tx_stats).
//
// The pointer is good while the array's buffer is attached. A memzone's view
// is detached when the zone is freed or its handle closed (or at cleanup),
// and every such detach bumps AddonData::viewsDetached, so the array is only
// looked at again (a few N-API calls) after some view went away: a packet
// call pays one comparison.
#pragma once

#include <string>

#include "common.h"

namespace dpdk_core {

class CounterArray {
 public:
  // Holds `value`, which must be a BigUint64Array of at least `min` entries.
  void Hold(Napi::Env env, Napi::Value value, size_t min, const std::string& what) {
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array ||
        value.As<Napi::TypedArray>().ElementLength() < min) {
      throw Napi::TypeError::New(env, what + " must be a BigUint64Array of at least " + std::to_string(min) + " entries");
    }
    Napi::BigUint64Array array = value.As<Napi::BigUint64Array>();
    ref_ = Napi::Persistent(array);
    ptr_ = array.Data();
    checkedAt_ = Data(env).viewsDetached;
  }

  // Counts kept inside, for a caller that gave no array.
  void Own(size_t n) {
    own_.assign(n, 0);
    ptr_ = own_.data();
  }

  // Whether the memory is gone (its view was detached). Only reads
  // JavaScript state when a view was detached since the last look.
  bool Gone(napi_env env, const AddonData& data) {
    if (gone_ || ref_.IsEmpty() || checkedAt_ == data.viewsDetached) return gone_;
    checkedAt_ = data.viewsDetached;
    napi_value array = nullptr;
    napi_get_reference_value(env, ref_, &array);
    gone_ = Napi::TypedArray(env, array).ArrayBuffer().IsDetached();
    return gone_;
  }

  // Whether the memory is known to be there without calling into JavaScript
  // (for teardown paths that must not).
  bool KnownLive(const AddonData& data) const { return !gone_ && (ref_.IsEmpty() || checkedAt_ == data.viewsDetached); }

  // Throws E_CLOSED if the memory is gone.
  volatile uint64_t* Require(napi_env env, const AddonData& data, const char* op) {
    if (Gone(env, data)) {
      ThrowDpdkCode(Napi::Env(env), op, "E_CLOSED",
                    "the counters' memory went away (its memzone was freed or closed); create a new one with live counters");
    }
    return ptr_;
  }

  volatile uint64_t* data() const { return ptr_; }

 private:
  Napi::Reference<Napi::BigUint64Array> ref_;
  std::vector<uint64_t> own_;
  volatile uint64_t* ptr_ = nullptr;
  uint64_t checkedAt_ = 0;
  bool gone_ = false;
};

}  // namespace dpdk_core
