// A watchdog for tests that could deadlock: if no thread calls Pet() for `limit`, it prints what
// each thread was last doing and aborts, so a hang fails in seconds with a message instead of
// running into CTest's timeout without one.
//
// Thread safety: Pet() and Finished() may be called from any thread.

#ifndef SPANSTORE_TESTS_UTIL_WATCHDOG_H_
#define SPANSTORE_TESTS_UTIL_WATCHDOG_H_

#include <map>
#include <string>
#include <thread>
#include <utility>

#include "absl/time/time.h"
#include "util/port_mutex.h"

namespace spanstore::test {

class Watchdog {
 public:
  explicit Watchdog(absl::Duration limit);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Records progress; `doing` is what the calling thread starts now, printed if it never ends.
  void Pet(std::string doing);
  // The calling thread is done: it is no longer listed.
  void Finished();

 private:
  void Loop();

  const absl::Duration limit_;
  port::Mutex mu_;
  port::CondVar cv_;
  absl::Time last_ ABSL_GUARDED_BY(mu_);
  // Per thread: what it started last, and when.
  std::map<std::thread::id, std::pair<std::string, absl::Time>> doing_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace spanstore::test

#endif  // SPANSTORE_TESTS_UTIL_WATCHDOG_H_
