// A fixed pool of threads that run request handlers. The network threads stay free to read
// and write sockets while handlers block in Store calls (an Append waits for its group's
// fdatasync), and the pool's size bounds how many handlers run at once.
//
// Thread safety: Post may be called from any thread; Join from one.

#ifndef SPANSTORE_TOOLS_SPANSTORED_WORKER_POOL_H_
#define SPANSTORE_TOOLS_SPANSTORED_WORKER_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace spanstore::spanstored {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();  // Joins.
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `task` on a pool thread. After Join has begun, tasks still run (a handler finishing
  // during shutdown may post its continuation) until the queue is empty.
  void Post(std::function<void()> task);

  // Runs every queued task, then stops the threads. Idempotent.
  void Join();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace spanstore::spanstored

#endif  // SPANSTORE_TOOLS_SPANSTORED_WORKER_POOL_H_
