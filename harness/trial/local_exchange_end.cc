// The client of a request/response exchange (workloads/exchange.h), as a receiving end
// whose thread runs here: it accepts the server's (the trial sender's) connection, writes
// the requests, reads each whole response, verifies it against the pattern stream, and
// times the transaction from just before its request is written to its response's last
// byte read (CLOCK_MONOTONIC, std::chrono::steady_clock), into a LatencyHistogram; a
// think time or --rate delays the next request, outside its latency. It ends
// the exchange: after the byte count's transactions, once the duration has passed, or on
// cancel, it stops writing, reads the responses still owed, and shuts its side down; the
// server answers what it read and stops at that EOF.
//
// Responses of a layout (file_serving) are checked against their own stream offsets
// (Exchange::ResponseOffset). With a connection per request, each response comes on a
// connection of its own: the client accepts it after writing the request (so its latency
// includes the connection's set-up), reads the response whole, and closes it; bytes the
// server sent after the response are then still unread, which turns the close into a
// reset the server reports.

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "harness/trial/local_end.h"
#include "harness/trial/trial_sockets.h"

namespace zcb {
namespace {

constexpr size_t kReadChunk = 256 * 1024;  // the most a recv() asks for

class LocalExchangeEnd final : public LocalListeningEnd {
 public:
  LocalExchangeEnd(const ResolvedTrial& trial, NetworkPath& path, const Pattern& pattern, Exchange exchange)
      : LocalListeningEnd(trial, path), pattern_(pattern), exchange_(exchange) {
    integrity_.mode = trial.spec.receiver;
  }

  Status PrepareSender(int /*fd*/, SendContext& context) override {
    // Strategies that gate buffer reuse on the peer's progress read the client's.
    if (path_.capabilities().local_delivery) context.peer_received = &progress_;
    return OkStatus();
  }

  ReceivedFigures Collect(const SenderOutcome& /*sender*/, const MeasuredWindow& window) override {
    ReceivedFigures figures;
    figures.bytes_received = bytes_received_;
    figures.goodput_bytes = bytes_received_;
    figures.recv_calls = recv_calls_;
    figures.integrity = IntegrityMetrics::Of(integrity_);
    figures.last_delivery = figures_.transactions > 0 ? last_response_ : window.end;
    figures.exchange = figures_;
    return WithThread(std::move(figures));
  }

 protected:
  Status Receive() override {
    Status run = RunExchange();
    if (!run.ok()) Abort(conn_.get());
    return run;
  }

 private:
  Status RunExchange() {
    const uint64_t limit = exchange_.TransactionLimit().value_or(UINT64_MAX);
    const std::optional<double>& duration = trial_.spec.duration_s;
    const TrialClock::time_point deadline =
        duration
            ? window_start_ + std::chrono::duration_cast<TrialClock::duration>(std::chrono::duration<double>(*duration))
            : TrialClock::time_point::max();
    request_.resize(exchange_.request_size);
    response_.resize(exchange_.responses
                         ? kReadChunk
                         : std::min<uint64_t>(std::max<uint64_t>(exchange_.response_size, 1), kReadChunk));
    written_at_.assign(exchange_.outstanding, TrialClock::time_point{});

    while (figures_.requests_sent < std::min(exchange_.outstanding, limit)) ZCB_RETURN_IF_ERROR(WriteRequest());
    bool stopping = false;
    while (figures_.transactions < figures_.requests_sent) {
      ZCB_RETURN_IF_ERROR(ReadResponse());
      stopping = stopping || figures_.requests_sent >= limit || last_response_ >= deadline ||
                 (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed));
      if (stopping) continue;
      if (exchange_.think_time.count() > 0) std::this_thread::sleep_for(exchange_.think_time);
      PaceRequest();
      ZCB_RETURN_IF_ERROR(WriteRequest());
    }
    // Every request answered: the server stops at this EOF, and owes nothing more.
    if (::shutdown(conn_.get(), SHUT_WR) != 0) return SysError("client: shutdown");
    const ssize_t extra = ::recv(conn_.get(), response_.data(), response_.size(), 0);
    if (extra > 0)
      return Errorf("client: the server sent bytes after the response to the last of {} requests",
                    figures_.requests_sent);
    if (extra < 0) return SysError("client: waiting for the server to close");
    return OkStatus();
  }

  // --rate paces the exchange as it paces bulk's bytes: the next request waits until the
  // responses asked for so far are due at that many bits per second of the window.
  void PaceRequest() const {
    const uint64_t rate_bps = trial_.spec.rate_bps;
    if (rate_bps == 0) return;
    const double due_s =
        static_cast<double>(figures_.requests_sent * exchange_.response_size) * 8.0 / static_cast<double>(rate_bps);
    std::this_thread::sleep_until(
        window_start_ + std::chrono::duration_cast<TrialClock::duration>(std::chrono::duration<double>(due_s)));
  }

  Status WriteRequest() {
    const uint64_t sequence = figures_.requests_sent;
    FillRequest(sequence, request_);
    written_at_[sequence % exchange_.outstanding] = TrialClock::now();
    size_t done = 0;
    while (done < request_.size()) {
      const ssize_t n = ::send(conn_.get(), request_.data() + done, request_.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return SysError(fmt::format("client: writing request {}", sequence));
      done += static_cast<size_t>(n);
    }
    ++figures_.requests_sent;
    return OkStatus();
  }

  Status ReadResponse() {
    const uint64_t sequence = figures_.transactions;
    const uint64_t length = exchange_.ResponseLength(sequence);
    const uint64_t offset = exchange_.ResponseOffset(sequence);
    UniqueFd own_connection;
    if (exchange_.connection_per_request) {
      auto accepted = AcceptNext();
      if (!accepted.ok())
        return std::move(accepted).error().Context(fmt::format("client: response {}'s connection", sequence));
      own_connection = std::move(*accepted);
    }
    const int fd = own_connection ? own_connection.get() : conn_.get();
    uint64_t got = 0;
    while (got < length) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(length - got, response_.size()));
      const ssize_t n = ::recv(fd, response_.data(), want, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return Errorf("client: no response to request {} within the {} s receive timeout", sequence,
                      trial_.spec.receive_timeout_s);
      }
      if (n < 0) return SysError(fmt::format("client: reading response {}", sequence));
      if (n == 0) {
        return Errorf(
            "client: the server closed the connection inside response {} ({} of {} bytes; {} transactions done)",
            sequence, got, length, sequence);
      }
      ++recv_calls_;
      Verify(offset + got, std::span<const uint8_t>(response_.data(), static_cast<size_t>(n)));
      got += static_cast<uint64_t>(n);
      bytes_received_ += static_cast<uint64_t>(n);
      progress_.store(bytes_received_, std::memory_order_release);
    }
    last_response_ = TrialClock::now();
    const auto latency = last_response_ - written_at_[sequence % exchange_.outstanding];
    figures_.latency_ns.Record(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count()));
    ++figures_.transactions;
    return OkStatus();
  }

  // Checks response bytes that start at stream offset `offset` (verify mode only; read and
  // discard take them unchecked, as integrity.mode says).
  void Verify(uint64_t offset, std::span<const uint8_t> data) {
    if (integrity_.mode != ReceiverMode::kVerify) return;
    if (const ptrdiff_t first = pattern_.FindMismatch(offset, data); first >= 0) {
      if (!integrity_.first_mismatch_offset) integrity_.first_mismatch_offset = offset + static_cast<uint64_t>(first);
      integrity_.mismatches += pattern_.CountMismatches(offset, data);
    }
    integrity_.verified_bytes += data.size();
  }

  const Pattern& pattern_;
  const Exchange exchange_;
  std::vector<uint8_t> request_, response_;
  std::vector<TrialClock::time_point> written_at_;  // per request in flight, by sequence modulo outstanding
  ExchangeFigures figures_;
  IntegrityStats integrity_;
  uint64_t bytes_received_ = 0;
  uint64_t recv_calls_ = 0;
  std::atomic<uint64_t> progress_{0};  // response bytes read: the peer gate's signal
  TrialClock::time_point last_response_{};
};

}  // namespace

Result<std::unique_ptr<ReceivingEnd>> CreateLocalExchangeEnd(const ReceivingEndSetup& setup) {
  const ResolvedTrial& trial = setup.trial;
  if (trial.spec.receiver == ReceiverMode::kZeroCopy) {
    return Unsupportedf(
        "the request/response client reads its responses with recv(): receiver zerocopy cannot serve it "
        "(use verify, read or discard)");
  }
  if (!setup.exchange) return Errorf("the local exchange end needs the workload's exchange (request/response)");
  if (setup.exchange->connection_per_request && setup.exchange->outstanding != 1) {
    return Usagef("a connection per request takes one request in flight at a time (outstanding=1, got {})",
                  setup.exchange->outstanding);
  }
  return std::unique_ptr<ReceivingEnd>(
      std::make_unique<LocalExchangeEnd>(trial, setup.path, setup.pattern, *setup.exchange));
}

}  // namespace zcb
