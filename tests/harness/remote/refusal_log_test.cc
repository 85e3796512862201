// The server's refusal log: counted by kind, at most N lines a second, then one line of
// what was suppressed and from where.

#include "harness/remote/refusal_log.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace zcb {
namespace {

sockaddr_storage Address(const char* ip, uint16_t port) {
  sockaddr_storage addr{};
  auto* in = reinterpret_cast<sockaddr_in*>(&addr);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &in->sin_addr);
  return addr;
}

TEST(RefusalLogTest, AFloodCostsAFewLinesASecondAndIsCountedByKind) {
  std::vector<std::string> lines;
  RefusalLog log([&](const std::string& line) { lines.push_back(line); }, 10);
  const auto t0 = RefusalLog::Clock::now();
  // 500 wrong tokens and 200 timeouts within one second, from two addresses.
  for (int i = 0; i < 500; ++i)
    log.Refused(RefusalKind::kWrongToken, Address("127.0.0.1", 40000 + i), "authentication failed: wrong token", t0);
  for (int i = 0; i < 200; ++i)
    log.Refused(RefusalKind::kTimeout, Address("127.0.0.2", 40000 + i), "handshake: timed out", t0);
  ASSERT_EQ(lines.size(), 10u) << "the second's lines, and nothing more yet";
  EXPECT_EQ(lines.front(), "127.0.0.1:40000: refused (wrong_token): authentication failed: wrong token");
  log.Tick(t0 + std::chrono::milliseconds(999));
  EXPECT_EQ(lines.size(), 10u);
  log.Tick(t0 + std::chrono::seconds(1));
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_EQ(lines.back(), "suppressed 690 refusals (over 10 lines a second): 490 from 127.0.0.1, 200 from 127.0.0.2");
  // A new second has its lines again; nothing suppressed, no summary line.
  log.Refused(RefusalKind::kOverLimit, Address("127.0.0.1", 1), "over the bound", t0 + std::chrono::seconds(1));
  log.Tick(t0 + std::chrono::seconds(3));
  EXPECT_EQ(lines.size(), 12u);
  EXPECT_EQ(log.counts()[static_cast<size_t>(RefusalKind::kWrongToken)], 500u);
  EXPECT_EQ(log.counts()[static_cast<size_t>(RefusalKind::kTimeout)], 200u);
  EXPECT_EQ(log.total(), 701u);
  EXPECT_EQ(log.suppressed(), 690u);
  EXPECT_EQ(log.Summary(), "701 refused (1 over_limit, 200 timeout, 500 wrong_token)");
}

TEST(RefusalLogTest, ASuppressionLineNamesAFewAddressesAndCountsTheRest) {
  std::vector<std::string> lines;
  RefusalLog log([&](const std::string& line) { lines.push_back(line); }, 0);
  const auto t0 = RefusalLog::Clock::now();
  for (int host = 1; host <= 6; ++host) {
    const std::string ip = "127.0.0." + std::to_string(host);
    for (int i = 0; i < host; ++i) log.Refused(RefusalKind::kClosed, Address(ip.c_str(), 1), "closed", t0);
  }
  log.Tick(t0 + std::chrono::seconds(2));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "suppressed 21 refusals (over 0 lines a second): 6 from 127.0.0.6, 5 from 127.0.0.5, 4 from 127.0.0.4, "
            "3 from 127.0.0.3, 3 from 2 other addresses");
  EXPECT_EQ(RefusalLog([](const std::string&) {}, 1).Summary(), "none refused");
}

}  // namespace
}  // namespace zcb
