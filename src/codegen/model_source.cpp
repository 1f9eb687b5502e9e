#include "codegen/model_source.h"

#include <fmt/format.h>

#include <set>
#include <variant>

#include "runtime/interpreter.h"
#include "runtime/lowering.h"

namespace frugal::codegen {
namespace {

using kernels::Dims4;
using kernels::QuantizedMultiplier;
using runtime::LoweredOp;

// Exact float literal (hexadecimal), so the firmware sees the very bits the host used.
std::string float_literal(float value) { return fmt::format("{:a}f", value); }

std::string dims(const Dims4& d) { return fmt::format("k::Dims4{{{}, {}, {}, {}}}", d.n, d.h, d.w, d.c); }

std::string multiplier(const QuantizedMultiplier& m) { return fmt::format("{{{}, {}}}", m.multiplier, m.shift); }

// Comma-separated values, a fixed number per line, so large weight arrays stay diffable.
template <typename T>
std::string value_list(const T* values, size_t count, size_t per_line = 24) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i % per_line == 0) out += "\n    ";
    if constexpr (std::is_same_v<T, float>) {
      out += float_literal(values[i]);
    } else {
      out += fmt::format("{}", static_cast<int64_t>(values[i]));
    }
    out += ", ";
  }
  return out;
}

std::string c_type(ir::DataType type) {
  switch (type) {
    case ir::DataType::kInt8: return "int8_t";
    case ir::DataType::kUInt8: return "uint8_t";
    case ir::DataType::kInt16: return "int16_t";
    case ir::DataType::kInt32: return "int32_t";
    case ir::DataType::kInt64: return "int64_t";
    case ir::DataType::kFloat32: return "float";
  }
  return "uint8_t";
}

class Emitter {
 public:
  Emitter(const ir::Graph& graph, KernelFlavor flavor)
      : graph_(graph), flavor_(flavor), model_(graph, runtime::KernelSet::kReference) {}

  ModelSource run() {
    ModelSource source;
    source.arena_bytes = model_.arena_bytes();
    std::string body;
    for (size_t i = 0; i < graph_.ops.size(); ++i) {
      const ir::Op& op = graph_.ops[i];
      const LoweredOp lowered = runtime::lower_op(graph_, op);
      body += fmt::format("  // layer {}: {} '{}'\n  {{\n", i, ir::to_string(op.type), escape_comment(op.name));
      body += emit_layer(i, op, lowered);
      body += "  }\n  frugal_mark();\n";
      source.layer_names.push_back(op.name);
      source.layer_ops.emplace_back(ir::to_string(op.type));
      source.layer_macs.push_back(ir::macs(graph_, op));
    }
    source.constant_bytes = constant_bytes_;
    source.files["frugal_model.h"] = header();
    source.files["model.cc"] = model_cc(body);
    return source;
  }

 private:
  static std::string escape_comment(const std::string& text) {
    std::string out;
    for (char c : text) out += (c == '\n' || c == '\r' || c == '*' || c == '/') ? '_' : c;
    return out;
  }

  // Pointer expression for an operand the kernel reads.
  std::string input_pointer(int32_t tensor, const char* type) {
    const ir::Tensor& t = graph_.tensor(tensor);
    if (t.is_constant) return fmt::format("reinterpret_cast<const {}*>({})", type, constant(tensor));
    return fmt::format("reinterpret_cast<const {}*>(arena + {})", type, model_.tensor_offset(tensor));
  }
  std::string output_pointer(int32_t tensor, const char* type) {
    return fmt::format("reinterpret_cast<{}*>(arena + {})", type, model_.tensor_offset(tensor));
  }

  // Name of the flash array holding a constant tensor (emitted once).
  std::string constant(int32_t tensor) {
    const std::string name = fmt::format("t{}", tensor);
    if (emitted_.insert(tensor).second) {
      const ir::Tensor& t = graph_.tensor(tensor);
      const size_t n = static_cast<size_t>(t.num_elements());
      std::string values;
      switch (t.type) {
        case ir::DataType::kInt8: values = value_list(t.data_as<int8_t>(), n); break;
        case ir::DataType::kUInt8: values = value_list(t.data_as<uint8_t>(), n); break;
        case ir::DataType::kInt16: values = value_list(t.data_as<int16_t>(), n); break;
        case ir::DataType::kInt32: values = value_list(t.data_as<int32_t>(), n); break;
        case ir::DataType::kInt64: values = value_list(t.data_as<int64_t>(), n); break;
        case ir::DataType::kFloat32: values = value_list(t.data_as<float>(), n); break;
      }
      constants_ += fmt::format("// tensor {} '{}'\nalignas(4) const {} {}[{}] = {{{}\n}};\n\n", tensor,
                                escape_comment(t.name), c_type(t.type), name, n, values);
      constant_bytes_ += t.num_bytes();
    }
    return name;
  }

  std::string multipliers(size_t layer, const std::vector<QuantizedMultiplier>& values) {
    const std::string name = fmt::format("l{}_multipliers", layer);
    std::string list;
    for (size_t i = 0; i < values.size(); ++i) list += (i % 8 == 0 ? "\n    " : "") + multiplier(values[i]) + ", ";
    constants_ += fmt::format("const k::QuantizedMultiplier {}[{}] = {{{}\n}};\n\n", name, values.size(), list);
    constant_bytes_ += values.size() * sizeof(QuantizedMultiplier);
    return name;
  }

  std::string bias(const ir::Op& op) {
    return op.inputs.size() > 2 && op.inputs[2] >= 0 ? constant(op.inputs[2]) : "nullptr";
  }

  std::string emit_layer(size_t layer, const ir::Op& op, const LoweredOp& lowered) {
    const int32_t out = lowered.output;
    const auto& in = lowered.inputs;
    return std::visit(
        [&](const auto& l) -> std::string {
          using L = std::decay_t<decltype(l)>;
          if constexpr (std::is_same_v<L, runtime::LoweredConv>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::ConvParams p = {{{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}}};\n"
                "    k::reference::{}(p, {}, {}, {}, {}, {}, {}, {}, {});\n",
                p.input_offset, p.output_offset, p.stride_h, p.stride_w, p.dilation_h, p.dilation_w, p.pad_h,
                p.pad_w, p.depth_multiplier, p.act_min, p.act_max, l.depthwise ? "depthwise_conv2d" : "conv2d",
                multipliers(layer, l.multipliers), dims(l.input), input_pointer(in[0], "int8_t"), dims(l.filter),
                input_pointer(op.inputs[1], "int8_t"), bias(op), dims(l.output), output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredFullyConnected>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::FullyConnectedParams p = {{{}, {}, {}, {}}};\n"
                "    k::reference::fully_connected(p, {}, {}, {}, {}, {}, {}, {}, {});\n",
                p.input_offset, p.output_offset, p.act_min, p.act_max, multipliers(layer, l.multipliers), l.batches,
                l.depth, input_pointer(in[0], "int8_t"), l.out_depth, input_pointer(op.inputs[1], "int8_t"),
                bias(op), output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredAdd>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::AddParams p = {{{}, {}, {}, {}, {}, {}, {}, {}, {}}};\n"
                "    k::reference::add(p, {}, {}, {}, {}, {}, {});\n",
                p.input1_offset, p.input2_offset, p.output_offset, p.left_shift, multiplier(p.input1),
                multiplier(p.input2), multiplier(p.output), p.act_min, p.act_max, dims(l.input1),
                input_pointer(in[0], "int8_t"), dims(l.input2), input_pointer(in[1], "int8_t"), dims(l.output),
                output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredMul>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::MulParams p = {{{}, {}, {}, {}, {}, {}}};\n"
                "    k::reference::mul(p, {}, {}, {}, {}, {}, {});\n",
                p.input1_offset, p.input2_offset, p.output_offset, multiplier(p.output), p.act_min, p.act_max,
                dims(l.input1), input_pointer(in[0], "int8_t"), dims(l.input2), input_pointer(in[1], "int8_t"),
                dims(l.output), output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredPool>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::PoolParams p = {{{}, {}, {}, {}, {}, {}, {}, {}}};\n"
                "    k::reference::{}(p, {}, {}, {}, {});\n",
                p.stride_h, p.stride_w, p.filter_h, p.filter_w, p.pad_h, p.pad_w, p.act_min, p.act_max,
                l.average ? "average_pool" : "max_pool", dims(l.input), input_pointer(in[0], "int8_t"),
                dims(l.output), output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredSoftmax>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::SoftmaxParams p = {{{}, {}, {}}};\n"
                "    k::reference::softmax(p, {}, {}, {}, {});\n",
                p.input_multiplier, p.input_left_shift, p.diff_min, l.outer, l.depth, input_pointer(in[0], "int8_t"),
                output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredQuantize>) {
            return fmt::format("    k::reference::quantize_float_to_int8({}, {}, {}, {}, {});\n",
                               float_literal(l.scale), l.zero_point, l.count, input_pointer(in[0], "float"),
                               output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredRequantize>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::RequantizeParams p = {{{}, {}, {}}};\n"
                "    k::reference::requantize_int8(p, {}, {}, {});\n",
                p.input_zero_point, p.output_zero_point, multiplier(p.multiplier), l.count,
                input_pointer(in[0], "int8_t"), output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredDequantize>) {
            return fmt::format("    k::reference::dequantize_int8_to_float({}, {}, {}, {}, {});\n",
                               float_literal(l.scale), l.zero_point, l.count, input_pointer(in[0], "int8_t"),
                               output_pointer(out, "float"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredPad>) {
            return fmt::format("    k::reference::pad({}, {}, {}, {}, {}, {}, {});\n", dims(l.input),
                               input_pointer(in[0], "int8_t"), dims(l.before), dims(l.after), l.value,
                               dims(l.output), output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredMean>) {
            const auto& p = l.params;
            return fmt::format(
                "    static constexpr k::MeanParams p = {{{}, {}, {}}};\n"
                "    k::reference::mean(p, {}, {}, {}u, {});\n",
                p.input_zero_point, p.output_zero_point, multiplier(p.multiplier), dims(l.input),
                input_pointer(in[0], "int8_t"), l.reduce_mask, output_pointer(out, "int8_t"));
          } else if constexpr (std::is_same_v<L, runtime::LoweredConcatenation>) {
            std::string pointers, extents;
            for (size_t i = 0; i < in.size(); ++i) {
              pointers += input_pointer(in[i], "int8_t") + ", ";
              extents += dims(l.inputs[i]) + ", ";
            }
            return fmt::format(
                "    const int8_t* const inputs[] = {{{}}};\n"
                "    static constexpr k::Dims4 extents[] = {{{}}};\n"
                "    k::reference::concatenation({}, extents, inputs, {}, {}, {});\n",
                pointers, extents, in.size(), l.axis, dims(l.output), output_pointer(out, "int8_t"));
          } else {
            static_assert(std::is_same_v<L, runtime::LoweredCopy>);
            const ir::Tensor& source = graph_.tensor(in[0]);
            if (!source.is_constant && model_.tensor_offset(in[0]) == model_.tensor_offset(out)) {
              return "    // the planner aliased this RESHAPE: nothing to move\n";
            }
            return fmt::format("    __builtin_memmove(arena + {}, {}, {});\n", model_.tensor_offset(out),
                               input_pointer(in[0], "uint8_t"), l.bytes);
          }
        },
        lowered.params);
  }

  std::string header() const {
    std::string sizes;
    for (size_t i = 0; i < graph_.inputs.size(); ++i) {
      sizes += fmt::format("#define FRUGAL_INPUT{}_BYTES {}u\n", i, graph_.tensor(graph_.inputs[i]).num_bytes());
    }
    for (size_t i = 0; i < graph_.outputs.size(); ++i) {
      sizes += fmt::format("#define FRUGAL_OUTPUT{}_BYTES {}u\n", i, graph_.tensor(graph_.outputs[i]).num_bytes());
    }
    return fmt::format(
        "// Generated by frugal from '{}'. The C API of the model.\n"
        "#ifndef FRUGAL_MODEL_H_\n#define FRUGAL_MODEL_H_\n\n#include <stdint.h>\n\n"
        "#define FRUGAL_ARENA_BYTES {}u\n#define FRUGAL_NUM_LAYERS {}u\n"
        "#define FRUGAL_NUM_INPUTS {}u\n#define FRUGAL_NUM_OUTPUTS {}u\n{}\n"
        "#ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n"
        "/* Prepares the model; 0 on success. */\nint frugal_init(void);\n"
        "/* The arena bytes of graph input / output `index` (NULL if out of range). */\n"
        "void* frugal_input(int index);\nconst void* frugal_output(int index);\n"
        "/* Runs every layer once; 0 on success. */\nint frugal_invoke(void);\n"
        "/* Called before the first layer and after every layer (per-layer measurement). */\n"
        "void frugal_mark(void);\n\n"
        "#ifdef __cplusplus\n}}\n#endif\n\n#endif  // FRUGAL_MODEL_H_\n",
        escape_comment(graph_.name), model_.arena_bytes(), graph_.ops.size(), graph_.inputs.size(),
        graph_.outputs.size(), sizes);
  }

  std::string model_cc(const std::string& body) const {
    std::string input_cases, output_cases;
    for (size_t i = 0; i < graph_.inputs.size(); ++i) {
      input_cases += fmt::format("    case {}: return arena + {};\n", i, model_.tensor_offset(graph_.inputs[i]));
    }
    for (size_t i = 0; i < graph_.outputs.size(); ++i) {
      output_cases += fmt::format("    case {}: return arena + {};\n", i, model_.tensor_offset(graph_.outputs[i]));
    }
    return fmt::format(
        "// Generated by frugal from '{}': weights in flash, one static arena, a straight-line invoke.\n"
        "#include \"frugal_model.h\"\n\n#include <stddef.h>\n\n#include \"kernels/reference/reference.h\"\n\n"
        "namespace {{\n\nnamespace k = frugal::kernels;\n\n"
        "alignas(16) uint8_t arena[FRUGAL_ARENA_BYTES];\n\n{}}}  // namespace\n\n"
        "extern \"C\" int frugal_init(void) {{ return 0; }}\n\n"
        "extern \"C\" void* frugal_input(int index) {{\n  switch (index) {{\n{}    default: return NULL;\n  }}\n}}\n\n"
        "extern \"C\" const void* frugal_output(int index) {{\n  switch (index) {{\n{}    default: return NULL;\n  }}\n}}\n\n"
        "extern \"C\" int frugal_invoke(void) {{\n  frugal_mark();\n{}  return 0;\n}}\n",
        escape_comment(graph_.name), constants_, input_cases, output_cases, body);
  }

  const ir::Graph& graph_;
  [[maybe_unused]] KernelFlavor flavor_;  // kCortexM lands with the Cortex-M kernels
  runtime::CompiledModel model_;
  std::set<int32_t> emitted_;
  std::string constants_;
  size_t constant_bytes_ = 0;
};

}  // namespace

ModelSource generate_model_source(const ir::Graph& graph, KernelFlavor flavor) {
  return Emitter(graph, flavor).run();
}

}  // namespace frugal::codegen
