// DPDK's packet capture framework in a primary: rte_pdump_init registers the
// IPC action through which dpdk-dumpcap and dpdk-pdump (secondaries) ask the
// primary to copy the packets of a port's queues into their ring. Until one
// does, no RX/TX callback is installed, so the packet path costs nothing.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_pdump.h>

#include "common.h"

namespace dpdk_core {
namespace {

Napi::Value EnableCapture(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "enableCapture");
  AddonData& data = Data(env);
  if (data.captureEnabled) return Napi::Boolean::New(env, false);
  if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
    ThrowDpdkCode(env, "enableCapture", "E_RTE_SECONDARY",
                  "packet capture is served by the primary process (DPDK 22.11 installs the capture callbacks there only)");
  }
  if (rte_pdump_init() < 0) ThrowDpdk(env, "enableCapture", rte_errno, "rte_pdump_init failed");
  data.captureEnabled = true;
  return Napi::Boolean::New(env, true);
}

}  // namespace

void ReleaseCapture(AddonData& data) {
  if (!data.captureEnabled) return;
  rte_pdump_uninit();
  data.captureEnabled = false;
}

void InitCapture(Napi::Env env, Napi::Object exports) {
  exports.Set("enableCapture", Napi::Function::New(env, EnableCapture, "enableCapture"));
}

}  // namespace dpdk_core
