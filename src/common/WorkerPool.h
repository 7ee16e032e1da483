#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace chfleet {

/// A fixed set of threads that run the tasks given to them, oldest first. A task's exceptions reach whoever
/// waits on its future.
class WorkerPool {
  public:
    explicit WorkerPool(size_t threads);
    /// Runs what is still queued, then joins the threads.
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    std::future<void> run(std::function<void()> task);
    size_t threads() const { return threads_.size(); }

  private:
    void workerLoop();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::packaged_task<void()>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace chfleet
