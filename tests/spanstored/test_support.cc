#include "tests/spanstored/test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "spanstore/formats.h"
#include "spanstore/otlp_proto.h"

namespace spanstore::spanstored::testing {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace {

std::pair<std::string, std::string> SplitAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  return {address.substr(0, colon), address.substr(colon + 1)};
}

HttpResult ToResult(http::response<http::string_body>& res) {
  HttpResult r;
  r.status = res.result_int();
  r.body = std::move(res.body());
  for (const auto& field : res) {
    r.headers[absl::AsciiStrToLower(std::string(field.name_string()))] = std::string(field.value());
  }
  return r;
}

http::request<http::string_body> MakeRequest(const std::string& host, const std::string& method,
                                             const std::string& target, const Headers& headers,
                                             const std::string& body) {
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, host);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  return req;
}

}  // namespace

struct HttpConnection::Impl {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  std::string host;
};

HttpConnection::HttpConnection(const std::string& address) : impl_(std::make_unique<Impl>()) {
  auto [host, port] = SplitAddress(address);
  impl_->host = host;
  tcp::resolver resolver(impl_->ioc);
  impl_->stream.connect(resolver.resolve(host, port));
}

HttpConnection::~HttpConnection() {
  beast::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

HttpResult HttpConnection::Request(const std::string& method, const std::string& target,
                                   const Headers& headers, const std::string& body) {
  try {
    auto req = MakeRequest(impl_->host, method, target, headers, body);
    http::write(impl_->stream, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    if (method == "HEAD") parser.skip(true);
    http::read(impl_->stream, impl_->buffer, parser);
    auto res = parser.release();
    return ToResult(res);
  } catch (const std::exception& e) {
    HttpResult r;
    r.error = e.what();
    return r;
  }
}

// Beast's stream timeouts cover asynchronous operations only, and Asio's synchronous reads
// wait without end: the socket is polled here instead.
bool HttpConnection::ClosedByPeer(int seconds) {
  const int fd = impl_->stream.socket().native_handle();
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, seconds * 1000) <= 0) return false;
  char byte;
  const ssize_t n = recv(fd, &byte, 1, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

HttpResult HttpFetch(const std::string& address, const std::string& method,
                     const std::string& target, const Headers& headers, const std::string& body) {
  try {
    HttpConnection c(address);
    return c.Request(method, target, headers, body);
  } catch (const std::exception& e) {
    HttpResult r;
    r.error = e.what();
    return r;
  }
}

std::string RawExchange(const std::string& address, const std::string& bytes, int seconds) {
  auto [host, port] = SplitAddress(address);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(port)));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    char buf[4096];
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

Daemon::~Daemon() {
  if (pid_ > 0) Kill();
}

bool Daemon::Start(const std::string& db, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {SPANSTORED_PATH, "--db", db};
  for (const char* name :
       {"--otlp-http", "--otlp-grpc", "--tempo", "--jaeger-query", "--jaeger-storage"}) {
    args.push_back(name);
    args.push_back("127.0.0.1:0");
  }
  args.insert(args.end(), extra.begin(), extra.end());
  int out[2];
  if (pipe(out) != 0) return false;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string buffer;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (listeners_.size() < 5 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    char chunk[1024];
    const ssize_t n = read(out[0], chunk, sizeof chunk);
    if (n <= 0) break;  // exited
    buffer.append(chunk, n);
    output_.append(chunk, n);
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      const std::vector<std::string> words = absl::StrSplit(buffer.substr(0, nl), ' ');
      if (words.size() == 3 && words[0] == "listening") listeners_[words[1]] = words[2];
      buffer.erase(0, nl + 1);
    }
  }
  close(out[0]);
  return listeners_.size() == 5;
}

std::string Daemon::Address(const std::string& listener) const {
  auto it = listeners_.find(listener);
  return it == listeners_.end() ? "" : it->second;
}

int Daemon::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

void Daemon::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

uint64_t Daemon::PeakRssBytes() const {
  std::ifstream in(absl::StrCat("/proc/", pid_, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stoull(line.substr(6)) * 1024;  // "VmHWM:   12345 kB"
    }
  }
  return 0;
}

std::pair<int, std::string> RunCommand(const std::vector<std::string>& argv_in) {
  int out[2];
  if (pipe(out) != 0) return {-1, ""};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<std::string> args = argv_in;
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string output;
  char chunk[4096];
  ssize_t n;
  while ((n = read(out[0], chunk, sizeof chunk)) > 0) output.append(chunk, n);
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

InProcessServer::InProcessServer(ServerConfig config, Options options) {
  auto store = Store::Open(options, dir_.Sub("db"));
  if (!store.ok()) throw std::runtime_error(std::string(store.status().message()));
  store_ = *std::move(store);
  for (ListenAddress* a : {&config.otlp_http, &config.otlp_grpc, &config.tempo,
                           &config.jaeger_query, &config.jaeger_storage}) {
    a->host = "127.0.0.1";
    a->port = 0;
  }
  config.db = dir_.Sub("db");
  server_ = std::make_unique<Server>(store_.get(), config);
  auto listeners = server_->Start();
  if (!listeners.ok()) throw std::runtime_error(std::string(listeners.status().message()));
  for (const Listener& l : *listeners) listeners_[l.name] = FormatHostPort(l.host, l.port);
}

InProcessServer::~InProcessServer() {
  server_->Shutdown();
  server_.reset();
  (void)store_->Close();
}

std::string InProcessServer::Address(const std::string& listener) const {
  auto it = listeners_.find(listener);
  return it == listeners_.end() ? "" : it->second;
}

std::vector<Span> SampleTrace(const std::string& service, uint64_t start_nanos, uint64_t seed) {
  // Ids as random as real ones (splitmix64 of the seed): distinct for every seed.
  uint64_t x = seed * 16 * 0x9E3779B97F4A7C15ull + 0x5DEECE66Dull;  // 16 draws per seed
  auto next = [&x] {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  TraceId trace;
  SpanId root_id, child_id, linked_span;
  for (auto* id : {&root_id, &child_id, &linked_span}) {
    const uint64_t v = next();
    for (int i = 0; i < 8; ++i) id->bytes[i] = static_cast<uint8_t>(v >> (8 * i));
  }
  for (int half = 0; half < 2; ++half) {
    const uint64_t v = next();
    for (int i = 0; i < 8; ++i) trace.bytes[8 * half + i] = static_cast<uint8_t>(v >> (8 * i));
  }
  Span root;
  root.trace_id = trace;
  root.span_id = root_id;
  root.service_name = service;
  root.resource_attributes = {{"service.name", AnyValue::String(service)},
                              {"host.name", AnyValue::String("node-1")},
                              {"k8s.pod.restarts", AnyValue::Int(3)}};
  root.scope_name = "io.example.http";
  root.scope_version = "2.0";
  root.scope_attributes = {{"scope.attr", AnyValue::String("s1")}};
  root.name = "GET /orders";
  root.kind = SpanKind::kServer;
  root.start_time_unix_nano = start_nanos;
  root.end_time_unix_nano = start_nanos + 250000000;  // 250 ms
  root.attributes = {{"http.method", AnyValue::String("GET")},
                     {"http.status_code", AnyValue::Int(200)},
                     {"load", AnyValue::Double(0.5)},
                     {"cached", AnyValue::Bool(true)}};
  Span child = root;
  child.span_id = child_id;
  child.parent_span_id = root_id;
  child.name = "SELECT orders";
  child.kind = SpanKind::kClient;
  child.start_time_unix_nano = start_nanos + 10000000;
  child.end_time_unix_nano = start_nanos + 210000000;  // 200 ms
  child.attributes = {{"db.system", AnyValue::String("postgresql")},
                      {"db.rows", AnyValue::Int(42)}};
  child.status_code = StatusCode::kError;
  child.status_message = "timeout";
  child.events = {{start_nanos + 20000000, "retry", {{"attempt", AnyValue::Int(2)}}, 0}};
  SpanLink link;
  link.trace_id = trace;
  link.span_id = linked_span;
  link.attributes = {{"link.reason", AnyValue::String("batch")}};
  child.links = {link};
  return {root, child};
}

std::string ProtoRequest(const std::vector<Span>& spans) {
  std::string out;
  EncodeOtlpTraces(spans, &out);
  return out;
}

std::string JsonRequest(const std::vector<Span>& spans) {
  std::string out;
  WriteOtlpJson(spans, &out);
  return out;
}

std::string Gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace spanstore::spanstored::testing
