// TX buffers (rte_eth_dev_tx_buffer) for one port and queue, as the
// client_server_mp client uses them: packets accumulate until the buffer is
// full or flushed; what the device refuses is counted as dropped and freed.
// A named buffer lives in a memzone so that, when its process dies, another
// one can find it and give the packets it held back to their pools.
#include <rte_ethdev.h>
#include <rte_memzone.h>

#include <memory>
#include <string>

#include "burst.h"
#include "common.h"
#include "fastcall.h"
#include "txzone.h"

namespace dpdk_core {

namespace {

// What the handle and its packet-path functions share: the functions may
// outlive the handle, and the handle clears buf when the buffer is freed.
struct TxState {
  AddonData* data = nullptr;
  rte_eth_dev_tx_buffer* buf = nullptr;
  uint64_t dropped = 0;
  uint16_t port = 0;
  uint16_t queue = 0;

  rte_eth_dev_tx_buffer* Live(napi_env env, const char* op) const {
    if (buf == nullptr) {
      ThrowDpdkCode(Napi::Env(env), op, "E_CLOSED",
                    "tx buffer of port " + std::to_string(port) + " queue " + std::to_string(queue) +
                        " is freed (or EAL cleaned up); create a new one");
    }
    return buf;
  }
};

// buffer(burstId): takes every packet of the burst (it ends empty); returns
// how many went out on the wire during this call (the buffer filled and was
// flushed).
uint32_t OpBuffer(napi_env env, TxState& s, const double* args) {
  // After abandon() (the primary gone) nothing shared is touched: not the
  // pool's journal, not the device.
  FastRequireEal(env, *s.data, "txBuffer.buffer");
  rte_eth_dev_tx_buffer* buf = s.Live(env, "txBuffer.buffer");
  Burst* burst = Burst::FromId(env, *s.data, args[0]);
  RequireQueueReady(Napi::Env(env), s.port, s.queue, false, "txBuffer.buffer");
  const uint32_t sent = TxPutBulk(s.port, s.queue, buf, burst->pkts(), burst->count());
  burst->SetCount(0);
  return sent;
}

uint32_t OpFlush(napi_env env, TxState& s, const double*) {
  FastRequireEal(env, *s.data, "txBuffer.flush");
  rte_eth_dev_tx_buffer* buf = s.Live(env, "txBuffer.flush");
  if (buf->length == 0) return 0;
  RequireQueueReady(Napi::Env(env), s.port, s.queue, false, "txBuffer.flush");
  return TxFlush(s.port, s.queue, buf);
}

// What the device refused is counted here; TxFlush has freed it.
void CountUnsent(rte_mbuf**, uint16_t unsent, void* dropped) { *static_cast<uint64_t*>(dropped) += unsent; }

}  // namespace

class TxBuffer : public Napi::ObjectWrap<TxBuffer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TxBuffer",
                       {
                           InstanceAccessor<&TxBuffer::Port>("port"),
                           InstanceAccessor<&TxBuffer::Queue>("queue"),
                           InstanceAccessor<&TxBuffer::Size>("size"),
                           InstanceAccessor<&TxBuffer::Length>("length"),
                           InstanceAccessor<&TxBuffer::Dropped>("dropped"),
                           InstanceAccessor<&TxBuffer::Closed>("closed"),
                           InstanceMethod<&TxBuffer::FastPath>("fastPath"),
                           InstanceMethod<&TxBuffer::Free>("free"),
                           InstanceMethod<&TxBuffer::Free>("close"),
                       });
  }

  explicit TxBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TxBuffer>(info) {
    Napi::Env env = info.Env();
    RequireEal(env, "createTxBuffer");
    uint32_t port = ArgU32(info, 0, "port");
    uint32_t queue = ArgU32(info, 1, "queue");
    uint32_t size = ArgU32(info, 2, "size");
    rte_eth_dev_info di;
    if (port >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(static_cast<uint16_t>(port)) ||
        rte_eth_dev_info_get(static_cast<uint16_t>(port), &di) != 0) {
      ThrowDpdkCode(env, "createTxBuffer", "ENODEV", "port " + std::to_string(port) + " does not exist");
    }
    if (queue >= di.nb_tx_queues) {
      ThrowDpdkCode(env, "createTxBuffer", "EINVAL",
                    "tx queue " + std::to_string(queue) + " is out of range: port " + std::to_string(port) + " has " +
                        std::to_string(di.nb_tx_queues) + " tx queues");
    }
    if (size == 0 || size > Burst::kMaxCapacity) {
      ThrowDpdkCode(env, "createTxBuffer", "EINVAL",
                    "tx buffer size must be 1.." + std::to_string(Burst::kMaxCapacity));
    }
    const int socket = rte_eth_dev_socket_id(static_cast<uint16_t>(port));
    const std::string name = info.Length() > 3 && info[3].IsString() ? ArgString(info, 3, "name") : "";
    held_ = HoldTxBuffer(env, "createTxBuffer", name, size, socket, &st_->dropped);
    rte_eth_tx_buffer_init(held_.buf, static_cast<uint16_t>(size));
    rte_eth_tx_buffer_set_err_callback(held_.buf, CountUnsent, &st_->dropped);
    st_->data = &Data(env);
    st_->buf = held_.buf;
    st_->port = port_ = static_cast<uint16_t>(port);
    st_->queue = queue_ = static_cast<uint16_t>(queue);
    Data(env).txBuffers.Add(this);
  }

  ~TxBuffer() override {
    AddonData& data = Data(Env());
    if (held_.buf != nullptr && data.EalUsable()) Destroy();
    data.txBuffers.Remove(this);
  }

  // Packets still waiting are freed (counted as dropped), then the buffer
  // (a named one's zone too).
  void Destroy() {
    if (held_.buf == nullptr) return;
    st_->dropped += TxDiscard(held_.buf);
    ReleaseTxBuffer(Data(Env()), held_);
    st_->buf = nullptr;
    Data(Env()).txBuffers.Remove(this);
  }

 private:
  rte_eth_dev_tx_buffer* Live(const char* op) {
    if (held_.buf == nullptr) {
      ThrowDpdkCode(Env(), op, "E_CLOSED",
                    "tx buffer of port " + std::to_string(port_) + " queue " + std::to_string(queue_) +
                        " is freed (or EAL cleaned up); create a new one");
    }
    return held_.buf;
  }

  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), port_); }
  Napi::Value Queue(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), queue_); }
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Live("size")->size); }
  Napi::Value Length(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Live("length")->length); }
  Napi::Value Dropped(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(st_->dropped));
  }
  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), held_.buf == nullptr); }

  // { buffer(burstId), flush() }: what the TypeScript handle calls on the packet path.
  Napi::Value FastPath(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object fns = Napi::Object::New(env);
    fns.Set("buffer", Bind<TxState, OpBuffer>(env, "buffer", st_));
    fns.Set("flush", Bind<TxState, OpFlush>(env, "flush", st_));
    return fns;
  }

  Napi::Value Free(const Napi::CallbackInfo& info) {
    if (held_.buf != nullptr) RequireEal(info.Env(), "txBuffer.free");
    Destroy();
    return info.Env().Undefined();
  }

  std::shared_ptr<TxState> st_ = std::make_shared<TxState>();
  HeldTxBuffer held_;  // the buffer (null once freed), with a named buffer's zone, which Destroy frees
  uint16_t port_ = 0;
  uint16_t queue_ = 0;
};

void FreeTxBuffers(AddonData& data) {
  data.txBuffers.ForEach([](TxBuffer& t) { t.Destroy(); });
  data.txBuffers.Clear();
}

// reclaimTxBuffer(name, freeZone): for a buffer whose owner is gone, the
// packets it lists go back to their pools; returns how many. Refused while
// the owner recorded in the zone lives.
Napi::Value ReclaimTxBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "reclaimTxBuffer";
  RequireEal(env, op);
  const std::string name = ArgString(info, 0, "name");
  const bool freeZone = info.Length() > 1 && info[1].ToBoolean().Value();
  const rte_memzone* mz = rte_memzone_lookup(name.c_str());
  if (mz == nullptr) {
    ThrowDpdkCode(env, op, "ENOENT",
                  "no tx buffer '" + name + "' (no memzone of that name): its owner never created it, or it was freed");
  }
  AddonData& data = Data(env);
  if (!IsTxZone(mz)) {
    ThrowDpdkCode(env, op, "EINVAL", "memzone '" + name + "' is not a tx buffer made by createTxBuffer({ name }); nothing was freed");
  }
  ClaimDeadZone(env, op, mz, kTxZoneMagic, "tx buffer", name, freeZone);
  const uint16_t n = TxDiscard(ZoneBuffer(mz));
  if (freeZone) {
    ReleaseNamedZone(data, mz);
  } else {
    data.heldZones.erase(mz);
    DisownNamedZone(mz);
  }
  return Napi::Number::New(env, n);
}

void InitTxBuffer(Napi::Env env, Napi::Object exports) {
  exports.Set("reclaimTxBuffer", Napi::Function::New(env, ReclaimTxBuffer, "reclaimTxBuffer"));
  Napi::Function ctor = TxBuffer::Define(env);
  Data(env).txBufferCtor = Napi::Persistent(ctor);
  exports.Set("TxBuffer", ctor);
}

}  // namespace dpdk_core
