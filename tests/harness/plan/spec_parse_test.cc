// Experiment specs: what a valid spec becomes, and that every kind of mistake is
// reported before anything runs, naming the file, the line and the key.

#include <gtest/gtest.h>

#include "harness/plan/spec.h"
#include "tests/spec_test_catalog.h"

namespace zcb {
namespace {

using testing::TestCatalog;

Result<ExperimentSpec> Parse(const std::string& text) { return ParseSpec(text, "t.toml", TestCatalog()); }

// Expects a rejection whose message has "t.toml:LINE: KEY:" and `detail`.
void ExpectError(const std::string& text, int line, const std::string& key, const std::string& detail) {
  auto spec = Parse(text);
  ASSERT_FALSE(spec.ok()) << "accepted:\n" << text;
  const std::string message = spec.error().what();
  EXPECT_NE(message.find("t.toml:" + std::to_string(line) + ": " + key + ":"), std::string::npos)
      << "expected t.toml:" << line << ": " << key << ": in\n"
      << message;
  EXPECT_NE(message.find(detail), std::string::npos) << "expected '" << detail << "' in\n" << message;
}

constexpr const char* kMinimal = "[matrix]\nstrategy = [\"tcp_mem\"]\n";

TEST(SpecParse, FullSpecBecomesSettingsAndCanonicalAxes) {
  auto spec = Parse(R"([experiment]
name = "sweep"
description = "a sweep"
seed = 42

[matrix]
protocol = ["tcp", "udp"]
strategy = ["tcp_file", "dual"]
message_size = ["4K", 65536, "1M"]
path = ["lo", "dev_nosg"]
receiver = "discard"
rate = ["unpaced", "500M"]

[matrix.strategy_options]
header = ["none", "cork"]

[path.dev_nosg]
type = "dev"
sg = "off"

[[exclude]]
strategy = "dual"
message_size = "4K"
reason = "too small"

[trial]
duration = "1.5s"
warmup = 2
warmup_duration = "500ms"
pin = true
sender_cpu = 0
receive_timeout = 5
pattern_period = "512K"
probes = "none"

[repeat]
min = 4
max = 12
confidence_pct = 99
half_width_pct = 2.5
)");
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->name, "sweep");
  EXPECT_EQ(spec->seed, 42u);
  EXPECT_EQ(spec->sha256.size(), 64u);
  const SpecAxis* sizes = spec->FindAxis(AxisKind::kMessageSize);
  ASSERT_NE(sizes, nullptr);
  EXPECT_EQ(sizes->values, (std::vector<std::string>{"4096", "65536", "1048576"}));
  const SpecAxis* rates = spec->FindAxis(AxisKind::kRate);
  ASSERT_NE(rates, nullptr);
  EXPECT_EQ(rates->values, (std::vector<std::string>{"0", "500000000"}));
  const SpecAxis* receiver = spec->FindAxis(AxisKind::kReceiver);
  ASSERT_NE(receiver, nullptr);
  EXPECT_EQ(receiver->values, std::vector<std::string>{"discard"});
  const SpecAxis* header = spec->FindAxis(AxisKind::kStrategyOption);
  ASSERT_NE(header, nullptr);
  EXPECT_EQ(header->option, "header");
  ASSERT_EQ(spec->paths.size(), 1u);
  EXPECT_EQ(spec->paths[0].type, "dev");
  EXPECT_EQ(spec->paths[0].options.at("sg"), "off");
  ASSERT_EQ(spec->excludes.size(), 1u);
  EXPECT_EQ(spec->excludes[0].match.at("message_size"), std::set<std::string>{"4096"});
  EXPECT_EQ(spec->excludes[0].reason, "too small");
  EXPECT_DOUBLE_EQ(*spec->trial.duration_s, 1.5);
  EXPECT_DOUBLE_EQ(*spec->trial.warmup_duration_s, 0.5);
  EXPECT_EQ(spec->trial.warmup, 2);
  EXPECT_EQ(spec->trial.sender_cpu, 0);
  EXPECT_EQ(spec->trial.per_trial.at("pattern_period"), std::to_string(512u * 1024));
  EXPECT_EQ(spec->trial.probes, "none");
  EXPECT_EQ(spec->repeat.min, 4);
  EXPECT_EQ(spec->repeat.max, 12);
  EXPECT_DOUBLE_EQ(spec->repeat.confidence_pct, 99);
}

TEST(SpecParse, DefaultsForAMinimalSpec) {
  auto spec = Parse(kMinimal);
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->name, "t");  // the file's stem
  EXPECT_FALSE(spec->seed.has_value());
  EXPECT_DOUBLE_EQ(*spec->trial.duration_s, 2.0);
  EXPECT_FALSE(spec->trial.bytes.has_value());
  EXPECT_EQ(spec->repeat.min, 3);
  EXPECT_EQ(spec->repeat.max, 10);
}

TEST(SpecParse, AllMeansEveryRegisteredStrategy) {
  auto spec = Parse("[matrix]\nstrategy = \"all\"\n");
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->FindAxis(AxisKind::kStrategy)->values,
            (std::vector<std::string>{"tcp_mem", "tcp_file", "udp_only", "dual"}));
}

TEST(SpecParse, DurationUnits) {
  EXPECT_DOUBLE_EQ(*ParseDuration("2"), 2);
  EXPECT_DOUBLE_EQ(*ParseDuration("250ms"), 0.25);
  EXPECT_DOUBLE_EQ(*ParseDuration("1.5s"), 1.5);
  EXPECT_DOUBLE_EQ(*ParseDuration("2m"), 120);
  EXPECT_FALSE(ParseDuration("2 s").has_value());
  EXPECT_FALSE(ParseDuration("fortnight").has_value());
  EXPECT_FALSE(ParseDuration("-1s").has_value());
}

TEST(SpecErrors, UnknownKeys) {
  ExpectError("frobnicate = 1\n[matrix]\nstrategy = [\"tcp_mem\"]\n", 1, "frobnicate", "unknown key");
  ExpectError(std::string(kMinimal) + "[trial]\ndurration = 2\n", 4, "trial.durration", "unknown key");
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\"]\nsizes = [\"4K\"]\n", 3, "matrix.sizes", "unknown key");
  ExpectError(std::string(kMinimal) + "[repeat]\nmin = 2\nconfidence = 99\n", 5, "repeat.confidence", "unknown key");
}

TEST(SpecErrors, WrongTypes) {
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\"]\nmessage_size = [true]\n", 3, "matrix.message_size",
              "expected a size");
  ExpectError("[matrix]\nstrategy = [42]\n", 2, "matrix.strategy", "expected a strategy name");
  ExpectError(std::string(kMinimal) + "[trial]\nwarmup = \"one\"\n", 4, "trial.warmup", "expected an integer");
  ExpectError(std::string(kMinimal) + "[repeat]\nconfidence_pct = \"high\"\n", 4, "repeat.confidence_pct",
              "expected a number");
  ExpectError("matrix = 3\n", 1, "matrix", "expected a table");
}

TEST(SpecErrors, BadUnits) {
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\"]\nmessage_size = [\"4K\", \"64Q\"]\n", 3, "matrix.message_size",
              "'64Q' is not a size");
  ExpectError(std::string(kMinimal) + "[trial]\nduration = \"5 parsecs\"\n", 4, "trial.duration", "is not a duration");
  ExpectError(std::string(kMinimal) + "[trial]\nbytes = \"12 bananas\"\n", 4, "trial.bytes", "is not a size");
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\"]\nrate = [\"fast\"]\n", 3, "matrix.rate", "is not a rate");
  ExpectError(std::string(kMinimal) + "[trial]\npattern_period = 5000\n", 4, "trial.pattern_period",
              "not a multiple of 4096");
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\"]\nsender_cpu_quota = [\"lots\"]\n", 3, "matrix.sender_cpu_quota",
              "is not a CPU quota");
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\"]\nmembw_antagonist = [\"4096\"]\n", 3, "matrix.membw_antagonist",
              "is not a list of this machine's CPUs");
}

TEST(SpecErrors, EmptyAxis) {
  ExpectError("[matrix]\nstrategy = []\n", 2, "matrix.strategy", "empty axis");
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\"]\n\nmessage_size = []\n", 4, "matrix.message_size", "empty axis");
}

// The matrix is multiplied out point by point: a short spec can ask for millions of points
// (here 4 x 60 x 60 x 60), which would take minutes and gigabytes before the first trial and
// could never run; it is refused with the count (found by tests/fuzz/spec_fuzzer).
TEST(SpecErrors, AMatrixOfMorePointsThanARunCanHaveIsRefused) {
  auto values = [](const char* unit, int count = 60) {
    std::string list;
    for (int i = 1; i <= count; ++i) list += (i > 1 ? ", " : "") + std::string("\"") + std::to_string(i) + unit + "\"";
    return "[" + list + "]";
  };
  ExpectError("[matrix]\nstrategy = \"all\"\nmessage_size = " + values("K") + "\nrate = " + values("M") +
                  "\nsender_cpu_quota = " + values("%") + "\n",
              1, "matrix", "864000 points");
  // At the limit, 4 x 50 x 50 = 10000 points, a matrix is taken.
  auto limit =
      Parse("[matrix]\nstrategy = \"all\"\nmessage_size = " + values("K", 50) + "\nrate = " + values("M", 50) + "\n");
  EXPECT_TRUE(limit.ok()) << limit.error().what();
}

TEST(SpecErrors, UnknownStrategyOrPathListsTheValidOnes) {
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\", \"sendfilez\"]\n", 2, "matrix.strategy",
              "unknown strategy 'sendfilez'; valid strategies: tcp_mem, tcp_file, udp_only, dual");
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\"]\npath = [\"lo\", \"nowhere\"]\n", 3, "matrix.path",
              "unknown path 'nowhere'; registered paths: lo, dev");
  ExpectError(std::string(kMinimal) + "[path.mine]\ntype = \"warp\"\n", 4, "path.mine.type",
              "unknown path type 'warp'");
}

TEST(SpecErrors, ImpossibleCombinations) {
  ExpectError(std::string(kMinimal) + "[trial]\nduration = 1\nbytes = \"64M\"\n", 5, "trial.bytes", "not both");
  ExpectError(std::string(kMinimal) + "[repeat]\nmin = 5\nmax = 3\n", 5, "repeat.max", "less than repeat.min");
  ExpectError("[matrix]\nstrategy = [\"tcp_file\"]\ncache = [\"warm\", \"cold\"]\n", 3, "matrix.cache",
              "needs the payload file on disk");
  ExpectError(std::string(kMinimal) + "[trial]\nbytes = \"1M\"\nwarmup_duration = 1\n", 5, "trial.warmup_duration",
              "use trial.warmup_bytes");
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\"]\n[matrix.strategy_options]\nheader = [\"cork\"]\n", 4,
              "matrix.strategy_options.header", "no strategy of matrix.strategy (tcp_mem) has an option 'header'");
  ExpectError("[matrix]\nstrategy = [\"tcp_file\"]\n[matrix.strategy_options]\nheader = [\"sideways\"]\n", 4,
              "matrix.strategy_options.header", "expected one of none, cork, more");
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\"]\n[matrix.path_options]\nsg = [\"off\"]\n", 4,
              "matrix.path_options.sg", "no path of matrix.path has an option 'sg'");
  ExpectError(std::string(kMinimal) + "[path.unused]\ntype = \"dev\"\n", 3, "path.unused", "defined but not used");
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\"]\n[matrix.workload_options]\ncount = [2]\n", 4,
              "matrix.workload_options.count", "no workload of matrix.workload (bulk) has an option 'count'");
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\"]\nworkload = [\"files\"]\n[matrix.workload_options]\ncount = [9]\n", 5,
              "matrix.workload_options.count", "workload files option count=9: expected 1 to 8");
}

TEST(SpecParse, WorkloadOptionAxes) {
  auto spec = Parse(
      "[matrix]\nstrategy = [\"tcp_mem\"]\nworkload = [\"bulk\", \"files\"]\n"
      "[matrix.workload_options]\ncount = [1, \"4\"]\n");
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  const SpecAxis* axis = spec->FindAxis(AxisKind::kWorkloadOption);
  ASSERT_NE(axis, nullptr);
  EXPECT_EQ(axis->key, "matrix.workload_options.count");
  EXPECT_EQ(axis->option, "count");
  EXPECT_EQ(axis->values, (std::vector<std::string>{"1", "4"}));
}

TEST(SpecErrors, ExcludeRules) {
  ExpectError(std::string(kMinimal) + "[[exclude]]\nstratgy = \"tcp_mem\"\n", 4, "exclude[0].stratgy", "unknown key");
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\", \"dual\"]\n[[exclude]]\nstrategy = \"tcp_file\"\n", 4,
              "exclude[0].strategy", "'tcp_file' is not a value of matrix.strategy");
  ExpectError(std::string(kMinimal) + "[[exclude]]\nreason = \"everything\"\n", 3, "exclude[0]", "matches nothing");
}

TEST(SpecErrors, SocketOptions) {
  const std::string tcp = "[matrix]\nstrategy = [\"tcp_mem\"]\n[matrix.socket_options]\n";
  ExpectError(tcp + "sndbuff = [\"1M\"]\n", 4, "matrix.socket_options.sndbuff",
              "unknown socket option 'sndbuff'; known: sndbuf, rcvbuf, nodelay, congestion, busy_poll");
  ExpectError(tcp + "rcvbuf = [\"big\"]\n", 4, "matrix.socket_options.rcvbuf", "'big' is not a size");
  ExpectError(tcp + "nodelay = [\"maybe\"]\n", 4, "matrix.socket_options.nodelay", "'maybe' is not true or false");
  ExpectError("[matrix]\nprotocol = \"udp\"\nstrategy = [\"udp_only\"]\n[matrix.socket_options]\nnodelay = [true]\n", 5,
              "matrix.socket_options.nodelay", "applies to TCP only");
  // "1M" and 1048576 are one value.
  ExpectError(tcp + "sndbuf = [\"1M\", 1048576]\n", 4, "matrix.socket_options.sndbuf", "listed twice");
}

TEST(SpecErrors, RepeatedValuesAndSyntax) {
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\", \"tcp_mem\"]\n", 2, "matrix.strategy", "listed twice");
  ExpectError("[matrix]\nstrategy = [\"tcp_mem\"\n", 2, "(syntax)", "");
  ExpectError("[experiment]\nname = \"x\"\n", 1, "matrix", "missing");
}

TEST(SpecErrors, EveryProblemIsReportedAtOnce) {
  auto spec = Parse("[matrix]\nstrategy = [\"nope\"]\nmessage_size = [\"1Q\"]\n[trial]\nwarmup = -1\n");
  ASSERT_FALSE(spec.ok());
  const std::string message = spec.error().what();
  EXPECT_NE(message.find("t.toml:2: matrix.strategy"), std::string::npos) << message;
  EXPECT_NE(message.find("t.toml:3: matrix.message_size"), std::string::npos) << message;
  EXPECT_NE(message.find("t.toml:5: trial.warmup"), std::string::npos) << message;
}

TEST(SpecParse, Sha256OfTheText) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace zcb
