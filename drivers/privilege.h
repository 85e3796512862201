#pragma once

// Privilege checks made before a path or a constraint touches the kernel, so that a
// run without the needed capability fails at once, naming it, instead of half-way
// through a set-up.

#include <string>

#include "stack/result.h"

namespace zcb {

enum class Capability : int { kNetAdmin = 12, kSysAdmin = 21 };

// Whether the calling thread has `cap` in its effective set.
bool HasCapability(Capability cap);

std::string_view CapabilityName(Capability cap);

// OkStatus, or an error naming the missing capabilities and why `who` needs them:
// "path veth needs CAP_NET_ADMIN and CAP_SYS_ADMIN (to create network namespaces ...)".
Status RequireCapabilities(std::initializer_list<Capability> caps, const std::string& who, const std::string& why);

}  // namespace zcb
