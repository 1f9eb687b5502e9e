// Shared codebooks of product quantization: K codewords of d int8 values, learnt by k-means over
// sub-vectors pooled from every model of a bundle.
//
// Codewords live in the int8 domain of the weights (before the per-channel scale): TFLite's
// symmetric per-channel quantization maps each output channel's largest weight to +-127, so
// sub-vectors of different layers and models are already on one normalised scale and one
// codebook can serve them all, and a decoded weight is an ordinary int8 weight that the dense
// kernels run unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace frugal::pq {

// Which weights a codebook serves (the paper's two shared codebooks).
enum class CodebookKind : uint8_t {
  kKernel3x3,  // the 9 taps of one (output, input) pair of a 3x3 CONV_2D (layout kKernel)
  kRow,        // d consecutive weights of a FULLY_CONNECTED or 1x1 CONV_2D row (layout kRow)
};

std::string_view to_string(CodebookKind kind);

struct Codebook {
  CodebookKind kind = CodebookKind::kRow;
  int32_t subvector = 0;      // d
  int32_t codewords = 0;      // K
  std::vector<int8_t> words;  // K x d, row-major

  std::span<const int8_t> word(size_t k) const {
    return {words.data() + k * static_cast<size_t>(subvector), static_cast<size_t>(subvector)};
  }
  // Bits of one stored index: 4 when K <= 16 (two per byte), else 8 (K <= 256).
  int32_t index_bits() const { return codewords <= 16 ? 4 : 8; }
  size_t bytes() const { return words.size(); }
};

// Index of the codebook's all-zero codeword (the first, if several), -1 if it has none.
int32_t zero_codeword(const Codebook& codebook);

// Largest codebook the kernels address with one byte per index.
inline constexpr int32_t kMaxCodewords = 256;

struct KMeansOptions {
  int32_t iterations = 30;
  uint64_t seed = 1;
  unsigned threads = 0;  // 0: all cores
};

// Lloyd's k-means over `vectors` (n x d floats, row-major) with k-means++ seeding, weights
// `weights` (n, or empty for 1 each); centroids rounded to int8 at the end. Fewer distinct
// vectors than K leaves the extra codewords as copies (still valid indices). Deterministic for
// a given seed, whatever the thread count.
Codebook learn_codebook(CodebookKind kind, int32_t subvector, int32_t codewords, std::span<const float> vectors,
                        std::span<const float> weights = {}, const KMeansOptions& options = {});

// Index of the codeword nearest (squared L2) to `v` (d floats); ties go to the lowest index.
uint16_t nearest_codeword(const Codebook& codebook, std::span<const float> v);

}  // namespace frugal::pq
