#pragma once

// Helpers for tests that run UDP trials: a paced spec, and the checks every verified
// datagram stream must pass.

#include <cstdint>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/trial/trial.h"

namespace zcb::testing {

// `count` calls of `message_size` bytes, paced so that the receiver keeps up.
inline TrialSpec UdpSpec(const std::string& strategy, uint64_t message_size, uint64_t count,
                         std::map<std::string, std::string> options = {}) {
  TrialSpec spec;
  spec.protocol = Protocol::kUdp;
  spec.strategy = strategy;
  spec.message_size = message_size;
  spec.bytes = message_size * count;
  spec.receiver = ReceiverMode::kVerify;
  spec.rate_bps = 400'000'000;
  spec.options = std::move(options);
  spec.drain_s = 0.3;
  ApplyDefaultPinning(spec);
  return spec;
}

// An ok record whose datagrams balance, and everything that arrived verified.
inline void ExpectBalancedAndVerified(const nlohmann::json& record, uint64_t datagrams_expected) {
  ASSERT_TRUE(record.is_object());
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& m = record["metrics"];
  const auto& udp = m["udp"];
  const uint64_t sent = udp["datagrams_sent"], received = udp["datagrams_received"], lost = udp["lost"];
  EXPECT_EQ(sent, datagrams_expected);
  EXPECT_EQ(sent, received + lost) << udp.dump();
  // Paced on loopback: loss is rare. A few lost datagrams on a busy machine are not a failure.
  EXPECT_GE(received * 10, sent * 9) << udp.dump();
  EXPECT_EQ(udp["malformed"], 0u);
  EXPECT_EQ(udp["corrupt"], 0u);
  EXPECT_EQ(m["integrity"]["mismatches"], 0u);
  // Every datagram that arrived verified, and only those count as goodput.
  EXPECT_EQ(m["integrity"]["verified_bytes"], m["bytes_received"]);
  EXPECT_GT(m["goodput_bps"].get<double>(), 0.0);
  EXPECT_GT(udp["sender_rate_bps"].get<double>(), 0.0);
  EXPECT_GT(udp["receiver_rate_bps"].get<double>(), 0.0);
  if (lost == 0) {
    EXPECT_EQ(m["bytes_received"], m["bytes_sent"]);
    EXPECT_EQ(udp["end"], "every datagram sent arrived");
  }
}

}  // namespace zcb::testing
