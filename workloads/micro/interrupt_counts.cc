#include "workloads/micro/interrupt_counts.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace zcb::micro {

std::optional<uint64_t> InterruptTotalIn(std::string_view text, std::string_view row) {
  // Rows look like "TLB:   180061    4355030   TLB shootdowns": the name, a colon, one
  // count per CPU, then a description that starts with a non-digit.
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    size_t first = line.find_first_not_of(' ');
    size_t colon = line.find(':');
    if (first == std::string_view::npos || colon == std::string_view::npos || colon < first) continue;
    if (line.substr(first, colon - first) != row) continue;
    uint64_t total = 0;
    std::string_view rest = line.substr(colon + 1);
    while (true) {
      size_t digit = rest.find_first_not_of(' ');
      if (digit == std::string_view::npos) break;
      rest = rest.substr(digit);
      uint64_t count = 0;
      auto [next, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), count);
      if (ec != std::errc()) break;  // the description
      total += count;
      rest = rest.substr(static_cast<size_t>(next - rest.data()));
    }
    return total;
  }
  return std::nullopt;
}

std::optional<uint64_t> InterruptTotal(std::string_view row) {
  std::ifstream file("/proc/interrupts");
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  return InterruptTotalIn(text.str(), row);
}

}  // namespace zcb::micro
