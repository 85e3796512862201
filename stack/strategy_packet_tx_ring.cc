// packet_tx_ring: zcbench's own user-space UDP/IPv4/Ethernet stack. Each datagram is built
// as a whole Ethernet frame (stack/udp_frame.h: IPv4 header checksum, UDP checksum in
// software, left to offload, or none) straight into an AF_PACKET PACKET_TX_RING: a ring
// of frames mmap()ed from the kernel, which user space fills and marks
// TP_STATUS_SEND_REQUEST and the kernel sends when kicked with send(). The kernel attaches
// the ring's pages to the skb instead of copying them, and gives a frame back
// (TP_STATUS_AVAILABLE) when that skb is freed: on a local path, when the receiving UDP
// socket has read the datagram. The one copy is user space writing the payload into the
// frame; no socket, route or UDP code of the sending kernel runs.
//
// It needs an Ethernet device (a path with a link layer, whose LinkEndpoint gives the
// interface and the next hop's MAC) and CAP_NET_RAW. Frames are never fragmented: a
// datagram must fit the device MTU with its 28 IPv4/UDP header bytes.

#include <endian.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "stack/datagram.h"
#include "stack/mapped_region.h"
#include "stack/strategies.h"
#include "stack/udp_frame.h"
#include "stack/udp_limits.h"
#include "stack/unique_fd.h"

namespace zcb {
namespace {

using Clock = std::chrono::steady_clock;

// struct virtio_net_hdr of <linux/virtio_net.h>, which C++ cannot include (a member is
// called `class`). Fields are little-endian (virtio 1.0, and legacy on x86).
struct VirtioNetHeader {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(VirtioNetHeader) == 10);
constexpr uint8_t kVirtioNetHdrNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr uint8_t kVirtioNetHdrGsoNone = 0;    // VIRTIO_NET_HDR_GSO_NONE

// Where a TX frame's data starts (no PACKET_TX_HAS_OFF): after the aligned tpacket2_hdr.
constexpr size_t kFrameDataOffset = TPACKET2_HDRLEN - sizeof(sockaddr_ll);
// Frames per ring block are chosen so that blocks stay near this size.
constexpr size_t kTargetBlockBytes = 128 * 1024;

struct RingGeometry {
  size_t frame_size = 0;
  size_t frames_per_block = 0;
  size_t block_size = 0;
  size_t blocks = 0;
  size_t frames() const { return frames_per_block * blocks; }
};

RingGeometry PlanRing(size_t largest_frame, size_t frames_wanted) {
  RingGeometry g;
  g.frame_size = TPACKET_ALIGN(kFrameDataOffset + largest_frame);
  const size_t per_block = std::max<size_t>(1, kTargetBlockBytes / g.frame_size);
  g.block_size = RoundUp(per_block * g.frame_size, PageSize());
  g.frames_per_block = g.block_size / g.frame_size;
  g.blocks = (std::max<size_t>(frames_wanted, 1) + g.frames_per_block - 1) / g.frames_per_block;
  return g;
}

std::optional<UdpChecksumMode> ParseChecksumMode(const std::string& s) {
  if (s == "software") return UdpChecksumMode::kSoftware;
  if (s == "offload") return UdpChecksumMode::kOffload;
  if (s == "none") return UdpChecksumMode::kNone;
  return std::nullopt;
}

struct TxRingConfig {
  const Pattern* pattern = nullptr;
  uint32_t flow_id = 0;
  size_t max_datagram = 0;
  FrameEndpoints endpoints;
  UdpChecksumMode checksum = UdpChecksumMode::kSoftware;
  size_t batch = 32;
  std::chrono::milliseconds timeout{10000};
};

class PacketTxRingStrategy final : public SendStrategy {
 public:
  PacketTxRingStrategy(TxRingConfig config, UniqueFd fd, MappedRegion ring, RingGeometry geometry, size_t vnet_bytes)
      : config_(std::move(config)),
        fd_(std::move(fd)),
        ring_(std::move(ring)),
        geometry_(geometry),
        vnet_bytes_(vnet_bytes) {}

  Status Send(uint64_t /*offset*/, size_t len) override {
    ZCB_ASSIGN_OR_RETURN(uint8_t * frame, NextFrame());
    uint8_t* data = frame + kFrameDataOffset;
    uint8_t* ethernet = data + vnet_bytes_;
    FillDatagram(*config_.pattern, config_.flow_id, next_sequence_, {ethernet + kUdpFrameHeaders, len});
    const size_t frame_len = WriteUdpFrameHeaders(ethernet, config_.endpoints, ip_id_++, len, config_.checksum);
    if (vnet_bytes_ > 0) {
      VirtioNetHeader vnet{};
      if (config_.checksum == UdpChecksumMode::kOffload) {
        // The device (or the kernel, where the device cannot) completes the UDP checksum.
        vnet.flags = kVirtioNetHdrNeedsCsum;
        vnet.csum_start = htole16(static_cast<uint16_t>(kEthernetHeaderSize + kIpv4HeaderSize));
        vnet.csum_offset = htole16(static_cast<uint16_t>(kUdpChecksumOffset));
        vnet.hdr_len = htole16(static_cast<uint16_t>(kUdpFrameHeaders));
      }
      vnet.gso_type = kVirtioNetHdrGsoNone;
      std::memcpy(data, &vnet, sizeof vnet);
    }
    auto* header = reinterpret_cast<tpacket2_hdr*>(frame);
    header->tp_len = static_cast<uint32_t>(vnet_bytes_ + frame_len);
    // Release: the frame's bytes are written before the kernel can see the request.
    __atomic_store_n(&header->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    next_frame_ = (next_frame_ + 1) % geometry_.frames();
    ++next_sequence_;
    ++stats_.datagrams;
    stats_.bytes_sent += len;
    if (++unkicked_ >= config_.batch) return Kick(MSG_DONTWAIT);
    return OkStatus();
  }

  Status Finish() override {
    // A blocking kick sends what is left and returns once every frame's skb is freed.
    ZCB_RETURN_IF_ERROR(Kick(0));
    for (size_t i = 0; i < geometry_.frames(); ++i) {
      const uint32_t status = FrameStatus(FrameAt(i));
      if (status & TP_STATUS_WRONG_FORMAT) return WrongFormat(i);
    }
    return OkStatus();
  }

 private:
  uint8_t* FrameAt(size_t i) const {
    return ring_.data() + (i / geometry_.frames_per_block) * geometry_.block_size +
           (i % geometry_.frames_per_block) * geometry_.frame_size;
  }
  static uint32_t FrameStatus(const uint8_t* frame) {
    return __atomic_load_n(&reinterpret_cast<const tpacket2_hdr*>(frame)->tp_status, __ATOMIC_ACQUIRE);
  }

  Error WrongFormat(size_t i) const {
    return Errorf(
        "packet_tx_ring: the kernel rejected frame {} (TP_STATUS_WRONG_FORMAT): its length is outside what the "
        "device takes (Ethernet header to MTU + 14 bytes)",
        i);
  }

  // The next frame, once the kernel has given it back.
  Result<uint8_t*> NextFrame() {
    uint8_t* frame = FrameAt(next_frame_);
    uint32_t status = FrameStatus(frame);
    if (status == TP_STATUS_AVAILABLE) return frame;
    // The ring has wrapped onto frames still in flight: send what is queued, then wait
    // for the frame's skb to be freed (the socket polls writable when it is).
    if (unkicked_ > 0) ZCB_RETURN_IF_ERROR(Kick(MSG_DONTWAIT));
    const Clock::time_point give_up = Clock::now() + config_.timeout;
    for (;;) {
      status = FrameStatus(frame);
      if (status == TP_STATUS_AVAILABLE) return frame;
      if (status & TP_STATUS_WRONG_FORMAT) return WrongFormat(next_frame_);
      if (status == TP_STATUS_SEND_REQUEST) {
        ZCB_RETURN_IF_ERROR(Kick(MSG_DONTWAIT));
        continue;
      }
      if (Clock::now() >= give_up) {
        return Errorf(
            "packet_tx_ring: frame {} was not given back within {} ms (status {:#x}): the device or the "
            "receiving socket holds its skb",
            next_frame_, config_.timeout.count(), status);
      }
      pollfd pfd{fd_.get(), POLLOUT, 0};
      ::poll(&pfd, 1, 10);
    }
  }

  // send() with no data: the kernel sends every frame marked TP_STATUS_SEND_REQUEST.
  Status Kick(int flags) {
    unkicked_ = 0;
    for (;;) {
      const ssize_t n = ::send(fd_.get(), nullptr, 0, flags);
      ++stats_.send_calls;
      if (n >= 0) return OkStatus();
      if (errno == EINTR) continue;
      // The socket's send budget is used by frames in flight: the rest go on a later kick.
      if ((flags & MSG_DONTWAIT) && (errno == EAGAIN || errno == ENOBUFS)) return OkStatus();
      if (errno == ETIMEDOUT) {
        return Error(errno, "packet_tx_ring: send() (kick) waited longer than the send timeout for frames in flight");
      }
      return SysError("packet_tx_ring: send() (kick the TX ring)");
    }
  }

  TxRingConfig config_;
  UniqueFd fd_;
  MappedRegion ring_;
  RingGeometry geometry_;
  size_t vnet_bytes_;
  size_t next_frame_ = 0;
  size_t unkicked_ = 0;
  uint64_t next_sequence_ = 0;
  uint16_t ip_id_ = 0;
};

Status SetIntOption(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) return SysError(what);
  return OkStatus();
}

Result<std::unique_ptr<SendStrategy>> CreatePacketTxRing(const SendContext& ctx) {
  if (!ctx.link) {
    return Errorf(
        "packet_tx_ring writes Ethernet frames and needs a path with a link layer (an Ethernet device, e.g. "
        "--path veth); this path has none");
  }
  const LinkEndpoint& link = *ctx.link;
  ZCB_RETURN_IF_ERROR(CheckDatagramSize(ctx.message_size, "packet_tx_ring"));
  if (link.mtu > 0 && ctx.message_size + kIpv4UdpHeaders > static_cast<size_t>(link.mtu)) {
    return Errorf(
        "packet_tx_ring: a {}-byte datagram does not fit the device MTU of {} bytes with its 28 IPv4/UDP header "
        "bytes, and this stack does not fragment; use --size {} or less",
        ctx.message_size, link.mtu, static_cast<size_t>(link.mtu) - kIpv4UdpHeaders);
  }
  auto checksum = ParseChecksumMode(ctx.options.GetString("checksum"));
  const int64_t frames = ctx.options.GetInt("frames");
  const int64_t batch = ctx.options.GetInt("batch");
  if (frames < 2 || frames > (1 << 20))
    return Errorf("packet_tx_ring: frames={} must be between 2 and 1048576", frames);
  if (batch < 1 || batch > frames)
    return Errorf("packet_tx_ring: batch={} must be between 1 and frames ({})", batch, frames);

  // Addresses and ports: those of the connected UDP socket the harness opened, which also
  // keeps the source port reserved for this flow.
  sockaddr_in local{}, peer{};
  socklen_t len = sizeof local;
  if (::getsockname(ctx.socket_fd, reinterpret_cast<sockaddr*>(&local), &len) != 0 || local.sin_family != AF_INET) {
    return Errorf("packet_tx_ring: the sender's socket is not an IPv4 UDP socket");
  }
  len = sizeof peer;
  if (::getpeername(ctx.socket_fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
    return SysError("packet_tx_ring: getpeername on the connected UDP socket");
  }
  TxRingConfig config;
  config.pattern = &ctx.payload->pattern();
  config.flow_id = ctx.flow_id;
  config.max_datagram = ctx.message_size;
  config.checksum = *checksum;
  config.batch = static_cast<size_t>(batch);
  config.endpoints.source_mac = link.source_mac;
  config.endpoints.destination_mac = link.next_hop_mac;
  config.endpoints.source_ip_be = local.sin_addr.s_addr;
  config.endpoints.destination_ip_be = peer.sin_addr.s_addr;
  config.endpoints.source_port = ntohs(local.sin_port);
  config.endpoints.destination_port = ntohs(peer.sin_port);
  timeval tv{};
  socklen_t tv_len = sizeof tv;
  if (::getsockopt(ctx.socket_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &tv_len) == 0 && (tv.tv_sec > 0 || tv.tv_usec > 0)) {
    config.timeout = std::chrono::milliseconds(tv.tv_sec * 1000 + tv.tv_usec / 1000);
  }

  // Protocol 0: a transmit-only socket, no receive hook on the device (which would also
  // see, and copy, every frame sent).
  UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!fd) return SysError("packet_tx_ring: socket(AF_PACKET, SOCK_RAW) (needs CAP_NET_RAW: run as root)");
  ZCB_RETURN_IF_ERROR(SetIntOption(fd.get(), SOL_PACKET, PACKET_VERSION, TPACKET_V2,
                                   "packet_tx_ring: setsockopt(PACKET_VERSION, TPACKET_V2)"));
  size_t vnet_bytes = 0;
  if (config.checksum == UdpChecksumMode::kOffload) {
    ZCB_RETURN_IF_ERROR(
        SetIntOption(fd.get(), SOL_PACKET, PACKET_VNET_HDR, 1,
                     "packet_tx_ring: setsockopt(PACKET_VNET_HDR) for checksum=offload (a virtio_net_hdr "
                     "per frame asks the device to complete the UDP checksum)"));
    vnet_bytes = sizeof(VirtioNetHeader);
  }
  if (ctx.options.GetBool("qdisc_bypass")) {
    ZCB_RETURN_IF_ERROR(
        SetIntOption(fd.get(), SOL_PACKET, PACKET_QDISC_BYPASS, 1, "packet_tx_ring: setsockopt(PACKET_QDISC_BYPASS)"));
  }
  const RingGeometry geometry = PlanRing(vnet_bytes + kUdpFrameHeaders + ctx.message_size, static_cast<size_t>(frames));
  tpacket_req req{};
  req.tp_block_size = static_cast<unsigned>(geometry.block_size);
  req.tp_block_nr = static_cast<unsigned>(geometry.blocks);
  req.tp_frame_size = static_cast<unsigned>(geometry.frame_size);
  req.tp_frame_nr = static_cast<unsigned>(geometry.frames());
  if (::setsockopt(fd.get(), SOL_PACKET, PACKET_TX_RING, &req, sizeof req) != 0) {
    return SysError(
        fmt::format("packet_tx_ring: setsockopt(PACKET_TX_RING) for {} frames of {} bytes in {} blocks of {}",
                    req.tp_frame_nr, req.tp_frame_size, req.tp_block_nr, req.tp_block_size));
  }
  // Frames in flight are charged to the socket's send budget: room for the whole ring.
  const int sndbuf = static_cast<int>(std::min<size_t>(geometry.frames() * geometry.frame_size * 2, INT32_MAX / 2));
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0) {
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
  timeval timeout{static_cast<time_t>(config.timeout.count() / 1000),
                  static_cast<suseconds_t>(config.timeout.count() % 1000 * 1000)};
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) != 0) {
    return SysError("packet_tx_ring: setsockopt(SO_SNDTIMEO)");
  }
  ZCB_ASSIGN_OR_RETURN(MappedRegion ring, MappedRegion::OfFile(fd.get(), geometry.block_size * geometry.blocks, 0,
                                                               PROT_READ | PROT_WRITE, MAP_SHARED));
  sockaddr_ll bind_addr{};
  bind_addr.sll_family = AF_PACKET;
  bind_addr.sll_protocol = 0;
  bind_addr.sll_ifindex = link.ifindex;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&bind_addr), sizeof bind_addr) != 0) {
    return SysError(fmt::format("packet_tx_ring: bind to interface index {}", link.ifindex));
  }
  return std::unique_ptr<SendStrategy>(
      new PacketTxRingStrategy(std::move(config), std::move(fd), std::move(ring), geometry, vnet_bytes));
}

Availability ProbePacketTxRing() {
  UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!fd) {
    if (errno == EPERM || errno == EACCES)
      return {false, "packet_tx_ring needs CAP_NET_RAW for an AF_PACKET socket: run as root"};
    return {false, SysError("packet_tx_ring probe: socket(AF_PACKET, SOCK_RAW)").ToString()};
  }
  const int version = TPACKET_V2;
  if (::setsockopt(fd.get(), SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0) {
    return {false, SysError("packet_tx_ring probe: setsockopt(PACKET_VERSION, TPACKET_V2)").ToString()};
  }
  return {};
}

}  // namespace

StrategyInfo PacketTxRingStrategyInfo() {
  StrategyInfo info;
  info.name = "packet_tx_ring";
  info.summary =
      "user-space UDP/IPv4/Ethernet frames written into an AF_PACKET PACKET_TX_RING (needs a link layer, root)";
  info.caps.protocols = {Protocol::kUdp};
  // The payload is copied from the pattern into each frame: the frame is the buffer.
  info.caps.sources = {SourceKind::kMemory};
  info.caps.needs_link_layer = true;
  info.options = {
      {"checksum",
       OptionType::kChoice,
       "software",
       "UDP checksum: software (computed here), offload (virtio_net_hdr: the device or kernel completes it), none (0)",
       {"software", "offload", "none"}},
      OptionSpec{"frames", OptionType::kInt, "256", "frames in the TX ring (frames in flight at most)"}.InRange(
          2, 1 << 20),
      OptionSpec{"batch", OptionType::kInt, "32", "frames written per kick (send() call); the rest go at Finish"}
          .AtLeast(1),
      {"qdisc_bypass",
       OptionType::kBool,
       "false",
       "PACKET_QDISC_BYPASS: hand frames to the driver, skipping the qdisc",
       {}},
  };
  info.probe = ProbePacketTxRing;
  info.create = CreatePacketTxRing;
  return info;
}

}  // namespace zcb
