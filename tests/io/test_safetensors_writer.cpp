// safetensors_writer / checkpoint_writer: round trips through the reader, sharding and the
// index, ordering and size errors, and that failures leave no file behind.
#include <doctest/doctest.h>
#include <lowbit/io/checkpoint.hpp>
#include <lowbit/io/safetensors_writer.hpp>

#include <sys/resource.h>

#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>

#include "io_test_util.hpp"

using namespace lowbit::io;
using lowbit_test::scratch;
namespace fs = std::filesystem;

namespace {
std::vector<std::byte> bytes_of(std::size_t n, int seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = static_cast<std::byte>((i * 131 + static_cast<std::size_t>(seed) * 7) & 0xff);
  return v;
}
std::size_t files_in(const fs::path& d) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(d), fs::directory_iterator{}));
}
}  // namespace

TEST_CASE("writer round trip: header, data, metadata, alignment padding") {
  const auto dir = scratch("writer_rt");
  const auto a = bytes_of(3 * 2, 1), b = bytes_of(5 * 4, 2);
  {
    safetensors_writer w(dir / "x.safetensors",
                         {{"a", dtype::BF16, {3}}, {"b", dtype::F32, {5}}, {"empty", dtype::F16, {0, 4}}},
                         {{"format", "pt"}});
    REQUIRE(w.next()->name == "a");
    w.write("a", std::span<const std::byte>(a));
    w.append(std::span<const std::byte>(b).first(7));  // streamed in pieces
    w.append(std::span<const std::byte>(b).subspan(7));
    CHECK(w.next() == nullptr);
    CHECK_FALSE(fs::exists(dir / "x.safetensors"));  // only the temporary exists before finish()
    w.finish();
  }
  CHECK(files_in(dir) == 1);
  const std::string raw = lowbit_test::read_file(dir / "x.safetensors");
  std::uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);
  CHECK((8 + n) % 8 == 0);
  safetensors_file f(dir / "x.safetensors");
  CHECK(f.metadata().at("format") == "pt");
  REQUIRE(f.tensors().size() == 3);
  CHECK(f.at("a").shape == std::vector<std::size_t>{3});
  CHECK(std::memcmp(f.bytes(f.at("a")).data(), a.data(), a.size()) == 0);
  CHECK(std::memcmp(f.bytes(f.at("b")).data(), b.data(), b.size()) == 0);
  CHECK(f.at("empty").nbytes() == 0);
}

TEST_CASE("writer errors: order, sizes, duplicates, unfinished (and nothing is left behind)") {
  const auto dir = scratch("writer_err");
  const auto four = bytes_of(4, 0);
  CHECK_THROWS_WITH_AS(
      safetensors_writer(dir / "d.safetensors", {{"a", dtype::U8, {1}}, {"a", dtype::U8, {1}}}),
      doctest::Contains("duplicate tensor 'a'"), lowbit::error);
  {
    safetensors_writer w(dir / "x.safetensors", {{"a", dtype::U8, {4}}, {"b", dtype::U8, {4}}});
    CHECK_THROWS_WITH_AS(w.write("b", std::span<const std::byte>(four)), doctest::Contains("out of order"),
                         lowbit::error);
    CHECK_THROWS_WITH_AS(w.write("a", std::span<const std::byte>(four).first(3)),
                         doctest::Contains("is 4 bytes, got 3"), lowbit::error);
    w.write("a", std::span<const std::byte>(four));
    CHECK_THROWS_WITH_AS(w.finish(), doctest::Contains("'b' incomplete"), lowbit::error);
    w.write("b", std::span<const std::byte>(four));
    CHECK_THROWS_WITH_AS(w.append(std::span<const std::byte>(four)),
                         doctest::Contains("more than the declared"), lowbit::error);
  }  // destroyed without finish(): the temporary goes away
  CHECK(files_in(dir) == 0);
}

TEST_CASE("checkpoint_writer shards at the limit and writes an index the checkpoint reader follows") {
  const auto dir = scratch("writer_shards");
  std::vector<tensor_spec> specs;
  for (int i = 0; i < 5; ++i) specs.push_back({"t" + std::to_string(i), dtype::F32, {10}});  // 40 bytes each
  specs.push_back({"big", dtype::U8, {200}});  // over the limit alone
  checkpoint_writer w(dir, specs, 100);
  CHECK(w.shard_count() == 4);  // {t0,t1} {t2,t3} {t4} {big}
  for (int i = 0; i < 5; ++i) w.write("t" + std::to_string(i), bytes_of(40, i));
  w.append(bytes_of(200, 9));
  w.finish();
  CHECK(fs::exists(dir / "model-00001-of-00004.safetensors"));
  CHECK(fs::exists(dir / "model-00004-of-00004.safetensors"));
  const auto index = nlohmann::json::parse(lowbit_test::read_file(dir / "model.safetensors.index.json"));
  CHECK(index["metadata"]["total_size"] == 5 * 40 + 200);
  CHECK(index["weight_map"]["t2"] == "model-00002-of-00004.safetensors");
  CHECK(index["weight_map"]["big"] == "model-00004-of-00004.safetensors");
  checkpoint ck(dir);
  CHECK(ck.size() == 6);
  CHECK(std::memcmp(ck.at("t3").bytes().data(), bytes_of(40, 3).data(), 40) == 0);
  CHECK(std::memcmp(ck.at("big").bytes().data(), bytes_of(200, 9).data(), 200) == 0);

  const auto one = scratch("writer_one_shard");
  checkpoint_writer w1(one, {{"x", dtype::U8, {3}}}, 1000);
  w1.write("x", bytes_of(3, 0));
  w1.finish();
  CHECK(fs::exists(one / "model.safetensors"));
  CHECK_FALSE(fs::exists(one / "model.safetensors.index.json"));
}

TEST_CASE("disk full: a failing write throws and leaves no partial file") {
  // RLIMIT_FSIZE makes write() fail with EFBIG past the limit, like a full disk (ENOSPC).
  const auto dir = scratch("writer_full");
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  rlimit small = old;
  small.rlim_cur = 64 * 1024;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string message;
  try {
    safetensors_writer w(dir / "x.safetensors", {{"a", dtype::U8, {4u << 20}}});
    w.write("a", bytes_of(4u << 20, 1));
    w.finish();
  } catch (const lowbit::error& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  CHECK(message.find("write of") != std::string::npos);
  CHECK(message.find("x.safetensors") != std::string::npos);
  CHECK(files_in(dir) == 0);
}
