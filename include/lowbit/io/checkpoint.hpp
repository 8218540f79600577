// A checkpoint directory: one model.safetensors, or shards listed by
// model.safetensors.index.json, or (no index) every *.safetensors in the directory.
// All files are opened (mmap'd and validated) up front; tensors are looked up by name.
#pragma once

#include <lowbit/io/detail/json_file.hpp>
#include <lowbit/io/safetensors.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::io {

/// Where a tensor lives in a checkpoint.
struct tensor_ref {
  const safetensors_file* file = nullptr;
  const tensor_info* info = nullptr;
  const tensor_info& operator*() const { return *info; }
  const tensor_info* operator->() const { return info; }
  std::span<const std::byte> bytes() const { return file->bytes(*info); }
};

class checkpoint {
 public:
  static constexpr std::string_view index_name = "model.safetensors.index.json";

  explicit checkpoint(const std::filesystem::path& dir) : dir_(dir) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(dir)) detail::fail("lowbit::io::checkpoint: '{}' is not a directory", dir.string());
    std::vector<std::string> shard_names;
    std::map<std::string, std::string> weight_map;
    const fs::path index = dir / index_name;
    if (fs::exists(index)) {
      const auto j = detail::read_json_file(index);
      if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
        detail::fail("lowbit::io::checkpoint: '{}' has no \"weight_map\" object", index.string());
      for (const auto& [name, file] : j["weight_map"].items()) {
        if (!file.is_string())
          detail::fail("lowbit::io::checkpoint: '{}': weight_map entry '{}' is not a file name",
                       index.string(), name);
        const std::string f = file.get<std::string>();
        if (f.empty() || f.find('/') != std::string::npos || f == "." || f == "..")
          detail::fail(
              "lowbit::io::checkpoint: '{}': weight_map entry '{}' names '{}', not a file in the directory",
              index.string(), name, f);
        weight_map[name] = f;
        if (std::find(shard_names.begin(), shard_names.end(), f) == shard_names.end())
          shard_names.push_back(f);
      }
      std::sort(shard_names.begin(), shard_names.end());
      for (const auto& f : shard_names)
        if (!fs::exists(dir / f))
          detail::fail("lowbit::io::checkpoint: '{}' names shard '{}' which does not exist", index.string(),
                       f);
    } else {
      for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".safetensors" && e.is_regular_file())
          shard_names.push_back(e.path().filename());
      std::sort(shard_names.begin(), shard_names.end());
      if (shard_names.empty())
        detail::fail("lowbit::io::checkpoint: no *.safetensors files in '{}'", dir.string());
    }
    files_.reserve(shard_names.size());
    for (const auto& f : shard_names) {
      files_.emplace_back(dir / f);
      for (const auto& t : files_.back().tensors()) {
        if (!weight_map.empty()) {
          const auto it = weight_map.find(t.name);
          if (it == weight_map.end() || it->second != f) continue;  // the index is authoritative
        }
        if (!by_name_.emplace(t.name, std::pair{files_.size() - 1, &t}).second)
          detail::fail("lowbit::io::checkpoint: tensor '{}' appears in more than one file of '{}'", t.name,
                       dir.string());
        order_.push_back(t.name);
      }
    }
    for (const auto& [name, f] : weight_map)
      if (!by_name_.count(name))
        detail::fail("lowbit::io::checkpoint: '{}' maps '{}' to '{}', which has no such tensor",
                     index.string(), name, f);
  }

  const std::filesystem::path& dir() const { return dir_; }
  const std::vector<safetensors_file>& files() const { return files_; }
  /// Tensor names, file by file (sorted file names), in data order within a file.
  const std::vector<std::string>& names() const { return order_; }
  std::size_t size() const { return order_.size(); }

  /// The tensor `name`; `.file == nullptr` if absent.
  tensor_ref find(std::string_view name) const {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) return {};
    return {&files_[it->second.first], it->second.second};
  }
  bool contains(std::string_view name) const { return by_name_.find(name) != by_name_.end(); }
  tensor_ref at(std::string_view name) const {
    auto r = find(name);
    if (!r.file) detail::fail("lowbit::io::checkpoint: no tensor '{}' in '{}'", name, dir_.string());
    return r;
  }

 private:
  std::filesystem::path dir_;
  std::vector<safetensors_file> files_;  // reserved up front: tensor_info pointers stay valid
  std::map<std::string, std::pair<std::size_t, const tensor_info*>, std::less<>> by_name_;
  std::vector<std::string> order_;
};

}  // namespace lowbit::io
