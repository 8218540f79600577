// lowbit: header-only kernels for low-bit LLM weights.
// Umbrella header: core types, formats, quantization and CPU kernels.
// (No I/O and no GPU sources: include lowbit/io/... and lowbit/gpu/... for those.)
#pragma once

#include "lowbit/core/error.hpp"
#include "lowbit/core/executor.hpp"
#include "lowbit/core/half.hpp"
#include "lowbit/core/minifloat.hpp"
#include "lowbit/core/numerics.hpp"
#include "lowbit/core/stores.hpp"
#include "lowbit/format/bitstream.hpp"
#include "lowbit/format/qmatrix.hpp"
#include "lowbit/format/quant_format.hpp"
#include "lowbit/kernels/api.hpp"
#include "lowbit/kernels/lut.hpp"
#include "lowbit/quant/lut.hpp"
#include "lowbit/quant/quantize.hpp"
