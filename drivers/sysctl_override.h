#pragma once

// A network sysctl set for a while and put back: `--optmem-max` writes
// net.core.optmem_max for each trial in the sender's network namespace (the zero-copy
// sends' notification memory is charged against it, and since Linux 6.9 each namespace
// has its own value, a new one starting at the kernel's default).
//
// The old value comes back on every exit path. The destructor restores it (a normal end,
// an error, the first Ctrl-C, which unwinds the trial). In the process's own namespace,
// whose value outlives the run, the override is also entered in the emergency table of
// drivers/live_objects.h (a second Ctrl-C, SIGTERM: the signal handler writes the old
// value back through a file descriptor opened in that namespace), and written to a state
// file beside the run's owner lock, "zcb-<pid>-<seq>.sysctl", which `zcbench cleanup`
// finds after a kill -9 and uses to restore it (drivers/leftovers.h). A namespace of the
// path's own goes away with the path and needs neither.

#include <memory>
#include <optional>
#include <string>

#include "stack/result.h"
#include "stack/unique_fd.h"

namespace zcb {

// "net.core.optmem_max" -> "/proc/sys/net/core/optmem_max".
std::string SysctlProcPath(const std::string& name);

// The value of sysctl `name` in the calling thread's network namespace (as the kernel
// prints it, without the newline), or the error that stopped the read.
Result<std::string> ReadSysctl(const std::string& name);

// Whether the calling thread is in the network namespace the process started in.
bool InProcessNetworkNamespace();

class SysctlOverride {
 public:
  // Sets `name` to `value` in the calling thread's network namespace, keeping the old
  // value; nothing is written when it already has that value. Needs root (CAP_NET_ADMIN
  // over the namespace): a refusal names the sysctl and the errno.
  static Result<std::unique_ptr<SysctlOverride>> Set(const std::string& name, const std::string& value);
  ~SysctlOverride();
  SysctlOverride(const SysctlOverride&) = delete;
  SysctlOverride& operator=(const SysctlOverride&) = delete;

  const std::string& original() const { return original_; }

 private:
  SysctlOverride(std::string name, std::string original, UniqueFd fd)
      : name_(std::move(name)), original_(std::move(original)), fd_(std::move(fd)) {}

  std::string name_;
  std::string original_;
  UniqueFd fd_;             // the sysctl file, opened in the namespace it was set in
  bool changed_ = false;    // written (or about to be): the destructor puts the original back
  int live_slot_ = -1;      // the emergency table's slot (the process's namespace only)
  std::string state_file_;  // for zcbench cleanup (the process's namespace only)
};

// A state file that a killed run left: the sysctl and the value to put back.
struct SysctlStateFile {
  std::string path;
  std::string name;
  std::string value;
};
// Reads a state file written by SysctlOverride.
Result<SysctlStateFile> ReadSysctlStateFile(const std::string& path);
// Writes its value back (in the calling thread's namespace) and removes the file.
Status RestoreSysctlStateFile(const SysctlStateFile& state);

}  // namespace zcb
