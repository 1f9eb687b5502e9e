// A source file compiled into the frugal binary (see cmake/EmbedFiles.cmake), so firmware
// projects can be written without the source tree.
#pragma once

#include <string_view>

namespace frugal::codegen {

struct EmbeddedFile {
  std::string_view name;  // path relative to the folder it was embedded from
  std::string_view contents;
};

}  // namespace frugal::codegen
