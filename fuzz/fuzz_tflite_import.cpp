// libFuzzer entry point for the TFLite importer: any byte string must either import or end in
// ir::Error. Crashes, sanitizer reports and other exception types are bugs.
#include <cstddef>
#include <cstdint>
#include <span>

#include "import/tflite/tflite_importer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const frugal::ir::Graph graph =
        frugal::import::import_tflite_buffer(std::span<const uint8_t>(data, size), "fuzz");
    // Touch what consumers compute from an imported graph.
    for (const frugal::ir::Op& op : graph.ops) (void)frugal::ir::macs(graph, op);
  } catch (const frugal::ir::Error&) {
  }
  return 0;
}
