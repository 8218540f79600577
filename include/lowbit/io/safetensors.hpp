// Reading safetensors files: an mmap'd, fully validated, zero-copy view.
//
//   lowbit::io::safetensors_file f("model.safetensors");
//   const auto& w = f.at("model.layers.0.mlp.down_proj.weight");      // tensor_info
//   std::span<const std::uint32_t> q = f.data<std::uint32_t>(w.name, lowbit::io::dtype::U32);
//
// Everything in the header is checked before the constructor returns (see
// detail/safetensors_header.hpp), so later accesses need no further bounds checks.
#pragma once

#include <lowbit/core/error.hpp>
#include <lowbit/io/detail/mapped_file.hpp>
#include <lowbit/io/detail/safetensors_header.hpp>
#include <lowbit/io/dtype.hpp>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::io {

class safetensors_file {
 public:
  /// Maps and validates `path`; throws lowbit::error naming the file and the problem.
  explicit safetensors_file(const std::filesystem::path& path) : path_(path), map_(path) {
    auto h = detail::parse_header(map_.bytes(), path_.string());
    tensors_ = std::move(h.tensors);
    metadata_ = std::move(h.metadata);
    data_ = map_.bytes().data() + h.data_offset;
    for (std::size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
  }
  safetensors_file(safetensors_file&&) noexcept = default;
  safetensors_file& operator=(safetensors_file&&) noexcept = default;

  const std::filesystem::path& path() const { return path_; }

  /// All tensors, in order of their data offsets (= file order; independent of header order).
  const std::vector<tensor_info>& tensors() const { return tensors_; }
  /// The `__metadata__` string map (empty if the file has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  /// The tensor called `name`, or nullptr.
  const tensor_info* find(std::string_view name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }
  /// The tensor called `name`; throws lowbit::error if there is none.
  const tensor_info& at(std::string_view name) const {
    if (const auto* t = find(name)) return *t;
    detail::fail("lowbit::io::safetensors_file::at: no tensor '{}' in {}", name, path_.string());
  }

  /// The raw bytes of a tensor (zero-copy, valid while this object lives; no alignment guarantee).
  std::span<const std::byte> bytes(const tensor_info& t) const { return {data_ + t.begin, t.end - t.begin}; }
  std::span<const std::byte> bytes(std::string_view name) const { return bytes(at(name)); }

  /// The elements of tensor `name` as T, after checking that its dtype is `expected` and that
  /// sizeof(T) matches. Zero-copy when the data is aligned for T. The data section of a
  /// safetensors file starts at 8 + header length, which is often not a multiple of 4 or 8
  /// (MLX does not pad its headers), so a misaligned tensor is copied ONCE into an aligned buffer
  /// owned by this object; the span stays valid while the object lives. Thread-safe.
  template <class T>
  std::span<const T> data(std::string_view name, dtype expected) const {
    const tensor_info& t = at(name);
    check_type<T>(t, expected);
    const std::byte* p = data_ + t.begin;
    const std::size_t n = t.numel();
    if (reinterpret_cast<std::uintptr_t>(p) % alignof(T) == 0) return {reinterpret_cast<const T*>(p), n};
    return {reinterpret_cast<const T*>(aligned_copy(t)), n};
  }
  /// data<T> with the dtype deduced from T (dtype_of<T>: u8..u64, i8..i64, float, double, f16, bf16).
  template <class T>
  std::span<const T> data(std::string_view name) const {
    return data<T>(name, dtype_of<T>::value);
  }

  /// Like data<T>, but a misaligned tensor is copied into storage owned by the returned view
  /// (freed with it) instead of cached in the file: for one-pass readers with bounded memory.
  template <class T>
  class view {
   public:
    std::span<const T> span() const { return span_; }
    const T* data() const { return span_.data(); }
    std::size_t size() const { return span_.size(); }
    bool copied() const { return owned_ != nullptr; }

   private:
    friend class safetensors_file;
    std::unique_ptr<T[]> owned_;
    std::span<const T> span_;
  };
  template <class T>
  view<T> typed_view(const tensor_info& t, dtype expected) const {
    check_type<T>(t, expected);
    view<T> v;
    const std::byte* p = data_ + t.begin;
    const std::size_t n = t.numel();
    if (reinterpret_cast<std::uintptr_t>(p) % alignof(T) == 0) {
      v.span_ = {reinterpret_cast<const T*>(p), n};
    } else {
      v.owned_ = std::make_unique_for_overwrite<T[]>(n);
      std::memcpy(static_cast<void*>(v.owned_.get()), p, n * sizeof(T));
      v.span_ = {v.owned_.get(), n};
    }
    return v;
  }

  /// madvise hints for one-pass readers (the tools): read ahead, and drop a tensor's pages when done.
  void advise_sequential() const { map_.advise_sequential(); }
  void release(const tensor_info& t) const {
    map_.release(static_cast<std::size_t>(data_ - map_.bytes().data()) + t.begin, t.end - t.begin);
  }

 private:
  template <class T>
  void check_type(const tensor_info& t, dtype expected) const {
    if (t.type != expected)
      detail::fail("lowbit::io::safetensors_file::data: tensor '{}' in {} is {}, expected {}", t.name,
                   path_.string(), to_string(t.type), to_string(expected));
    if (dtype_bits(expected) != 8 * sizeof(T))
      detail::fail("lowbit::io::safetensors_file::data: {} has {} bits but the element type has {}",
                   to_string(expected), dtype_bits(expected), 8 * sizeof(T));
  }
  const std::byte* aligned_copy(const tensor_info& t) const {
    std::lock_guard lock(*copies_mutex_);
    auto& slot = copies_[t.name];
    if (!slot) {
      // operator new[] storage is aligned for any fundamental type (max_align_t).
      slot = std::make_unique<std::max_align_t[]>(
          (t.nbytes() + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t) + 1);
      std::memcpy(slot.get(), data_ + t.begin, t.nbytes());
    }
    return reinterpret_cast<const std::byte*>(slot.get());
  }

  std::filesystem::path path_;
  detail::mapped_file map_;
  std::vector<tensor_info> tensors_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, std::size_t, std::less<>> index_;
  const std::byte* data_ = nullptr;
  mutable std::unique_ptr<std::mutex> copies_mutex_ = std::make_unique<std::mutex>();
  mutable std::map<std::string, std::unique_ptr<std::max_align_t[]>> copies_;
};

}  // namespace lowbit::io
