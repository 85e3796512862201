// Bad input is caught before anything runs, with a message that names what to fix.

#include <gtest/gtest.h>

#include "harness/trial/trial_resolve.h"

namespace zcb {
namespace {

TrialSpec Valid() {
  TrialSpec spec;
  spec.strategy = "write";
  spec.bytes = 1000;
  return spec;
}

// The message of the error ResolveTrial gives `spec`, which must be a usage error: what
// was asked cannot be right, so the CLI exits 2 and a plan refuses the point.
std::string ErrorOf(const TrialSpec& spec) {
  auto r = ResolveTrial(spec);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.error().kind(), ErrorKind::kUsage) << r.error().what();
  return r.error().what();
}

TEST(ResolveTrialTest, AcceptsAValidSpecAndPicksTheDefaultSource) {
  auto r = ResolveTrial(Valid());
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_EQ(r->source, SourceKind::kMemory);
  TrialSpec spec = Valid();
  spec.strategy = "sendfile";
  r = ResolveTrial(spec);
  ASSERT_TRUE(r.ok()) << r.error().what();
  EXPECT_EQ(r->source, SourceKind::kFile);  // `zcbench run --strategy sendfile` just works
}

TEST(ResolveTrialTest, UnknownStrategyListsTheValidOnes) {
  TrialSpec spec = Valid();
  spec.strategy = "sendfiel";
  const std::string e = ErrorOf(spec);
  EXPECT_NE(e.find("unknown strategy 'sendfiel'"), std::string::npos) << e;
  EXPECT_NE(e.find("sendfile"), std::string::npos) << e;
  EXPECT_NE(e.find("write"), std::string::npos) << e;
}

TEST(ResolveTrialTest, SizeZero) {
  TrialSpec spec = Valid();
  spec.message_size = 0;
  EXPECT_NE(ErrorOf(spec).find("--size"), std::string::npos);
}

TEST(ResolveTrialTest, DurationAndBytesBothOrNeither) {
  TrialSpec both = Valid();
  both.duration_s = 1;
  EXPECT_NE(ErrorOf(both).find("exactly one of --duration"), std::string::npos);
  TrialSpec neither = Valid();
  neither.bytes.reset();
  EXPECT_NE(ErrorOf(neither).find("exactly one of --duration"), std::string::npos);
  TrialSpec zero = Valid();
  zero.bytes = 0;
  EXPECT_NE(ErrorOf(zero).find("--bytes"), std::string::npos);
}

TEST(ResolveTrialTest, AnOptionTheStrategyDoesNotHave) {
  TrialSpec spec = Valid();
  spec.options["gift"] = "true";
  const std::string e = ErrorOf(spec);
  EXPECT_NE(e.find("strategy write has no option"), std::string::npos) << e;
  TrialSpec sendfile = Valid();
  sendfile.strategy = "sendfile";
  sendfile.options["hedaer"] = "cork";
  const std::string e2 = ErrorOf(sendfile);
  EXPECT_NE(e2.find("no option 'hedaer'"), std::string::npos) << e2;
  EXPECT_NE(e2.find("header"), std::string::npos) << e2;  // lists the valid ones
}

TEST(ResolveTrialTest, ABadOptionValueNamesTheChoices) {
  TrialSpec spec = Valid();
  spec.strategy = "sendfile";
  spec.options["header"] = "maybe";
  const std::string e = ErrorOf(spec);
  EXPECT_NE(e.find("none, cork, more"), std::string::npos) << e;
}

TEST(ResolveTrialTest, TheWorkloadIsFoundAndItsOptionsChecked) {
  auto r = ResolveTrial(Valid());
  ASSERT_TRUE(r.ok()) << r.error().what();
  ASSERT_NE(r->workload, nullptr);
  EXPECT_EQ(r->workload->name, "bulk");
  EXPECT_TRUE(r->workload_options.given().empty());
  EXPECT_TRUE(r->workload_options.values().empty());  // bulk declares none
}

TEST(ResolveTrialTest, AnUnknownWorkloadListsTheValidOnes) {
  TrialSpec spec = Valid();
  spec.workload = "bulky";
  const std::string e = ErrorOf(spec);
  EXPECT_NE(e.find("unknown workload 'bulky'; valid workloads: bulk"), std::string::npos) << e;
}

TEST(ResolveTrialTest, AWorkloadOptionTheWorkloadDoesNotHaveNamesTheWorkload) {
  TrialSpec spec = Valid();
  spec.workload_options["files"] = "3";
  const std::string e = ErrorOf(spec);
  EXPECT_NE(e.find("workload bulk has no options (got files=3)"), std::string::npos) << e;
}

TEST(ResolveTrialTest, AFileStrategyGivenAMemorySource) {
  TrialSpec spec = Valid();
  spec.strategy = "sendfile";
  spec.source = SourceKind::kMemory;
  const std::string e = ErrorOf(spec);
  EXPECT_NE(e.find("cannot send from a memory source"), std::string::npos) << e;
  EXPECT_NE(e.find("file"), std::string::npos) << e;
}

TEST(ResolveTrialTest, UnknownPath) {
  TrialSpec spec = Valid();
  spec.path = "carrier-pigeon";
  const std::string e = ErrorOf(spec);
  EXPECT_NE(e.find("unknown path"), std::string::npos) << e;
  EXPECT_NE(e.find("loopback"), std::string::npos) << e;
}

}  // namespace
}  // namespace zcb
