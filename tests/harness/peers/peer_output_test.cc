// The peers' output parsers, on outputs the real tools wrote on the build machine
// (tests/harness/peers/data/: iperf3 3.12 --json with and without -Z, sockperf 3.7
// throughput and ping-pong --full-rtt, wrk 4.1.0 --latency against nginx 1.22.1 with
// sendfile on and off and against a set one file short), and on the outputs they write when
// they fail.

#include <algorithm>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "harness/peers/peer_registry.h"

namespace zcb {
namespace {

std::string Data(const std::string& name) {
  std::ifstream in(std::string(ZCB_PEER_TEST_DATA) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

PeerInvocation Invocation(uint64_t message_size) {
  PeerInvocation in;
  in.address = "127.0.0.1";
  in.port = 45201;
  in.message_size = message_size;
  in.duration_s = 1;
  return in;
}

TEST(PeerOutput, Iperf3ReadsTheReceiversSum) {
  auto f = FindPeer("iperf3")->Parse(Data("iperf3_write.json"), Invocation(65536));
  ASSERT_TRUE(f.ok()) << f.error().what();
  // end.sum_received of the sample: 2536898560 bytes over 1.00561 s.
  EXPECT_EQ(f->bytes, 2536898560u);
  EXPECT_DOUBLE_EQ(f->elapsed_s, 1.00561);
  EXPECT_NEAR(f->goodput_bps, 20181967641.531013, 1);
  EXPECT_EQ(f->version, "iperf 3.12");
  EXPECT_FALSE(f->latency_us.has_value());
  EXPECT_NE(f->goodput_source.find("sum_received"), std::string::npos);
}

TEST(PeerOutput, Iperf3ZeroCopyIsParsedTheSameWay) {
  auto f = FindPeer("iperf3_zerocopy")->Parse(Data("iperf3_zerocopy.json"), Invocation(65536));
  ASSERT_TRUE(f.ok()) << f.error().what();
  EXPECT_EQ(f->bytes, 1648885760u);
  EXPECT_NEAR(f->goodput_bps, 13146571787.926085, 1);
}

TEST(PeerOutput, Iperf3ErrorAndGarbageAreErrorsThatSaySo) {
  const PeerTool& iperf3 = *FindPeer("iperf3");
  auto refused = iperf3.Parse(R"({"start": {}, "intervals": [], "end": {}, "error": "unable to connect to server"})",
                              Invocation(65536));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().what().find("unable to connect"), std::string::npos);
  auto garbage = iperf3.Parse("iperf3: error - unable to connect", Invocation(65536));
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().what().find("not a JSON object"), std::string::npos);
  auto missing = iperf3.Parse(R"({"end": {}})", Invocation(65536));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().what().find("sum_received"), std::string::npos);
}

TEST(PeerOutput, SockperfThroughputCountsTheClientsMessages) {
  auto f = FindPeer("sockperf")->Parse(Data("sockperf_tp.txt"), Invocation(16384));
  ASSERT_TRUE(f.ok()) << f.error().what();
  // "Total of 69035 messages sent in 1.001 sec", 16 KiB each.
  EXPECT_EQ(f->bytes, 69035u * 16384);
  EXPECT_DOUBLE_EQ(f->elapsed_s, 1.001);
  EXPECT_NEAR(f->goodput_bps, 69035.0 * 16384 * 8 / 1.001, 1);
  // Its own summary (1077.5 MiB/s) agrees within its rounding of the message rate.
  EXPECT_NEAR(f->goodput_bps / 8 / (1 << 20), 1077.5, 2);
  EXPECT_EQ(f->version, "3.7-no.git");
}

TEST(PeerOutput, SockperfPingPongReadsRoundTripPercentiles) {
  auto f = FindPeer("sockperf_pingpong")->Parse(Data("sockperf_pingpong.txt"), Invocation(64));
  ASSERT_TRUE(f.ok()) << f.error().what();
  ASSERT_TRUE(f->latency_us.has_value());
  const PeerLatency& l = *f->latency_us;
  EXPECT_DOUBLE_EQ(l.p50, 12.378);
  EXPECT_DOUBLE_EQ(l.p90, 12.999);
  EXPECT_DOUBLE_EQ(l.p99, 14.491);
  EXPECT_DOUBLE_EQ(l.p999, 40.330);
  EXPECT_DOUBLE_EQ(l.mean, 12.571);
  EXPECT_DOUBLE_EQ(l.min, 11.567);
  EXPECT_DOUBLE_EQ(l.max, 980.490);
  EXPECT_EQ(l.observations, 43721u);
  // [Valid Duration] RunTime=0.550 sec; ReceivedMessages=43721.
  EXPECT_EQ(f->transactions, 43721u);
  EXPECT_NEAR(*f->transactions_per_s, 43721 / 0.550, 1e-6);
  EXPECT_EQ(f->bytes, 43721u * 64);
  EXPECT_NE(f->latency_source.find("full-rtt"), std::string::npos);
}

TEST(PeerOutput, SockperfWithoutItsSummaryIsAnError) {
  auto f = FindPeer("sockperf")->Parse("sockperf: ERROR: connect failed\n", Invocation(1024));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().what().find("Total of N messages"), std::string::npos);
  // A half-RTT output (no --full-rtt) has no avg-rtt: refused, not halved silently.
  std::string half = Data("sockperf_pingpong.txt");
  half.replace(half.find("avg-rtt"), 7, "avg-latency");
  auto p = FindPeer("sockperf_pingpong")->Parse(half, Invocation(64));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().what().find("full-rtt"), std::string::npos);
}

TEST(PeerCommands, IperfRoundsTheDurationUpAndZeroCopyAddsZ) {
  PeerInvocation in = Invocation(65536);
  in.duration_s = 0.3;
  const PeerCommands plain = FindPeer("iperf3")->Commands(in);
  const PeerCommands zc = FindPeer("iperf3_zerocopy")->Commands(in);
  EXPECT_EQ(plain.client_run_s, 1);
  const auto has = [](const std::vector<std::string>& argv, const std::string& arg) {
    return std::find(argv.begin(), argv.end(), arg) != argv.end();
  };
  EXPECT_FALSE(has(plain.client, "-Z"));
  EXPECT_TRUE(has(zc.client, "-Z"));
  EXPECT_TRUE(has(plain.client, "65536"));
  EXPECT_TRUE(has(plain.server, "-1"));
}

TEST(PeerCommands, SockperfPingPongAsksForFullRoundTrips) {
  const PeerCommands c = FindPeer("sockperf_pingpong")->Commands(Invocation(64));
  EXPECT_EQ(c.client[1], "ping-pong");
  EXPECT_NE(std::find(c.client.begin(), c.client.end(), "--full-rtt"), c.client.end());
  EXPECT_NE(std::find(c.client.begin(), c.client.end(), "--tcp"), c.client.end());
}

// wrk: the requests it completed, walking the set in turn, times the files' sizes; its
// rate, and its latency percentiles kept as it printed them.
TEST(PeerOutput, WrkCountsTheFilesItAskedFor) {
  PeerInvocation in = Invocation(65536);
  in.file_sizes = {4096, 4096, 4096, 4096};
  auto f = FindPeer("nginx_wrk")->Parse(Data("wrk_4k_sendfile.txt"), in);
  ASSERT_TRUE(f.ok()) << f.error().what();
  // "25123 requests in 1.02s, 104.25MB read": 25123 files of 4096 bytes.
  EXPECT_EQ(f->transactions, 25123u);
  EXPECT_EQ(f->bytes, 25123u * 4096u);
  EXPECT_DOUBLE_EQ(f->elapsed_s, 1.02);
  EXPECT_NEAR(f->goodput_bps, 25123.0 * 4096 * 8 / 1.02, 1);
  EXPECT_DOUBLE_EQ(*f->transactions_per_s, 24732.62);
  EXPECT_EQ(f->parsed["transfer_per_s"], "102.63MB");
  EXPECT_DOUBLE_EQ(f->parsed["latency_percentiles_us"]["50"].get<double>(), 27.0);
  EXPECT_DOUBLE_EQ(f->parsed["latency_percentiles_us"]["75"].get<double>(), 32.0);
  EXPECT_DOUBLE_EQ(f->parsed["latency_percentiles_us"]["90"].get<double>(), 2800.0);
  EXPECT_DOUBLE_EQ(f->parsed["latency_percentiles_us"]["99"].get<double>(), 12100.0);
  EXPECT_DOUBLE_EQ(f->parsed["latency_mean_us"].get<double>(), 845.29);
  EXPECT_DOUBLE_EQ(f->parsed["latency_max_us"].get<double>(), 18950.0);
  // No p99.9 and no minimum: the summary stays null, the source says why.
  EXPECT_FALSE(f->latency_us.has_value());
  EXPECT_NE(f->latency_source.find("no p99.9"), std::string::npos);
  EXPECT_NE(f->goodput_source.find("sizes of the files"), std::string::npos);
}

TEST(PeerOutput, WrkCountsAPartPassOverMixedSizes) {
  PeerInvocation in = Invocation(65536);
  // 24117 requests over 5 files: 4823 whole passes, then files 0 and 1.
  in.file_sizes = {1000, 2000, 3000, 4000, 5000};
  auto f = FindPeer("nginx_wrk_nosendfile")->Parse(Data("wrk_4k_nosendfile.txt"), in);
  ASSERT_TRUE(f.ok()) << f.error().what();
  EXPECT_EQ(f->bytes, 4823u * 15000u + 1000u + 2000u);
  EXPECT_DOUBLE_EQ(f->elapsed_s, 1.10);
}

TEST(PeerOutput, WrkErrorsAndMissingLinesAreErrorsThatSaySo) {
  PeerInvocation in = Invocation(65536);
  in.file_sizes = {4096, 4096, 4096, 4096, 4096};
  auto missing = FindPeer("nginx_wrk")->Parse(Data("wrk_missing_file.txt"), in);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().what().find("Non-2xx or 3xx responses: 4235"), std::string::npos) << missing.error().what();
  auto garbage = FindPeer("nginx_wrk")->Parse("unable to connect to 127.0.0.1:1 Connection refused\n", in);
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().what().find("requests in"), std::string::npos) << garbage.error().what();
}

}  // namespace
}  // namespace zcb
