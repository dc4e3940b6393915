#include "fastcall.h"

#include <string>

namespace dpdk_core {

uint32_t FastU32(napi_env env, napi_value v, const char* what) {
  double d = -1;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= UINT32_MAX) || d != static_cast<uint32_t>(d)) {
    throw Napi::TypeError::New(env, std::string(what) + " must be an integer in 0..4294967295");
  }
  return static_cast<uint32_t>(d);
}

bool FastIsUndefined(napi_env env, napi_value v) {
  napi_valuetype type = napi_undefined;
  napi_typeof(env, v, &type);
  return type == napi_undefined;
}

}  // namespace dpdk_core
