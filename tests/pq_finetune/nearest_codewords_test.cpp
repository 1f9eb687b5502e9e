// NearestCodewords searches again only the sub-vectors that moved far enough to change their
// nearest codeword: along random walks it must give what a full search (cdist + argmin) gives
// at every step (direct distances, no matrix-product shortcut), while searching far fewer
// sub-vectors.
#include "pq/nearest_codewords.h"

#include <gtest/gtest.h>

namespace frugal::pq {
namespace {

TEST(NearestCodewords, MatchesAFullSearchAlongRandomWalks) {
  torch::manual_seed(3);
  for (const int64_t d : {1, 2, 4, 9}) {
    const int64_t k = 64, s = 2000;
    // Codewords and starting points on the int8 scale, as in fine-tuning (weights in int8 units).
    const torch::Tensor codebook = torch::randint(-128, 128, {k, d}).to(torch::kFloat);
    torch::Tensor sub = codebook.index_select(0, torch::randint(0, k, {s})) + torch::randn({s, d});
    NearestCodewords nearest(codebook);
    int64_t full = 0;
    for (int step = 0; step < 200; ++step) {
      // Adam-sized steps: a fraction of an int8 unit, a few weights jumping further.
      sub = sub + 0.1 * torch::randn({s, d}) + (torch::rand({s, 1}) < 0.01).to(torch::kFloat) * 20.0 * torch::randn({s, d});
      const torch::Tensor expected = torch::cdist(sub, codebook, 2.0, /*donot_use_mm_for_euclid_dist*/ 2).argmin(1);
      const torch::Tensor got = nearest.update(sub);
      ASSERT_TRUE(torch::equal(got, expected)) << "d = " << d << ", step " << step;
      full += s;
    }
    EXPECT_LT(nearest.searched(), full / 4) << "d = " << d;
  }
}

TEST(NearestCodewords, OneCodewordAndTies) {
  // One codeword: everything maps to it, and nothing is searched twice.
  NearestCodewords one(torch::tensor({1.0f, 2.0f}).reshape({1, 2}));
  const torch::Tensor sub = torch::tensor({0.0f, 0.0f, 5.0f, 5.0f}).reshape({2, 2});
  EXPECT_TRUE(torch::equal(one.update(sub), torch::zeros({2}, torch::kLong)));
  EXPECT_TRUE(torch::equal(one.update(sub + 100.0f), torch::zeros({2}, torch::kLong)));
  EXPECT_EQ(one.searched(), 2);
  // A point midway between two codewords has margin 0: it is searched again on every call.
  NearestCodewords two(torch::tensor({0.0f, 2.0f}).reshape({2, 1}));
  const torch::Tensor mid = torch::tensor({1.0f}).reshape({1, 1});
  two.update(mid);
  two.update(mid);
  EXPECT_EQ(two.searched(), 2);
  EXPECT_EQ(two.update(torch::tensor({1.5f}).reshape({1, 1}))[0].item<int64_t>(), 1);
}

}  // namespace
}  // namespace frugal::pq
