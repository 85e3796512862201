// packet_tx_ring end to end: frames built in user space, written into an AF_PACKET TX
// ring, accepted by the receiving kernel's UDP socket (which checks the IPv4 and UDP
// checksums) and verified by the UDP receiver. Needs CAP_NET_RAW.
//
// Over `lo`, driven directly (the harness refuses a path without a link layer), and, as a
// whole trial, over the veth path.
//
// Frames injected on lo with 127.0.0.1 at both ends are martians to the receiving kernel
// (a local source address arriving from a device, a loopback destination without a route
// from it), so the lo test runs on a thread in a network namespace of its own, whose lo
// accepts them (accept_local, route_localnet). The namespace goes with the thread.

#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <thread>

#include "drivers/network_path.h"
#include "harness/trial/trial.h"
#include "stack/datagram_receiver.h"
#include "stack/registry.h"
#include "tests/trial_test_util.h"
#include "workloads/payload_source.h"

namespace zcb {
namespace {

constexpr uint32_t kFlow = 0x7e57f10e;

struct LoopbackRun {
  DatagramReceiveStats rx;
  SendStats tx;
};

Status WriteSysctl(const std::string& path, const char* value) {
  std::ofstream out(path);
  out << value;
  out.close();
  if (!out) return Errorf("write {} to {}", value, path);
  return OkStatus();
}

// Moves the calling thread into a new network namespace with lo up and accepting frames
// a packet socket injects with a local source address.
Status EnterPrivateNetnsWithOpenLo() {
  if (::unshare(CLONE_NEWNET) != 0) return SysError("unshare(CLONE_NEWNET)");
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM, 0));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) return SysError("SIOCGIFFLAGS lo");
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) return SysError("SIOCSIFFLAGS lo up");
  // /proc/sys/net shows the namespace of the thread that opens it.
  ZCB_RETURN_IF_ERROR(WriteSysctl("/proc/sys/net/ipv4/conf/lo/accept_local", "1"));
  return WriteSysctl("/proc/sys/net/ipv4/conf/lo/route_localnet", "1");
}

// Sends `count` datagrams of `size` bytes through packet_tx_ring over lo.
Result<LoopbackRun> RunOverLoHere(size_t size, uint64_t count, const std::map<std::string, std::string>& options) {
  ZCB_ASSIGN_OR_RETURN(const StrategyInfo* info, FindStrategy("packet_tx_ring"));
  Pattern pattern(21);
  PayloadConfig payload_config;
  payload_config.max_message = size;
  ZCB_ASSIGN_OR_RETURN(auto payload, PayloadSource::Create(payload_config, pattern));
  DatagramReceiverConfig config;
  config.flow_id = kFlow;
  config.drain = std::chrono::milliseconds(300);
  ZCB_ASSIGN_OR_RETURN(DatagramReceiver receiver, DatagramReceiver::Create(config, pattern));
  sockaddr_storage addr{};
  auto* in = reinterpret_cast<sockaddr_in*>(&addr);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ZCB_ASSIGN_OR_RETURN(UniqueFd rx_fd, receiver.OpenSocket(addr));
  socklen_t len = sizeof addr;
  ::getsockname(rx_fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  UniqueFd tx_fd(::socket(AF_INET, SOCK_DGRAM, 0));
  if (::connect(tx_fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(sockaddr_in)) != 0) return SysError("connect");

  SendContext ctx;
  ctx.socket_fd = tx_fd.get();
  ctx.protocol = Protocol::kUdp;
  ctx.payload = payload.get();
  ctx.message_size = size;
  ZCB_ASSIGN_OR_RETURN(ctx.options, Options::Parse(info->options, options, "strategy packet_tx_ring"));
  ctx.flow_id = kFlow;
  LinkEndpoint link;  // lo: all-zero MAC addresses, as its own frames carry
  link.ifindex = static_cast<int>(::if_nametoindex("lo"));
  link.mtu = 65536;
  ctx.link = link;
  ZCB_ASSIGN_OR_RETURN(auto strategy, info->create(ctx));

  DatagramEnd end;
  Status rx_status = OkStatus();
  std::thread rx_thread([&] { rx_status = receiver.Run(rx_fd.get(), end); });
  Status tx_status = OkStatus();
  for (uint64_t i = 0; i < count && tx_status.ok(); ++i) {
    tx_status = strategy->Send(i * size, size);
    // Keep well under the receiver's pace: this checks delivery, not speed.
    if (i % 16 == 15) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (tx_status.ok()) tx_status = strategy->Finish();
  end.datagrams_sent = strategy->stats().datagrams;
  end.sender_done = true;
  rx_thread.join();
  ZCB_RETURN_IF_ERROR(tx_status);
  ZCB_RETURN_IF_ERROR(rx_status);
  return LoopbackRun{receiver.stats(), strategy->stats()};
}

Result<LoopbackRun> RunOverLo(size_t size, uint64_t count, const std::map<std::string, std::string>& options) {
  std::optional<Result<LoopbackRun>> result;
  std::thread isolated([&] {
    Status entered = EnterPrivateNetnsWithOpenLo();
    result = entered.ok() ? RunOverLoHere(size, count, options) : Result<LoopbackRun>(entered.error());
  });
  isolated.join();
  return std::move(*result);
}

TEST(UdpPacketTxRingTest, FramesOverLoAreAcceptedByTheKernelAndVerify) {
  ZCB_REQUIRE_ROOT();
  for (const char* checksum : {"software", "offload", "none"}) {
    for (size_t size : {size_t{1}, size_t{1472}, size_t{8972}, size_t{65507}}) {
      SCOPED_TRACE(std::string(checksum) + " " + std::to_string(size));
      const uint64_t count = size > 10000 ? 40 : 300;
      auto run = RunOverLo(size, count, {{"checksum", checksum}});
      ASSERT_TRUE(run.ok()) << run.error().ToString();
      EXPECT_EQ(run->tx.datagrams, count);
      EXPECT_EQ(run->tx.bytes_sent, count * size);
      EXPECT_EQ(run->rx.malformed, 0u);
      EXPECT_EQ(run->rx.corrupt, 0u);
      EXPECT_EQ(run->rx.integrity.mismatches, 0u);
      // A frame with a wrong checksum would be dropped by the kernel, not delivered.
      EXPECT_EQ(run->rx.datagrams_received, count) << "lost frames: a checksum or header the kernel refused?";
      EXPECT_EQ(run->rx.integrity.verified_bytes, count * size);
      EXPECT_LT(run->tx.send_calls, count) << "kicks are batched";
    }
  }
}

TEST(UdpPacketTxRingTest, ADatagramOverTheDeviceMtuIsAnErrorNamingIt) {
  ZCB_REQUIRE_ROOT();
  auto run = RunOverLo(65508, 1, {});
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().what().find("65507"), std::string::npos) << run.error().what();
}

// The whole trial over the veth path (namespaces and a veth pair, created and removed by
// the path), next to sendto as the kernel stack's baseline.
TEST(UdpPacketTxRingTest, TrialOverVethDeliversVerifiedDatagrams) {
  ZCB_REQUIRE_ROOT();
  if (!FindPath("veth").ok()) ZCB_SKIP_OR_FAIL_UNDER_CI("no veth path in this build");
  for (const char* strategy : {"packet_tx_ring", "sendto", "udp_gso"}) {
    SCOPED_TRACE(strategy);
    TrialSpec spec;
    spec.protocol = Protocol::kUdp;
    spec.strategy = strategy;
    spec.path = "veth";
    spec.message_size = std::string(strategy) == "udp_gso" ? 20 * 1472 : 1472;
    spec.bytes = 1472 * 2000;
    spec.rate_bps = 200'000'000;
    spec.drain_s = 0.3;
    ApplyDefaultPinning(spec);
    auto record = ::zcb::testing::RunOrFail(spec);
    ASSERT_TRUE(record.is_object());
    ASSERT_EQ(record["status"], "ok") << record["error"];
    const auto& udp = record["metrics"]["udp"];
    EXPECT_EQ(udp["datagrams_sent"], 2000u);
    EXPECT_EQ(udp["datagrams_sent"].get<uint64_t>(),
              udp["datagrams_received"].get<uint64_t>() + udp["lost"].get<uint64_t>());
    EXPECT_GE(udp["datagrams_received"].get<uint64_t>(), 1800u) << udp.dump();
    EXPECT_EQ(record["metrics"]["integrity"]["mismatches"], 0u);
    EXPECT_EQ(record["metrics"]["integrity"]["verified_bytes"], record["metrics"]["bytes_received"]);
  }
}

}  // namespace
}  // namespace zcb
