// Which layers joint recovery steps back at once (pq::choose_give_back_steps), on cases worked
// out by hand.
#include <gtest/gtest.h>

#include <vector>

#include "pq/compress.h"

namespace frugal::pq {
namespace {

using Steps = std::vector<GiveBackStep>;

TEST(GiveBack, OneStepIsTheBestGainPerBit) {
  // Gains per bit: 0.01/1000 = 1e-5, 0.004/100 = 4e-5, 0.02/4000 = 5e-6: the middle one.
  const Steps steps = {{0.01, 1000, {}, {}}, {0.004, 100, {}, {}}, {0.02, 4000, {}, {}}};
  EXPECT_EQ(choose_give_back_steps(steps, 0.05, 1), (std::vector<size_t>{1}));
}

TEST(GiveBack, StepsAreTakenUntilTheirGainsCoverTheDeficit) {
  const Steps steps = {{0.01, 1000, {}, {}}, {0.004, 100, {}, {}}, {0.02, 4000, {}, {}}};
  // Best first: 0.004 (short of 0.012), + 0.01 = 0.014 covers it; the third is not needed.
  EXPECT_EQ(choose_give_back_steps(steps, 0.012, 8), (std::vector<size_t>{1, 0}));
  // 0.004 + 0.01 + 0.02 = 0.034 is all there is to take.
  EXPECT_EQ(choose_give_back_steps(steps, 0.5, 8), (std::vector<size_t>{1, 0, 2}));
  // The cap holds even when the deficit is not covered.
  EXPECT_EQ(choose_give_back_steps(steps, 0.5, 2), (std::vector<size_t>{1, 0}));
  // A deficit already covered by the first step: only that one.
  EXPECT_EQ(choose_give_back_steps(steps, 0.001, 8), (std::vector<size_t>{1}));
}

TEST(GiveBack, StepsThatLoseScoreAreNotTakenWithWinners) {
  const Steps steps = {{-0.01, 10, {}, {}}, {0.002, 1000, {}, {}}, {0.0, 10, {}, {}}};
  EXPECT_EQ(choose_give_back_steps(steps, 0.5, 8), (std::vector<size_t>{1}));
}

TEST(GiveBack, WhenEveryStepLosesTheOneThatLosesLeast) {
  // Cost does not matter among losers: -0.001 beats -0.003 even at ten times the bits.
  const Steps steps = {{-0.003, 100, {}, {}}, {-0.001, 1000, {}, {}}, {-0.002, 10, {}, {}}};
  EXPECT_EQ(choose_give_back_steps(steps, 0.5, 8), (std::vector<size_t>{1}));
  EXPECT_EQ(choose_give_back_steps(Steps{{0.0, 5, {}, {}}}, 0.5, 8), (std::vector<size_t>{0}));
  EXPECT_TRUE(choose_give_back_steps(Steps{}, 0.5, 8).empty());
}

TEST(GiveBack, WhenEveryStepLosesTheLayerThatLostMostPerBitAlone) {
  // Merits all negative; alone losses per bit: 0.02/1000 = 2e-5, 0.004/100 = 4e-5, 0.01/1000 = 1e-5.
  // The second: most per bit, though the first loses least now and lost most in total.
  const Steps steps = {{-0.001, 1000, -0.001, 0.02}, {-0.05, 100, -0.004, 0.004}, {-0.002, 1000, -0.002, 0.01}};
  EXPECT_EQ(choose_give_back_steps(steps, 0.5, 8), (std::vector<size_t>{1}));
  // Steps that do not know their alone loss are left to the least-loss rule only when none does.
  const Steps partly = {{-0.001, 1000, -0.001, std::nullopt}, {-0.05, 100, -0.004, -0.001}};
  EXPECT_EQ(choose_give_back_steps(partly, 0.5, 8), (std::vector<size_t>{1}));
  // A step with merit is taken as before, alone losses aside.
  const Steps winner = {{0.001, 1000, 0.001, 0.0}, {-0.05, 100, -0.004, 0.5}};
  EXPECT_EQ(choose_give_back_steps(winner, 0.5, 8), (std::vector<size_t>{0}));
}

TEST(GiveBack, EqualRatesKeepTheLayerOrder) {
  const Steps steps = {{0.002, 200, {}, {}}, {0.001, 100, {}, {}}, {0.004, 400, {}, {}}};
  EXPECT_EQ(choose_give_back_steps(steps, 0.5, 8), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(choose_give_back_steps(steps, 0.5, 1), (std::vector<size_t>{0}));
}

TEST(GiveBack, MeritOrdersTheStepsAndTheGainsCoverTheDeficit) {
  // Merit per bit (tuning fidelity): 0.02/1000 = 2e-5, 0.001/100 = 1e-5, 0.06/2000 = 3e-5: the
  // third, then the first, then the second, whatever their gains on validation say.
  const Steps steps = {{0.001, 1000, 0.02, {}}, {0.05, 100, 0.001, {}}, {0.003, 2000, 0.06, {}}};
  EXPECT_EQ(choose_give_back_steps(steps, 0.5, 1), (std::vector<size_t>{2}));
  // Validation gains 0.003 + 0.001 = 0.004 cover a deficit of 0.004 after two steps.
  EXPECT_EQ(choose_give_back_steps(steps, 0.004, 8), (std::vector<size_t>{2, 0}));
  EXPECT_EQ(choose_give_back_steps(steps, 0.5, 8), (std::vector<size_t>{2, 0, 1}));
}

TEST(GiveBack, AStepWithoutMeritIsNotTakenWhateverItsGain) {
  // The second wins most on validation but loses fidelity on the tuning inputs: not taken.
  const Steps steps = {{0.001, 1000, 0.002, {}}, {0.05, 100, -0.001, {}}};
  EXPECT_EQ(choose_give_back_steps(steps, 0.5, 8), (std::vector<size_t>{0}));
  // When no step has merit, the one with the highest merit (least loss), not the best gain.
  const Steps losers = {{0.05, 100, -0.003, {}}, {-0.02, 100, -0.001, {}}};
  EXPECT_EQ(choose_give_back_steps(losers, 0.5, 8), (std::vector<size_t>{1}));
}

}  // namespace
}  // namespace frugal::pq
