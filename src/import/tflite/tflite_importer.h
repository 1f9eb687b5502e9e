// Reads an int8 TensorFlow Lite model (.tflite flatbuffer) into the frugal IR.
//
// The input is untrusted: every buffer is checked by the flatbuffers verifier before any field
// is read, and every index, size and option is checked before use. Anything frugal cannot run
// bit-exactly is refused with an ir::Error whose one-line message names the file, the operator
// or tensor, and what is wrong. The result has passed ir::validate.
//
// Tensor i of the IR is tensor i of the model's main subgraph (subgraph 0), so tensor indices
// in messages and tools match what TFLite tools (Netron, the TFLite interpreter) show.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "ir/graph.h"

namespace frugal::import {

ir::Graph import_tflite_file(const std::filesystem::path& path);

// `name` labels the model in error messages and becomes Graph::name.
ir::Graph import_tflite_buffer(std::span<const uint8_t> bytes, std::string name);

}  // namespace frugal::import
