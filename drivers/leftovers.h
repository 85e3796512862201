#pragma once

// Objects that zcbench runs left behind: network namespaces, links and their qdiscs in
// the caller's namespace, cgroups, resctrl groups (drivers/resctrl.h), and sysctls and
// interface settings to put back (drivers/sysctl_override.h, drivers/interface_config.h),
// all named with the zcb- prefix (see drivers/live_objects.h). A killed run (kill -9, a
// crash) cannot remove its own; this finds them, tells whose they are and whether that run
// still lives, and removes the stale ones. `zcbench cleanup` and the start of `zcbench run`
// use it.
//
// What the device paths make inside their zcb- namespaces (veth pairs, the sink's dummy
// device, its clsact qdisc and BPF classifier) goes with the namespace: removing the
// namespace destroys its devices, their qdiscs and filters, and the last reference to the
// filter's program. None of it is ever made in the caller's namespace.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "stack/result.h"

namespace zcb {

struct Leftover {
  // kSysctl: a sysctl a run changed in its own namespace, to put back (its state file).
  // kInterface: a real interface's offloads, MTU or shaper a run changed
  // (drivers/interface_config.h), to put back (its state file).
  // kResctrlGroup: a memory-bandwidth limit's group under the resctrl mount.
  enum class Kind { kNamespace, kLink, kQdisc, kCgroup, kResctrlGroup, kSysctl, kInterface };
  Kind kind;
  std::string name;      // namespace, link, or the qdisc's device
  std::string location;  // /run/netns/NAME, the cgroup or resctrl group directory, "qdisc root on DEV", the state file
  std::optional<pid_t> owner;  // parsed from the name
  bool owner_alive = false;    // the owner still runs: not stale

  // Stale: the owner is known and dead. Unknown owners are stale only when asked (--all).
  bool Stale(bool include_unknown) const { return owner ? !owner_alive : include_unknown; }
  std::string Describe() const;
};

std::string_view ToString(Leftover::Kind kind);

// Every zcb- object visible from the calling thread's network namespace, the mounted
// cgroup hierarchies and the resctrl file system. Interface settings are listed in the
// namespace they were changed in only: a run inside a namespace is cleaned up from inside it.
std::vector<Leftover> FindLeftovers();

struct LeftoverRemoval {
  std::vector<Leftover> removed;
  std::vector<std::pair<Leftover, std::string>> failed;  // with the reason
  int lock_files_removed = 0;
};

// Removes the given objects (qdiscs, links, cgroups and resctrl groups, then namespaces) and the lock
// files of dead runs. Needs CAP_NET_ADMIN and CAP_SYS_ADMIN for namespaces and links.
LeftoverRemoval RemoveLeftovers(const std::vector<Leftover>& objects);

}  // namespace zcb
