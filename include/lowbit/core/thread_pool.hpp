// A small fixed thread pool behind lowbit::executor. The calling thread works
// too, so thread_pool(2) runs tasks on the caller and one worker. Tasks are
// handed out by an atomic counter (no per-task queueing); workers sleep on a
// condition variable between runs. One run at a time (callers serialize).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include "lowbit/core/executor.hpp"

namespace lowbit {

class thread_pool {
 public:
  /// `threads` workers in total, the caller included (0 = hardware concurrency).
  explicit thread_pool(std::size_t threads = 0) {
    if (threads == 0) threads = std::thread::hardware_concurrency();
    if (threads == 0) threads = 1;
    size_ = threads;
    for (std::size_t i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// The executor that runs kernels' tasks on this pool.
  [[nodiscard]] executor get() noexcept { return executor(this, &run_tasks, size_); }

 private:
  static void run_tasks(void* self, std::size_t n, executor::task_fn fn, void* ctx) {
    static_cast<thread_pool*>(self)->run(n, fn, ctx);
  }

  void run(std::size_t n, executor::task_fn fn, void* ctx) {
    std::lock_guard<std::mutex> one_run(run_m_);
    {
      // A worker that woke for the previous run after it had returned holds that run's
      // function; it finds no index left only while next_ is not yet reset: let it leave
      // first (it drains nothing), or it would run the old function on this run's indices.
      std::unique_lock<std::mutex> lk(m_);
      done_cv_.wait(lk, [&] { return active_ == 0; });
      fn_ = fn;
      ctx_ = ctx;
      n_ = n;
      next_.store(0, std::memory_order_relaxed);
      done_ = 0;
      ++generation_;
    }
    cv_.notify_all();
    drain(fn, ctx, n);
    // Returning only when no worker is still inside this run keeps a late
    // worker from taking indices of the next run with this run's function.
    std::unique_lock<std::mutex> lk(m_);
    done_cv_.wait(lk, [&] { return done_ == n_ && active_ == 0; });
  }

  void drain(executor::task_fn fn, void* ctx, std::size_t n) {
    std::size_t finished = 0;
    for (std::size_t i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < n;) {
      fn(ctx, i);
      ++finished;
    }
    std::lock_guard<std::mutex> lk(m_);
    done_ += finished;
    if (done_ == n_) done_cv_.notify_all();
  }

  void work() {
    std::size_t seen = 0;
    for (;;) {
      executor::task_fn fn;
      void* ctx;
      std::size_t n;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        fn = fn_, ctx = ctx_, n = n_;
        ++active_;
      }
      drain(fn, ctx, n);
      std::lock_guard<std::mutex> lk(m_);
      if (--active_ == 0) done_cv_.notify_all();
    }
  }

  std::size_t size_ = 1;
  std::vector<std::thread> workers_;
  std::mutex m_, run_m_;
  std::condition_variable cv_, done_cv_;
  bool stop_ = false;
  std::size_t generation_ = 0;
  executor::task_fn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::size_t n_ = 0;
  std::size_t done_ = 0, active_ = 0;
  std::atomic<std::size_t> next_{0};
};

}  // namespace lowbit
