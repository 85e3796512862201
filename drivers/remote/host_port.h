#pragma once

// The address a remote peer is named by: `--peer` of the remote path, `--listen` of
// `zcbench serve`.

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "stack/result.h"

namespace zcb::remote {

// "host:port" (host a name, an IPv4 address or a bracketed IPv6 address; the port may be
// left out for default_port) -> address. Bad text is a usage error naming the form.
Result<sockaddr_storage> ResolveHostPort(const std::string& text, uint16_t default_port);

// The address's host alone, as `ip route get` takes it ("198.18.0.2", "fe80::1").
std::string FormatHost(const sockaddr_storage& addr);

}  // namespace zcb::remote
