#pragma once

// Helpers shared by the fuzz targets (tests/fuzz/*_fuzzer.cc): turning libFuzzer's bytes
// into what a parser reads (a socket with the bytes queued, a selector byte split off the
// front), and saying what failed before the abort.

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "stack/unique_fd.h"

namespace zcb::fuzz {

// A failure of the target's own set-up: says which call failed, and errno, before the
// abort that libFuzzer reports.
[[noreturn]] inline void Fail(const char* what) {
  std::perror(what);
  std::abort();
}

// A property of the parser that does not hold for this input: says which.
[[noreturn]] inline void Broken(const char* property) {
  std::fprintf(stderr, "fuzz target: broken: %s\n", property);
  std::abort();
}

// The reading end of a stream socket pair holding `bytes` (as much of them as the socket
// buffers take), its other end shut down: a reader sees the bytes, then end of stream.
inline UniqueFd SocketHolding(std::span<const uint8_t> bytes) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) != 0) Fail("socketpair");
  UniqueFd reader(fds[0]), writer(fds[1]);
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(writer.get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the buffers are full: the rest is cut off, as a peer's close would
    sent += static_cast<size_t>(n);
  }
  ::shutdown(writer.get(), SHUT_WR);
  // Both ends are non-blocking (so that a full buffer cuts the input off); the reader never
  // waits anyway: the bytes are queued and the end of stream follows them.
  return reader;
}

// Splits the input into a leading selector byte and the rest.
struct Selector {
  uint8_t choice = 0;
  std::span<const uint8_t> rest;
};
inline Selector TakeSelector(const uint8_t* data, size_t size) {
  if (size == 0) return {};
  return {data[0], {data + 1, size - 1}};
}

}  // namespace zcb::fuzz
