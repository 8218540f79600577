// Which implementation of the SIMD ops layer runs the CPU kernels, and how a
// consumer pins one: per call (a `backend` argument), per process
// (set_default_backend) or per run of a prebuilt binary (LOWBIT_BACKEND).
#pragma once

#include <atomic>
#include <cstdlib>
#include <string_view>

#include "lowbit/core/error.hpp"

namespace lowbit {

/// scalar: plain C++ (the reference backend). xsimd: xsimd at the architecture
/// the translation unit was compiled for (or, in binaries built with the per-arch
/// objects, the best one the CPU runs). highway: Highway with dynamic dispatch.
/// automatic: the process default (see default_backend()).
enum class backend { automatic, scalar, xsimd, highway };

constexpr std::string_view to_string(backend b) noexcept {
  switch (b) {
    case backend::automatic:
      return "auto";
    case backend::scalar:
      return "scalar";
    case backend::xsimd:
      return "xsimd";
    case backend::highway:
      return "highway";
  }
  return "?";
}

/// Parses "auto", "scalar", "xsimd", "highway" (the LOWBIT_BACKEND spelling).
inline backend parse_backend(std::string_view s) {
  for (auto b : {backend::automatic, backend::scalar, backend::xsimd, backend::highway})
    if (to_string(b) == s) return b;
  detail::fail("unknown backend '{}' (expected auto, scalar, xsimd or highway)", s);
}

namespace detail {
inline std::atomic<int>& default_backend_slot() noexcept {
  static std::atomic<int> slot{-1};  // -1: not yet read from the environment
  return slot;
}
}  // namespace detail

/// Pins the backend used when a kernel is called with backend::automatic.
inline void set_default_backend(backend b) noexcept {
  detail::default_backend_slot().store(static_cast<int>(b), std::memory_order_relaxed);
}

/// The process default: set_default_backend's value, else $LOWBIT_BACKEND,
/// else highway (the fastest: it dispatches on the running CPU).
inline backend default_backend() {
  int v = detail::default_backend_slot().load(std::memory_order_relaxed);
  if (v < 0) {
    backend b = backend::highway;
    if (const char* env = std::getenv("LOWBIT_BACKEND"); env != nullptr && *env != '\0')
      b = parse_backend(env);
    if (b == backend::automatic) b = backend::highway;
    v = static_cast<int>(b);
    detail::default_backend_slot().store(v, std::memory_order_relaxed);
  }
  const auto b = static_cast<backend>(v);
  return b == backend::automatic ? backend::highway : b;
}

/// Resolves backend::automatic to the process default.
inline backend resolve(backend b) { return b == backend::automatic ? default_backend() : b; }

}  // namespace lowbit
