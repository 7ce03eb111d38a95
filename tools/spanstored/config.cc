#include "tools/spanstored/config.h"

#include <charconv>
#include <cstdio>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spanstore::spanstored {
namespace {

absl::StatusOr<uint64_t> ParseCount(const std::string& flag, const std::string& text) {
  uint64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s expects a non-negative integer, got '%s'", flag, text));
  }
  return v;
}

// A byte count with an optional binary suffix: 20971520, 20M, 20MiB, 1G.
absl::StatusOr<uint64_t> ParseBytes(const std::string& flag, const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string suffix = text.substr(digits);
  uint64_t unit = 1;
  if (suffix == "" || suffix == "B") {
    unit = 1;
  } else if (suffix == "K" || suffix == "KiB" || suffix == "k") {
    unit = 1ull << 10;
  } else if (suffix == "M" || suffix == "MiB") {
    unit = 1ull << 20;
  } else if (suffix == "G" || suffix == "GiB") {
    unit = 1ull << 30;
  } else {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--%s expects a byte count such as 20971520 or 20MiB, got '%s'", flag, text));
  }
  absl::StatusOr<uint64_t> n = ParseCount(flag, text.substr(0, digits));
  if (!n.ok()) return n.status();
  if (*n > UINT64_MAX / unit) return absl::InvalidArgumentError("--" + flag + " is too large");
  return *n * unit;
}

}  // namespace

absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view text) {
  ListenAddress a;
  if (text == "off") {
    a.enabled = false;
    return a;
  }
  const auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrFormat(
        "expected host:port, [ipv6]:port, :port or off, got '%s'", std::string(text)));
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad();
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') return bad();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad();  // an IPv6 address needs brackets
  }
  unsigned value = 0;
  const auto r = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || value > 65535) {
    return bad();
  }
  a.host = host.empty() ? "0.0.0.0" : std::string(host);
  a.port = static_cast<uint16_t>(value);
  return a;
}

std::string FormatHostPort(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

std::string UsageText() {
  return R"(usage: spanstored --db DIR [flags]

spanstored serves a spanstore store over the protocols tracing tools already speak: OpenTelemetry
SDKs and Collectors send spans to it (OTLP over HTTP and gRPC); Grafana (Tempo data source) and
Jaeger (query API, or Jaeger v2 remote storage) search and show them.

listeners (each HOST:PORT, [IPV6]:PORT, :PORT for all interfaces, or off; port 0 picks a free
port; once all are up, one line "listening <name> <host:port>" per listener is printed):
  --otlp-http ADDR        OTLP/HTTP POST /v1/traces            (default 127.0.0.1:4318)
  --otlp-grpc ADDR        OTLP/gRPC TraceService/Export         (default 127.0.0.1:4317)
  --tempo ADDR            Tempo HTTP API for Grafana            (default 127.0.0.1:3200)
  --jaeger-query ADDR     Jaeger query HTTP JSON API            (default 127.0.0.1:16686)
  --jaeger-storage ADDR   Jaeger v2 remote storage gRPC         (default 127.0.0.1:17271)

store:
  --db DIR                the store's directory (created if missing; required)
  --sync POLICY           every-batch (default: a 2xx/OK means fdatasync'd, group-committed
                          across concurrent requests), interval (100 ms loss window on a
                          machine crash) or none
  --max-memtable-bytes N  memory for spans not yet compacted (default 256MiB); ingest is
                          answered 503/UNAVAILABLE with Retry-After when it is nearly full

limits:
  --max-request-bytes N   largest request body after decompression (default 20MiB); larger
                          ones get 413 (gRPC RESOURCE_EXHAUSTED)
  --max-inflight-bytes N  request bodies held at once, all connections (default 512MiB);
                          beyond it 503 + Retry-After
  --max-connections N     open HTTP connections per listener (default 1024)
  --workers N             handler threads (default 16)
  --max-scanned-spans N   bound on the spans one tag, dependency or tag search scans
                          (default 2000000)
  --query-timeout D       a search or tag query gives up after D (default 30s; e.g. 500ms,
                          2m) with 504 (gRPC DEADLINE_EXCEEDED)

testing:
  --test-refuse-ingest N  answer the first N ingest requests as back-pressure would
                          (503 + Retry-After: 1, gRPC UNAVAILABLE + RetryInfo)

  --help                  this text

SIGTERM or SIGINT: stop accepting, finish requests in flight, flush and close the store, exit 0.
exit codes: 0 clean shutdown, 1 failure (store or listener), 2 usage error.
)";
}

absl::StatusOr<std::optional<ServerConfig>> ParseCommandLine(int argc, char** argv) {
  ServerConfig config;
  bool have_db = false;
  using Setter = std::function<absl::Status(const std::string& flag, const std::string& value)>;
  auto listener = [](ListenAddress* a) -> Setter {
    return [a](const std::string& flag, const std::string& value) -> absl::Status {
      absl::StatusOr<ListenAddress> parsed = ParseListenAddress(value);
      if (!parsed.ok())
        return absl::InvalidArgumentError("--" + flag + ": " +
                                          std::string(parsed.status().message()));
      *a = *parsed;
      return absl::OkStatus();
    };
  };
  auto count = [](auto* target, uint64_t min) -> Setter {
    return [target, min](const std::string& flag, const std::string& value) -> absl::Status {
      absl::StatusOr<uint64_t> n = ParseCount(flag, value);
      if (!n.ok()) return n.status();
      if (*n < min)
        return absl::InvalidArgumentError(absl::StrFormat("--%s must be at least %d", flag, min));
      *target = static_cast<std::remove_reference_t<decltype(*target)>>(*n);
      return absl::OkStatus();
    };
  };
  auto bytes = [](uint64_t* target) -> Setter {
    return [target](const std::string& flag, const std::string& value) -> absl::Status {
      absl::StatusOr<uint64_t> n = ParseBytes(flag, value);
      if (!n.ok()) return n.status();
      if (*n == 0) return absl::InvalidArgumentError("--" + flag + " must be positive");
      *target = *n;
      return absl::OkStatus();
    };
  };
  const std::map<std::string, Setter> flags = {
      {"db",
       [&](const std::string&, const std::string& v) {
         config.db = v;
         have_db = !v.empty();
         return absl::OkStatus();
       }},
      {"otlp-http", listener(&config.otlp_http)},
      {"otlp-grpc", listener(&config.otlp_grpc)},
      {"tempo", listener(&config.tempo)},
      {"jaeger-query", listener(&config.jaeger_query)},
      {"jaeger-storage", listener(&config.jaeger_storage)},
      {"sync",
       [&](const std::string&, const std::string& v) -> absl::Status {
         if (v == "every-batch") {
           config.sync = SyncPolicy::kEveryBatch;
         } else if (v == "interval") {
           config.sync = SyncPolicy::kInterval;
         } else if (v == "none") {
           config.sync = SyncPolicy::kNone;
         } else {
           return absl::InvalidArgumentError("--sync must be every-batch, interval or none, got '" +
                                             v + "'");
         }
         return absl::OkStatus();
       }},
      {"max-memtable-bytes", bytes(&config.max_memtable_bytes)},
      {"max-request-bytes", bytes(&config.max_request_bytes)},
      {"max-inflight-bytes", bytes(&config.max_inflight_bytes)},
      {"max-connections", count(&config.max_connections, 1)},
      {"workers", count(&config.workers, 1)},
      {"max-scanned-spans", count(&config.max_scanned_spans, 1)},
      {"test-refuse-ingest", count(&config.test_refuse_ingest, 0)},
      {"query-timeout",
       [&](const std::string& flag, const std::string& v) -> absl::Status {
         absl::Duration d;
         if (!absl::ParseDuration(v, &d) || d <= absl::ZeroDuration() ||
             d == absl::InfiniteDuration()) {
           return absl::InvalidArgumentError("--" + flag +
                                             " must be a positive duration such as 30s or "
                                             "500ms, got '" +
                                             v + "'");
         }
         config.query_timeout = d;
         return absl::OkStatus();
       }},
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return std::optional<ServerConfig>();
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError("unexpected argument '" + arg +
                                        "' (see 'spanstored --help')");
    }
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it = flags.find(name);
    if (it == flags.end()) {
      return absl::InvalidArgumentError("unknown flag --" + name + " (see 'spanstored --help')");
    }
    if (!has_value) {
      if (i + 1 >= argc) return absl::InvalidArgumentError("--" + name + " needs a value");
      value = argv[++i];
    }
    absl::Status s = it->second(name, value);
    if (!s.ok()) return s;
  }
  if (!have_db) return absl::InvalidArgumentError("--db DIR is required (see 'spanstored --help')");
  return std::optional<ServerConfig>(std::move(config));
}

}  // namespace spanstore::spanstored
