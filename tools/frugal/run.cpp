// frugal run MODEL --input IN --output OUT: raw tensors in, raw tensors out, so frugal can be
// compared byte for byte with any other engine.
#include <fmt/format.h>

#include <cstring>

#include "common.h"
#include "parallel.h"
#include "verbs.h"

namespace frugal::cli {

namespace {

// The tensor whose bytes `run` writes: the graph output, or an intermediate chosen by --tensor.
struct DumpTarget {
  int32_t tensor = -1;
  // Index of the op that produces it; -1 when it is the graph input (available before invoke).
  int32_t producer = -1;
  bool is_graph_output = true;
};

int32_t producer_of(const ir::Graph& graph, int32_t tensor) {
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    for (int32_t output : graph.ops[i].outputs) {
      if (output == tensor) return static_cast<int32_t>(i);
    }
  }
  return -1;
}

// NAME is a tensor name, an op name (its first output), or "softmax-input": the input of the
// last SOFTMAX, i.e. the logits a classifier's golden pre-softmax values are compared with.
DumpTarget resolve_target(const ir::Graph& graph, const std::string& name) {
  DumpTarget target;
  target.tensor = graph.outputs.at(0);
  if (name.empty()) return target;
  int32_t tensor = -1;
  if (name == "softmax-input") {
    for (const ir::Op& op : graph.ops) {
      if (op.type == ir::OpType::kSoftmax && !op.inputs.empty()) tensor = op.inputs[0];
    }
    if (tensor < 0) throw ir::Error("--tensor softmax-input: the model has no SOFTMAX op");
  } else {
    for (size_t i = 0; i < graph.tensors.size() && tensor < 0; ++i) {
      if (graph.tensors[i].name == name) tensor = static_cast<int32_t>(i);
    }
    for (size_t i = 0; i < graph.ops.size() && tensor < 0; ++i) {
      if (graph.ops[i].name == name && !graph.ops[i].outputs.empty()) tensor = graph.ops[i].outputs[0];
    }
    if (tensor < 0) throw ir::Error("--tensor '" + name + "': no tensor or op of that name in the model");
  }
  if (graph.tensor(tensor).is_constant) throw ir::Error("--tensor '" + name + "' is a constant, not an activation");
  target.tensor = tensor;
  target.producer = producer_of(graph, tensor);
  target.is_graph_output = tensor == graph.outputs[0];
  return target;
}

}  // namespace

CLI::App* add_run(CLI::App& app, RunOptions& options) {
  CLI::App* command = app.add_subcommand("run", "Run a model on raw input tensors and write the raw outputs");
  command->add_option("model", options.model, "Model file (.tflite)")->required();
  command->add_option("--input", options.input, "N input tensors back to back, in the model's input type and layout")
      ->required();
  command->add_option("--output", options.output, "Where to write the N output tensors back to back")->required();
  command->add_option("--kernels", options.kernels, "Kernel set (bit-identical results)")
      ->check(CLI::IsMember({"fast", "reference"}))
      ->capture_default_str();
  command->add_option("--threads", options.threads, "Worker threads (default: all cores)")
      ->check(positive_number());
  command->add_option("--tensor", options.tensor,
                      "Write this intermediate tensor (name, op name, or softmax-input) instead of the output");
  return command;
}

int run_run(const RunOptions& options) {
  const runtime::KernelSet kernels = parse_kernels(options.kernels);
  check_output_path(options.output, "--output", OutputKind::kFile);
  ir::Graph graph = load_model(options.model);
  require_single_input_output(graph, "run");
  const DumpTarget target = resolve_target(graph, options.tensor);
  runtime::CompiledModel model(std::move(graph), kernels);
  const ir::Graph& g = model.graph();

  const size_t input_bytes = model.input_bytes(0);
  std::vector<uint8_t> inputs = read_file(options.input, "input");
  if (inputs.empty() || inputs.size() % input_bytes != 0) {
    const ir::Tensor& input = g.tensor(g.inputs[0]);
    throw ir::Error(fmt::format("input file '{}' has {} bytes, not a non-zero multiple of the {} bytes of one {} {} "
                                "input tensor",
                                options.input, inputs.size(), input_bytes, ir::to_string(input.type),
                                shape_string(input.shape)));
  }
  const size_t count = inputs.size() / input_bytes;
  const size_t output_bytes = g.tensor(target.tensor).num_bytes();
  std::vector<uint8_t> outputs(count * output_bytes);

  const unsigned threads = thread_count(options.threads, count);
  const double seconds = run_parallel(model, count, threads, [&](size_t item, runtime::Session& session) {
    std::memcpy(session.input(0), inputs.data() + item * input_bytes, input_bytes);
    uint8_t* destination = outputs.data() + item * output_bytes;
    if (target.is_graph_output) {
      session.invoke();
      std::memcpy(destination, session.output(0), output_bytes);
    } else if (target.producer < 0) {
      std::memcpy(destination, session.tensor_data(target.tensor), output_bytes);
    } else {
      // Copied right after its producer runs: later ops may reuse its arena bytes.
      session.invoke([&](size_t op_index) {
        if (op_index == static_cast<size_t>(target.producer)) {
          std::memcpy(destination, session.tensor_data(target.tensor), output_bytes);
        }
      });
    }
  });
  write_file_atomically(options.output, outputs);
  fmt::print("{} inference{} ({} threads, {} kernels, {:.3f} s): wrote {} x {} bytes of '{}' to {}\n", count,
             count == 1 ? "" : "s", threads, kernels_name(kernels), seconds, count, output_bytes,
             g.tensor(target.tensor).name, options.output);
  return 0;
}

}  // namespace frugal::cli
