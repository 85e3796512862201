#pragma once

// Names, ownership and emergency teardown of the kernel objects zcbench creates
// (network namespaces, cgroups; links and qdiscs live inside the namespaces).
//
// Naming: every object is called "zcb-<pid>-..." after the process that created it:
// namespaces "zcb-<pid>-<seq>-snd", cgroups "zcb-<pid>-<seq>-sender", interfaces
// "zcb-<pid>-s" (IFNAMSIZ leaves no room for more). The pid is the run id of the
// objects: `zcbench cleanup` parses it back to decide whether the owner still runs.
//
// Ownership: a process that creates objects first takes an exclusive flock on
// /run/zcbench/<pid>.lock and holds it until it dies. The lock, unlike the pid, cannot
// be inherited by an unrelated process that reuses the pid: an object whose owner's lock
// can be taken belongs to a dead run and is stale.
//
// Teardown: RAII owners remove their objects on every normal exit path. So that Ctrl-C
// and SIGTERM do not leak them either, each live object is also entered in a fixed,
// lock-free table that a signal handler can walk with async-signal-safe calls only
// (umount2, unlink, open, read, write, rmdir).

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/result.h"
#include "stack/unique_fd.h"

namespace zcb {

inline constexpr std::string_view kObjectPrefix = "zcb-";

// A fresh object id "<pid>-<seq>" for this process, taking the owner lock first.
Result<std::string> NewObjectId();

// "zcb-<pid>" followed by `suffix`: the name of an interface of this process.
std::string InterfaceName(std::string_view suffix);

// The owner pid encoded in an object name "zcb-<pid>-...", or nullopt when the name
// does not follow the scheme.
std::optional<pid_t> ObjectOwner(std::string_view name);

// Whether the process `pid` that created objects is still running (holds its lock).
bool OwnerAlive(pid_t pid);

// Removes lock files whose owner has died. Returns how many were removed.
int RemoveStaleOwnerLocks();

// A file beside the owner lock, for what a killed run must let `zcbench cleanup` undo
// (a sysctl to put back): "<lock dir>/zcb-<pid>-<seq><suffix>". Takes the lock first.
Result<std::string> NewOwnerStateFile(std::string_view suffix);
// Every such file whose name ends in `suffix`, in the lock directories, of any run.
std::vector<std::string> OwnerStateFiles(std::string_view suffix);
// An exclusive flock() on "<lock dir>/<name>.mutex" (created if missing), which runs take
// around a short section that must not interleave with another run's (checking that no
// other run overrides a sysctl, then claiming it). Released when the descriptor closes.
Result<UniqueFd> LockRunMutex(std::string_view name);

// --- the emergency table -----------------------------------------------------------

// A live network namespace bound at `bind_path` (/run/netns/NAME); returns a slot.
int RegisterLiveNamespace(const std::string& bind_path);
// A live cgroup directory: on removal every id listed in `dir`/`members_file` is written
// to `move_to_file` first (a cgroup with tasks cannot be removed), then `dir` is removed.
int RegisterLiveCgroup(const std::string& dir, const std::string& members_file, const std::string& move_to_file);
// A sysctl overridden in the process's namespace: on removal `value` is written to `fd`
// (the sysctl's file, opened in that namespace, which the caller keeps open) and the
// state file that would have told `zcbench cleanup` is removed.
int RegisterLiveSysctl(int fd, const std::string& value, const std::string& state_file);
// Frees the slot after a normal teardown removed the object. Removal stays idempotent,
// so a signal arriving in between only repeats it.
void ReleaseLiveSlot(int slot);

// Async-signal-safe removal primitives, used by both the RAII owners and the handler.
// Each returns 0 or an errno value.
int RemoveNamespaceBinding(const char* bind_path);
int RemoveCgroupDir(const char* dir, const char* members_file, const char* move_to_file);

// Removes every object in the table, newest first. Async-signal-safe.
void RemoveAllLiveObjects();

// SIGINT, SIGTERM, SIGHUP and SIGQUIT remove every live object, then the signal takes
// its previous course (the default: the process ends). Also removes them at exit().
// For programs (zcbench run, serve); tests do not install it.
void InstallCleanupSignalHandlers();

}  // namespace zcb
