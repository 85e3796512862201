#pragma once

// A named network namespace (/run/netns/NAME, the `ip netns` convention, so that
// `ip netns list` shows it and `ip -n NAME` works on it), owned RAII-style: the
// destructor removes it, and the namespace is in the emergency table meanwhile.

#include <functional>
#include <string>
#include <vector>

#include "drivers/command.h"
#include "stack/result.h"
#include "stack/unique_fd.h"

namespace zcb {

class NetNamespace {
 public:
  // `ip netns add NAME`, then brings its loopback device up.
  static Result<NetNamespace> Create(const std::string& name);

  NetNamespace(NetNamespace&& other) noexcept;
  NetNamespace& operator=(NetNamespace&&) = delete;
  NetNamespace(const NetNamespace&) = delete;
  ~NetNamespace();

  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }

  // Moves the calling thread into the namespace (setns). Threads it creates afterwards
  // start there too.
  Status Enter() const;

  // Runs a program inside the namespace (see RunCommand).
  Result<CommandOutput> Run(const std::vector<std::string>& argv) const { return RunCommand(argv, fd_.get()); }
  Result<CommandOutput> RunStatus(const std::vector<std::string>& argv) const {
    return RunCommandStatus(argv, fd_.get());
  }

  // Runs `task` on a thread of its own inside the namespace, for calls that act on the
  // calling thread's namespace (netlink: attaching a tc program), and returns its status.
  // The caller's thread stays where it is.
  Status RunInside(const std::function<Status()>& task) const;

  static std::string BindPath(const std::string& name) { return "/run/netns/" + name; }

  // Whether the name still leads to this namespace. `ip netns del NAME` from outside
  // removes the name only: the namespace lives on while this object holds it, but nothing
  // else can reach it by name any more (ip -n, zcbench cleanup), so a trial that finds its
  // namespace unnamed has lost control of its path and says so.
  Status CheckNamed() const;

 private:
  NetNamespace(std::string name, UniqueFd fd, int slot) : name_(std::move(name)), fd_(std::move(fd)), slot_(slot) {}

  std::string name_;
  UniqueFd fd_;
  int slot_ = -1;
};

}  // namespace zcb
