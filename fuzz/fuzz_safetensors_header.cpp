// libFuzzer target: the safetensors header/offset parser on arbitrary bytes (a whole "file").
// Every input must either parse into tensors that tile the data section, or throw lowbit::error.
#include <lowbit/io/safetensors.hpp>

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  try {
    const auto h = lowbit::io::detail::parse_header(file, "fuzz");
    // Re-check the invariants the reader's zero-copy accessors rely on.
    std::size_t pos = 0;
    for (const auto& t : h.tensors) {
      if (t.begin != pos || t.end < t.begin || h.data_offset + t.end > size) std::abort();
      if (t.numel() * lowbit::io::dtype_bits(t.type) != 8 * t.nbytes()) std::abort();
      pos = t.end;
    }
    if (h.data_offset + pos != size) std::abort();
  } catch (const lowbit::error&) {
  }
  return 0;
}
