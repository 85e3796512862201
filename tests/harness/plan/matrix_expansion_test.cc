// Matrix expansion: counts with [[exclude]] rules and capability filtering, and the list
// of what was left out and why.

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "harness/peers/peer_registry.h"
#include "harness/plan/matrix.h"
#include "harness/plan/parameters.h"
#include "harness/plan/run_plan.h"
#include "harness/trial/trial_record.h"
#include "tests/spec_test_catalog.h"

namespace zcb {
namespace {

using testing::TestCatalog;

Matrix Expand(const std::string& text) {
  auto spec = ParseSpec(text, "m.toml", TestCatalog());
  EXPECT_TRUE(spec.ok()) << spec.error().what();
  if (!spec.ok()) return {};
  return ExpandMatrix(*spec, TestCatalog());
}

size_t LeftOutPoints(const Matrix& m) {
  size_t n = 0;
  for (const auto& l : m.left_out) n += l.points;
  return n;
}

size_t Count(const Matrix& m, const std::string& coord, const std::string& value) {
  return static_cast<size_t>(std::count_if(m.points.begin(), m.points.end(), [&](const MatrixPoint& p) {
    auto it = p.coords.find(coord);
    return it != p.coords.end() && it->second == value;
  }));
}

TEST(MatrixExpansion, FullProductWhenEveryCombinationIsServable) {
  Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem", "dual"]
message_size = ["4K", "64K", "1M"]
path = ["lo", "dev"]
receiver = ["verify", "discard"]
)");
  EXPECT_EQ(m.points.size(), 2u * 3 * 2 * 2);
  EXPECT_TRUE(m.left_out.empty());
  EXPECT_TRUE(m.excluded.empty());
  // The first axis varies slowest.
  EXPECT_EQ(m.points.front().spec.strategy, "tcp_mem");
  EXPECT_EQ(m.points.back().spec.strategy, "dual");
  EXPECT_EQ(m.points.front().spec.message_size, 4096u);
  EXPECT_EQ(m.points.front().label, "tcp tcp_mem memory 4K lo verify");
}

TEST(MatrixExpansion, ProtocolsAStrategyDoesNotSpeakAreLeftOutAndListed) {
  Matrix m = Expand(R"([matrix]
protocol = ["tcp", "udp"]
strategy = ["tcp_mem", "udp_only", "dual"]
message_size = ["4K", "32K"]  # sizes a UDP send can carry
path = ["lo"]
)");
  // tcp: tcp_mem, dual; udp: udp_only, dual; two sizes each.
  EXPECT_EQ(m.points.size(), 8u);
  EXPECT_EQ(Count(m, "protocol", "udp"), 4u);
  ASSERT_EQ(m.left_out.size(), 2u);
  EXPECT_EQ(m.left_out[0].combination, "protocol=tcp strategy=udp_only");
  EXPECT_EQ(m.left_out[0].reason, "udp_only does not speak tcp (it speaks udp)");
  EXPECT_EQ(m.left_out[0].points, 2u);
  EXPECT_EQ(m.left_out[1].combination, "protocol=udp strategy=tcp_mem");
  EXPECT_EQ(m.left_out[1].points, 2u);
  EXPECT_EQ(m.points.size() + LeftOutPoints(m), 2u * 3 * 2);
}

TEST(MatrixExpansion, ProtocolsAWorkloadDoesNotRunOverAreLeftOutAndListed) {
  Matrix m = Expand(R"([matrix]
protocol = ["tcp", "udp"]
strategy = ["dual"]
workload = ["bulk", "exchange"]
path = ["lo"]
)");
  // bulk over both protocols, exchange over TCP only.
  EXPECT_EQ(m.points.size(), 3u);
  ASSERT_EQ(m.left_out.size(), 1u);
  EXPECT_EQ(m.left_out[0].combination, "protocol=udp workload=exchange");
  EXPECT_EQ(m.left_out[0].reason, "workload exchange runs over tcp only");
  EXPECT_EQ(m.left_out[0].points, 1u);
}

TEST(MatrixExpansion, WithoutASizeAxisEachProtocolUsesItsDefaultSize) {
  Matrix m = Expand(R"([matrix]
protocol = ["tcp", "udp"]
strategy = ["dual"]
path = ["lo"]
)");
  ASSERT_EQ(m.points.size(), 2u);
  for (const auto& p : m.points) {
    EXPECT_EQ(p.spec.message_size, DefaultMessageSize(p.spec.protocol)) << p.label;
  }
  EXPECT_EQ(m.points.back().spec.message_size, 1472u);
}

TEST(MatrixExpansion, UdpSizesOverTheDatagramLimitAreLeftOutAndListed) {
  Matrix m = Expand(R"([matrix]
protocol = ["tcp", "udp"]
strategy = ["dual"]
message_size = ["4K", "64K", "1M"]
path = ["lo"]
)");
  EXPECT_EQ(Count(m, "protocol", "tcp"), 3u);
  EXPECT_EQ(Count(m, "protocol", "udp"), 1u);  // 4K only
  EXPECT_EQ(LeftOutPoints(m), 2u);
  ASSERT_EQ(m.left_out.size(), 2u);
  EXPECT_NE(m.left_out[0].reason.find("at most 65507 bytes"), std::string::npos) << m.left_out[0].reason;
}

TEST(MatrixExpansion, SourcesAStrategyCannotSendAreLeftOut) {
  Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem", "tcp_file", "dual"]
source = ["memory", "file", "generated"]
path = ["lo"]
)");
  // tcp_mem: memory; tcp_file: file; dual: memory, generated.
  EXPECT_EQ(m.points.size(), 4u);
  EXPECT_EQ(LeftOutPoints(m), 5u);
  const auto it = std::find_if(m.left_out.begin(), m.left_out.end(),
                               [](const LeftOut& l) { return l.combination == "strategy=tcp_mem source=file"; });
  ASSERT_NE(it, m.left_out.end());
  EXPECT_EQ(it->reason, "strategy tcp_mem cannot send from a file source; it sends from: memory");
}

TEST(MatrixExpansion, WithoutASourceAxisEachStrategyUsesItsFirstSource) {
  Matrix m = Expand("[matrix]\nstrategy = [\"tcp_mem\", \"tcp_file\"]\npath = [\"lo\"]\n");
  ASSERT_EQ(m.points.size(), 2u);
  EXPECT_EQ(m.points[0].spec.source, SourceKind::kMemory);
  EXPECT_EQ(m.points[1].spec.source, SourceKind::kFile);
  EXPECT_TRUE(m.left_out.empty());
}

TEST(MatrixExpansion, ExcludeRulesRemoveMatchingPointsAndAreListed) {
  Matrix m = Expand(R"([matrix]
protocol = ["tcp", "udp"]
strategy = ["tcp_mem", "udp_only", "dual"]
message_size = ["4K", "32K", "60K"]  # sizes a UDP send can carry
path = ["lo", "dev"]

[[exclude]]
strategy = "dual"
message_size = ["4K", "60K"]
reason = "only 32K for dual"

[[exclude]]
protocol = "udp"
path = "dev"
)");
  // Servable before excludes: tcp (tcp_mem, dual) and udp (udp_only, dual): 4 x 3 sizes x 2 paths = 24.
  // Rule 1: dual at 4K and 60K, both protocols, both paths: 2 x 2 x 2 = 8.
  // Rule 2: udp over dev: udp_only 3 sizes + dual 32K (its 4K and 60K went to rule 1) = 4.
  EXPECT_EQ(m.points.size(), 24u - 8 - 4);
  EXPECT_EQ(m.excluded.size(), 12u);
  EXPECT_EQ(LeftOutPoints(m), 2u * 3 * 2);  // tcp/udp_only and udp/tcp_mem
  EXPECT_EQ(m.excluded[0].rule_line, 7);
  EXPECT_EQ(m.excluded[0].reason, "only 32K for dual");
  EXPECT_EQ(Count(m, "path", "dev"), 4u);  // tcp_mem x3 + dual 32K, tcp only
  EXPECT_TRUE(m.notes.empty());
}

TEST(MatrixExpansion, AnExcludeRuleThatMatchesNothingIsNoted) {
  Matrix m = Expand(R"([matrix]
protocol = ["tcp"]
strategy = ["tcp_mem", "udp_only"]
path = ["lo"]

[[exclude]]
strategy = "udp_only"
)");
  EXPECT_EQ(m.points.size(), 1u);
  ASSERT_EQ(m.notes.size(), 1u);
  EXPECT_NE(m.notes[0].find("m.toml:6: the [[exclude]] rule here matched no point"), std::string::npos) << m.notes[0];
}

TEST(MatrixExpansion, OptionAxesVaryOnlyTheStrategiesThatDeclareThem) {
  Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem", "tcp_file", "dual"]
message_size = ["4K", "64K"]
path = ["lo"]

[matrix.strategy_options]
header = ["none", "cork", "more"]
batch = [1, 8]
)");
  // tcp_mem: 2 sizes; tcp_file: 2 sizes x 3 headers; dual: 2 sizes x 2 batches.
  EXPECT_EQ(m.points.size(), 2u + 6 + 4);
  EXPECT_EQ(Count(m, "strategy_options.header", "cork"), 2u);
  EXPECT_EQ(Count(m, "strategy_options.batch", "8"), 2u);
  for (const auto& p : m.points) {
    if (p.spec.strategy == "tcp_mem") {
      EXPECT_TRUE(p.spec.options.empty());
    }
    if (p.spec.strategy == "tcp_file") {
      EXPECT_EQ(p.spec.options.count("header"), 1u);
    }
  }
  ASSERT_EQ(m.notes.size(), 2u);
  const std::string notes = m.notes[0] + "\n" + m.notes[1];
  EXPECT_NE(
      notes.find("matrix.strategy_options.header varies for tcp_file only; tcp_mem, dual run with their defaults"),
      std::string::npos)
      << notes;
  EXPECT_NE(notes.find("matrix.strategy_options.batch varies for dual only"), std::string::npos) << notes;
}

// [matrix.socket_options]: one axis per option, each value a point with a key of its own;
// a TCP option varies the TCP points only.
TEST(MatrixExpansion, SocketOptionAxesMakeDistinctPoints) {
  Matrix m = Expand(R"([matrix]
protocol = ["tcp", "udp"]
strategy = ["dual"]
path = ["lo"]

[matrix.socket_options]
nodelay = [true, false]
sndbuf = ["1M"]
)");
  // tcp: 2 nodelay values x 1 sndbuf; udp: sndbuf only.
  ASSERT_EQ(m.points.size(), 3u);
  std::set<std::string> keys;
  for (const auto& p : m.points) {
    keys.insert(PointKey(p.spec));
    EXPECT_EQ(p.spec.socket_options.at("sndbuf"), "1048576") << p.label;
    EXPECT_EQ(p.spec.socket_options.count("nodelay"), p.spec.protocol == Protocol::kTcp ? 1u : 0u) << p.label;
  }
  EXPECT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys.count("tcp/dual/lo/bulk/memory/65536/verify,sock.nodelay=true,sock.sndbuf=1048576"), 1u)
      << fmt::format("{}", fmt::join(keys, " "));
  EXPECT_EQ(keys.count("udp/dual/lo/bulk/memory/1472/verify,sock.sndbuf=1048576"), 1u)
      << fmt::format("{}", fmt::join(keys, " "));
  EXPECT_EQ(Count(m, "socket_options.nodelay", "true"), 1u);
  EXPECT_EQ(Count(m, "socket_options.nodelay", "false"), 1u);
  for (const auto& p : m.points) {
    if (p.spec.protocol == Protocol::kTcp) {
      EXPECT_NE(p.label.find(fmt::format("nodelay={}", p.spec.socket_options.at("nodelay"))), std::string::npos)
          << p.label;
    }
  }
}

TEST(MatrixExpansion, PathDefinitionsAndPathOptionAxes) {
  Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem"]
path = ["lo", "dev", "dev_nosg"]

[matrix.path_options]
sg = ["on", "keep"]

[path.dev_nosg]
type = "dev"

[[exclude]]
path = "dev_nosg"
path_options.sg = "keep"
)");
  // lo has no sg option: 1; dev: 2; dev_nosg: 2 minus the excluded one.
  EXPECT_EQ(m.points.size(), 4u);
  EXPECT_EQ(m.excluded.size(), 1u);
  for (const auto& p : m.points) {
    if (p.path_name == "dev_nosg") {
      EXPECT_EQ(p.spec.path, "dev");
      EXPECT_EQ(p.spec.path_options.at("sg"), "on");
    }
    if (p.path_name == "lo") {
      EXPECT_TRUE(p.spec.path_options.empty());
    }
  }
}

TEST(MatrixExpansion, WorkloadOptionAxesVaryOnlyTheWorkloadsThatDeclareThem) {
  Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem"]
workload = ["bulk", "files"]
path = ["lo"]

[matrix.workload_options]
count = [1, 4]

[[exclude]]
workload_options.count = 4
reason = "four files do not fit"
)");
  // bulk: 1 point; files: 2 counts, minus the excluded one.
  ASSERT_EQ(m.points.size(), 2u);
  EXPECT_EQ(m.excluded.size(), 1u);
  for (const auto& p : m.points) {
    if (p.spec.workload == "bulk") {
      EXPECT_TRUE(p.spec.workload_options.empty());
      EXPECT_EQ(PointKey(p.spec), "tcp/tcp_mem/lo/bulk/memory/65536/verify");
    } else {
      EXPECT_EQ(p.spec.workload_options, (std::map<std::string, std::string>{{"count", "1"}}));
      EXPECT_EQ(p.coords.at("workload_options.count"), "1");
      EXPECT_EQ(PointKey(p.spec), "tcp/tcp_mem/lo/files/memory/65536/verify,workload.count=1");
      EXPECT_NE(p.label.find("count=1"), std::string::npos) << p.label;
    }
  }
}

TEST(MatrixExpansion, AColdCacheIsLeftOutForNonFileSources) {
  Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem", "tcp_file"]
path = ["lo"]
cache = ["warm", "cold"]

[trial]
file_dir = "spool"
)");
  EXPECT_EQ(m.points.size(), 3u);  // tcp_mem warm, tcp_file warm and cold
  ASSERT_EQ(m.left_out.size(), 1u);
  EXPECT_EQ(m.left_out[0].combination, "source=memory cache=cold");
}

TEST(MatrixExpansion, TrialSettingsReachEveryPoint) {
  Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem"]
path = ["lo"]
rate = ["1G"]

[trial]
bytes = "8M"
pin = false
receive_timeout = "3s"
)");
  ASSERT_EQ(m.points.size(), 1u);
  const TrialSpec& s = m.points[0].spec;
  EXPECT_EQ(s.bytes, 8u << 20);
  EXPECT_FALSE(s.duration_s.has_value());
  EXPECT_FALSE(s.sender_cpu.has_value());
  EXPECT_FALSE(s.receiver_cpu.has_value());
  EXPECT_DOUBLE_EQ(s.receive_timeout_s, 3);
  EXPECT_EQ(s.rate_bps, 1000000000u);
  EXPECT_NE(m.points[0].label.find("rate=1000000000"), std::string::npos);
}

// Every [trial] setting that is a field of each trial reaches it through the table (no
// hand-written copy): a spec that gives each its non-default value finds it on the point.
TEST(MatrixExpansion, EveryPerTrialSettingReachesThePointThroughTheTable) {
  const std::map<std::string, std::string> values = {{"receive_timeout", "\"3s\""},
                                                     {"pattern_period", "\"512K\""},
                                                     {"working_set", "\"1M\""},
                                                     {"file_dir", "\"/var/tmp\""},
                                                     {"peer_dir", "\"/opt/peers\""},
                                                     {"membw_antagonist_size", "\"8M\""},
                                                     {"drain", "\"2s\""},
                                                     {"udp_gro", "true"},
                                                     {"rcvlowat", "\"64K\""},
                                                     {"receiver_stall_after", "\"256K\""},
                                                     {"optmem_max", "\"256K\""},
                                                     {"sibling_mode", "\"sleep\""},
                                                     {"stream_cpus", "\"same\""}};
  std::string text = "[matrix]\nstrategy = [\"udp_only\"]\nprotocol = [\"udp\"]\npath = [\"lo\"]\n\n[trial]\n";
  size_t per_trial = 0;
  for (const Parameter* p : ParametersIn(SpecSection::kTrial)) {
    if (p->apply == nullptr) continue;
    ++per_trial;
    ASSERT_EQ(values.count(std::string(p->key)), 1u) << p->key << ": give this test a value for it";
    text += fmt::format("{} = {}\n", p->key, values.at(std::string(p->key)));
  }
  EXPECT_EQ(per_trial, values.size());
  Matrix m = Expand(text);
  ASSERT_EQ(m.points.size(), 1u);
  const TrialSpec& s = m.points[0].spec;
  EXPECT_DOUBLE_EQ(s.receive_timeout_s, 3);
  EXPECT_EQ(s.pattern_period, 512u << 10);
  EXPECT_EQ(s.working_set, 1u << 20);
  EXPECT_EQ(s.file_dir, "/var/tmp");
  EXPECT_EQ(s.peer_dir, "/opt/peers");
  EXPECT_EQ(s.constraints.membw_buffer_bytes, 8u << 20);
  EXPECT_DOUBLE_EQ(s.drain_s, 2);
  EXPECT_TRUE(s.gro);
  EXPECT_FALSE(s.rcvlowat.has_value());              // a TCP receiver's setting: this point is UDP
  EXPECT_FALSE(s.receiver_stall_after.has_value());  // the same
  EXPECT_EQ(s.optmem_max, 256u << 10);
  EXPECT_EQ(s.sibling_mode, SiblingMode::kSleep);
  EXPECT_EQ(s.stream_cpus, StreamCpus::kSame);
}

// The siblings axis takes any count a spec may ask for, 64 included (a host with fewer
// CPUs records such a point unsupported when it runs), and the memory-bandwidth limit
// axis its percentages; both name the point.
TEST(MatrixExpansion, SiblingAndMemoryLimitAxes) {
  Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem"]
path = ["lo"]
siblings = [0, 1, 64]
membw_limit = ["none", "40%"]
)");
  ASSERT_EQ(m.points.size(), 6u);
  std::set<int> counts;
  std::set<std::string> keys;
  for (const auto& p : m.points) {
    counts.insert(p.spec.siblings);
    keys.insert(PointKey(p.spec));
    EXPECT_EQ(p.spec.sibling_mode, SiblingMode::kSpin);
  }
  EXPECT_EQ(counts, (std::set<int>{0, 1, 64}));
  EXPECT_EQ(keys.size(), 6u);
  EXPECT_EQ(keys.count("tcp/tcp_mem/lo/bulk/memory/65536/verify,membw_limit=40,siblings=64"), 1u)
      << fmt::format("{}", fmt::join(keys, " "));
}

// Parallel streams are an axis: each count a point, the key naming it above one.
TEST(MatrixExpansion, StreamsAreAnAxis) {
  Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem"]
path = ["lo"]
streams = [1, 4]
)");
  ASSERT_EQ(m.points.size(), 2u);
  EXPECT_EQ(m.points[0].spec.streams, 1);
  EXPECT_EQ(m.points[1].spec.streams, 4);
  EXPECT_EQ(PointKey(m.points[0].spec).find("streams="), std::string::npos) << PointKey(m.points[0].spec);
  EXPECT_NE(PointKey(m.points[1].spec).find(",streams=4"), std::string::npos) << PointKey(m.points[1].spec);
  EXPECT_NE(m.points[1].label.find("streams=4"), std::string::npos) << m.points[1].label;
}

// A UDP-only setting in a spec shared by both protocols is left at its default on the
// TCP points.
TEST(MatrixExpansion, ASettingThatDoesNotApplyToTheProtocolIsLeftAtItsDefault) {
  Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem"]
path = ["lo"]

[trial]
udp_gro = true
drain = "2s"
rcvlowat = "64K"
)");
  ASSERT_EQ(m.points.size(), 1u);
  EXPECT_FALSE(m.points[0].spec.gro);
  EXPECT_DOUBLE_EQ(m.points[0].spec.drain_s, TrialSpec{}.drain_s);
  EXPECT_EQ(m.points[0].spec.rcvlowat, 64 << 10);  // the TCP receiver's, on this TCP point
}

TEST(MatrixExpansion, HostConstraintAxes) {
  Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem"]
path = ["lo"]
sender_cpu_quota = ["none", "50%", 0.25]
membw_antagonist = ["none", "0"]

[trial]
membw_antagonist_size = "8M"
)");
  ASSERT_EQ(m.points.size(), 3u * 2);
  size_t quota_points = 0, membw_points = 0;
  for (const auto& p : m.points) {
    const HostConstraintSpec& c = p.spec.constraints;
    if (c.sender_cpu_quota) {
      ++quota_points;
      EXPECT_TRUE(*c.sender_cpu_quota == 0.5 || *c.sender_cpu_quota == 0.25) << *c.sender_cpu_quota;
    }
    if (!c.membw_cpus.empty()) {
      ++membw_points;
      EXPECT_EQ(c.membw_cpus, std::vector<int>{0});
      EXPECT_EQ(c.membw_buffer_bytes, 8u << 20);
    }
  }
  EXPECT_EQ(quota_points, 4u);
  EXPECT_EQ(membw_points, 3u);
  EXPECT_EQ(Count(m, "sender_cpu_quota", "0.5"), 2u);
}

// The plan resolves every point against the real registry and gives each a unique key.
TEST(RunPlan, PointsResolveAndKeysAreUnique) {
  auto spec = ParseSpec(R"([matrix]
protocol = ["tcp", "udp"]
strategy = ["write", "sendfile"]
message_size = ["4K", "64K"]
path = ["loopback"]
[trial]
bytes = "1M"
warmup = 1
[repeat]
min = 2
max = 2
)",
                        "p.toml", SpecCatalog::Registered());
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  auto plan = BuildRunPlan(*spec, SpecCatalog::Registered(), 7, false);
  ASSERT_TRUE(plan.ok()) << plan.error().what();
  EXPECT_EQ(plan->points.size(), 4u);  // udp is left out: write and sendfile speak tcp only
  EXPECT_EQ(plan->matrix.left_out.size(), 2u);
  EXPECT_EQ(plan->index_by_key.size(), 4u);
  for (const auto& p : plan->points) {
    EXPECT_EQ(p.measured.spec.seed, 7u);
    EXPECT_EQ(p.params["path_name"], "loopback");
    EXPECT_TRUE(p.unsupported.empty()) << p.unsupported;
  }
  EXPECT_EQ(plan->policy.warmup, 1);
  const std::string text = FormatPlan(*plan);
  EXPECT_NE(text.find("points (4)"), std::string::npos) << text;
  EXPECT_NE(text.find("protocol=udp strategy=write: write does not speak udp"), std::string::npos) << text;
  EXPECT_NE(text.find("4 warm-up + 8 measured"), std::string::npos) << text;
  EXPECT_NE(text.find("estimated time"), std::string::npos) << text;
}

TEST(RunPlan, QuickMeansOneShortRepetition) {
  auto spec = ParseSpec("[matrix]\nstrategy = [\"write\"]\n[trial]\nduration = 10\nwarmup = 2\n", "q.toml",
                        SpecCatalog::Registered());
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  auto plan = BuildRunPlan(*spec, SpecCatalog::Registered(), 1, true);
  ASSERT_TRUE(plan.ok()) << plan.error().what();
  EXPECT_EQ(plan->policy.warmup, 0);
  EXPECT_EQ(plan->policy.min, 1);
  EXPECT_EQ(plan->policy.max, 1);
  EXPECT_DOUBLE_EQ(*plan->points[0].measured.spec.duration_s, kQuickDurationS);
}

TEST(RunPlan, SamePointUnderTwoNamesIsAnError) {
  auto spec = ParseSpec(R"([matrix]
strategy = ["write"]
path = ["loopback", "lo2"]
[path.lo2]
type = "loopback"
)",
                        "d.toml", SpecCatalog::Registered());
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  auto plan = BuildRunPlan(*spec, SpecCatalog::Registered(), 1, false);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().what().find("d.toml:1: matrix:"), std::string::npos) << plan.error().what();
  EXPECT_NE(plan.error().what().find("are the same measurement"), std::string::npos) << plan.error().what();
}

// Peers in the matrix: a spec's `peers` add entries beside its strategies, each kept only
// where the peer's capabilities hold (protocol, workload, message size, a path with a
// receiver here), the rest left out and listed with the reason.

const LeftOut* LeftOutFor(const Matrix& m, const std::string& combination) {
  for (const auto& l : m.left_out) {
    if (l.combination == combination) return &l;
  }
  return nullptr;
}

TEST(PeerMatrix, PeersExpandBesideTheStrategiesWhereTheirCapabilitiesHold) {
  const Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem"]
peers = ["iperf3", "iperf3_zerocopy", "sockperf"]
protocol = ["tcp", "udp"]
message_size = ["4K", "64K", "2M"]
path = ["lo", "dev"]
workload = ["bulk", "exchange"]
)");
  // tcp_mem: TCP only, 3 sizes x 2 paths x 2 workloads.
  EXPECT_EQ(Count(m, "strategy", "tcp_mem"), 12u);
  // iperf3 (and -Z): TCP bulk, at most 1 MiB: 4K and 64K on both paths.
  EXPECT_EQ(Count(m, "strategy", "iperf3"), 4u);
  EXPECT_EQ(Count(m, "strategy", "iperf3_zerocopy"), 4u);
  // sockperf: TCP and UDP bulk, at most 65507 bytes: 4K on both paths, both protocols.
  EXPECT_EQ(Count(m, "strategy", "sockperf"), 4u);
  EXPECT_EQ(m.points.size(), 24u);

  // A peer's point: its name in the strategy coordinate, its own source.
  const auto zc = std::find_if(m.points.begin(), m.points.end(),
                               [](const MatrixPoint& p) { return p.spec.strategy == "iperf3_zerocopy"; });
  ASSERT_NE(zc, m.points.end());
  EXPECT_EQ(zc->label, "tcp iperf3_zerocopy file 4K lo verify");
  EXPECT_EQ(zc->coords.at("strategy"), "iperf3_zerocopy");

  // What was left out says why.
  const LeftOut* big = LeftOutFor(m, "message_size=2097152 peer=iperf3");
  ASSERT_NE(big, nullptr);
  EXPECT_NE(big->reason.find("at most 1048576 bytes"), std::string::npos);
  const LeftOut* udp = LeftOutFor(m, "protocol=udp peer=iperf3");
  ASSERT_NE(udp, nullptr);
  EXPECT_NE(udp->reason.find("does not run over udp"), std::string::npos);
  const LeftOut* workload = LeftOutFor(m, "workload=exchange peer=sockperf");
  ASSERT_NE(workload, nullptr);
  EXPECT_NE(workload->reason.find("bulk only"), std::string::npos);
}

// A file server peer stands for file_serving: the workload's option axes (the file set)
// vary it as they vary the strategies, and a value it cannot honour (per-request
// connections: wrk keeps its connections open) leaves its point out with the reason.
TEST(PeerMatrix, AFileServerPeerWalksTheFileSetAndLeavesOutWhatItCannotServe) {
  SpecCatalog catalog = TestCatalog();
  catalog.workloads.push_back(testing::FakeTcpWorkload("file_serving"));
  catalog.workloads.back().options = {
      {"size", OptionType::kSize, "64K", "file size", {}},
      {"connection", OptionType::kChoice, "persistent", "connections", {"persistent", "per_request"}}};
  auto spec = ParseSpec(R"([matrix]
strategy = ["tcp_file"]
peers = ["nginx_wrk", "nginx_wrk_nosendfile", "iperf3"]
path = ["lo"]
workload = ["file_serving", "bulk"]

[matrix.workload_options]
size = ["4K", "1M"]
connection = ["persistent", "per_request"]

[[exclude]]
strategy = "nginx_wrk_nosendfile"
workload_options = { size = "1M" }
reason = "a peer's point can be excluded by its name"
)",
                        "m.toml", catalog);
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  const Matrix m = ExpandMatrix(*spec, catalog);
  // tcp_file: 2 sizes x 2 connections on file_serving, 1 point on bulk (no options).
  EXPECT_EQ(Count(m, "strategy", "tcp_file"), 5u);
  // nginx: file_serving only, both sizes, persistent connections only.
  EXPECT_EQ(Count(m, "strategy", "nginx_wrk"), 2u);
  EXPECT_EQ(Count(m, "strategy", "nginx_wrk_nosendfile"), 1u);  // its 1M point excluded
  for (const MatrixPoint& p : m.points) {
    if (p.spec.strategy != "nginx_wrk") continue;
    EXPECT_EQ(p.spec.workload, "file_serving");
    EXPECT_EQ(p.spec.workload_options.at("connection"), "persistent");
  }
  // iperf3: bulk only.
  EXPECT_EQ(Count(m, "strategy", "iperf3"), 1u);

  const LeftOut* per_request = LeftOutFor(m, "connection=per_request peer=nginx_wrk");
  ASSERT_NE(per_request, nullptr);
  EXPECT_EQ(per_request->points, 2u);
  EXPECT_NE(per_request->reason.find("connection persistent only"), std::string::npos) << per_request->reason;
  const LeftOut* bulk = LeftOutFor(m, "workload=bulk peer=nginx_wrk");
  ASSERT_NE(bulk, nullptr);
  EXPECT_NE(bulk->reason.find("file_serving only"), std::string::npos) << bulk->reason;
}

TEST(PeerMatrix, APeerIsAlsoAValueOfTheStrategyAxis) {
  const Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem", "iperf3"]
message_size = ["64K"]
path = ["lo"]
)");
  EXPECT_EQ(Count(m, "strategy", "iperf3"), 1u);
  EXPECT_EQ(m.points.size(), 2u);
}

TEST(PeerMatrix, AnUnknownPeerIsASpecErrorListingThePeers) {
  auto spec = ParseSpec(R"([matrix]
strategy = ["tcp_mem"]
peers = ["netperf"]
)",
                        "m.toml", TestCatalog());
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.error().what().find("unknown peer 'netperf'"), std::string::npos) << spec.error().what();
  EXPECT_NE(spec.error().what().find("iperf3_zerocopy"), std::string::npos);
}

TEST(PeerMatrix, APeerResolvesToItsStandInWithItsSourceAndLabel) {
  TrialSpec spec;
  spec.strategy = "iperf3_zerocopy";
  spec.duration_s = 0.2;
  auto trial = ResolveTrial(spec);
  ASSERT_TRUE(trial.ok()) << trial.error().what();
  ASSERT_NE(trial->peer, nullptr);
  EXPECT_EQ(trial->peer->label(), "iperf3 -Z (peer)");
  EXPECT_EQ(trial->source, SourceKind::kFile);
  EXPECT_EQ(TrialParams::Of(*trial).ToJson().value("peer", ""), "iperf3 -Z (peer)");
}

}  // namespace
}  // namespace zcb
