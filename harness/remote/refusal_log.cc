#include "harness/remote/refusal_log.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include <fmt/format.h>

#include "drivers/network_path.h"
#include "drivers/remote/host_port.h"

namespace zcb {
namespace {

// The addresses named in a suppression line; the rest are counted together.
constexpr size_t kHostsNamed = 4;

}  // namespace

const char* RefusalName(RefusalKind kind) {
  switch (kind) {
    case RefusalKind::kOverLimit:
      return "over_limit";
    case RefusalKind::kTimeout:
      return "timeout";
    case RefusalKind::kClosed:
      return "closed";
    case RefusalKind::kMalformed:
      return "malformed";
    case RefusalKind::kVersion:
      return "version";
    case RefusalKind::kWrongToken:
      return "wrong_token";
    case RefusalKind::kBusy:
      return "busy";
  }
  return "unknown";
}

RefusalLog::RefusalLog(std::function<void(const std::string&)> log, int lines_per_second)
    : log_(std::move(log)), lines_per_second_(lines_per_second) {}

void RefusalLog::Refused(RefusalKind kind, const sockaddr_storage& peer, const std::string& why,
                         Clock::time_point now) {
  ++counts_[static_cast<size_t>(kind)];
  Tick(now);
  if (lines_this_second_ < lines_per_second_) {
    ++lines_this_second_;
    log_(fmt::format("{}: refused ({}): {}", FormatSockaddr(peer), RefusalName(kind), why));
    return;
  }
  ++suppressed_by_host_[remote::FormatHost(peer)];
  ++suppressed_total_;
}

void RefusalLog::Tick(Clock::time_point now) {
  if (now - second_start_ < std::chrono::seconds(1)) return;
  if (!suppressed_by_host_.empty()) {
    std::vector<std::pair<std::string, uint64_t>> hosts(suppressed_by_host_.begin(), suppressed_by_host_.end());
    std::sort(hosts.begin(), hosts.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    const uint64_t total = std::accumulate(hosts.begin(), hosts.end(), uint64_t{0},
                                           [](uint64_t sum, const auto& host) { return sum + host.second; });
    std::string from;
    for (size_t i = 0; i < hosts.size() && i < kHostsNamed; ++i)
      from += fmt::format("{}{} from {}", i == 0 ? "" : ", ", hosts[i].second, hosts[i].first);
    if (hosts.size() > kHostsNamed) {
      uint64_t others = 0;
      for (size_t i = kHostsNamed; i < hosts.size(); ++i) others += hosts[i].second;
      from += fmt::format(", {} from {} other addresses", others, hosts.size() - kHostsNamed);
    }
    log_(fmt::format("suppressed {} refusals (over {} lines a second): {}", total, lines_per_second_, from));
    suppressed_by_host_.clear();
  }
  second_start_ = now;
  lines_this_second_ = 0;
}

uint64_t RefusalLog::total() const { return std::accumulate(counts_.begin(), counts_.end(), uint64_t{0}); }

std::string RefusalLog::Summary() const {
  if (total() == 0) return "none refused";
  std::string kinds;
  for (size_t i = 0; i < kRefusalKinds; ++i) {
    if (counts_[i] == 0) continue;
    kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", counts_[i], RefusalName(static_cast<RefusalKind>(i)));
  }
  return fmt::format("{} refused ({})", total(), kinds);
}

}  // namespace zcb
