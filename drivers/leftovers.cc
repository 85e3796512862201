#include "drivers/leftovers.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "drivers/command.h"
#include "drivers/interface_config.h"
#include "drivers/live_objects.h"
#include "drivers/net_namespace.h"
#include "drivers/resctrl.h"
#include "drivers/sysctl_override.h"

namespace zcb {
namespace {

bool HasPrefix(const std::string& name) { return name.rfind(std::string(kObjectPrefix), 0) == 0; }

Leftover Make(Leftover::Kind kind, const std::string& name, const std::string& location) {
  Leftover l{kind, name, location, ObjectOwner(name), false};
  if (l.owner) l.owner_alive = OwnerAlive(*l.owner);
  return l;
}

// A state file "zcb-<pid>-<seq><suffix>" of what a run changed: its owner is in the file's name.
Leftover StateFileLeftover(Leftover::Kind kind, const std::string& name, const std::string& path) {
  Leftover l = Make(kind, name, path);
  l.owner = ObjectOwner(path.substr(path.rfind('/') + 1));
  l.owner_alive = l.owner && OwnerAlive(*l.owner);
  return l;
}

void FindNamespaces(std::vector<Leftover>& out) {
  DIR* d = ::opendir("/run/netns");
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (HasPrefix(name)) out.push_back(Make(Leftover::Kind::kNamespace, name, NetNamespace::BindPath(name)));
  }
  ::closedir(d);
}

void FindLinksAndQdiscs(std::vector<Leftover>& out) {
  auto links = RunCommand({"ip", "-j", "link", "show"});
  if (links.ok()) {
    nlohmann::json parsed = nlohmann::json::parse(links->out, nullptr, false);
    if (parsed.is_array()) {
      for (const auto& link : parsed) {
        const std::string name = link.value("ifname", "");
        if (HasPrefix(name)) out.push_back(Make(Leftover::Kind::kLink, name, "link " + name));
      }
    }
  }
  auto qdiscs = RunCommand({"tc", "-j", "qdisc", "show"});
  if (qdiscs.ok()) {
    nlohmann::json parsed = nlohmann::json::parse(qdiscs->out, nullptr, false);
    if (parsed.is_array()) {
      for (const auto& q : parsed) {
        const std::string dev = q.value("dev", "");
        // Only the root qdiscs zcbench installs (tbf, htb); the default ones go with the link.
        const std::string kind = q.value("kind", "");
        if (HasPrefix(dev) && q.contains("root") && (kind == "tbf" || kind == "htb")) {
          out.push_back(Make(Leftover::Kind::kQdisc, dev, fmt::format("{} qdisc root on {}", kind, dev)));
        }
      }
    }
  }
}

std::vector<std::string> CgroupMountPoints() {
  std::vector<std::string> points;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream left(line.substr(0, dash)), right(line.substr(dash + 3));
    std::string f[5], fstype;
    for (auto& x : f) left >> x;
    right >> fstype;
    if (fstype == "cgroup" || fstype == "cgroup2") points.push_back(f[4]);
  }
  return points;
}

// zcb- directories below `dir`, at most `depth` levels down; not below a zcb- directory
// (its children go with it).
void FindCgroupsUnder(const std::string& dir, int depth, std::vector<Leftover>& out) {
  if (depth < 0) return;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> children;
  while (dirent* e = ::readdir(d)) {
    if (e->d_type != DT_DIR || std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    children.push_back(e->d_name);
  }
  ::closedir(d);
  for (const auto& child : children) {
    const std::string path = dir + "/" + child;
    if (HasPrefix(child)) out.push_back(Make(Leftover::Kind::kCgroup, child, path));
    else FindCgroupsUnder(path, depth - 1, out);
  }
}

// zcb- groups directly under the resctrl mount (its groups do not nest).
void FindResctrlGroups(std::vector<Leftover>& out) {
  const auto mount = FindResctrlMount();
  if (!mount) return;
  DIR* d = ::opendir(mount->dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (e->d_type == DT_DIR && HasPrefix(name)) {
      out.push_back(Make(Leftover::Kind::kResctrlGroup, name, mount->dir + "/" + name));
    }
  }
  ::closedir(d);
}

bool IsV2(const std::string& dir) {
  struct stat st {};
  return ::stat((dir + "/cgroup.procs").c_str(), &st) == 0 && ::stat((dir + "/tasks").c_str(), &st) != 0;
}

// Removes `dir` and its sub-cgroups, moving any task left to the parent of `dir`.
Status RemoveCgroupTree(const std::string& dir, const std::string& parent) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errno == ENOENT ? OkStatus() : SysError("open " + dir);
  std::vector<std::string> children;
  while (dirent* e = ::readdir(d)) {
    if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      children.push_back(e->d_name);
  }
  ::closedir(d);
  for (const auto& child : children) ZCB_RETURN_IF_ERROR(RemoveCgroupTree(dir + "/" + child, parent));
  const bool v2 = IsV2(dir);
  const std::string move_to = parent + (v2 ? "/cgroup.procs" : "/tasks");
  // A v2 threaded child lists threads, its domain lists processes.
  int rc = RemoveCgroupDir(dir.c_str(), v2 ? "cgroup.threads" : "tasks", move_to.c_str());
  if (rc != 0 && v2) rc = RemoveCgroupDir(dir.c_str(), "cgroup.procs", move_to.c_str());
  if (rc != 0) return Error(rc, "remove cgroup " + dir);
  return OkStatus();
}

Status Remove(const Leftover& l) {
  switch (l.kind) {
    case Leftover::Kind::kNamespace: {
      const int rc = RemoveNamespaceBinding(l.location.c_str());
      if (rc != 0) return Error(rc, "remove network namespace " + l.name);
      return OkStatus();
    }
    case Leftover::Kind::kLink: {
      auto r = RunCommandStatus({"ip", "link", "del", "dev", l.name});
      if (!r.ok()) return std::move(r).error();
      if (r->exit_code != 0 && r->err.find("Cannot find device") == std::string::npos) {
        return Errorf("ip link del dev {}: {}", l.name, r->err.substr(0, r->err.find('\n')));
      }
      return OkStatus();
    }
    case Leftover::Kind::kQdisc: {
      auto r = RunCommandStatus({"tc", "qdisc", "del", "dev", l.name, "root"});
      if (!r.ok()) return std::move(r).error();
      return OkStatus();  // gone already, or going with its link
    }
    case Leftover::Kind::kCgroup: {
      const std::string parent = l.location.substr(0, l.location.rfind('/'));
      return RemoveCgroupTree(l.location, parent);
    }
    case Leftover::Kind::kResctrlGroup: {
      // Its tasks go back to the root group first, as at the end of a trial.
      const std::string root = l.location.substr(0, l.location.rfind('/'));
      if (const int rc = RemoveCgroupDir(l.location.c_str(), "tasks", (root + "/tasks").c_str()); rc != 0) {
        return Error(rc, "remove resctrl group " + l.location);
      }
      return OkStatus();
    }
    case Leftover::Kind::kSysctl: {
      ZCB_ASSIGN_OR_RETURN(const SysctlStateFile state, ReadSysctlStateFile(l.location));
      return RestoreSysctlStateFile(state);
    }
    case Leftover::Kind::kInterface: {
      ZCB_ASSIGN_OR_RETURN(const InterfaceStateFile state, ReadInterfaceStateFile(l.location));
      return RestoreInterfaceStateFile(state);
    }
  }
  return OkStatus();
}

int Order(Leftover::Kind kind) {
  switch (kind) {
    case Leftover::Kind::kQdisc:
      return 0;
    case Leftover::Kind::kLink:
      return 1;
    case Leftover::Kind::kCgroup:
    case Leftover::Kind::kResctrlGroup:
      return 2;
    case Leftover::Kind::kNamespace:
      return 3;
    case Leftover::Kind::kSysctl:
    case Leftover::Kind::kInterface:
      return 4;
  }
  return 5;
}

}  // namespace

std::string_view ToString(Leftover::Kind kind) {
  switch (kind) {
    case Leftover::Kind::kNamespace:
      return "namespace";
    case Leftover::Kind::kLink:
      return "link";
    case Leftover::Kind::kQdisc:
      return "qdisc";
    case Leftover::Kind::kCgroup:
      return "cgroup";
    case Leftover::Kind::kResctrlGroup:
      return "resctrl group";
    case Leftover::Kind::kSysctl:
      return "sysctl";
    case Leftover::Kind::kInterface:
      return "interface";
  }
  return "?";
}

std::string Leftover::Describe() const {
  const std::string who = owner ? fmt::format("run of pid {}, {}", *owner, owner_alive ? "still running" : "dead")
                                : std::string("owner unknown");
  return fmt::format("{} {} ({}; {})", ToString(kind), name, location, who);
}

std::vector<Leftover> FindLeftovers() {
  std::vector<Leftover> out;
  FindNamespaces(out);
  FindLinksAndQdiscs(out);
  // Deep enough for a v2 run started from a systemd user session:
  // user.slice/user-N.slice/user@N.service/app.slice/run-X.scope/zcb-... is 6 levels down.
  for (const auto& mount : CgroupMountPoints()) FindCgroupsUnder(mount, 8, out);
  FindResctrlGroups(out);
  for (const std::string& path : OwnerStateFiles(".sysctl")) {
    auto state = ReadSysctlStateFile(path);
    const std::string file = path.substr(path.rfind('/') + 1);
    out.push_back(
        StateFileLeftover(Leftover::Kind::kSysctl, state.ok() ? state->name + "=" + state->value : file, path));
  }
  const ino_t netns = CurrentNetnsInode();
  for (const std::string& path : OwnerStateFiles(kInterfaceStateSuffix)) {
    auto state = ReadInterfaceStateFile(path);
    if (state.ok() && state->saved.netns_inode != netns) continue;  // another namespace's
    const std::string file = path.substr(path.rfind('/') + 1);
    out.push_back(StateFileLeftover(Leftover::Kind::kInterface, state.ok() ? state->saved.device : file, path));
  }
  return out;
}

LeftoverRemoval RemoveLeftovers(const std::vector<Leftover>& objects) {
  std::vector<Leftover> sorted = objects;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Leftover& a, const Leftover& b) { return Order(a.kind) < Order(b.kind); });
  LeftoverRemoval result;
  for (const auto& l : sorted) {
    if (auto s = Remove(l); s.ok()) result.removed.push_back(l);
    else result.failed.emplace_back(l, s.error().ToString());
  }
  result.lock_files_removed = RemoveStaleOwnerLocks();
  return result;
}

}  // namespace zcb
