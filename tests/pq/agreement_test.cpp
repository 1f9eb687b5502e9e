// The label-free measures behind `compress --bound agreement`, on cases worked out by hand.
#include <gtest/gtest.h>

#include <vector>

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

}  // namespace
}  // namespace frugal::pq
