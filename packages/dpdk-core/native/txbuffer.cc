// TX buffers (rte_eth_dev_tx_buffer) for one port and queue, as the
// client_server_mp client uses them: packets accumulate until the buffer is
// full or flushed; what the device refuses is counted as dropped and freed.
// A named buffer lives in a memzone so that, when its process dies, another
// one can find it and give the packets it held back to their pools.
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_memzone.h>

#include <cstring>
#include <memory>
#include <string>

#include "burst.h"
#include "common.h"
#include "fastcall.h"

namespace dpdk_core {

namespace {

// A named buffer's zone: this header (a cache line, so the buffer stays
// aligned), then the rte_eth_dev_tx_buffer. The magic keeps reclaim from
// reading some other zone of that name as packet pointers.
constexpr uint64_t kTxZoneMagic = 0x7478627566763031ULL;  // "txbufv01"
constexpr size_t kTxZoneHeader = 64;

rte_eth_dev_tx_buffer* ZoneBuffer(const rte_memzone* mz) {
  return reinterpret_cast<rte_eth_dev_tx_buffer*>(static_cast<uint8_t*>(mz->addr) + kTxZoneHeader);
}

bool IsTxZone(const rte_memzone* mz) {
  if (mz->len < kTxZoneHeader + RTE_ETH_TX_BUFFER_SIZE(1)) return false;
  if (*static_cast<const uint64_t*>(mz->addr) != kTxZoneMagic) return false;
  const rte_eth_dev_tx_buffer* buf = ZoneBuffer(mz);
  return buf->size > 0 && kTxZoneHeader + RTE_ETH_TX_BUFFER_SIZE(buf->size) <= mz->len;
}

// What a buffer holds and a process killed at any instruction could leave:
// the pointer is stored before length covers it, and flush clears length
// before the device takes the packets (rte_eth_tx_buffer_flush clears it
// after, so a kill in between would leave packets the device owns listed
// and reclaim would free them twice). A kill mid-flush loses those packets
// instead, which a pool audit reports.
uint16_t TxLength(const rte_eth_dev_tx_buffer* buf) { return __atomic_load_n(&buf->length, __ATOMIC_ACQUIRE); }

uint16_t TxFlush(uint16_t port, uint16_t queue, rte_eth_dev_tx_buffer* buf) {
  const uint16_t n = buf->length;
  if (n == 0) return 0;
  __atomic_store_n(&buf->length, static_cast<uint16_t>(0), __ATOMIC_RELEASE);
  const uint16_t sent = rte_eth_tx_burst(port, queue, buf->pkts, n);
  if (sent != n) buf->error_callback(&buf->pkts[sent], static_cast<uint16_t>(n - sent), buf->error_userdata);
  return sent;
}

uint16_t TxPut(uint16_t port, uint16_t queue, rte_eth_dev_tx_buffer* buf, rte_mbuf* pkt) {
  const uint16_t len = buf->length;
  buf->pkts[len] = pkt;
  __atomic_store_n(&buf->length, static_cast<uint16_t>(len + 1), __ATOMIC_RELEASE);
  if (len + 1 < buf->size) return 0;
  return TxFlush(port, queue, buf);
}

// Gives the packets a buffer lists back to their pools; how many. Length is
// cleared first for the same reason as in TxFlush.
uint16_t TxDiscard(rte_eth_dev_tx_buffer* buf) {
  const uint16_t n = TxLength(buf);
  if (n == 0) return 0;
  __atomic_store_n(&buf->length, static_cast<uint16_t>(0), __ATOMIC_RELEASE);
  rte_pktmbuf_free_bulk(buf->pkts, n);
  return n;
}

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
  RequireQueueReady(Napi::Env(env), s.port, s.queue, false, "txBuffer.buffer");
  rte_mbuf** pkts = burst->pkts();
  const uint32_t n = burst->count();
  uint32_t sent = 0;
  for (uint32_t i = 0; i < n; i++) sent += TxPut(s.port, s.queue, buf, pkts[i]);
  burst->SetCount(0);
  return sent;
}

uint32_t OpFlush(napi_env env, TxState& s, const double*) {
  rte_eth_dev_tx_buffer* buf = s.Live(env, "txBuffer.flush");
  if (buf->length == 0) return 0;
  RequireQueueReady(Napi::Env(env), s.port, s.queue, false, "txBuffer.flush");
  return TxFlush(s.port, s.queue, buf);
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
    const int socket = rte_eth_dev_socket_id(static_cast<uint16_t>(port));
    if (info.Length() > 3 && info[3].IsString()) {
      AttachZone(env, ArgString(info, 3, "name"), size, socket);
    } else {
      // Hugepage memory on the port's socket, like the C client: the buffer is
      // written on every packet and should sit next to the device's queues.
      buf_ = static_cast<rte_eth_dev_tx_buffer*>(
          rte_zmalloc_socket("tx_buffer", RTE_ETH_TX_BUFFER_SIZE(size), 0, socket));
      if (buf_ == nullptr) {
        ThrowDpdkCode(env, "createTxBuffer", "ENOMEM", "cannot allocate a tx buffer of " + std::to_string(size) +
                                                           " packets; raise -m");
      }
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

  static bool HeldHere(const AddonData& data, const rte_memzone* mz) {
    bool held = false;
    data.txBuffers.ForEach([&](TxBuffer& t) { held = held || t.zone_ == mz; });
    return held;
  }

  // Packets still waiting are freed (counted as dropped), then the buffer
  // (a named one's zone too).
  void Destroy() {
    if (buf_ == nullptr) return;
    st_->dropped += TxDiscard(buf_);
    if (zone_ != nullptr) {
      rte_memzone_free(zone_);
      zone_ = nullptr;
    } else {
      rte_free(buf_);
    }
    buf_ = nullptr;
    st_->buf = nullptr;
    Data(Env()).txBuffers.Remove(this);
  }

 private:
  // Looks the zone up or reserves it. A zone found is what a dead owner left:
  // the packets it still lists go back to their pools (counted as dropped),
  // so this buffer starts empty.
  void AttachZone(Napi::Env env, const std::string& name, uint32_t size, int socket) {
    const size_t need = kTxZoneHeader + RTE_ETH_TX_BUFFER_SIZE(size);
    const rte_memzone* mz = rte_memzone_lookup(name.c_str());
    if (mz != nullptr) {
      if (!IsTxZone(mz)) {
        ThrowDpdkCode(env, "createTxBuffer", "EEXIST",
                      "memzone '" + name + "' exists and is not a tx buffer; choose another name");
      }
      if (mz->len < need) {
        ThrowDpdkCode(env, "createTxBuffer", "EEXIST",
                      "tx buffer '" + name + "' exists with room for fewer than " + std::to_string(size) +
                          " packets; use its size or another name");
      }
      if (HeldHere(Data(env), mz)) {
        ThrowDpdkCode(env, "createTxBuffer", "EBUSY",
                      "tx buffer '" + name + "' is held by another handle of this process; free that one first");
      }
      st_->dropped += TxDiscard(ZoneBuffer(mz));
    } else {
      mz = rte_memzone_reserve(name.c_str(), need, socket, RTE_MEMZONE_SIZE_HINT_ONLY);
      if (mz == nullptr) {
        ThrowDpdk(env, "createTxBuffer", rte_errno,
                  "cannot reserve memzone '" + name + "' for a tx buffer of " + std::to_string(size) +
                      " packets; raise -m or free memzones");
      }
      std::memset(mz->addr, 0, need);
      *static_cast<uint64_t*>(mz->addr) = kTxZoneMagic;
    }
    zone_ = mz;
    buf_ = ZoneBuffer(mz);
  }

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
  const rte_memzone* zone_ = nullptr;  // a named buffer's, which Destroy frees
  uint16_t port_ = 0;
  uint16_t queue_ = 0;
};

void FreeTxBuffers(AddonData& data) {
  data.txBuffers.ForEach([](TxBuffer& t) { t.Destroy(); });
  data.txBuffers.Clear();
}

// reclaimTxBuffer(name, freeZone): for a buffer whose owner is gone, the
// packets it lists go back to their pools; returns how many.
Napi::Value ReclaimTxBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "reclaimTxBuffer");
  const std::string name = ArgString(info, 0, "name");
  const bool freeZone = info.Length() > 1 && info[1].ToBoolean().Value();
  const rte_memzone* mz = rte_memzone_lookup(name.c_str());
  if (mz == nullptr) {
    ThrowDpdkCode(env, "reclaimTxBuffer", "ENOENT",
                  "no tx buffer '" + name + "' (no memzone of that name): its owner never created it, or it was freed");
  }
  if (!IsTxZone(mz) || TxLength(ZoneBuffer(mz)) > ZoneBuffer(mz)->size) {
    ThrowDpdkCode(env, "reclaimTxBuffer", "EINVAL",
                  "memzone '" + name + "' is not a tx buffer made by createTxBuffer({ name }); nothing was freed");
  }
  AddonData& data = Data(env);
  if (TxBuffer::HeldHere(data, mz)) {
    ThrowDpdkCode(env, "reclaimTxBuffer", "EBUSY",
                  "tx buffer '" + name + "' is held by a live handle of this process; free() it instead");
  }
  if (freeZone && data.memzones.Find(mz) != nullptr) {
    ThrowDpdkCode(env, "reclaimTxBuffer", "EBUSY",
                  "memzone '" + name + "' has an open memzone handle in this process; close it before freeing the zone");
  }
  const uint16_t n = TxDiscard(ZoneBuffer(mz));
  if (freeZone) rte_memzone_free(mz);
  return Napi::Number::New(env, n);
}

void InitTxBuffer(Napi::Env env, Napi::Object exports) {
  exports.Set("reclaimTxBuffer", Napi::Function::New(env, ReclaimTxBuffer, "reclaimTxBuffer"));
  Napi::Function ctor = TxBuffer::Define(env);
  Data(env).txBufferCtor = Napi::Persistent(ctor);
  exports.Set("TxBuffer", ctor);
}

}  // namespace dpdk_core
