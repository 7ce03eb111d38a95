// spanstored: a tracing backend in one process. See DESIGN section 9 and `spanstored --help`.

#include <signal.h>

#include <cstdio>

#include "spanstore/store.h"
#include "tools/spanstored/config.h"
#include "tools/spanstored/server.h"

namespace spanstore::spanstored {
namespace {

int Run(int argc, char** argv) {
  absl::StatusOr<std::optional<ServerConfig>> parsed = ParseCommandLine(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "spanstored: %s\n", std::string(parsed.status().message()).c_str());
    return 2;
  }
  if (!parsed->has_value()) {
    std::fputs(UsageText().c_str(), stdout);
    return 0;
  }
  const ServerConfig& config = **parsed;

  // Block the shutdown signals in every thread (threads inherit the mask), and take them
  // synchronously in this one: no work happens in a signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client that goes away mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);

  Options options;
  options.sync = config.sync;
  options.max_memtable_bytes = config.max_memtable_bytes;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options, config.db);
  if (!store.ok()) {
    std::fprintf(stderr, "spanstored: cannot open the store: %s\n",
                 std::string(store.status().message()).c_str());
    return 1;
  }

  int exit_code = 0;
  {
    Server server(store->get(), config);
    absl::StatusOr<std::vector<Listener>> listeners = server.Start();
    if (!listeners.ok()) {
      std::fprintf(stderr, "spanstored: %s\n", std::string(listeners.status().message()).c_str());
      exit_code = 1;
    } else {
      for (const Listener& l : *listeners) {
        std::printf("listening %s %s\n", l.name.c_str(), FormatHostPort(l.host, l.port).c_str());
      }
      std::fflush(stdout);
      int signal_number = 0;
      sigwait(&signals, &signal_number);
      std::fprintf(stderr, "spanstored: %s: shutting down\n",
                   signal_number == SIGINT ? "SIGINT" : "SIGTERM");
      server.Shutdown();
    }
  }
  absl::Status flushed = (*store)->Flush();
  absl::Status closed = (*store)->Close();
  if (!flushed.ok() || !closed.ok()) {
    std::fprintf(stderr, "spanstored: closing the store: %s\n",
                 std::string((flushed.ok() ? closed : flushed).message()).c_str());
    return 1;
  }
  return exit_code;
}

}  // namespace
}  // namespace spanstore::spanstored

int main(int argc, char** argv) { return spanstore::spanstored::Run(argc, argv); }
