// The sink path: every datagram sent into it is dropped before delivery and counted
// (datagrams, UDP payload bytes), nothing else is counted, no TCP connection completes,
// the record names the dropping device, and nothing of the path is left once it is gone.
// Needs root; under CI a missing privilege is a failure.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/network_path.h"
#include "stack/unique_fd.h"
#include "tests/ci_requirements.h"

namespace zcb {
namespace {

#define ZCB_REQUIRE_ROOT_FOR_PATHS()                                                             \
  do {                                                                                           \
    if (::geteuid() != 0) ZCB_SKIP_OR_FAIL_UNDER_CI("needs root (CAP_NET_ADMIN/CAP_SYS_ADMIN)"); \
  } while (0)

constexpr uint16_t kPort = 9;

// Sends `count` datagrams of `size` bytes from the sender's side of `path` to its
// receiver address; returns how many send() calls took the whole datagram.
uint64_t SendDatagrams(NetworkPath& path, size_t size, int count) {
  uint64_t sent_calls = 0;
  std::thread sender([&] {
    ASSERT_TRUE(path.EnterSenderSide().ok());
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(fd);
    sockaddr_storage addr = path.ReceiverAddress();
    reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(kPort);
    ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(sockaddr_in)), 0) << std::strerror(errno);
    const std::vector<char> payload(size, 'z');
    for (int i = 0; i < count; ++i) {
      if (::send(fd.get(), payload.data(), payload.size(), 0) == static_cast<ssize_t>(size)) ++sent_calls;
    }
  });
  sender.join();
  return sent_calls;
}

bool NamespaceExists(const std::string& name) { return std::filesystem::exists("/run/netns/" + name); }

TEST(SinkPathTest, DropsEveryDatagramAndCountsIt) {
  ZCB_REQUIRE_ROOT_FOR_PATHS();
  auto path = CreatePath("sink", {});
  ASSERT_TRUE(path.ok()) << path.error().ToString();
  EXPECT_FALSE((*path)->capabilities().has_receiver);
  EXPECT_FALSE((*path)->capabilities().local_delivery);
  auto before = (*path)->ReadSink();
  ASSERT_TRUE(before.ok()) << before.error().ToString();
  EXPECT_EQ(before->udp_datagrams, 0u);

  constexpr size_t kSize = 1000;
  constexpr int kCount = 500;
  ASSERT_EQ(SendDatagrams(**path, kSize, kCount), static_cast<uint64_t>(kCount));
  auto after = (*path)->ReadSink();
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  // Each datagram once: no more (a double count), no fewer (one let through or lost
  // before the sink). One skb per datagram: nothing was segmented or coalesced.
  EXPECT_EQ(after->udp_datagrams, static_cast<uint64_t>(kCount));
  EXPECT_EQ(after->udp_skbs, static_cast<uint64_t>(kCount));
  EXPECT_EQ(after->udp_payload_bytes, kSize * kCount);
  // No ARP (a permanent neighbour entry), no IPv6: only the trial's datagrams.
  EXPECT_EQ(after->other_skbs, 0u);
  EXPECT_TRUE(after->sink_device == "dummy" || after->sink_device == "veth+tc_drop") << after->sink_device;

  const nlohmann::json described = (*path)->Describe();
  ASSERT_TRUE(described.contains("sink")) << described.dump();
  EXPECT_EQ(described["sink"]["sink_device"], after->sink_device);
  EXPECT_EQ(described["sink"]["counts"]["udp_datagrams"], kCount);
  EXPECT_TRUE(described["sink"]["device_counters"].is_object()) << described["sink"].dump();
  const std::vector<std::string> namespaces = described["namespaces"];
  path->reset();
  for (const auto& ns : namespaces) EXPECT_FALSE(NamespaceExists(ns)) << ns;
}

TEST(SinkPathTest, CountsAFragmentedDatagramOnceWithItsWholePayload) {
  ZCB_REQUIRE_ROOT_FOR_PATHS();
  auto path = CreatePath("sink", {});
  ASSERT_TRUE(path.ok()) << path.error().ToString();
  // 4000 bytes over MTU 1500: three IPv4 fragments each, only the first with a UDP header.
  constexpr size_t kSize = 4000;
  constexpr int kCount = 100;
  ASSERT_EQ(SendDatagrams(**path, kSize, kCount), static_cast<uint64_t>(kCount));
  auto counts = (*path)->ReadSink();
  ASSERT_TRUE(counts.ok()) << counts.error().ToString();
  EXPECT_EQ(counts->udp_datagrams, static_cast<uint64_t>(kCount));
  EXPECT_EQ(counts->udp_fragments, 3u * kCount);
  EXPECT_EQ(counts->udp_skbs, 3u * kCount);
  EXPECT_EQ(counts->udp_payload_bytes, kSize * kCount);
  EXPECT_EQ(counts->other_skbs, 0u);
}

TEST(SinkPathTest, UsesTheVethDropWhenAskedOrWhenThereIsNoDummy) {
  ZCB_REQUIRE_ROOT_FOR_PATHS();
  auto veth = CreatePath("sink", {{"device", "veth"}});
  ASSERT_TRUE(veth.ok()) << veth.error().ToString();
  EXPECT_EQ((*veth)->Describe()["sink"]["sink_device"], "veth+tc_drop");
  // device=dummy: a dummy device where the kernel has one, else an unsupported error
  // that says so; auto then falls back to the veth drop and records why.
  auto dummy = CreatePath("sink", {{"device", "dummy"}});
  auto chosen = CreatePath("sink", {});
  ASSERT_TRUE(chosen.ok()) << chosen.error().ToString();
  const nlohmann::json sink = (*chosen)->Describe()["sink"];
  if (dummy.ok()) {
    EXPECT_EQ((*dummy)->Describe()["sink"]["sink_device"], "dummy");
    EXPECT_EQ(sink["sink_device"], "dummy");
  } else {
    EXPECT_EQ(dummy.error().kind(), ErrorKind::kUnsupported) << dummy.error().ToString();
    EXPECT_NE(dummy.error().ToString().find("no dummy device"), std::string::npos) << dummy.error().ToString();
    EXPECT_EQ(sink["sink_device"], "veth+tc_drop");
    EXPECT_NE(sink["chosen_because"].get<std::string>().find("no dummy device"), std::string::npos) << sink.dump();
  }
}

TEST(SinkPathTest, NoTcpConnectionCompletes) {
  ZCB_REQUIRE_ROOT_FOR_PATHS();
  auto path = CreatePath("sink", {});
  ASSERT_TRUE(path.ok()) << path.error().ToString();
  int connect_errno = 0;
  std::thread sender([&] {
    ASSERT_TRUE((*path)->EnterSenderSide().ok());
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_storage addr = (*path)->ReceiverAddress();
    reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(kPort);
    connect_errno = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(sockaddr_in)) == 0 ? 0 : errno;
  });
  sender.join();
  // The SYN went into the sink: the connection stays in progress, no one answers.
  EXPECT_EQ(connect_errno, EINPROGRESS);
  EXPECT_FALSE((*path)->EnterReceiverSide().ok());
}

}  // namespace
}  // namespace zcb
