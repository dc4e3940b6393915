// Module entry: per-environment data, error conversion, version info, and the
// registration of each object kind's bindings.
#include "common.h"
#include "owner.h"

#include <rte_errno.h>
#include <rte_version.h>

#include <cerrno>
#include <cmath>
#include <cstring>

namespace dpdk_core {

AddonData& Data(Napi::Env env) {
  return *env.GetInstanceData<AddonData>();
}

std::string ErrnoName(int errnum) {
  switch (errnum) {
    case E_RTE_SECONDARY:
      return "E_RTE_SECONDARY";
    case E_RTE_NO_CONFIG:
      return "E_RTE_NO_CONFIG";
    default:
      break;
  }
  const char* name = strerrorname_np(errnum);
  return name != nullptr ? name : "E" + std::to_string(errnum);
}

void ThrowDpdkCode(Napi::Env env, const std::string& op, const std::string& code,
                   const std::string& message) {
  AddonData& data = Data(env);
  if (data.errorFactory.IsEmpty()) {
    throw Napi::Error::New(env, op + ": " + message);
  }
  // 0: the factory looks the errno up from the code.
  Napi::Value err = data.errorFactory.Call({Napi::String::New(env, code), Napi::Number::New(env, 0),
                                           Napi::String::New(env, op), Napi::String::New(env, message)});
  throw Napi::Error(env, err);
}

void ThrowDpdk(Napi::Env env, const std::string& op, int errnum, const std::string& message) {
  AddonData& data = Data(env);
  std::string code = ErrnoName(errnum);
  std::string detail = message + " (" + code + ": " + rte_strerror(errnum) + ")";
  if (data.errorFactory.IsEmpty()) {
    throw Napi::Error::New(env, op + ": " + detail);
  }
  Napi::Value err = data.errorFactory.Call({Napi::String::New(env, code), Napi::Number::New(env, errnum),
                                           Napi::String::New(env, op), Napi::String::New(env, detail)});
  throw Napi::Error(env, err);
}

void RequireEal(Napi::Env env, const char* op) {
  AddonData& data = Data(env);
  if (data.ealCleanedUp) {
    ThrowDpdkCode(env, op, "E_EAL_CLOSED", "EAL was cleaned up in this process; start a new process to use DPDK again");
  }
  if (!data.ealInitialised) {
    // rte_eal_init runs once per process: after a failed one, initEal() only says EALREADY.
    ThrowDpdkCode(env, op, "E_EAL_NOT_INITIALISED",
                  data.ealInitAttempted ? "EAL failed to initialise in this process (see the error initEal() threw); "
                                          "fix the EAL arguments and start a new process"
                                        : "EAL is not initialised; call initEal() first");
  }
}

uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0 && v <= 4294967295.0) || std::floor(v) != v) {
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be an integer in 0..2^32-1");
  }
  return static_cast<uint32_t>(v);
}

int64_t ArgI64(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || std::floor(v) != v || std::fabs(v) > 9007199254740991.0) {
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be a safe integer");
  }
  return static_cast<int64_t>(v);
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

namespace {

Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) {
    throw Napi::TypeError::New(info.Env(), "error factory must be a function");
  }
  Data(info.Env()).errorFactory = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// The version this addon was compiled against, and the one actually loaded:
// they differ when libdpdk was upgraded without rebuilding the addon.
Napi::Object VersionInfo(Napi::Env env) {
  Napi::Object v = Napi::Object::New(env);
  char built[32];
  snprintf(built, sizeof(built), "%d.%02d.%d", RTE_VER_YEAR, RTE_VER_MONTH, RTE_VER_MINOR);
  char loaded[32];
  snprintf(loaded, sizeof(loaded), "%u.%02u.%u", rte_version_year(), rte_version_month(), rte_version_minor());
  v.Set("built", built);
  v.Set("loaded", loaded);
  v.Set("loadedString", rte_version());
  v.Set("pkgConfig", DPDK_PKG_VERSION);
  return v;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (const int err = ReadSelfOwner(); err != 0) {
    throw Napi::Error::New(env, std::string("dpdk-core: cannot read /proc/self/stat (") + strerror(err) +
                                    "): the addon records its process's start time to tell it from a later one with the same pid; "
                                    "mount /proc and leave a file descriptor free");
  }
  env.SetInstanceData(new AddonData());
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactory, "setErrorFactory"));
  exports.Set("version", VersionInfo(env));
  InitEal(env, exports);
  InitMemzone(env, exports);
  InitEthdev(env, exports);
  InitBurst(env, exports);
  InitRing(env, exports);
  InitMempool(env, exports);
  InitTxBuffer(env, exports);
  InitVector(env, exports);
  InitActivity(env, exports);
  InitMempoolRepair(env, exports);
  InitMempoolAudit(env, exports);
  InitTelemetry(env, exports);
  InitInspect(env, exports);
  InitCapture(env, exports);
  InitTelemetryClient(env, exports);
  return exports;
}

}  // namespace
}  // namespace dpdk_core

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return dpdk_core::Init(env, exports);
}

NODE_API_MODULE(dpdk_core, InitModule)
