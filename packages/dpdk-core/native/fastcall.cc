#include "fastcall.h"

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
void InitFastFrame(Napi::Env env, Napi::Object exports) {
  Napi::ArrayBuffer frame = Napi::ArrayBuffer::New(env, kFastFrameBytes);
  AddonData& data = Data(env);
  auto* bytes = static_cast<uint8_t*>(frame.Data());
  data.fastArgs = reinterpret_cast<double*>(bytes);
  data.fastResult = reinterpret_cast<int32_t*>(bytes + kFastResultOffset);
  data.fastFrame = Napi::Persistent(frame);
  exports.Set("fastFrame", frame);
}

}  // namespace dpdk_core
