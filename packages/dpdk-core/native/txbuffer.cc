// TX buffers (rte_eth_dev_tx_buffer) for one port and queue, as the
// client_server_mp client uses them: packets accumulate until the buffer is
// full or flushed; what the device refuses is counted as dropped and freed.
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include <memory>
#include <string>

#include "burst.h"
#include "common.h"
#include "fastcall.h"

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
  rte_eth_dev_tx_buffer* buf = s.Live(env, "txBuffer.buffer");
  Burst* burst = Burst::FromId(env, *s.data, args[0]);
  RequireTxQueueReady(Napi::Env(env), s.port, s.queue, "txBuffer.buffer");
  rte_mbuf** pkts = burst->pkts();
  const uint32_t n = burst->count();
  uint32_t sent = 0;
  for (uint32_t i = 0; i < n; i++) sent += rte_eth_tx_buffer(s.port, s.queue, buf, pkts[i]);
  burst->SetCount(0);
  return sent;
}

uint32_t OpFlush(napi_env env, TxState& s, const double*) {
  rte_eth_dev_tx_buffer* buf = s.Live(env, "txBuffer.flush");
  if (buf->length == 0) return 0;
  RequireTxQueueReady(Napi::Env(env), s.port, s.queue, "txBuffer.flush");
  return rte_eth_tx_buffer_flush(s.port, s.queue, buf);
}

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
    // Hugepage memory on the port's socket, like the C client: the buffer is
    // written on every packet and should sit next to the device's queues.
    buf_ = static_cast<rte_eth_dev_tx_buffer*>(rte_zmalloc_socket(
        "tx_buffer", RTE_ETH_TX_BUFFER_SIZE(size), 0, rte_eth_dev_socket_id(static_cast<uint16_t>(port))));
    if (buf_ == nullptr) {
      ThrowDpdkCode(env, "createTxBuffer", "ENOMEM", "cannot allocate a tx buffer of " + std::to_string(size) +
                                                         " packets; raise -m");
    }
    rte_eth_tx_buffer_init(buf_, static_cast<uint16_t>(size));
    rte_eth_tx_buffer_set_err_callback(buf_, rte_eth_tx_buffer_count_callback, &st_->dropped);
    st_->data = &Data(env);
    st_->buf = buf_;
    st_->port = port_ = static_cast<uint16_t>(port);
    st_->queue = queue_ = static_cast<uint16_t>(queue);
    Data(env).txBuffers.Add(this);
  }

  ~TxBuffer() override {
    AddonData& data = Data(Env());
    if (buf_ != nullptr && data.EalUsable()) Destroy();
    data.txBuffers.Remove(this);
  }

  // Packets still waiting are freed (counted as dropped), then the buffer.
  void Destroy() {
    if (buf_ == nullptr) return;
    if (buf_->length > 0) {
      st_->dropped += buf_->length;
      rte_pktmbuf_free_bulk(buf_->pkts, buf_->length);
    }
    rte_free(buf_);
    buf_ = nullptr;
    st_->buf = nullptr;
    Data(Env()).txBuffers.Remove(this);
  }

 private:
  rte_eth_dev_tx_buffer* Live(const char* op) {
    if (buf_ == nullptr) {
      ThrowDpdkCode(Env(), op, "E_CLOSED",
                    "tx buffer of port " + std::to_string(port_) + " queue " + std::to_string(queue_) +
                        " is freed (or EAL cleaned up); create a new one");
    }
    return buf_;
  }

  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), port_); }
  Napi::Value Queue(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), queue_); }
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Live("size")->size); }
  Napi::Value Length(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Live("length")->length); }
  Napi::Value Dropped(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(st_->dropped));
  }
  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), buf_ == nullptr); }

  // { buffer(burstId), flush() }: what the TypeScript handle calls on the packet path.
  Napi::Value FastPath(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object fns = Napi::Object::New(env);
    fns.Set("buffer", Bind<TxState, OpBuffer>(env, "buffer", st_));
    fns.Set("flush", Bind<TxState, OpFlush>(env, "flush", st_));
    return fns;
  }

  Napi::Value Free(const Napi::CallbackInfo& info) {
    if (buf_ != nullptr) RequireEal(info.Env(), "txBuffer.free");
    Destroy();
    return info.Env().Undefined();
  }

  std::shared_ptr<TxState> st_ = std::make_shared<TxState>();
  rte_eth_dev_tx_buffer* buf_ = nullptr;
  uint16_t port_ = 0;
  uint16_t queue_ = 0;
};

void FreeTxBuffers(AddonData& data) {
  data.txBuffers.ForEach([](TxBuffer& t) { t.Destroy(); });
  data.txBuffers.Clear();
}

void InitTxBuffer(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = TxBuffer::Define(env);
  Data(env).txBufferCtor = Napi::Persistent(ctor);
  exports.Set("TxBuffer", ctor);
}

}  // namespace dpdk_core
