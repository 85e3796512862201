// The control protocol's trial messages: the generic request, the UDP sender's count and
// the receiver's datagram counts round-trip, and every reader names the field it refuses.

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "drivers/remote/messages.h"

namespace zcb::remote {
namespace {

// The request's generic form: parameters as text and the flow id. What the keys mean is
// the harness's (tests/harness/remote/remote_request_test.cc).
TEST(RemoteMessagesTest, TrialRequestsCarryTextParametersAndTheFlowId) {
  TrialRequest r;
  r.parameters = {{"protocol", "udp"}, {"seed", "9"}};
  r.flow_id = 0xabcdef01;
  auto back = TrialRequest::FromJson(r.ToJson());
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->parameters, r.parameters);
  EXPECT_EQ(back->flow_id, 0xabcdef01u);
  auto refused = [&](const char* key, nlohmann::json value) {
    nlohmann::json m = r.ToJson();
    if (value.is_discarded()) {
      m.erase(key);
    } else {
      m[key] = value;
    }
    auto e = TrialRequest::FromJson(m);
    EXPECT_FALSE(e.ok()) << key << " " << value.dump();
    return e.ok() ? std::string() : e.error().ToString();
  };
  const nlohmann::json absent(nlohmann::json::value_t::discarded);
  EXPECT_NE(refused("flow_id", 1ull << 32).find("'flow_id'"), std::string::npos);
  EXPECT_NE(refused("flow_id", -1).find("'flow_id'"), std::string::npos);
  EXPECT_NE(refused("flow_id", absent).find("'flow_id'"), std::string::npos);
  EXPECT_NE(refused("parameters", absent).find("'parameters'"), std::string::npos);
  EXPECT_NE(refused("parameters", nlohmann::json::array()).find("'parameters'"), std::string::npos);
  EXPECT_NE(refused("parameters", {{"seed", 9}}).find("'parameters.seed'"), std::string::npos);
  EXPECT_NE(refused("parameters", {{"seed", std::string(300, '1')}}).find("'parameters.seed'"), std::string::npos);
  nlohmann::json many = nlohmann::json::object();
  for (size_t i = 0; i <= kMaxRequestParameters; ++i) many[fmt::format("k{}", i)] = "v";
  EXPECT_NE(refused("parameters", many).find("at most"), std::string::npos);
}

TEST(RemoteMessagesTest, DatagramCountsRoundTripAndAreChecked) {
  DatagramReceiveStats s;
  s.datagrams_received = 10;
  s.duplicated = 1;
  s.reordered = 2;
  s.stale = 3;
  s.malformed = 4;
  s.empty = 5;
  s.corrupt = 6;
  s.first_corrupt_sequence = 7;
  s.bytes_received = 1000;
  s.unique_bytes = 900;
  s.recv_calls = 8;
  s.coalesced_buffers = 9;
  s.queue_drops = 11;
  s.queue_drops_known = true;
  s.receive_buffer_bytes = 4096;
  s.receive_buffer_forced = true;
  s.all_arrived = true;
  s.integrity.mode = ReceiverMode::kRead;
  s.integrity.verified_bytes = 12;
  s.integrity.mismatches = 13;
  const nlohmann::json json = DatagramStatsToJson(s);
  EXPECT_TRUE(json["highest_sequence"].is_null());
  auto back = DatagramStatsFromJson(json);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(DatagramStatsToJson(*back), json);
  nlohmann::json bad = json;
  bad["lost"] = 1;  // not one of its fields: ignored
  bad["corrupt"] = -1;
  auto e = DatagramStatsFromJson(bad);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().ToString(), "result: datagrams: field 'corrupt' must be a non-negative integer");
  auto sent = DatagramsSent::FromJson(DatagramsSent{42, true}.ToJson());
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->datagrams, 42u);
  EXPECT_TRUE(sent->aborted);
  EXPECT_FALSE(DatagramsSent::FromJson({{"type", "sent"}, {"datagrams", "42"}, {"aborted", false}}).ok());
}

// The receiver's interface profile is an optional field of the result: an older server
// sends none (the record says so), a server that could not read it says why.
TEST(RemoteMessagesTest, TheReceiversInterfaceProfileIsOptionalAndChecked) {
  auto absent = ReceiverInterface({{"type", "result"}});
  ASSERT_TRUE(absent.ok());
  EXPECT_TRUE(absent->profile.is_null());
  EXPECT_NE(absent->reason.find("older"), std::string::npos) << absent->reason;

  auto given = ReceiverInterface({{"interface", {{"name", "eth0"}, {"mtu", 1500}}}});
  ASSERT_TRUE(given.ok()) << given.error().ToString();
  EXPECT_EQ(given->profile["name"], "eth0");
  EXPECT_TRUE(given->reason.empty());

  auto unreadable = ReceiverInterface({{"interface", nullptr}, {"interface_reason", "no route to 198.18.9.1"}});
  ASSERT_TRUE(unreadable.ok());
  EXPECT_TRUE(unreadable->profile.is_null());
  EXPECT_NE(unreadable->reason.find("no route to 198.18.9.1"), std::string::npos);

  EXPECT_FALSE(ReceiverInterface({{"interface", nullptr}}).ok()) << "null needs its reason";
  EXPECT_FALSE(ReceiverInterface({{"interface", "eth0"}}).ok());
  EXPECT_FALSE(ReceiverInterface({{"interface", {{"mtu", 1500}}}}).ok()) << "a profile names its device";
}

}  // namespace
}  // namespace zcb::remote
