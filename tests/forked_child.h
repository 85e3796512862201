#pragma once

// A child process for the tests that kill a run in the middle: it runs `set_up`, tells
// the parent whether that went well, then waits for the signal the test sends it
// (kill -9, Ctrl-C). Shared by the drivers' and the cross-layer test binaries.

#include <sys/types.h>
#include <unistd.h>

#include <csignal>
#include <functional>

namespace zcb::testing {

struct ForkedChild {
  pid_t pid = -1;      // -1: fork or pipe failed
  bool ready = false;  // the child's set_up returned true
};

inline ForkedChild ForkReadyChild(const std::function<bool()>& set_up) {
  int ready[2];
  if (::pipe(ready) != 0) return {};
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(ready[0]);
    ::close(ready[1]);
    return {};
  }
  if (child == 0) {
    ::close(ready[0]);
    const char ok = set_up() ? 'y' : 'n';
    (void)!::write(ready[1], &ok, 1);
    for (;;) ::pause();  // the test's signal arrives here
  }
  ::close(ready[1]);
  char ok = 0;
  const bool read = ::read(ready[0], &ok, 1) == 1;
  ::close(ready[0]);
  return {child, read && ok == 'y'};
}

}  // namespace zcb::testing
