#include "drivers/host_constraints.h"

#include <cstdlib>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "stack/types.h"

namespace zcb {

nlohmann::json HostConstraintSpec::ToJson() const {
  return {
      {"sender_cpu_quota", sender_cpu_quota ? nlohmann::json(*sender_cpu_quota) : nlohmann::json(nullptr)},
      {"membw_antagonist_cpus", membw_cpus},
      {"membw_antagonist_buffer_bytes",
       membw_cpus.empty() ? nlohmann::json(nullptr) : nlohmann::json(membw_buffer_bytes)},
      {"membw_limit_percent", membw_limit_percent ? nlohmann::json(*membw_limit_percent) : nlohmann::json(nullptr)},
  };
}

Status ValidateHostConstraints(const HostConstraintSpec& spec) {
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  if (spec.sender_cpu_quota) {
    const double q = *spec.sender_cpu_quota;
    if (!(q >= 0.01) || q > cpus) {
      return Usagef("--sender-cpu-quota {}: expected a share of one CPU from 1% to {}% (e.g. 20% or 0.2)", q,
                    cpus * 100);
    }
  }
  for (int cpu : spec.membw_cpus) {
    if (cpu < 0 || cpu >= cpus)
      return Usagef("--membw-antagonist: CPU {} does not exist (this machine has CPUs 0-{})", cpu, cpus - 1);
  }
  if (!spec.membw_cpus.empty() && spec.membw_buffer_bytes < (2u << 20)) {
    return Usagef("--membw-antagonist-size: at least 2M (larger than the caches, e.g. 64M)");
  }
  if (spec.membw_limit_percent && (*spec.membw_limit_percent < 1 || *spec.membw_limit_percent > 100)) {
    return Usagef("--membw-limit {}: expected a percentage of the memory bandwidth from 1 to 100",
                  *spec.membw_limit_percent);
  }
  return OkStatus();
}

std::optional<double> ParseCpuQuota(std::string_view text) {
  std::string s(text);
  bool percent = false;
  if (!s.empty() && s.back() == '%') {
    percent = true;
    s.pop_back();
  }
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == nullptr || *end != '\0' || !(v > 0)) return std::nullopt;
  return percent ? v / 100.0 : v;
}

std::optional<std::vector<int>> ParseCpuList(std::string_view text) {
  std::vector<int> cpus;
  std::string s(text);
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    const std::string item = s.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) return std::nullopt;
    const size_t dash = item.find('-');
    char* end = nullptr;
    const long first = std::strtol(item.c_str(), &end, 10);
    long last = first;
    if (dash != std::string::npos) {
      if (end != item.c_str() + dash) return std::nullopt;
      const char* after_dash = item.c_str() + dash + 1;
      last = std::strtol(after_dash, &end, 10);
      if (end == after_dash) return std::nullopt;  // "0-": a range needs its last CPU
    }
    if (*end != '\0' || first < 0 || last < first || last > 4096) return std::nullopt;
    for (long c = first; c <= last; ++c) cpus.push_back(static_cast<int>(c));
  }
  if (cpus.empty()) return std::nullopt;
  return cpus;
}

Result<std::unique_ptr<HostConstraints>> HostConstraints::Create(const HostConstraintSpec& spec) {
  ZCB_RETURN_IF_ERROR(ValidateHostConstraints(spec));
  auto constraints = std::make_unique<HostConstraints>();
  constraints->spec_ = spec;
  if (spec.sender_cpu_quota) {
    ZCB_ASSIGN_OR_RETURN(constraints->quota_, CpuQuota::Create(*spec.sender_cpu_quota));
  }
  if (!spec.membw_cpus.empty()) {
    ZCB_ASSIGN_OR_RETURN(constraints->antagonist_,
                         MemoryBandwidthAntagonist::Start(spec.membw_cpus, spec.membw_buffer_bytes));
  }
  // Last, so that the antagonist's threads stay outside the limited group.
  if (spec.membw_limit_percent) {
    auto mb = FindMemoryBandwidthAllocation(/*mount_if_needed=*/true);
    if (!mb.ok()) return std::move(mb).error().Context(fmt::format("--membw-limit {}%", *spec.membw_limit_percent));
    ZCB_ASSIGN_OR_RETURN(constraints->membw_limit_, ResctrlGroup::Create(*mb, *spec.membw_limit_percent));
  }
  return constraints;
}

Status HostConstraints::EnterSender() {
  if (quota_) ZCB_RETURN_IF_ERROR(quota_->AddCallingThread());
  return OkStatus();
}

void HostConstraints::Stop() {
  if (antagonist_) antagonist_->Stop();
}

nlohmann::json HostConstraints::Report() const {
  return {
      {"sender_cpu_quota", quota_ ? quota_->Report() : nlohmann::json(nullptr)},
      {"membw_antagonist", antagonist_ ? antagonist_->Report() : nlohmann::json(nullptr)},
      {"membw_limit", membw_limit_ ? membw_limit_->Report() : nlohmann::json(nullptr)},
  };
}

}  // namespace zcb
