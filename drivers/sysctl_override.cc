#include "drivers/sysctl_override.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "drivers/live_objects.h"

namespace zcb {
namespace {

constexpr std::string_view kStateSuffix = ".sysctl";

// The inode of a namespace link: equal inodes are the same namespace.
ino_t NamespaceInode(const char* link) {
  struct stat st {};
  return ::stat(link, &st) == 0 ? st.st_ino : 0;
}

// Another run's override of `name` in this namespace, live or left by a killed run: two
// runs that each keep "the value before" would put back each other's, and one that took a
// killed run's value for the original would make it permanent.
Status CheckNoOtherOverride(const std::string& name) {
  for (const std::string& path : OwnerStateFiles(kStateSuffix)) {
    auto state = ReadSysctlStateFile(path);
    if (!state.ok() || state->name != name) continue;
    const std::optional<pid_t> owner = ObjectOwner(path.substr(path.rfind('/') + 1));
    if (owner && *owner == ::getpid()) continue;
    if (owner && OwnerAlive(*owner)) {
      return Errorf(
          "{} is overridden by another zcbench run (pid {}) in this network namespace; two runs that set it "
          "would put back each other's values: wait for that run to end, or leave the setting out",
          name, *owner);
    }
    return Errorf(
        "a zcbench run that was killed{} left {} overridden (its value before was {}, kept in {}): run "
        "`zcbench cleanup` to put it back before setting it again",
        owner ? fmt::format(" (pid {})", *owner) : std::string(), name, state->value, path);
  }
  return OkStatus();
}

Status WriteAll(int fd, const std::string& text, const std::string& what) {
  if (::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) return SysError(what);
  return OkStatus();
}

}  // namespace

std::string SysctlProcPath(const std::string& name) {
  std::string path = "/proc/sys/" + name;
  for (size_t i = 10; i < path.size(); ++i) {
    if (path[i] == '.') path[i] = '/';
  }
  return path;
}

Result<std::string> ReadSysctl(const std::string& name) {
  std::ifstream in(SysctlProcPath(name));
  std::string value;
  if (!in || !std::getline(in, value)) return SysError(fmt::format("read {}", SysctlProcPath(name)));
  return value;
}

bool InProcessNetworkNamespace() {
  // /proc/self is the thread group (the process's first thread, which never changes
  // namespace here), /proc/thread-self the calling thread.
  const ino_t process = NamespaceInode("/proc/self/ns/net");
  return process != 0 && process == NamespaceInode("/proc/thread-self/ns/net");
}

Result<std::unique_ptr<SysctlOverride>> SysctlOverride::Set(const std::string& name, const std::string& value) {
  const std::string path = SysctlProcPath(name);
  // In the process's namespace, whose value outlives the run, no other run may hold the
  // sysctl: checked and claimed (the state file below) under one mutex of all runs.
  const bool outlives_run = InProcessNetworkNamespace();
  UniqueFd claim;
  if (outlives_run) {
    ZCB_ASSIGN_OR_RETURN(claim, LockRunMutex("sysctl-" + name));
    ZCB_RETURN_IF_ERROR(CheckNoOtherOverride(name));
  }
  // Opened in the calling thread's namespace, which the file stays bound to.
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return SysError(fmt::format("open {} to set {} (needs root)", path, name));
  char buffer[64] = {};
  const ssize_t n = ::pread(fd.get(), buffer, sizeof buffer - 1, 0);
  if (n <= 0) return SysError(fmt::format("read {}", path));
  std::string original(buffer, static_cast<size_t>(n));
  while (!original.empty() && (original.back() == '\n' || original.back() == ' ')) original.pop_back();
  std::unique_ptr<SysctlOverride> setting(new SysctlOverride(name, original, std::move(fd)));
  if (outlives_run) {
    // The claim other runs check for, also when there is nothing to put back: a run that
    // set the same value would otherwise find it changed under it by this one's end.
    ZCB_ASSIGN_OR_RETURN(setting->state_file_, NewOwnerStateFile(kStateSuffix));
    std::ofstream state(setting->state_file_);
    state << name << "=" << original << "\n";
    if (!state.flush())
      return Errorf("write {} (the value of {} to put back after a crash)", setting->state_file_, name);
  }
  if (original == value) return setting;  // nothing to put back
  setting->changed_ = true;

  if (outlives_run) setting->live_slot_ = RegisterLiveSysctl(setting->fd_.get(), original, setting->state_file_);
  ZCB_RETURN_IF_ERROR(
      WriteAll(setting->fd_.get(), value, fmt::format("set {} to {} (write {}; needs root)", name, value, path)));
  return setting;
}

SysctlOverride::~SysctlOverride() {
  if (changed_) (void)WriteAll(fd_.get(), original_, "restore");
  if (live_slot_ >= 0) ReleaseLiveSlot(live_slot_);
  if (!state_file_.empty()) ::unlink(state_file_.c_str());
}

Result<SysctlStateFile> ReadSysctlStateFile(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return SysError(fmt::format("read {}", path));
  const size_t eq = line.find('=');
  if (eq == std::string::npos || eq == 0) return Errorf("{}: expected NAME=VALUE, found '{}'", path, line);
  return SysctlStateFile{path, line.substr(0, eq), line.substr(eq + 1)};
}

Status RestoreSysctlStateFile(const SysctlStateFile& state) {
  const std::string path = SysctlProcPath(state.name);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return SysError(fmt::format("open {} to restore {}", path, state.name));
  ZCB_RETURN_IF_ERROR(WriteAll(fd.get(), state.value, fmt::format("restore {} to {}", state.name, state.value)));
  if (::unlink(state.path.c_str()) != 0) return SysError(fmt::format("remove {}", state.path));
  return OkStatus();
}

}  // namespace zcb
