// The doctor's zero-copy checks: the io_uring opcodes the io_uring strategies send with,
// and whether sockets accept SO_ZEROCOPY (the msg_zerocopy strategy).

#include <liburing.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "harness/doctor/checks.h"
#include "stack/unique_fd.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif

namespace zcb::doctor {
namespace {

SupportCheck CheckSoZerocopy(int type, const char* name) {
  SupportCheck check{"zero-copy", name, false, "", ""};
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  int one = 1;
  if (!fd || ::setsockopt(fd.get(), SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0) {
    check.detail = Error(errno, "setsockopt(SO_ZEROCOPY)").ToString();
    check.disables = type == SOCK_STREAM ? "msg_zerocopy over TCP" : "msg_zerocopy over UDP";
    return check;
  }
  check.ok = true;
  check.detail = "setsockopt(SO_ZEROCOPY, 1) accepted";
  return check;
}

std::vector<SupportCheck> IoUringChecks() {
  std::vector<SupportCheck> checks;
  const std::string disabled = ReadLine("/proc/sys/kernel/io_uring_disabled");
  io_uring_probe* probe = io_uring_get_probe();
  if (probe == nullptr) {
    checks.push_back(
        {"io_uring", "io_uring", false,
         fmt::format("io_uring_setup failed{}",
                     disabled.empty() || disabled == "0" ? "" : " (kernel.io_uring_disabled=" + disabled + ")"),
         "io_uring_send, io_uring_send_zc"});
    return checks;
  }
  const struct {
    int op;
    const char* name;
    const char* disables;
  } kOps[] = {
      {IORING_OP_SEND, "IORING_OP_SEND", "io_uring_send"},
      {IORING_OP_SEND_ZC, "IORING_OP_SEND_ZC", "io_uring_send_zc"},
      {IORING_OP_SENDMSG_ZC, "IORING_OP_SENDMSG_ZC", "nothing zcbench uses (io_uring_send_zc uses SEND_ZC)"},
  };
  for (const auto& op : kOps) {
    const bool ok = io_uring_opcode_supported(probe, op.op) != 0;
    checks.push_back(
        {"io_uring", op.name, ok, ok ? "supported" : "not supported by this kernel", ok ? "" : op.disables});
  }
  io_uring_free_probe(probe);
  return checks;
}

}  // namespace

std::vector<SupportCheck> ZeroCopyChecks() {
  std::vector<SupportCheck> checks = IoUringChecks();
  checks.push_back(CheckSoZerocopy(SOCK_STREAM, "SO_ZEROCOPY (TCP)"));
  checks.push_back(CheckSoZerocopy(SOCK_DGRAM, "SO_ZEROCOPY (UDP)"));
  return checks;
}

}  // namespace zcb::doctor
