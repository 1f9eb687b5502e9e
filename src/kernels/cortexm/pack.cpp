#include "kernels/cortexm/pack.h"

#include <algorithm>
#include <algorithm>
#include <cstdlib>


namespace frugal::kernels::cortexm {
namespace {

// Largest |x + input_offset| over int8 x.
int64_t max_abs_input(int32_t input_offset) {
  return std::max(std::llabs(int64_t{-128} + input_offset), std::llabs(int64_t{127} + input_offset));
}

}  // namespace

std::vector<int8_t> pack_gemm_weights(const int8_t* matrix, int32_t rows, int32_t k) {
  const int32_t k4 = round_up4(k);
  const int32_t pairs = (rows + 1) / 2;
  std::vector<int8_t> out(static_cast<size_t>(pairs) * k4 * 2, 0);
  const auto at = [&](int32_t row, int32_t col) -> int8_t {
    return row < rows && col < k ? matrix[int64_t{row} * k + col] : int8_t{0};
  };
  for (int32_t p = 0; p < pairs; ++p) {
    for (int32_t q = 0; q < k4 / 4; ++q) {
      int8_t* dst = out.data() + (static_cast<size_t>(p) * k4 / 4 + q) * 8;
      const int32_t a = 2 * p, b = 2 * p + 1, k0 = 4 * q;
      const int32_t order[4] = {0, 2, 1, 3};  // word 0: k, k+2; word 1: k+1, k+3
      for (int32_t i = 0; i < 4; ++i) {
        dst[2 * i] = at(a, k0 + order[i]);
        dst[2 * i + 1] = at(b, k0 + order[i]);
      }
    }
  }
  return out;
}

std::vector<int16_t> pack_gemm_weights_int16(const int8_t* matrix, int32_t rows, int32_t k) {
  const int32_t k4 = round_up4(k);
  const int32_t pairs = (rows + 1) / 2;
  std::vector<int16_t> out(static_cast<size_t>(pairs) * k4 * 2, 0);
  const auto at = [&](int32_t row, int32_t col) -> int16_t {
    return row < rows && col < k ? matrix[int64_t{row} * k + col] : int16_t{0};
  };
  for (int32_t p = 0; p < pairs; ++p) {
    for (int32_t q = 0; q < k4 / 4; ++q) {
      int16_t* dst = out.data() + (static_cast<size_t>(p) * k4 / 4 + q) * 8;
      const int32_t k0 = 4 * q;
      const int32_t order[4] = {0, 2, 1, 3};  // (k, k+2) then (k+1, k+3)
      for (int32_t i = 0; i < 4; ++i) {
        dst[i] = at(2 * p, k0 + order[i]);
        dst[4 + i] = at(2 * p + 1, k0 + order[i]);
      }
    }
  }
  return out;
}

std::vector<ChannelQuant> pack_channel_quant(int32_t channels, const int32_t* bias,
                                             const QuantizedMultiplier* multipliers) {
  std::vector<ChannelQuant> out(static_cast<size_t>(channels));
  for (int32_t c = 0; c < channels; ++c) {
    out[static_cast<size_t>(c)] = {bias != nullptr ? bias[c] : 0, multipliers[c].multiplier, multipliers[c].shift};
  }
  return out;
}

namespace {

// Which requantization is exact for channels in RequantExact's form. Internal: its answer is only
// right together with finish_requant's rewrite of the constants.
RequantKind choose_requant(const std::vector<ChannelQuant>& quant,
                           const std::vector<int64_t>& abs_weight_sums, int32_t input_offset) {
  const int64_t x_max = max_abs_input(input_offset);
  for (size_t c = 0; c < quant.size(); ++c) {
    const ChannelQuant& q = quant[c];
    if (q.shift > -1 || q.shift < -31) return RequantKind::kExact;
    if (q.multiplier < (int32_t{1} << 30)) return RequantKind::kExact;
    const int64_t bound = std::llabs(int64_t{q.bias}) + abs_weight_sums[c] * x_max;
    if (bound >= (int64_t{1} << 29)) return RequantKind::kExact;
  }
  return RequantKind::kFast;
}

}  // namespace

ChannelQuant fast_form(const ChannelQuant& exact) {
  // 2m - 2^32 for m >= 2^30, and e - 1 for the right shift e = -shift >= 1 (requant.h).
  return {exact.bias, static_cast<int32_t>(static_cast<uint32_t>(exact.multiplier) << 1), -exact.shift - 1};
}

std::vector<ChannelQuant> exact_form(const std::vector<ChannelQuant>& quant, RequantKind packed_as) {
  if (packed_as == RequantKind::kExact) return quant;
  std::vector<ChannelQuant> out(quant.size());
  for (size_t c = 0; c < quant.size(); ++c) {
    // m in [2^30, 2^31) is 2m - 2^32 shifted back (bit 30 returns from bit 31).
    out[c] = {quant[c].bias, static_cast<int32_t>(static_cast<uint32_t>(quant[c].multiplier) >> 1),
              -quant[c].shift - 1};
  }
  return out;
}

RequantKind finish_requant(std::vector<ChannelQuant>& quant, const std::vector<int64_t>& abs_weight_sums,
                           int32_t input_offset) {
  const RequantKind kind = choose_requant(quant, abs_weight_sums, input_offset);
  if (kind == RequantKind::kFast) {
    for (ChannelQuant& q : quant) q = fast_form(q);
  }
  return kind;
}

namespace {

std::vector<int64_t> abs_row_sums(const int8_t* matrix, int32_t rows, int32_t k) {
  std::vector<int64_t> sums(static_cast<size_t>(rows), 0);
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t i = 0; i < k; ++i) sums[static_cast<size_t>(r)] += std::abs(int32_t{matrix[int64_t{r} * k + i]});
  }
  return sums;
}

PackedConv pack_matrix(const int8_t* matrix, int32_t rows, int32_t k, const int32_t* bias,
                       const QuantizedMultiplier* multipliers, int32_t input_offset,
                       WeightFormat format) {
  PackedConv out;
  if (format == WeightFormat::kInt16) {
    out.weights16 = pack_gemm_weights_int16(matrix, rows, k);
  } else {
    out.weights = pack_gemm_weights(matrix, rows, k);
  }
  out.quant = pack_channel_quant(rows, bias, multipliers);
  out.requant = finish_requant(out.quant, abs_row_sums(matrix, rows, k), input_offset);
  return out;
}

}  // namespace

PackedConv pack_conv(const int8_t* filter, int32_t out_c, int32_t kh, int32_t kw, int32_t in_c,
                     const int32_t* bias, const QuantizedMultiplier* multipliers,
                     int32_t input_offset, WeightFormat format) {
  // OHWI is already [out_c][K] with K in im2col order (fy, fx, ic).
  return pack_matrix(filter, out_c, kh * kw * in_c, bias, multipliers, input_offset, format);
}

PackedConv pack_fully_connected(const int8_t* weights, int32_t out_depth, int32_t depth,
                                const int32_t* bias, const QuantizedMultiplier* multipliers,
                                int32_t input_offset, WeightFormat format) {
  return pack_matrix(weights, out_depth, depth, bias, multipliers, input_offset, format);
}

PackedDepthwise pack_depthwise(const int8_t* filter, int32_t kh, int32_t kw, int32_t out_c,
                               const int32_t* bias, const QuantizedMultiplier* multipliers,
                               int32_t input_offset) {
  const int32_t taps = kh * kw;
  const int32_t groups = (out_c + 3) / 4;
  PackedDepthwise out;
  out.weights.assign(static_cast<size_t>(groups) * taps * 4, 0);
  std::vector<int64_t> sums(static_cast<size_t>(out_c), 0);
  for (int32_t oc = 0; oc < out_c; ++oc) {
    const int32_t lane = oc & 3;
    for (int32_t t = 0; t < taps; ++t) {
      const int8_t w = filter[int64_t{t} * out_c + oc];
      out.weights[static_cast<size_t>(((oc >> 2) * taps + t) * 4 + (lane & 1) * 2 + (lane >> 1))] = w;
      sums[static_cast<size_t>(oc)] += std::abs(int32_t{w});
    }
  }
  out.quant = pack_channel_quant(out_c, bias, multipliers);
  out.requant = finish_requant(out.quant, sums, input_offset);
  return out;
}

namespace {

AddScale add_scale(const QuantizedMultiplier& m) {
  AddScale a{};
  a.multiplier = m.multiplier;
  a.right_shift = m.shift > 0 ? 0 : -m.shift;
  a.nudge = a.right_shift >= 1 ? static_cast<int32_t>(int64_t{1} << (a.right_shift - 1)) : 0;
  a.sign_mask = a.right_shift >= 1 ? -1 : 0;
  return a;
}

// Upper bound of |rounding_divide_by_pot(srdhm(x, m), e)| for |x| <= bound.
int64_t scaled_bound(int64_t bound, const QuantizedMultiplier& m) {
  const int64_t product = bound * std::llabs(int64_t{m.multiplier});
  return (product >> 31) + 1;  // the rounding divide never increases the magnitude further
}

}  // namespace

AddQuant pack_add(const AddParams& params) {
  AddQuant q{};
  q.params = params;
  q.pre_shift = params.left_shift + 1;
  q.input1 = add_scale(params.input1);
  q.input2 = add_scale(params.input2);
  q.output = add_scale(params.output);
  const int64_t limit = int64_t{1} << 30;  // operands of SMMULR are doubled: stay below 2^30
  bool fast = params.left_shift >= 0 && params.left_shift <= 29 && params.input1.shift <= 0 &&
              params.input2.shift <= 0 && params.output.shift <= 0 &&
              params.input1.shift >= -31 && params.input2.shift >= -31 &&
              params.output.shift >= -31;
  if (fast) {
    const int64_t x1 = max_abs_input(params.input1_offset) << params.left_shift;
    const int64_t x2 = max_abs_input(params.input2_offset) << params.left_shift;
    const int64_t sum = scaled_bound(x1, params.input1) + scaled_bound(x2, params.input2);
    fast = x1 < limit && x2 < limit && sum < limit;
  }
  q.fast = fast ? 1 : 0;
  return q;
}

}  // namespace frugal::kernels::cortexm
