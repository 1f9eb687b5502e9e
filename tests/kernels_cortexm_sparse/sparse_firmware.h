// Firmware cases of the computation-skipping kernels (the FirmwareCase form of
// tests/kernels_cortexm/firmware_cases.h), shared by the QEMU test and bench/cortexm_sparse.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "firmware_cases.h"
#include "kernels/cortexm/sparse_pack.h"
#include "sparse_cases.h"

namespace frugal::kernels::cortexm::testing {

struct SparseCase {
  FirmwareCase c;
  size_t packed_bytes = 0;  // stream + table
  size_t dense_bytes = 0;   // the dense kernel's packed int8 weights
  double kept_quads = 1.0;  // fraction
};

inline std::string sparse_arrays(const std::string& name, const PackedSparseConv& p) {
  using namespace detail_fw;
  return array("int32_t", name + "_stream", p.stream.empty() ? std::vector<int32_t>{0} : p.stream) +
         array("uint16_t", name + "_pair_quads", p.pair_quads) + quant_array(name + "_quant", p.quant);
}

// Which table-driven form a case runs: quads of channel pairs (PairQuadGemm) or of single
// channels (ChannelQuadGemm).
// kPairedQuads: pair quads over the channel pairing pair_channels picks (PairedQuadGemm).
enum class TableForm { kPairQuads, kChannelQuads, kPairedQuads };

inline SkipGranularity table_granularity(TableForm form) {
  return form == TableForm::kChannelQuads ? SkipGranularity::kChannelQuad : SkipGranularity::kQuad;
}

inline std::string gemm_argument(TableForm form) {
  if (form == TableForm::kChannelQuads) return ", frugal::kernels::cortexm::ChannelQuadGemm";
  return form == TableForm::kPairedQuads ? ", frugal::kernels::cortexm::PairedQuadGemm" : "";
}

inline std::vector<uint8_t> realize_form(const std::vector<uint8_t>& mask, int32_t channels, int32_t k,
                                         TableForm form) {
  if (form == TableForm::kPairedQuads) return realize_paired(mask, channels, k);
  return realize_skip_mask(mask.data(), channels, k, table_granularity(form));
}

inline SparseCase sparse_conv_case(const std::string& name, const ConvShape& s, uint32_t seed,
                                   double skip_fraction, MaskKind kind,
                                   TableForm form = TableForm::kPairQuads) {
  using namespace detail_fw;
  std::mt19937 gen(seed);
  const int32_t k = s.kh * s.kw * s.in_c;
  const auto input = random_bytes(gen, static_cast<size_t>(s.in_h) * s.in_w * s.in_c);
  const auto filter = random_bytes(gen, static_cast<size_t>(s.out_c) * k);
  const auto bias = biases(gen, s.out_c);
  const auto mult = channel_multipliers(gen, s.out_c, false);
  const SkipGranularity granularity = table_granularity(form);
  const auto mask = random_mask(gen, s.out_c, k, skip_fraction, kind, granularity);
  const auto zeroed = zero_skipped(filter.data(), realize_form(mask, s.out_c, k, form).data(), s.out_c, k);
  SparseCase sc;
  FirmwareCase& c = sc.c;
  c.name = name;
  c.expected.resize(static_cast<size_t>(s.out_h) * s.out_w * s.out_c);
  reference::conv2d(conv_params(s), mult.data(), Dims4{1, s.in_h, s.in_w, s.in_c}, input.data(),
                    Dims4{s.out_c, s.kh, s.kw, s.in_c}, zeroed.data(), bias.data(),
                    Dims4{1, s.out_h, s.out_w, s.out_c}, c.expected.data());
  const PackedSparseConv p =
      form == TableForm::kChannelQuads
          ? pack_channel_sparse_conv(filter.data(), s.out_c, s.kh, s.kw, s.in_c, bias.data(), mult.data(),
                                     s.input_offset, mask.data())
      : form == TableForm::kPairedQuads
          ? pack_paired_sparse_conv(filter.data(), s.out_c, s.kh, s.kw, s.in_c, bias.data(), mult.data(),
                                    s.input_offset, mask.data())
          : pack_sparse_conv(filter.data(), s.out_c, s.kh, s.kw, s.in_c, bias.data(), mult.data(),
                             s.input_offset, mask.data());
  sc.packed_bytes = p.flash_bytes();
  sc.dense_bytes = static_cast<size_t>((s.out_c + 1) / 2) * static_cast<size_t>(round_up4(k)) * 2;
  sc.kept_quads = static_cast<double>(p.kept_quads) / static_cast<double>(p.total_quads);
  c.requant = p.requant == RequantKind::kFast ? "fast" : "exact";
  c.macs = int64_t{s.out_h} * s.out_w * s.out_c * k;
  c.output_symbol = name + "_output";
  c.declarations = "struct " + name + "_shape {\n" + members(conv_fields(s)) + "};\n" +
                   array("int8_t", name + "_input", input) + sparse_arrays(name, p) +
                   "alignas(4) int8_t " + c.output_symbol + "[" + std::to_string(c.expected.size()) +
                   "];\nalignas(4) int16_t " + name +
                   "_scratch[frugal::kernels::cortexm::conv2d_scratch_bytes<" + name + "_shape>() / 2];\n";
  c.call = "frugal::kernels::cortexm::sparse_conv2d<" + requant_type(p.requant) + gemm_argument(form) + ">(" + name +
           "_shape{}, " + name + "_input, " + name + "_stream, " + name + "_pair_quads, " + name +
           "_quant, " + c.output_symbol + ", " + name + "_scratch);";
  return sc;
}

inline SparseCase sparse_fc_case(const std::string& name, const FcShape& s, uint32_t seed,
                                 double skip_fraction, MaskKind kind,
                                 TableForm form = TableForm::kPairQuads) {
  using namespace detail_fw;
  std::mt19937 gen(seed);
  const auto input = random_bytes(gen, static_cast<size_t>(s.batches) * s.depth);
  const auto weights = random_bytes(gen, static_cast<size_t>(s.out_depth) * s.depth);
  const auto bias = biases(gen, s.out_depth);
  const auto mult = channel_multipliers(gen, s.out_depth, false);
  const SkipGranularity granularity = table_granularity(form);
  const auto mask = random_mask(gen, s.out_depth, s.depth, skip_fraction, kind, granularity);
  const auto zeroed =
      zero_skipped(weights.data(), realize_form(mask, s.out_depth, s.depth, form).data(), s.out_depth, s.depth);
  SparseCase sc;
  FirmwareCase& c = sc.c;
  c.name = name;
  c.expected.resize(static_cast<size_t>(s.batches) * s.out_depth);
  reference::fully_connected(FullyConnectedParams{s.input_offset, s.output_offset, s.act_min, s.act_max},
                             mult.data(), s.batches, s.depth, input.data(), s.out_depth,
                             zeroed.data(), bias.data(), c.expected.data());
  const PackedSparseConv p =
      form == TableForm::kChannelQuads
          ? pack_channel_sparse_fully_connected(weights.data(), s.out_depth, s.depth, bias.data(), mult.data(),
                                                s.input_offset, mask.data())
      : form == TableForm::kPairedQuads
          ? pack_paired_sparse_fully_connected(weights.data(), s.out_depth, s.depth, bias.data(), mult.data(),
                                               s.input_offset, mask.data())
          : pack_sparse_fully_connected(weights.data(), s.out_depth, s.depth, bias.data(), mult.data(),
                                        s.input_offset, mask.data());
  sc.packed_bytes = p.flash_bytes();
  sc.dense_bytes = static_cast<size_t>((s.out_depth + 1) / 2) * static_cast<size_t>(round_up4(s.depth)) * 2;
  sc.kept_quads = static_cast<double>(p.kept_quads) / static_cast<double>(p.total_quads);
  c.requant = p.requant == RequantKind::kFast ? "fast" : "exact";
  c.macs = int64_t{s.batches} * s.depth * s.out_depth;
  c.output_symbol = name + "_output";
  c.declarations =
      "struct " + name + "_shape {\n" +
      members({{"batches", s.batches}, {"depth", s.depth}, {"out_depth", s.out_depth},
               {"input_offset", s.input_offset}, {"output_offset", s.output_offset},
               {"act_min", s.act_min}, {"act_max", s.act_max}}) +
      "};\n" + array("int8_t", name + "_input", input) + sparse_arrays(name, p) +
      "alignas(4) int8_t " + c.output_symbol + "[" + std::to_string(c.expected.size()) + "];\n" +
      "alignas(4) int16_t " + name + "_scratch[frugal::kernels::cortexm::fully_connected_scratch_bytes<" +
      name + "_shape>() / 2];\n";
  c.call = "frugal::kernels::cortexm::sparse_fully_connected<" + requant_type(p.requant) + gemm_argument(form) +
           ">(" +
           name + "_shape{}, " + name + "_input, " + name + "_stream, " + name + "_pair_quads, " +
           name + "_quant, " + c.output_symbol + ", " + name + "_scratch);";
  return sc;
}

// The same layer (same seed, same draws) through the unrolled form: the GEMM emitted with
// emit_unrolled_gemm, skipping at SMLAD-pair granularity. packed_bytes = 0 (the weights are in
// the code; measure the emitted functions' size in the ELF).
inline SparseCase unrolled_conv_case(const std::string& name, const ConvShape& s, uint32_t seed,
                                     double skip_fraction, MaskKind kind) {
  using namespace detail_fw;
  std::mt19937 gen(seed);
  const int32_t k = s.kh * s.kw * s.in_c;
  const auto input = random_bytes(gen, static_cast<size_t>(s.in_h) * s.in_w * s.in_c);
  const auto filter = random_bytes(gen, static_cast<size_t>(s.out_c) * k);
  const auto bias = biases(gen, s.out_c);
  const auto mult = channel_multipliers(gen, s.out_c, false);
  const auto mask = random_mask(gen, s.out_c, k, skip_fraction, kind, SkipGranularity::kSmladPair);
  const auto zeroed = zero_skipped(
      filter.data(), realize_skip_mask(mask.data(), s.out_c, k, SkipGranularity::kSmladPair).data(),
      s.out_c, k);
  SparseCase sc;
  FirmwareCase& c = sc.c;
  c.name = name;
  c.expected.resize(static_cast<size_t>(s.out_h) * s.out_w * s.out_c);
  reference::conv2d(conv_params(s), mult.data(), Dims4{1, s.in_h, s.in_w, s.in_c}, input.data(),
                    Dims4{s.out_c, s.kh, s.kw, s.in_c}, zeroed.data(), bias.data(),
                    Dims4{1, s.out_h, s.out_w, s.out_c}, c.expected.data());
  // The quantization and requantization choice of the packer, on the zeroed weights.
  const PackedSparseConv p = pack_sparse_conv(zeroed.data(), s.out_c, s.kh, s.kw, s.in_c,
                                              bias.data(), mult.data(), s.input_offset, nullptr);
  const UnrolledGemmSource gemm = emit_unrolled_gemm(name + "_gemm", filter.data(), s.out_c, k, mask.data());
  sc.kept_quads = static_cast<double>(gemm.kept_smlads) / static_cast<double>(gemm.total_smlads);
  sc.dense_bytes = static_cast<size_t>((s.out_c + 1) / 2) * static_cast<size_t>(round_up4(k)) * 2;
  c.requant = p.requant == RequantKind::kFast ? "fast" : "exact";
  c.macs = int64_t{s.out_h} * s.out_w * s.out_c * k;
  c.output_symbol = name + "_output";
  c.declarations = "struct " + name + "_shape {\n" + members(conv_fields(s)) + "};\n" +
                   array("int8_t", name + "_input", input) + gemm.code +
                   quant_array(name + "_quant", p.quant) + "alignas(4) int8_t " + c.output_symbol +
                   "[" + std::to_string(c.expected.size()) + "];\nalignas(4) int16_t " + name +
                   "_scratch[frugal::kernels::cortexm::unrolled_conv2d_scratch_bytes(" + name +
                   "_shape{}) / 2];\n";
  c.call = "frugal::kernels::cortexm::unrolled_conv2d<" + requant_type(p.requant) + ", " + name +
           "_gemm>(" + name + "_shape{}, " + name + "_input, " + name + "_quant, " +
           c.output_symbol + ", " + name + "_scratch);";
  return sc;
}

inline SparseCase unrolled_fc_case(const std::string& name, const FcShape& s, uint32_t seed,
                                   double skip_fraction, MaskKind kind) {
  using namespace detail_fw;
  std::mt19937 gen(seed);
  const auto input = random_bytes(gen, static_cast<size_t>(s.batches) * s.depth);
  const auto weights = random_bytes(gen, static_cast<size_t>(s.out_depth) * s.depth);
  const auto bias = biases(gen, s.out_depth);
  const auto mult = channel_multipliers(gen, s.out_depth, false);
  const auto mask = random_mask(gen, s.out_depth, s.depth, skip_fraction, kind,
                                SkipGranularity::kSmladPair);
  const auto zeroed = zero_skipped(
      weights.data(),
      realize_skip_mask(mask.data(), s.out_depth, s.depth, SkipGranularity::kSmladPair).data(),
      s.out_depth, s.depth);
  SparseCase sc;
  FirmwareCase& c = sc.c;
  c.name = name;
  c.expected.resize(static_cast<size_t>(s.batches) * s.out_depth);
  reference::fully_connected(FullyConnectedParams{s.input_offset, s.output_offset, s.act_min, s.act_max},
                             mult.data(), s.batches, s.depth, input.data(), s.out_depth,
                             zeroed.data(), bias.data(), c.expected.data());
  const PackedSparseConv p = pack_sparse_fully_connected(zeroed.data(), s.out_depth, s.depth,
                                                         bias.data(), mult.data(), s.input_offset,
                                                         nullptr);
  const UnrolledGemmSource gemm =
      emit_unrolled_gemm(name + "_gemm", weights.data(), s.out_depth, s.depth, mask.data());
  sc.kept_quads = static_cast<double>(gemm.kept_smlads) / static_cast<double>(gemm.total_smlads);
  c.requant = p.requant == RequantKind::kFast ? "fast" : "exact";
  c.macs = int64_t{s.batches} * s.depth * s.out_depth;
  c.output_symbol = name + "_output";
  c.declarations =
      "struct " + name + "_shape {\n" +
      members({{"batches", s.batches}, {"depth", s.depth}, {"out_depth", s.out_depth},
               {"input_offset", s.input_offset}, {"output_offset", s.output_offset},
               {"act_min", s.act_min}, {"act_max", s.act_max}}) +
      "};\n" + array("int8_t", name + "_input", input) + gemm.code +
      quant_array(name + "_quant", p.quant) + "alignas(4) int8_t " + c.output_symbol + "[" +
      std::to_string(c.expected.size()) + "];\nalignas(4) int16_t " + name +
      "_scratch[frugal::kernels::cortexm::unrolled_fully_connected_scratch_bytes(" + name +
      "_shape{}) / 2];\n";
  c.call = "frugal::kernels::cortexm::unrolled_fully_connected<" + requant_type(p.requant) + ", " +
           name + "_gemm>(" + name + "_shape{}, " + name + "_input, " + name + "_quant, " +
           c.output_symbol + ", " + name + "_scratch);";
  return sc;
}

// firmware_sources with main.cc also including the skipping kernels.
inline std::vector<mcu::SourceFile> sparse_firmware_sources(const std::vector<FirmwareCase>& cases) {
  std::vector<mcu::SourceFile> files = firmware_sources(cases);
  for (mcu::SourceFile& f : files) {
    if (f.path == "main.cc") {
      f.contents = "#include \"kernels/cortexm/sparse_conv.h\"\n"
                   "#include \"kernels/cortexm/sparse_fully_connected.h\"\n"
                   "#include \"kernels/cortexm/sparse_unrolled.h\"\n" + f.contents;
    }
  }
  return files;
}

}  // namespace frugal::kernels::cortexm::testing
