#include "drivers/resctrl.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "drivers/live_objects.h"

namespace zcb {
namespace {

constexpr const char* kAntagonistHint =
    "a memory-starved host can be emulated with the memory-bandwidth antagonist instead (--membw-antagonist CPUS, "
    "[matrix] membw_antagonist)";

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// One write() of `text`, as the resctrl files want (a task id per write).
Status WriteOnce(const std::string& path, const std::string& text, int flags) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | flags, 0644);
  if (fd < 0) return SysError("open " + path);
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return Error(err, fmt::format("write '{}' to {}", text.substr(0, text.find('\n')), path));
  }
  return OkStatus();
}

// The domain ids of the "MB:" line of a schemata file ("    MB:0=100;1=100").
std::optional<std::vector<int>> MbDomains(const std::string& schemata_file) {
  std::ifstream in(schemata_file);
  std::string line;
  while (std::getline(in, line)) {
    const size_t start = line.find_first_not_of(' ');
    if (start == std::string::npos || line.compare(start, 3, "MB:") != 0) continue;
    std::vector<int> domains;
    std::istringstream items(line.substr(start + 3));
    std::string item;
    while (std::getline(items, item, ';')) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos) return std::nullopt;
      domains.push_back(std::atoi(item.substr(0, eq).c_str()));
    }
    return domains;
  }
  return std::nullopt;
}

std::string MbLine(const std::string& schemata_file) {
  std::ifstream in(schemata_file);
  std::string line;
  while (std::getline(in, line)) {
    const size_t start = line.find_first_not_of(' ');
    if (start != std::string::npos && line.compare(start, 3, "MB:") == 0) return line.substr(start);
  }
  return "";
}

bool KernelHasResctrl() {
  std::ifstream in("/proc/filesystems");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() >= 7 && line.compare(line.size() - 7, 7, "resctrl") == 0) return true;
  }
  return false;
}

}  // namespace

std::optional<ResctrlMount> FindResctrlMount(const std::string& mounts) {
  std::ifstream in(mounts);
  std::string device, dir, type, options, rest;
  while (in >> device >> dir >> type >> options && std::getline(in, rest)) {
    if (type == "resctrl") return ResctrlMount{dir, options};
  }
  return std::nullopt;
}

Result<MemoryBandwidthAllocation> MemoryBandwidthAllocationAt(const std::string& root) {
  const std::string info = root + "/info/MB";
  struct stat st {};
  if (::stat(info.c_str(), &st) != 0) {
    return Unsupportedf(
        "resctrl at {} has no MB resource (no info/MB: the CPU or the VM offers no memory-bandwidth "
        "allocation); {}",
        root, kAntagonistHint);
  }
  MemoryBandwidthAllocation mb;
  mb.root = root;
  mb.min_percent = std::atoi(ReadFirstLine(info + "/min_bandwidth").c_str());
  mb.granularity_percent = std::atoi(ReadFirstLine(info + "/bandwidth_gran").c_str());
  mb.delay_linear = ReadFirstLine(info + "/delay_linear");
  auto domains = MbDomains(root + "/schemata");
  if (!domains || domains->empty()) {
    return Unsupportedf("resctrl at {} has info/MB but its schemata has no MB line; {}", root, kAntagonistHint);
  }
  mb.domains = *domains;
  return mb;
}

Result<MemoryBandwidthAllocation> FindMemoryBandwidthAllocation(bool mount_if_needed) {
  if (const auto mount = FindResctrlMount()) {
    // With mba_MBps the MB values are MB/s (the software controller), not percentages.
    if (mount->options.find("mba_MBps") != std::string::npos) {
      return Unsupportedf(
          "resctrl at {} is mounted with mba_MBps: its MB values are MB/s, not the percentages "
          "--membw-limit sets (remount without mba_MBps)",
          mount->dir);
    }
    return MemoryBandwidthAllocationAt(mount->dir);
  }
  if (!KernelHasResctrl()) {
    return Unsupportedf(
        "this kernel has no resctrl file system (not in /proc/filesystems: built without "
        "CONFIG_X86_CPU_RESCTRL, or a CPU without RDT/PQoS); {}",
        kAntagonistHint);
  }
  if (!mount_if_needed) {
    return Unsupportedf("resctrl is not mounted (mount -t resctrl resctrl {}, as root, then see info/MB)",
                        kResctrlMountPoint);
  }
  if (::mount("resctrl", kResctrlMountPoint, "resctrl", 0, nullptr) != 0 && errno != EBUSY) {
    const int err = errno;
    return Error(err, fmt::format("mount resctrl at {} (root needed)", kResctrlMountPoint), ErrorKind::kUnsupported);
  }
  ZCB_ASSIGN_OR_RETURN(MemoryBandwidthAllocation mb, MemoryBandwidthAllocationAt(kResctrlMountPoint));
  mb.mounted_here = true;
  return mb;
}

Result<std::unique_ptr<ResctrlGroup>> ResctrlGroup::Create(const MemoryBandwidthAllocation& mb, int percent) {
  if (percent < mb.min_percent || percent > 100) {
    return Unsupportedf(
        "--membw-limit {}%: this host's memory-bandwidth allocation takes {}% to 100% (info/MB/"
        "min_bandwidth)",
        percent, mb.min_percent);
  }
  std::unique_ptr<ResctrlGroup> group(new ResctrlGroup());
  group->mb_ = mb;
  group->percent_ = percent;
  ZCB_ASSIGN_OR_RETURN(const std::string id, NewObjectId());
  group->dir_ = fmt::format("{}/{}{}-membw", mb.root, kObjectPrefix, id);
  group->slot_ = RegisterLiveCgroup(group->dir_, "tasks", mb.root + "/tasks");
  if (::mkdir(group->dir_.c_str(), 0755) != 0) {
    const int err = errno;
    // ENOSPC: every closid is in use (the hardware has a few, often 8 or 16).
    return Error(err, "create resctrl group " + group->dir_);
  }
  std::vector<std::string> items;
  for (int domain : mb.domains) items.push_back(fmt::format("{}={}", domain, percent));
  group->schemata_written_ = fmt::format("MB:{}\n", fmt::join(items, ";"));
  if (Status s = WriteOnce(group->dir_ + "/schemata", group->schemata_written_, O_CREAT | O_TRUNC); !s.ok()) {
    // The kernel says why it refused a schemata line in info/last_cmd_status.
    const std::string why = ReadFirstLine(mb.root + "/info/last_cmd_status");
    return why.empty() ? std::move(s).error() : std::move(s).error().Context(why);
  }
  group->schemata_applied_ = MbLine(group->dir_ + "/schemata");
  ZCB_RETURN_IF_ERROR(group->AddThread(static_cast<pid_t>(::syscall(SYS_gettid))));
  return group;
}

ResctrlGroup::~ResctrlGroup() {
  if (slot_ < 0) return;
  // Its tasks go back to the root group, then the group goes.
  RemoveCgroupDir(dir_.c_str(), "tasks", (mb_.root + "/tasks").c_str());
  ReleaseLiveSlot(slot_);
}

Status ResctrlGroup::AddThread(pid_t tid) {
  ZCB_RETURN_IF_ERROR(WriteOnce(dir_ + "/tasks", std::to_string(tid) + "\n", O_CREAT | O_APPEND));
  threads_.push_back(tid);
  return OkStatus();
}

nlohmann::json ResctrlGroup::Report() const {
  return {
      {"method", "resctrl memory-bandwidth allocation (MB schemata)"},
      {"root", mb_.root},
      {"mounted_by_zcbench", mb_.mounted_here},
      {"group", dir_},
      {"percent", percent_},
      {"min_percent", mb_.min_percent},
      {"granularity_percent", mb_.granularity_percent},
      {"delay_linear", mb_.delay_linear},
      {"schemata_written", schemata_written_.substr(0, schemata_written_.find('\n'))},
      {"schemata_applied", schemata_applied_},
      {"threads", threads_},
      {"threads_note",
       "the trial's controlling thread; the sender, receiver and sibling threads it starts afterwards "
       "inherit the group"},
  };
}

}  // namespace zcb
