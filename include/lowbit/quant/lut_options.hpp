// How lut_quantize builds a LUT: the method and its knobs (quant/lut.hpp
// documents what each method computes).
#pragma once

#include <cstddef>
#include <cstdint>

#include "lowbit/core/executor.hpp"
#include "lowbit/format/lut.hpp"

namespace lowbit {

enum class lut_method { kmeans_optimal, kmeans_lloyd, uniform };

/// Every knob of lut_quantize; the defaults are coremltools' (k-means, no
/// per-channel scale) and a single expert.
struct lut_options {
  lut_method method = lut_method::kmeans_optimal;
  std::size_t experts = 1;  // w holds experts stacked [experts][rows][cols]
  lut_channel_scale channel_scale = lut_channel_scale::none;
  executor exec{};         // groups run as parallel tasks
  std::uint64_t seed = 0;  // kmeans_lloyd: numpy RandomState seed (< 2^32), coremltools' random_state=0
  int max_iter = 300;      // kmeans_lloyd
  double tol = 1e-2;       // kmeans_lloyd, relative to the group's variance
  int n_init = 1;          // kmeans_lloyd: k-means++ + Lloyd runs, best kept (coremltools passes 1)
};

}  // namespace lowbit
