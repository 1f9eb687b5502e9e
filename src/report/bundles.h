// The browser bundles of the chart libraries, compiled in from report/node_modules by
// src/report/CMakeLists.txt. Internal to frugal_report.
#pragma once

#include <string_view>

namespace frugal::report::detail {

struct Bundle {
  std::string_view package;  // npm package name
  std::string_view version;  // as installed from report/package-lock.json
  std::string_view code;     // the minified UMD bundle, verbatim
};

Bundle vega_bundle();
Bundle vega_lite_bundle();
Bundle vega_embed_bundle();

}  // namespace frugal::report::detail
