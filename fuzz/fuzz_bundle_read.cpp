// libFuzzer entry point for the bundle reader: any byte string must either load (verified,
// decoded, every graph and encoding checked) or end in ir::Error. Crashes, sanitizer reports and
// other exception types are bugs.
#include <cstddef>
#include <cstdint>
#include <span>

#include "pq/bundle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const frugal::pq::Bundle bundle = frugal::pq::read_bundle(std::span<const uint8_t>(data, size));
    // What consumers compute from a loaded bundle.
    (void)frugal::pq::bundle_storage(bundle);
    for (const frugal::pq::BundleModel& model : bundle.models)
      for (const frugal::ir::Op& op : model.graph.ops) (void)frugal::ir::macs(model.graph, op);
  } catch (const frugal::ir::Error&) {
  }
  return 0;
}
