// A watchdog for tests that could deadlock: if nothing calls Pet() for `limit`, it prints what
// the test was doing and aborts, so a hang fails in seconds with a message instead of running
// into CTest's timeout without one.
//
// Thread safety: Pet() may be called from any thread.

#ifndef SPANSTORE_TESTS_UTIL_WATCHDOG_H_
#define SPANSTORE_TESTS_UTIL_WATCHDOG_H_

#include <string>
#include <thread>

#include "absl/time/time.h"
#include "engine/port_mutex.h"

namespace spanstore::testing {

class Watchdog {
 public:
  explicit Watchdog(absl::Duration limit);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Records progress; `doing` is printed if no progress follows within the limit.
  void Pet(std::string doing);

 private:
  void Loop();

  const absl::Duration limit_;
  port::Mutex mu_;
  port::CondVar cv_;
  std::string doing_ ABSL_GUARDED_BY(mu_);
  absl::Time last_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace spanstore::testing

#endif  // SPANSTORE_TESTS_UTIL_WATCHDOG_H_
