#include "harness/peers/peer_process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include <fmt/format.h>

namespace zcb {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(5);

double Seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6; }

// The last kMaxOutput bytes of a memory file.
std::string ReadAll(int fd) {
  std::string text;
  const off_t size = ::lseek(fd, 0, SEEK_END);
  if (size <= 0) return text;
  const off_t from =
      size > static_cast<off_t>(PeerProcess::kMaxOutput) ? size - static_cast<off_t>(PeerProcess::kMaxOutput) : 0;
  text.resize(static_cast<size_t>(size - from));
  const ssize_t got = ::pread(fd, text.data(), text.size(), from);
  text.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return text;
}

}  // namespace

std::string PeerExit::Describe() const {
  if (timed_out) return "killed at its deadline";
  if (signal != 0) return fmt::format("ended by signal {}", signal);
  return fmt::format("exit {}", exit_code);
}

Result<PeerProcess> PeerProcess::Start(const std::vector<std::string>& argv, std::optional<int> cpu) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') return Errorf("a peer's program needs an absolute path");
  // Everything the child needs is made before fork(): between fork and exec it may only
  // make system calls.
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  static char lang[] = "LC_ALL=C";  // stable, parseable output
  char* envp[] = {lang, nullptr};
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu) CPU_SET(*cpu, &set);
  UniqueFd out(::memfd_create("zcb-peer-out", MFD_CLOEXEC));
  UniqueFd err(::memfd_create("zcb-peer-err", MFD_CLOEXEC));
  if (!out || !err) return SysError("memfd_create for a peer's output");

  const pid_t pid = ::fork();
  if (pid < 0) return SysError(fmt::format("fork for '{}'", argv[0]));
  if (pid == 0) {
    // A tool gets the default signal handling: zcbench ignores SIGPIPE (an ignored signal
    // stays ignored across exec) and its threads may block signals.
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (cpu && ::sched_setaffinity(0, sizeof set, &set) != 0) ::_exit(125);
    ::dup2(out.get(), STDOUT_FILENO);
    ::dup2(err.get(), STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execve(cargv[0], cargv.data(), envp);
    ::_exit(127);
  }
  return PeerProcess(pid, std::move(out), std::move(err));
}

PeerProcess::PeerProcess(PeerProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), out_(std::move(other.out_)), err_(std::move(other.err_)) {}

PeerProcess::~PeerProcess() {
  if (running()) Stop(std::chrono::milliseconds(0));
}

PeerExit PeerProcess::Reap(bool timed_out) {
  PeerExit exit;
  int status = 0;
  rusage usage{};
  while (::wait4(pid_, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  exit.timed_out = timed_out;
  if (WIFEXITED(status)) exit.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
  exit.user_s = Seconds(usage.ru_utime);
  exit.system_s = Seconds(usage.ru_stime);
  exit.out = ReadAll(out_.get());
  exit.err = ReadAll(err_.get());
  if (exit.exit_code == 125 && exit.err.empty()) exit.err = "could not be pinned to its CPU (sched_setaffinity)";
  if (exit.exit_code == 127 && exit.err.empty()) exit.err = "exec failed";
  return exit;
}

PeerExit PeerProcess::Wait(std::chrono::steady_clock::time_point deadline) {
  if (!running()) return {};
  for (;;) {
    siginfo_t info{};
    // WNOWAIT: look without reaping, so that wait4 reaps it with its resource usage.
    const int r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    if (r == 0 && info.si_pid == pid_) return Reap(false);
    if (r < 0 && errno != EINTR) return Reap(false);
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      return Reap(true);
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

PeerExit PeerProcess::Stop(std::chrono::milliseconds grace) {
  if (!running()) return {};
  ::kill(pid_, SIGTERM);
  PeerExit exit = Wait(std::chrono::steady_clock::now() + grace);
  // Asked to end: a kill at the end of the grace is not the peer's failure.
  exit.timed_out = false;
  return exit;
}

}  // namespace zcb
