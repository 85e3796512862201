#include "harness/probes/resctrl_mbm.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace zcb {
namespace {

namespace fs = std::filesystem;

// mon_data/mon_L3_*/mbm_total_bytes of one group directory.
void AddGroupCounters(const fs::path& group, std::vector<std::string>& files) {
  std::error_code ec;
  for (const auto& domain : fs::directory_iterator(group / "mon_data", ec)) {
    const fs::path file = domain.path() / "mbm_total_bytes";
    if (domain.path().filename().string().rfind("mon_L3_", 0) == 0 && fs::exists(file)) files.push_back(file.string());
  }
}

}  // namespace

Result<ResctrlMbm> ResctrlMbm::Discover(const std::string& mounts) {
  std::ifstream in(mounts);
  std::string device, dir, type, rest;
  while (in >> device >> dir >> type && std::getline(in, rest)) {
    if (type == "resctrl") return AtRoot(dir);
  }
  return Errorf("resctrl is not mounted (mount -t resctrl resctrl /sys/fs/resctrl, on a CPU with RDT MBM or AMD PQoS)");
}

Result<ResctrlMbm> ResctrlMbm::AtRoot(const std::string& root) {
  std::ifstream features(fs::path(root) / "info" / "L3_MON" / "mon_features");
  if (!features) return Errorf("resctrl at {} has no L3 monitoring (info/L3_MON/mon_features)", root);
  std::string feature;
  bool total = false;
  while (std::getline(features, feature)) total |= feature == "mbm_total_bytes";
  if (!total) return Errorf("resctrl at {} does not monitor mbm_total_bytes (no MBM on this CPU)", root);
  ResctrlMbm mbm;
  mbm.root_ = root;
  // The root group, then every control group (directories with their own mon_data,
  // except info and mon_groups).
  AddGroupCounters(root, mbm.counter_files_);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name == "info" || name == "mon_groups" || name == "mon_data") continue;
    AddGroupCounters(entry.path(), mbm.counter_files_);
  }
  std::sort(mbm.counter_files_.begin(), mbm.counter_files_.end());
  if (mbm.counter_files_.empty()) return Errorf("resctrl at {} has no mon_data/mon_L3_*/mbm_total_bytes files", root);
  return mbm;
}

Result<uint64_t> ResctrlMbm::TotalBytes() const {
  uint64_t total = 0;
  for (const std::string& file : counter_files_) {
    std::ifstream in(file);
    std::string text;
    if (!in || !std::getline(in, text)) return Errorf("read {}", file);
    // The kernel writes "Unavailable" or "Error" when the counter cannot be read.
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
    if (end == text.c_str()) return Errorf("{}: {}", file, text);
    total += value;
  }
  return total;
}

}  // namespace zcb
