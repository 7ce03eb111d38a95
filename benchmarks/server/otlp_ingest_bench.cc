// OTLP/HTTP protobuf ingest into spanstored: throughput and latency with N concurrent loopback
// clients, each sending batches (512 spans: the OpenTelemetry Collector's default) over one
// keep-alive connection and waiting for each 200 before the next, as an exporter does. A fresh
// daemon and store per client count; every request must be acknowledged.
//
//   build/benchmarks/server/otlp_ingest_bench --clients 1,4,8,16 --requests 60
//
// Prints, per client count: spans/s (wall), latency p50/p99/max per request, the daemon's CPU
// seconds per second of wall time (2.0 = both cores of this machine) and per span (what bounds
// throughput when the cores are the limit), the benchmark's own CPU (the clients), and spans
// per fdatasync (how much group commit shares a sync).

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "spanstore/otlp_proto.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::vector<int> clients = {1, 4, 8, 16};
  int requests = 60;  // per client
  int batch = 512;
  std::string sync = "every-batch";
  std::string server = SPANSTORED_PATH;
  std::string dir = "/tmp";
  bool gzip = false;
};

double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const std::vector<std::string> f = absl::StrSplit(stat.substr(stat.rfind(')') + 2), ' ');
  return (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

struct Daemon {
  pid_t pid = -1;
  std::string address;
};

Daemon StartDaemon(const Flags& flags, const std::string& db) {
  int out[2];
  if (pipe(out) != 0) return {};
  Daemon d;
  d.pid = fork();
  if (d.pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    std::vector<std::string> args = {flags.server,  "--db",           db,        "--otlp-http",
                                     "127.0.0.1:0", "--otlp-grpc",    "off",     "--tempo",
                                     "off",         "--jaeger-query", "off",     "--jaeger-storage",
                                     "off",         "--sync",         flags.sync};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  close(out[0]);
  const std::vector<std::string> words = absl::StrSplit(line, ' ');
  if (words.size() == 3 && words[0] == "listening") d.address = words[2];
  return d;
}

// GET host:port/metrics and return one sample's value.
double Metric(const std::string& address, const std::string& name) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  const size_t colon = address.rfind(':');
  tcp::resolver resolver(ioc);
  stream.connect(resolver.resolve(address.substr(0, colon), address.substr(colon + 1)));
  http::request<http::empty_body> req(http::verb::get, "/metrics", 11);
  req.set(http::field::host, "x");
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  for (const auto& line : absl::StrSplit(res.body(), '\n')) {
    if (absl::StartsWith(line, absl::string_view(name + " ")))
      return std::stod(std::string(line.substr(name.size() + 1)));
  }
  return 0;
}

std::vector<std::string> MakeBodies(int count, int batch, uint64_t seed) {
  GeneratorOptions o;
  o.seed = seed;
  o.traces = static_cast<uint64_t>(count) * batch / 10 + 100;  // ~17 spans per trace
  CheckoutGenerator gen(o);
  std::vector<std::string> bodies;
  std::vector<Span> trace, spans;
  while (static_cast<int>(bodies.size()) < count && gen.NextTrace(&trace)) {
    for (Span& s : trace) {
      spans.push_back(std::move(s));
      if (static_cast<int>(spans.size()) == batch) {
        bodies.emplace_back();
        EncodeOtlpTraces(spans, &bodies.back());
        spans.clear();
        if (static_cast<int>(bodies.size()) == count) break;
      }
    }
  }
  return bodies;
}

int Run(const Flags& flags) {
  std::printf(
      "| clients | spans/s | p50 ms | p99 ms | max ms | daemon CPU/s | daemon CPU us/span | "
      "client CPU/s | spans per fdatasync |\n|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
  for (int clients : flags.clients) {
    std::vector<std::vector<std::string>> bodies(clients);
    for (int c = 0; c < clients; ++c) bodies[c] = MakeBodies(flags.requests, flags.batch, 1000 + c);
    const std::string db = flags.dir + "/otlp_ingest_bench." + std::to_string(getpid()) + "." +
                           std::to_string(clients);
    std::system(("rm -rf '" + db + "'").c_str());
    Daemon d = StartDaemon(flags, db);
    if (d.address.empty()) {
      std::fprintf(stderr, "cannot start %s\n", flags.server.c_str());
      return 1;
    }
    const size_t colon = d.address.rfind(':');
    std::vector<std::vector<double>> latencies(clients);
    std::atomic<int> failures{0}, ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        net::io_context ioc;
        beast::tcp_stream stream(ioc);
        tcp::resolver resolver(ioc);
        stream.connect(resolver.resolve(d.address.substr(0, colon), d.address.substr(colon + 1)));
        beast::flat_buffer buffer;
        ++ready;
        while (!go) std::this_thread::yield();
        for (const std::string& body : bodies[c]) {
          http::request<http::string_body> req(http::verb::post, "/v1/traces", 11);
          req.set(http::field::host, "bench");
          req.set(http::field::content_type, "application/x-protobuf");
          req.body() = body;
          req.prepare_payload();
          const auto start = Clock::now();
          http::write(stream, req);
          http::response<http::string_body> res;
          http::read(stream, buffer, res);
          latencies[c].push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - start).count());
          if (res.result_int() != 200) ++failures;
        }
      });
    }
    while (ready < clients) std::this_thread::yield();
    const double daemon_cpu0 = CpuSeconds(d.pid), self_cpu0 = SelfCpuSeconds();
    const double syncs0 = Metric(d.address, "spanstore_wal_syncs");
    const auto start = Clock::now();
    go = true;
    for (auto& t : threads) t.join();
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    const double daemon_cpu = CpuSeconds(d.pid) - daemon_cpu0;
    const double self_cpu = SelfCpuSeconds() - self_cpu0;
    const double syncs = Metric(d.address, "spanstore_wal_syncs") - syncs0;
    kill(d.pid, SIGTERM);
    waitpid(d.pid, nullptr, 0);
    std::system(("rm -rf '" + db + "'").c_str());
    std::vector<double> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) {
      return all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))];
    };
    const double spans = static_cast<double>(all.size()) * flags.batch;
    std::printf("| %d | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f |\n", clients,
                spans / wall, pct(0.50), pct(0.99), all.back(), daemon_cpu / wall,
                daemon_cpu / spans * 1e6, self_cpu / wall, syncs > 0 ? spans / syncs : 0.0);
    std::fflush(stdout);
    if (failures > 0) {
      std::fprintf(stderr, "%d requests were not acknowledged\n", failures.load());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace spanstore

int main(int argc, char** argv) {
  spanstore::Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i], value = argv[i + 1];
    if (name == "--clients") {
      flags.clients.clear();
      for (const auto& c : absl::StrSplit(value, ','))
        flags.clients.push_back(std::stoi(std::string(c)));
    } else if (name == "--requests") {
      flags.requests = std::stoi(value);
    } else if (name == "--batch") {
      flags.batch = std::stoi(value);
    } else if (name == "--sync") {
      flags.sync = value;
    } else if (name == "--server") {
      flags.server = value;
    } else if (name == "--dir") {
      flags.dir = value;
    } else {
      std::fprintf(stderr,
                   "usage: otlp_ingest_bench [--clients 1,4,8,16] [--requests N] [--batch 512] "
                   "[--sync every-batch|interval|none] [--server PATH] [--dir DIR]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  return spanstore::Run(flags);
}
