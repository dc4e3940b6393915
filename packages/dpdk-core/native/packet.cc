// Packet contents of a Burst, by copy: a range goes into or out of a
// caller-provided Uint8Array, and multi-segment packets are followed. (Packet
// vectors read and write bytes in place; see vector.h.)
#include <cstring>
#include <string>

#include "journaled.h"
#include "burst.h"

namespace dpdk_core {
namespace {

Napi::Uint8Array ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Uint8Array (or Buffer)");
  }
  return info[i].As<Napi::Uint8Array>();
}

}  // namespace

// The packet at the index, checked (rte_mbuf_check) before its segments are
// followed: a chain that holds fewer bytes than pkt_len says, made by another
// process or a driver, would send rte_pktmbuf_read past its last segment.
rte_mbuf* Burst::PacketAt(const Napi::CallbackInfo& info, size_t arg, const char* op) {
  uint32_t i = ArgU32(info, arg, "index");
  if (i >= count_) {
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": packet index " + std::to_string(i) +
                                                " is outside the burst's " + std::to_string(count_) + " packets");
  }
  const char* reason = nullptr;
  if (rte_mbuf_check(pkts_[i], 1, &reason) != 0) {
    ThrowDpdkCode(info.Env(), op, "EINVAL",
                  "packet " + std::to_string(i) + " is malformed (" + reason +
                      "): whoever built it (another process, a driver) broke its segment chain; free it");
  }
  return pkts_[i];
}

Napi::Value Burst::PacketLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), rte_pktmbuf_pkt_len(PacketAt(info, 0, "packetLength")));
}

// Only single-segment packets: growing or trimming a chain is a different
// operation (append/trim on the last segment) that nobody here needs.
Napi::Value Burst::SetPacketLength(const Napi::CallbackInfo& info) {
  rte_mbuf* m = PacketAt(info, 0, "setPacketLength");
  uint32_t len = ArgU32(info, 1, "length");
  if (m->nb_segs != 1) {
    throw Napi::RangeError::New(info.Env(), "setPacketLength: packet has " + std::to_string(m->nb_segs) +
                                                " segments; only single-segment packets can be resized");
  }
  uint32_t max = m->buf_len - m->data_off;
  if (len > max) {
    throw Napi::RangeError::New(info.Env(), "setPacketLength: " + std::to_string(len) +
                                                " bytes does not fit the packet's buffer (at most " +
                                                std::to_string(max) + ")");
  }
  m->data_len = static_cast<uint16_t>(len);
  m->pkt_len = len;
  return info.Env().Undefined();
}

// Copies min(target.length, packetLength - offset) bytes from offset on into
// target and returns how many; follows segment chains.
Napi::Value Burst::ReadBytes(const Napi::CallbackInfo& info) {
  rte_mbuf* m = PacketAt(info, 0, "readBytes");
  uint32_t off = ArgU32(info, 1, "offset");
  Napi::Uint8Array target = ArgBytes(info, 2, "target");
  if (off > m->pkt_len) {
    throw Napi::RangeError::New(info.Env(), "readBytes: offset " + std::to_string(off) + " is past the packet's " +
                                                std::to_string(m->pkt_len) + " bytes");
  }
  uint32_t len = std::min<uint64_t>(target.ByteLength(), m->pkt_len - off);
  if (len == 0) return Napi::Number::New(info.Env(), 0);
  const void* p = rte_pktmbuf_read(m, off, len, target.Data());
  if (p != target.Data()) memcpy(target.Data(), p, len);
  return Napi::Number::New(info.Env(), len);
}

// Writes all of source at offset; the range must lie inside the packet
// (setPacketLength first to grow it).
Napi::Value Burst::WriteBytes(const Napi::CallbackInfo& info) {
  rte_mbuf* m = PacketAt(info, 0, "writeBytes");
  uint32_t off = ArgU32(info, 1, "offset");
  Napi::Uint8Array source = ArgBytes(info, 2, "source");
  size_t len = source.ByteLength();
  if (off + static_cast<uint64_t>(len) > m->pkt_len) {
    throw Napi::RangeError::New(info.Env(), "writeBytes: " + std::to_string(len) + " bytes at offset " +
                                                std::to_string(off) + " go past the packet's " +
                                                std::to_string(m->pkt_len) + " bytes; setPacketLength first");
  }
  const uint8_t* src = source.Data();
  for (rte_mbuf* seg = m; seg != nullptr && len > 0; seg = seg->next) {
    if (off >= seg->data_len) {
      off -= seg->data_len;
      continue;
    }
    size_t chunk = std::min<size_t>(len, seg->data_len - off);
    memcpy(rte_pktmbuf_mtod_offset(seg, uint8_t*, off), src, chunk);
    src += chunk;
    len -= chunk;
    off = 0;
  }
  return info.Env().Undefined();
}

// Appends packets holding the given bytes: allocPackets(pool, frames[]) or
// allocPackets(pool, template, count). All or nothing; returns the number
// added, 0 when the pool ran dry. For traffic sources and tests.
Napi::Value Burst::AllocPackets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "allocPackets");
  rte_mempool* mp = MempoolFrom(env, info[0], "pool");
  bool single = info.Length() > 1 && info[1].IsTypedArray();
  Napi::Array frames;
  uint32_t n;
  if (single) {
    ArgBytes(info, 1, "template");
    n = ArgU32(info, 2, "count");
  } else {
    if (info.Length() < 2 || !info[1].IsArray()) {
      throw Napi::TypeError::New(env, "allocPackets: frames must be an array of Uint8Array, or a Uint8Array and a count");
    }
    frames = info[1].As<Napi::Array>();
    n = frames.Length();
  }
  if (n > room()) {
    ThrowDpdkCode(env, "allocPackets", "ENOSPC",
                  "cannot add " + std::to_string(n) + " packets to a burst with room for " + std::to_string(room()));
  }
  // A fresh packet's data starts after min(headroom, room) (rte_pktmbuf_reset):
  // a pool with less room than the headroom has none left for data.
  const uint16_t room = rte_pktmbuf_data_room_size(mp);
  const size_t max = room > RTE_PKTMBUF_HEADROOM ? room - RTE_PKTMBUF_HEADROOM : 0;
  // Checked and collected before allocating, so a bad frame leaks nothing.
  const uint8_t* data[kMaxCapacity];
  uint16_t lens[kMaxCapacity];
  for (uint32_t i = 0; i < n; i++) {
    if (single && i > 0) {
      data[i] = data[0];
      lens[i] = lens[0];
      continue;
    }
    Napi::Value v = single ? info[1] : frames.Get(i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw Napi::TypeError::New(env, "allocPackets: frame " + std::to_string(i) + " must be a Uint8Array");
    }
    Napi::Uint8Array f = v.As<Napi::Uint8Array>();
    if (f.ByteLength() > max) {
      throw Napi::RangeError::New(env, "allocPackets: frame " + std::to_string(i) + " has " +
                                           std::to_string(f.ByteLength()) + " bytes; the pool's buffers hold at most " +
                                           std::to_string(max));
    }
    data[i] = f.Data();
    lens[i] = static_cast<uint16_t>(f.ByteLength());
  }
  rte_mbuf** dst = pkts_.data() + count_;
  if (n == 0) return Napi::Number::New(env, 0);
  PoolActivity* a = ActivityHere();
  const uint32_t got = JournaledGets(a, mp, n, Guard{}, static_cast<uint32_t>(RxGet::kIntoBurst), 0, [&](uint32_t k) {
    return k == n && rte_pktmbuf_alloc_bulk(mp, dst, n) == 0 ? n : 0;
  });
  ActivityIdle(a);
  if (got == 0) return Napi::Number::New(env, 0);
  for (uint32_t i = 0; i < n; i++) {
    char* p = rte_pktmbuf_append(dst[i], lens[i]);
    if (p == nullptr) {
      // A buffer with less room than its pool says (a pool set up by other code).
      JournaledFree(dst, n, false);
      throw Napi::RangeError::New(env, "allocPackets: frame " + std::to_string(i) + " does not fit in a buffer of pool '" +
                                           std::string(mp->name) + "'");
    }
    memcpy(p, data[i], lens[i]);
  }
  count_ += n;
  return Napi::Number::New(env, n);
}

}  // namespace dpdk_core
