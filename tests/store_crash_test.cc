// kill -9 in the middle of a stream of Appends (SyncPolicy::kEveryBatch), with real processes and
// real files: after reopen, every batch whose Append returned OK is present and intact.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "spanstore/spanstore.h"
#include "tests/util/random_spans.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

// Batch n's spans are a pure function of n, so the parent can check them without being told.
std::vector<Span> Batch(uint32_t n) {
  test::RandomSpanOptions o;
  o.huge_string_bytes = 3000;
  test::RandomSpans gen(1000 + n, o);
  return gen.NextTrace(1 + n % 7);
}

Options CrashOptions() {
  Options o;
  o.sync = SyncPolicy::kEveryBatch;
  o.segment_bytes = 256 << 10;  // rotations happen during the run, so kills land in them too
  return o;
}

// Child: append batches first, first+1, ... and report each acknowledged one on `fd`.
[[noreturn]] void AppendForever(const std::string& dir, uint32_t first, int fd, int threads) {
  auto store = Store::Open(CrashOptions(), dir);
  if (!store.ok()) _exit(3);
  std::atomic<uint32_t> next{first};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      while (true) {
        const uint32_t n = next.fetch_add(1);
        if (!(*store)->Append(Batch(n)).ok()) _exit(4);
        if (::write(fd, &n, sizeof n) != sizeof n) _exit(5);
      }
    });
  }
  for (auto& w : workers) w.join();
  _exit(0);
}

TEST(StoreCrashTest, KillDuringAppendsLosesNothingAcknowledged) {
  test::TempDir dir;
  std::mt19937_64 rng(20261124);
  std::set<uint32_t> acked;
  uint32_t next_batch = 0;
  constexpr int kRounds = 25;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const int threads = 1 + round % 4;  // group commit with several appenders, too
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      AppendForever(dir.path(), next_batch, fds[1], threads);
    }
    ::close(fds[1]);
    // Kill at a random moment after the child's first acknowledgement, not at a fixed time from
    // the fork: on a loaded machine opening the store (replaying what earlier rounds wrote) can
    // take longer than any fixed delay, and a round that kills before the first Append tests
    // nothing.
    uint32_t n;
    uint32_t max_seen = next_batch;
    pollfd ready{fds[0], POLLIN, 0};
    const bool acked_one =
        ::poll(&ready, 1, /*timeout_ms=*/60000) == 1 && ::read(fds[0], &n, sizeof n) == sizeof n;
    if (acked_one) {
      acked.insert(n);
      max_seen = std::max(max_seen, n + 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 150));
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    ASSERT_TRUE(acked_one) << "round " << round << ": the child acknowledged no Append in 60 s";
    while (::read(fds[0], &n, sizeof n) == sizeof n) {
      acked.insert(n);
      max_seen = std::max(max_seen, n + 1);
    }
    ::close(fds[0]);
    // Batches numbered past what any child used are fresh in the next round.
    next_batch = max_seen + 64;

    auto store = Store::Open(CrashOptions(), dir.path());
    ASSERT_TRUE(store.ok()) << "round " << round << ": " << store.status();
    for (uint32_t b : acked) {
      const std::vector<Span> expected = Batch(b);
      auto trace = (*store)->GetTrace(expected[0].trace_id);
      ASSERT_TRUE(trace.ok()) << "round " << round << ": acknowledged batch " << b << " lost";
      ASSERT_EQ(trace->spans.size(), expected.size()) << "batch " << b;
      for (const Span& s : expected) {
        ASSERT_NE(std::find(trace->spans.begin(), trace->spans.end(), s), trace->spans.end())
            << "batch " << b << ": span changed";
      }
    }
  }
  // At least one acknowledged batch per round (asserted above), usually hundreds.
  EXPECT_GT(acked.size(), static_cast<size_t>(kRounds));
}

}  // namespace
}  // namespace spanstore
