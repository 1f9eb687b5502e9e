// libFuzzer entry point for the approximation files a user hands to the CLI, checked against a
// fixed model (the fixture DS-CNN: CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED layers, so
// that every per-layer-type rule can be hit). Each input is read as
//   - a skip config (generate/bench --approx POINT.json): parsed, then applied as resolved as
//     load_model(path, approx) does, then resolved through a significance report as explore
//     does for fraction/count entries;
//   - a significance report (approx::load_report), matched against the model;
//   - a dense cost file (explore --costs BENCH.json).
// Every input must end in success or ir::Error with a one-line message (the CLI prints it as
// its only line). Crashes, sanitizer reports, other exception types, multi-line messages and a
// config that resolves but then does not apply are bugs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "approx/explore.h"
#include "approx/significance.h"
#include "approx/skipping.h"
#include "import/tflite/tflite_importer.h"
#include "runtime/interpreter.h"

namespace {

using namespace frugal;

struct Fixture {
  ir::Graph graph;
  approx::SignificanceReport report;
};

// Built once: importing and analysing per input would dwarf the readers under test.
const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    x.graph = import::import_tflite_file(FRUGAL_FUZZ_MODEL);
    const runtime::CompiledModel model(x.graph, runtime::KernelSet::kReference);
    // Statistics need only be well formed, not meaningful: a few seeded random inputs.
    std::vector<uint8_t> inputs(4 * model.input_bytes(0));
    std::mt19937 rng(7);
    for (uint8_t& b : inputs) b = static_cast<uint8_t>(rng());
    x.report = approx::analyze_significance(model, inputs, {1});
    return x;
  }();
  return f;
}

[[noreturn]] void bug(const char* what, const char* detail) {
  std::fprintf(stderr, "fuzz_approx_config: %s: %s\n", what, detail);
  std::abort();
}

void expect_one_line(const ir::Error& e) {
  if (std::strchr(e.what(), '\n') != nullptr || std::strchr(e.what(), '\r') != nullptr) {
    bug("multi-line error message", e.what());
  }
}

void skip_config(const Fixture& f, const std::string& text) {
  approx::SkipConfig config;
  try {
    config = approx::config_from_json(text);
  } catch (const ir::Error& e) {
    expect_one_line(e);
    return;
  }
  // Whatever parses writes back to a config that parses to the same text.
  const std::string written = approx::config_to_json(config);
  try {
    if (approx::config_to_json(approx::config_from_json(written)) != written) bug("round trip changed", written.c_str());
  } catch (const ir::Error& e) {
    bug("written config does not parse", e.what());
  }
  // generate/bench --approx.
  try {
    (void)approx::apply_resolved(f.graph, config);
  } catch (const ir::Error& e) {
    expect_one_line(e);
  }
  // explore: fraction/count entries resolved against the significance report.
  approx::SkipConfig resolved;
  try {
    resolved = approx::resolve_config(f.graph, f.report, config, true);
    (void)approx::skipped_macs(f.graph, f.report, config);
  } catch (const ir::Error& e) {
    expect_one_line(e);
    return;
  }
  try {
    (void)approx::apply_resolved(f.graph, resolved);
  } catch (const ir::Error& e) {
    bug("a resolved config does not apply", e.what());
  }
}

void significance_report(const Fixture& f, const std::string& text) {
  try {
    const approx::SignificanceReport report = approx::report_from_json(text);
    approx::check_report_matches(report, f.graph);
    approx::validate_config(f.graph, report, approx::uniform_skip(report, 0.5, approx::Measure::kResidualError));
  } catch (const ir::Error& e) {
    expect_one_line(e);
  }
}

void cost_file(const Fixture& f, const std::string& text) {
  try {
    const approx::InstructionCostModel costs =
        approx::InstructionCostModel::from_bench_json(f.graph, text, "nucleo-f446re");
    for (size_t op = 0; op < f.graph.ops.size(); ++op) (void)costs.cycles(op, 0.5);
  } catch (const ir::Error& e) {
    expect_one_line(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Fixture& f = fixture();
  const std::string text(reinterpret_cast<const char*>(data), size);
  skip_config(f, text);
  significance_report(f, text);
  cost_file(f, text);
  return 0;
}
