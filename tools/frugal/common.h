// Helpers shared by the frugal verbs: model loading, file I/O that never leaves half-written
// outputs, formatting, and the JSON description of a tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codegen/firmware_project.h"
#include "ir/graph.h"
#include "runtime/interpreter.h"

namespace frugal::cli {

using Json = nlohmann::ordered_json;

// Imports a .tflite model; throws ir::Error with a one-line message if it cannot.
ir::Graph load_model(const std::filesystem::path& path);

// A bundle as the firmware generator takes it.
struct LoadedBundle {
  std::vector<std::pair<std::string, ir::Graph>> models;
  std::vector<codegen::PqCodebookData> codebooks;
};
// When `path` is a bundle file (no #NAME), its models and codebooks; nullopt for anything else.
std::optional<LoadedBundle> load_bundle(const std::filesystem::path& path);
// The codebooks of the bundle a model spec (BUNDLE#NAME) comes from; none for a .tflite.
std::vector<codegen::PqCodebookData> load_codebooks(const std::filesystem::path& spec);
// The same with a resolved skip configuration (frugal explore's point_K.json) applied when
// `approx` is not empty: the skipped weights become 0 and bias deltas are added.
ir::Graph load_model(const std::filesystem::path& path, const std::filesystem::path& approx);

// Refuses graphs with more than one input or output (the verbs feed and read one tensor).
void require_single_input_output(const ir::Graph& graph, std::string_view verb);

runtime::KernelSet parse_kernels(std::string_view name);
// Firmware generation options for --kernels cortexm|reference, --skip-kernel, --pq-kernel and
// --weights.
codegen::GenerateOptions generate_options(std::string_view kernels, std::string_view skip_kernel = "table",
                                          std::string_view pq_kernel = "auto", std::string_view weights = "int8");
void add_skip_kernel_option(CLI::App& command, std::string& skip_kernel);
void add_weights_option(CLI::App& command, std::string& weights);
void add_pq_kernel_option(CLI::App& command, std::string& pq_kernel);
std::string_view kernels_name(runtime::KernelSet kernels);

std::vector<uint8_t> read_file(const std::filesystem::path& path, std::string_view what);

// Refuses, before any work, an output that could not be written at the end: a file output
// (kFile) needs an existing writable directory above it and must not be a directory itself; a
// directory output (kDirectory) must not be an existing file, and the nearest existing directory
// above it must be writable. The message names the option and the reason.
enum class OutputKind { kFile, kDirectory };
void check_output_path(const std::filesystem::path& path, std::string_view option, OutputKind kind);

// The directory an output project is written into: a directory that does not exist yet is
// written under a temporary name beside it and renamed into place by commit(), so a failure
// part-way leaves nothing; an existing one is updated in place (a firmware project keeps its
// unchanged files, so make rebuilds only what changed).
class StagedDirectory {
 public:
  explicit StagedDirectory(const std::filesystem::path& directory);
  ~StagedDirectory();
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }
  void commit();

 private:
  std::filesystem::path final_, path_;
  std::filesystem::path created_;  // the topmost directory the constructor had to create, if any
  bool staged_ = false;
};

// The whole of `text` as a number (std::stod: leading white space allowed), or nullopt.
std::optional<double> parse_number(const std::string& text);
// For counts and rates that must be > 0: CLI11's PositiveNumber reports a 0 as "not in range
// 0.000000 to <a 309-digit number>".
CLI::Validator positive_number();
// Writes to a temporary file in the same directory, then renames it over `path`, so a failure
// leaves either the old file or nothing.
void write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> bytes);

// Worker threads to use: `requested` if non-zero, else the hardware concurrency; never more
// than `work_items` (and at least 1).
unsigned thread_count(unsigned requested, size_t work_items);

std::string shape_string(const std::vector<int32_t>& shape);  // "1x32x32x3"
std::string with_commas(uint64_t value);                       // "12,501,632"

// {"name", "shape", "type", "scale", "zero_point"}; scale/zero_point are null when unquantized.
Json tensor_json(const ir::Tensor& tensor);

}  // namespace frugal::cli
