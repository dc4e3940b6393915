// Memzones: named shared memory. One wrapper per rte_memzone in this process;
// the addon tracks them so cleanup can free what this process created and
// detach every view before the hugepage memory is unmapped.
#include <rte_errno.h>
#include <rte_memzone.h>

#include <cstring>
#include <string>
#include <vector>

#include "common.h"
#include "handle_registry.h"
#include "locked_rows.h"

namespace dpdk_core {

class Memzone : public TrackedHandle<Memzone, const rte_memzone> {
 public:
  static constexpr const char* kKind = "memzone";
  static HandleRegistry<Memzone>& Registry(AddonData& data) { return data.memzones; }

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Memzone",
                       {
                           InstanceAccessor("name", &Memzone::Name, nullptr),
                           InstanceAccessor<&Memzone::Length>("length"),
                           InstanceAccessor<&Memzone::Socket>("socket"),
                           InstanceAccessor("created", &Memzone::Created, nullptr),
                           InstanceAccessor("closed", &Memzone::Closed, nullptr),
                           InstanceMethod<&Memzone::View>("view"),
                           InstanceMethod<&Memzone::Free>("free"),
                           InstanceMethod("close", &Memzone::Close),
                           InstanceMethod<&Memzone::Load32>("load32"),
                           InstanceMethod<&Memzone::Store32>("store32"),
                           InstanceMethod<&Memzone::CompareExchange32>("compareExchange32"),
                           InstanceMethod<&Memzone::Add32>("add32"),
                           InstanceMethod<&Memzone::Load64>("load64"),
                           InstanceMethod<&Memzone::Store64>("store64"),
                           InstanceMethod<&Memzone::CompareExchange64>("compareExchange64"),
                           InstanceMethod<&Memzone::Add64>("add64"),
                       });
  }

  explicit Memzone(const Napi::CallbackInfo& info)
      : TrackedHandle(info, 2, "Memzone handles come from reserveMemzone() or lookupMemzone()"),
        addr_(ptr_->addr),
        len_(ptr_->len) {}

  // Its view covers addr_ .. addr_ + len_: a zone of the same name re-created
  // elsewhere or smaller is another zone.
  bool Describes(const rte_memzone* mz) const { return TrackedHandle::Describes(mz) && mz->addr == addr_ && mz->len == len_; }

  static Napi::Object Wrap(Napi::Env env, const rte_memzone* mz, bool created) {
    if (Memzone* existing = Find(env, mz)) return existing->Value();
    return Data(env).memzoneCtor.New({Napi::External<rte_memzone>::New(env, const_cast<rte_memzone*>(mz)),
                                      Napi::Boolean::New(env, created)});
  }

  void Retire() { Invalidate(false); }

  // Invalidates the handle and detaches its view; with free, also returns
  // the memory to DPDK.
  void Invalidate(bool free) {
    if (ptr_ == nullptr) return;
    if (!view_.IsEmpty()) {
      Napi::Value v = view_.Value();
      if (v.IsArrayBuffer()) {
        Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
        if (!ab.IsDetached()) {
          ab.Detach();
          data_->viewsDetached++;
        }
      }
      view_.Reset();
    }
    const rte_memzone* mz = ptr_;
    if (Unregister(free)) rte_memzone_free(mz);
  }

 private:

  template <typename T>
  T* Word(const Napi::CallbackInfo& info, const char* op) {
    const rte_memzone* mz = Live(op);
    uint32_t off = ArgU32(info, 0, "offset");
    if (off % sizeof(T) != 0 || static_cast<uint64_t>(off) + sizeof(T) > mz->len) {
      ThrowDpdkCode(Env(), op, "EINVAL",
                    "offset " + std::to_string(off) + " is not a " + std::to_string(sizeof(T)) +
                        "-byte aligned word inside memzone '" + name_ + "' (" + std::to_string(mz->len) +
                        " bytes)");
    }
    return reinterpret_cast<T*>(static_cast<uint8_t*>(mz->addr) + off);
  }

  uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i, const char* what) {
    if (i >= info.Length() || !info[i].IsBigInt()) {
      throw Napi::TypeError::New(Env(), std::string(what) + " must be a bigint");
    }
    bool lossless = true;
    uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(Env(), std::string(what) + " must fit in 64 unsigned bits");
    return v;
  }

  Napi::Value Length(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(Live("length")->len));
  }
  Napi::Value Socket(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Live("socket")->socket_id); }

  // One external ArrayBuffer per zone: V8 must not see two buffers over the
  // same memory, and a single buffer is what cleanup has to detach.
  Napi::Value View(const Napi::CallbackInfo& info) {
    const rte_memzone* mz = Live("view");
    if (!view_.IsEmpty()) {
      Napi::Value v = view_.Value();
      if (v.IsArrayBuffer()) return v;
    }
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(info.Env(), mz->addr, mz->len);
    // The view holds its handle: were the handle collected first, nothing
    // would detach the view when the zone is freed (at cleanup()), and a read
    // through it would fault.
    ab.DefineProperty(Napi::PropertyDescriptor::Value("memzone", Value(), napi_default));
    view_ = Napi::Weak(ab.As<Napi::Object>());
    return ab;
  }

  Napi::Value Free(const Napi::CallbackInfo& info) {
    if (ptr_ == nullptr) return info.Env().Undefined();
    RequireCreator(info.Env(), "freeMemzone");
    Invalidate(true);
    return info.Env().Undefined();
  }

  Napi::Value Load32(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), __atomic_load_n(Word<uint32_t>(info, "load32"), __ATOMIC_ACQUIRE));
  }
  Napi::Value Store32(const Napi::CallbackInfo& info) {
    uint32_t* w = Word<uint32_t>(info, "store32");
    __atomic_store_n(w, ArgU32(info, 1, "value"), __ATOMIC_RELEASE);
    return info.Env().Undefined();
  }
  // Returns the value found; the exchange happened when it equals expected.
  Napi::Value CompareExchange32(const Napi::CallbackInfo& info) {
    uint32_t* w = Word<uint32_t>(info, "compareExchange32");
    uint32_t expected = ArgU32(info, 1, "expected");
    uint32_t desired = ArgU32(info, 2, "desired");
    __atomic_compare_exchange_n(w, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    return Napi::Number::New(info.Env(), expected);
  }
  // Adds (mod 2^32) and returns the previous value.
  Napi::Value Add32(const Napi::CallbackInfo& info) {
    uint32_t* w = Word<uint32_t>(info, "add32");
    int64_t delta = ArgI64(info, 1, "delta");
    return Napi::Number::New(info.Env(),
                             __atomic_fetch_add(w, static_cast<uint32_t>(delta), __ATOMIC_ACQ_REL));
  }
  Napi::Value Load64(const Napi::CallbackInfo& info) {
    return Napi::BigInt::New(info.Env(), __atomic_load_n(Word<uint64_t>(info, "load64"), __ATOMIC_ACQUIRE));
  }
  Napi::Value Store64(const Napi::CallbackInfo& info) {
    uint64_t* w = Word<uint64_t>(info, "store64");
    __atomic_store_n(w, ArgU64(info, 1, "value"), __ATOMIC_RELEASE);
    return info.Env().Undefined();
  }
  Napi::Value CompareExchange64(const Napi::CallbackInfo& info) {
    uint64_t* w = Word<uint64_t>(info, "compareExchange64");
    uint64_t expected = ArgU64(info, 1, "expected");
    uint64_t desired = ArgU64(info, 2, "desired");
    __atomic_compare_exchange_n(w, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    return Napi::BigInt::New(info.Env(), expected);
  }
  Napi::Value Add64(const Napi::CallbackInfo& info) {
    uint64_t* w = Word<uint64_t>(info, "add64");
    if (info.Length() < 2 || !info[1].IsBigInt()) throw Napi::TypeError::New(Env(), "delta must be a bigint");
    bool lossless = true;
    int64_t delta = info[1].As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(Env(), "delta must fit in 64 signed bits");
    return Napi::BigInt::New(info.Env(), __atomic_fetch_add(w, static_cast<uint64_t>(delta), __ATOMIC_ACQ_REL));
  }

  Napi::ObjectReference view_;
  const void* addr_;
  size_t len_;
};

namespace {

Napi::Value Reserve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "reserveMemzone");
  std::string name = ArgString(info, 0, "name");
  uint32_t len = ArgU32(info, 1, "length");
  int64_t socket = ArgI64(info, 2, "socket");
  uint32_t align = ArgU32(info, 3, "align");
  const rte_memzone* mz =
      rte_memzone_reserve_aligned(name.c_str(), len, static_cast<int>(socket), 0, align);
  if (mz == nullptr) {
    int err = rte_errno;
    std::string hint = err == EEXIST   ? "; another process already reserved it: look it up instead, or pick another name"
                       : err == ENOMEM ? "; not enough hugepage memory: raise -m / nr_hugepages"
                       : err == ENOSPC ? "; all RTE_MAX_MEMZONE slots are used: free some memzones"
                                       : "";
    ThrowDpdk(env, "reserveMemzone", err, "cannot reserve memzone '" + name + "' of " + std::to_string(len) +
                                              " bytes" + hint);
  }
  memset(mz->addr, 0, mz->len);
  Data(env).memzones.MarkCreated(mz);
  return Memzone::Wrap(env, mz, true);
}

Napi::Value Lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "lookupMemzone");
  std::string name = ArgString(info, 0, "name");
  const rte_memzone* mz = rte_memzone_lookup(name.c_str());
  if (mz == nullptr) {
    ThrowDpdk(env, "lookupMemzone", ENOENT,
              "no memzone named '" + name +
                  "'; is the primary running with the same --file-prefix, and has it reserved it?");
  }
  return Memzone::Wrap(env, mz, false);
}

struct ZoneInfo {
  char name[RTE_MEMZONE_NAMESIZE];
  size_t len;
  int socket;
  uint64_t hugepageSize;
};

// Runs inside rte_memzone_walk, under the memzone lock of every process
// (locked_rows.h).
void WalkOne(const rte_memzone* mz, void* arg) noexcept {
  ZoneInfo z{};
  std::memcpy(z.name, mz->name, sizeof(z.name));
  z.len = mz->len;
  z.socket = mz->socket_id;
  z.hugepageSize = mz->hugepage_sz;
  static_cast<LockedRows<ZoneInfo>*>(arg)->Add(z);
}

Napi::Value Walk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "walkMemzones");
  const std::vector<ZoneInfo> zones =
      CollectUnderLock<ZoneInfo>(RTE_MAX_MEMZONE, [](LockedRows<ZoneInfo>& rows) { rte_memzone_walk(WalkOne, &rows); });
  Napi::Array out = Napi::Array::New(env, zones.size());
  for (uint32_t i = 0; i < zones.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", zones[i].name);
    o.Set("length", static_cast<double>(zones[i].len));
    o.Set("socket", zones[i].socket);
    o.Set("hugepageSize", static_cast<double>(zones[i].hugepageSize));
    out.Set(i, o);
  }
  return out;
}

}  // namespace

void ReleaseAllMemzones(Napi::Env env) {
  AddonData& data = Data(env);
  data.memzones.InvalidateAll([](Memzone& mz) { mz.Invalidate(true); });
  FreeCreatedMemzones(data);
}

void ForgetAllMemzones(Napi::Env env) {
  Data(env).memzones.InvalidateAll([](Memzone& mz) { mz.Invalidate(false); });
}

void FreeCreatedMemzones(AddonData& data) {
  data.memzones.FreeCreated([](const void* mz, bool) { rte_memzone_free(static_cast<const rte_memzone*>(mz)); });
}

void InitMemzone(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = Memzone::Define(env);
  Data(env).memzoneCtor = Napi::Persistent(ctor);
  exports.Set("Memzone", ctor);
  exports.Set("reserveMemzone", Napi::Function::New(env, Reserve, "reserveMemzone"));
  exports.Set("lookupMemzone", Napi::Function::New(env, Lookup, "lookupMemzone"));
  exports.Set("walkMemzones", Napi::Function::New(env, Walk, "walkMemzones"));
}

}  // namespace dpdk_core
