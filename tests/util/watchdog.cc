#include "tests/util/watchdog.h"

#include <cstdio>
#include <cstdlib>

#include "absl/time/clock.h"

namespace spanstore::testing {

Watchdog::Watchdog(absl::Duration limit) : limit_(limit) {
  {
    port::MutexLock l(&mu_);
    last_ = absl::Now();
    doing_ = "starting";
  }
  thread_ = std::thread([this] { Loop(); });
}

Watchdog::~Watchdog() {
  {
    port::MutexLock l(&mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  thread_.join();
}

void Watchdog::Pet(std::string doing) {
  port::MutexLock l(&mu_);
  last_ = absl::Now();
  doing_ = std::move(doing);
}

void Watchdog::Loop() {
  port::MutexLock l(&mu_);
  while (!stop_) {
    const absl::Duration idle = absl::Now() - last_;
    if (idle >= limit_) {
      std::fprintf(stderr, "\nWATCHDOG: no progress for %s while: %s\nA deadlock? Aborting.\n",
                   absl::FormatDuration(idle).c_str(), doing_.c_str());
      std::fflush(stderr);
      std::abort();
    }
    cv_.WaitWithTimeout(&mu_, limit_ - idle);
  }
}

}  // namespace spanstore::testing
