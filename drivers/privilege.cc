#include "drivers/privilege.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include <fmt/format.h>

namespace zcb {

bool HasCapability(Capability cap) {
  // capget() for the calling thread: capabilities are per thread, and a thread that
  // dropped them must not be told it has them because the process once did.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  const int bit = static_cast<int>(cap);
  return (data[bit / 32].effective & (1u << (bit % 32))) != 0;
}

std::string_view CapabilityName(Capability cap) {
  switch (cap) {
    case Capability::kNetAdmin:
      return "CAP_NET_ADMIN";
    case Capability::kSysAdmin:
      return "CAP_SYS_ADMIN";
  }
  return "?";
}

Status RequireCapabilities(std::initializer_list<Capability> caps, const std::string& who, const std::string& why) {
  std::vector<std::string_view> missing;
  for (Capability cap : caps) {
    if (!HasCapability(cap)) missing.push_back(CapabilityName(cap));
  }
  if (missing.empty()) return OkStatus();
  std::string names;
  for (size_t i = 0; i < missing.size(); ++i) {
    names += fmt::format("{}{}", i == 0 ? "" : (i + 1 == missing.size() ? " and " : ", "), missing[i]);
  }
  return Errorf("{} needs {} ({}); run zcbench as root (sudo), or grant the capabilit{} to the binary with setcap", who,
                names, why, missing.size() == 1 ? "y" : "ies");
}

}  // namespace zcb
