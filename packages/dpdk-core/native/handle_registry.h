// What every named DPDK object kind (memzone, ring, mempool) does the same way
// with its handles: at most one live handle per object in this process, found
// by the object's pointer; the objects this process created, remembered apart
// from their handles so cleanup frees them even after a handle was collected;
// use after close throws E_CLOSED. What free means, and what else a kind
// detaches or drains, stays in the kind's own file.
#pragma once

#include <napi.h>

#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

namespace dpdk_core {

struct AddonData;
AddonData& Data(Napi::Env env);
[[noreturn]] void ThrowDpdkCode(Napi::Env env, const std::string& op, const std::string& code,
                                const std::string& message);

[[noreturn]] inline void ThrowClosed(napi_env env, const char* op, const char* kind, const std::string& name) {
  ThrowDpdkCode(Napi::Env(env), op, "E_CLOSED",
                std::string(kind) + " '" + name + "' handle is closed (freed, closed or EAL cleaned up); look it up again");
}

// Info is what freeing a created object needs besides its pointer (rings:
// whether it holds packets to drain first).
template <typename Handle, typename Info = bool>
class HandleRegistry {
 public:
  void Add(const void* key, Handle* handle) { live_[key] = handle; }
  void Remove(const void* key) { live_.erase(key); }
  Handle* Find(const void* key) const {
    auto it = live_.find(key);
    return it == live_.end() ? nullptr : it->second;
  }

  void MarkCreated(const void* key, Info info = Info{}) { created_[key] = info; }
  // True (with its info) once for an object this process created and has
  // not freed yet; the object is forgotten.
  bool TakeCreated(const void* key, Info* info = nullptr) {
    auto it = created_.find(key);
    if (it == created_.end()) return false;
    if (info != nullptr) *info = it->second;
    created_.erase(it);
    return true;
  }

  // invalidate(handle) must Remove the handle (Invalidate does).
  template <typename Invalidate>
  void InvalidateAll(Invalidate invalidate) {
    while (!live_.empty()) invalidate(*live_.begin()->second);
  }
  // free(key, info) for every object this process created and has not freed.
  template <typename Free>
  void FreeCreated(Free free) {
    for (const auto& [key, info] : created_) free(key, info);
    created_.clear();
  }

 private:
  std::unordered_map<const void*, Handle*> live_;
  std::unordered_map<const void*, Info> created_;
};

// Handles of the unnamed objects this process allocates (TX buffers, user
// mempool caches): nothing looks them up; cleanup destroys them all.
template <typename Handle>
class HandleSet {
 public:
  void Add(Handle* handle) { live_.insert(handle); }
  void Remove(Handle* handle) { live_.erase(handle); }
  void Clear() { live_.clear(); }
  // fn may Remove the handle it is given: it walks a copy.
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (Handle* handle : std::unordered_set<Handle*>(live_)) fn(*handle);
  }

 private:
  std::unordered_set<Handle*> live_;
};

// The handle half: Derived supplies
//   static constexpr const char* kKind;                  // "ring", in messages
//   static HandleRegistry<Derived, ...>& Registry(AddonData&);
//   void Retire();                                       // see Find
//   void Invalidate(bool free);                          // closes; idempotent
// and its constructor takes (External<CType>, created, ...).
template <typename Derived, typename CType>
class TrackedHandle : public Napi::ObjectWrap<Derived> {
 public:
  // The handle of ptr whose JS object is alive, or null. A handle whose object
  // was collected but whose finalizer has not run yet is retired first, so
  // that finalizer cannot unregister the handle made in its place. So is a
  // handle of an object another process freed, when a new object took its
  // slot (DPDK reuses the first free one): it no longer describes ptr.
  static Derived* Find(Napi::Env env, const CType* ptr) {
    Derived* h = Derived::Registry(Data(env)).Find(ptr);
    if (h == nullptr || (!h->Value().IsEmpty() && h->Describes(ptr))) return h;
    h->Retire();
    return nullptr;
  }

  // Whether this handle was made for the object now at ptr (kinds compare
  // more than the name where a re-created object could differ under it).
  bool Describes(const CType* ptr) const { return name_ == ptr->name; }

 protected:
  TrackedHandle(const Napi::CallbackInfo& info, size_t minArgs, const char* origin)
      : Napi::ObjectWrap<Derived>(info) {
    if (info.Length() < minArgs || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), origin);
    data_ = &Data(info.Env());
    ptr_ = info[0].As<Napi::External<std::remove_const_t<CType>>>().Data();
    created_ = info[1].ToBoolean();
    name_ = ptr_->name;
    Derived::Registry(*data_).Add(ptr_, static_cast<Derived*>(this));
  }

  ~TrackedHandle() override {
    if (ptr_ != nullptr) Derived::Registry(*data_).Remove(ptr_);
  }

  CType* Live(const char* op) {
    if (ptr_ == nullptr) ThrowClosed(this->Env(), op, Derived::kKind, name_);
    return ptr_;
  }

  // Closes the handle: unregisters it and clears the pointer. Returns whether
  // the caller must now free the object (free asked for, this process created
  // it, and it was not freed yet), with its registry info.
  template <typename Info = bool>
  bool Unregister(bool free, Info* info = nullptr) {
    auto& registry = Derived::Registry(*data_);
    registry.Remove(ptr_);
    bool owner = free && created_ && registry.TakeCreated(ptr_, info);
    ptr_ = nullptr;
    return owner;
  }

  // Only the creator frees a named object; others close their handle.
  void RequireCreator(Napi::Env env, const char* op) {
    if (!created_) {
      ThrowDpdkCode(env, op, "EPERM",
                    std::string(Derived::kKind) + " '" + name_ +
                        "' was created by another process; only its creator frees it (use close())");
    }
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    static_cast<Derived*>(this)->Invalidate(false);
    return info.Env().Undefined();
  }
  Napi::Value Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
  Napi::Value Created(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), created_); }
  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), ptr_ == nullptr); }

  AddonData* data_ = nullptr;
  CType* ptr_ = nullptr;
  bool created_ = false;
  std::string name_;
};

}  // namespace dpdk_core
