// file_serving: a file server. The client (the receiving end, the request/response client
// of harness/trial/local_exchange_end.cc) asks for one file per request; the server (the
// trial's sender thread, here) serves each one whole the way a server does: open() the
// file, SendResponse (stack/response.h) through the strategy, close(). Request k asks for
// file k mod N of the set (workloads/file_set.h); the client knows each file's size and
// content from the set's spec, so a response needs no header, and it verifies every byte.
//
// Connections: persistent (one connection carries every request and response, HTTP
// keep-alive), or per_request: each response on a new connection the server opens for
// it, which the client accepts, reads the file from and closes (the requests stay on the
// trial's connection: FTP's active mode, its data connection per transfer). The server
// waits for the client's close and then closes with SO_LINGER 0, so that neither end
// keeps a TIME_WAIT socket per request (thousands of them would use up the ephemeral
// ports within a trial); a client that found bytes after the file closes with them
// unread, which resets the connection: the server names it.
//
// The cache: warm serves files the set's creation left in the page cache; cold drops every
// file's pages (fsync, then posix_fadvise(POSIX_FADV_DONTNEED)) once, before the window,
// so that each file's first request reads it from the device; a set that fits the page
// cache is warm again from its second pass on (metrics.file_serving.file_set says both).

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include "workloads/file_set.h"
#include "workloads/request_server.h"
#include "workloads/workloads.h"

namespace zcb {
namespace {

std::vector<OptionSpec> FileServingOptions() {
  std::vector<OptionSpec> options = FileSetOptions();
  options.push_back({"connection",
                     OptionType::kChoice,
                     "persistent",
                     "persistent: every request and response on the trial's connection; per_request: each response on "
                     "a new connection (the server connects, sends the file, waits for the client's close)",
                     {"persistent", "per_request"}});
  options.push_back({"cache",
                     OptionType::kChoice,
                     "warm",
                     "warm: the files as their creation left them in the page cache; cold: every file's pages dropped "
                     "(posix_fadvise DONTNEED) once before the window (needs --file-dir on a disk file system)",
                     {"warm", "cold"}});
  return options;
}

class FileServingWorkload final : public Workload {
 public:
  FileServingWorkload(FileSetSpec spec, bool per_request, bool cold)
      : spec_(std::move(spec)),
        sizes_(FileSizes(spec_)),
        layout_(std::make_shared<const std::vector<ResponseExtent>>(FileLayout(sizes_))),
        per_request_(per_request),
        cold_(cold) {}

  ReceiverExpectation expectation() const override { return ReceiverExpectation::kRequestResponse; }

  std::optional<Exchange> exchange(const SendSchedule& schedule) const override {
    Exchange x = FileSetExchange(layout_, schedule.message_size, schedule.bytes);
    x.connection_per_request = per_request_;
    return x;
  }

  Status Prepare(const WorkloadSetup& setup) override {
    if (setup.pattern == nullptr) return Errorf("file_serving: no pattern to fill the files with");
    ZCB_ASSIGN_OR_RETURN(files_, FileSet::Create(sizes_, setup.file_dir, *setup.pattern));
    if (cold_) ZCB_RETURN_IF_ERROR(files_->DropPageCache());
    return OkStatus();
  }

  Status Send(const WorkloadSend& send, TrialClock::time_point* sends_done) override {
    if (files_ == nullptr) return Errorf("file_serving: the file set was not made (Prepare)");
    if (per_request_ && !send.connect) {
      return Unsupportedf("file_serving connection=per_request: this receiving end takes one connection only");
    }
    const Exchange x = *exchange(send.schedule);
    return ServeRequests(
        send, x, "file_serving server",
        [&](uint64_t sequence, uint64_t length) { return ServeFile(send, sequence % files_->size(), length); },
        sends_done);
  }

  nlohmann::json Report() const override {
    nlohmann::json set = FileSetJson(spec_, files_.get());
    set["connection"] = per_request_ ? "per_request" : "persistent";
    set["cache"] = cold_ ? "cold" : "warm";
    set["cache_meaning"] =
        cold_ ? "every file's pages dropped (fsync, posix_fadvise POSIX_FADV_DONTNEED) once before the window: each "
                "file's first request reads it from the device, later passes find what the page cache kept"
              : "the files as their creation left them in the page cache (nothing dropped)";
    return {{"file_set", std::move(set)}};
  }

 private:
  // One request: open, send through the strategy, close.
  Status ServeFile(const WorkloadSend& send, size_t index, uint64_t length) {
    UniqueFd file(::open(files_->path(index).c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) return SysError(fmt::format("file_serving server: open {}", files_->path(index)));
    Response response;
    response.file_fd = file.get();
    response.file_length = length;
    if (!per_request_) {
      response.socket_fd = send.socket_fd;
      return send.strategy->SendResponse(response);
    }
    ZCB_ASSIGN_OR_RETURN(UniqueFd connection, send.connect());
    response.socket_fd = connection.get();
    ZCB_RETURN_IF_ERROR(send.strategy->SendResponse(response));
    return CloseAfterClient(connection.get(), index);
  }

  // A per-request connection: waits for the client's close (EOF), then closes with
  // SO_LINGER 0 (no TIME_WAIT; the client has every byte by then).
  static Status CloseAfterClient(int fd, size_t index) {
    uint8_t byte = 0;
    ssize_t n;
    do {
      n = ::recv(fd, &byte, 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) return Errorf("file_serving server: the client sent bytes on the connection of file {}", index);
    if (n < 0 && errno == ECONNRESET) {
      return Errorf(
          "file_serving server: the client reset the connection of file {}: it found bytes after the file (closed "
          "with them unread)",
          index);
    }
    if (n < 0)
      return SysError(fmt::format("file_serving server: waiting for the client to close file {}'s connection", index));
    const linger abort{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    return OkStatus();
  }

  FileSetSpec spec_;
  std::vector<uint64_t> sizes_;
  std::shared_ptr<const std::vector<ResponseExtent>> layout_;
  bool per_request_;
  bool cold_;
  std::unique_ptr<FileSet> files_;
};

}  // namespace

WorkloadInfo FileServingWorkloadInfo() {
  WorkloadInfo info;
  info.name = "file_serving";
  info.summary =
      "a file server: one whole file of a set per request (open, the strategy's SendResponse, close), persistent or "
      "per-request connections, every byte verified and each request timed (requests/s, latency percentiles)";
  info.needs.protocols = EnumSet<Protocol>{Protocol::kTcp};
  // The responses come from the file set whatever the payload source; the trial's payload
  // (its --source) is what the strategy is made with, unused by SendResponse.
  info.needs.sources = AllSourceKinds();
  info.needs.message_boundaries = true;
  info.needs.responses = true;
  info.options = FileServingOptions();
  info.create = [](const Options& given) -> Result<std::unique_ptr<Workload>> {
    // Parsed again from what was given, so that defaults are there whoever made `given`.
    ZCB_ASSIGN_OR_RETURN(const Options options,
                         Options::Parse(FileServingOptions(), given.given(), "workload file_serving"));
    ZCB_ASSIGN_OR_RETURN(FileSetSpec spec, FileSetSpecFrom(options, "workload file_serving"));
    return std::unique_ptr<Workload>(std::make_unique<FileServingWorkload>(
        std::move(spec), options.GetString("connection") == "per_request", options.GetString("cache") == "cold"));
  };
  return info;
}

}  // namespace zcb
