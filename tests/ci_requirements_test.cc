// The rule that keeps tests from passing by not running: under CI a missing feature,
// privilege or case is a failure. Checked with a strategy that exists nowhere, since on a
// machine where everything is available nothing else would exercise the failing branch.

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "tests/ci_requirements.h"
#include "tests/trial_test_util.h"

namespace zcb {
namespace {

// Sets CI for one scope and puts back what was there.
class ScopedCi {
 public:
  explicit ScopedCi(const char* value) {
    if (const char* old = std::getenv("CI")) old_ = old;
    if (value == nullptr) ::unsetenv("CI");
    else ::setenv("CI", value, 1);
  }
  ~ScopedCi() {
    if (old_) ::setenv("CI", old_->c_str(), 1);
    else ::unsetenv("CI");
  }

 private:
  std::optional<std::string> old_;
};

void UseAStrategyThatDoesNotExist() { ZCB_SKIP_IF_UNAVAILABLE("no_such_strategy"); }
void EndALoopThatRanNoCase() { ZCB_EXPECT_SOME_CASE_RAN(0); }

TEST(CiRequirementsTest, CiMeansAnythingButEmptyZeroOrFalse) {
  for (const char* off : {static_cast<const char*>(nullptr), "", "0", "false"}) {
    ScopedCi ci(off);
    EXPECT_FALSE(testing::UnderCi()) << (off ? off : "unset");
  }
  for (const char* on : {"true", "1", "yes"}) {
    ScopedCi ci(on);
    EXPECT_TRUE(testing::UnderCi()) << on;
  }
}

TEST(CiRequirementsTest, AMissingStrategyFailsUnderCi) {
  ScopedCi ci("true");
  EXPECT_FATAL_FAILURE(UseAStrategyThatDoesNotExist(), "no_such_strategy is not available here");
}

TEST(CiRequirementsTest, ALoopThatRanNoCaseFailsUnderCi) {
  ScopedCi ci("true");
  EXPECT_FATAL_FAILURE(EndALoopThatRanNoCase(), "no case of this test is available here");
}

TEST(CiRequirementsTest, AMissingStrategyInALoopFailsUnderCiAndIsSkippedOver) {
  ScopedCi ci("true");
  bool available = true;
  EXPECT_NONFATAL_FAILURE(available = testing::AvailableOrFailUnderCi("no_such_strategy"),
                          "no_such_strategy is not available here (CI is set)");
  EXPECT_FALSE(available);
  ScopedCi off("false");
  EXPECT_FALSE(testing::AvailableOrFailUnderCi("no_such_strategy"));
  EXPECT_TRUE(testing::AvailableOrFailUnderCi("write"));
}

}  // namespace
}  // namespace zcb
