#pragma once

// Helpers for tests that run real trials over loopback.

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/trial.h"

namespace zcb::testing {

// Resolves and runs `spec`; fails the test on a usage error.
inline nlohmann::json RunOrFail(const TrialSpec& spec) {
  auto resolved = ResolveTrial(spec);
  if (!resolved.ok()) {
    ADD_FAILURE() << "ResolveTrial: " << resolved.error().ToString();
    return nullptr;
  }
  TrialContext context;
  context.run_id = "test";
  return RunTrial(*resolved, context);
}

// A TCP stream of exactly `bytes` through `strategy`, verified.
inline TrialSpec VerifiedStream(const std::string& strategy, uint64_t bytes, uint64_t message_size = 64 * 1024) {
  TrialSpec spec;
  spec.strategy = strategy;
  spec.bytes = bytes;
  spec.message_size = message_size;
  spec.receiver = ReceiverMode::kVerify;
  ApplyDefaultPinning(spec);
  return spec;
}

// Expects an ok record that delivered exactly `bytes` with no mismatch.
inline void ExpectVerified(const nlohmann::json& record, uint64_t bytes) {
  ASSERT_TRUE(record.is_object());
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& m = record["metrics"];
  EXPECT_EQ(m["bytes_sent"].get<uint64_t>(), bytes);
  EXPECT_EQ(m["bytes_received"].get<uint64_t>(), bytes);
  EXPECT_EQ(m["integrity"]["verified_bytes"].get<uint64_t>(), bytes);
  EXPECT_EQ(m["integrity"]["mismatches"].get<uint64_t>(), 0u);
  EXPECT_TRUE(m["integrity"]["first_mismatch_offset"].is_null());
}

// Tests that need a privilege: under CI a missing privilege is a failure, elsewhere a skip.
#define ZCB_REQUIRE_ROOT()                                                                   \
  do {                                                                                       \
    if (::geteuid() != 0) {                                                                  \
      if (std::getenv("CI") != nullptr) GTEST_FAIL() << "this test needs root (CI is set)"; \
      GTEST_SKIP() << "needs root (CAP_NET_ADMIN/CAP_SYS_ADMIN): run as root";               \
    }                                                                                        \
  } while (0)

}  // namespace zcb::testing
