// The label-free measures behind `compress --bound agreement` and the bootstrap intervals of the
// evaluation losses, on cases worked out by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "data/eval_set.h"

#include "ir/graph.h"
#include "pq/compress.h"

namespace frugal::pq {
namespace {

TEST(Agreement, Top1CountsSamePredictions) {
  const std::vector<int32_t> reference = {0, 1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(top1_agreement(reference, reference), 1.0);
  // Two of five changed, whatever the labels: the Top-1 can move by at most 40%.
  EXPECT_DOUBLE_EQ(top1_agreement(reference, std::vector<int32_t>{0, 9, 2, 3, 0}), 0.6);
  EXPECT_DOUBLE_EQ(top1_agreement({}, {}), 1.0);
  EXPECT_THROW(top1_agreement(reference, std::vector<int32_t>{0}), ir::Error);
}

TEST(Agreement, PairOrderCountsNormalAnomalousPairs) {
  // Samples: two normal (label 0), two anomalous (1); the 4 labelled pairs are (n0, a2), (n0, a3),
  // (n1, a2), (n1, a3). Pairs of the same label do not count.
  const std::vector<int32_t> labels = {0, 0, 1, 1};
  const std::vector<double> reference = {1.0, 2.0, 3.0, 1.5};
  EXPECT_DOUBLE_EQ(pair_order_agreement(reference, reference, labels), 1.0);
  // Swapping the two normal samples' scores keeps every labelled pair but (n0, a3) and (n1, a3):
  // reference orders a3 above n0 and below n1, the copy the other way round for both.
  EXPECT_DOUBLE_EQ(pair_order_agreement(reference, std::vector<double>{2.0, 1.0, 3.0, 1.5}, labels), 0.5);
  // A tie where the reference had an order counts half: (n1, a3) tied -> 3.5 of 4.
  EXPECT_DOUBLE_EQ(pair_order_agreement(reference, std::vector<double>{1.0, 1.5, 3.0, 1.5}, labels), 0.875);
  // Scaling every score keeps every order: what matters is the ranking, not the values.
  EXPECT_DOUBLE_EQ(pair_order_agreement(reference, std::vector<double>{10.0, 20.0, 30.0, 15.0}, labels), 1.0);
  EXPECT_THROW(pair_order_agreement(reference, std::vector<double>{1.0}, labels), ir::Error);
}

data::EvalSet labelled(data::Dataset dataset, std::vector<int32_t> labels) {
  data::EvalSet set;
  set.dataset = dataset;
  set.labels = std::move(labels);
  return set;
}

TEST(Bootstrap, CentralNinetyFivePercentByNearestRank) {
  std::vector<double> values(40);
  std::iota(values.begin(), values.end(), 1.0);
  std::reverse(values.begin(), values.end());
  // ceil(0.025 x 40) = 1st and ceil(0.975 x 40) = 39th smallest.
  EXPECT_EQ(central95(values), (std::pair<double, double>{1.0, 39.0}));
  EXPECT_EQ(central95({}), (std::pair<double, double>{0.0, 0.0}));
}

TEST(Bootstrap, Top1LossesOfPairedResamples) {
  const data::EvalSet set = labelled(data::Dataset::kCifar10, {0, 1, 2, 3});
  const SetOutputs right{{0, 1, 2, 3}, {}};
  // Same outputs: every resample loses exactly nothing.
  for (const double loss : bootstrap_losses(right, right, set, 200)) EXPECT_EQ(loss, 0.0);
  // All right before, all wrong after: every resample loses everything.
  const SetOutputs wrong{{1, 2, 3, 0}, {}};
  for (const double loss : bootstrap_losses(right, wrong, set, 200)) EXPECT_EQ(loss, 1.0);
  // One of four samples turns wrong: a resample loses k/4 for the k draws of it, k ~ Binomial(4, 1/4),
  // so the losses average 1/4; P(k = 0) = 0.32 and P(k >= 3) = 0.051 put the central 95% at 0 .. 3/4.
  const SetOutputs one{{0, 1, 2, 0}, {}};
  const std::vector<double> losses = bootstrap_losses(right, one, set, 4000, 7);
  const double mean = std::accumulate(losses.begin(), losses.end(), 0.0) / static_cast<double>(losses.size());
  EXPECT_NEAR(mean, 0.25, 0.02);
  for (const double loss : losses) EXPECT_DOUBLE_EQ(loss * 4, std::round(loss * 4));
  EXPECT_EQ(central95(losses), (std::pair<double, double>{0.0, 0.75}));  // P(k >= 3) = 0.051
  EXPECT_EQ(bootstrap_losses(right, one, set, 50, 3), bootstrap_losses(right, one, set, 50, 3));
  EXPECT_THROW(bootstrap_losses(right, SetOutputs{{0}, {}}, set), ir::Error);
}

TEST(Bootstrap, AucResamplesKeepBothClasses) {
  // One normal and one anomalous sample: every stratified resample is that very pair, so the
  // loss is the full-set loss every time (AUC 1 before, 0 after: scores swapped).
  const data::EvalSet set = labelled(data::Dataset::kAd01, {0, 1});
  const SetOutputs before{{}, {0.1, 0.9}}, after{{}, {0.9, 0.1}};
  for (const double loss : bootstrap_losses(before, after, set, 100)) EXPECT_EQ(loss, 1.0);
  // More samples: resampling never leaves a class out (roc_auc would throw).
  const data::EvalSet bigger = labelled(data::Dataset::kAd01, {0, 0, 0, 1, 1, 1});
  const SetOutputs b{{}, {0.1, 0.2, 0.6, 0.5, 0.8, 0.9}}, a{{}, {0.1, 0.7, 0.3, 0.5, 0.8, 0.9}};
  EXPECT_EQ(bootstrap_losses(b, a, bigger, 500).size(), 500u);
}

}  // namespace
}  // namespace frugal::pq
