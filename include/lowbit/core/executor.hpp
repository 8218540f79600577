// Type-erased parallel_for so a runtime can drive lowbit kernels with its own
// thread pool. lowbit ships a serial default and a small pool (thread_pool.hpp).
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace lowbit {

/// A non-owning handle to something that can run `n_tasks` independent tasks,
/// each identified by its index, and returns when all are done. Kernels size
/// their tasks so that any split is correct; `concurrency` is a hint.
class executor {
 public:
  using task_fn = void (*)(void* ctx, std::size_t task);
  using run_fn = void (*)(void* self, std::size_t n_tasks, task_fn fn, void* ctx);

  /// The serial executor: runs every task on the calling thread, in order.
  constexpr executor() noexcept = default;
  constexpr executor(void* self, run_fn run, std::size_t concurrency) noexcept
      : self_(self), run_(run), concurrency_(concurrency ? concurrency : 1) {}

  [[nodiscard]] constexpr std::size_t concurrency() const noexcept { return concurrency_; }

  template <class F>
  void parallel_for(std::size_t n_tasks, F&& f) const {
    if (n_tasks == 0) return;
    if (run_ == nullptr || n_tasks == 1) {
      for (std::size_t i = 0; i < n_tasks; ++i) f(i);
      return;
    }
    using Fn = std::remove_reference_t<F>;
    run_(
        self_, n_tasks, [](void* ctx, std::size_t i) { (*static_cast<Fn*>(ctx))(i); },
        const_cast<void*>(static_cast<const void*>(&f)));
  }

 private:
  void* self_ = nullptr;
  run_fn run_ = nullptr;
  std::size_t concurrency_ = 1;
};

/// The serial executor.
constexpr executor serial() noexcept { return executor{}; }

}  // namespace lowbit
