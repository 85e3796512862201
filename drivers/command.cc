#include "drivers/command.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "stack/unique_fd.h"

namespace zcb {
namespace {

// A set-up command that has not finished after this long is stuck (a wedged netlink
// socket, a hung driver): it is killed and the set-up fails instead of hanging the run.
constexpr int kCommandTimeoutMs = 30'000;

}  // namespace

// Resolved before fork(): between fork and exec the child may only make system calls.
Result<std::string> ResolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::vector<std::string> dirs = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
  if (const char* path = std::getenv("PATH")) {
    std::string p(path);
    for (size_t start = 0; start <= p.size();) {
      size_t colon = p.find(':', start);
      if (colon == std::string::npos) colon = p.size();
      if (colon > start) dirs.push_back(p.substr(start, colon - start));
      start = colon + 1;
    }
  }
  for (const auto& dir : dirs) {
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  const char* package = name == "ethtool" ? "ethtool" : "iproute2";
  return Errorf("the program '{}' was not found (install the Debian package {})", name, package);
}

std::string FormatCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

Result<CommandOutput> RunCommandStatus(const std::vector<std::string>& argv, int netns_fd) {
  if (argv.empty()) return Errorf("RunCommand: empty argument vector");
  ZCB_ASSIGN_OR_RETURN(std::string program, ResolveProgram(argv[0]));
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  static char empty_env_lang[] = "LC_ALL=C";  // stable, parseable program output
  char* envp[] = {empty_env_lang, nullptr};

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return SysError("pipe2");
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return SysError("pipe2");
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);

  const pid_t pid = ::fork();
  if (pid < 0) return SysError(fmt::format("fork for '{}'", FormatCommand(argv)));
  if (pid == 0) {
    // Child: only async-signal-safe calls from here to exec.
    if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) ::_exit(126);
    ::dup2(out_write.get(), STDOUT_FILENO);
    ::dup2(err_write.get(), STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execve(program.c_str(), cargv.data(), envp);
    ::_exit(127);
  }
  out_write.Reset();
  err_write.Reset();

  CommandOutput result;
  pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kCommandTimeoutMs);
  bool timed_out = false;
  while (open_fds > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    return Errorf("'{}' did not finish within {} s and was killed", FormatCommand(argv), kCommandTimeoutMs / 1000);
  if (WIFSIGNALED(status)) return Errorf("'{}' was killed by signal {}", FormatCommand(argv), WTERMSIG(status));
  result.exit_code = WEXITSTATUS(status);
  if (result.exit_code == 126 && netns_fd >= 0 && result.err.empty()) {
    return Errorf("'{}': could not enter the network namespace (setns needs CAP_SYS_ADMIN)", FormatCommand(argv));
  }
  if (result.exit_code == 127 && result.err.empty())
    return Errorf("'{}': exec {} failed", FormatCommand(argv), program);
  return result;
}

Result<CommandOutput> RunCommand(const std::vector<std::string>& argv, int netns_fd) {
  ZCB_ASSIGN_OR_RETURN(CommandOutput result, RunCommandStatus(argv, netns_fd));
  if (result.exit_code != 0) {
    std::string err = result.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return Errorf("'{}' failed (exit {}): {}", FormatCommand(argv), result.exit_code, err.empty() ? result.out : err);
  }
  return result;
}

}  // namespace zcb
