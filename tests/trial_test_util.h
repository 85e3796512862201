#pragma once

// Helpers for tests that run real trials over loopback.

#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/trial/trial.h"
#include "stack/registry.h"
#include "tests/ci_requirements.h"

namespace zcb::testing {

// Resolves and runs `spec` with `probes` measuring its window; fails the test on a
// usage error.
inline nlohmann::json RunOrFail(const TrialSpec& spec, std::vector<WindowProbe*> probes = {}) {
  auto resolved = ResolveTrial(spec);
  if (!resolved.ok()) {
    ADD_FAILURE() << "ResolveTrial: " << resolved.error().ToString();
    return nullptr;
  }
  TrialContext context;
  context.run_id = "test";
  context.probes = std::move(probes);
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

// Whether `strategy` can run on this machine (its availability probe), and why not.
inline bool Available(const std::string& strategy) {
  auto info = FindStrategy(strategy);
  return info.ok() && ProbeAvailability(**info).available;
}
inline std::string UnavailableReason(const std::string& strategy) {
  auto info = FindStrategy(strategy);
  return info.ok() ? ProbeAvailability(**info).reason : info.error().ToString();
}

// A strategy this machine cannot run skips the test, or fails it under CI.
#define ZCB_SKIP_IF_UNAVAILABLE(strategy)                                                                  \
  do {                                                                                                     \
    if (!::zcb::testing::Available(strategy))                                                              \
      ZCB_SKIP_OR_FAIL_UNDER_CI(std::string(strategy) +                                                    \
                                " is not available here: " + ::zcb::testing::UnavailableReason(strategy)); \
  } while (0)

// In a loop over strategies: whether `strategy` can run. When it cannot, the loop goes on
// with the others, but under CI the test fails (non-fatally) naming it.
inline bool AvailableOrFailUnderCi(const std::string& strategy) {
  if (Available(strategy)) return true;
  if (UnderCi()) ADD_FAILURE() << strategy << " is not available here (CI is set): " << UnavailableReason(strategy);
  return false;
}

// An error record whose reason names each of `words`.
inline void ExpectErrorNaming(const nlohmann::json& record, const std::vector<std::string>& words) {
  ASSERT_TRUE(record.is_object());
  ASSERT_EQ(record["status"], "error");
  const std::string error = record["error"];
  for (const auto& w : words) EXPECT_NE(error.find(w), std::string::npos) << "'" << w << "' not in: " << error;
}

// A spec that ResolveTrial refuses (a usage error, exit 2 from the CLI) naming each of `words`.
inline void ExpectUsageErrorNaming(const TrialSpec& spec, const std::vector<std::string>& words) {
  auto resolved = ResolveTrial(spec);
  ASSERT_FALSE(resolved.ok()) << "resolved, but expected a usage error naming " << words.front();
  const std::string error = resolved.error().ToString();
  for (const auto& w : words) EXPECT_NE(error.find(w), std::string::npos) << "'" << w << "' not in: " << error;
}

// Tests that need a privilege: under CI a missing privilege is a failure, elsewhere a skip.
#define ZCB_REQUIRE_ROOT()                                                                                    \
  do {                                                                                                        \
    if (::geteuid() != 0) ZCB_SKIP_OR_FAIL_UNDER_CI("needs root (CAP_NET_ADMIN/CAP_SYS_ADMIN): run as root"); \
  } while (0)

// unsafe_reuse: the receiver must catch what a rewrite of lent buffers did. `run(path,
// path_options)` runs one such trial and returns the bytes that mismatched. On loopback,
// whether the pages are still queued when rewritten depends on how the threads
// interleave: when the verifying receiver keeps up (a quiet machine), the data is
// delivered, copied, inside the send call and the rewrite shows nothing. So: a few
// loopback tries, then a path where the kernel holds the pages for certain, a veth
// behind a 1 Gbit/s shaper (data queued in the qdisc and the socket long after the call).
using UnsafeReuseTrial =
    std::function<uint64_t(const std::string& path, const std::map<std::string, std::string>& path_options)>;

inline void ExpectUnsafeReuseCaught(const UnsafeReuseTrial& run) {
  uint64_t loopback = 0;
  for (int attempt = 0; attempt < 4 && loopback == 0; ++attempt) loopback = run("loopback", {});
  ::testing::Test::RecordProperty("loopback_mismatches", std::to_string(loopback));
  if (loopback > 0) return;
  if (::geteuid() != 0)
    ZCB_SKIP_OR_FAIL_UNDER_CI(
        "loopback showed nothing this time; the shaped path that shows it for certain needs root");
  const uint64_t shaped = run("shaped", {{"preset", "1GbE"}});
  ::testing::Test::RecordProperty("shaped_mismatches", std::to_string(shaped));
  EXPECT_GT(shaped, 0u) << "the rewritten buffers went unnoticed on loopback and over the shaped path";
}

}  // namespace zcb::testing
