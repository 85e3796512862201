// http_response: a web server's dynamic responses. The client (the request/response client
// of harness/trial/local_exchange_end.cc) asks for one response per request on one
// persistent connection (HTTP keep-alive); the server (the trial's sender thread, here)
// writes a generated HTTP head for each one (workloads/http_header.h: a status line, an
// ETag carrying the response's sequence number, Content-Length, padding to a length that
// varies per response) into its one head buffer, and sends head and body through the
// strategy's SendResponse (stack/response.h), which sends the pair its own way (writev,
// sendfile under TCP_CORK or after MSG_MORE, both through a memfd ring, the head lent with
// MSG_ZEROCOPY or io_uring SEND_ZC).
//
// The body: `file` serves file k mod N of a file set (workloads/file_set.h: open, send,
// close); `generated` writes response k's bytes (its extent of the pattern stream, as a
// file's would be) into a scratch memfd per request, then serves them from it. Either way
// the client knows each body's length and content and verifies every byte.
//
// The head buffer is reused at once: as soon as SendResponse returns, the server writes
// the next response's ETag into it (a server preparing its next head). A strategy that
// honours SendResponse's contract has the head out of the buffer by then; one run with
// unsafe_reuse returns while the kernel may still read it, and a late read carries the
// next response's tag, which the client counts as a corrupted response.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include "stack/mapped_region.h"
#include "workloads/file_set.h"
#include "workloads/http_header.h"
#include "workloads/request_server.h"
#include "workloads/workloads.h"

namespace zcb {
namespace {

std::vector<OptionSpec> HttpResponseOptions() {
  std::vector<OptionSpec> options = FileSetOptions();
  options.push_back({"body",
                     OptionType::kChoice,
                     "file",
                     "file: each body is a whole file of the set (open, send, close); generated: each body's bytes "
                     "are generated per request into a scratch memfd and served from it",
                     {"file", "generated"}});
  options.push_back({"header_size", OptionType::kSize, "300",
                     "the longest generated HTTP head, bytes (status line, ETag, Content-Length, fixed headers, "
                     "padding; at most 8192)"});
  options.push_back({"header_spread", OptionType::kSize, "64",
                     "head lengths vary per response in [header_size - header_spread, header_size]"});
  return options;
}

// The generated bodies: a scratch memfd as large as the largest body, response k's bytes
// written into it through a shared mapping before it is sent. The client asks for the next
// response only once it has this one whole, so the bytes are rewritten only after the peer
// has them.
class GeneratedBodies {
 public:
  static Result<GeneratedBodies> Create(uint64_t largest) {
    GeneratedBodies g;
    g.fd_ = UniqueFd(::memfd_create("zcb-http-body", MFD_CLOEXEC));
    if (!g.fd_) return SysError("http_response: memfd_create for the generated bodies");
    if (::ftruncate(g.fd_.get(), static_cast<off_t>(largest)) != 0)
      return SysError("http_response: ftruncate of the generated bodies' memfd");
    ZCB_ASSIGN_OR_RETURN(g.map_, MappedRegion::OfFile(g.fd_.get(), largest, 0, PROT_READ | PROT_WRITE, MAP_SHARED));
    return g;
  }
  int Generate(const Pattern& pattern, const ResponseExtent& extent) {
    pattern.Fill(extent.stream_offset, {map_.data(), static_cast<size_t>(extent.length)});
    return fd_.get();
  }

 private:
  UniqueFd fd_;
  MappedRegion map_;
};

class HttpResponseWorkload final : public Workload {
 public:
  HttpResponseWorkload(FileSetSpec spec, bool generated, HttpHeaderFormat format)
      : spec_(std::move(spec)),
        sizes_(FileSizes(spec_)),
        layout_(std::make_shared<const std::vector<ResponseExtent>>(FileLayout(sizes_))),
        generated_(generated),
        format_(format) {}

  ReceiverExpectation expectation() const override { return ReceiverExpectation::kHttpResponses; }

  std::optional<Exchange> exchange(const SendSchedule& schedule) const override {
    Exchange x = FileSetExchange(layout_, schedule.message_size, schedule.bytes);
    x.http_headers = format_;
    return x;
  }

  Status Prepare(const WorkloadSetup& setup) override {
    if (setup.pattern == nullptr) return Errorf("http_response: no pattern to fill the bodies with");
    pattern_ = setup.pattern;
    if (generated_) {
      ZCB_ASSIGN_OR_RETURN(GeneratedBodies bodies,
                           GeneratedBodies::Create(*std::max_element(sizes_.begin(), sizes_.end())));
      bodies_ = std::make_unique<GeneratedBodies>(std::move(bodies));
    } else {
      ZCB_ASSIGN_OR_RETURN(files_, FileSet::Create(sizes_, setup.file_dir, *setup.pattern));
    }
    ZCB_ASSIGN_OR_RETURN(head_, MappedRegion::Anonymous(RoundUp(format_.size, PageSize())));
    return OkStatus();
  }

  Status Send(const WorkloadSend& send, TrialClock::time_point* sends_done) override {
    if (files_ == nullptr && bodies_ == nullptr) return Errorf("http_response: the bodies were not made (Prepare)");
    const Exchange x = *exchange(send.schedule);
    return ServeRequests(
        send, x, "http_response server",
        [&](uint64_t sequence, uint64_t length) { return Serve(send, sequence, length); }, sends_done);
  }

  nlohmann::json Report() const override {
    return {{"file_set", FileSetJson(spec_, files_.get())},
            {"body", generated_ ? "generated" : "file"},
            {"body_meaning", generated_ ? "each body generated per request into a scratch memfd and served from it"
                                        : "each body a whole file of the set, opened and closed per request"},
            {"header_size", format_.size},
            {"header_spread", format_.spread},
            {"header_reuse",
             "one head buffer; the next response's ETag is written into it as soon as SendResponse returns"}};
  }

 private:
  Status Serve(const WorkloadSend& send, uint64_t sequence, uint64_t length) {
    const size_t index = static_cast<size_t>(sequence % sizes_.size());
    UniqueFd file;
    Response response;
    response.socket_fd = send.socket_fd;
    response.file_length = length;
    if (bodies_ != nullptr) {
      response.file_fd = bodies_->Generate(*pattern_, (*layout_)[index]);
    } else {
      file = UniqueFd(::open(files_->path(index).c_str(), O_RDONLY | O_CLOEXEC));
      if (!file) return SysError(fmt::format("http_response server: open {}", files_->path(index)));
      response.file_fd = file.get();
    }
    const std::span<uint8_t> head(head_.data(), format_.size);
    response.header = head.first(WriteHttpHeader(format_, sequence, length, head));
    ZCB_RETURN_IF_ERROR(send.strategy->SendResponse(response));
    WriteNextEtag(sequence + 1, head);
    return OkStatus();
  }

  FileSetSpec spec_;
  std::vector<uint64_t> sizes_;
  std::shared_ptr<const std::vector<ResponseExtent>> layout_;
  bool generated_;
  HttpHeaderFormat format_;
  const Pattern* pattern_ = nullptr;
  std::unique_ptr<FileSet> files_;
  std::unique_ptr<GeneratedBodies> bodies_;
  MappedRegion head_;
};

}  // namespace

WorkloadInfo HttpResponseWorkloadInfo() {
  WorkloadInfo info;
  info.name = "http_response";
  info.summary =
      "a web server's responses: a generated HTTP head per request (its ETag the sequence number, Content-Length, "
      "padding) and a body from a file or generated, sent through the strategy's SendResponse on a persistent "
      "connection; the client parses each head, frames the body by Content-Length, verifies both and counts "
      "corrupted responses";
  info.needs.protocols = EnumSet<Protocol>{Protocol::kTcp};
  // The responses come from the workload whatever the payload source; the trial's payload
  // (its --source) is what the strategy is made with (memfd_sendfile's ring).
  info.needs.sources = AllSourceKinds();
  info.needs.message_boundaries = true;
  info.needs.responses = true;
  info.options = HttpResponseOptions();
  info.create = [](const Options& given) -> Result<std::unique_ptr<Workload>> {
    ZCB_ASSIGN_OR_RETURN(const Options options,
                         Options::Parse(HttpResponseOptions(), given.given(), "workload http_response"));
    ZCB_ASSIGN_OR_RETURN(FileSetSpec spec, FileSetSpecFrom(options, "workload http_response"));
    const HttpHeaderFormat format{options.GetSize("header_size"), options.GetSize("header_spread")};
    ZCB_RETURN_IF_ERROR(ValidateHttpHeaderFormat(format, "workload http_response"));
    return std::unique_ptr<Workload>(
        std::make_unique<HttpResponseWorkload>(std::move(spec), options.GetString("body") == "generated", format));
  };
  return info;
}

}  // namespace zcb
