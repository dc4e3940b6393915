// Shared glue for the addon: per-environment state, DPDK error conversion and
// argument checks. C++ only converts and checks; TypeScript owns the API.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "handle_registry.h"

namespace dpdk_core {

class Memzone;
class Ring;
class Burst;
class Mempool;
class MempoolCache;
class TxBuffer;
class PacketVector;

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
  bool ealAbandoned = false;  // cleaned up by abandon(): nothing shared was touched
  bool captureEnabled = false;  // rte_pdump_init done (capture.cc)
  HandleRegistry<Memzone> memzones;  // by rte_memzone*; created ones freed at cleanup even if their handle was collected
  uint64_t viewsDetached = 0;        // memzone views detached so far (see counters.h)
  std::vector<Burst*> bursts;          // live bursts by id (see Burst::FromId)
  std::vector<uint32_t> freeBurstIds;
  Napi::FunctionReference ringCtor;
  HandleRegistry<Ring> rings;  // by rte_ring*; a created ring's info: it holds packets
  Napi::FunctionReference mempoolCtor;
  Napi::FunctionReference mempoolCacheCtor;
  Napi::FunctionReference txBufferCtor;
  HandleRegistry<Mempool> mempools;  // by rte_mempool*
  HandleSet<MempoolCache> mempoolCaches;
  HandleSet<TxBuffer> txBuffers;
  std::unordered_set<const void*> heldZones;  // named TX buffer and packet vector zones held here (txzone.h)
  HandleSet<PacketVector> vectors;      // they hold mbufs, TX buffers and ring batches
  std::unordered_set<uint16_t> configuredPorts;  // stopped and closed at cleanup (they may use our pools)
  // The pool each RX queue of a configured port takes its buffers from (by
  // port, then queue): such a pool is not freed until the port is closed.
  std::unordered_map<uint16_t, std::vector<const struct rte_mempool*>> rxQueuePools;
  // The packet path's frame (fastcall.h): arguments in, a count out.
  Napi::Reference<Napi::ArrayBuffer> fastFrame;
  double* fastArgs = nullptr;
  int32_t* fastResult = nullptr;

  // Whether DPDK may be called: a handle collected before init or after
  // cleanup must not touch what it held.
  bool EalUsable() const { return ealInitialised && !ealCleanedUp; }
};

AddonData& Data(Napi::Env env);

// Symbolic name of an errno or rte_errno value ("ENOENT", "E_RTE_SECONDARY").
std::string ErrnoName(int errnum);

// Throw a DpdkError built by the TypeScript factory (src/native.ts).
// ThrowDpdk: from an errno or rte_errno value, which names the code.
[[noreturn]] void ThrowDpdk(Napi::Env env, const std::string& op, int errnum, const std::string& message);
// ThrowDpdkCode: from a code ("EINVAL", "E_CLOSED"); the factory gives it the
// errno the code implies (src/errors.ts errnoOf), so one table serves both sides.
[[noreturn]] void ThrowDpdkCode(Napi::Env env, const std::string& op, const std::string& code,
                                const std::string& message);

// Throws unless EAL is initialised and not yet cleaned up.
void RequireEal(Napi::Env env, const char* op);

uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* what);
int64_t ArgI64(const Napi::CallbackInfo& info, size_t i, const char* what);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* what);

// A runtime directory as EAL leaves one (inspect.cc): unlinks every entry
// that is not a directory, never following a symlink, then removes the
// directory if nothing is left; returns the names left.
std::vector<std::string> EmptyAndRemoveDir(const std::string& dir);

void InitEal(Napi::Env env, Napi::Object exports);
void InitMemzone(Napi::Env env, Napi::Object exports);
void InitEthdev(Napi::Env env, Napi::Object exports);
void InitBurst(Napi::Env env, Napi::Object exports);
void InitRing(Napi::Env env, Napi::Object exports);
void InitMempool(Napi::Env env, Napi::Object exports);
void InitTxBuffer(Napi::Env env, Napi::Object exports);
void InitVector(Napi::Env env, Napi::Object exports);
void InitActivity(Napi::Env env, Napi::Object exports);
void InitMempoolRepair(Napi::Env env, Napi::Object exports);
void InitMempoolAudit(Napi::Env env, Napi::Object exports);
void InitTelemetry(Napi::Env env, Napi::Object exports);
void InitInspect(Napi::Env env, Napi::Object exports);
void InitCapture(Napi::Env env, Napi::Object exports);
void InitTelemetryClient(Napi::Env env, Napi::Object exports);

// Unwraps a live Mempool handle; throws TypeError / E_CLOSED otherwise.
struct rte_mempool* MempoolFrom(Napi::Env env, Napi::Value value, const char* what);
// Throws (ENODEV / EINVAL / E_PORT_STOPPED) unless this process can receive
// (rx) or transmit on port/queue now.
void RequireQueueReady(Napi::Env env, uint32_t port, uint32_t queue, bool rx, const char* op);
// After rte_eal_init: the primary publishes which ports it has started (a
// memzone), a secondary finds what its primary publishes (M8).
void AttachStartedPorts();

// Called by cleanup(): invalidates all handles, frees created memzones.
void ReleaseAllMemzones(Napi::Env env);
// At environment teardown JS can no longer run: free without touching handles.
void FreeCreatedMemzones(AddonData& data);
// The same for rings (packet rings are drained into their pools first).
void ReleaseAllRings(Napi::Env env);
void FreeCreatedRings(AddonData& data);

// abandon(): handles closed without a DPDK call (views detached, pools and
// user caches forgotten), for a process whose primary is gone.
void ForgetAllMemzones(Napi::Env env);
void ForgetAllRings(Napi::Env env);
void ForgetPools(Napi::Env env);

// The packet plane, released in dependency order before memzones: packets
// left in bursts and TX buffers (they hold mbufs), then ports this process
// configured (their queues hold mbufs of our pools), then user caches, then
// the pools this process created.
// Called by cleanup() (invalidates handles) and at teardown (handles untouched).
void ReleasePacketPlane(Napi::Env env);
void FreePacketPlane(AddonData& data);
void FreeTxBuffers(AddonData& data);
void CloseConfiguredPorts(AddonData& data);
void FreeCreatedMempools(AddonData& data);
// Unregisters the capture framework (its IPC action and statistics memzone) before EAL goes.
void ReleaseCapture(AddonData& data);

}  // namespace dpdk_core
