// A real interface configured for the remote path (drivers/interface_config.h) comes back
// as it was on every exit path: the end of its scope, the signal handler's emergency
// table, and `zcbench cleanup` after a kill -9 (its state file). The root tests work on a
// veth pair in a network namespace of the test's own (unshare on a thread of its own),
// never on an interface of the host. The remote path's options are checked too: without
// configure_interface=true an offload, MTU or shaper option is a usage error.

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "drivers/command.h"
#include "drivers/interface_config.h"
#include "drivers/interface_info.h"
#include "drivers/leftovers.h"
#include "drivers/live_objects.h"
#include "drivers/network_path.h"
#include "tests/ci_requirements.h"
#include "tests/forked_child.h"

namespace zcb {
namespace {

#define ZCB_NEEDS_ROOT()                                                                    \
  do {                                                                                      \
    if (::geteuid() != 0) ZCB_SKIP_OR_FAIL_UNDER_CI("configuring an interface needs root"); \
  } while (0)

constexpr const char* kDevice = "zcbt-if0";  // inside the test's own namespace only

// Runs `body` on a thread in a fresh network namespace holding a veth pair kDevice <->
// zcbt-if1 (MTU 1500, TSO on); the namespace and the pair go when the thread ends.
std::string InOwnNamespace(const std::function<void()>& body) {
  std::string error;
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      error = "unshare(CLONE_NEWNET) failed";
      return;
    }
    for (const std::vector<std::string>& argv :
         {std::vector<std::string>{"ip", "link", "add", kDevice, "type", "veth", "peer", "name", "zcbt-if1"},
          {"ip", "link", "set", kDevice, "up"},
          {"ip", "link", "set", "zcbt-if1", "up"},
          {"ethtool", "-K", kDevice, "sg", "on", "tso", "on", "gso", "on"}}) {
      if (auto r = RunCommand(argv); !r.ok()) {
        error = r.error().ToString();
        return;
      }
    }
    body();
  }).join();
  return error;
}

int Mtu() {
  auto link = ReadLink(-1, kDevice);
  return link.ok() ? link->value("mtu", 0) : -1;
}

std::string Tso() {
  auto features = ReadFeatures(-1, kDevice);
  if (!features.ok() || features->count("tx-tcp-segmentation") == 0) return "?";
  return features->at("tx-tcp-segmentation") ? "on" : "off";
}

std::string RootQdisc() {
  auto qdiscs = ReadQdiscs(-1, kDevice);
  if (!qdiscs.ok()) return "?";
  for (const auto& q : *qdiscs) {
    if (q.value("parent", "") == "root") return q.value("kind", "");
  }
  return "";
}

InterfaceRequest TsoOffMtu1400() {
  InterfaceRequest request;
  request.profile.mtu = 1400;
  request.profile.wanted["tso"] = false;
  return request;
}

std::vector<Leftover> InterfacesOf(pid_t pid) {
  std::vector<Leftover> out;
  for (const auto& l : FindLeftovers()) {
    if (l.kind == Leftover::Kind::kInterface && l.owner == pid) out.push_back(l);
  }
  return out;
}

TEST(InterfaceConfig, AppliesTheRequestAndPutsTheInterfaceBackAtTheEndOfItsScope) {
  ZCB_NEEDS_ROOT();
  int mtu_during = 0, mtu_after = 0;
  std::string tso_during, tso_after, qdisc_during, qdisc_after, failure;
  size_t state_files_during = 0, state_files_after = 0;
  const std::string error = InOwnNamespace([&] {
    InterfaceRequest request = TsoOffMtu1400();
    request.shaper = ShaperSpec{"100baseTX", "tbf", 100'000'000, 16384, 262144, 24};
    {
      auto config = InterfaceConfig::Apply(kDevice, request);
      if (!config.ok()) {
        failure = config.error().ToString();
        return;
      }
      mtu_during = Mtu();
      tso_during = Tso();
      qdisc_during = RootQdisc();
      state_files_during = InterfacesOf(::getpid()).size();
    }
    mtu_after = Mtu();
    tso_after = Tso();
    qdisc_after = RootQdisc();
    state_files_after = InterfacesOf(::getpid()).size();
  });
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_TRUE(failure.empty()) << failure;
  EXPECT_EQ(mtu_during, 1400);
  EXPECT_EQ(tso_during, "off");
  EXPECT_EQ(qdisc_during, "tbf");
  EXPECT_EQ(state_files_during, 1u) << "a state file for zcbench cleanup while the settings are changed";
  EXPECT_EQ(mtu_after, 1500);
  EXPECT_EQ(tso_after, "on");
  EXPECT_NE(qdisc_after, "tbf");
  EXPECT_EQ(state_files_after, 0u);
}

TEST(InterfaceConfig, TheEmergencyTablePutsItBack) {
  ZCB_NEEDS_ROOT();
  int mtu_after = 0;
  std::string tso_after, failure;
  size_t state_files_after = 1;
  const std::string error = InOwnNamespace([&] {
    auto config = InterfaceConfig::Apply(kDevice, TsoOffMtu1400());
    if (!config.ok()) {
      failure = config.error().ToString();
      return;
    }
    RemoveAllLiveObjects();  // what the handler of Ctrl-C (command line) or SIGTERM does
    mtu_after = Mtu();
    tso_after = Tso();
    state_files_after = InterfacesOf(::getpid()).size();
  });
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_TRUE(failure.empty()) << failure;
  EXPECT_EQ(mtu_after, 1500);
  EXPECT_EQ(tso_after, "on");
  EXPECT_EQ(state_files_after, 0u) << "nothing left for cleanup";
}

TEST(InterfaceConfig, CleanupPutsBackWhatAKilledRunChanged) {
  ZCB_NEEDS_ROOT();
  pid_t child = -1;
  bool ready = false;
  int mtu_killed = 0, mtu_after = 0;
  std::string tso_killed, tso_after, restore_error;
  std::vector<Leftover> left;
  size_t left_after = 1;
  const std::string error = InOwnNamespace([&] {
    // The child (in this thread's namespace) configures and holds it until the kill -9.
    const testing::ForkedChild forked = testing::ForkReadyChild([] {
      auto config = InterfaceConfig::Apply(kDevice, TsoOffMtu1400());
      const bool ok = config.ok();
      if (ok) config->release();  // held until the kill: no destructor puts it back
      return ok;
    });
    child = forked.pid;
    if (child < 0) return;
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    ready = forked.ready;
    mtu_killed = Mtu();
    tso_killed = Tso();
    left = InterfacesOf(child);
    // What `zcbench cleanup` does with it (RemoveLeftovers, by kind), for this run's only.
    for (const auto& l : left) {
      auto state = ReadInterfaceStateFile(l.location);
      Status restored = state.ok() ? RestoreInterfaceStateFile(*state) : Status(std::move(state).error());
      if (!restored.ok()) restore_error = restored.error().ToString();
    }
    mtu_after = Mtu();
    tso_after = Tso();
    left_after = InterfacesOf(child).size();
  });
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_GE(child, 0);
  ASSERT_TRUE(ready);
  EXPECT_EQ(mtu_killed, 1400) << "a killed run cannot put it back itself";
  EXPECT_EQ(tso_killed, "off");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].name, kDevice);
  EXPECT_TRUE(left[0].Stale(/*include_unknown=*/false)) << left[0].Describe();
  EXPECT_TRUE(restore_error.empty()) << restore_error;
  EXPECT_EQ(mtu_after, 1500);
  EXPECT_EQ(tso_after, "on");
  EXPECT_EQ(left_after, 0u);
  std::filesystem::remove("/run/zcbench/" + std::to_string(child) + ".lock");
}

// An error while applying (TSO cannot be on without scatter-gather) puts back what was
// already changed (the MTU) and leaves no state file.
TEST(InterfaceConfig, AFailedApplyPutsBackWhatItHadChanged) {
  ZCB_NEEDS_ROOT();
  int mtu_after = 0;
  std::string sg_after, failure;
  size_t state_files_after = 1;
  const std::string error = InOwnNamespace([&] {
    InterfaceRequest request;
    request.profile.mtu = 1400;
    request.profile.wanted = {{"sg", false}, {"tso", true}};
    auto config = InterfaceConfig::Apply(kDevice, request);
    failure = config.ok() ? "" : config.error().ToString();
    mtu_after = Mtu();
    auto features = ReadFeatures(-1, kDevice);
    sg_after = features.ok() && features->at("tx-scatter-gather") ? "on" : "off";
    state_files_after = InterfacesOf(::getpid()).size();
  });
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_NE(failure.find("tso=on could not be applied"), std::string::npos) << failure;
  EXPECT_EQ(mtu_after, 1500);
  EXPECT_EQ(sg_after, "on");
  EXPECT_EQ(state_files_after, 0u);
}

// The kernel's own answer for a multipath route over two devices: refused, naming both.
TEST(SingleRouteDevice, RefusesARealMultipathRoute) {
  ZCB_NEEDS_ROOT();
  Result<std::string> over_both = std::string(), over_one = std::string();
  const std::string error = InOwnNamespace([&] {
    for (const std::vector<std::string>& argv :
         {std::vector<std::string>{"ip", "link", "add", "zcbt-mp0", "type", "veth", "peer", "name", "zcbt-mp1"},
          {"ip", "link", "set", "zcbt-mp0", "up"},
          {"ip", "link", "set", "zcbt-mp1", "up"},
          {"ip", "addr", "add", "198.18.94.1/30", "dev", kDevice},
          {"ip", "addr", "add", "198.18.95.1/30", "dev", "zcbt-mp0"},
          {"ip", "route", "add", "198.18.93.0/24", "nexthop", "via", "198.18.94.2", "dev", kDevice, "nexthop", "via",
           "198.18.95.2", "dev", "zcbt-mp0"}}) {
      if (auto r = RunCommand(argv); !r.ok()) {
        over_both = std::move(r).error();
        return;
      }
    }
    over_both = SingleRouteDevice("198.18.93.7");
    over_one = SingleRouteDevice("198.18.94.2");
  });
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_FALSE(over_both.ok());
  EXPECT_NE(over_both.error().ToString().find("2 interfaces (zcbt-if0, zcbt-mp0)"), std::string::npos)
      << over_both.error().ToString();
  ASSERT_TRUE(over_one.ok()) << over_one.error().ToString();
  EXPECT_EQ(*over_one, kDevice);
}

TEST(InterfaceConfig, RefusesTheLoopbackDevice) {
  EXPECT_TRUE(IsLoopbackDevice("lo"));
  auto config = InterfaceConfig::Apply("lo", TsoOffMtu1400());
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().ToString().find("loopback path"), std::string::npos) << config.error().ToString();
}

TEST(InterfaceConfig, ASavedInterfaceReadsBackAsWritten) {
  SavedInterface saved;
  saved.device = "eth7";
  saved.ifindex = 7;
  saved.netns_inode = 4026531840;
  saved.mtu = 9000;
  saved.offloads = {{"sg", true}, {"tso", false}};
  saved.remove_root_qdisc = true;
  auto back = SavedInterface::FromJson(saved.ToJson());
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->ToJson(), saved.ToJson());
  const auto commands = back->RestoreCommands();
  ASSERT_EQ(commands.size(), 3u);
  EXPECT_EQ(FormatCommand(commands[0]), "tc qdisc del dev eth7 root");
  EXPECT_EQ(FormatCommand(commands[1]), "ip link set dev eth7 mtu 9000");
  EXPECT_EQ(FormatCommand(commands[2]), "ethtool -K eth7 sg on tso off");

  nlohmann::json bad = saved.ToJson();
  bad["device"] = "../etc";
  EXPECT_FALSE(SavedInterface::FromJson(bad).ok());
  bad = saved.ToJson();
  bad["offloads"]["rx"] = "on";
  EXPECT_FALSE(SavedInterface::FromJson(bad).ok());
}

TEST(SingleRouteDevice, OneDeviceIsTheRoutesNoneOrSeveralAreRefused) {
  const auto get = nlohmann::json::parse(R"([{"dst":"198.18.7.2","dev":"veth0","prefsrc":"198.18.7.1"}])");
  const auto single = nlohmann::json::parse(
      R"([{"dst":"default","gateway":"198.18.0.254","dev":"eth0"},{"dst":"198.18.7.0/24","dev":"veth0"}])");
  auto dev = SingleRouteDeviceFrom("198.18.7.2", get, single);
  ASSERT_TRUE(dev.ok()) << dev.error().ToString();
  EXPECT_EQ(*dev, "veth0");

  // The most specific route is a multipath one over two devices.
  const auto multipath = nlohmann::json::parse(
      R"([{"dst":"default","dev":"eth0"},{"dst":"198.18.7.0/24","nexthops":[{"dev":"veth0"},{"dev":"veth1"}]}])");
  auto several = SingleRouteDeviceFrom("198.18.7.2", get, multipath);
  ASSERT_FALSE(several.ok());
  EXPECT_NE(several.error().ToString().find("2 interfaces (veth0, veth1)"), std::string::npos)
      << several.error().ToString();
  // A multipath default under a single more specific route does not matter.
  const auto wide_multipath = nlohmann::json::parse(
      R"([{"dst":"default","nexthops":[{"dev":"eth0"},{"dev":"eth1"}]},{"dst":"198.18.7.0/24","dev":"veth0"}])");
  EXPECT_TRUE(SingleRouteDeviceFrom("198.18.7.2", get, wide_multipath).ok());

  auto none = SingleRouteDeviceFrom("198.18.7.2", nlohmann::json::array(), nlohmann::json::array());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().ToString().find("no route"), std::string::npos);
}

std::map<std::string, std::string> RemoteOptions(std::map<std::string, std::string> more) {
  more["peer"] = "198.18.7.2:5310";
  more["token_file"] = "token";
  return more;
}

TEST(RemotePathOptions, AnInterfaceOptionWithoutConfigureInterfaceIsAUsageErrorSayingWhatToAdd) {
  for (const auto& [key, value] : std::map<std::string, std::string>{
           {"tso", "off"}, {"mtu", "1500"}, {"sg", "on"}, {"preset", "1GbE"}, {"rate", "10M"}}) {
    const Status s = ValidatePathOptions("remote", RemoteOptions({{key, value}}));
    ASSERT_FALSE(s.ok()) << key;
    EXPECT_EQ(s.error().kind(), ErrorKind::kUsage) << key;
    const std::string text = s.error().ToString();
    EXPECT_NE(text.find("configure_interface=true"), std::string::npos) << text;
    EXPECT_NE(text.find("real interface of this host"), std::string::npos) << text;
    EXPECT_NE(text.find(key + "=" + value), std::string::npos) << text;
  }
  // Asking for nothing to change needs no permission; with it, the options are accepted.
  EXPECT_TRUE(ValidatePathOptions("remote", RemoteOptions({{"tso", "keep"}, {"preset", "none"}})).ok());
  const Status allowed =
      ValidatePathOptions("remote", RemoteOptions({{"configure_interface", "true"}, {"tso", "off"}, {"mtu", "1500"}}));
  EXPECT_TRUE(allowed.ok()) << allowed.error().ToString();
  EXPECT_FALSE(ValidatePathOptions("remote", RemoteOptions({{"configure_interface", "true"}, {"mtu", "50"}})).ok());
}

TEST(RemotePathOptions, SharesTheDevicePathsOptionSpecs) {
  auto remote = FindPath("remote");
  auto veth = FindPath("veth");
  ASSERT_TRUE(remote.ok() && veth.ok());
  for (const auto& device_option : (*veth)->options) {
    bool found = false;
    for (const auto& o : (*remote)->options) found = found || o.name == device_option.name;
    EXPECT_TRUE(found) << device_option.name;
  }
}

}  // namespace
}  // namespace zcb
