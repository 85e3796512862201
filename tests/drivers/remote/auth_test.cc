// The control protocol's authentication: HMAC-SHA256, the proofs of both directions,
// nonces, hex, and the token file's checks.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "drivers/remote/auth.h"

namespace zcb::remote {
namespace {

TEST(RemoteAuthTest, HmacSha256MatchesRfc4231) {
  // RFC 4231, test case 2.
  const auto mac = HmacSha256("Jefe", "what do ya want for nothing?");
  EXPECT_EQ(ToHex(mac.data(), mac.size()), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(RemoteAuthTest, ProofsDependOnTokenNoncesAndDirection) {
  const std::string token = "0123456789abcdef0123";
  const std::string s = "aa", c = "bb";
  EXPECT_EQ(ClientProof(token, s, c), ClientProof(token, s, c));
  EXPECT_NE(ClientProof(token, s, c), ClientProof(token + "x", s, c));
  EXPECT_NE(ClientProof(token, s, c), ClientProof(token, "ab", c));
  EXPECT_NE(ClientProof(token, s, c), ServerProof(token, s, c)) << "a server cannot replay the client's proof";
  EXPECT_TRUE(ProofsEqual("abc", "abc"));
  EXPECT_FALSE(ProofsEqual("abc", "abd"));
  EXPECT_FALSE(ProofsEqual("abc", "abcd"));
  auto n1 = NewNonce(), n2 = NewNonce();
  ASSERT_TRUE(n1.ok() && n2.ok());
  EXPECT_EQ(n1->size(), 2 * kNonceBytes);
  EXPECT_NE(*n1, *n2);
  EXPECT_EQ(*FromHex("00ff10"), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(FromHex("0g").has_value());
  EXPECT_FALSE(FromHex("abc").has_value());
}

// The comparison does the same work wherever two proofs differ and whatever their
// lengths: both are digested and all 32 digest bytes compared, with no early exit.
TEST(RemoteAuthTest, ProofComparisonDoesTheSameWorkWhereverTheProofsDiffer) {
  const std::string right = ClientProof("0123456789abcdef0123", "aa", "bb");
  std::string first = right, last = right;
  first.front() = first.front() == '0' ? '1' : '0';
  last.back() = last.back() == '0' ? '1' : '0';
  struct Case {
    const char* name;
    std::string proof;
    bool equal;
  } cases[] = {{"equal", right, true},
               {"first byte differs", first, false},
               {"last byte differs", last, false},
               {"one byte short", right.substr(0, right.size() - 1), false},
               {"one byte long", right + "0", false},
               {"empty", "", false}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const ProofComparison comparison = CompareProofs(c.proof, right);
    EXPECT_EQ(comparison.equal, c.equal);
    EXPECT_EQ(comparison.digest_bytes_compared, 32u);
    EXPECT_EQ(ProofsEqual(c.proof, right), c.equal);
  }
}

TEST(RemoteAuthTest, TokenFilesMustBePrivateAndLongEnough) {
  const auto dir = std::filesystem::temp_directory_path() / ("zcb-token-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& content, mode_t mode) {
    const auto path = (dir / name).string();
    std::ofstream(path) << content;
    ::chmod(path.c_str(), mode);
    return path;
  };
  auto good = ReadTokenFile(write("good", "0123456789abcdef0123456789abcdef\n", 0600));
  ASSERT_TRUE(good.ok()) << good.error().ToString();
  EXPECT_EQ(*good, "0123456789abcdef0123456789abcdef");
  auto open = ReadTokenFile(write("open", "0123456789abcdef0123456789abcdef\n", 0644));
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().ToString().find("chmod 600"), std::string::npos);
  auto short_token = ReadTokenFile(write("short", "secret\n", 0600));
  ASSERT_FALSE(short_token.ok());
  EXPECT_NE(short_token.error().ToString().find("at least 16"), std::string::npos);
  EXPECT_FALSE(ReadTokenFile((dir / "missing").string()).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace zcb::remote
