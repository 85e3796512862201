#include "stack/types.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

namespace zcb {

std::string_view ToString(Protocol p) { return p == Protocol::kTcp ? "tcp" : "udp"; }

std::string_view ToString(SourceKind s) {
  switch (s) {
    case SourceKind::kMemory:
      return "memory";
    case SourceKind::kFile:
      return "file";
    case SourceKind::kGenerated:
      return "generated";
  }
  return "?";
}

std::string_view ToString(ReceiverMode m) {
  switch (m) {
    case ReceiverMode::kVerify:
      return "verify";
    case ReceiverMode::kRead:
      return "read";
    case ReceiverMode::kDiscard:
      return "discard";
    case ReceiverMode::kZeroCopy:
      return "zerocopy";
  }
  return "?";
}

const std::vector<SourceKind>& AllSourceKinds() {
  static const std::vector<SourceKind> all = {SourceKind::kMemory, SourceKind::kFile, SourceKind::kGenerated};
  return all;
}
const std::vector<Protocol>& AllProtocols() {
  static const std::vector<Protocol> all = {Protocol::kTcp, Protocol::kUdp};
  return all;
}
const std::vector<ReceiverMode>& AllReceiverModes() {
  static const std::vector<ReceiverMode> all = {ReceiverMode::kVerify, ReceiverMode::kRead, ReceiverMode::kDiscard,
                                                ReceiverMode::kZeroCopy};
  return all;
}

template <typename E>
static std::optional<E> ParseEnum(std::string_view s, const std::vector<E>& all) {
  for (E e : all) {
    if (ToString(e) == s) return e;
  }
  return std::nullopt;
}

std::optional<Protocol> ParseProtocol(std::string_view s) { return ParseEnum(s, AllProtocols()); }
std::optional<SourceKind> ParseSourceKind(std::string_view s) { return ParseEnum(s, AllSourceKinds()); }
std::optional<ReceiverMode> ParseReceiverMode(std::string_view s) { return ParseEnum(s, AllReceiverModes()); }

uint64_t DefaultMessageSize(Protocol p) { return p == Protocol::kUdp ? 1472 : 65536; }

static std::optional<uint64_t> ParseScaled(std::string_view s, double k) {
  if (s.empty()) return std::nullopt;
  std::string text(s);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || errno != 0 || !std::isfinite(value) || value < 0) return std::nullopt;
  std::string_view suffix(end);
  double scale = 1;
  if (suffix == "") scale = 1;
  else if (suffix == "K" || suffix == "k") scale = k;
  else if (suffix == "M" || suffix == "m") scale = k * k;
  else if (suffix == "G" || suffix == "g") scale = k * k * k;
  else if (suffix == "T" || suffix == "t") scale = k * k * k * k;
  else return std::nullopt;
  const double scaled = value * scale;
  if (scaled > 1.8e19 || scaled != std::floor(scaled)) return std::nullopt;
  return static_cast<uint64_t>(scaled);
}

std::optional<uint64_t> ParseSize(std::string_view s) { return ParseScaled(s, 1024.0); }
std::optional<uint64_t> ParseRate(std::string_view s) { return ParseScaled(s, 1000.0); }

std::string FormatSize(uint64_t bytes) {
  static const char* const kUnits[] = {"", "K", "M", "G", "T"};
  int unit = 0;
  uint64_t v = bytes;
  while (unit < 4 && v >= 1024 && v % 1024 == 0) {
    v /= 1024;
    ++unit;
  }
  return fmt::format("{}{}", v, kUnits[unit]);
}

}  // namespace zcb
