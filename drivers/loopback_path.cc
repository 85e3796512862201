#include "drivers/loopback_path.h"

#include <arpa/inet.h>

#include <cstring>

namespace zcb {
namespace {

class LoopbackPath final : public NetworkPath {
 public:
  const std::string& name() const override { return name_; }
  PathCapabilities capabilities() const override { return LoopbackPathInfo().caps; }

  sockaddr_storage ReceiverAddress() const override {
    sockaddr_storage storage{};
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return storage;
  }

  nlohmann::json Describe() const override {
    return {{"description", "sender and receiver on 127.0.0.1 in one network namespace"},
            {"interfaces", nlohmann::json::array({{{"name", "lo"}, {"namespace", nullptr}, {"driver", "loopback"}}})}};
  }

 private:
  std::string name_ = "loopback";
};

}  // namespace

PathInfo LoopbackPathInfo() {
  PathInfo info;
  info.name = "loopback";
  info.summary = "127.0.0.1 in the current namespace (every zero-copy send is copied on local delivery)";
  info.caps = {.needs_root = false, .has_link_layer = false, .local_delivery = true};
  info.create = [](const Options&) -> Result<std::unique_ptr<NetworkPath>> {
    return std::unique_ptr<NetworkPath>(new LoopbackPath());
  };
  return info;
}

}  // namespace zcb
