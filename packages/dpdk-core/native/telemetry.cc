// Telemetry commands served from snapshots: DPDK calls a command's callback
// on its telemetry thread and needs the answer synchronously, which JS cannot
// give from there. So JS publishes a snapshot (a flat dict of numbers,
// strings and arrays of them) whenever it likes, and the callback answers
// with the latest one. Primary only (telemetry is, since DPDK 21.11).
#include <rte_eal.h>
#include <rte_telemetry.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "common.h"

namespace dpdk_core {

namespace {

using Value = std::variant<uint64_t, int64_t, std::string, std::vector<uint64_t>, std::vector<std::string>>;
using Snapshot = std::vector<std::pair<std::string, Value>>;

// Shared with the telemetry thread; commands live until the process exits
// (DPDK 22.11 cannot unregister a command). Allocated and never destroyed:
// rte_eal_cleanup does not stop DPDK's telemetry threads in 22.11, so one may
// still run Serve while exit handlers run, and static objects would be
// destroyed under it.
std::mutex& snapshotsMutex = *new std::mutex();
std::map<std::string, Snapshot>& snapshots = *new std::map<std::string, Snapshot>();

int ServeSnapshot(const char* cmd, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(snapshotsMutex);
  auto it = snapshots.find(cmd);
  rte_tel_data_start_dict(d);
  if (it == snapshots.end()) return 0;
  for (const auto& [key, value] : it->second) {
    if (const auto* u = std::get_if<uint64_t>(&value)) {
      rte_tel_data_add_dict_u64(d, key.c_str(), *u);
    } else if (const auto* i = std::get_if<int64_t>(&value)) {
      rte_tel_data_add_dict_int(d, key.c_str(), static_cast<int>(*i));
    } else if (const auto* s = std::get_if<std::string>(&value)) {
      rte_tel_data_add_dict_string(d, key.c_str(), s->c_str());
    } else if (const auto* us = std::get_if<std::vector<uint64_t>>(&value)) {
      rte_tel_data* a = rte_tel_data_alloc();
      if (a == nullptr) continue;
      rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
      for (uint64_t x : *us) rte_tel_data_add_array_u64(a, x);
      rte_tel_data_add_dict_container(d, key.c_str(), a, 0);
    } else if (const auto* ss = std::get_if<std::vector<std::string>>(&value)) {
      rte_tel_data* a = rte_tel_data_alloc();
      if (a == nullptr) continue;
      rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
      for (const auto& x : *ss) rte_tel_data_add_array_string(a, x.c_str());
      rte_tel_data_add_dict_container(d, key.c_str(), a, 0);
    }
  }
  return 0;
}

// DPDK's telemetry thread calls this from C: no C++ exception may leave it.
int Serve(const char* cmd, const char*, rte_tel_data* d) {
  try {
    return ServeSnapshot(cmd, d);
  } catch (...) {
    return -ENOMEM;
  }
}

// (cmd, help): the command answers with an empty dict until the first publish.
Napi::Value Register(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "registerTelemetry");
  std::string cmd = ArgString(info, 0, "command");
  std::string help = ArgString(info, 1, "help");
  if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
    ThrowDpdkCode(env, "registerTelemetry", "E_RTE_SECONDARY", "telemetry commands are served by the primary process only");
  }
  {
    std::lock_guard<std::mutex> lock(snapshotsMutex);
    if (snapshots.count(cmd) > 0) {
      ThrowDpdkCode(env, "registerTelemetry", "EEXIST", "telemetry command '" + cmd + "' is already registered");
    }
    snapshots[cmd] = {};
  }
  int ret = rte_telemetry_register_cmd(cmd.c_str(), Serve, help.c_str());
  if (ret != 0) {
    std::lock_guard<std::mutex> lock(snapshotsMutex);
    snapshots.erase(cmd);
    ThrowDpdk(env, "registerTelemetry", -ret, "cannot register telemetry command '" + cmd + "'");
  }
  return env.Undefined();
}

// (cmd, keys: string[], values: (number | bigint | string | number[] | string[])[])
Napi::Value Publish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string cmd = ArgString(info, 0, "command");
  if (!info[1].IsArray() || !info[2].IsArray()) throw Napi::TypeError::New(env, "publishTelemetry: keys and values must be arrays");
  Napi::Array keys = info[1].As<Napi::Array>();
  Napi::Array values = info[2].As<Napi::Array>();
  Snapshot snap;
  for (uint32_t i = 0; i < keys.Length() && i < values.Length(); i++) {
    std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value v = values.Get(i);
    if (v.IsBigInt()) {
      bool lossless;
      snap.emplace_back(key, v.As<Napi::BigInt>().Uint64Value(&lossless));
    } else if (v.IsNumber()) {
      double n = v.As<Napi::Number>().DoubleValue();
      if (n >= 0) snap.emplace_back(key, static_cast<uint64_t>(n));
      else snap.emplace_back(key, static_cast<int64_t>(n));
    } else if (v.IsString()) {
      snap.emplace_back(key, v.As<Napi::String>().Utf8Value());
    } else if (v.IsArray()) {
      Napi::Array a = v.As<Napi::Array>();
      if (a.Length() > 0 && a.Get(0u).IsString()) {
        std::vector<std::string> out;
        for (uint32_t j = 0; j < a.Length(); j++) out.push_back(a.Get(j).As<Napi::String>().Utf8Value());
        snap.emplace_back(key, std::move(out));
      } else {
        std::vector<uint64_t> out;
        for (uint32_t j = 0; j < a.Length(); j++) out.push_back(static_cast<uint64_t>(a.Get(j).As<Napi::Number>().DoubleValue()));
        snap.emplace_back(key, std::move(out));
      }
    } else {
      throw Napi::TypeError::New(env, "publishTelemetry: value of '" + key + "' must be a number, string or array");
    }
  }
  std::lock_guard<std::mutex> lock(snapshotsMutex);
  auto it = snapshots.find(cmd);
  if (it == snapshots.end()) {
    ThrowDpdkCode(env, "publishTelemetry", "ENOENT", "telemetry command '" + cmd + "' is not registered; register it first");
  }
  it->second = std::move(snap);
  return env.Undefined();
}

}  // namespace

void InitTelemetry(Napi::Env env, Napi::Object exports) {
  exports.Set("registerTelemetry", Napi::Function::New(env, Register, "registerTelemetry"));
  exports.Set("publishTelemetry", Napi::Function::New(env, Publish, "publishTelemetry"));
}

}  // namespace dpdk_core
