// The receiving end is chosen by capability: where the path puts the receiver, the
// protocol, and what the workload expects the receiver to check. An end that cannot check
// the workload's expectation is refused as unsupported, naming both; the chosen end is set
// up with the expectation.

#include "harness/trial/receiving_end.h"

#include <gtest/gtest.h>

#include <set>
#include <tuple>

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
      {"fake local stream", ReceiverSite::kHere, Protocol::kTcp, {}, RecordSetup},
      {"fake local datagram", ReceiverSite::kHere, Protocol::kUdp, {ReceiverExpectation::kPatternStream}, RecordSetup},
      {"fake remote stream", ReceiverSite::kRemote, Protocol::kTcp, {ReceiverExpectation::kPatternStream}, RecordSetup},
  };
}

TEST(ChooseReceivingEnd, TheEndThatChecksTheExpectationWhereThePathPutsTheReceiver) {
  const std::vector<ReceivingEndKind> kinds = FakeKinds();
  auto local =
      ChooseReceivingEnd(kinds, ReceiverSite::kHere, Protocol::kUdp, ReceiverExpectation::kPatternStream, "bulk");
  ASSERT_TRUE(local.ok()) << local.error().ToString();
  EXPECT_EQ((*local)->name, "fake local datagram");
  auto remote =
      ChooseReceivingEnd(kinds, ReceiverSite::kRemote, Protocol::kTcp, ReceiverExpectation::kPatternStream, "bulk");
  ASSERT_TRUE(remote.ok()) << remote.error().ToString();
  EXPECT_EQ((*remote)->name, "fake remote stream");
}

TEST(ChooseReceivingEnd, AnEndThatCannotCheckTheExpectationIsUnsupportedNamingBoth) {
  auto refused =
      ChooseReceivingEnd(FakeKinds(), ReceiverSite::kHere, Protocol::kTcp, ReceiverExpectation::kPatternStream, "bulk");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kUnsupported);
  EXPECT_EQ(refused.error().what(),
            "workload bulk expects the receiver to check a pattern stream, which the fake local stream receiving end "
            "cannot check");
  auto none = ChooseReceivingEnd(FakeKinds(), ReceiverSite::kRemote, Protocol::kUdp,
                                 ReceiverExpectation::kPatternStream, "bulk");
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
  auto kind = ChooseReceivingEnd(kinds, ReceiverSite::kRemote, Protocol::kTcp, (*workload)->expectation(), "bulk");
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

// This build's ends: one local and one remote end per protocol, the sink's for UDP, and
// every registered workload's expectation checked by the local end of each protocol it
// runs over.
TEST(ReceivingEndKinds, EveryWorkloadHasALocalEndThatChecksItsExpectation) {
  // A place (where the receiver runs, the protocol) may hold several ends, one per thing
  // to check: no expectation is checked by two ends of one place, so the choice is never
  // ambiguous.
  std::set<std::pair<ReceiverSite, Protocol>> places;
  std::set<std::tuple<ReceiverSite, Protocol, ReceiverExpectation>> checked;
  for (const ReceivingEndKind& kind : ReceivingEndKinds()) {
    places.emplace(kind.site, kind.protocol);
    for (ReceiverExpectation expectation :
         {ReceiverExpectation::kPatternStream, ReceiverExpectation::kRequestResponse}) {
      if (!kind.checks.Has(expectation)) continue;
      EXPECT_TRUE(checked.emplace(kind.site, kind.protocol, expectation).second)
          << kind.name << ": two ends for one place check a " << ToString(expectation);
    }
    EXPECT_FALSE(kind.checks.empty()) << kind.name;
    EXPECT_NE(kind.create, nullptr) << kind.name;
  }
  EXPECT_EQ(places.size(), 2 * AllProtocols().size() + 1);
  EXPECT_EQ(places.count({ReceiverSite::kNone, Protocol::kUdp}), 1u);
  EXPECT_EQ(places.count({ReceiverSite::kNone, Protocol::kTcp}), 0u);  // a TCP handshake needs a peer
  for (const WorkloadInfo& info : AllWorkloads()) {
    auto workload = CreateWorkload(info.name, {});
    ASSERT_TRUE(workload.ok()) << info.name;
    for (Protocol protocol : AllProtocols()) {
      if (!info.needs.protocols.Has(protocol)) continue;
      auto kind =
          ChooseReceivingEnd(ReceivingEndKinds(), ReceiverSite::kHere, protocol, (*workload)->expectation(), info.name);
      EXPECT_TRUE(kind.ok()) << info.name << " over " << ToString(protocol) << ": " << kind.error().ToString();
    }
  }
}

}  // namespace
}  // namespace zcb
