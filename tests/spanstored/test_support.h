// Shared by the spanstored tests: an HTTP client (Beast, synchronous), raw socket exchanges for
// malformed requests, a spanstored process under test, an in-process Server over a temporary
// store, and span fixtures.

#ifndef SPANSTORE_TESTS_SPANSTORED_TEST_SUPPORT_H_
#define SPANSTORE_TESTS_SPANSTORED_TEST_SUPPORT_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spanstore/span.h"
#include "spanstore/store.h"
#include "tests/util/temp_dir.h"
#include "tools/spanstored/config.h"
#include "tools/spanstored/server.h"

namespace spanstore::spanstored::testing {

struct HttpResult {
  int status = 0;  // 0: no response (see error)
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string error;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// One request on a fresh connection. `address` is "host:port".
HttpResult HttpFetch(const std::string& address, const std::string& method,
                     const std::string& target, const Headers& headers = {},
                     const std::string& body = "");

// A keep-alive connection for many requests.
class HttpConnection {
 public:
  explicit HttpConnection(const std::string& address);
  ~HttpConnection();
  HttpResult Request(const std::string& method, const std::string& target,
                     const Headers& headers = {}, const std::string& body = "");
  // Whether the server closed the connection (a read sees end of stream) within `seconds`.
  bool ClosedByPeer(int seconds);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes `bytes` on a fresh connection, then reads until the server closes it (or `seconds`
// pass) and returns what it sent back.
std::string RawExchange(const std::string& address, const std::string& bytes, int seconds = 10);

// Percent-encodes a query parameter value.
std::string UrlEncode(const std::string& s);

// A spanstored process. Start waits for its "listening" lines.
class Daemon {
 public:
  Daemon() = default;
  ~Daemon();  // SIGKILL if still running
  // Starts `SPANSTORED_PATH --db db` with every listener on 127.0.0.1:0 plus `extra` flags.
  bool Start(const std::string& db, const std::vector<std::string>& extra = {});
  std::string Address(const std::string& listener) const;  // "127.0.0.1:port"
  // SIGTERM and wait: the exit status (as waitpid reports it), or -1.
  int Stop();
  void Kill();  // SIGKILL and wait
  pid_t pid() const { return pid_; }
  // Peak resident memory (VmHWM) in bytes, from /proc.
  uint64_t PeakRssBytes() const;
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  std::map<std::string, std::string> listeners_;
  std::string output_;
};

// Runs `argv` to completion; returns (exit code, stdout+stderr).
std::pair<int, std::string> RunCommand(const std::vector<std::string>& argv);

// An in-process daemon over a fresh store in a temporary directory.
class InProcessServer {
 public:
  // `options` opens the store (its env may inject faults); `config` needs no db or addresses:
  // every listener binds 127.0.0.1:0.
  explicit InProcessServer(ServerConfig config = ServerConfig(), Options options = Options());
  ~InProcessServer();
  Store& store() { return *store_; }
  Server& server() { return *server_; }
  std::string Address(const std::string& listener) const;

 private:
  spanstore::test::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Server> server_;
  std::map<std::string, std::string> listeners_;
};

// A small trace with every kind of field, for read-back checks: service `service`, a server
// root and a client child with an event and a link, starting at `start_nanos`.
std::vector<Span> SampleTrace(const std::string& service, uint64_t start_nanos, uint64_t seed);

// An ExportTraceServiceRequest holding `spans` (the library's encoder).
std::string ProtoRequest(const std::vector<Span>& spans);
std::string JsonRequest(const std::vector<Span>& spans);
std::string Gzip(const std::string& data);

}  // namespace spanstore::spanstored::testing

#endif  // SPANSTORE_TESTS_SPANSTORED_TEST_SUPPORT_H_
