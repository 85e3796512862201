#include "drivers/live_objects.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

namespace zcb {
namespace {

// Lock directories: /run/zcbench for root (tmpfs: a reboot forgets every run), and a
// per-user one where /run is not writable (an unprivileged user with a delegated cgroup).
std::string PrimaryLockDir() { return "/run/zcbench"; }
std::string FallbackLockDir() { return fmt::format("/tmp/zcbench-{}", ::getuid()); }

std::string LockPath(const std::string& dir, pid_t pid) { return fmt::format("{}/{}.lock", dir, pid); }

struct OwnerLock {
  std::mutex mutex;
  pid_t locked_for = 0;  // a forked child inherits the memory, not the lock: re-take per pid
  int fd = -1;
  std::string path;
  std::atomic<uint64_t> sequence{0};
};

OwnerLock& Lock() {
  static OwnerLock* lock = new OwnerLock();  // never destroyed: used until the process ends
  return *lock;
}

Result<int> TakeLockIn(const std::string& dir, pid_t pid) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return SysError(fmt::format("create {}", dir));
  const std::string path = LockPath(dir, pid);
  for (int attempt = 0; attempt < 5; ++attempt) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return SysError(fmt::format("open {}", path));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      return Error(err, fmt::format("lock {} (another process holds it)", path));
    }
    // A cleanup may have unlinked the file between our open and flock (it was not
    // locked yet): then the lock is on a file nobody can see. Start over.
    struct stat held {
    }, named{};
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev) {
      return fd;
    }
    ::close(fd);
  }
  return Errorf("lock {}: the file keeps disappearing (a concurrent zcbench cleanup?)", path);
}

// At a normal exit the lock file goes too; a killed run leaves it for `zcbench cleanup`.
void RemoveOwnLockFile() {
  OwnerLock& lock = Lock();
  if (lock.locked_for != ::getpid() || lock.fd < 0) return;
  ::unlink(lock.path.c_str());
}

Status EnsureOwnerLock() {
  OwnerLock& lock = Lock();
  std::lock_guard guard(lock.mutex);
  const pid_t pid = ::getpid();
  if (lock.locked_for == pid) return OkStatus();
  if (lock.fd >= 0) ::close(lock.fd);  // the parent's lock, inherited through fork()
  lock.fd = -1;
  std::string dir = PrimaryLockDir();
  auto fd = TakeLockIn(dir, pid);
  if (!fd.ok()) {
    dir = FallbackLockDir();
    auto fallback = TakeLockIn(dir, pid);
    if (!fallback.ok()) {
      return Errorf("cannot take the owner lock that protects this run's objects from `zcbench cleanup`: {}; {}",
                    fd.error().ToString(), fallback.error().ToString());
    }
    fd = std::move(fallback);
  }
  lock.fd = *fd;
  lock.path = LockPath(dir, pid);
  lock.locked_for = pid;
  lock.sequence = 0;
  static std::once_flag at_exit;
  std::call_once(at_exit, [] { std::atexit(RemoveOwnLockFile); });
  return OkStatus();
}

// Whether the lock file at `path` is held by a live process. A missing file is not held.
bool LockHeld(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

// --- the emergency table -----------------------------------------------------------

constexpr int kSlots = 64;
constexpr size_t kPathMax = 512;

enum SlotState : int { kFree = 0, kFilling = 1, kLive = 2, kRemoving = 3 };
enum class SlotKind : int { kNamespace, kCgroup, kSysctl };

struct Slot {
  std::atomic<int> state{kFree};
  std::atomic<uint64_t> order{0};
  SlotKind kind = SlotKind::kNamespace;
  char path[kPathMax] = {};
  char members_file[kPathMax] = {};
  char move_to_file[kPathMax] = {};
  int fd = -1;  // kSysctl: the sysctl's file; members_file holds the value to write
};

Slot g_slots[kSlots];
std::atomic<uint64_t> g_order{0};

bool CopyPath(char (&dst)[kPathMax], const std::string& src) {
  if (src.size() >= kPathMax) return false;
  std::memcpy(dst, src.c_str(), src.size() + 1);
  return true;
}

int Register(SlotKind kind, const std::string& path, const std::string& members, const std::string& move_to,
             int fd = -1) {
  for (int i = 0; i < kSlots; ++i) {
    int expected = kFree;
    if (!g_slots[i].state.compare_exchange_strong(expected, kFilling)) continue;
    Slot& s = g_slots[i];
    s.kind = kind;
    s.fd = fd;
    if (!CopyPath(s.path, path) || !CopyPath(s.members_file, members) || !CopyPath(s.move_to_file, move_to)) {
      s.state = kFree;
      return -1;
    }
    s.order = ++g_order;
    s.state.store(kLive, std::memory_order_release);
    return i;
  }
  return -1;  // table full: the RAII owner still removes the object on a normal exit
}

void RemoveSlot(Slot& s) {
  if (s.kind == SlotKind::kNamespace) {
    RemoveNamespaceBinding(s.path);
  } else if (s.kind == SlotKind::kSysctl) {
    size_t n = 0;
    while (s.members_file[n] != '\0') ++n;
    if (::pwrite(s.fd, s.members_file, n, 0) == static_cast<ssize_t>(n)) ::unlink(s.path);
  } else {
    RemoveCgroupDir(s.path, s.members_file, s.move_to_file);
  }
}

// Async-signal-safe helpers.
size_t SafeLen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

bool SafeJoin(char* out, size_t cap, const char* a, const char* b) {
  const size_t la = SafeLen(a), lb = SafeLen(b);
  if (la + 1 + lb + 1 > cap) return false;
  std::memcpy(out, a, la);
  out[la] = '/';
  std::memcpy(out + la + 1, b, lb + 1);
  return true;
}

struct sigaction g_previous[NSIG];
const int kCleanupSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

void OnSignal(int sig) {
  const int saved_errno = errno;
  RemoveAllLiveObjects();
  RemoveOwnLockFile();  // the process ends with the signal: nothing is left to protect
  // Hand the signal on: the previous disposition (usually the default, which ends the
  // process) sees it as soon as this handler returns, the signal being blocked till then.
  ::sigaction(sig, &g_previous[sig], nullptr);
  ::raise(sig);
  errno = saved_errno;
}

}  // namespace

Result<std::string> NewObjectId() {
  ZCB_RETURN_IF_ERROR(EnsureOwnerLock());
  return fmt::format("{}-{}", ::getpid(), ++Lock().sequence);
}

std::string InterfaceName(std::string_view suffix) { return fmt::format("{}{}{}", kObjectPrefix, ::getpid(), suffix); }

std::optional<pid_t> ObjectOwner(std::string_view name) {
  if (name.substr(0, kObjectPrefix.size()) != kObjectPrefix) return std::nullopt;
  name.remove_prefix(kObjectPrefix.size());
  pid_t pid = 0;
  size_t digits = 0;
  while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9' && digits < 10) {
    pid = pid * 10 + (name[digits] - '0');
    ++digits;
  }
  if (digits == 0 || pid <= 0) return std::nullopt;
  if (digits < name.size() && name[digits] != '-') return std::nullopt;
  return pid;
}

bool OwnerAlive(pid_t pid) {
  return LockHeld(LockPath(PrimaryLockDir(), pid)) || LockHeld(LockPath(FallbackLockDir(), pid));
}

int RemoveStaleOwnerLocks() {
  int removed = 0;
  for (const std::string& dir : {PrimaryLockDir(), FallbackLockDir()}) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() < 6 || name.substr(name.size() - 5) != ".lock") continue;
      const std::string path = dir + "/" + name;
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      // Unlink while holding the lock, so that no owner can take it in between.
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::unlink(path.c_str()) == 0) ++removed;
      ::close(fd);
    }
    ::closedir(d);
  }
  return removed;
}

Result<std::string> NewOwnerStateFile(std::string_view suffix) {
  ZCB_RETURN_IF_ERROR(EnsureOwnerLock());
  const OwnerLock& lock = Lock();
  const std::string dir = lock.path.substr(0, lock.path.rfind('/'));
  return fmt::format("{}/{}{}-{}{}", dir, kObjectPrefix, ::getpid(), ++Lock().sequence, suffix);
}

Result<UniqueFd> LockRunMutex(std::string_view name) {
  ZCB_RETURN_IF_ERROR(EnsureOwnerLock());
  const OwnerLock& lock = Lock();
  // Not a ".lock" file: RemoveStaleOwnerLocks() sweeps those when nobody holds them.
  const std::string path = fmt::format("{}/{}.mutex", lock.path.substr(0, lock.path.rfind('/')), name);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return SysError(fmt::format("open {}", path));
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return SysError(fmt::format("flock {}", path));
  }
  return fd;
}

std::vector<std::string> OwnerStateFiles(std::string_view suffix) {
  std::vector<std::string> files;
  for (const std::string& dir : {PrimaryLockDir(), FallbackLockDir()}) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;
    while (dirent* e = ::readdir(d)) {
      const std::string_view name = e->d_name;
      if (name.substr(0, kObjectPrefix.size()) == kObjectPrefix && name.size() > suffix.size() &&
          name.substr(name.size() - suffix.size()) == suffix) {
        files.push_back(dir + "/" + std::string(name));
      }
    }
    ::closedir(d);
  }
  return files;
}

int RegisterLiveSysctl(int fd, const std::string& value, const std::string& state_file) {
  return Register(SlotKind::kSysctl, state_file, value, "", fd);
}

int RegisterLiveNamespace(const std::string& bind_path) { return Register(SlotKind::kNamespace, bind_path, "", ""); }

int RegisterLiveCgroup(const std::string& dir, const std::string& members_file, const std::string& move_to_file) {
  return Register(SlotKind::kCgroup, dir, members_file, move_to_file);
}

void ReleaseLiveSlot(int slot) {
  if (slot < 0 || slot >= kSlots) return;
  int expected = kLive;
  g_slots[slot].state.compare_exchange_strong(expected, kFree);
}

int RemoveNamespaceBinding(const char* bind_path) {
  // What `ip netns delete` does: detach the bind mount that keeps the namespace alive,
  // then remove the mount point. The namespace dies with its last task and mount.
  int err = 0;
  if (::umount2(bind_path, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) err = errno;
  if (::unlink(bind_path) != 0 && errno != ENOENT) err = errno;
  return err;
}

int RemoveCgroupDir(const char* dir, const char* members_file, const char* move_to_file) {
  char members_path[kPathMax * 2];
  if (!SafeJoin(members_path, sizeof members_path, dir, members_file)) return ENAMETOOLONG;
  // A few passes: a thread may be entering while we move the others out.
  for (int pass = 0; pass < 3; ++pass) {
    if (move_to_file[0] != '\0') {
      int in = ::open(members_path, O_RDONLY | O_CLOEXEC);
      if (in >= 0) {
        char buf[4096];
        ssize_t got;
        char id[32];
        size_t id_len = 0;
        while ((got = ::read(in, buf, sizeof buf)) > 0) {
          for (ssize_t i = 0; i < got; ++i) {
            if (buf[i] == '\n') {
              if (id_len > 0) {
                int out = ::open(move_to_file, O_WRONLY | O_CLOEXEC);
                if (out >= 0) {
                  (void)!::write(out, id, id_len);
                  ::close(out);
                }
              }
              id_len = 0;
            } else if (id_len < sizeof id) {
              id[id_len++] = buf[i];
            }
          }
        }
        ::close(in);
      }
    }
    if (::rmdir(dir) == 0 || errno == ENOENT) return 0;
    if (errno != EBUSY) return errno;
  }
  return EBUSY;
}

void RemoveAllLiveObjects() {
  // Newest first: a cgroup nested in another, a namespace whose links a later object uses.
  for (;;) {
    int best = -1;
    uint64_t best_order = 0;
    for (int i = 0; i < kSlots; ++i) {
      if (g_slots[i].state.load(std::memory_order_acquire) != kLive) continue;
      const uint64_t order = g_slots[i].order.load();
      if (best < 0 || order > best_order) {
        best = i;
        best_order = order;
      }
    }
    if (best < 0) return;
    int expected = kLive;
    if (!g_slots[best].state.compare_exchange_strong(expected, kRemoving)) continue;
    RemoveSlot(g_slots[best]);
    g_slots[best].state.store(kFree);
  }
}

void InstallCleanupSignalHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : kCleanupSignals) {
      // A signal ignored when we start (nohup, a background job's SIGINT) stays ignored:
      // it would otherwise tear the objects down under a run that goes on.
      ::sigaction(sig, nullptr, &g_previous[sig]);
      if (g_previous[sig].sa_handler == SIG_IGN) continue;
      struct sigaction sa {};
      sa.sa_handler = OnSignal;
      sigemptyset(&sa.sa_mask);
      for (int other : kCleanupSignals) sigaddset(&sa.sa_mask, other);  // one cleanup at a time
      ::sigaction(sig, &sa, nullptr);
    }
    std::atexit(RemoveAllLiveObjects);
  });
}

}  // namespace zcb
