// nginx and wrk as a peer of the file_serving workload: nginx (Debian's nginx-light) serves
// the point's file set, the same files zcbench's file_serving makes (workloads/file_set.h),
// with `sendfile on` (entry nginx_wrk) or `sendfile off` (nginx_wrk_nosendfile: nginx reads
// each file into its output buffers and writes them, a copying server). wrk keeps one
// persistent connection and asks for the files in turn (a Lua request function), as
// zcbench's client does (request i is file i mod the number of files).
//
// nginx runs one worker in the foreground (`daemon off; master_process off;`) so that the
// process zcbench started is the server and wait4() sees all its CPU; the runner pins it
// before exec like the other peers. What differs from zcbench's file_serving: nginx parses
// each HTTP request and writes a response header before the body, and wrk parses it; wrk's
// latency is per request on its connection, from the request's write to the end of the
// response.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include <fmt/format.h>

#include "drivers/command.h"
#include "harness/peers/peer_registry.h"
#include "stack/pattern.h"
#include "workloads/file_set.h"

namespace zcb {
namespace {

// wrk's -d and its report take whole seconds here; connecting and its final report fit in
// the runner's grace.
int WholeSeconds(double duration_s) { return std::max(1, static_cast<int>(std::ceil(duration_s))); }

// The configuration: one worker in the foreground, every path under the trial's directory.
std::string NginxConf(const PeerInvocation& in, const std::string& root, bool sendfile) {
  const std::string& dir = in.work_dir;
  return fmt::format(R"(daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile {sendfile};
    tcp_nopush off;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    client_body_temp_path {dir}/client_temp;
    proxy_temp_path {dir}/proxy_temp;
    fastcgi_temp_path {dir}/fastcgi_temp;
    uwsgi_temp_path {dir}/uwsgi_temp;
    scgi_temp_path {dir}/scgi_temp;
    default_type application/octet-stream;
    server {{
        listen {address}:{port};
        root {root};
        location / {{ }}
    }}
}}
)",
                     fmt::arg("dir", dir), fmt::arg("sendfile", sendfile ? "on" : "off"),
                     fmt::arg("address", in.address), fmt::arg("port", in.port), fmt::arg("root", root));
}

// One persistent connection that asks for /0, /1, ... /n-1 in turn (FileSet names its
// files 0, 1, ...), as zcbench's file_serving client walks the set.
std::string WrkScript(size_t files) {
  return fmt::format(R"(local n, i = {}, -1
request = function()
  i = (i + 1) % n
  return wrk.format("GET", "/" .. i)
end
)",
                     files);
}

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Errorf("nginx_wrk: could not write {}", path);
  return OkStatus();
}

// The first line a program prints for -v (either stream), or "" when it printed none.
std::string VersionLine(const std::string& program) {
  auto out = RunCommandStatus({program, "-v"});
  if (!out.ok()) return "";
  std::string text = out->out + out->err;
  text = text.substr(0, text.find('\n'));
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// The trial's directory (nginx.conf, the wrk script, nginx's pid and logs) and the file
// set; both removed when destroyed.
class NginxPreparation final : public PeerPreparation {
 public:
  NginxPreparation(std::string dir, std::unique_ptr<FileSet> files, nlohmann::json report, std::string version)
      : dir_(std::move(dir)), files_(std::move(files)), report_(std::move(report)), version_(std::move(version)) {}
  ~NginxPreparation() override {
    files_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  nlohmann::json Report() const override { return report_; }
  std::string version() const override { return version_; }

 private:
  std::string dir_;
  std::unique_ptr<FileSet> files_;
  nlohmann::json report_;
  std::string version_;
};

// wrk's durations ("27.00us", "2.80ms", "1.2s", "1.00m") in microseconds.
std::optional<double> Microseconds(const std::string& value, const std::string& unit) {
  const double v = std::strtod(value.c_str(), nullptr);
  if (unit == "us") return v;
  if (unit == "ms") return v * 1e3;
  if (unit == "s") return v * 1e6;
  if (unit == "m") return v * 60e6;
  if (unit == "h") return v * 3600e6;
  return std::nullopt;
}

class NginxWrkPeer final : public PeerTool {
 public:
  explicit NginxWrkPeer(bool sendfile) : sendfile_(sendfile) {}

  std::string name() const override { return sendfile_ ? "nginx_wrk" : "nginx_wrk_nosendfile"; }
  std::string label() const override { return sendfile_ ? "nginx sendfile (peer)" : "nginx no sendfile (peer)"; }
  std::string summary() const override {
    return sendfile_ ? "nginx (sendfile on) serving the point's file set to wrk over one persistent connection"
                     : "nginx (sendfile off: read into its buffers, then write) serving the point's file set to wrk";
  }
  std::vector<std::string> programs() const override { return {"nginx", "wrk"}; }
  std::string package() const override { return "nginx-light and wrk"; }
  PeerCapabilities capabilities() const override {
    PeerCapabilities caps;
    caps.protocols = {Protocol::kTcp};
    caps.workloads = {"file_serving"};
    caps.source = SourceKind::kFile;
    caps.sends_with = sendfile_ ? "sendfile() of each file after a write() of the HTTP response header"
                                : "read() of each file into nginx's output buffers, then write()";
    // wrk keeps its connections open; the set's pages are as their creation left them.
    caps.workload_option_values = {{"connection", {"persistent"}}, {"cache", {"warm"}}};
    caps.takes_workload_options = true;
    caps.serves_responses = true;
    return caps;
  }

  Result<std::unique_ptr<PeerPreparation>> Prepare(PeerInvocation& in) const override {
    if (in.workload_options == nullptr) return Errorf("{}: the point has no workload options", name());
    ZCB_ASSIGN_OR_RETURN(FileSetSpec spec, FileSetSpecFrom(*in.workload_options, "workload file_serving"));
    in.file_sizes = FileSizes(spec);
    const Pattern pattern(in.seed, Pattern::kDefaultPeriod);
    ZCB_ASSIGN_OR_RETURN(std::unique_ptr<FileSet> files, FileSet::Create(in.file_sizes, in.file_dir, pattern));
    const std::string root = std::filesystem::path(files->path(0)).parent_path().string();
    std::string dir = (std::filesystem::temp_directory_path() / "zcb-nginx.XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) return SysError("nginx_wrk: mkdtemp");
    in.work_dir = dir;
    const FileSetFacts& f = files->facts();
    const std::string nginx_version = VersionLine(in.program_paths.at("nginx"));
    const std::string wrk_version = VersionLine(in.program_paths.at("wrk"));
    // The directory and the set are removed when the trial returns.
    nlohmann::json report = {
        {"file_set",
         {{"files", f.files},
          {"total_bytes", f.total_bytes},
          {"smallest_bytes", f.smallest},
          {"largest_bytes", f.largest},
          {"file_system", f.directory_file_system}}},
        {"nginx_version", nginx_version},
        {"wrk_version", wrk_version},
        {"sendfile", sendfile_ ? "on" : "off"},
    };
    const std::string version =
        nginx_version.empty() || wrk_version.empty() ? "" : fmt::format("{}; {}", nginx_version, wrk_version);
    auto prepared = std::make_unique<NginxPreparation>(dir, std::move(files), std::move(report), version);
    ZCB_RETURN_IF_ERROR(WriteFile(dir + "/nginx.conf", NginxConf(in, root, sendfile_)));
    ZCB_RETURN_IF_ERROR(WriteFile(dir + "/walk.lua", WrkScript(in.file_sizes.size())));
    return std::unique_ptr<PeerPreparation>(std::move(prepared));
  }

  PeerCommands Commands(const PeerInvocation& in) const override {
    const int seconds = WholeSeconds(in.duration_s);
    PeerCommands c;
    c.server = {"nginx", "-p", in.work_dir, "-c", in.work_dir + "/nginx.conf", "-e", in.work_dir + "/error.log"};
    c.client = {"wrk",
                "--latency",
                "-t1",
                "-c1",
                fmt::format("-d{}s", seconds),
                "-s",
                in.work_dir + "/walk.lua",
                fmt::format("http://{}:{}/", in.address, in.port)};
    c.client_run_s = seconds;
    return c;
  }

  Result<PeerFigures> Parse(const std::string& output, const PeerInvocation& in) const override {
    std::smatch m;
    const std::regex errors(R"(Non-2xx or 3xx responses: (\d+)|Socket errors: ([^\n]*))");
    if (std::regex_search(output, m, errors)) return Errorf("wrk saw errors: {}", m.str(0));
    const std::regex total(R"((\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)([KMGT]?B) read)");
    if (!std::regex_search(output, m, total)) return Errorf("wrk --latency: no '<N> requests in <T>' line");
    PeerFigures f;
    const uint64_t requests = std::stoull(m.str(1));
    const auto elapsed_us = Microseconds(m.str(2), m.str(3));
    if (!elapsed_us || *elapsed_us <= 0)
      return Errorf("wrk --latency: the run's time '{}{}' is not a duration", m.str(2), m.str(3));
    f.elapsed_s = *elapsed_us * 1e-6;
    f.parsed["requests"] = requests;
    f.parsed["seconds"] = f.elapsed_s;
    f.parsed["read"] = m.str(4) + m.str(5);
    const std::regex rate(R"(Requests/sec:\s*([\d.]+))");
    if (!std::regex_search(output, m, rate)) return Errorf("wrk --latency: no 'Requests/sec:' line");
    f.transactions = requests;
    f.transactions_per_s = std::stod(m.str(1));
    f.parsed["requests_per_s"] = *f.transactions_per_s;
    const std::regex transfer(R"(Transfer/sec:\s*([\d.]+[KMGT]?B))");
    if (std::regex_search(output, m, transfer)) f.parsed["transfer_per_s"] = m.str(1);

    // Bytes: the files' bodies of the requests wrk completed, walking the set in turn
    // (request i is file i mod n); wrk's "read" and "Transfer/sec" also count the
    // response headers and are rounded to its units, so they are kept as parsed only.
    if (in.file_sizes.empty()) return Errorf("wrk --latency: the file set's sizes are unknown (Prepare)");
    const uint64_t n = in.file_sizes.size();
    uint64_t set_bytes = 0;
    for (uint64_t size : in.file_sizes) set_bytes += size;
    f.bytes = requests / n * set_bytes;
    for (uint64_t i = 0; i < requests % n; ++i) f.bytes += in.file_sizes[i];
    f.goodput_bps = static_cast<double>(f.bytes) * 8 / f.elapsed_s;
    f.goodput_source =
        "wrk's completed requests times the sizes of the files they asked for (in turn), over wrk's run time; wrk's "
        "Transfer/sec, which counts the response headers too, is in parsed.transfer_per_s";

    // wrk prints p50, p75, p90, p99, the mean and the maximum, but no p99.9 and no
    // minimum, which metrics.request_response.latency_us holds: its percentiles are kept
    // in metrics.peer.parsed, and latency_us stays null with latency_source saying why.
    const std::regex stats(R"(Latency\s+([\d.]+)(us|ms|s|m|h)\s+([\d.]+)(us|ms|s|m|h)\s+([\d.]+)(us|ms|s|m|h))");
    if (!std::regex_search(output, m, stats)) return Errorf("wrk --latency: no 'Latency' thread stats line");
    f.parsed["latency_mean_us"] = *Microseconds(m.str(1), m.str(2));
    f.parsed["latency_max_us"] = *Microseconds(m.str(5), m.str(6));
    nlohmann::json percentiles = nlohmann::json::object();
    for (const char* p : {"50", "75", "90", "99"}) {
      const std::regex line(fmt::format(R"(\n\s*{}%\s+([\d.]+)(us|ms|s|m|h))", p));
      if (!std::regex_search(output, m, line))
        return Errorf("wrk --latency: no {}% line in its Latency Distribution", p);
      percentiles[p] = *Microseconds(m.str(1), m.str(2));
    }
    f.parsed["latency_percentiles_us"] = percentiles;
    f.latency_source =
        "wrk --latency, in metrics.peer.parsed (latency_percentiles_us: p50, p75, p90, p99; latency_mean_us, "
        "latency_max_us): per request on its one connection, from the request's write to the end of the response, "
        "in microseconds as wrk rounds them; latency_us is null because wrk prints no p99.9 and no minimum";
    return f;
  }

 private:
  bool sendfile_;
};

}  // namespace

std::unique_ptr<PeerTool> MakeNginxWrkPeer(bool sendfile) { return std::make_unique<NginxWrkPeer>(sendfile); }

}  // namespace zcb
