// The emulation's scheduler: threadgroups as ucontext fibers, barriers and
// simd operations as yield points, deadlock and divergence detection, the
// kernel registry and the C interface (emu_abi.h).
#include <ucontext.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#define LOWBIT_EMU_NO_KEYWORDS 1
#include "lowbit_metal_emu.hpp"

namespace metal::emu {
namespace {

constexpr std::size_t stack_bytes = 64 * 1024;
constexpr std::size_t max_threadgroup_memory = 32 * 1024;  // Apple GPUs
constexpr unsigned max_threads = 1024;

struct kernel_entry {
  std::string name;
  kernel_thunk run;
  std::vector<arg_attr> attrs;
};
std::vector<kernel_entry>& registry() {
  static std::vector<kernel_entry> r;
  return r;
}

enum class state { runnable, at_barrier, at_simd, done, failed };

struct fiber {
  ucontext_t context;
  state st = state::done;
  thread_position pos{};
  simd_slot slot{};
  simd_combine combine = nullptr;
  std::unique_ptr<char[]> stack;
};

/// One worker's state: the fibers of the threadgroup it runs now.
struct group_run {
  ucontext_t scheduler{};  // zeroed: ASan's swapcontext interceptor reads uc_stack
  std::vector<fiber> fibers;
  unsigned current = 0;
  unsigned simd_width = 32;
  const kernel_entry* kernel = nullptr;
  void* const* buffers = nullptr;
  std::map<int, std::vector<unsigned char>> tg_memory;  // by declaration site
  std::size_t tg_bytes = 0;
  std::vector<int> tg_used;
  std::string error;
};
thread_local group_run* active = nullptr;

fiber& current_fiber() { return active->fibers[active->current]; }

void yield(state s) {
  fiber& f = current_fiber();
  f.st = s;
  swapcontext(&f.context, &active->scheduler);
}

// A failing fiber is never resumed, so nothing on its stack may own heap
// memory (LeakSanitizer would report it): the message is a plain C string.
void fail(const char* message) {
  active->error = message;
  yield(state::failed);
}

void trampoline() {
  fiber& f = current_fiber();
  active->kernel->run(active->buffers, f.pos);
  current_fiber().st = state::done;
  swapcontext(&current_fiber().context, &active->scheduler);
}

std::string where(const uint3& g) {
  return "threadgroup (" + std::to_string(g.x) + "," + std::to_string(g.y) + "," + std::to_string(g.z) + ")";
}

/// Releases simdgroups whose lanes all wait at a simd op; false on error.
bool release_simdgroups(group_run& r, const uint3& gid, bool& released) {
  const unsigned n = static_cast<unsigned>(r.fibers.size());
  for (unsigned s0 = 0; s0 < n; s0 += r.simd_width) {
    const unsigned s1 = std::min(n, s0 + r.simd_width);
    unsigned waiting = 0, done = 0;
    for (unsigned t = s0; t < s1; ++t) {
      waiting += r.fibers[t].st == state::at_simd;
      done += r.fibers[t].st == state::done;
    }
    if (waiting == 0 || waiting + done != s1 - s0) continue;
    const unsigned sg = s0 / r.simd_width;
    if (done != 0) {
      r.error = "simd operation in simdgroup " + std::to_string(sg) + " of " + where(gid) + " reached by " +
                std::to_string(waiting) + " lanes while " + std::to_string(done) +
                " returned (simd op after a divergent return)";
      return false;
    }
    simd_combine fn = r.fibers[s0].combine;
    simd_slot* lanes[64] = {};
    for (unsigned t = s0; t < s1; ++t) {
      if (r.fibers[t].combine != fn) {
        r.error = "lanes of simdgroup " + std::to_string(sg) + " of " + where(gid) +
                  " wait at different simd operations (divergent control flow)";
        return false;
      }
      lanes[t - s0] = &r.fibers[t].slot;
    }
    fn(lanes, r.simd_width);
    for (unsigned t = s0; t < s1; ++t) r.fibers[t].st = state::runnable;
    released = true;
  }
  return true;
}

/// Runs one threadgroup to completion; false (with r.error) on a fault.
bool run_group(group_run& r, const uint3& gid, const lowbit_emu_launch& l, std::mt19937_64& rng) {
  const uint3 tg = {l.threadgroup[0], l.threadgroup[1], l.threadgroup[2]};
  const uint3 grid = {l.grid[0], l.grid[1], l.grid[2]};
  const unsigned n = tg.x * tg.y * tg.z;
  for (unsigned t = 0; t < n; ++t) {
    fiber& f = r.fibers[t];
    thread_position& p = f.pos;
    p.thread_position_in_threadgroup = uint3{t % tg.x, (t / tg.x) % tg.y, t / (tg.x * tg.y)};
    p.threadgroup_position_in_grid = gid;
    p.thread_position_in_grid = gid * tg + p.thread_position_in_threadgroup;
    p.threads_per_threadgroup = tg;
    p.threadgroups_per_grid = grid;
    p.threads_per_grid = grid * tg;
    p.thread_index_in_threadgroup = t;
    p.thread_index_in_simdgroup = t % r.simd_width;
    p.simdgroup_index_in_threadgroup = t / r.simd_width;
    p.threads_per_simdgroup = r.simd_width;
    p.simdgroups_per_threadgroup = (n + r.simd_width - 1) / r.simd_width;
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack.get();
    f.context.uc_stack.ss_size = stack_bytes;
    f.context.uc_link = nullptr;
    makecontext(&f.context, trampoline, 0);
    f.st = state::runnable;
    f.combine = nullptr;
  }
  // Fresh poison for every threadgroup: reading memory nobody wrote yields NaN / 0xFF.. bytes.
  for (auto& [id, block] : r.tg_memory) std::memset(block.data(), 0xff, block.size());
  r.tg_bytes = 0;
  r.tg_used.clear();

  std::vector<unsigned> order(n);
  for (;;) {
    for (unsigned t = 0; t < n; ++t) order[t] = l.order == LOWBIT_EMU_REVERSE ? n - 1 - t : t;
    if (l.order == LOWBIT_EMU_SHUFFLED) std::shuffle(order.begin(), order.end(), rng);
    for (unsigned t : order) {
      if (r.fibers[t].st != state::runnable) continue;
      r.current = t;
      swapcontext(&r.scheduler, &r.fibers[t].context);
      if (r.fibers[t].st == state::failed) return false;
    }
    unsigned done = 0, at_barrier = 0, at_simd = 0;
    for (const fiber& f : r.fibers) {
      done += f.st == state::done;
      at_barrier += f.st == state::at_barrier;
      at_simd += f.st == state::at_simd;
    }
    if (done == n) return true;
    bool released = false;
    if (!release_simdgroups(r, gid, released)) return false;
    if (released) continue;
    if (at_barrier + done == n) {
      if (done != 0) {
        r.error = "threadgroup_barrier in " + where(gid) + " reached by " + std::to_string(at_barrier) +
                  " of " + std::to_string(n) +
                  " threads; the others returned (barrier after a divergent return)";
        return false;
      }
      for (fiber& f : r.fibers) f.st = state::runnable;
      continue;
    }
    r.error = "deadlock in " + where(gid) + ": " + std::to_string(at_barrier) +
              " threads at threadgroup_barrier, " + std::to_string(at_simd) + " at simd operations, " +
              std::to_string(done) + " returned (barrier or simd op in divergent control flow)";
    return false;
  }
}

std::string check_launch(const kernel_entry& k, const lowbit_emu_launch& l) {
  const unsigned n = l.threadgroup[0] * l.threadgroup[1] * l.threadgroup[2];
  if (n == 0 || n > max_threads) return "threads per threadgroup must be 1.." + std::to_string(max_threads);
  if (l.simd_width == 0 || l.simd_width > 64 || (l.simd_width & (l.simd_width - 1)) != 0)
    return "simd width must be a power of two <= 64, got " + std::to_string(l.simd_width);
  for (const arg_attr& a : k.attrs)
    if (a.kind == arg_kind::buffer && (a.index >= l.buffer_count || l.buffers[a.index] == nullptr))
      return "kernel " + k.name + " reads [[buffer(" + std::to_string(a.index) +
             ")]] but nothing is bound there";
  return {};
}

}  // namespace

void register_kernel(const char* name, kernel_thunk run, const arg_attr* attrs, std::size_t n_attrs) {
  registry().push_back({name, std::move(run), std::vector<arg_attr>(attrs, attrs + n_attrs)});
}
simd_slot& simd_slot_of_current() { return current_fiber().slot; }
unsigned current_lane() { return current_fiber().pos.thread_index_in_simdgroup; }
unsigned current_simd_width() { return active->simd_width; }
void simd_wait(simd_combine fn) {
  current_fiber().combine = fn;
  yield(state::at_simd);
}
void barrier_wait() { yield(state::at_barrier); }

void* tg_alloc(int id, std::size_t bytes, std::size_t align) {
  group_run& r = *active;
  std::vector<unsigned char>& block = r.tg_memory[id];
  if (std::find(r.tg_used.begin(), r.tg_used.end(), id) == r.tg_used.end()) {
    r.tg_used.push_back(id);
    r.tg_bytes += bytes;
    if (r.tg_bytes > max_threadgroup_memory) {
      char message[96];
      std::snprintf(message, sizeof message, "threadgroup memory of %zu bytes exceeds 32 KiB", r.tg_bytes);
      fail(message);
    }
  }
  if (block.size() < bytes + align) block.resize(bytes + align, 0xff);
  void* p = block.data();
  std::size_t space = block.size();
  return std::align(align, bytes, p, space);
}

}  // namespace metal::emu

using namespace metal::emu;

extern "C" int lowbit_emu_kernel_count(void) { return static_cast<int>(registry().size()); }

extern "C" const char* lowbit_emu_kernel_name(int index) {
  if (index < 0 || index >= lowbit_emu_kernel_count()) return nullptr;
  return registry()[static_cast<std::size_t>(index)].name.c_str();
}

extern "C" int lowbit_emu_dispatch(const char* name, const lowbit_emu_launch* launch, char* error,
                                   std::size_t error_size) {
  auto report = [&](const std::string& m) {
    if (error && error_size) std::snprintf(error, error_size, "%s", m.c_str());
    return 1;
  };
  const kernel_entry* k = nullptr;
  for (const kernel_entry& e : registry())
    if (e.name == name) k = &e;
  if (!k) return report(std::string("no kernel named ") + name);
  const lowbit_emu_launch l = *launch;
  if (std::string m = check_launch(*k, l); !m.empty()) return report(m);
  const std::uint64_t groups = std::uint64_t(l.grid[0]) * l.grid[1] * l.grid[2];
  if (groups == 0) return 0;
  unsigned workers = l.workers ? l.workers : std::max(1u, std::thread::hardware_concurrency());
  workers = static_cast<unsigned>(std::min<std::uint64_t>(workers, groups));

  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string first_error;
  auto work = [&] {
    group_run r;
    r.kernel = k;
    r.buffers = l.buffers;
    r.simd_width = l.simd_width;
    r.fibers.resize(std::size_t(l.threadgroup[0]) * l.threadgroup[1] * l.threadgroup[2]);
    for (fiber& f : r.fibers) f.stack.reset(new char[stack_bytes]);
    active = &r;
    for (std::uint64_t g; !failed && (g = next.fetch_add(1)) < groups;) {
      const metal::uint3 gid = {unsigned(g % l.grid[0]), unsigned((g / l.grid[0]) % l.grid[1]),
                                unsigned(g / (std::uint64_t(l.grid[0]) * l.grid[1]))};
      std::mt19937_64 rng(l.seed * 0x9e3779b97f4a7c15ull + g);
      if (!run_group(r, gid, l, rng)) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failed.exchange(true)) first_error = r.error;
      }
    }
    active = nullptr;
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < workers; ++i) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (failed) return report(std::string(name) + ": " + first_error);
  return 0;
}
