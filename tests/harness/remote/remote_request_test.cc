// A remote receiving end's request comes from the parameter table and is read back
// through it: what the client's trial says is what the server's receiver does, and a
// request the table does not take is refused naming the field.

#include <gtest/gtest.h>

#include "harness/remote/remote_request.h"

namespace zcb {
namespace {

TrialSpec UdpTrial() {
  TrialSpec spec;
  spec.strategy = "sendto";
  spec.protocol = Protocol::kUdp;
  spec.receiver = ReceiverMode::kDiscard;
  spec.message_size = 1200;
  spec.seed = 77;
  spec.pattern_period = 512 * 1024;
  spec.receive_timeout_s = 2.5;
  spec.gro = true;
  spec.drain_s = 0.25;
  spec.bytes = 1 << 20;
  spec.rate_bps = 200'000'000;  // the sender's: not in the request
  return spec;
}

// The receiving end's share of a trial, field by field.
void ExpectSameReceivingEnd(const TrialSpec& got, const TrialSpec& want) {
  EXPECT_EQ(got.protocol, want.protocol);
  EXPECT_EQ(got.receiver, want.receiver);
  EXPECT_EQ(got.message_size, want.message_size);
  EXPECT_EQ(got.seed, want.seed);
  EXPECT_EQ(got.pattern_period, want.pattern_period);
  EXPECT_EQ(got.receive_timeout_s, want.receive_timeout_s);
  EXPECT_EQ(got.gro, want.gro);
  EXPECT_EQ(got.drain_s, want.drain_s);
  EXPECT_EQ(got.workload, want.workload);
  EXPECT_EQ(got.workload_options, want.workload_options);
}

TEST(RemoteRequest, AUdpTrialRoundTripsThroughTheWire) {
  const TrialSpec spec = UdpTrial();
  const remote::TrialRequest request = MakeTrialRequest(spec, 0xabcdef01);
  EXPECT_EQ(request.parameters.count("rate"), 0u) << "only what the receiving end needs";
  EXPECT_EQ(request.parameters.at("message_size"), "1200");
  auto wire = remote::TrialRequest::FromJson(request.ToJson());
  ASSERT_TRUE(wire.ok()) << wire.error().ToString();
  auto back = ReadTrialRequest(*wire);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  ExpectSameReceivingEnd(*back, spec);
  EXPECT_EQ(wire->flow_id, 0xabcdef01u);
}

TEST(RemoteRequest, ATcpTrialCarriesNoUdpParameter) {
  TrialSpec spec;
  spec.strategy = "write";
  spec.receiver = ReceiverMode::kZeroCopy;
  spec.message_size = 65536;
  spec.seed = 9;
  spec.bytes = 1000;
  const remote::TrialRequest request = MakeTrialRequest(spec, 5);
  EXPECT_EQ(request.parameters.count("udp_gro"), 0u);
  EXPECT_EQ(request.parameters.count("drain"), 0u);
  EXPECT_EQ(request.flow_id, 0u);
  auto back = ReadTrialRequest(request);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  ExpectSameReceivingEnd(*back, spec);
}

TEST(RemoteRequest, WhatTheTableDoesNotTakeIsRefusedNamingTheField) {
  const remote::TrialRequest good = MakeTrialRequest(UdpTrial(), 3);
  auto refused = [&](const std::string& key, const char* text) {
    remote::TrialRequest r = good;
    if (text == nullptr) {
      r.parameters.erase(key);
    } else {
      r.parameters[key] = text;
    }
    auto e = ReadTrialRequest(r);
    EXPECT_FALSE(e.ok()) << key;
    if (e.ok()) return std::string();
    EXPECT_EQ(e.error().kind(), ErrorKind::kUsage);
    EXPECT_NE(e.error().what().find("'" + key + "'"), std::string::npos) << e.error().what();
    return e.error().what();
  };
  EXPECT_NE(refused("bogus", "1").find("not a parameter of a receiving end"), std::string::npos);
  EXPECT_NE(refused("rate", "1G").find("not a parameter of a receiving end"), std::string::npos);
  EXPECT_NE(refused("protocol", "sctp").find("unknown protocol 'sctp'"), std::string::npos);
  refused("receiver", "3");
  refused("seed", "-1");
  refused("seed", "x");
  refused("pattern_period", "1000");
  refused("pattern_period", "1T");
  refused("message_size", "0");
  refused("receive_timeout", "-1");
  refused("receive_timeout", "2h");
  refused("udp_gro", "1");
  refused("drain", "0");
  EXPECT_NE(refused("seed", nullptr).find("missing"), std::string::npos);
  EXPECT_NE(refused("drain", nullptr).find("missing"), std::string::npos);
  EXPECT_NE(refused("socket_options.rcvbuff", "1M").find("unknown socket option 'rcvbuff'"), std::string::npos);
  refused("socket_options.rcvbuf", "0");

  remote::TrialRequest no_flow = good;
  no_flow.flow_id = 0;
  auto e = ReadTrialRequest(no_flow);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().what().find("'flow_id'"), std::string::npos) << e.error().what();
}

// Only the options of the receiver's socket travel: the sender's are set here.
TEST(RemoteRequest, TheReceiversSocketOptionsTravel) {
  TrialSpec spec = UdpTrial();
  spec.socket_options = {{"rcvbuf", "262144"}, {"sndbuf", "1048576"}, {"busy_poll", "50"}};
  const remote::TrialRequest request = MakeTrialRequest(spec, 3);
  EXPECT_EQ(request.parameters.at("socket_options.rcvbuf"), "262144");
  EXPECT_EQ(request.parameters.at("socket_options.busy_poll"), "50");
  EXPECT_EQ(request.parameters.count("socket_options.sndbuf"), 0u) << "the sender's are set here";
  auto back = ReadTrialRequest(request);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  const std::map<std::string, std::string> receivers = {{"busy_poll", "50"}, {"rcvbuf", "262144"}};
  EXPECT_EQ(back->socket_options, receivers);
}

// The server makes the trial's workload from its own registry to learn what its receiver
// is to check: the request names it and carries its options, one field per option.
TEST(RemoteRequest, TheRequestCarriesTheWorkloadAndItsOptions) {
  TrialSpec spec = UdpTrial();
  const remote::TrialRequest request = MakeTrialRequest(spec, 3);
  EXPECT_EQ(request.parameters.at("workload"), "bulk");
  auto back = ReadTrialRequest(request);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->workload, "bulk");
  EXPECT_TRUE(back->workload_options.empty());

  spec.workload_options = {{"files", "3"}};
  const remote::TrialRequest with_option = MakeTrialRequest(spec, 3);
  EXPECT_EQ(with_option.parameters.at("workload_options.files"), "3");
  EXPECT_EQ(with_option.parameters.count("workload_options"), 0u);
  // bulk has no options: the server refuses the field, naming the workload.
  auto refused = ReadTrialRequest(with_option);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kUsage);
  EXPECT_EQ(refused.error().what(), "field 'workload_options.files': workload bulk has no options (got files=3)");
}

// A server that does not know the client's workload (older than the client) refuses it,
// naming the field and the workloads it has.
TEST(RemoteRequest, AWorkloadTheServerDoesNotKnowIsRefused) {
  remote::TrialRequest r = MakeTrialRequest(UdpTrial(), 3);
  r.parameters["workload"] = "no_such_workload";
  auto e = ReadTrialRequest(r);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind(), ErrorKind::kUsage);
  EXPECT_NE(e.error().what().find("field 'workload': unknown workload 'no_such_workload'; valid workloads: bulk"),
            std::string::npos)
      << e.error().what();
  r = MakeTrialRequest(UdpTrial(), 3);
  r.parameters.erase("workload");
  e = ReadTrialRequest(r);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().what().find("field 'workload' is missing"), std::string::npos) << e.error().what();
  r = MakeTrialRequest(UdpTrial(), 3);
  r.parameters["workload_options"] = "files=3";  // options travel one field each
  e = ReadTrialRequest(r);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().what().find("field 'workload_options': not a parameter of a receiving end"), std::string::npos)
      << e.error().what();
  EXPECT_NE(e.error().what().find("workload_options.NAME"), std::string::npos) << e.error().what();
  r = MakeTrialRequest(UdpTrial(), 3);
  r.parameters["seed.x"] = "1";  // a plain parameter has no options
  e = ReadTrialRequest(r);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().what().find("field 'seed.x': not a parameter of a receiving end"), std::string::npos)
      << e.error().what();
}

TEST(RemoteRequest, TheReceivingEndsCompatibilityRulesApply) {
  remote::TrialRequest r = MakeTrialRequest(UdpTrial(), 3);
  r.parameters["receiver"] = "zerocopy";
  auto e = ReadTrialRequest(r);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind(), ErrorKind::kUsage);
  EXPECT_NE(e.error().what().find("TCP_ZEROCOPY_RECEIVE has no UDP form"), std::string::npos) << e.error().what();
  r = MakeTrialRequest(UdpTrial(), 3);
  r.parameters["message_size"] = "65508";
  e = ReadTrialRequest(r);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().what().find("at most 65507 bytes"), std::string::npos) << e.error().what();
}

}  // namespace
}  // namespace zcb
