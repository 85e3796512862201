#include "drivers/cpu_quota.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "drivers/live_objects.h"

namespace zcb {
namespace {

Status WriteFile(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return SysError("open " + path);
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) return Error(err, fmt::format("write '{}' to {}", value, path));
  return OkStatus();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

bool HasWord(const std::string& list, const std::string& word, char sep) {
  for (const auto& w : Split(list, sep)) {
    std::string t = w;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    if (t == word) return true;
  }
  return false;
}

// The hierarchy-relative cgroup of the calling thread for `version` (v1: the line that
// lists the cpu controller; v2: the "0::" line), mapped under the mount's root.
Result<std::string> ThreadCgroupDir(const CpuControllerMount& mount, const std::string& mount_root) {
  std::ifstream in("/proc/thread-self/cgroup");
  if (!in) return SysError("open /proc/thread-self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const bool match =
        mount.version == 2 ? line.substr(0, a) == "0" && controllers.empty() : HasWord(controllers, "cpu", ',');
    if (!match) continue;
    std::string rel = line.substr(b + 1);
    if (mount_root != "/" && rel.rfind(mount_root, 0) == 0) rel = rel.substr(mount_root.size());
    if (rel == "/") rel.clear();
    return mount.mount_point + rel;
  }
  return Errorf("/proc/thread-self/cgroup has no entry for the cgroup v{} cpu hierarchy", mount.version);
}

struct MountEntry {
  std::string root, mount_point, fstype, super_options;
};

std::vector<MountEntry> CgroupMounts() {
  std::vector<MountEntry> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    const auto left = Split(line.substr(0, dash), ' ');
    const auto right = Split(line.substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3) continue;
    if (right[0] != "cgroup" && right[0] != "cgroup2") continue;
    mounts.push_back({left[3], left[4], right[0], right[2]});
  }
  return mounts;
}

std::string MountRootOf(const CpuControllerMount& mount) {
  for (const auto& m : CgroupMounts()) {
    if (m.mount_point == mount.mount_point) return m.root;
  }
  return "/";
}

nlohmann::json ReadCpuStat(const std::string& dir) {
  nlohmann::json stat = nlohmann::json::object();
  std::istringstream in(ReadFile(dir + "/cpu.stat"));
  std::string key;
  uint64_t value;
  while (in >> key >> value) stat[key] = value;
  return stat;
}

}  // namespace

Result<CpuControllerMount> FindCpuController() {
  CpuControllerMount v1;
  for (const auto& m : CgroupMounts()) {
    if (m.fstype == "cgroup2") {
      if (HasWord(ReadFile(m.mount_point + "/cgroup.controllers"), "cpu", ' '))
        return CpuControllerMount{2, m.mount_point};
    } else if (v1.version == 0 && HasWord(m.super_options, "cpu", ',')) {
      v1 = {1, m.mount_point};
    }
  }
  if (v1.version == 1) return v1;
  return Errorf(
      "no cgroup hierarchy with the cpu controller is mounted (neither cgroup v2 with 'cpu' in "
      "cgroup.controllers nor a cgroup v1 'cpu' mount): a sender CPU quota cannot be applied here");
}

Result<std::unique_ptr<CpuQuota>> CpuQuota::Create(double fraction) {
  if (!(fraction > 0) || !std::isfinite(fraction))
    return Errorf("sender CPU quota {}: expected a positive fraction of one CPU", fraction);
  std::unique_ptr<CpuQuota> quota(new CpuQuota());
  ZCB_ASSIGN_OR_RETURN(quota->mount_, FindCpuController());
  quota->fraction_ = fraction;
  quota->quota_us_ = static_cast<uint64_t>(std::llround(fraction * static_cast<double>(quota->period_us_)));
  if (quota->quota_us_ < 1000)
    return Errorf("sender CPU quota {}: below the kernel's minimum of 1% (1 ms per 100 ms period)", fraction);
  ZCB_ASSIGN_OR_RETURN(quota->home_, ThreadCgroupDir(quota->mount_, MountRootOf(quota->mount_)));
  if (::access(quota->home_.c_str(), W_OK) != 0) {
    return Errorf(
        "a sender CPU quota needs write access to the cgroup {} (run as root, or delegate that cgroup to this user)",
        quota->home_);
  }
  ZCB_ASSIGN_OR_RETURN(const std::string id, NewObjectId());
  Status set_up = quota->mount_.version == 2 ? quota->SetUpV2(id) : quota->SetUpV1(id);
  if (!set_up.ok()) return std::move(set_up).error().Context("sender CPU quota");
  return quota;
}

Status CpuQuota::SetUpV1(const std::string& id) {
  limited_ = fmt::format("{}/{}{}-sender", home_, kObjectPrefix, id);
  limited_slot_ = RegisterLiveCgroup(limited_, "tasks", home_ + "/tasks");
  if (::mkdir(limited_.c_str(), 0755) != 0) return SysError("create cgroup " + limited_);
  ZCB_RETURN_IF_ERROR(WriteFile(limited_ + "/cpu.cfs_period_us", std::to_string(period_us_)));
  ZCB_RETURN_IF_ERROR(WriteFile(limited_ + "/cpu.cfs_quota_us", std::to_string(quota_us_)));
  return OkStatus();
}

Status CpuQuota::SetUpV2(const std::string& id) {
  domain_ = fmt::format("{}/{}{}", home_, kObjectPrefix, id);
  limited_ = domain_ + "/sender";
  domain_slot_ = RegisterLiveCgroup(domain_, "cgroup.procs", home_ + "/cgroup.procs");
  if (::mkdir(domain_.c_str(), 0755) != 0) return SysError("create cgroup " + domain_);
  // Threads move only within a threaded subtree: the whole process goes into a domain of
  // its own first, which also empties `home_` of this process so that its cpu
  // controller can be enabled (the no-internal-process rule).
  ZCB_RETURN_IF_ERROR(WriteFile(domain_ + "/cgroup.procs", std::to_string(::getpid())));
  if (!HasWord(ReadFile(home_ + "/cgroup.subtree_control"), "cpu", ' ')) {
    if (auto s = WriteFile(home_ + "/cgroup.subtree_control", "+cpu"); !s.ok()) {
      return std::move(s).error().Context(fmt::format(
          "enable the cpu controller under {} (it fails while other processes share that cgroup: run zcbench in a "
          "cgroup of its own, e.g. systemd-run --scope -p Delegate=yes)",
          home_));
    }
    enabled_cpu_in_home_ = true;
  }
  limited_slot_ = RegisterLiveCgroup(limited_, "cgroup.threads", domain_ + "/cgroup.threads");
  if (::mkdir(limited_.c_str(), 0755) != 0) return SysError("create cgroup " + limited_);
  ZCB_RETURN_IF_ERROR(WriteFile(limited_ + "/cgroup.type", "threaded"));
  ZCB_RETURN_IF_ERROR(WriteFile(domain_ + "/cgroup.subtree_control", "+cpu"));
  ZCB_RETURN_IF_ERROR(WriteFile(limited_ + "/cpu.max", fmt::format("{} {}", quota_us_, period_us_)));
  return OkStatus();
}

CpuQuota::~CpuQuota() {
  if (!limited_.empty()) {
    const bool v2 = mount_.version == 2;
    RemoveCgroupDir(limited_.c_str(), v2 ? "cgroup.threads" : "tasks",
                    (v2 ? domain_ + "/cgroup.threads" : home_ + "/tasks").c_str());
    ReleaseLiveSlot(limited_slot_);
  }
  if (!domain_.empty()) {
    // The process can go home only once `home_` has no controller enabled for its
    // children again (the no-internal-process rule), innermost first.
    (void)WriteFile(domain_ + "/cgroup.subtree_control", "-cpu");
    if (enabled_cpu_in_home_) (void)WriteFile(home_ + "/cgroup.subtree_control", "-cpu");
    RemoveCgroupDir(domain_.c_str(), "cgroup.procs", (home_ + "/cgroup.procs").c_str());
    ReleaseLiveSlot(domain_slot_);
  }
}

Status CpuQuota::AddCallingThread() {
  const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  const std::string file = limited_ + (mount_.version == 2 ? "/cgroup.threads" : "/tasks");
  ZCB_RETURN_IF_ERROR(WriteFile(file, std::to_string(tid)));
  const std::lock_guard<std::mutex> lock(threads_mutex_);
  threads_.push_back(tid);
  return OkStatus();
}

nlohmann::json CpuQuota::Report() const {
  const std::lock_guard<std::mutex> lock(threads_mutex_);
  return {
      {"cgroup_version", mount_.version},
      {"cgroup", limited_},
      {"interface", mount_.version == 2 ? "cpu.max" : "cpu.cfs_quota_us/cpu.cfs_period_us"},
      {"fraction", fraction_},
      {"quota_us", quota_us_},
      {"period_us", period_us_},
      {"threads", threads_},
      {"cpu_stat", ReadCpuStat(limited_)},
  };
}

}  // namespace zcb
