// Random layers and skip masks for the computation-skipping kernels, shared by the host tests,
// the QEMU test and bench/cortexm_sparse.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/cortexm/sparse_pack.h"

namespace frugal::kernels::cortexm::testing {

enum class MaskKind {
  kElements,  // every (channel, operand) independently: at quad granularity little survives
  kGroups,    // whole kernel groups (realised exactly), exactly round(fraction * groups)
  kChannels,  // whole output channels
  kRanges,    // per channel a run of consecutive operands
};

inline const char* mask_kind_name(MaskKind m) {
  switch (m) {
    case MaskKind::kElements: return "elements";
    case MaskKind::kGroups: return "groups";
    case MaskKind::kChannels: return "channels";
    case MaskKind::kRanges: return "ranges";
  }
  return "?";
}

// [channels][k] mask skipping about `skip_fraction` of the positions in the given structure.
inline std::vector<uint8_t> random_mask(std::mt19937& gen, int32_t channels, int32_t k,
                                        double skip_fraction, MaskKind kind,
                                        SkipGranularity granularity = SkipGranularity::kQuad) {
  std::vector<uint8_t> mask(static_cast<size_t>(channels) * static_cast<size_t>(k), 0);
  std::bernoulli_distribution skip(skip_fraction);
  const auto at = [&](int32_t c, int32_t i) -> uint8_t& {
    return mask[static_cast<size_t>(c) * static_cast<size_t>(k) + static_cast<size_t>(i)];
  };
  switch (kind) {
    case MaskKind::kElements:
      for (auto& m : mask) m = skip(gen) ? 1 : 0;
      break;
    case MaskKind::kGroups: {
      // Exactly round(fraction * groups) whole kernel quads, chosen at random.
      std::vector<SkipGroup> groups = skip_groups(channels, k, granularity);
      std::shuffle(groups.begin(), groups.end(), gen);
      const auto n = static_cast<size_t>(skip_fraction * static_cast<double>(groups.size()) + 0.5);
      for (size_t j = 0; j < n; ++j) {
        for (const auto& [c, i] : groups[j].members) at(c, i) = 1;
      }
      break;
    }
    case MaskKind::kChannels:
      for (int32_t c = 0; c < channels; ++c) {
        if (skip(gen)) {
          for (int32_t i = 0; i < k; ++i) at(c, i) = 1;
        }
      }
      break;
    case MaskKind::kRanges:
      for (int32_t c = 0; c < channels; ++c) {
        const int32_t len = static_cast<int32_t>(skip_fraction * k + 0.5);
        const int32_t start = std::uniform_int_distribution<int32_t>(0, k - len)(gen);
        for (int32_t i = start; i < start + len; ++i) at(c, i) = 1;
      }
      break;
  }
  return mask;
}

// The mask the paired pair-quad kernel realises: pair-quad realisation over the channel order
// pair_channels picks, mapped back to the original channels.
inline std::vector<uint8_t> realize_paired(const std::vector<uint8_t>& mask, int32_t channels, int32_t k) {
  const std::vector<int32_t> order = pair_channels(mask.data(), channels, k);
  std::vector<uint8_t> permuted(mask.size()), back(mask.size());
  for (int32_t r = 0; r < channels; ++r) {
    std::copy_n(mask.begin() + static_cast<std::ptrdiff_t>(order[static_cast<size_t>(r)]) * k, k,
                permuted.begin() + static_cast<std::ptrdiff_t>(r) * k);
  }
  const std::vector<uint8_t> realised = realize_skip_mask(permuted.data(), channels, k);
  for (int32_t r = 0; r < channels; ++r) {
    std::copy_n(realised.begin() + static_cast<std::ptrdiff_t>(r) * k, k,
                back.begin() + static_cast<std::ptrdiff_t>(order[static_cast<size_t>(r)]) * k);
  }
  return back;
}

}  // namespace frugal::kernels::cortexm::testing
