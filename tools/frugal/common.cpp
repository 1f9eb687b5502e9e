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
  std::error_code ec;
  // Checked first: a directory opens as a stream without error, leaving errno at 0 ("Success").
  if (fs::is_directory(path, ec)) {
    throw ir::Error("cannot read " + std::string(what) + " '" + path.string() + "': it is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ir::Error("cannot read " + std::string(what) + " '" + path.string() + "': " + std::strerror(errno));
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void check_output_path(const fs::path& path, std::string_view option, OutputKind kind) {
  const auto refuse = [&](const std::string& reason) {
    return ir::Error(fmt::format("cannot write {} '{}': {}", option, path.string(), reason));
  };
  if (path.empty()) throw refuse("empty path");
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (kind == OutputKind::kDirectory && fs::exists(status) && !fs::is_directory(status)) {
    throw refuse("it exists and is not a directory");
  }
  if (kind == OutputKind::kFile && fs::is_directory(status)) throw refuse("it is a directory");
  // The directory that has to take the new entries: for a file its parent, which must exist
  // (files are not given new directories); for a directory the nearest one that exists.
  fs::path parent = kind == OutputKind::kDirectory && fs::is_directory(status) ? path : path.parent_path();
  if (kind == OutputKind::kDirectory) {
    while (!parent.empty() && fs::status(parent, ec).type() == fs::file_type::not_found) parent = parent.parent_path();
  }
  if (parent.empty()) parent = ".";
  const fs::file_status parent_status = fs::status(parent, ec);
  if (!fs::exists(parent_status)) throw refuse(fmt::format("directory '{}' does not exist", parent.string()));
  if (!fs::is_directory(parent_status)) throw refuse(fmt::format("'{}' is not a directory", parent.string()));
  if (::access(parent.c_str(), W_OK) != 0) throw refuse(fmt::format("'{}': {}", parent.string(), std::strerror(errno)));
}

StagedDirectory::StagedDirectory(const fs::path& directory) : final_(directory), path_(directory) {
  std::error_code ec;
  if (fs::exists(directory, ec)) return;
  // "out/" names the directory "out" too.
  const fs::path name = directory.has_filename() ? directory : directory.parent_path();
  const fs::path parent = name.parent_path().empty() ? fs::path(".") : name.parent_path();
  // Built with append: GCC 12 raises a false -Wrestrict on the equivalent chain of operator+.
  std::string staging = ".";
  staging.append(name.filename().string()).append(".tmp-").append(std::to_string(::getpid()));
  // Missing directories above it are created too, and removed again unless committed.
  for (fs::path p = parent; !p.empty() && fs::status(p, ec).type() == fs::file_type::not_found; p = p.parent_path()) {
    created_ = p;
  }
  fs::create_directories(parent, ec);
  if (ec) throw ir::Error(fmt::format("cannot create '{}': {}", parent.string(), ec.message()));
  final_ = name;
  path_ = parent / staging;
  staged_ = true;
}

StagedDirectory::~StagedDirectory() {
  if (!staged_) return;
  std::error_code ignored;
  fs::remove_all(path_, ignored);
  if (!created_.empty()) fs::remove_all(created_, ignored);
}

void StagedDirectory::commit() {
  if (!staged_) return;
  std::error_code ec;
  fs::rename(path_, final_, ec);
  if (ec) throw ir::Error(fmt::format("cannot write '{}': {}", final_.string(), ec.message()));
  staged_ = false;
}

std::optional<double> parse_number(const std::string& text) {
  size_t used = 0;
  double value = 0.0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used != text.size()) return std::nullopt;
  return value;
}

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const std::optional<double> value = parse_number(text);
        if (!value) return fmt::format("'{}' is not a number", text);
        if (!(*value > 0.0)) return fmt::format("must be greater than 0, not {}", text);
        return {};
      },
      "POSITIVE");
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
                                          std::string_view pq_kernel, std::string_view weights) {
  codegen::GenerateOptions options;
  options.dense_weights = weights == "int16"  ? codegen::DenseWeights::kInt16
                          : weights == "auto" ? codegen::DenseWeights::kAuto
                                              : codegen::DenseWeights::kInt8;
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

void add_weights_option(CLI::App& command, std::string& weights) {
  command
      .add_option("--weights", weights,
                  "Weights of the dense conv / FC layers in flash: int8, int16 (pre-expanded: twice the bytes, "
                  "about 15% fewer instructions but only ~3% fewer estimated cycles, and flash wait states may "
                  "eat that) or auto (int16 for the layers with the most reuse first, while the firmware stays "
                  "within 3/4 of the board's flash)")
      ->check(CLI::IsMember({"auto", "int8", "int16"}))
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
