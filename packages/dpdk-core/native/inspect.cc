// Read-only views for tools that look at a group from outside (dpdk-mp):
// every ring and pool in the shared memory whoever created it, and who holds
// the locks DPDK takes on its files (the primary's fcntl lock on its config
// file, the flock a process keeps on each hugepage file it maps).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eal_memconfig.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_tailq.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"
#include "locked_rows.h"

namespace dpdk_core {
namespace {

// Room for the rings or pools of a walk's first try (a group has a handful).
constexpr size_t kRowsGuess = 16;

struct RingRow {
  char name[RTE_RING_NAMESIZE];
  uint32_t size, capacity, count, freeCount, flags;
  int socket;
};

// DPDK 22.11 has no rte_ring_walk; rings live in the "RTE_RING" tailq, which
// rte_ring_lookup itself searches under the same lock (locked_rows.h).
void CollectRings(LockedRows<RingRow>& rows) noexcept {
  struct rte_tailq_head* head = rte_eal_tailq_lookup(RTE_TAILQ_RING_NAME);
  if (head == nullptr) return;
  rte_mcfg_tailq_read_lock();
  struct rte_tailq_entry* te;
  TAILQ_FOREACH(te, &head->tailq_head, next) {
    auto* r = static_cast<struct rte_ring*>(te->data);
    RingRow row{};
    std::memcpy(row.name, r->name, sizeof(row.name));
    row.size = r->size;
    row.capacity = r->capacity;
    row.count = rte_ring_count(r);
    row.freeCount = rte_ring_free_count(r);
    row.flags = static_cast<uint32_t>(r->flags);
    row.socket = r->memzone != nullptr ? r->memzone->socket_id : SOCKET_ID_ANY;
    rows.Add(row);
  }
  rte_mcfg_tailq_read_unlock();
}

Napi::Value WalkRings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "walkRings");
  const std::vector<RingRow> rows = CollectUnderLock<RingRow>(kRowsGuess, CollectRings);
  Napi::Array out = Napi::Array::New(env, rows.size());
  for (uint32_t i = 0; i < rows.size(); i++) {
    const RingRow& r = rows[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", r.name);
    o.Set("size", r.size);
    o.Set("capacity", r.capacity);
    o.Set("count", r.count);
    o.Set("freeCount", r.freeCount);
    o.Set("flags", r.flags);
    o.Set("socket", r.socket);
    out.Set(i, o);
  }
  return out;
}

struct PoolRow {
  char name[RTE_MEMPOOL_NAMESIZE], ops[RTE_MEMPOOL_OPS_NAMESIZE];
  uint32_t size, cacheSize, eltSize, populated, available, inUse;
  int socket;
};

// Runs inside rte_mempool_walk, under the mempool lock of every process
// (locked_rows.h).
void CollectPool(struct rte_mempool* mp, void* arg) noexcept {
  struct rte_mempool_ops* ops = rte_mempool_get_ops(mp->ops_index);
  PoolRow row{};
  std::memcpy(row.name, mp->name, sizeof(row.name));
  if (ops != nullptr) std::memcpy(row.ops, ops->name, sizeof(row.ops));
  row.size = mp->size;
  row.cacheSize = mp->cache_size;
  row.eltSize = mp->elt_size;
  row.populated = mp->populated_size;
  // One count, so that available + in use is the size even while packets move
  // (rte_mempool_in_use_count would count again).
  row.available = rte_mempool_avail_count(mp);
  row.inUse = mp->size - row.available;
  row.socket = mp->socket_id;
  static_cast<LockedRows<PoolRow>*>(arg)->Add(row);
}

// Counts only: reading per-lcore cache lengths is safe from any lcore, and
// nothing here takes or returns an object.
Napi::Value WalkMempools(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env, "walkMempools");
  const std::vector<PoolRow> rows =
      CollectUnderLock<PoolRow>(kRowsGuess, [](LockedRows<PoolRow>& out) { rte_mempool_walk(CollectPool, &out); });
  Napi::Array out = Napi::Array::New(env, rows.size());
  for (uint32_t i = 0; i < rows.size(); i++) {
    const PoolRow& p = rows[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", p.name);
    o.Set("ops", p.ops);
    o.Set("size", p.size);
    o.Set("cacheSize", p.cacheSize);
    o.Set("eltSize", p.eltSize);
    o.Set("populated", p.populated);
    o.Set("available", p.available);
    o.Set("inUse", p.inUse);
    o.Set("socket", p.socket);
    out.Set(i, o);
  }
  return out;
}

// Closing any descriptor of a file drops every fcntl lock this process holds
// on it, so a primary must not open its own config file to ask.
bool IsOwnConfig(AddonData& data, const std::string& path) {
  if (!data.EalUsable() || rte_eal_process_type() != RTE_PROC_PRIMARY) return false;
  char a[PATH_MAX], b[PATH_MAX];
  std::string own = std::string(rte_eal_get_runtime_dir()) + "/config";
  return realpath(path.c_str(), a) != nullptr && realpath(own.c_str(), b) != nullptr && std::string(a) == b;
}

// (path) -> { exists, locked, lockPid, flocked }: locked whether a process
// holds an fcntl lock on the file, lockPid that process when the kernel
// names it (0 otherwise), flocked whether some process holds a flock on it
// (flock does not say who). Opened without following a symlink and without
// blocking on a FIFO, since the names come from shared directories.
Napi::Value FileLocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "path");
  Napi::Object o = Napi::Object::New(env);
  if (IsOwnConfig(Data(env), path)) {
    o.Set("exists", true);
    o.Set("locked", true);
    o.Set("lockPid", getpid());
    o.Set("flocked", false);
    return o;
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) {
      o.Set("exists", false);
      o.Set("locked", false);
      o.Set("lockPid", 0);
      o.Set("flocked", false);
      return o;
    }
    // Not ours to read (another user's, a symlink): whether it is in use
    // cannot be told, so it counts as in use, and says why.
    o.Set("exists", true);
    o.Set("locked", true);
    o.Set("lockPid", 0);
    o.Set("flocked", true);
    o.Set("unreadable", std::string(strerror(errno)));
    return o;
  }
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  // Locked whoever holds it: F_GETLK names no pid (0) for a holder in
  // another pid namespace, and -1 for an open file description lock. A
  // lock that cannot be tested counts as held: taking a live process for
  // dead would delete its files.
  bool locked = true;
  int lockPid = 0;
  if (fcntl(fd, F_GETLK, &fl) == 0) {
    locked = fl.l_type != F_UNLCK;
    if (locked && fl.l_pid > 0) lockPid = fl.l_pid;
  }
  // A process that maps a hugepage file keeps a shared flock on it; an
  // exclusive one succeeds only when nobody does (DPDK's clear_hugedir test).
  bool flocked = true;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
    flock(fd, LOCK_UN);
    flocked = false;
  }
  close(fd);
  o.Set("exists", true);
  o.Set("locked", locked);
  o.Set("lockPid", lockPid);
  o.Set("flocked", flocked);
  return o;
}

// (path) -> whether it was removed: a hugepage file of a dead group,
// unlinked under an exclusive flock as EAL's clear_hugedir does, so that a
// file a process has mapped since (it holds a shared flock) is left.
Napi::Value UnlinkIfUnlocked(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "path");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return Napi::Boolean::New(env, false);
  bool removed = false;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) removed = unlink(path.c_str()) == 0;
  close(fd);
  return Napi::Boolean::New(env, removed);
}

// (dir) -> the entries left: a dead group's runtime directory emptied of its
// files and removed while this process holds the write lock on its config
// file, the lock a primary takes as it starts, so a primary starting under
// that prefix meanwhile fails its lock instead of losing its files. EBUSY if
// the lock is held. The caller checked that dir is a real directory.
Napi::Value RemoveDeadRuntimeDir(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = ArgString(info, 0, "dir");
  const std::string config = dir + "/config";
  int fd = open(config.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd >= 0) {
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0) {
      close(fd);
      ThrowDpdkCode(env, "cleanPrefix", "EBUSY", config + " is locked: a primary runs (or starts) under this prefix; stop it first");
    }
  }
  const std::vector<std::string> left = EmptyAndRemoveDir(dir);
  // Closing drops the lock, once nothing is left to take.
  if (fd >= 0) close(fd);
  Napi::Array out = Napi::Array::New(env, left.size());
  for (uint32_t i = 0; i < left.size(); i++) out.Set(i, left[i]);
  return out;
}

}  // namespace

std::vector<std::string> EmptyAndRemoveDir(const std::string& dir) {
  std::vector<std::string> left;
  if (DIR* d = opendir(dir.c_str())) {
    while (struct dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string file = dir + "/" + name;
      struct stat st;
      if (lstat(file.c_str(), &st) == 0 && !S_ISDIR(st.st_mode) && unlink(file.c_str()) == 0) continue;
      left.push_back(name);
    }
    closedir(d);
  }
  if (left.empty()) rmdir(dir.c_str());
  return left;
}

void InitInspect(Napi::Env env, Napi::Object exports) {
  exports.Set("unlinkIfUnlocked", Napi::Function::New(env, UnlinkIfUnlocked, "unlinkIfUnlocked"));
  exports.Set("removeDeadRuntimeDir", Napi::Function::New(env, RemoveDeadRuntimeDir, "removeDeadRuntimeDir"));
  exports.Set("walkRings", Napi::Function::New(env, WalkRings, "walkRings"));
  exports.Set("walkMempools", Napi::Function::New(env, WalkMempools, "walkMempools"));
  exports.Set("fileLocks", Napi::Function::New(env, FileLocks, "fileLocks"));
}

}  // namespace dpdk_core
