// Shared plumbing of the lowbit command-line tools: argument parsing, one-line errors and exit
// codes, a progress bar on terminals, staged (all-or-nothing) output directories, threads.
#pragma once

#include <lowbit/core/error.hpp>
#include <lowbit/io/detail/output_file.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace lowbit::tools {

namespace fs = std::filesystem;

/// Thrown for bad command lines: reported with a hint to --help, exit code 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// argv split into positionals and --options; options listed in `with_value` take one argument
/// (either "--opt value" or "--opt=value"); repeated options keep every value.
class arguments {
 public:
  arguments(int argc, char** argv, std::vector<std::string_view> with_value,
            std::vector<std::string_view> flags) {
    for (int i = 1; i < argc; ++i) {
      std::string_view a = argv[i];
      if (a.size() > 2 && a.substr(0, 2) == "--") {
        std::string_view name = a.substr(2), value;
        bool has_value = false;
        if (const auto eq = name.find('='); eq != std::string_view::npos) {
          value = name.substr(eq + 1);
          name = name.substr(0, eq);
          has_value = true;
        }
        if (std::find(with_value.begin(), with_value.end(), name) != with_value.end()) {
          if (!has_value) {
            if (i + 1 >= argc) throw usage_error(fmt::format("--{} needs a value", name));
            value = argv[++i];
          }
          options_[std::string(name)].emplace_back(value);
        } else if (std::find(flags.begin(), flags.end(), name) != flags.end() && !has_value) {
          options_[std::string(name)].emplace_back();
        } else {
          throw usage_error(fmt::format("unknown option '{}'", a));
        }
      } else if (a == "-h") {
        options_["help"].emplace_back();
      } else {
        positional_.emplace_back(a);
      }
    }
  }
  const std::vector<std::string>& positional() const { return positional_; }
  bool has(std::string_view name) const { return options_.count(std::string(name)) > 0; }
  std::string get(std::string_view name, std::string fallback = {}) const {
    const auto it = options_.find(std::string(name));
    return it == options_.end() ? fallback : it->second.back();
  }
  std::vector<std::string> all(std::string_view name) const {
    const auto it = options_.find(std::string(name));
    return it == options_.end() ? std::vector<std::string>{} : it->second;
  }
  long get_int(std::string_view name, long fallback, long lo, long hi) const {
    if (!has(name)) return fallback;
    const std::string s = get(name);
    std::size_t used = 0;
    long v = 0;
    try {
      v = std::stol(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != s.size() || s.empty() || v < lo || v > hi)
      throw usage_error(fmt::format("--{} must be an integer in [{}, {}], got '{}'", name, lo, hi, s));
    return v;
  }

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> options_;
};

/// Runs a tool body: errors become one line on stderr and a non-zero exit code
/// (1: the run failed, 2: bad command line).
inline int run_tool(std::string_view tool, const std::function<int()>& body) {
  try {
    return body();
  } catch (const usage_error& e) {
    fmt::print(stderr, "{}: {} (see --help)\n", tool, e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", tool, e.what());
    return 1;
  }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
class progress {
 public:
  progress(std::string label, std::size_t total)
      : label_(std::move(label)), total_(total), tty_(::isatty(2)) {}
  ~progress() {
    if (tty_ && drawn_) std::fputs("\n", stderr);
  }
  void add(std::size_t n) {
    done_ += n;
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && done_ < total_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    const double f = total_ ? std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_)) : 1.0;
    const int width = 30, filled = static_cast<int>(f * width);
    fmt::print(stderr, "\r{} [{:=<{}}{: <{}}] {:5.1f}% {:.1f}/{:.1f} MB", label_, "", filled, "",
               width - filled, 100 * f, static_cast<double>(done_) / 1e6, static_cast<double>(total_) / 1e6);
    std::fflush(stderr);
  }

 private:
  std::string label_;
  std::size_t total_, done_ = 0;
  bool tty_, drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

/// An output directory built under a temporary sibling name and renamed onto OUT only by
/// commit(): a failed run leaves OUT untouched (absent, or the old one with --force).
class staged_dir {
 public:
  staged_dir(const fs::path& out, bool force) : out_(fs::absolute(out).lexically_normal()) {
    if (out_.filename().empty()) out_ = out_.parent_path();
    if (fs::exists(out_) && !force)
      throw lowbit::error(
          fmt::format("output '{}' already exists (use --force to replace it)", out.string()));
    if (!fs::is_directory(out_.parent_path()))
      throw lowbit::error(fmt::format("parent directory of '{}' does not exist", out.string()));
    tmp_ = io::detail::temp_sibling(out_);
    fs::create_directory(tmp_);
  }
  staged_dir(const staged_dir&) = delete;
  staged_dir& operator=(const staged_dir&) = delete;
  ~staged_dir() {
    std::error_code ec;
    if (!committed_) fs::remove_all(tmp_, ec);
  }
  const fs::path& path() const { return tmp_; }

  void commit() {
    std::error_code ec;
    fs::path old;
    if (fs::exists(out_)) {
      old = io::detail::temp_sibling(out_);
      fs::rename(out_, old, ec);
      if (ec) throw lowbit::error(fmt::format("cannot move old '{}' aside: {}", out_.string(), ec.message()));
    }
    fs::rename(tmp_, out_, ec);
    if (ec) {
      if (!old.empty()) fs::rename(old, out_, ec);
      throw lowbit::error(
          fmt::format("cannot rename '{}' to '{}': {}", tmp_.string(), out_.string(), ec.message()));
    }
    committed_ = true;
    io::detail::fsync_dir(out_.parent_path());
    if (!old.empty()) fs::remove_all(old, ec);
  }

 private:
  fs::path out_, tmp_;
  bool committed_ = false;
};

/// Writes a small text file atomically (temp + fsync + rename).
inline void write_text(const fs::path& p, std::string_view text) {
  io::detail::atomic_output_file f(p);
  f.write(std::as_bytes(std::span(text.data(), text.size())));
  f.commit();
}

/// Copies the regular files of `in` (not recursing) for which `keep(name)` is true into `out`.
inline void copy_side_files(const fs::path& in, const fs::path& out,
                            const std::function<bool(const std::string&)>& keep) {
  for (const auto& e : fs::directory_iterator(in)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || !keep(name)) continue;
    std::error_code ec;
    fs::copy_file(e.path(), out / name, fs::copy_options::overwrite_existing, ec);
    if (ec) throw lowbit::error(fmt::format("cannot copy '{}': {}", e.path().string(), ec.message()));
  }
}

/// Splits [0, n) into contiguous chunks, multiples of `align`, run on up to `threads` threads.
template <class F>
void parallel_chunks(std::size_t threads, std::size_t n, std::size_t align, F&& f) {
  const std::size_t units = (n + align - 1) / align;
  threads = std::max<std::size_t>(1, std::min(threads, units));
  if (threads == 1) {
    f(std::size_t{0}, n);
    return;
  }
  const std::size_t per = (units + threads - 1) / threads * align;
  std::vector<std::thread> pool;
  std::exception_ptr err;
  std::mutex m;
  for (std::size_t t = 0; t < threads; ++t) {
    const std::size_t b = t * per, e = std::min(n, b + per);
    if (b >= e) break;
    pool.emplace_back([&, b, e] {
      try {
        f(b, e);
      } catch (...) {
        std::lock_guard lock(m);
        if (!err) err = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  if (err) std::rethrow_exception(err);
}

/// "1.5GB", "500MB", "4096" (bytes) → bytes.
inline std::size_t parse_size(const std::string& s) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    throw usage_error(fmt::format("bad size '{}'", s));
  }
  std::string unit = s.substr(used);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::map<std::string, double> units{
      {"", 1},     {"B", 1},        {"KB", 1e3},        {"MB", 1e6},
      {"GB", 1e9}, {"KIB", 1024.0}, {"MIB", 1048576.0}, {"GIB", 1073741824.0}};
  const auto it = units.find(unit);
  if (it == units.end() || v < 0) throw usage_error(fmt::format("bad size '{}'", s));
  return static_cast<std::size_t>(v * it->second);
}

}  // namespace lowbit::tools
