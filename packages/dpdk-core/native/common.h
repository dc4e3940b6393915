// Shared glue for the addon: per-environment state, DPDK error conversion and
// argument checks. C++ only converts and checks; TypeScript owns the API.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace dpdk_core {

class Memzone;

// Everything this process's addon instance owns. Handles register here so that
// cleanup() can free what this process created and invalidate every handle
// before DPDK's memory goes away (use after cleanup then throws, not crashes).
struct AddonData {
  Napi::FunctionReference errorFactory;  // (code, errno, op, message) => DpdkError
  Napi::FunctionReference memzoneCtor;
  Napi::FunctionReference burstCtor;
  bool ealInitialised = false;
  bool ealInitAttempted = false;
  bool ealCleanedUp = false;
  std::unordered_map<const void*, Memzone*> memzones;  // live handles, by rte_memzone*
  std::unordered_set<const void*> createdMemzones;      // freed at cleanup even if their handle was collected
};

AddonData& Data(Napi::Env env);

// Symbolic name of an errno or rte_errno value ("ENOENT", "E_RTE_SECONDARY").
std::string ErrnoName(int errnum);

// Throws a DpdkError built by the TypeScript factory.
[[noreturn]] void ThrowDpdk(Napi::Env env, const std::string& op, int errnum, const std::string& message);
[[noreturn]] void ThrowDpdkCode(Napi::Env env, const std::string& op, const std::string& code,
                                const std::string& message);

// Throws unless EAL is initialised and not yet cleaned up.
void RequireEal(Napi::Env env, const char* op);

uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* what);
int64_t ArgI64(const Napi::CallbackInfo& info, size_t i, const char* what);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* what);

void InitEal(Napi::Env env, Napi::Object exports);
void InitMemzone(Napi::Env env, Napi::Object exports);
void InitEthdev(Napi::Env env, Napi::Object exports);
void InitBurst(Napi::Env env, Napi::Object exports);

// Called by cleanup(): invalidates all handles, frees created memzones.
void ReleaseAllMemzones(Napi::Env env);
// At environment teardown JS can no longer run: free without touching handles.
void FreeCreatedMemzones(AddonData& data);

}  // namespace dpdk_core
