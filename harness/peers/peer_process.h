#pragma once

// One process of a peer (its server or its client): started with fork + exec of an
// argument vector (never a shell) from the calling thread, so that it is born in that
// thread's network namespace and cgroup (the runner calls it from a thread that entered
// the path's side and the host constraints); pinned to a CPU before exec; its output kept
// in memory files; time-bound: killed by its pid at its deadline; reaped with wait4 for
// its resource usage (user and system CPU, the children's included).

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "stack/result.h"
#include "stack/unique_fd.h"

namespace zcb {

struct PeerExit {
  int exit_code = -1;      // -1: killed by a signal
  int signal = 0;          // the signal that ended it (0: it exited)
  bool timed_out = false;  // zcbench killed it at its deadline
  double user_s = 0, system_s = 0;
  std::string out, err;  // what it wrote (each cut to its last kMaxOutput bytes)
  // "exit 0", "killed at its deadline", "signal 9": for messages.
  std::string Describe() const;
};

class PeerProcess {
 public:
  static constexpr size_t kMaxOutput = 1 << 20;

  // Starts `argv` (argv[0] an absolute path) pinned to `cpu` (nullopt: not pinned), with
  // LC_ALL=C and stdin from /dev/null.
  static Result<PeerProcess> Start(const std::vector<std::string>& argv, std::optional<int> cpu);

  PeerProcess(PeerProcess&& other) noexcept;
  PeerProcess& operator=(PeerProcess&&) = delete;
  PeerProcess(const PeerProcess&) = delete;
  // Kills (by its pid) and reaps a process that is still running.
  ~PeerProcess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Waits until it exits, or kills it (SIGKILL, by its pid) at `deadline`; then reaps it.
  PeerExit Wait(std::chrono::steady_clock::time_point deadline);
  // Ends it now (SIGTERM, then SIGKILL after `grace`) and reaps it.
  PeerExit Stop(std::chrono::milliseconds grace);

 private:
  PeerProcess(pid_t pid, UniqueFd out, UniqueFd err) : pid_(pid), out_(std::move(out)), err_(std::move(err)) {}
  PeerExit Reap(bool timed_out);

  pid_t pid_ = -1;
  UniqueFd out_, err_;  // memory files the child writes to
};

}  // namespace zcb
