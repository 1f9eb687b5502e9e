// Firmware cases of the product-quantized kernels (the FirmwareCase form of
// tests/kernels_cortexm/firmware_cases.h), shared by the QEMU test and bench/cortexm_pq: a random
// PQ layer, the reference output on its decoded weights, and C++ declaring the shape, the packed
// codebook, the form's indices, the quantization and the kernel call.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "firmware_cases.h"
#include "kernels/cortexm/pq_pack.h"
#include "pq_cases.h"

namespace frugal::kernels::cortexm::testing {

struct PqFirmwareCase {
  FirmwareCase c;
  size_t codebook_bytes = 0;  // the packed int16 codebook (shared by all layers using it)
  size_t index_bytes = 0;     // the form's index array
  size_t scratch_bytes = 0;
  PackedPqLayer packed;
};

inline const char* pq_form_name(PqForm form) { return form == PqForm::kTable ? "table" : "direct"; }

namespace detail_pq {

inline std::string pq_arrays(const std::string& name, const std::vector<int16_t>& codebook, const PackedPqLayer& p,
                             PqForm form) {
  using namespace detail_fw;
  return array("int16_t", name + "_codebook", codebook) + array("uint8_t", name + "_indices", p.indices(form)) +
         quant_array(name + "_quant", p.quant);
}

inline std::string pq_call(const std::string& kernel, const std::string& name, RequantKind requant,
                           const std::string& output) {
  return "frugal::kernels::cortexm::" + kernel + "<" + detail_fw::requant_type(requant) + ">(" + name + "_shape{}, " +
         name + "_input, " + name + "_codebook, " + name + "_indices, " + name + "_quant, " + output + ", " + name +
         "_scratch);";
}

}  // namespace detail_pq

// `wild`: multipliers with any shift; `force_exact`: RequantExact even where the packer allows
// RequantFast; `zero_share` > 0: a zero codeword on about that share of the sub-vectors
// (add_zero_codeword), which the direct form then skips whatever the packer's model says, so
// that every skipping loop runs.
inline PqFirmwareCase pq_conv_case(const std::string& name, const PqConvShape& s, uint32_t seed, PqForm form,
                                   bool wild = false, bool force_exact = false, double zero_share = 0.0) {
  using namespace detail_fw;
  std::mt19937 gen(seed);
  PqWeights w = random_pq_weights(gen, s.codewords, s.subvector, s.out_c, s.groups());
  if (zero_share > 0.0) add_zero_codeword(gen, w, s.codewords, s.subvector, s.groups(), zero_share);
  const auto input = random_bytes(gen, static_cast<size_t>(s.in_h) * static_cast<size_t>(s.in_w) * static_cast<size_t>(s.in_c));
  const auto bias = biases(gen, s.out_c);
  const auto mult = channel_multipliers(gen, s.out_c, wild);
  PqFirmwareCase pc;
  FirmwareCase& c = pc.c;
  c.name = name;
  c.expected.resize(static_cast<size_t>(s.out_h) * static_cast<size_t>(s.out_w) * static_cast<size_t>(s.out_c));
  const std::vector<int8_t> filter = decode_pq_conv(s, w);
  reference::conv2d(pq_conv_params(s), mult.data(), Dims4{1, s.in_h, s.in_w, s.in_c}, input.data(),
                    Dims4{s.out_c, s.kh, s.kw, s.in_c}, filter.data(), bias.data(),
                    Dims4{1, s.out_h, s.out_w, s.out_c}, c.expected.data());
  const PqCodebookView view = codebook_view(w, s.codewords, s.subvector);
  pc.packed = pack_pq_conv(view, static_cast<PqWeightLayout>(s.layout), w.indices.data(), s.out_c, s.kh, s.kw, s.in_c,
                           s.out_h * s.out_w, bias.data(), mult.data(), s.input_offset);
  const std::vector<int16_t> codebook = pack_pq_codebook(view);
  const bool skip = zero_share > 0.0 || pc.packed.skip_zero_codeword;
  pc.codebook_bytes = codebook.size() * sizeof(int16_t);
  pc.index_bytes = pc.packed.indices(form).size();
  pc.scratch_bytes = pc.packed.scratch_bytes(form);
  if (force_exact) {
    pc.packed.quant = exact_form(pc.packed.quant, pc.packed.requant);
    pc.packed.requant = RequantKind::kExact;
  }
  c.requant = pc.packed.requant == RequantKind::kFast ? "fast" : "exact";
  c.macs = int64_t{s.out_h} * s.out_w * s.out_c * s.kh * s.kw * s.in_c;
  c.output_symbol = name + "_output";
  const std::string kernel = form == PqForm::kTable ? "pq_conv2d_table" : "pq_conv2d_direct";
  c.declarations = "struct " + name + "_shape {\n" +
                   members({{"in_h", s.in_h},
                            {"in_w", s.in_w},
                            {"in_c", s.in_c},
                            {"out_h", s.out_h},
                            {"out_w", s.out_w},
                            {"out_c", s.out_c},
                            {"kh", s.kh},
                            {"kw", s.kw},
                            {"stride_h", s.stride_h},
                            {"stride_w", s.stride_w},
                            {"pad_h", s.pad_h},
                            {"pad_w", s.pad_w},
                            {"dilation_h", s.dilation_h},
                            {"dilation_w", s.dilation_w},
                            {"input_offset", s.input_offset},
                            {"output_offset", s.output_offset},
                            {"act_min", s.act_min},
                            {"act_max", s.act_max},
                            {"subvector", s.subvector},
                            {"codewords", s.codewords},
                            {"layout", s.layout},
                            {"skip_zero_codeword", skip ? 1 : 0}}) +
                   "};\n" + array("int8_t", name + "_input", input) + detail_pq::pq_arrays(name, codebook, pc.packed, form) +
                   "alignas(4) int8_t " + c.output_symbol + "[" + std::to_string(c.expected.size()) + "];\n" +
                   "alignas(4) int16_t " + name + "_scratch[frugal::kernels::cortexm::" + kernel + "_scratch_bytes<" +
                   name + "_shape>() / 2];\n";
  c.call = detail_pq::pq_call(kernel, name, pc.packed.requant, c.output_symbol);
  return pc;
}

inline PqFirmwareCase pq_fc_case(const std::string& name, const PqFcShape& s, uint32_t seed, PqForm form,
                                 double zero_share = 0.0) {
  using namespace detail_fw;
  std::mt19937 gen(seed);
  PqWeights w = random_pq_weights(gen, s.codewords, s.subvector, s.out_depth, s.groups());
  if (zero_share > 0.0) add_zero_codeword(gen, w, s.codewords, s.subvector, s.groups(), zero_share);
  const auto input = random_bytes(gen, static_cast<size_t>(s.batches) * static_cast<size_t>(s.depth));
  const auto bias = biases(gen, s.out_depth);
  const auto mult = channel_multipliers(gen, s.out_depth, false);
  PqFirmwareCase pc;
  FirmwareCase& c = pc.c;
  c.name = name;
  c.expected.resize(static_cast<size_t>(s.batches) * static_cast<size_t>(s.out_depth));
  const std::vector<int8_t> weights = decode_pq_fc(s, w);
  reference::fully_connected(FullyConnectedParams{s.input_offset, s.output_offset, s.act_min, s.act_max}, mult.data(),
                             s.batches, s.depth, input.data(), s.out_depth, weights.data(), bias.data(),
                             c.expected.data());
  const PqCodebookView view = codebook_view(w, s.codewords, s.subvector);
  pc.packed = pack_pq_fully_connected(view, w.indices.data(), s.out_depth, s.depth, s.batches, bias.data(),
                                      mult.data(), s.input_offset);
  const std::vector<int16_t> codebook = pack_pq_codebook(view);
  const bool skip = zero_share > 0.0 || pc.packed.skip_zero_codeword;
  pc.codebook_bytes = codebook.size() * sizeof(int16_t);
  pc.index_bytes = pc.packed.indices(form).size();
  pc.scratch_bytes = pc.packed.scratch_bytes(form);
  c.requant = pc.packed.requant == RequantKind::kFast ? "fast" : "exact";
  c.macs = int64_t{s.batches} * s.depth * s.out_depth;
  c.output_symbol = name + "_output";
  const std::string kernel = form == PqForm::kTable ? "pq_fully_connected_table" : "pq_fully_connected_direct";
  c.declarations = "struct " + name + "_shape {\n" +
                   members({{"batches", s.batches},
                            {"depth", s.depth},
                            {"out_depth", s.out_depth},
                            {"input_offset", s.input_offset},
                            {"output_offset", s.output_offset},
                            {"act_min", s.act_min},
                            {"act_max", s.act_max},
                            {"subvector", s.subvector},
                            {"codewords", s.codewords},
                            {"skip_zero_codeword", skip ? 1 : 0}}) +
                   "};\n" + array("int8_t", name + "_input", input) + detail_pq::pq_arrays(name, codebook, pc.packed, form) +
                   "alignas(4) int8_t " + c.output_symbol + "[" + std::to_string(c.expected.size()) + "];\n" +
                   "alignas(4) int16_t " + name + "_scratch[frugal::kernels::cortexm::" + kernel + "_scratch_bytes<" +
                   name + "_shape>() / 2];\n";
  c.call = detail_pq::pq_call(kernel, name, pc.packed.requant, c.output_symbol);
  return pc;
}

}  // namespace frugal::kernels::cortexm::testing
