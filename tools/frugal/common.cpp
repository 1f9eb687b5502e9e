#include "common.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>
#include <thread>
#include <unistd.h>

#include "approx/skipping.h"
#include "pq/bundle.h"
#include "import/tflite/tflite_importer.h"

namespace frugal::cli {
namespace fs = std::filesystem;

ir::Graph load_model(const fs::path& spec) {
  // BUNDLE#NAME picks one model of a bundle; a bundle of one model needs no name.
  fs::path path = spec;
  std::string name;
  std::error_code ec;
  const std::string text = spec.string();
  const size_t hash = text.rfind('#');
  if (!fs::exists(path, ec) && hash != std::string::npos) {
    path = text.substr(0, hash);
    name = text.substr(hash + 1);
  }
  if (!fs::exists(path, ec)) throw ir::Error("cannot open model '" + path.string() + "': no such file");
  if (fs::is_directory(path, ec)) throw ir::Error("cannot open model '" + path.string() + "': it is a directory");
  const std::vector<uint8_t> bytes = read_file(path, "model");
  if (!pq::looks_like_bundle(bytes)) {
    if (!name.empty()) throw ir::Error("'" + path.string() + "' is not a bundle, so '#" + name + "' names nothing");
    return import::import_tflite_file(path);
  }
  pq::Bundle bundle = pq::read_bundle(bytes);
  std::vector<std::string> names;
  for (pq::BundleModel& model : bundle.models) {
    if (model.name == name || (name.empty() && bundle.models.size() == 1)) return std::move(model.graph);
    names.push_back(model.name);
  }
  throw ir::Error(fmt::format("bundle '{}' holds {}; pick one as {}#NAME", path.string(), fmt::join(names, ", "),
                              path.string()));
}

namespace {

std::vector<codegen::PqCodebookData> codebook_data(const pq::Bundle& bundle) {
  std::vector<codegen::PqCodebookData> out;
  for (const pq::Codebook& cb : bundle.codebooks) out.push_back({cb.codewords, cb.subvector, cb.words});
  return out;
}

}  // namespace

std::optional<LoadedBundle> load_bundle(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  const std::vector<uint8_t> bytes = read_file(path, "model");
  if (!pq::looks_like_bundle(bytes)) return std::nullopt;
  pq::Bundle bundle = pq::read_bundle(bytes);
  LoadedBundle loaded;
  loaded.codebooks = codebook_data(bundle);
  for (pq::BundleModel& model : bundle.models) loaded.models.emplace_back(model.name, std::move(model.graph));
  return loaded;
}

std::vector<codegen::PqCodebookData> load_codebooks(const fs::path& spec) {
  std::error_code ec;
  fs::path path = spec;
  const std::string text = spec.string();
  if (const size_t hash = text.rfind('#'); !fs::exists(path, ec) && hash != std::string::npos) path = text.substr(0, hash);
  if (!fs::is_regular_file(path, ec)) return {};
  const std::vector<uint8_t> bytes = read_file(path, "model");
  if (!pq::looks_like_bundle(bytes)) return {};
  return codebook_data(pq::read_bundle(bytes));
}

ir::Graph load_model(const fs::path& path, const fs::path& approx) {
  ir::Graph graph = load_model(path);
  if (approx.empty()) return graph;
  const approx::SkipConfig config = approx::load_config(approx);
  try {
    return approx::apply_resolved(graph, config);
  } catch (const ir::Error& e) {
    throw ir::Error(fmt::format("{}: {}", approx.string(), e.what()));
  }
}

void require_single_input_output(const ir::Graph& graph, std::string_view verb) {
  if (graph.inputs.size() != 1 || graph.outputs.size() != 1) {
    throw ir::Error("frugal " + std::string(verb) + " supports single-input single-output models; '" + graph.name +
                    "' has " + std::to_string(graph.inputs.size()) + " inputs and " +
                    std::to_string(graph.outputs.size()) + " outputs");
  }
}

runtime::KernelSet parse_kernels(std::string_view name) {
  if (name == "fast") return runtime::KernelSet::kFast;
  if (name == "reference") return runtime::KernelSet::kReference;
  throw ir::Error("unknown kernel set '" + std::string(name) + "' (expected fast or reference)");
}

std::string_view kernels_name(runtime::KernelSet kernels) {
  return kernels == runtime::KernelSet::kFast ? "fast" : "reference";
}

std::vector<uint8_t> read_file(const fs::path& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  if (!in || fs::is_directory(path, ec)) {
    throw ir::Error("cannot read " + std::string(what) + " '" + path.string() + "': " + std::strerror(errno));
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file_atomically(const fs::path& path, std::span<const uint8_t> bytes) {
  fs::path directory = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  // Built with append: GCC 12 raises a false -Wrestrict on the equivalent chain of operator+.
  std::string temporary_name = ".";
  temporary_name.append(path.filename().string()).append(".tmp-").append(std::to_string(::getpid()));
  fs::path temporary = directory / temporary_name;
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw ir::Error("cannot write '" + path.string() + "': " + std::strerror(errno));
    }
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw ir::Error("cannot write '" + path.string() + "': " + std::strerror(errno));
    }
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw ir::Error("cannot write '" + path.string() + "': " + ec.message());
  }
}

unsigned thread_count(unsigned requested, size_t work_items) {
  unsigned threads = requested != 0 ? requested : std::max(1u, std::thread::hardware_concurrency());
  if (work_items < threads) threads = static_cast<unsigned>(std::max<size_t>(work_items, 1));
  return threads;
}

std::string shape_string(const std::vector<int32_t>& shape) {
  if (shape.empty()) return "scalar";
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += 'x';
    text += std::to_string(shape[i]);
  }
  return text;
}

std::string with_commas(uint64_t value) {
  std::string digits = std::to_string(value);
  std::string text;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) text += ',';
    text += digits[i];
  }
  return text;
}

Json tensor_json(const ir::Tensor& tensor) {
  Json json;
  json["name"] = tensor.name;
  json["shape"] = tensor.shape;
  json["type"] = std::string(ir::to_string(tensor.type));
  if (tensor.quant.empty()) {
    json["scale"] = nullptr;
    json["zero_point"] = nullptr;
  } else if (tensor.quant.per_channel()) {
    json["scale"] = tensor.quant.scale;
    json["zero_point"] = tensor.quant.zero_point;
  } else {
    json["scale"] = tensor.quant.scale[0];
    json["zero_point"] = tensor.quant.zero_point.empty() ? 0 : tensor.quant.zero_point[0];
  }
  return json;
}

codegen::GenerateOptions generate_options(std::string_view kernels, std::string_view skip_kernel,
                                          std::string_view pq_kernel) {
  codegen::GenerateOptions options;
  options.pq_kernel = pq_kernel == "direct"    ? codegen::PqKernel::kDirect
                      : pq_kernel == "table"   ? codegen::PqKernel::kTable
                      : pq_kernel == "decoded" ? codegen::PqKernel::kDecoded
                                               : codegen::PqKernel::kAuto;
  options.flavor = kernels == "reference" ? codegen::KernelFlavor::kReference : codegen::KernelFlavor::kCortexM;
  options.skip_kernel = skip_kernel == "unrolled" ? codegen::SkipKernel::kUnrolled
                        : skip_kernel == "auto"   ? codegen::SkipKernel::kAuto
                                                  : codegen::SkipKernel::kTable;
  return options;
}

void add_skip_kernel_option(CLI::App& command, std::string& skip_kernel) {
  command
      .add_option("--skip-kernel", skip_kernel,
                  "Layers with skipped weights: table (quad-skipping kernel), unrolled (the paper's unrolled "
                  "GEMM, weights as SMLAD constants) or auto (per layer, unrolled where it is estimated faster "
                  "and fits the flash)")
      ->check(CLI::IsMember({"table", "unrolled", "auto"}))
      ->capture_default_str();
}

void add_pq_kernel_option(CLI::App& command, std::string& pq_kernel) {
  command
      .add_option("--pq-kernel", pq_kernel,
                  "Product-quantized layers of a bundle: auto (per layer the form estimated cheaper), direct "
                  "(codewords read from flash), table (input x codeword lookup tables) or decoded (dense kernels "
                  "on the decoded int8 weights)")
      ->check(CLI::IsMember({"auto", "direct", "table", "decoded"}))
      ->capture_default_str();
}

}  // namespace frugal::cli
