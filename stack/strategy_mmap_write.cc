// mmap_write: map the payload file, write() from the mapping, unmap. The BSD
// write-from-mmap path as a Linux program sees it: the socket still copies the bytes,
// so what this measures against `write` is what the mapping itself costs.
//
//   mode=chunk   mmap + write + munmap per message, over the page-aligned range that
//                covers it: page-table set-up, a fault per fault-around block on first
//                touch, and on munmap the TLB shootdown the seed argues about (remote
//                when a sibling thread of the process, such as the receiver, last ran
//                on another CPU).
//   mode=window  a sliding window of `window` bytes of the file, remapped only when a
//                message runs past it: the mapping cost amortised, as a server that maps
//                whole files pays it. The payload file (P + message bytes, page rounded)
//                is smaller than the default window unless the pattern period is large,
//                in which case the file is mapped once.
//
// A server's response (SendResponse): the header from user memory with MSG_MORE, then
// the file range mapped (page-aligned, with MAP_POPULATE if `populate`), written from
// the mapping and unmapped: map, write, unmap per file, whatever `mode` says for Send.

#include <algorithm>

#include "stack/socket_io.h"
#include "stack/strategies.h"

namespace zcb {
namespace {

enum class MapMode { kChunk, kWindow };

class MmapWriteStrategy final : public SendStrategy {
 public:
  MmapWriteStrategy(int socket_fd, Payload& payload, MapMode mode, size_t window, bool populate)
      : socket_fd_(socket_fd),
        payload_(payload),
        mode_(mode),
        window_(window),
        map_flags_(MAP_SHARED | (populate ? MAP_POPULATE : 0)) {}

  Status Send(uint64_t offset, size_t len) override {
    const size_t file_offset = static_cast<size_t>(payload_.FileOffset(offset));
    if (mode_ == MapMode::kChunk) {
      const size_t start = RoundDown(file_offset, PageSize());
      ZCB_ASSIGN_OR_RETURN(MappedRegion chunk, Map(start, RoundUp(file_offset + len, PageSize()) - start));
      ZCB_RETURN_IF_ERROR(SendAll(socket_fd_, chunk.data() + (file_offset - start), len, 0, &stats_.send_calls));
      // `chunk` is unmapped here, at the end of every message.
    } else {
      if (!window_map_.valid() || file_offset < window_start_ ||
          file_offset + len > window_start_ + window_map_.size()) {
        ZCB_RETURN_IF_ERROR(Slide(file_offset, len));
      }
      const uint8_t* data = window_map_.data() + (file_offset - window_start_);
      ZCB_RETURN_IF_ERROR(SendAll(socket_fd_, data, len, 0, &stats_.send_calls));
    }
    stats_.bytes_sent += len;
    return OkStatus();
  }

  Status SendResponse(const Response& response) override {
    ZCB_RETURN_IF_ERROR(SendResponseHeader(response, &stats_.send_calls));
    if (response.file_length > 0) {
      const uint64_t start = RoundDown(response.file_offset, PageSize());
      const uint64_t end = RoundUp(response.file_offset + response.file_length, PageSize());
      ZCB_ASSIGN_OR_RETURN(MappedRegion file, MappedRegion::OfFile(response.file_fd, end - start,
                                                                   static_cast<off_t>(start), PROT_READ, map_flags_));
      ZCB_RETURN_IF_ERROR(SendAll(response.socket_fd, file.data() + (response.file_offset - start),
                                  response.file_length, 0, &stats_.send_calls));
      // `file` is unmapped here, once the response is written.
    }
    stats_.bytes_sent += response.size();
    return OkStatus();
  }

 private:
  Result<MappedRegion> Map(size_t start, size_t length) {
    return MappedRegion::OfFile(payload_.fd(), length, static_cast<off_t>(start), PROT_READ, map_flags_);
  }

  // Moves the window to start at the page holding `file_offset`, `window_` bytes long
  // (or as long as the message needs), clipped to the end of the file.
  Status Slide(size_t file_offset, size_t len) {
    window_map_.Reset();  // unmap first: never two windows mapped at once
    const size_t start = RoundDown(file_offset, PageSize());
    const size_t needed = RoundUp(file_offset + len, PageSize()) - start;
    const size_t length = std::max(needed, std::min(window_, payload_.file_size() - start));
    ZCB_ASSIGN_OR_RETURN(window_map_, Map(start, length));
    window_start_ = start;
    return OkStatus();
  }

  int socket_fd_;
  Payload& payload_;
  MapMode mode_;
  size_t window_;
  int map_flags_;
  MappedRegion window_map_;
  size_t window_start_ = 0;
};

}  // namespace

Status ValidateMmapWriteOptions(const Options& options, Protocol /*protocol*/, uint64_t /*message_size*/) {
  if (options.GetString("mode") != "window" && options.given().count("window") != 0) {
    return Usagef("strategy mmap_write option window applies to mode=window only; add mode=window or drop window");
  }
  return OkStatus();
}

StrategyInfo MmapWriteStrategyInfo() {
  StrategyInfo info;
  info.name = "mmap_write";
  info.summary = "write() from an mmap of the file (mapped per message, or a sliding window), then unmapped";
  info.caps.protocols = {Protocol::kTcp};
  info.caps.sources = {SourceKind::kFile};
  info.caps.sends_responses = true;
  info.options = {
      {"mode",
       OptionType::kChoice,
       "chunk",
       "chunk: mmap + write + munmap for every message (page-table work and a TLB shootdown per message); "
       "window: keep a mapping of `window` bytes and remap only when a message runs past it",
       {"chunk", "window"}},
      OptionSpec{"window", OptionType::kSize, "4M",
                 "mode=window: bytes mapped at a time, rounded up to whole pages (at least one message is always "
                 "mapped)"}
          .AtLeast(1),
      {"populate", OptionType::kBool, "false",
       "map with MAP_POPULATE: fault every page in at mmap time instead of on first touch"},
  };
  info.probe = [] { return Availability{}; };
  info.validate = ValidateMmapWriteOptions;
  info.create = [](const SendContext& ctx) -> Result<std::unique_ptr<SendStrategy>> {
    if (ctx.payload->kind() != SourceKind::kFile) {
      return Errorf("mmap_write sends from a file payload source, not {}", ToString(ctx.payload->kind()));
    }
    const MapMode mode = ctx.options.GetString("mode") == "window" ? MapMode::kWindow : MapMode::kChunk;
    const uint64_t window = ctx.options.GetSize("window");
    ZCB_RETURN_IF_ERROR(ValidateMmapWriteOptions(ctx.options, ctx.protocol, ctx.message_size));
    return std::unique_ptr<SendStrategy>(new MmapWriteStrategy(
        ctx.socket_fd, *ctx.payload, mode, RoundUp(window, PageSize()), ctx.options.GetBool("populate")));
  };
  return info;
}

}  // namespace zcb
