#include "drivers/net_namespace.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <cerrno>

#include <thread>
#include <utility>

#include <fmt/format.h>

#include "drivers/live_objects.h"

namespace zcb {

Result<NetNamespace> NetNamespace::Create(const std::string& name) {
  const std::string path = BindPath(name);
  // In the table before it exists, so that a signal during `ip netns add` removes it too.
  const int slot = RegisterLiveNamespace(path);
  auto added = RunCommand({"ip", "netns", "add", name});
  if (!added.ok()) {
    RemoveNamespaceBinding(path.c_str());
    ReleaseLiveSlot(slot);
    return std::move(added).error().Context("create network namespace " + name);
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    Error e = SysError("open " + path);
    RemoveNamespaceBinding(path.c_str());
    ReleaseLiveSlot(slot);
    return e;
  }
  NetNamespace ns(name, std::move(fd), slot);
  ZCB_RETURN_IF_ERROR(ns.Run({"ip", "link", "set", "lo", "up"}));
  return ns;
}

NetNamespace::NetNamespace(NetNamespace&& other) noexcept
    : name_(std::exchange(other.name_, std::string())),
      fd_(std::move(other.fd_)),
      slot_(std::exchange(other.slot_, -1)) {}

NetNamespace::~NetNamespace() {
  if (name_.empty()) return;  // moved from
  fd_.Reset();
  RemoveNamespaceBinding(BindPath(name_).c_str());
  ReleaseLiveSlot(slot_);
}

Status NetNamespace::Enter() const {
  if (::setns(fd_.get(), CLONE_NEWNET) != 0) {
    return SysError(fmt::format("enter network namespace {} (setns needs CAP_SYS_ADMIN)", name_));
  }
  return OkStatus();
}

Status NetNamespace::CheckNamed() const {
  const std::string path = BindPath(name_);
  struct stat named {};
  struct stat held {};
  if (::fstat(fd_.get(), &held) != 0) return SysError(fmt::format("fstat network namespace {}", name_));
  if (::stat(path.c_str(), &named) != 0) {
    if (errno == ENOENT) {
      return Errorf("network namespace {} was deleted from outside while the trial ran ({} is gone, e.g. ip netns del)",
                    name_, path);
    }
    return SysError(fmt::format("stat {}", path));
  }
  if (named.st_dev != held.st_dev || named.st_ino != held.st_ino) {
    return Errorf("network namespace {} was replaced from outside while the trial ran ({} leads to another one)", name_,
                  path);
  }
  return OkStatus();
}

Status NetNamespace::RunInside(const std::function<Status()>& task) const {
  Status result = OkStatus();
  std::thread inside([&] {
    result = Enter();
    if (result.ok()) result = task();
  });
  inside.join();
  return result;
}

}  // namespace zcb
