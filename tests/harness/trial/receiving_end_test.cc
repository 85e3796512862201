// The receiving end is chosen by capability: where the path puts the receiver, the
// protocol, and what the workload expects the receiver to check. An end that cannot check
// the workload's expectation is refused as unsupported, naming both; the chosen end is set
// up with the expectation.

#include "harness/trial/receiving_end.h"

#include <gtest/gtest.h>

#include <set>

#include "workloads/registry.h"

namespace zcb {
namespace {

// What the fake ends' factory was set up with.
ReceiverExpectation last_setup_expectation{};
std::string_view last_setup_workload;

Result<std::unique_ptr<ReceivingEnd>> RecordSetup(const ReceivingEndSetup& setup) {
  last_setup_expectation = setup.expectation;
  last_setup_workload = setup.trial.spec.workload;
  return Errorf("a fake end is never made");
}

// Fake kinds: a local stream end that checks nothing, a local datagram end and a remote
// stream end that check the pattern stream; no remote datagram end.
std::vector<ReceivingEndKind> FakeKinds() {
  return {
      {"fake local stream", false, Protocol::kTcp, {}, RecordSetup},
      {"fake local datagram", false, Protocol::kUdp, {ReceiverExpectation::kPatternStream}, RecordSetup},
      {"fake remote stream", true, Protocol::kTcp, {ReceiverExpectation::kPatternStream}, RecordSetup},
  };
}

TEST(ChooseReceivingEnd, TheEndThatChecksTheExpectationWhereThePathPutsTheReceiver) {
  const std::vector<ReceivingEndKind> kinds = FakeKinds();
  auto local = ChooseReceivingEnd(kinds, false, Protocol::kUdp, ReceiverExpectation::kPatternStream, "bulk");
  ASSERT_TRUE(local.ok()) << local.error().ToString();
  EXPECT_EQ((*local)->name, "fake local datagram");
  auto remote = ChooseReceivingEnd(kinds, true, Protocol::kTcp, ReceiverExpectation::kPatternStream, "bulk");
  ASSERT_TRUE(remote.ok()) << remote.error().ToString();
  EXPECT_EQ((*remote)->name, "fake remote stream");
}

TEST(ChooseReceivingEnd, AnEndThatCannotCheckTheExpectationIsUnsupportedNamingBoth) {
  auto refused = ChooseReceivingEnd(FakeKinds(), false, Protocol::kTcp, ReceiverExpectation::kPatternStream, "bulk");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kUnsupported);
  EXPECT_EQ(refused.error().what(),
            "workload bulk expects the receiver to check a pattern stream, which the fake local stream receiving end "
            "cannot check");
  auto none = ChooseReceivingEnd(FakeKinds(), true, Protocol::kUdp, ReceiverExpectation::kPatternStream, "bulk");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind(), ErrorKind::kUnsupported);
  EXPECT_EQ(none.error().what(), "no remote receiving end over udp in this build");
}

// The runner sets the chosen end up with the workload's expectation (trial_runner.cc);
// the setup carries it to the kind's factory.
TEST(ChooseReceivingEnd, TheChosenEndIsSetUpWithTheExpectation) {
  const std::vector<ReceivingEndKind> kinds = FakeKinds();
  auto workload = CreateWorkload("bulk", {});
  ASSERT_TRUE(workload.ok());
  auto kind = ChooseReceivingEnd(kinds, true, Protocol::kTcp, (*workload)->expectation(), "bulk");
  ASSERT_TRUE(kind.ok());
  ResolvedTrial trial;
  trial.spec.workload = "bulk";
  const Pattern pattern(1, Pattern::kDefaultPeriod);
  auto path = CreatePath("loopback", {});
  ASSERT_TRUE(path.ok()) << path.error().ToString();
  last_setup_workload = {};
  auto made = (*kind)->create(ReceivingEndSetup{trial, **path, pattern, (*workload)->expectation()});
  EXPECT_FALSE(made.ok());
  EXPECT_EQ(last_setup_expectation, ReceiverExpectation::kPatternStream);
  EXPECT_EQ(last_setup_workload, "bulk");
}

// This build's ends: one local and one remote end per protocol, and every registered
// workload's expectation checked by the local end of each protocol it runs over.
TEST(ReceivingEndKinds, EveryWorkloadHasALocalEndThatChecksItsExpectation) {
  std::set<std::pair<bool, Protocol>> places;
  for (const ReceivingEndKind& kind : ReceivingEndKinds()) {
    EXPECT_TRUE(places.emplace(kind.remote, kind.protocol).second) << kind.name << ": two ends for one place";
    EXPECT_FALSE(kind.checks.empty()) << kind.name;
    EXPECT_NE(kind.create, nullptr) << kind.name;
  }
  EXPECT_EQ(places.size(), 2 * AllProtocols().size());
  for (const WorkloadInfo& info : AllWorkloads()) {
    auto workload = CreateWorkload(info.name, {});
    ASSERT_TRUE(workload.ok()) << info.name;
    for (Protocol protocol : AllProtocols()) {
      if (!info.needs.protocols.Has(protocol)) continue;
      auto kind = ChooseReceivingEnd(ReceivingEndKinds(), false, protocol, (*workload)->expectation(), info.name);
      EXPECT_TRUE(kind.ok()) << info.name << " over " << ToString(protocol) << ": " << kind.error().ToString();
    }
  }
}

}  // namespace
}  // namespace zcb
