// Conformance over UDP: every registered UDP strategy, in every registered workload it can
// serve, from every payload source it can send there, delivers datagrams of the sizes its capabilities allow, and each
// one verifies on its own. The sizes come from the limits (stack/udp_limits.h): one datagram up to the UDP/IPv4 limit,
// and, for a strategy that hands the kernel a UDP_SEGMENT buffer, buffers at the segment-count and the per-call byte
// limits. A strategy that writes its own frames runs over the first registered path with a link layer (loopback has
// none, and refuses it as unsupported). A strategy or workload added to its registry is covered here without a line of
// test; what it cannot do here is decided by its capabilities and availability.

#include <unistd.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/network_path.h"
#include "stack/registry.h"
#include "stack/udp_limits.h"
#include "tests/trial_test_util.h"
#include "tests/udp_test_util.h"
#include "workloads/registry.h"

namespace zcb {
namespace {

// The option through which a strategy gives UDP_SEGMENT its segment size (0: off).
constexpr const char* kSegmentOption = "segment";

constexpr size_t kEthernetDatagram = 1500 - kIpv4UdpHeaders;  // 1472
constexpr size_t kJumboDatagram = 9000 - kIpv4UdpHeaders;     // 8972

// A frame written on a path with a link layer is one MTU at most, and no IP fragment: the
// test sets the path's MTU (the `mtu` option of a device path) so that the limit is known
// before the path exists.
constexpr size_t kLinkMtu = 1500;

// Those of `candidates` that are at most `limit`, once each.
std::vector<size_t> UpTo(size_t limit, std::initializer_list<size_t> candidates) {
  std::vector<size_t> sizes;
  for (size_t size : candidates) {
    if (size <= limit && std::find(sizes.begin(), sizes.end(), size) == sizes.end()) sizes.push_back(size);
  }
  return sizes;
}

// Datagrams: the smallest (shorter than the zcbench header), one Ethernet MTU, one jumbo
// frame, and the limit itself.
std::vector<size_t> DatagramSizes(size_t limit) { return UpTo(limit, {1, kEthernetDatagram, kJumboDatagram, limit}); }

// UDP_SEGMENT segments: 1 byte (the segment-count limit binds), one Ethernet MTU (the
// per-call byte limit binds, with a short last segment), and the largest the path takes.
std::vector<size_t> SegmentSizes(size_t limit) { return UpTo(limit, {1, kEthernetDatagram, limit}); }

const PathInfo* FirstPathWithALinkLayer() {
  for (const PathInfo& path : AllPaths()) {
    if (path.caps.has_link_layer && !path.caps.remote_receiver) return &path;
  }
  return nullptr;
}

bool HasSegmentOption(const StrategyInfo& info) {
  return std::any_of(info.options.begin(), info.options.end(),
                     [](const OptionSpec& o) { return o.name == kSegmentOption; });
}

// The segment size a trial with `options` runs at: the option's value, given or default
// (0, or no such option: one datagram per send).
size_t EffectiveSegment(const StrategyInfo& info, const std::map<std::string, std::string>& options) {
  if (!HasSegmentOption(info)) return 0;
  auto parsed = Options::Parse(info.options, options, "strategy " + info.name);
  return parsed.ok() ? parsed->GetSize(kSegmentOption) : 0;
}

struct UdpCase {
  std::string workload;
  std::string strategy;
  SourceKind source;
  std::string path;  // "loopback", or the first path with a link layer
  size_t size;       // bytes per send call (--size)
  std::map<std::string, std::string> options;
};

std::vector<UdpCase> AllUdpCases() {
  std::vector<UdpCase> cases;
  const PathInfo* link_path = FirstPathWithALinkLayer();
  for (const WorkloadInfo& workload : AllWorkloads()) {
    for (const auto& info : AllStrategies()) {
      if (!info.Speaks(Protocol::kUdp)) continue;
      // (With no such path in the registry, AFrameWriterIsUnsupportedWithoutALinkLayer covers it.)
      if (info.caps.needs_link_layer && link_path == nullptr) continue;
      const std::string path = info.caps.needs_link_layer ? link_path->name : "loopback";
      const size_t limit = info.caps.needs_link_layer ? kLinkMtu - kIpv4UdpHeaders : kMaxUdpPayloadIpv4;
      for (SourceKind source : info.caps.sources) {
        if (!workload.Serves(info, Protocol::kUdp, source)) continue;
        // Sends at the strategy's default options: one datagram each, or cut by its default segment.
        for (size_t size : DatagramSizes(limit)) cases.push_back({workload.name, info.name, source, path, size, {}});
        if (!HasSegmentOption(info)) continue;
        // UDP_SEGMENT buffers as large as the limits allow (the default segment ran above).
        for (size_t segment : SegmentSizes(limit)) {
          if (segment == EffectiveSegment(info, {})) continue;
          const size_t size = std::min(kMaxUdpPayloadIpv4, segment * MaxGsoSegments());
          cases.push_back({workload.name, info.name, source, path, size, {{kSegmentOption, std::to_string(segment)}}});
        }
      }
    }
  }
  return cases;
}

std::string UdpCaseName(const UdpCase& c) {
  std::string name = c.workload + "_" + c.strategy + "_" + std::string(ToString(c.source)) + "_" + c.path + "_" +
                     std::to_string(c.size);
  for (const auto& [k, v] : c.options) name += "_" + k + "_" + v;
  return name;
}

// What gtest prints for a case (a failure, `--gtest_list_tests`, ctest's test list).
void PrintTo(const UdpCase& c, std::ostream* os) { *os << UdpCaseName(c); }

// About 400 datagrams a trial (at most 40 of the largest size): enough to see loss,
// reordering and every payload phase, in well under a second.
uint64_t CallsFor(size_t size, uint64_t datagrams_per_call) {
  const uint64_t by_count = (400 + datagrams_per_call - 1) / datagrams_per_call;
  const uint64_t by_bytes = 40 * kMaxUdpPayloadIpv4 / size;
  return std::max<uint64_t>(2, std::min(by_count, by_bytes));
}

// Paced at 100,000 datagrams a second (400 Mbit/s at most), which a receiver on a busy
// 2-core machine keeps up with even for datagrams of a few bytes.
uint64_t RateFor(double mean_datagram_bytes) {
  return std::min<uint64_t>(400'000'000, static_cast<uint64_t>(mean_datagram_bytes * 8 * 100'000) + 8'000);
}

class UdpConformanceTest : public ::testing::TestWithParam<UdpCase> {};

TEST_P(UdpConformanceTest, DeliversVerifiedDatagrams) {
  const UdpCase& c = GetParam();
  auto info = FindStrategy(c.strategy);
  ASSERT_TRUE(info.ok());
  auto path = FindPath(c.path);
  ASSERT_TRUE(path.ok());
  const size_t segment = EffectiveSegment(**info, c.options);
  const uint64_t per_call = segment == 0 ? 1 : (c.size + segment - 1) / segment;
  const uint64_t calls = CallsFor(c.size, per_call);

  TrialSpec spec = testing::UdpSpec(c.strategy, c.size, calls, c.options);
  spec.workload = c.workload;
  spec.source = c.source;
  spec.path = c.path;
  spec.rate_bps = RateFor(static_cast<double>(c.size) / static_cast<double>(per_call));
  if ((*path)->caps.has_link_layer) spec.path_options = {{"mtu", std::to_string(kLinkMtu)}};
  if ((*path)->caps.needs_root && ::geteuid() != 0) {
    ZCB_SKIP_OR_FAIL_UNDER_CI("path " + c.path + " (for " + c.strategy + ", which needs a link layer) needs root");
  }
  nlohmann::json record = testing::RunOrFail(spec);
  if (!ProbeAvailability(**info).available) {
    EXPECT_EQ(record["status"], "unsupported");
    ZCB_SKIP_OR_FAIL_UNDER_CI(c.strategy + " is not available here: " + ProbeAvailability(**info).reason);
  }
  testing::ExpectBalancedAndVerified(record, calls * per_call);
  const auto& m = record["metrics"];
  EXPECT_EQ(record["params"]["source"], ToString(c.source));
  EXPECT_EQ(record["params"]["workload"], c.workload);
  EXPECT_EQ(m["bytes_sent"].get<uint64_t>(), calls * c.size);
  EXPECT_DOUBLE_EQ(m["udp"]["mean_datagram_bytes"].get<double>(),
                   static_cast<double>(c.size) / static_cast<double>(per_call));
  // At least one system call in all, at most one per send: batching strategies use fewer.
  const uint64_t send_calls = m["send_calls"];
  EXPECT_GE(send_calls, 1u);
  EXPECT_LE(send_calls, calls);
  // Strategies that lend buffers report every completion; the rest report none.
  ASSERT_EQ(m["zerocopy"].is_object(), (*info)->caps.reports_zerocopy) << m["zerocopy"].dump();
  if ((*info)->caps.reports_zerocopy) {
    const auto& zc = m["zerocopy"];
    // A completion covers one send: at least one per system call, at most one per datagram.
    const uint64_t completed = zc["completions"].get<uint64_t>() + zc["outstanding_at_end"].get<uint64_t>();
    EXPECT_GE(completed, send_calls) << zc.dump();
    EXPECT_LE(completed, calls * per_call) << zc.dump();
    EXPECT_EQ(zc["copied"].get<uint64_t>() + zc["zerocopy"].get<uint64_t>(), zc["completions"].get<uint64_t>());
    // On lo the kernel delivers in the sending call and copies every lent page then.
    if (!(*path)->caps.has_link_layer) {
      EXPECT_EQ(zc["zerocopy"].get<uint64_t>(), 0u) << zc.dump();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllUdpStrategies, UdpConformanceTest, ::testing::ValuesIn(AllUdpCases()),
                         [](const ::testing::TestParamInfo<UdpCase>& info) { return UdpCaseName(info.param); });

std::vector<std::string> UdpStrategies(bool with_segment_option_only) {
  std::vector<std::string> names;
  for (const auto& info : AllStrategies()) {
    if (!info.Speaks(Protocol::kUdp)) continue;
    if (!with_segment_option_only || HasSegmentOption(info)) names.push_back(info.name);
  }
  return names;
}

std::string NameOf(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

// The limits are errors that name them, for every strategy, before or as it starts.
class UdpLimitsConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(UdpLimitsConformanceTest, OneByteOverTheIpv4LimitIsAUsageErrorNamingIt) {
  const std::string over = std::to_string(kMaxUdpPayloadIpv4 + 1);
  testing::ExpectUsageErrorNaming(testing::UdpSpec(GetParam(), kMaxUdpPayloadIpv4 + 1, 1),
                                  {over, std::to_string(kMaxUdpPayloadIpv4)});
}

INSTANTIATE_TEST_SUITE_P(AllUdpStrategies, UdpLimitsConformanceTest, ::testing::ValuesIn(UdpStrategies(false)), NameOf);

// A strategy that writes its own frames is refused, as unsupported and saying why, on a
// path without a link layer (its datagrams are covered over a path with one, above).
TEST(UdpLinkLayerConformanceTest, AFrameWriterIsUnsupportedWithoutALinkLayer) {
  for (const auto& info : AllStrategies()) {
    if (!info.Speaks(Protocol::kUdp) || !info.caps.needs_link_layer) continue;
    SCOPED_TRACE(info.name);
    nlohmann::json record = testing::RunOrFail(testing::UdpSpec(info.name, kEthernetDatagram, 20));
    ASSERT_TRUE(record.is_object());
    ASSERT_EQ(record["status"], "unsupported") << record.dump();
    // Unavailable here, the probe's reason comes first (packet sockets need CAP_NET_RAW).
    const std::string why = ProbeAvailability(info).available ? "link layer" : ProbeAvailability(info).reason;
    EXPECT_NE(record["error"].get<std::string>().find(why), std::string::npos) << record["error"];
  }
}

class UdpSegmentLimitsConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(UdpSegmentLimitsConformanceTest, OneSegmentOverTheKernelsCountIsAnErrorNamingIt) {
  ZCB_SKIP_IF_UNAVAILABLE(GetParam());
  const size_t segments = MaxGsoSegments() + 1;
  testing::ExpectErrorNaming(testing::RunOrFail(testing::UdpSpec(GetParam(), segments, 1, {{kSegmentOption, "1"}})),
                             {"UDP_MAX_SEGMENTS", std::to_string(segments) + " segments"});
}

TEST_P(UdpSegmentLimitsConformanceTest, ASegmentOverThePathMtuIsAnErrorNamingIt) {
  ZCB_SKIP_IF_UNAVAILABLE(GetParam());
  // Loopback's route MTU (IP_MTU) is 65535: the largest segment is 65507.
  const std::string over = std::to_string(kMaxUdpPayloadIpv4 + 1);
  testing::ExpectErrorNaming(
      testing::RunOrFail(testing::UdpSpec(GetParam(), kMaxUdpPayloadIpv4, 1, {{kSegmentOption, over}})),
      {GetParam() + ": segment=" + over, "path MTU", std::to_string(kMaxUdpPayloadIpv4)});
}

INSTANTIATE_TEST_SUITE_P(UdpSegmentStrategies, UdpSegmentLimitsConformanceTest,
                         ::testing::ValuesIn(UdpStrategies(/*with_segment_option_only=*/true)), NameOf);

}  // namespace
}  // namespace zcb
