// request_response through whole trials: every TCP strategy that serves the workload (by
// WorkloadInfo::Serves, from the registries; no names) completes its transactions over
// loopback with every response verified and the latency figures present and ordered; the
// client catches a response that differs from the pattern stream; the workload is left
// out, with a reason, where no end can run its client (UDP, --path remote).

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "drivers/network_path.h"
#include "harness/trial/receiving_end.h"
#include "harness/trial/trial_sockets.h"
#include "stack/registry.h"
#include "tests/trial_test_util.h"
#include "workloads/registry.h"

namespace zcb {
namespace {

constexpr uint64_t kTransactions = 300;
constexpr uint64_t kResponse = 4096;

const WorkloadInfo& RequestResponse() {
  auto found = FindWorkload("request_response");
  EXPECT_TRUE(found.ok());
  return **found;
}

TrialSpec ExchangeSpec(const std::string& strategy, SourceKind source,
                       const std::map<std::string, std::string>& options) {
  TrialSpec spec = testing::VerifiedStream(strategy, kTransactions * kResponse, kResponse);
  spec.workload = "request_response";
  spec.workload_options = options;
  spec.source = source;
  return spec;
}

// The request_response figures of an ok record of kTransactions transactions.
void ExpectTransactionsTimed(const nlohmann::json& record, bool lends_buffers) {
  testing::ExpectVerified(record, kTransactions * kResponse);
  const auto& rr = record["metrics"]["request_response"];
  ASSERT_TRUE(rr.is_object()) << record["metrics"].dump();
  EXPECT_EQ(rr["transactions"].get<uint64_t>(), kTransactions);
  EXPECT_GT(rr["transactions_per_s"].get<double>(), 0.0);
  const auto& l = rr["latency_us"];
  ASSERT_TRUE(l.is_object());
  EXPECT_GT(l["min"].get<double>(), 0.0);
  EXPECT_LE(l["min"].get<double>(), l["p50"].get<double>());
  EXPECT_LE(l["p50"].get<double>(), l["p90"].get<double>());
  EXPECT_LE(l["p90"].get<double>(), l["p99"].get<double>());
  EXPECT_LE(l["p99"].get<double>(), l["p999"].get<double>());
  EXPECT_LE(l["p999"].get<double>(), l["max"].get<double>());
  EXPECT_GE(l["mean"].get<double>(), l["min"].get<double>());
  EXPECT_LE(l["mean"].get<double>(), l["max"].get<double>());
  // The histogram holds every transaction, once.
  uint64_t counted = 0;
  for (const auto& bucket : rr["histogram"]["buckets"]) counted += bucket[1].get<uint64_t>();
  EXPECT_EQ(counted, kTransactions);
  EXPECT_GT(rr["cpu_ns_per_transaction"].get<double>(), 0.0);
  EXPECT_TRUE(rr["completion_latency"].is_null());
  const std::string reason = rr["completion_latency_reason"];
  EXPECT_EQ(reason.find("lends no buffers") == std::string::npos, lends_buffers) << reason;
}

struct Case {
  std::string strategy;
  SourceKind source;
};

std::vector<Case> ServingCases() {
  std::vector<Case> cases;
  for (const StrategyInfo& info : AllStrategies()) {
    for (SourceKind source : info.caps.sources) {
      if (RequestResponse().Serves(info, Protocol::kTcp, source)) cases.push_back({info.name, source});
    }
  }
  return cases;
}

class RequestResponseTrialTest : public ::testing::TestWithParam<Case> {};

TEST_P(RequestResponseTrialTest, CompletesVerifiedTimedTransactions) {
  const Case& c = GetParam();
  auto info = FindStrategy(c.strategy);
  ASSERT_TRUE(info.ok());
  if (!testing::AvailableOrFailUnderCi(c.strategy)) GTEST_SKIP() << testing::UnavailableReason(c.strategy);
  ExpectTransactionsTimed(testing::RunOrFail(ExchangeSpec(c.strategy, c.source, {})), (*info)->caps.lends_buffers);
}

INSTANTIATE_TEST_SUITE_P(EveryServingStrategy, RequestResponseTrialTest, ::testing::ValuesIn(ServingCases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.strategy + "_" + std::string(ToString(info.param.source));
                         });

// Runs `check(case, lends_buffers)` once per serving strategy, from its first source that
// serves.
void ForEachServingStrategy(const std::function<void(const Case&, bool)>& check) {
  std::set<std::string> done;
  for (const Case& c : ServingCases()) {
    if (!done.insert(c.strategy).second || !testing::AvailableOrFailUnderCi(c.strategy)) continue;
    SCOPED_TRACE(c.strategy);
    auto info = FindStrategy(c.strategy);
    ASSERT_TRUE(info.ok());
    check(c, (*info)->caps.lends_buffers);
  }
  EXPECT_FALSE(done.empty());
}

// netperf's burst: eight 100-byte requests in flight.
TEST(RequestResponseTrial, KeepsSeveralRequestsInFlight) {
  ForEachServingStrategy([](const Case& c, bool lends_buffers) {
    const nlohmann::json record =
        testing::RunOrFail(ExchangeSpec(c.strategy, c.source, {{"outstanding", "8"}, {"request_size", "100"}}));
    ExpectTransactionsTimed(record, lends_buffers);
    EXPECT_EQ(record["params"]["workload_option_values"]["outstanding"], "8");
  });
}

// Over a veth pair between two namespaces: the exchange crosses a device path.
TEST(RequestResponseTrial, EveryServingStrategyOverVeth) {
  ZCB_REQUIRE_ROOT();
  ForEachServingStrategy([](const Case& c, bool lends_buffers) {
    TrialSpec spec = ExchangeSpec(c.strategy, c.source, {{"request_size", "64"}});
    spec.path = "veth";
    const nlohmann::json record = testing::RunOrFail(spec);
    ExpectTransactionsTimed(record, lends_buffers);
    EXPECT_EQ(record["path"]["name"], "veth");
  });
}

TEST(RequestResponseTrial, ADurationEndsTheExchangeCleanly) {
  TrialSpec spec = ExchangeSpec("write", SourceKind::kMemory, {{"think_time_us", "200"}});
  spec.bytes.reset();
  spec.duration_s = 0.3;
  const nlohmann::json record = testing::RunOrFail(spec);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& rr = record["metrics"]["request_response"];
  // 200 us of thinking per transaction bounds the count from above (0.3 s / 200 us).
  EXPECT_GT(rr["transactions"].get<uint64_t>(), 10u);
  EXPECT_LE(rr["transactions"].get<uint64_t>(), 1500u);
  EXPECT_EQ(record["metrics"]["bytes_received"].get<uint64_t>(), rr["transactions"].get<uint64_t>() * kResponse);
}

// --rate paces the requests: 4 KiB responses at 100 per second's worth of bits.
TEST(RequestResponseTrial, ARatePacesTheRequests) {
  TrialSpec spec = ExchangeSpec("write", SourceKind::kMemory, {});
  spec.bytes.reset();
  spec.duration_s = 0.5;
  spec.rate_bps = kResponse * 8 * 100;
  const nlohmann::json record = testing::RunOrFail(spec);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const uint64_t transactions = record["metrics"]["request_response"]["transactions"];
  EXPECT_GE(transactions, 30u);  // 50 due in 0.5 s; a busy machine falls behind
  EXPECT_LE(transactions, 52u);  // never ahead of the schedule (the first is due at once)
}

// A server that answers with the pattern stream but one flipped byte in response 2: the
// client counts it, at its stream offset.
TEST(RequestResponseClient, CatchesACorruptResponse) {
  constexpr uint64_t kCount = 4;
  constexpr uint64_t kFlipped = 2 * kResponse + 100;
  TrialSpec spec = ExchangeSpec("write", SourceKind::kMemory, {});
  spec.bytes = kCount * kResponse;
  auto trial = ResolveTrial(spec);
  ASSERT_TRUE(trial.ok()) << trial.error().ToString();
  auto workload = CreateWorkload("request_response", {});
  ASSERT_TRUE(workload.ok());
  auto kind = ChooseReceivingEnd(ReceivingEndKinds(), ReceiverSite::kHere, Protocol::kTcp, (*workload)->expectation(),
                                 "request_response");
  ASSERT_TRUE(kind.ok()) << kind.error().ToString();
  auto path = CreatePath("loopback", {});
  ASSERT_TRUE(path.ok());
  const Pattern pattern(spec.seed, spec.pattern_period);
  const SendSchedule schedule{kResponse, spec.bytes, std::nullopt, 0};
  auto end = (*kind)->create(
      ReceivingEndSetup{*trial, **path, pattern, (*workload)->expectation(), (*workload)->exchange(schedule)});
  ASSERT_TRUE(end.ok()) << end.error().ToString();

  WindowGate gate(2, nullptr);
  std::thread client([&] { (*end)->ReceiverThread(gate); });
  Status served = OkStatus();
  std::thread server([&] {
    UniqueFd sock;
    auto serve = [&]() -> Status {
      ZCB_ASSIGN_OR_RETURN(const sockaddr_storage addr, (*end)->Address());
      ZCB_ASSIGN_OR_RETURN(sock, ConnectToReceiver(addr, SOCK_STREAM, 5, "the client"));
      return OkStatus();
    };
    served = serve();
    if (!gate.Arrive(served)) return;
    std::vector<uint8_t> response(kResponse);
    for (uint64_t k = 0; k < kCount; ++k) {
      uint8_t request = 0;
      if (::recv(sock.get(), &request, 1, MSG_WAITALL) != 1) return;
      pattern.Fill(k * kResponse, response);
      if (k == 2) response[kFlipped - k * kResponse] ^= 0xff;
      if (::send(sock.get(), response.data(), response.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(kResponse)) return;
    }
    uint8_t eof = 0;
    EXPECT_EQ(::recv(sock.get(), &eof, 1, 0), 0);  // the client's shutdown
    ::shutdown(sock.get(), SHUT_WR);
  });
  TrialContext context;
  const MeasuredWindow window = gate.Run(context, {&server, &client});
  ASSERT_TRUE(served.ok()) << served.error().ToString();
  const ReceivedFigures figures = (*end)->Collect(SenderOutcome{}, window);
  ASSERT_TRUE(figures.run.ok()) << figures.run.error().ToString();
  ASSERT_TRUE(figures.exchange.has_value());
  EXPECT_EQ(figures.exchange->transactions, kCount);
  EXPECT_EQ(figures.exchange->latency_ns.count(), kCount);
  ASSERT_TRUE(figures.integrity.has_value());
  EXPECT_EQ(figures.integrity->verified_bytes, kCount * kResponse);
  EXPECT_EQ(figures.integrity->mismatches, 1u);
  EXPECT_EQ(figures.integrity->first_mismatch_offset, kFlipped);
}

// TCP only: a UDP trial is refused before it runs (and a spec leaves such points out),
// naming the workload and the fix.
TEST(RequestResponseTrial, UdpIsRefusedNamingTheFix) {
  const auto& all = AllStrategies();
  const auto udp = std::find_if(all.begin(), all.end(), [](const StrategyInfo& s) { return s.Speaks(Protocol::kUdp); });
  ASSERT_NE(udp, all.end());
  EXPECT_FALSE(RequestResponse().Serves(*udp, Protocol::kUdp, SourceKind::kMemory));
  TrialSpec spec = ExchangeSpec(udp->name, SourceKind::kMemory, {});
  spec.protocol = Protocol::kUdp;
  spec.message_size = 1024;
  testing::ExpectUsageErrorNaming(spec, {"workload request_response runs over tcp only", "--protocol tcp"});
}

TEST(RequestResponseTrial, NoRemoteEndChecksTheExchangeYet) {
  auto kind = ChooseReceivingEnd(ReceivingEndKinds(), ReceiverSite::kRemote, Protocol::kTcp,
                                 ReceiverExpectation::kRequestResponse, "request_response");
  ASSERT_FALSE(kind.ok());
  EXPECT_EQ(kind.error().kind(), ErrorKind::kUnsupported);
  EXPECT_NE(kind.error().what().find("request/response exchange"), std::string::npos) << kind.error().what();
}

TEST(RequestResponseTrial, ZeroCopyReceiveCannotServeTheClient) {
  TrialSpec spec = ExchangeSpec("write", SourceKind::kMemory, {});
  spec.receiver = ReceiverMode::kZeroCopy;
  const nlohmann::json record = testing::RunOrFail(spec);
  ASSERT_TRUE(record.is_object());
  EXPECT_EQ(record["status"], "unsupported");
  EXPECT_NE(record["error"].get<std::string>().find("zerocopy"), std::string::npos) << record["error"];
}

}  // namespace
}  // namespace zcb
