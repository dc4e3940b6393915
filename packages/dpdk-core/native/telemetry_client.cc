// The client side of DPDK's telemetry socket (<runtime dir>/dpdk_telemetry.v2,
// what dpdk-telemetry.py speaks), for asking a primary what only it knows,
// such as the EAL arguments it was started with. A SOCK_SEQPACKET socket,
// which Node's net module cannot open. No EAL needed.
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"

namespace dpdk_core {
namespace {

// telemetry.c MAX_OUTPUT_LEN in 22.11; the greeting says the actual one.
constexpr size_t kMaxReply = 1024 * 64;

// (socketPath, command) -> the reply's JSON text. One connection per call;
// each receive waits at most 2 s, so a stuck primary cannot hang the caller.
Napi::Value TelemetryRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "socket path");
  std::string command = ArgString(info, 1, "command");
  struct sockaddr_un addr = {};
  if (path.size() >= sizeof(addr.sun_path)) ThrowDpdkCode(env, "queryTelemetry", "EINVAL", "socket path too long: " + path);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowDpdk(env, "queryTelemetry", errno, "cannot create a socket");
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  std::vector<char> buf(kMaxReply);
  auto fail = [&](const std::string& what) {
    int err = errno;
    close(fd);
    ThrowDpdk(env, "queryTelemetry", err != 0 ? err : EIO, what + " " + path);
  };
  if (connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) < 0) fail("cannot connect to");
  if (recv(fd, buf.data(), buf.size(), 0) <= 0) fail("no greeting from");
  if (send(fd, command.c_str(), command.size(), 0) < 0) fail("cannot send to");
  ssize_t n = recv(fd, buf.data(), buf.size(), 0);
  if (n <= 0) fail("no reply from");
  close(fd);
  return Napi::String::New(env, buf.data(), static_cast<size_t>(n));
}

}  // namespace

void InitTelemetryClient(Napi::Env env, Napi::Object exports) {
  exports.Set("telemetryRequest", Napi::Function::New(env, TelemetryRequest, "telemetryRequest"));
}

}  // namespace dpdk_core
