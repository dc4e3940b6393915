#include "fastcall.h"

#include <time.h>

#include <string>

namespace dpdk_core {

uint32_t FastU32(napi_env env, double d, const char* what) {
  if (!(d >= 0 && d <= UINT32_MAX) || d != static_cast<uint32_t>(d)) {
    throw Napi::TypeError::New(env, std::string(what) + " must be an integer in 0..4294967295");
  }
  return static_cast<uint32_t>(d);
}

// The frame is a JS ArrayBuffer the addon keeps alive, so its memory lives as
// long as the environment and every view TypeScript makes of it.
namespace {

// monotonicMs(): CLOCK_MONOTONIC in milliseconds, written to the frame's
// first double, so a packet loop can read the time without the heap number
// a JS function returning a double allocates (performance.now() does, some
// thousand times a second in a loop that checks the time every few polls).
napi_value MonotonicMs(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  napi_get_cb_info(env, info, nullptr, nullptr, nullptr, &data);
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  static_cast<AddonData*>(data)->fastArgs[0] = static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
  return nullptr;
}

}  // namespace

void InitFastFrame(Napi::Env env, Napi::Object exports) {
  Napi::ArrayBuffer frame = Napi::ArrayBuffer::New(env, kFastFrameBytes);
  AddonData& data = Data(env);
  auto* bytes = static_cast<uint8_t*>(frame.Data());
  data.fastArgs = reinterpret_cast<double*>(bytes);
  data.fastResult = reinterpret_cast<int32_t*>(bytes + kFastResultOffset);
  data.fastFrame = Napi::Persistent(frame);
  exports.Set("fastFrame", frame);
  napi_value clock;
  if (napi_create_function(env, "monotonicMs", NAPI_AUTO_LENGTH, MonotonicMs, &data, &clock) != napi_ok) {
    throw Napi::Error::New(env, "cannot create monotonicMs");
  }
  exports.Set("monotonicMs", clock);
}

}  // namespace dpdk_core
