// Host-side builder of Cortex-M kernel firmware (shared by the QEMU test and bench/cortexm):
// each case draws random int8 data, computes the reference output on the host, packs the
// weights and emits C++ for the firmware: a `static constexpr` shape struct (the generator's
// form), const arrays in flash and the kernel call. The firmware runs every case between
// frugal_mark() calls and writes each output to a host file through semihosting.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "codegen/kernel_sources.h"
#include "kernels/cortexm/pack.h"
#include "kernels/reference/reference.h"
#include "mcu/firmware.h"
#include "mcu/qemu_runner.h"
#include "shapes.h"

namespace frugal::kernels::cortexm::testing {

struct FirmwareCase {
  std::string name;          // a C identifier
  std::string declarations;  // C++ at namespace scope
  std::string call;          // one statement
  std::string output_symbol;
  std::vector<int8_t> expected;
  int64_t macs = 0;
  std::string requant;  // "fast" / "exact" / ""
};

namespace detail_fw {

inline std::string ints(const auto& values) {
  std::ostringstream out;
  size_t i = 0;
  for (const auto v : values) {
    out << (i ? "," : "") << ((i % 24 == 0) ? "\n  " : "") << static_cast<int64_t>(v);
    ++i;
  }
  return out.str();
}

inline std::string array(const std::string& type, const std::string& name, const auto& values) {
  return "alignas(4) const " + type + " " + name + "[] = {" + ints(values) + "};\n";
}

inline std::string quant_array(const std::string& name, const std::vector<ChannelQuant>& quant) {
  std::ostringstream out;
  out << "const frugal::kernels::cortexm::ChannelQuant " << name << "[] = {\n";
  for (const ChannelQuant& q : quant) {
    out << "  {" << q.bias << "," << q.multiplier << "," << q.shift << "},\n";
  }
  return out.str() + "};\n";
}

inline std::string members(const std::vector<std::pair<std::string, int32_t>>& fields) {
  std::string s;
  for (const auto& [k, v] : fields) s += "  static constexpr int32_t " + k + " = " + std::to_string(v) + ";\n";
  return s;
}

inline std::vector<int8_t> random_bytes(std::mt19937& gen, size_t n) {
  std::uniform_int_distribution<int32_t> d(-128, 127);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(gen));
  return v;
}

// Per-channel multipliers of a realistic layer (real multiplier ~ 2^-9 .. 2^-7).
inline std::vector<QuantizedMultiplier> channel_multipliers(std::mt19937& gen, int32_t n,
                                                            bool wild) {
  std::uniform_int_distribution<int32_t> m(1 << 30, INT32_MAX);
  std::uniform_int_distribution<int32_t> sh(wild ? -20 : -9, wild ? 2 : -7);
  std::vector<QuantizedMultiplier> v(static_cast<size_t>(n));
  for (auto& q : v) q = {m(gen), sh(gen)};
  return v;
}

inline std::vector<int32_t> biases(std::mt19937& gen, int32_t n) {
  std::uniform_int_distribution<int32_t> d(-5000, 5000);
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(gen);
  return v;
}

inline std::vector<std::pair<std::string, int32_t>> conv_fields(const ConvShape& s) {
  return {{"in_h", s.in_h},         {"in_w", s.in_w},
          {"in_c", s.in_c},         {"out_h", s.out_h},
          {"out_w", s.out_w},       {"out_c", s.out_c},
          {"kh", s.kh},             {"kw", s.kw},
          {"stride_h", s.stride_h}, {"stride_w", s.stride_w},
          {"pad_h", s.pad_h},       {"pad_w", s.pad_w},
          {"dilation_h", s.dilation_h}, {"dilation_w", s.dilation_w},
          {"depth_multiplier", s.depth_multiplier},
          {"input_offset", s.input_offset}, {"output_offset", s.output_offset},
          {"act_min", s.act_min},   {"act_max", s.act_max}};
}

inline ConvParams conv_params(const ConvShape& s) {
  ConvParams p{};
  p.input_offset = s.input_offset;
  p.output_offset = s.output_offset;
  p.stride_h = s.stride_h;
  p.stride_w = s.stride_w;
  p.dilation_h = s.dilation_h;
  p.dilation_w = s.dilation_w;
  p.pad_h = s.pad_h;
  p.pad_w = s.pad_w;
  p.depth_multiplier = s.depth_multiplier;
  p.act_min = s.act_min;
  p.act_max = s.act_max;
  return p;
}

inline std::string requant_type(RequantKind k) {
  return k == RequantKind::kFast ? "frugal::kernels::cortexm::RequantFast"
                                 : "frugal::kernels::cortexm::RequantExact";
}

}  // namespace detail_fw

// Output extent of a convolution / pool.
inline int32_t conv_out(int32_t in, int32_t k, int32_t stride, int32_t pad, int32_t dilation = 1) {
  return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
}

// A ConvShape with out_h / out_w derived.
inline ConvShape conv_shape(int32_t in_h, int32_t in_w, int32_t in_c, int32_t out_c, int32_t k,
                            int32_t stride, int32_t pad, int32_t input_offset = 3,
                            int32_t output_offset = -5, int32_t act_min = -128,
                            int32_t act_max = 127) {
  ConvShape s{in_h, in_w, in_c, conv_out(in_h, k, stride, pad), conv_out(in_w, k, stride, pad),
              out_c, k, k, stride, stride, pad, pad, 1, 1, 1,
              input_offset, output_offset, act_min, act_max};
  return s;
}

inline FirmwareCase conv_case(const std::string& name, const ConvShape& s, uint32_t seed,
                              bool force_exact = false,
                              WeightFormat format = WeightFormat::kInt8) {
  using namespace detail_fw;
  std::mt19937 gen(seed);
  const auto input = random_bytes(gen, static_cast<size_t>(s.in_h) * s.in_w * s.in_c);
  const auto filter = random_bytes(gen, static_cast<size_t>(s.out_c) * s.kh * s.kw * s.in_c);
  const auto bias = biases(gen, s.out_c);
  const auto mult = channel_multipliers(gen, s.out_c, force_exact);
  FirmwareCase c;
  c.name = name;
  c.expected.resize(static_cast<size_t>(s.out_h) * s.out_w * s.out_c);
  reference::conv2d(conv_params(s), mult.data(), Dims4{1, s.in_h, s.in_w, s.in_c}, input.data(),
                    Dims4{s.out_c, s.kh, s.kw, s.in_c}, filter.data(), bias.data(),
                    Dims4{1, s.out_h, s.out_w, s.out_c}, c.expected.data());
  const PackedConv packed = pack_conv(filter.data(), s.out_c, s.kh, s.kw, s.in_c, bias.data(),
                                      mult.data(), s.input_offset, format);
  const RequantKind kind = force_exact ? RequantKind::kExact : packed.requant;
  c.requant = kind == RequantKind::kFast ? "fast" : "exact";
  c.macs = int64_t{s.out_h} * s.out_w * s.out_c * s.kh * s.kw * s.in_c;
  c.output_symbol = name + "_output";
  c.declarations = "struct " + name + "_shape {\n" + members(conv_fields(s)) + "};\n" +
                   array("int8_t", name + "_input", input) +
                   (format == WeightFormat::kInt16
                        ? array("int16_t", name + "_weights", packed.weights16)
                        : array("int8_t", name + "_weights", packed.weights)) +
                   quant_array(name + "_quant", kind == packed.requant ? packed.quant : exact_form(packed.quant, packed.requant)) + "alignas(4) int8_t " +
                   c.output_symbol + "[" + std::to_string(c.expected.size()) + "];\n" +
                   "alignas(4) int16_t " + name + "_scratch[frugal::kernels::cortexm::conv2d_scratch_bytes<" +
                   name + "_shape>() / 2];\n";
  c.call = "frugal::kernels::cortexm::conv2d<" + requant_type(kind) + ">(" + name + "_shape{}, " +
           name + "_input, " + name + "_weights, " + name + "_quant, " + c.output_symbol + ", " +
           name + "_scratch);";
  return c;
}

inline FirmwareCase depthwise_case(const std::string& name, const ConvShape& s, uint32_t seed) {
  using namespace detail_fw;
  std::mt19937 gen(seed);
  const auto input = random_bytes(gen, static_cast<size_t>(s.in_h) * s.in_w * s.in_c);
  const auto filter = random_bytes(gen, static_cast<size_t>(s.kh) * s.kw * s.out_c);
  const auto bias = biases(gen, s.out_c);
  const auto mult = channel_multipliers(gen, s.out_c, false);
  FirmwareCase c;
  c.name = name;
  c.expected.resize(static_cast<size_t>(s.out_h) * s.out_w * s.out_c);
  reference::depthwise_conv2d(conv_params(s), mult.data(), Dims4{1, s.in_h, s.in_w, s.in_c},
                              input.data(), Dims4{1, s.kh, s.kw, s.out_c}, filter.data(),
                              bias.data(), Dims4{1, s.out_h, s.out_w, s.out_c}, c.expected.data());
  const PackedDepthwise packed =
      pack_depthwise(filter.data(), s.kh, s.kw, s.out_c, bias.data(), mult.data(), s.input_offset);
  c.requant = packed.requant == RequantKind::kFast ? "fast" : "exact";
  c.macs = int64_t{s.out_h} * s.out_w * s.out_c * s.kh * s.kw;
  c.output_symbol = name + "_output";
  c.declarations = "struct " + name + "_shape {\n" + members(conv_fields(s)) + "};\n" +
                   array("int8_t", name + "_input", input) +
                   array("int16_t", name + "_weights", packed.weights) +
                   quant_array(name + "_quant", packed.quant) + "alignas(4) int8_t " +
                   c.output_symbol + "[" + std::to_string(c.expected.size()) + "];\n";
  c.call = "frugal::kernels::cortexm::depthwise_conv2d<" + requant_type(packed.requant) + ">(" +
           name + "_shape{}, " + name + "_input, " + name + "_weights, " + name + "_quant, " +
           c.output_symbol + ");";
  return c;
}

inline FirmwareCase fully_connected_case(const std::string& name, const FcShape& s,
                                         uint32_t seed,
                                         WeightFormat format = WeightFormat::kInt8) {
  using namespace detail_fw;
  std::mt19937 gen(seed);
  const auto input = random_bytes(gen, static_cast<size_t>(s.batches) * s.depth);
  const auto weights = random_bytes(gen, static_cast<size_t>(s.out_depth) * s.depth);
  const auto bias = biases(gen, s.out_depth);
  const auto mult = channel_multipliers(gen, s.out_depth, false);
  FirmwareCase c;
  c.name = name;
  c.expected.resize(static_cast<size_t>(s.batches) * s.out_depth);
  reference::fully_connected(FullyConnectedParams{s.input_offset, s.output_offset, s.act_min, s.act_max},
                             mult.data(), s.batches, s.depth, input.data(), s.out_depth,
                             weights.data(), bias.data(), c.expected.data());
  const PackedConv packed = pack_fully_connected(weights.data(), s.out_depth, s.depth, bias.data(),
                                                 mult.data(), s.input_offset, format);
  c.requant = packed.requant == RequantKind::kFast ? "fast" : "exact";
  c.macs = int64_t{s.batches} * s.depth * s.out_depth;
  c.output_symbol = name + "_output";
  c.declarations =
      "struct " + name + "_shape {\n" +
      members({{"batches", s.batches}, {"depth", s.depth}, {"out_depth", s.out_depth},
               {"input_offset", s.input_offset}, {"output_offset", s.output_offset},
               {"act_min", s.act_min}, {"act_max", s.act_max}}) +
      "};\n" + array("int8_t", name + "_input", input) +
      (format == WeightFormat::kInt16 ? array("int16_t", name + "_weights", packed.weights16)
                                      : array("int8_t", name + "_weights", packed.weights)) +
      quant_array(name + "_quant", packed.quant) +
      "alignas(4) int8_t " + c.output_symbol + "[" + std::to_string(c.expected.size()) + "];\n" +
      "alignas(4) int16_t " + name + "_scratch[frugal::kernels::cortexm::fully_connected_scratch_bytes<" +
      name + "_shape>() / 2];\n";
  c.call = "frugal::kernels::cortexm::fully_connected<" + requant_type(packed.requant) + ">(" +
           name + "_shape{}, " + name + "_input, " + name + "_weights, " + name + "_quant, " +
           c.output_symbol + ", " + name + "_scratch);";
  return c;
}

inline FirmwareCase pool_case(const std::string& name, const PoolShape& s, bool max,
                              uint32_t seed) {
  using namespace detail_fw;
  std::mt19937 gen(seed);
  const auto input = random_bytes(gen, static_cast<size_t>(s.in_h) * s.in_w * s.channels);
  FirmwareCase c;
  c.name = name;
  c.expected.resize(static_cast<size_t>(s.out_h) * s.out_w * s.channels);
  const PoolParams p{s.stride_h, s.stride_w, s.filter_h, s.filter_w, s.pad_h, s.pad_w, s.act_min, s.act_max};
  const Dims4 in{1, s.in_h, s.in_w, s.channels}, out{1, s.out_h, s.out_w, s.channels};
  if (max) {
    reference::max_pool(p, in, input.data(), out, c.expected.data());
  } else {
    reference::average_pool(p, in, input.data(), out, c.expected.data());
  }
  c.output_symbol = name + "_output";
  c.declarations =
      "struct " + name + "_shape {\n" +
      members({{"in_h", s.in_h}, {"in_w", s.in_w}, {"channels", s.channels}, {"out_h", s.out_h},
               {"out_w", s.out_w}, {"filter_h", s.filter_h}, {"filter_w", s.filter_w},
               {"stride_h", s.stride_h}, {"stride_w", s.stride_w}, {"pad_h", s.pad_h},
               {"pad_w", s.pad_w}, {"act_min", s.act_min}, {"act_max", s.act_max}}) +
      "};\n" + array("int8_t", name + "_input", input) + "alignas(4) int8_t " + c.output_symbol +
      "[" + std::to_string(c.expected.size()) + "];\n";
  c.call = std::string("frugal::kernels::cortexm::") + (max ? "max_pool" : "average_pool") + "(" +
           name + "_shape{}, " + name + "_input, " + c.output_symbol + ");";
  return c;
}

inline FirmwareCase add_case(const std::string& name, int32_t elements, const AddParams& params,
                             uint32_t seed) {
  using namespace detail_fw;
  std::mt19937 gen(seed);
  const auto a = random_bytes(gen, static_cast<size_t>(elements));
  const auto b = random_bytes(gen, static_cast<size_t>(elements));
  FirmwareCase c;
  c.name = name;
  c.expected.resize(static_cast<size_t>(elements));
  const Dims4 d{1, 1, 1, elements};
  reference::add(params, d, a.data(), d, b.data(), d, c.expected.data());
  const AddQuant q = pack_add(params);
  const auto scale = [](const AddScale& x) {
    return "{" + std::to_string(x.multiplier) + "," + std::to_string(x.right_shift) + "," +
           std::to_string(x.nudge) + "," + std::to_string(x.sign_mask) + "}";
  };
  const auto qm = [](const QuantizedMultiplier& m) {
    return "{" + std::to_string(m.multiplier) + "," + std::to_string(m.shift) + "}";
  };
  const AddParams& p = q.params;
  c.requant = q.fast ? "fast" : "exact";
  c.output_symbol = name + "_output";
  c.declarations =
      "struct " + name + "_shape {\n" + members({{"elements", elements}}) + "};\n" +
      "const frugal::kernels::cortexm::AddQuant " + name + "_quant = {{" +
      std::to_string(p.input1_offset) + "," + std::to_string(p.input2_offset) + "," +
      std::to_string(p.output_offset) + "," + std::to_string(p.left_shift) + "," + qm(p.input1) +
      "," + qm(p.input2) + "," + qm(p.output) + "," + std::to_string(p.act_min) + "," +
      std::to_string(p.act_max) + "}," + std::to_string(q.fast) + "," +
      std::to_string(q.pre_shift) + "," + scale(q.input1) + "," + scale(q.input2) + "," +
      scale(q.output) + "};\n" + array("int8_t", name + "_a", a) + array("int8_t", name + "_b", b) +
      "alignas(4) int8_t " + c.output_symbol + "[" + std::to_string(elements) + "];\n";
  c.call = "frugal::kernels::cortexm::add(" + name + "_shape{}, " + name + "_quant, " + name +
           "_a, " + name + "_b, " + c.output_symbol + ");";
  return c;
}

// main.cc and the kernel headers. Case k runs in region k; its output goes to "<name>.bin".
inline std::vector<mcu::SourceFile> firmware_sources(const std::vector<FirmwareCase>& cases) {
  std::vector<mcu::SourceFile> files;
  // Every kernel source the generator ships, so the headers kernels.h includes are all there.
  for (const codegen::EmbeddedFile& file : codegen::kernel_source_files()) {
    files.push_back({std::filesystem::path("src") / file.name, std::string(file.contents)});
  }
  std::string main = "#include \"frugal_platform.h\"\n#include \"kernels/cortexm/kernels.h\"\n\n";
  for (const FirmwareCase& c : cases) main += c.declarations + "\n";
  main += "int main() {\n  frugal_mark_calibrate();\n";
  for (const FirmwareCase& c : cases) main += "  " + c.call + "\n  frugal_mark();\n";
  for (const FirmwareCase& c : cases) {
    main += "  if (frugal_host_write_file(\"" + c.name + ".bin\", " + c.output_symbol + ", sizeof " +
            c.output_symbol + ") != static_cast<long>(sizeof " + c.output_symbol + ")) return 2;\n";
  }
  main += "  return 0;\n}\n";
  files.push_back({"main.cc", main});
  return files;
}

inline std::vector<int8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<int8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The benches' firmware: `sources` written to `dir` (emptied first), built at -O2 and run on
// nucleo-f446re's QEMU stand-in with the Cortex-M4 cycle table.
inline mcu::RunResult run_bench_firmware(const std::filesystem::path& dir, const std::vector<mcu::SourceFile>& sources) {
  std::filesystem::remove_all(dir);
  const auto& board = codegen::find_board("nucleo-f446re");
  mcu::ProjectOptions options;
  options.include_directories = {"src"};
  options.optimization = "-O2";
  mcu::write_firmware_project(board, dir, sources, options);
  std::fprintf(stderr, "building %s\n", dir.c_str());
  const auto elf = mcu::build_firmware(dir, mcu::FirmwareTarget::kQemu, 2);
  mcu::RunOptions run_options;
  run_options.working_directory = dir;
  run_options.cycle_model = "m4";
  return mcu::run_firmware(board, elf, run_options);
}

}  // namespace frugal::kernels::cortexm::testing
