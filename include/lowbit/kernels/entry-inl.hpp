// A backend's kernel table entries: the (mode, bits, plan) switch that turns a
// type-erased job into one kernel instantiation over `Ops`. No include guard
// (see unpack-inl.hpp).

template <class Ops>
struct kernels_for {
  /// Activation rows below this go through qmv (weights decoded per row of x);
  /// from here on the blocked qmm amortizes the decode. Gathers (one activation row
  /// per route) always take qmv.
  static constexpr std::size_t qmm_min_m = 4;

  template <int Bits, quant_mode Mode, plan Plan>
  static void matmul_plan(const matmul_job& j) {
    if (j.m >= qmm_min_m && !j.expert_ids) return qmm_kernel<Ops, Bits, Mode, Plan>::run(j);
    if constexpr (Mode == quant_mode::affine) {
      switch (j.w.scales_elem) {
        case elem_kind::f16:
          return qmv_kernel<Ops, Bits, Mode, Plan, f16>::run(j);
        case elem_kind::bf16:
          return qmv_kernel<Ops, Bits, Mode, Plan, bf16>::run(j);
        case elem_kind::f32:
          break;
      }
    }
    qmv_kernel<Ops, Bits, Mode, Plan, float>::run(j);
  }

  template <int Bits, quant_mode Mode>
  static void matmul_fmt(const matmul_job& j) {
    const auto g = static_cast<std::size_t>(j.w.format.group_size);
    if constexpr (Bits == 4) {
      if (g % (2 * Ops::N) == 0) return matmul_plan<Bits, Mode, plan::nib>(j);
    } else if constexpr (Bits == 2) {
      if (g % (4 * Ops::N) == 0) return matmul_plan<Bits, Mode, plan::quad>(j);
    } else if constexpr (Bits == 8) {
      return matmul_plan<Bits, Mode, plan::byte>(j);
    }
    if constexpr (Bits != 8) matmul_plan<Bits, Mode, plan::window>(j);
  }

  /// numerics::int8 from this many activation rows on: the row-interleaved panel (built
  /// once per slab of rows) beats decoding the codes again for every activation row.
  static constexpr std::size_t int8_qmm_min_m = 4;

  template <int Bits, plan Plan>
  static bool int8_plan(const matmul_job& j) {
    using K = int8_kernel<Ops, Bits, Plan>;
    if (!K::supports(static_cast<std::size_t>(j.w.format.group_size), j.w.cols)) return false;
    if (j.m >= int8_qmm_min_m && !j.expert_ids)
      int8_qmm_kernel<Ops, Bits, Plan>::run(j);
    else
      K::run(j);
    return true;
  }

  /// numerics::int8: false when the shape needs the exact kernel (see int8_kernel::supports).
  static bool int8_matmul(const matmul_job& j) {
    switch (j.w.format.bits) {
      case 2:
        return int8_plan<2, plan::quad>(j);
      case 3:
        return int8_plan<3, plan::window>(j);
      case 4:
        return int8_plan<4, plan::nib>(j);
      case 5:
        return int8_plan<5, plan::window>(j);
      case 6:
        return int8_plan<6, plan::window>(j);
      case 8:
        return int8_plan<8, plan::byte>(j);
      default:
        return false;
    }
  }

  static void matmul(const matmul_job& j) {
    if (j.int8 && j.w.format.mode == quant_mode::affine && int8_matmul(j)) return;
    switch (j.w.format.mode) {
      case quant_mode::affine:
        switch (j.w.format.bits) {
          case 2:
            return matmul_fmt<2, quant_mode::affine>(j);
          case 3:
            return matmul_fmt<3, quant_mode::affine>(j);
          case 4:
            return matmul_fmt<4, quant_mode::affine>(j);
          case 5:
            return matmul_fmt<5, quant_mode::affine>(j);
          case 6:
            return matmul_fmt<6, quant_mode::affine>(j);
          case 8:
            return matmul_fmt<8, quant_mode::affine>(j);
          default:
            return;
        }
      case quant_mode::mxfp4:
        return matmul_fmt<4, quant_mode::mxfp4>(j);
      case quant_mode::nvfp4:
        return matmul_fmt<4, quant_mode::nvfp4>(j);
      case quant_mode::mxfp8:
        return matmul_fmt<8, quant_mode::mxfp8>(j);
    }
  }

  template <int Bits, quant_mode Mode, class Out>
  static void dequant_out(const dequant_job& j) {
    constexpr plan Plan = Bits == 8 ? plan::byte : plan::window;
    if constexpr (Mode == quant_mode::affine) {
      switch (j.w.scales_elem) {
        case elem_kind::f16:
          return dequant_kernel<Ops, Bits, Mode, Plan, Out, f16>::run(j);
        case elem_kind::bf16:
          return dequant_kernel<Ops, Bits, Mode, Plan, Out, bf16>::run(j);
        case elem_kind::f32:
          break;
      }
    }
    dequant_kernel<Ops, Bits, Mode, Plan, Out, float>::run(j);
  }

  template <int Bits, quant_mode Mode>
  static void dequant_fmt(const dequant_job& j) {
    switch (j.out_kind) {
      case elem_kind::f32:
        return dequant_out<Bits, Mode, float>(j);
      case elem_kind::f16:
        return dequant_out<Bits, Mode, f16>(j);
      case elem_kind::bf16:
        return dequant_out<Bits, Mode, bf16>(j);
    }
  }

  static void dequantize(const dequant_job& j) {
    switch (j.w.format.mode) {
      case quant_mode::affine:
        switch (j.w.format.bits) {
          case 2:
            return dequant_fmt<2, quant_mode::affine>(j);
          case 3:
            return dequant_fmt<3, quant_mode::affine>(j);
          case 4:
            return dequant_fmt<4, quant_mode::affine>(j);
          case 5:
            return dequant_fmt<5, quant_mode::affine>(j);
          case 6:
            return dequant_fmt<6, quant_mode::affine>(j);
          case 8:
            return dequant_fmt<8, quant_mode::affine>(j);
          default:
            return;
        }
      case quant_mode::mxfp4:
        return dequant_fmt<4, quant_mode::mxfp4>(j);
      case quant_mode::nvfp4:
        return dequant_fmt<4, quant_mode::nvfp4>(j);
      case quant_mode::mxfp8:
        return dequant_fmt<8, quant_mode::mxfp8>(j);
    }
  }
};
