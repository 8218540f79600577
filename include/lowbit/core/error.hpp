// lowbit::error — the one exception type every entry point throws.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace lowbit {

/// Every failure in lowbit throws this. Messages name the entry point, what was
/// wrong, and the offending values (shape, offset, bits...).
class error : public std::runtime_error {
 public:
  explicit error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {

/// Throws lowbit::error with an fmt-formatted message. Out of line and cold so
/// that validation checks cost one predictable branch in the callers.
template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw error(fmt::format(format, std::forward<Args>(args)...));
}

/// Overflow-checked multiply for sizes derived from untrusted shapes.
inline std::size_t checked_mul(std::size_t a, std::size_t b, const char* what) {
  std::size_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) fail("{}: size overflow ({} * {})", what, a, b);
  return r;
}

}  // namespace detail
}  // namespace lowbit
