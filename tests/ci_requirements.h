#pragma once

// Tests that cannot pass by not running.
//
// A test whose feature, privilege or resource is missing on the machine skips, so that a
// developer's laptop runs what it can. Under CI (the environment variable CI set to
// anything but "", "0" or "false") the same absence is a failure: a green CI run must mean
// that everything ran, as the README promises, and a feature lost from the CI machine
// (io_uring disabled, BPF refused, no root) must turn it red rather than quietly skip.

#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace zcb::testing {

inline bool UnderCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && *ci != '\0' && std::strcmp(ci, "0") != 0 && std::strcmp(ci, "false") != 0;
}

}  // namespace zcb::testing

// Skips the test (a failure under CI) because of `why`, a message saying what is missing.
// Returns from the test body, as GTEST_SKIP does.
#define ZCB_SKIP_OR_FAIL_UNDER_CI(why)                                             \
  do {                                                                             \
    const std::string zcb_missing_ = (why);                                        \
    if (::zcb::testing::UnderCi()) GTEST_FAIL() << zcb_missing_ << " (CI is set)"; \
    GTEST_SKIP() << zcb_missing_;                                                  \
  } while (0)

// After a loop over cases that may each be unavailable: a loop that ran no case asserted
// nothing, so the test did not pass, it was skipped (or failed under CI).
#define ZCB_EXPECT_SOME_CASE_RAN(cases_run)                                                    \
  do {                                                                                         \
    if ((cases_run) == 0) ZCB_SKIP_OR_FAIL_UNDER_CI("no case of this test is available here"); \
  } while (0)
