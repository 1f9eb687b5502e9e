// The kernel sources a generated firmware compiles (paths relative to src/, e.g.
// "kernels/reference/conv.cpp"), embedded in the binary at build time.
#pragma once

#include <span>

#include "codegen/embedded_file.h"

namespace frugal::codegen {

std::span<const EmbeddedFile> kernel_source_files();

}  // namespace frugal::codegen
