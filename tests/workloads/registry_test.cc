// The workload registry (workloads/registry.h): every workload is found by its name, an
// unknown name is an error that lists the valid ones, and which strategy can serve which
// workload follows from capabilities.

#include "workloads/registry.h"

#include <gtest/gtest.h>

#include <set>

#include "stack/registry.h"

namespace zcb {
namespace {

TEST(WorkloadRegistry, EveryWorkloadIsFoundByItsNameAndDescribed) {
  ASSERT_FALSE(AllWorkloads().empty());
  std::set<std::string> names;
  for (const WorkloadInfo& info : AllWorkloads()) {
    EXPECT_TRUE(names.insert(info.name).second) << info.name << " is registered twice";
    auto found = FindWorkload(info.name);
    ASSERT_TRUE(found.ok()) << info.name;
    EXPECT_EQ(*found, &info);
    EXPECT_FALSE(info.summary.empty()) << info.name;
    EXPECT_FALSE(info.needs.protocols.empty()) << info.name;
    EXPECT_FALSE(info.needs.sources.empty()) << info.name;
    ASSERT_TRUE(info.create) << info.name;
    auto made = info.create(Options());
    ASSERT_TRUE(made.ok()) << info.name << ": " << made.error().ToString();
    EXPECT_NE(made->get(), nullptr);
  }
  EXPECT_EQ(WorkloadNames().size(), AllWorkloads().size());
}

TEST(WorkloadRegistry, AnUnknownNameListsTheValidOnes) {
  auto found = FindWorkload("no_such_workload");
  ASSERT_FALSE(found.ok());
  const std::string message = found.error().ToString();
  EXPECT_NE(message.find("unknown workload 'no_such_workload'"), std::string::npos) << message;
  EXPECT_EQ(found.error().kind(), ErrorKind::kUsage);
  for (const std::string& name : WorkloadNames()) EXPECT_NE(message.find(name), std::string::npos) << message;
}

// Every registered strategy can serve some workload from its best source: none is left
// with nothing to run.
TEST(WorkloadRegistry, EveryStrategyCanServeAWorkload) {
  for (const StrategyInfo& strategy : AllStrategies()) {
    bool served = false;
    for (const WorkloadInfo& workload : AllWorkloads())
      served = served || workload.Serves(strategy, strategy.DefaultSource());
    EXPECT_TRUE(served) << strategy.name;
  }
}

// A workload's options are checked against its declarations, and a refusal names the
// workload: bulk declares none.
TEST(WorkloadRegistry, OptionsAreCheckedAgainstTheWorkloadsDeclarations) {
  auto bulk = FindWorkload("bulk");
  ASSERT_TRUE(bulk.ok());
  auto none = (*bulk)->ParseOptions({});
  ASSERT_TRUE(none.ok()) << none.error().ToString();
  EXPECT_TRUE(none->values().empty());
  auto refused = (*bulk)->ParseOptions({{"files", "3"}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kUsage);
  EXPECT_EQ(refused.error().what(), "workload bulk has no options (got files=3)");

  WorkloadInfo declared;
  declared.name = "sized";
  declared.options = {OptionSpec{"files", OptionType::kInt, "1", "how many files"}.InRange(1, 10)};
  auto defaults = declared.ParseOptions({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->values().at("files"), "1");
  EXPECT_TRUE(defaults->given().empty());
  auto out_of_range = declared.ParseOptions({{"files", "11"}});
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_NE(out_of_range.error().what().find("workload sized option files=11: expected 1 to 10"), std::string::npos)
      << out_of_range.error().what();
  auto unknown = declared.ParseOptions({{"filez", "2"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().what().find("workload sized has no option 'filez'; its options are: files"),
            std::string::npos)
      << unknown.error().what();
}

// What a receiving end on another host does with a trial's request: the workload made
// by name with its options, its expectation read from it.
TEST(WorkloadRegistry, CreateWorkloadMakesItByNameWithCheckedOptions) {
  auto made = CreateWorkload("bulk", {});
  ASSERT_TRUE(made.ok()) << made.error().ToString();
  EXPECT_EQ((*made)->expectation(), ReceiverExpectation::kPatternStream);
  EXPECT_EQ(ToString((*made)->expectation()), "pattern stream");
  auto unknown = CreateWorkload("no_such_workload", {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind(), ErrorKind::kUsage);
  EXPECT_NE(unknown.error().what().find("unknown workload 'no_such_workload'; valid workloads: bulk"),
            std::string::npos)
      << unknown.error().what();
  auto bad_option = CreateWorkload("bulk", {{"x", "1"}});
  ASSERT_FALSE(bad_option.ok());
  EXPECT_NE(bad_option.error().what().find("workload bulk has no options"), std::string::npos)
      << bad_option.error().what();
}

TEST(WorkloadInfoServes, NeedsAProtocolAndASourceThatBothTake) {
  WorkloadInfo workload;
  workload.needs.protocols = EnumSet<Protocol>{Protocol::kTcp};
  workload.needs.sources = {SourceKind::kFile};
  StrategyInfo strategy;
  strategy.caps.protocols = EnumSet<Protocol>{Protocol::kTcp, Protocol::kUdp};
  strategy.caps.sources = {SourceKind::kMemory, SourceKind::kFile};
  EXPECT_TRUE(workload.Serves(strategy, Protocol::kTcp, SourceKind::kFile));
  EXPECT_TRUE(workload.Serves(strategy, SourceKind::kFile));
  EXPECT_FALSE(workload.Serves(strategy, Protocol::kUdp, SourceKind::kFile));  // the workload's protocol only
  EXPECT_FALSE(workload.Serves(strategy, SourceKind::kMemory));                // the workload's source only
  strategy.caps.protocols = EnumSet<Protocol>{Protocol::kUdp};
  EXPECT_FALSE(workload.Serves(strategy, SourceKind::kFile));  // no protocol in common
  strategy.caps.protocols = EnumSet<Protocol>{Protocol::kTcp};
  strategy.caps.sources = {SourceKind::kMemory};
  EXPECT_FALSE(workload.Serves(strategy, Protocol::kTcp, SourceKind::kFile));  // the strategy cannot send it
}

}  // namespace
}  // namespace zcb
