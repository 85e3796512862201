#pragma once

// Small vocabulary types shared by strategies, receivers and the harness.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zcb {

enum class Protocol : uint8_t { kTcp = 1 << 0, kUdp = 1 << 1 };
enum class SourceKind : uint8_t { kMemory = 1 << 0, kFile = 1 << 1, kGenerated = 1 << 2 };
enum class ReceiverMode : uint8_t { kVerify, kRead, kDiscard, kZeroCopy };

std::string_view ToString(Protocol p);
std::string_view ToString(SourceKind s);
std::string_view ToString(ReceiverMode m);
std::optional<Protocol> ParseProtocol(std::string_view s);
std::optional<SourceKind> ParseSourceKind(std::string_view s);
std::optional<ReceiverMode> ParseReceiverMode(std::string_view s);

// The message size when none is given: 64 KiB per send for TCP (iperf3's default); for UDP
// 1472 bytes, the largest datagram that fits a 1500-byte Ethernet MTU without IP
// fragmentation (a 64 KiB datagram is over the UDP/IPv4 limit of 65507).
uint64_t DefaultMessageSize(Protocol p);

// All values of an enum in declaration order, for error messages that list them.
const std::vector<SourceKind>& AllSourceKinds();
const std::vector<Protocol>& AllProtocols();
const std::vector<ReceiverMode>& AllReceiverModes();

// A set of Protocol or SourceKind values.
template <typename E>
class EnumSet {
 public:
  constexpr EnumSet() = default;
  constexpr EnumSet(std::initializer_list<E> values) {
    for (E v : values) bits_ |= static_cast<uint32_t>(v);
  }
  constexpr bool Has(E v) const { return (bits_ & static_cast<uint32_t>(v)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }

 private:
  uint32_t bits_ = 0;
};

// "64K" -> 65536, "1M" -> 1048576, "1G" -> 2^30 (binary, like iperf3 -l), "1.5K" -> 1536.
// Returns nullopt for anything else.
std::optional<uint64_t> ParseSize(std::string_view s);
// "500M" -> 500e6 (decimal, like iperf3 -b): rates in bits per second.
std::optional<uint64_t> ParseRate(std::string_view s);
std::string FormatSize(uint64_t bytes);

}  // namespace zcb
