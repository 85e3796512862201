// The parameter table is the one place a trial parameter is declared: no parameter or
// flag twice, the spec parser takes exactly the table's keys, a point's key is computed
// from the table's canonical forms (and stays what records already hold), and the
// compatibility rules answer the matrix and the single trial alike.

#include <algorithm>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "harness/plan/matrix.h"
#include "harness/plan/parameters.h"
#include "harness/plan/spec.h"
#include "harness/trial/trial_resolve.h"
#include "stack/registry.h"
#include "tests/spec_test_catalog.h"

namespace zcb {
namespace {

using testing::TestCatalog;

TEST(ParameterTable, EveryParameterAndFlagIsDeclaredOnce) {
  std::set<std::pair<SpecSection, std::string>> keys;
  std::set<std::string> flags;
  for (const Parameter& p : Parameters()) {
    EXPECT_TRUE(keys.emplace(p.section, std::string(p.key)).second) << "declared twice: " << p.key;
    std::string names(p.flags);
    std::stringstream split(names);
    for (std::string flag; std::getline(split, flag, ',');) {
      if (!flag.empty()) {
        EXPECT_TRUE(flags.insert(flag).second) << "flag " << flag << " of " << p.key << " is taken";
      }
    }
    EXPECT_NE(p.parse, nullptr) << p.key;
    EXPECT_FALSE(p.help.empty()) << p.key;
    if (p.section == SpecSection::kMatrix) {
      ASSERT_TRUE(p.axis.has_value()) << p.key;
      EXPECT_EQ(AxisKeyName(*p.axis), p.key);
      // An axis sets a trial's field, or extends another axis with more values (peers).
      if (p.kind != ValueKind::kKeyValues && !p.extends) {
        EXPECT_TRUE(p.apply != nullptr && p.read != nullptr) << p.key;
      }
      if (p.extends) EXPECT_NE(FindAxisParameter(*p.extends), nullptr) << p.key;
    } else if (p.section == SpecSection::kTrial) {
      // A trial's field (apply), or a run-level setting the plan reads (set): one of them.
      EXPECT_NE(p.set == nullptr, p.apply == nullptr) << p.key << ": a spec key sets a trial or the run, once";
    } else if (p.section == SpecSection::kExperiment) {
      EXPECT_NE(p.set, nullptr) << p.key << ": a spec key that sets nothing";
    } else {
      EXPECT_FALSE(p.shortcut_for.empty()) << p.key << ": a command-line-only parameter is a shortcut";
      EXPECT_NE(FindParameter(p.shortcut_for, SpecSection::kMatrix), nullptr) << p.key;
    }
  }
  // Every axis kind has its parameter.
  for (AxisKind kind :
       {AxisKind::kProtocol, AxisKind::kStrategy, AxisKind::kPeers, AxisKind::kSource, AxisKind::kMessageSize,
        AxisKind::kPath, AxisKind::kReceiver, AxisKind::kWorkload, AxisKind::kRate, AxisKind::kCache,
        AxisKind::kSenderCpuQuota, AxisKind::kMembwAntagonist, AxisKind::kMembwLimit, AxisKind::kSiblings,
        AxisKind::kStrategyOption, AxisKind::kPathOption, AxisKind::kWorkloadOption, AxisKind::kSocketOption}) {
    EXPECT_NE(FindAxisParameter(kind), nullptr) << static_cast<int>(kind);
  }
}

// A receiving end's trial is set from the request by the same `apply` and read back by
// the same `read` as the sender's (harness/remote/remote_request.cc); a key-value
// parameter (workload_options) through the same map of the trial (`key_values`).
TEST(ParameterTable, EveryReceivingEndParameterReadsAndApplies) {
  const std::vector<const Parameter*> receiving_end = ReceivingEndParameters();
  EXPECT_FALSE(receiving_end.empty());
  for (const Parameter* p : receiving_end) {
    if (p->kind == ValueKind::kKeyValues) {
      EXPECT_NE(p->key_values, nullptr) << p->key;
      continue;
    }
    EXPECT_NE(p->read, nullptr) << p->key;
    EXPECT_NE(p->apply, nullptr) << p->key;
  }
}

// The keys a spec section accepts, as its "unknown key" message lists them.
std::set<std::string> AcceptedKeys(const std::string& section) {
  auto spec = ParseSpec("[" + section + "]\nno_such_key = 1\n" +
                            (section == "matrix" ? "strategy = \"tcp_mem\"\n" : "[matrix]\nstrategy = \"tcp_mem\"\n"),
                        "t.toml", TestCatalog());
  EXPECT_FALSE(spec.ok());
  if (spec.ok()) return {};
  const std::string message = spec.error().what();
  const std::string marker = "[" + section + "] takes: ";
  const size_t at = message.find(marker);
  EXPECT_NE(at, std::string::npos) << message;
  if (at == std::string::npos) return {};
  std::string list = message.substr(at + marker.size());
  list = list.substr(0, list.find('\n'));
  std::set<std::string> keys;
  std::stringstream split(list);
  for (std::string key; std::getline(split, key, ',');) {
    key.erase(0, key.find_first_not_of(' '));
    keys.insert(key);
  }
  return keys;
}

std::set<std::string> TableKeys(SpecSection section) {
  std::set<std::string> keys;
  for (const Parameter* p : ParametersIn(section)) keys.emplace(p->key);
  return keys;
}

TEST(ParameterTable, TheSpecParserTakesExactlyTheTablesKeys) {
  EXPECT_EQ(AcceptedKeys("matrix"), TableKeys(SpecSection::kMatrix));
  EXPECT_EQ(AcceptedKeys("trial"), TableKeys(SpecSection::kTrial));
  std::set<std::string> experiment = TableKeys(SpecSection::kExperiment);
  experiment.insert({"name", "description"});  // what the experiment is called, not how it runs
  EXPECT_EQ(AcceptedKeys("experiment"), experiment);
}

TEST(ParameterTable, ProfileHzHasASpecKey) {
  auto spec = ParseSpec("[matrix]\nstrategy = \"tcp_mem\"\n[trial]\nprofile_hz = 997\n", "t.toml", TestCatalog());
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->trial.profile_hz, 997);
  auto bad = ParseSpec("[matrix]\nstrategy = \"tcp_mem\"\n[trial]\nprofile_hz = 0\n", "t.toml", TestCatalog());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(
      std::string(bad.error().what()).find("t.toml:4: trial.profile_hz: 0 is out of range (expected 1 to 100000)"),
      std::string::npos)
      << bad.error().what();
}

TEST(ParameterTable, ParsersGiveCanonicalTextAndQuoteWhatIsWrong) {
  const SpecCatalog& catalog = TestCatalog();
  auto canonical = [&](std::string_view key, SpecSection section, std::string_view text) {
    const Parameter* p = FindParameter(key, section);
    EXPECT_NE(p, nullptr) << key;
    auto r = p->parse(text, catalog);
    return r.ok() ? *r : "error: " + r.error().what();
  };
  EXPECT_EQ(canonical("message_size", SpecSection::kMatrix, "64K"), "65536");
  EXPECT_EQ(canonical("rate", SpecSection::kMatrix, "unpaced"), "0");
  EXPECT_EQ(canonical("rate", SpecSection::kMatrix, "1G"), "1000000000");
  EXPECT_EQ(canonical("sender_cpu_quota", SpecSection::kMatrix, "20%"), "0.2");
  EXPECT_EQ(canonical("duration", SpecSection::kTrial, "500ms"), "0.5");
  EXPECT_EQ(canonical("message_size", SpecSection::kMatrix, "12Q"),
            "error: '12Q' is not a size (expected bytes such as 4096, 64K, 1M or 1G)");
  EXPECT_EQ(canonical("receiver", SpecSection::kMatrix, "psychic"),
            "error: unknown receiver 'psychic'; expected verify, read, discard or zerocopy");
  EXPECT_EQ(canonical("strategy", SpecSection::kMatrix, "tcp_mme"),
            "error: unknown strategy 'tcp_mme'; valid strategies: tcp_mem, tcp_file, udp_only, dual (or \"all\"); "
            "peers: iperf3, iperf3_zerocopy, sockperf, sockperf_pingpong, nginx_wrk, nginx_wrk_nosendfile");
  EXPECT_EQ(canonical("pattern_period", SpecSection::kTrial, "6K"), "error: 6144 is not a multiple of 4096 bytes");
  EXPECT_EQ(canonical("rcvlowat", SpecSection::kTrial, "64K"), "65536");
  EXPECT_EQ(canonical("rcvlowat", SpecSection::kTrial, "auto"), "auto");
  // siblings: any count an affinity mask can place (a host with fewer CPUs refuses the
  // trial, not the spec); a bad count quotes itself.
  EXPECT_EQ(canonical("siblings", SpecSection::kMatrix, "64"), "64");
  EXPECT_EQ(canonical("siblings", SpecSection::kMatrix, "0"), "0");
  for (std::string_view bad : {"-1", "two", "1.5", "1024"}) {
    EXPECT_EQ(canonical("siblings", SpecSection::kMatrix, bad),
              fmt::format("error: '{}' is not a number of sibling threads (expected an integer from 0 to 1023)", bad));
  }
  EXPECT_EQ(canonical("sibling_mode", SpecSection::kTrial, "sleep"), "sleep");
  EXPECT_EQ(canonical("sibling_mode", SpecSection::kTrial, "nap"),
            "error: unknown sibling mode 'nap'; expected spin or sleep");
  EXPECT_EQ(canonical("membw_limit", SpecSection::kMatrix, "40%"), "40");
  EXPECT_EQ(canonical("membw_limit", SpecSection::kMatrix, "100"), "100");
  EXPECT_EQ(canonical("membw_limit", SpecSection::kMatrix, "none"), "none");
  for (std::string_view bad : {"0", "101%", "half"}) {
    EXPECT_EQ(canonical("membw_limit", SpecSection::kMatrix, bad),
              fmt::format("error: '{}' is not a memory-bandwidth limit (expected none or a percentage from 1% to "
                          "100%, e.g. 40%)",
                          bad));
  }
  for (std::string_view mark : {"0", "32M"}) {
    EXPECT_EQ(
        canonical("rcvlowat", SpecSection::kTrial, mark),
        fmt::format("error: '{}' is not a low-water mark (expected auto, or bytes from 1 to 16M such as 1 or 64K)",
                    mark));
  }
}

TrialSpec Tcp(const std::string& strategy) {
  TrialSpec spec;
  spec.strategy = strategy;
  spec.source = SourceKind::kMemory;
  return spec;
}

// The keys records already hold: a resumed run finds its points only if they stay.
TEST(PointIdentity, KeysStayWhatRecordsHold) {
  EXPECT_EQ(PointKey(Tcp("write")), "tcp/write/loopback/bulk/memory/65536/verify");

  TrialSpec cold = Tcp("sendfile");
  cold.source = SourceKind::kFile;
  cold.cold_cache = true;
  cold.file_dir = "/var/tmp";
  EXPECT_EQ(PointKey(cold), "tcp/sendfile/loopback/bulk/file/65536/verify,page_cache=cold");

  // A low-water mark given explicitly is a different receiver; left to the mode, no change.
  TrialSpec woken = Tcp("write");
  woken.receiver = ReceiverMode::kDiscard;
  woken.rcvlowat = 1;
  EXPECT_EQ(PointKey(woken), "tcp/write/loopback/bulk/memory/65536/discard,rcvlowat=1");

  TrialSpec udp = Tcp("sendmmsg");
  udp.protocol = Protocol::kUdp;
  udp.message_size = 1472;
  udp.path = "veth";
  udp.rate_bps = 1000000000;
  udp.working_set = 1 << 20;
  udp.constraints.sender_cpu_quota = 0.5;
  udp.constraints.membw_cpus = {0, 1};
  udp.gro = true;
  udp.options = {{"batch", "8"}};
  udp.path_options = {{"sg", "off"}};
  EXPECT_EQ(PointKey(udp),
            "udp/sendmmsg/veth/bulk/memory/1472/verify,rate_bps=1000000000,working_set=1048576,sender_cpu_quota=0.5,"
            "membw_antagonist_cpus=0+1,gro,batch=8,path.sg=off");

  // Siblings, their mode and a memory-bandwidth limit, when not the defaults.
  TrialSpec crowded = Tcp("mmap_write");
  crowded.siblings = 1;
  EXPECT_EQ(PointKey(crowded), "tcp/mmap_write/loopback/bulk/memory/65536/verify,siblings=1");
  crowded.sibling_mode = SiblingMode::kSleep;
  crowded.constraints.membw_limit_percent = 40;
  EXPECT_EQ(PointKey(crowded),
            "tcp/mmap_write/loopback/bulk/memory/65536/verify,membw_limit=40,siblings=1,sibling_mode=sleep");
  EXPECT_NE(IdentifyPoint(crowded).label.find("membw_limit=40% siblings=1"), std::string::npos)
      << IdentifyPoint(crowded).label;
}

// Socket options are one parameter: its flag and its spec table, declared once, parsed
// against the socket-option table, and named in a point's key.
TEST(SocketOptions, OneParameterWithItsFlagSpecTableAndKey) {
  const Parameter* p = FindParameter("socket_options", SpecSection::kMatrix);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->flags, "--socket-option");
  EXPECT_EQ(p->axis, AxisKind::kSocketOption);
  EXPECT_EQ(AxisKeyName(AxisKind::kSocketOption), "socket_options");
  EXPECT_NE(ParameterHelp().find("--socket-option"), std::string::npos);

  const SpecCatalog& catalog = testing::TestCatalog();
  EXPECT_EQ(*p->parse("sndbuf=1M", catalog), "sndbuf=1048576");
  EXPECT_EQ(*p->parse("nodelay=1", catalog), "nodelay=true");
  auto unknown = p->parse("sndbuff=1M", catalog);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind(), ErrorKind::kUsage);
  EXPECT_NE(std::string(unknown.error().what()).find("known: sndbuf, rcvbuf, nodelay, congestion, busy_poll"),
            std::string::npos)
      << unknown.error().what();
  auto bad_size = p->parse("rcvbuf=lots", catalog);
  ASSERT_FALSE(bad_size.ok());
  EXPECT_NE(std::string(bad_size.error().what()).find("'lots' is not a size"), std::string::npos);
  auto bad_cc = p->parse("congestion=no_such_cc", catalog);
  ASSERT_FALSE(bad_cc.ok());
  EXPECT_NE(std::string(bad_cc.error().what()).find("net.ipv4.tcp_allowed_congestion_control"), std::string::npos)
      << bad_cc.error().what();

  TrialSpec spec = Tcp("write");
  SetOption(*p, *p->parse("sndbuf=1M", catalog), spec);
  SetOption(*p, *p->parse("rcvbuf=256K", catalog), spec);
  EXPECT_EQ(spec.socket_options.at("sndbuf"), "1048576");
  spec.options = {{"batch", "8"}};
  EXPECT_EQ(PointKey(spec),
            "tcp/write/loopback/bulk/memory/65536/verify,batch=8,sock.rcvbuf=262144,sock.sndbuf=1048576");
  EXPECT_EQ(IdentifyPoint(spec).coords.count("socket_options"), 0u) << "an option is a coordinate of its own axis only";
  // A remote receiving end is sent the options of the receiver's socket only.
  ASSERT_NE(p->receiving_end_options, nullptr);
  EXPECT_EQ(p->receiving_end_options(spec), (std::map<std::string, std::string>{{"rcvbuf", "262144"}}));
}

// Workload options are part of the point when given, after the strategy's and the path's.
TEST(PointIdentity, AKeyNamesTheWorkloadOptionsGiven) {
  TrialSpec spec = Tcp("dual");
  spec.workload = "files";
  spec.options = {{"batch", "8"}};
  spec.path_options = {{"sg", "off"}};
  spec.workload_options = {{"count", "4"}};
  EXPECT_EQ(PointKey(spec), "tcp/dual/loopback/files/memory/65536/verify,batch=8,path.sg=off,workload.count=4");
  const PointIdentity id = IdentifyPoint(spec);
  EXPECT_EQ(id.coords.count("workload_options"), 0u) << "an option is a coordinate of its own axis only";
  EXPECT_EQ(id.coords.at("workload"), "files");
}

// The remote request and the command line set a key-value parameter's options alike.
TEST(ParameterTable, KeyValueParametersSetTheirOwnOptions) {
  TrialSpec spec;
  for (const char* key : {"strategy_options", "path_options", "workload_options"}) {
    const Parameter* p = FindParameter(key, SpecSection::kMatrix);
    ASSERT_NE(p, nullptr) << key;
    ASSERT_NE(p->key_values, nullptr) << key;
    SetOption(*p, std::string(key) + "=a=b", spec);
  }
  EXPECT_EQ(spec.options, (std::map<std::string, std::string>{{"strategy_options", "a=b"}}));
  EXPECT_EQ(spec.path_options, (std::map<std::string, std::string>{{"path_options", "a=b"}}));
  EXPECT_EQ(spec.workload_options, (std::map<std::string, std::string>{{"workload_options", "a=b"}}));
  const Parameter* workload = FindParameter("workload", SpecSection::kMatrix);
  ASSERT_NE(workload, nullptr);
  EXPECT_EQ(workload->flags, "--workload");
  EXPECT_TRUE(workload->receiving_end);
  EXPECT_TRUE(FindParameter("workload_options", SpecSection::kMatrix)->receiving_end);
}

TEST(PointIdentity, LabelAndCoordinatesComeFromTheSameValues) {
  TrialSpec spec = Tcp("tcp_mem");
  spec.message_size = 4096;
  spec.path = "dev";
  spec.path_name = "dev_nosg";
  spec.rate_bps = 500000000;
  const PointIdentity id = IdentifyPoint(spec);
  EXPECT_EQ(id.label, "tcp tcp_mem memory 4K dev_nosg verify rate=500000000");
  EXPECT_EQ(id.coords.at("path"), "dev_nosg");
  EXPECT_EQ(id.coords.at("message_size"), "4096");
  EXPECT_EQ(id.coords.at("rate"), "500000000");
  EXPECT_EQ(id.coords.at("cache"), "warm");
  // The key names the registered path (its options name the rest).
  EXPECT_EQ(id.key, "tcp/tcp_mem/dev/bulk/memory/4096/verify,rate_bps=500000000");
}

TEST(Compatibility, OneRuleSetForTheMatrixAndTheSingleTrial) {
  const SpecCatalog& catalog = TestCatalog();
  const StrategyInfo& udp_only = *catalog.FindStrategy("udp_only");
  const PathInfo& lo = *catalog.FindPath("lo");
  TrialSpec spec = Tcp("udp_only");
  auto gaps = CheckCompatibility(udp_only, lo, spec, SourceKind::kMemory);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].kind, Incompatibility::Kind::kRequest);
  EXPECT_EQ(gaps[0].combination, "protocol=tcp strategy=udp_only");
  EXPECT_EQ(gaps[0].reason, "udp_only does not speak tcp (it speaks udp)");
  EXPECT_EQ(gaps[0].Message(), "udp_only does not speak tcp (it speaks udp); use --protocol udp");

  spec.protocol = Protocol::kUdp;
  spec.message_size = 65508;
  spec.receiver = ReceiverMode::kZeroCopy;
  gaps = CheckCompatibility(udp_only, lo, spec, SourceKind::kFile);
  ASSERT_EQ(gaps.size(), 3u);  // the source, the size and the receiver, in that order
  EXPECT_NE(gaps[0].reason.find("cannot send from a file source"), std::string::npos);
  EXPECT_NE(gaps[1].Message().find("use --size 65507 or less"), std::string::npos);
  EXPECT_EQ(gaps[2].reason, "TCP_ZEROCOPY_RECEIVE has no UDP form");

  // What the path cannot serve is not the request's fault: the trial is unsupported there.
  StrategyInfo frames = udp_only;
  frames.caps.needs_link_layer = true;
  spec = Tcp("udp_only");
  spec.protocol = Protocol::kUdp;
  spec.message_size = 1472;
  gaps = CheckCompatibility(frames, lo, spec, SourceKind::kMemory);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].kind, Incompatibility::Kind::kPath);
  // A receiver on another host takes UDP as well as TCP (zcbench serve): no gap.
  PathInfo remote = lo;
  remote.caps.remote_receiver = true;
  EXPECT_TRUE(CheckCompatibility(udp_only, remote, spec, SourceKind::kMemory).empty());
}

TEST(Compatibility, ResolveTrialRefusesWhatTheMatrixLeavesOut) {
  TrialSpec spec;
  spec.strategy = "write";
  spec.bytes = 1000;
  spec.gro = true;  // UDP_GRO on a TCP trial
  auto r = ResolveTrial(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("UDP_GRO applies to UDP only"), std::string::npos) << r.error().what();
  EXPECT_EQ(r.error().kind(), ErrorKind::kUsage);  // the request's fault: exit 2

  spec.gro = false;
  spec.strategy = "sendto";
  spec.protocol = Protocol::kUdp;
  spec.message_size = 1472;
  spec.rcvlowat = 1;  // SO_RCVLOWAT on a UDP trial
  r = ResolveTrial(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(), "SO_RCVLOWAT is a setting of the TCP receiver; give --rcvlowat with --protocol tcp only");
  EXPECT_EQ(r.error().kind(), ErrorKind::kUsage);
}

TEST(Compatibility, WhatThePathCannotServeIsNotAUsageError) {
  // packet_tx_ring writes Ethernet frames; loopback has no link layer. The request is
  // valid: ResolveTrial takes it, and the trial is unsupported on that path.
  TrialSpec spec;
  spec.strategy = "packet_tx_ring";
  spec.protocol = Protocol::kUdp;
  spec.message_size = 1200;
  spec.bytes = 12000;
  auto r = ResolveTrial(spec);
  ASSERT_TRUE(r.ok()) << r.error().what();
}

// Parallel streams: an axis whose count is part of the point when it is more than one
// (a point of one stream keeps the key records already hold), refused out of range naming
// the parameter, and the CPU placement of the streams a [trial] setting.
TEST(Streams, AnAxisInThePointKeyWhenMoreThanOne) {
  const Parameter* streams = FindParameter("streams", SpecSection::kMatrix);
  ASSERT_NE(streams, nullptr);
  EXPECT_EQ(streams->flags, "--streams,-P");
  TrialSpec spec = Tcp("write");
  spec.streams = 1;
  EXPECT_EQ(PointKey(spec), "tcp/write/loopback/bulk/memory/65536/verify");
  spec.streams = 4;
  EXPECT_EQ(PointKey(spec), "tcp/write/loopback/bulk/memory/65536/verify,streams=4");
  spec.stream_cpus = StreamCpus::kSame;
  EXPECT_EQ(PointKey(spec), "tcp/write/loopback/bulk/memory/65536/verify,streams=4,stream_cpus=same");

  const SpecCatalog& catalog = TestCatalog();
  EXPECT_EQ(*streams->parse("16", catalog), "16");
  for (const char* bad : {"0", "1025", "-2", "many"}) {
    auto r = streams->parse(bad, catalog);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind(), ErrorKind::kUsage);
    EXPECT_NE(r.error().what().find("streams"), std::string::npos) << r.error().what();
  }
  const Parameter* placement = FindParameter("stream_cpus", SpecSection::kTrial);
  ASSERT_NE(placement, nullptr);
  EXPECT_EQ(*placement->parse("same", catalog), "same");
  auto bad = placement->parse("everywhere", catalog);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what().find("stream_cpus"), std::string::npos) << bad.error().what();
}

TEST(ParameterTable, EveryParsersErrorIsAUsageError) {
  const SpecCatalog& catalog = TestCatalog();
  size_t refused = 0;
  for (const Parameter& p : Parameters()) {
    if (p.parse == nullptr) continue;
    for (const char* text : {"@not-a-value@", "-5", "0", "a=b=c=", ""}) {
      auto canonical = p.parse(text, catalog);
      if (canonical.ok()) continue;
      ++refused;
      EXPECT_EQ(canonical.error().kind(), ErrorKind::kUsage)
          << p.key << " " << text << ": " << canonical.error().what();
    }
  }
  EXPECT_GT(refused, 20u);  // the parsers did refuse something
}

}  // namespace
}  // namespace zcb
