#include "tests/util/watchdog.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/time/clock.h"

namespace spanstore::test {

Watchdog::Watchdog(absl::Duration limit) : limit_(limit) {
  {
    port::MutexLock l(&mu_);
    last_ = absl::Now();
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
  doing_[std::this_thread::get_id()] = {std::move(doing), last_};
}

void Watchdog::Finished() {
  port::MutexLock l(&mu_);
  last_ = absl::Now();
  doing_.erase(std::this_thread::get_id());
}

void Watchdog::Loop() {
  port::MutexLock l(&mu_);
  while (!stop_) {
    const absl::Time now = absl::Now();
    if (now - last_ >= limit_) {
      // The longest-running activity first: that is where the hang is.
      std::vector<std::pair<absl::Time, std::string>> threads;
      for (const auto& [id, doing] : doing_) threads.emplace_back(doing.second, doing.first);
      std::sort(threads.begin(), threads.end());
      std::fprintf(stderr,
                   "\nWATCHDOG: no progress for %s. A deadlock? What each thread "
                   "started last:\n",
                   absl::FormatDuration(now - last_).c_str());
      for (const auto& [since, what] : threads) {
        std::fprintf(stderr, "  %s ago: %s\n", absl::FormatDuration(now - since).c_str(),
                     what.c_str());
      }
      std::fflush(stderr);
      std::abort();
    }
    cv_.WaitWithTimeout(&mu_, limit_ - (now - last_));
  }
}

}  // namespace spanstore::test
