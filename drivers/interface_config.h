#pragma once

// A real interface of this host set to an offload profile, an MTU and a shaper for a
// while, and put back: `--path remote --path-option configure_interface=true` applies the
// device paths' options (drivers/offload_profile.h, drivers/shaper.h) to the interface the
// kernel routes to the peer through.
//
// Unlike a device path's veth, which goes away with its namespace, this interface
// outlives the run, so what was changed comes back on every exit path:
//   - the destructor restores it (a normal end, an error, the first Ctrl-C of a spec run,
//     which unwinds the trial);
//   - the emergency table of drivers/live_objects.h holds the restoring commands, which
//     its signal handler runs (Ctrl-C of a command-line run, SIGTERM, a second Ctrl-C);
//   - before anything is changed, a state file beside the run's owner lock,
//     "zcb-<pid>-<seq>.iface", records the old settings; `zcbench cleanup` finds it after a
//     kill -9 (drivers/leftovers.h) and restores them from it.
// Only what was changed is restored: the four offload switches (all four, as turning
// scatter-gather off turns TSO and GSO off with it), the MTU, and the root qdisc (removed,
// which gives the interface its kernel default back). A shaper is refused on an
// interface whose root qdisc was configured by hand (its handle is not 0:), which
// removing could not give back.

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/offload_profile.h"
#include "drivers/shaper.h"
#include "stack/result.h"

namespace zcb {

// What to change on the interface. profile.mtu 0: keep the MTU.
struct InterfaceRequest {
  OffloadProfile profile;
  std::optional<ShaperSpec> shaper;

  bool ChangesSomething() const { return profile.mtu != 0 || !profile.wanted.empty() || shaper.has_value(); }
  nlohmann::json ToJson() const;
};

// The device paths' options (mtu, sg, tx_checksum, tso, gso: DevicePathOptions; the
// shaper's, preset none by default: ShaperOptions), as they read for a real interface:
// mtu 0, the default, keeps its MTU.
std::vector<OptionSpec> InterfaceConfigOptions();
// The request those options make; `current_mtu` sizes the shaper's bucket when the MTU
// is kept. Errors name the option.
Result<InterfaceRequest> InterfaceRequestFromOptions(const Options& options, int current_mtu);

// The settings to put back on one interface, and where it is: a device name alone could
// name another device in another namespace, or a new one after the old went.
struct SavedInterface {
  std::string device;
  int ifindex = 0;
  ino_t netns_inode = 0;                 // the network namespace it was changed in
  std::optional<int> mtu;                // set: the MTU to put back
  std::map<std::string, bool> offloads;  // switch option ("sg") -> its state before
  bool remove_root_qdisc = false;        // a shaper was installed as the root qdisc

  nlohmann::json ToJson() const;
  static Result<SavedInterface> FromJson(const nlohmann::json& json);
  // The commands that put the settings back (ethtool -K, ip link set mtu, tc qdisc del).
  std::vector<std::vector<std::string>> RestoreCommands() const;
};

// The calling thread's network namespace, by inode (0 when unreadable).
ino_t CurrentNetnsInode();

class InterfaceConfig {
 public:
  // Applies `request` to `device` in the calling thread's network namespace, after saving
  // what it changes (state file, emergency table). Refuses lo (the loopback path is the
  // loopback device), a device that does not exist, and a shaper over a root qdisc
  // configured by hand. Needs CAP_NET_ADMIN.
  static Result<std::unique_ptr<InterfaceConfig>> Apply(const std::string& device, const InterfaceRequest& request);
  ~InterfaceConfig();
  InterfaceConfig(const InterfaceConfig&) = delete;
  InterfaceConfig& operator=(const InterfaceConfig&) = delete;

  // Puts the settings back now (the destructor then has nothing left to do); the error
  // names what did not come back.
  Status Restore();

  const SavedInterface& saved() const { return saved_; }

 private:
  explicit InterfaceConfig(SavedInterface saved) : saved_(std::move(saved)) {}

  SavedInterface saved_;
  bool restored_ = false;
  int live_slot_ = -1;      // the emergency table's slot
  std::string state_file_;  // for zcbench cleanup
};

// Whether `device` is the loopback device (lo, or any device of type loopback).
bool IsLoopbackDevice(const std::string& device);

// The one device the calling thread's namespace sends to `destination` through, read
// from `ip -j route get` (the route the kernel picks) and the main table's matching
// route (whose nexthops say whether traffic to it may leave by other devices too).
// Errors: no route, or a route over several devices.
Result<std::string> SingleRouteDevice(const std::string& destination);
// The same from the two commands' JSON output, for tests: `route_get` of `ip -j route get
// DEST`, `matching` of `ip -j route show match DEST`.
Result<std::string> SingleRouteDeviceFrom(const std::string& destination, const nlohmann::json& route_get,
                                          const nlohmann::json& matching);

// A state file that a killed run left: the settings to put back.
struct InterfaceStateFile {
  std::string path;
  SavedInterface saved;
};
inline constexpr std::string_view kInterfaceStateSuffix = ".iface";
Result<InterfaceStateFile> ReadInterfaceStateFile(const std::string& path);
// Puts the settings back (in the calling thread's namespace, which must be the one they
// were changed in, the device the same by index) and removes the file.
Status RestoreInterfaceStateFile(const InterfaceStateFile& state);

}  // namespace zcb
