// The nearest codeword of each sub-vector of a layer being trained through its codewords
// (the straight-through projection of pq::fine_tune_layers), searched again only for the
// sub-vectors whose nearest codeword may have changed since the last search.
//
// For each sub-vector the last search leaves an anchor (where it was) and a margin (its
// distance to the second-nearest codeword minus that to the nearest). While it stays closer
// than half the margin to the anchor, the triangle inequality keeps the nearest codeword the
// nearest, so only the others are searched: training moves most weights a fraction of a
// codeword spacing per step. Searching all of them every step was most of a joint recovery
// round (the AD autoencoder: 132,096 sub-vectors x 256 codewords per step).
// Kept out of finetune.h: libtorch's headers are heavy, and only finetune.cpp and its tests
// need this.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <limits>

namespace frugal::pq {

class NearestCodewords {
 public:
  explicit NearestCodewords(torch::Tensor codebook) : codebook_(std::move(codebook)) {}

  // `sub`: S x d float sub-vectors (S and d the same on every call). Returns S codeword indices
  // (int64): those a full search (direct cdist + argmin) would give.
  const torch::Tensor& update(const torch::Tensor& sub) {
    torch::Tensor rows;  // the sub-vectors to search; all of them the first time
    if (assignment_.defined()) {
      const torch::Tensor moved = (sub - anchor_).norm(2, 1);
      rows = (moved * 2 >= margin_).nonzero().squeeze(1);
      if (rows.numel() == 0) return assignment_;
    }
    const torch::Tensor search = rows.defined() ? sub.index_select(0, rows) : sub;
    searched_ += search.size(0);
    // Distances computed directly, not through ||x||^2 - 2 x.c + ||c||^2 (cdist's matrix-product
    // path for many rows), whose rounding on int8-scale values (~2e-3 in squared distance) would
    // break the margin's guarantee and make a row's result depend on how many rows are searched.
    constexpr int64_t kDirect = 2;  // cdist compute_mode "donot_use_mm_for_euclid_dist"
    const torch::Tensor distances = torch::cdist(search, codebook_, 2.0, kDirect);
    const torch::Tensor nearest = distances.argmin(1);
    torch::Tensor margin;
    if (codebook_.size(0) < 2) {
      margin = torch::full({search.size(0)}, std::numeric_limits<float>::infinity());
    } else {
      const torch::Tensor two = std::get<0>(distances.topk(2, 1, /*largest=*/false, /*sorted=*/true));
      margin = two.select(1, 1) - two.select(1, 0);
    }
    if (!rows.defined()) {
      assignment_ = nearest;
      anchor_ = search.clone();
      margin_ = margin;
    } else {
      assignment_.index_copy_(0, rows, nearest);
      anchor_.index_copy_(0, rows, search);
      margin_.index_copy_(0, rows, margin);
    }
    return assignment_;
  }

  const torch::Tensor& codebook() const { return codebook_; }
  // Sub-vectors searched so far, over all calls.
  int64_t searched() const { return searched_; }

 private:
  torch::Tensor codebook_;  // K x d
  torch::Tensor assignment_, anchor_, margin_;
  int64_t searched_ = 0;
};

}  // namespace frugal::pq
