// A file written to a temporary name and renamed into place only when complete: readers
// never see a half-written file, and a failed run leaves nothing behind under the final name.
#pragma once

#include <lowbit/core/error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace lowbit::io::detail {

using lowbit::detail::fail;

/// fsync a directory so a rename inside it survives a crash.
inline void fsync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

/// A unique sibling name for temporaries: "<name>.tmp-<random>".
inline std::filesystem::path temp_sibling(const std::filesystem::path& p) {
  std::random_device rd;
  return p.parent_path() / fmt::format(".{}.tmp-{:08x}", p.filename().string(), rd());
}

class atomic_output_file {
 public:
  explicit atomic_output_file(std::filesystem::path final_path)
      : final_(std::move(final_path)), temp_(temp_sibling(final_)) {
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("lowbit::io: cannot create '{}': {}", temp_.string(), std::strerror(errno));
    buffer_.reserve(buffer_size);
  }
  atomic_output_file(const atomic_output_file&) = delete;
  atomic_output_file& operator=(const atomic_output_file&) = delete;
  ~atomic_output_file() { abandon(); }

  void write(std::span<const std::byte> bytes) {
    if (fd_ < 0) fail("lowbit::io: write to '{}' after it was committed or failed", final_.string());
    if (bytes.size() >= buffer_size) {
      flush();
      write_all(bytes);
    } else {
      if (buffer_.size() + bytes.size() > buffer_size) flush();
      buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    }
    written_ += bytes.size();
  }
  std::size_t written() const { return written_; }

  /// Flushes, fsyncs and renames the temporary onto the final name.
  void commit() {
    flush();
    if (::fsync(fd_) != 0) fail_io("fsync");
    if (::close(fd_) != 0) {
      fd_ = -1;
      fail_io("close");
    }
    fd_ = -1;
    std::error_code ec;
    std::filesystem::rename(temp_, final_, ec);
    if (ec) {
      std::filesystem::remove(temp_, ec);
      fail("lowbit::io: cannot rename '{}' to '{}': {}", temp_.string(), final_.string(), ec.message());
    }
    committed_ = true;
    fsync_dir(final_.parent_path());
  }

  /// Drops the temporary (also done by the destructor when commit() was not reached).
  void abandon() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!committed_) {
      std::error_code ec;
      std::filesystem::remove(temp_, ec);
    }
  }

 private:
  static constexpr std::size_t buffer_size = 1 << 20;

  void flush() {
    write_all(buffer_);
    buffer_.clear();
  }
  void write_all(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      const ::ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail_io("write");
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
  }
  [[noreturn]] void fail_io(const char* what) {
    const int e = errno;
    abandon();
    fail("lowbit::io: {} of '{}' failed: {}", what, final_.string(), std::strerror(e));
  }

  std::filesystem::path final_, temp_;
  int fd_ = -1;
  bool committed_ = false;
  std::size_t written_ = 0;
  std::vector<std::byte> buffer_;
};

}  // namespace lowbit::io::detail
