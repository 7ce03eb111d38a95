#include "tools/spanstored/http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace spanstore::spanstored {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

bool InflightBudget::TryAcquire(uint64_t bytes) {
  uint64_t used = used_.load();
  while (true) {
    if (used != 0 && used + bytes > limit_) return false;
    if (used_.compare_exchange_weak(used, used + bytes)) return true;
  }
}

class Session;

// Read buffer sizes: while a body arrives, and between requests.
constexpr size_t kBodyReadBuffer = 256 << 10;
constexpr size_t kIdleBuffer = 16 << 10;

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  WorkerPool* pool;
  InflightBudget* budget;
  Metrics* metrics;

  std::mutex mu;
  std::condition_variable cv;
  std::map<Session*, std::weak_ptr<Session>> sessions;  // guarded by mu
  bool draining = false;                                // guarded by mu
  bool stopped = false;                                 // guarded by mu
  std::vector<std::thread> threads;

  // Declared last, destroyed first: handlers it still holds own sessions, whose destructors
  // use the members above. (Sessions point to this Impl; it lives as long as the HttpServer.)
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;

  bool Draining() {
    std::lock_guard<std::mutex> l(mu);
    return draining;
  }
  void Accept();
};

// One connection. All its members are touched only on its strand, except where noted.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {}

  ~Session() {
    if (reserved_ != 0) server_->budget->Release(reserved_);
    std::lock_guard<std::mutex> l(server_->mu);
    server_->sessions.erase(this);
    server_->cv.notify_all();
  }

  void Start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::ReadHeader, shared_from_this(), true));
  }

  // Posted by Shutdown. `force`: close even while a request is being handled.
  void Close(bool force) {
    net::post(stream_.get_executor(), [self = shared_from_this(), force] {
      if (force || !self->handling_) self->CloseNow();
    });
  }

 private:
  const HttpServerOptions& options() const { return server_->options; }

  void ReadHeader(bool first) {
    // An idle connection keeps only a small buffer.
    if (buffer_.capacity() > kIdleBuffer && buffer_.size() == 0) buffer_.shrink_to_fit();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    parser_->body_limit(options().max_body_bytes);
    stream_.expires_after(
        absl::ToChronoNanoseconds(first ? options().read_timeout : options().idle_timeout));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    if (server_->Draining()) {
      return Reject(503, "the server is shutting down; retry", /*retry_after=*/true);
    }
    const auto& request = parser_->get();
    // Reserve the body's memory before reading it: the declared length, or the limit for a
    // chunked body whose length is unknown.
    uint64_t want = 0;
    if (parser_->content_length()) {
      want = *parser_->content_length();
    } else if (parser_->chunked()) {
      want = options().max_body_bytes;
    }
    if (want > 0) {
      if (!server_->budget->TryAcquire(want)) {
        return Reject(503, "too many request bodies in flight; retry", /*retry_after=*/true);
      }
      reserved_ = want;
    }
    if (absl::EqualsIgnoreCase(std::string(request[http::field::expect]), "100-continue")) {
      // Clients such as curl wait for this before sending a large body.
      auto go_on = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                      request.version());
      http::async_write(stream_, *go_on,
                        [self = shared_from_this(), go_on](beast::error_code ec, std::size_t) {
                          if (ec) return self->CloseNow();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    // Beast reads at most the buffer's free capacity per receive: a buffer sized for headers
    // would take a 300 KB body in hundreds of tiny reads (and as many wake-ups).
    if (reserved_ > buffer_.capacity()) {
      buffer_.reserve(static_cast<size_t>(std::min<uint64_t>(reserved_, kBodyReadBuffer)));
    }
    stream_.expires_after(absl::ToChronoNanoseconds(options().read_timeout));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    Dispatch();
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      return Reject(
          431, absl::StrCat("request header larger than ", options().max_header_bytes, " bytes"));
    }
    if (ec == http::error::body_limit) {
      return Reject(413, absl::StrCat("request body larger than ", options().max_body_bytes,
                                      " bytes (--max-request-bytes)"));
    }
    // The client went away, or was idle or slow past a timeout: nothing to answer.
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == http::error::partial_message) {
      return CloseNow();
    }
    Reject(400, absl::StrCat("malformed HTTP request: ", ec.message()));
  }

  void Dispatch() {
    http::request<http::string_body> raw = parser_->release();
    HttpRequest request;
    request.method = std::string(raw.method_string());
    request.target = std::string(raw.target());
    request.content_type = std::string(raw[http::field::content_type]);
    request.content_encoding = std::string(raw[http::field::content_encoding]);
    request.accept = std::string(raw[http::field::accept]);
    request.body = std::move(raw.body());
    keep_alive_ = raw.keep_alive();
    version_ = raw.version();
    handling_ = true;
    stream_.expires_never();  // a handler may take long (a big search); no read is pending
    if (!ParseTarget(&request)) {
      return Write(HttpResponse::Text(400, "malformed request target"));
    }
    server_->pool->Post([self = shared_from_this(), request = std::move(request)]() mutable {
      HttpResponse response;
      try {
        response = self->server_->handler(request);
      } catch (const std::exception& e) {  // nothing may escape into the pool
        response = HttpResponse::Text(500, absl::StrCat("internal error: ", e.what()));
      }
      request = HttpRequest();  // the body's memory goes before the response is queued
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response));
      });
    });
  }

  void ReleaseBudget() {
    if (reserved_ != 0) server_->budget->Release(reserved_);
    reserved_ = 0;
  }

  std::shared_ptr<http::response<http::string_body>> MakeResponse(HttpResponse&& r) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version_ == 0 ? 11 : version_);
    res->set(http::field::server, "spanstored");
    res->set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) res->set(name, value);
    res->body() = std::move(r.body);
    server_->metrics->CountRequest(options().name, r.status);
    return res;
  }

  void Write(HttpResponse r) {
    ReleaseBudget();
    auto res = MakeResponse(std::move(r));
    res->keep_alive(keep_alive_ && !server_->Draining());
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        self->handling_ = false;
                        if (ec || !res->keep_alive()) return self->CloseNow();
                        self->ReadHeader(false);
                      });
  }

  // Answers a request that was not read whole; the connection cannot carry another one.
  void Reject(int status, std::string message, bool retry_after = false) {
    ReleaseBudget();
    HttpResponse r = HttpResponse::Text(status, std::move(message));
    if (retry_after) {
      r.headers.emplace_back("Retry-After",
                             absl::StrCat(absl::ToInt64Seconds(options().retry_after)));
    }
    if (parser_ && parser_->is_header_done()) version_ = parser_->get().version();
    handling_ = true;
    auto res = MakeResponse(std::move(r));
    res->keep_alive(false);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec) return self->CloseNow();
                        self->Linger();
                      });
  }

  // Closing a socket with unread input makes the kernel answer with a reset, which can destroy
  // the response before the client reads it. So: stop sending, read and discard what the
  // client still sends (up to a bound and a time limit), then close.
  void Linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return CloseNow();
    linger_buffer_.resize(64 << 10);
    stream_.expires_after(std::chrono::seconds(2));
    DiscardSome();
  }

  void DiscardSome() {
    stream_.async_read_some(net::buffer(linger_buffer_), [self = shared_from_this()](
                                                             beast::error_code ec, std::size_t n) {
      self->discarded_ += n;
      if (ec || self->discarded_ > self->options().max_body_bytes + (1 << 20)) {
        return self->CloseNow();
      }
      self->DiscardSome();
    });
  }

  void CloseNow() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* const server_;  // outlives its sessions (see ~HttpServer)
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  uint64_t reserved_ = 0;  // budget held for the current request body
  bool handling_ = false;  // a request is with a handler or its response is being written
  bool keep_alive_ = false;
  unsigned version_ = 11;
  std::vector<char> linger_buffer_;
  uint64_t discarded_ = 0;
};

void HttpServer::Impl::Accept() {
  acceptor->async_accept(
      net::make_strand(ioc), [self = this](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !self->acceptor->is_open()) return;
        if (!ec) {
          std::shared_ptr<Session> session;
          {
            std::lock_guard<std::mutex> l(self->mu);
            if (!self->draining &&
                static_cast<int>(self->sessions.size()) < self->options.max_connections) {
              session = std::make_shared<Session>(std::move(socket), self);
              self->sessions.emplace(session.get(), session);
            }
          }
          if (session) {
            session->Start();
          } else {
            beast::error_code ignored;
            socket.close(ignored);  // over the connection limit: the client may retry
          }
        }
        self->Accept();
      });
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler, WorkerPool* pool,
                       InflightBudget* budget, Metrics* metrics)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
  impl_->pool = pool;
  impl_->budget = budget;
  impl_->metrics = metrics;
}

HttpServer::~HttpServer() { Shutdown(absl::Now()); }

absl::StatusOr<uint16_t> HttpServer::Listen(const std::string& host, uint16_t port) {
  beast::error_code ec;
  tcp::resolver resolver(impl_->ioc);
  auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return absl::UnavailableError(
        absl::StrCat(impl_->options.name, ": cannot resolve '", host, "': ", ec.message()));
  }
  const tcp::endpoint endpoint = results.begin()->endpoint();
  impl_->acceptor.emplace(impl_->ioc);
  tcp::acceptor& a = *impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(impl_->options.name, ": cannot listen on ", host,
                                               ":", port, ": ", ec.message()));
  }
  const uint16_t bound = a.local_endpoint(ec).port();
  impl_->work.emplace(net::make_work_guard(impl_->ioc));
  impl_->Accept();
  for (int i = 0; i < std::max(1, impl_->options.io_threads); ++i) {
    impl_->threads.emplace_back([impl = impl_.get()] {
      while (true) {
        try {
          impl->ioc.run();
          return;
        } catch (const std::exception& e) {  // a handler threw: log, keep serving
          std::fprintf(stderr, "spanstored: %s: %s\n", impl->options.name.c_str(), e.what());
        }
      }
    });
  }
  return bound;
}

void HttpServer::StopAccepting() {
  Impl& impl = *impl_;
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard<std::mutex> l(impl.mu);
    if (impl.draining) return;
    impl.draining = true;
    for (auto& [raw, weak] : impl.sessions) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  if (impl.acceptor) {
    net::post(impl.ioc, [a = &*impl.acceptor] {
      beast::error_code ec;
      a->close(ec);
    });
  }
  for (auto& s : open) s->Close(/*force=*/false);
}

void HttpServer::Shutdown(absl::Time deadline) {
  Impl& impl = *impl_;
  StopAccepting();
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard<std::mutex> l(impl.mu);
    if (impl.stopped) return;
    impl.stopped = true;
  }
  {
    std::unique_lock<std::mutex> l(impl.mu);
    impl.cv.wait_until(l, absl::ToChronoTime(deadline), [&] { return impl.sessions.empty(); });
    for (auto& [raw, weak] : impl.sessions) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) s->Close(/*force=*/true);
  open.clear();
  impl.work.reset();
  if (!impl.threads.empty()) {
    // Let the closes run, then stop whatever is left (handlers still with the pool keep their
    // sessions alive until the pool is joined; they post into a stopped context harmlessly).
    std::unique_lock<std::mutex> l(impl.mu);
    impl.cv.wait_for(l, std::chrono::milliseconds(200), [&] { return impl.sessions.empty(); });
  }
  impl.ioc.stop();
  for (std::thread& t : impl.threads) {
    if (t.joinable()) t.join();
  }
  impl.threads.clear();
}

int HttpServer::connections() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return static_cast<int>(impl_->sessions.size());
}

}  // namespace spanstore::spanstored
