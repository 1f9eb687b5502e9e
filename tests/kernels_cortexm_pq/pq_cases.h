// Random product-quantized layers for the PQ kernels, shared by the host tests, the QEMU test and
// bench/cortexm_pq: shapes with the PQ members, a random codebook and indices, and the decoded
// weights the reference kernels run on. The decode is written here from the layout definitions
// of ir::PqLayout, independently of the kernels and their packers.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cortexm/pq_pack.h"
#include "kernels/params.h"

namespace frugal::kernels::cortexm::testing {

// The conv members of conv2d plus the PQ ones (pq_conv.h).
struct PqConvShape {
  int32_t in_h, in_w, in_c, out_h, out_w, out_c;
  int32_t kh, kw, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int32_t input_offset, output_offset, act_min, act_max;
  int32_t subvector, codewords, layout;
  int32_t skip_zero_codeword = 0;  // the direct form skips codeword 0 (pq_gemm.h)

  int32_t groups() const { return layout == kPqKernel ? in_c : kh * kw * in_c / subvector; }
};

struct PqFcShape {
  int32_t batches, depth, out_depth;
  int32_t input_offset, output_offset, act_min, act_max;
  int32_t subvector, codewords;
  int32_t skip_zero_codeword = 0;

  int32_t groups() const { return depth / subvector; }
};

struct PqWeights {
  std::vector<int8_t> codebook;   // K x d
  std::vector<uint16_t> indices;  // [O][G], ir::PqEncoding order
};

inline PqWeights random_pq_weights(std::mt19937& gen, int32_t codewords, int32_t subvector, int32_t out_channels,
                                   int32_t groups) {
  std::uniform_int_distribution<int32_t> word(-128, 127);
  std::uniform_int_distribution<int32_t> index(0, codewords - 1);
  PqWeights w;
  w.codebook.resize(static_cast<size_t>(codewords) * static_cast<size_t>(subvector));
  for (auto& v : w.codebook) v = static_cast<int8_t>(word(gen));
  w.indices.resize(static_cast<size_t>(out_channels) * static_cast<size_t>(groups));
  for (auto& v : w.indices) v = static_cast<uint16_t>(index(gen));
  return w;
}

// Makes one codeword (at a random index) all zero and puts about `share` of the sub-vectors on
// it, whole rows among them, as a pruned layer's encoding looks.
inline void add_zero_codeword(std::mt19937& gen, PqWeights& w, int32_t codewords, int32_t subvector, int32_t groups,
                              double share) {
  const auto zero = static_cast<uint16_t>(std::uniform_int_distribution<int32_t>(0, codewords - 1)(gen));
  for (int32_t j = 0; j < subvector; ++j) w.codebook[static_cast<size_t>(zero) * static_cast<size_t>(subvector) + static_cast<size_t>(j)] = 0;
  std::bernoulli_distribution on_zero(share), zero_row(share / 2);
  for (size_t row = 0; row < w.indices.size(); row += static_cast<size_t>(groups)) {
    const bool whole = zero_row(gen);
    for (size_t g = row; g < row + static_cast<size_t>(groups); ++g) {
      if (whole || on_zero(gen)) w.indices[g] = zero;
    }
  }
}

inline int8_t codeword_element(const PqWeights& w, int32_t subvector, uint16_t index, int32_t j) {
  return w.codebook[static_cast<size_t>(index) * static_cast<size_t>(subvector) + static_cast<size_t>(j)];
}

// The OHWI filter [out_c][kh][kw][in_c] the encoding stands for.
inline std::vector<int8_t> decode_pq_conv(const PqConvShape& s, const PqWeights& w) {
  const int32_t row = s.kh * s.kw * s.in_c;
  const int32_t groups = s.groups();
  std::vector<int8_t> filter(static_cast<size_t>(s.out_c) * static_cast<size_t>(row));
  for (int32_t o = 0; o < s.out_c; ++o) {
    for (int32_t fy = 0; fy < s.kh; ++fy) {
      for (int32_t fx = 0; fx < s.kw; ++fx) {
        for (int32_t i = 0; i < s.in_c; ++i) {
          const int32_t e = (fy * s.kw + fx) * s.in_c + i;  // position in the OHWI row
          // kKernel: sub-vector (o, i), element fy*kw + fx; kRow: sub-vector (o, e / d), element e % d.
          const int32_t g = s.layout == kPqKernel ? i : e / s.subvector;
          const int32_t j = s.layout == kPqKernel ? fy * s.kw + fx : e % s.subvector;
          const uint16_t index = w.indices[static_cast<size_t>(o) * static_cast<size_t>(groups) + static_cast<size_t>(g)];
          filter[static_cast<size_t>(o) * static_cast<size_t>(row) + static_cast<size_t>(e)] =
              codeword_element(w, s.subvector, index, j);
        }
      }
    }
  }
  return filter;
}

// The [out_depth][depth] matrix the encoding stands for.
inline std::vector<int8_t> decode_pq_fc(const PqFcShape& s, const PqWeights& w) {
  std::vector<int8_t> m(static_cast<size_t>(s.out_depth) * static_cast<size_t>(s.depth));
  for (int32_t o = 0; o < s.out_depth; ++o) {
    for (int32_t e = 0; e < s.depth; ++e) {
      const uint16_t index =
          w.indices[static_cast<size_t>(o) * static_cast<size_t>(s.groups()) + static_cast<size_t>(e / s.subvector)];
      m[static_cast<size_t>(o) * static_cast<size_t>(s.depth) + static_cast<size_t>(e)] =
          codeword_element(w, s.subvector, index, e % s.subvector);
    }
  }
  return m;
}

inline ConvParams pq_conv_params(const PqConvShape& s) {
  ConvParams p{};
  p.input_offset = s.input_offset;
  p.output_offset = s.output_offset;
  p.stride_h = s.stride_h;
  p.stride_w = s.stride_w;
  p.dilation_h = s.dilation_h;
  p.dilation_w = s.dilation_w;
  p.pad_h = s.pad_h;
  p.pad_w = s.pad_w;
  p.depth_multiplier = 1;
  p.act_min = s.act_min;
  p.act_max = s.act_max;
  return p;
}

inline int32_t pq_conv_out(int32_t in, int32_t k, int32_t stride, int32_t pad, int32_t dilation) {
  return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
}

// A square-kernel PQ conv with out_h / out_w derived.
inline PqConvShape pq_conv_shape(int32_t in_h, int32_t in_w, int32_t in_c, int32_t out_c, int32_t k, int32_t stride,
                                 int32_t pad, PqWeightLayout layout, int32_t subvector, int32_t codewords,
                                 int32_t input_offset = 128, int32_t output_offset = -128) {
  PqConvShape s{};
  s.in_h = in_h, s.in_w = in_w, s.in_c = in_c, s.out_c = out_c;
  s.kh = s.kw = k;
  s.stride_h = s.stride_w = stride;
  s.pad_h = s.pad_w = pad;
  s.dilation_h = s.dilation_w = 1;
  s.out_h = pq_conv_out(in_h, k, stride, pad, 1);
  s.out_w = pq_conv_out(in_w, k, stride, pad, 1);
  s.input_offset = input_offset, s.output_offset = output_offset;
  s.act_min = -128, s.act_max = 127;
  s.subvector = subvector, s.codewords = codewords, s.layout = layout;
  return s;
}

inline PqCodebookView codebook_view(const PqWeights& w, int32_t codewords, int32_t subvector) {
  return PqCodebookView{w.codebook.data(), codewords, subvector};
}

}  // namespace frugal::kernels::cortexm::testing
