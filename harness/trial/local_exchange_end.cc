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
//
// Responses with generated HTTP heads (Exchange::http_headers, http_response): the client
// reads up to the head's empty line (bytes read past it are the body's start, kept in
// `carry_`), parses it (a head that does not parse, or whose Content-Length is not the
// body's length, is a malformed response: the trial's error), frames the body by its
// Content-Length, and in verify mode compares the head with the one it expects for that
// sequence number. A response whose head or body differs from what was expected is
// counted corrupted (ExchangeFigures::corrupted_responses), its differing bytes in the
// integrity mismatches: what unsafe_reuse shows where the kernel sends late.

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string_view>
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
    if (exchange_.http_headers) figures.exchange->corrupted_responses = corrupted_responses_;
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
    if (extra > 0 || carry_.size() > 0)
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
    const uint64_t mismatches_before = integrity_.mismatches;
    bool head_differs = false;
    if (exchange_.http_headers) ZCB_RETURN_IF_ERROR(ReadHead(fd, sequence, length, &head_differs));
    uint64_t got = 0;
    while (got < length) {
      if (!carry_.empty()) {  // body bytes read with the head
        const size_t n = static_cast<size_t>(std::min<uint64_t>(length - got, carry_.size()));
        Verify(offset + got, std::span<const uint8_t>(carry_.data(), n));
        carry_.erase(carry_.begin(), carry_.begin() + static_cast<ptrdiff_t>(n));
        got += n;
        continue;
      }
      const size_t want = static_cast<size_t>(std::min<uint64_t>(length - got, response_.size()));
      ZCB_ASSIGN_OR_RETURN(const size_t n, RecvSome(fd, response_.data(), want, sequence, got, length));
      Verify(offset + got, std::span<const uint8_t>(response_.data(), n));
      got += n;
    }
    if (head_differs || integrity_.mismatches != mismatches_before) ++corrupted_responses_;
    last_response_ = TrialClock::now();
    const auto latency = last_response_ - written_at_[sequence % exchange_.outstanding];
    figures_.latency_ns.Record(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count()));
    ++figures_.transactions;
    return OkStatus();
  }

  // One recv() of at most `want` bytes of response `sequence` (`got` of its `length`
  // read): counted in the bytes received and the progress the peer gate reads.
  Result<size_t> RecvSome(int fd, uint8_t* into, size_t want, uint64_t sequence, uint64_t got, uint64_t length) {
    for (;;) {
      const ssize_t n = ::recv(fd, into, want, 0);
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
      bytes_received_ += static_cast<uint64_t>(n);
      progress_.store(bytes_received_, std::memory_order_release);
      return static_cast<size_t>(n);
    }
  }

  // Reads response `sequence`'s HTTP head (its body is `length` bytes), leaving any body
  // bytes read with it in carry_; sets *differs when, verifying, it is not the expected
  // head. A head that does not parse or frames another length is the trial's error.
  Status ReadHead(int fd, uint64_t sequence, uint64_t length, bool* differs) {
    static constexpr std::string_view kEnd = "\r\n\r\n";
    size_t searched = 0;
    for (;;) {
      const auto begin = carry_.begin() + static_cast<ptrdiff_t>(searched > 3 ? searched - 3 : 0);
      const auto end = std::search(begin, carry_.end(), kEnd.begin(), kEnd.end());
      if (end != carry_.end()) {
        const size_t head_size = static_cast<size_t>(end - carry_.begin()) + kEnd.size();
        ZCB_RETURN_IF_ERROR(CheckHead(sequence, length, head_size, differs));
        carry_.erase(carry_.begin(), carry_.begin() + static_cast<ptrdiff_t>(head_size));
        return OkStatus();
      }
      searched = carry_.size();
      if (carry_.size() >= kLongestHttpHeader) {
        return Errorf("client: malformed response {}: no end of its head (an empty line) in its first {} bytes",
                      sequence, kLongestHttpHeader);
      }
      const size_t have = carry_.size();
      carry_.resize(kLongestHttpHeader);
      auto n = RecvSome(fd, carry_.data() + have, kLongestHttpHeader - have, sequence, 0, length);
      carry_.resize(have + (n.ok() ? *n : 0));
      if (!n.ok()) return std::move(n).error();
    }
  }

  Status CheckHead(uint64_t sequence, uint64_t length, size_t head_size, bool* differs) {
    const std::string_view head(reinterpret_cast<const char*>(carry_.data()), head_size);
    auto parsed = ParseHttpHeader(head);
    if (!parsed.ok()) return std::move(parsed).error().Context(fmt::format("client: malformed response {}", sequence));
    if (parsed->content_length != length) {
      return Errorf("client: malformed response {}: Content-Length {}, but the response asked for has {} bytes",
                    sequence, parsed->content_length, length);
    }
    if (integrity_.mode != ReceiverMode::kVerify) return OkStatus();
    expected_head_.resize(HttpHeaderLength(*exchange_.http_headers, sequence));
    WriteHttpHeader(*exchange_.http_headers, sequence, length, expected_head_);
    uint64_t wrong = 0;
    for (size_t i = 0; i < head_size; ++i) wrong += i >= expected_head_.size() || carry_[i] != expected_head_[i];
    wrong += expected_head_.size() > head_size ? expected_head_.size() - head_size : 0;
    integrity_.mismatches += wrong;
    integrity_.verified_bytes += head_size;
    *differs = wrong > 0;
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
  std::vector<uint8_t> carry_;          // bytes read past a response head: its body's start
  std::vector<uint8_t> expected_head_;  // the head the client expects, verifying
  uint64_t corrupted_responses_ = 0;
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
