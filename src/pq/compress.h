// `frugal compress`: several int8 models into one bundle whose product-quantized weights share
// two codebooks, keeping every model within an accuracy-loss bound.
//
// Steps: pool the sub-vectors of every encodable layer of every model and learn the shared
// codebooks by k-means; then per model, encode layers greedily (largest first; first and last
// layers last) keeping each only if the validation score stays within the bound; then the
// paper's EM-like recovery (fine-tune a few layers by distillation, re-assign their codewords)
// and one more greedy pass over the layers it could not keep before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "data/eval_set.h"
#include "ir/graph.h"
#include "pq/bundle.h"
#include "pq/finetune.h"

namespace frugal::pq {

// The data of one model, in three disjoint parts: inputs for distillation, the split that
// steers the layer choice, and the split the reported accuracy comes from.
struct ModelSplits {
  data::EvalSet tuning, validation, evaluation;
  std::string description;  // one line: which records each split holds
};

// The documented splits (docs/product-quantization.md):
//   cifar10  tuning: data_batch_1 images 0..tuning_limit-1 (training images: only their inputs
//            are used); validation: test images 0-1999; evaluation: test images 2000-9999
//   kws01, vww01 (1,000 records)  by record i mod 10: tuning 0-2, validation 3-4, evaluation 5-9
//            (interleaved: vww01 is ordered by class)
//   ad01 (72 samples, 36 normal then 36 anomalous)  tuning = validation: even samples;
//            evaluation: odd samples (18 + 18 each way)
// Without the full shared data (the repo's fixtures), each split is every third record there,
// and `description` says so.
ModelSplits load_splits(data::Dataset dataset, const data::DataRoot& root, const ir::Tensor& input,
                        size_t tuning_limit = 2000);

// The data set whose records fit the model's input (the first of cifar10, kws01, vww01, ad01).
std::optional<data::Dataset> guess_dataset(const ir::Tensor& input);

// Top-1 for classifiers; ROC AUC of the mean window reconstruction error for ad01.
struct Score {
  std::string metric;  // "top1" or "auc"
  double value = 0.0;
};
Score score(const ir::Graph& graph, const data::EvalSet& set, unsigned threads = 0);

// What a model outputs on a set: the Top-1 class per inference, or for ad01 the anomaly score
// (mean window reconstruction error) per sample.
struct SetOutputs {
  std::vector<int32_t> predictions;
  std::vector<double> sample_scores;
};
SetOutputs set_outputs(const ir::Graph& graph, const data::EvalSet& set, unsigned threads = 0);
// The score of outputs set_outputs gave on `set`.
Score score(const SetOutputs& outputs, const data::EvalSet& set);

// How far a metric's loss (before - after, on the same inputs) can be trusted: a paired
// bootstrap over the set's samples. Each resample draws the samples with replacement (ad01:
// normal and anomalous samples separately, so both classes are in every resample) and scores
// both models on the same draw. Returns one loss per resample; the same seed gives the same
// losses.
std::vector<double> bootstrap_losses(const SetOutputs& before, const SetOutputs& after, const data::EvalSet& set,
                                     size_t resamples = 1000, uint64_t seed = 1);
// The central 95% of a set of values (2.5th and 97.5th percentiles, nearest rank).
std::pair<double, double> central95(std::vector<double> values);

// Label-free measures of how much of a model's behaviour a compressed copy keeps. The fraction
// of inferences whose Top-1 is the same: 1 - agreement bounds the Top-1 change on those inputs
// whatever their labels. For anomaly scores, the fraction of (normal, anomalous) sample pairs
// both models order the same way: 1 - agreement bounds the AUC change.
double top1_agreement(std::span<const int32_t> reference, std::span<const int32_t> predictions);
double pair_order_agreement(std::span<const double> reference, std::span<const double> scores,
                            std::span<const int32_t> labels);

// One step joint recovery could give back (a layer to its finer codebook or to int8): the
// validation score it wins back alone (negative: it loses) and the bits it costs.
struct GiveBackStep {
  double gain = 0.0;  // on the score the bound is on
  double cost_bits = 0.0;
  // What the steps are ordered by, when not by `gain` itself: the gain in fidelity to the
  // original model on data the bound never sees (the tuning inputs), so that the validation split
  // only says how many steps are enough.
  std::optional<double> merit;
  // The score the layer lost when the greedy pass encoded it (at this step's codebook) with no
  // training around it: what its encoding costs before the other layers adapt to it.
  std::optional<double> alone_loss;
};
// Which steps to take at once, best first: by merit (else gain) per bit among the steps whose
// merit is positive, taken in that order until their summed gains cover `deficit` (the score the
// model is short of its bound) or `max_steps` are taken. When no merit is positive, one step: the
// one whose layer lost most per bit alone (among the steps that know that), else the one with the
// highest merit. Weighed alone after joint training, nearly every step loses (the other layers
// were trained around the layer), and the least loss picks the layers that matter least: the
// largest, bytes aside.
// Steps measured alone do not add exactly, so the training rounds after them settle the rest;
// taking several per give-back saves those rounds for all but the last. Empty when `steps` is.
std::vector<size_t> choose_give_back_steps(std::span<const GiveBackStep> steps, double deficit, size_t max_steps);

// The ad01 autoencoder fine-tunes at this fraction of the classifiers' learning rate (0.01 at the
// CLI's 0.03). Every one of its 640 outputs is matched, not an arg-max: distilled from its own
// weights for two epochs, it changed 51% of them at 0.1, 9.6% at 0.03 and 0.2% at 0.01, and its
// int8 output moved 8.6, 0.58 and 0.017 (MSE) away from where it started (tests/pq_finetune).
inline constexpr float kAutoencoderRateFactor = 1.0f / 3.0f;

struct CompressInput {
  std::string name, source;
  ir::Graph graph;
  data::Dataset dataset = data::Dataset::kCifar10;
  ModelSplits splits;
};

// What the per-model accuracy-loss bound is measured on:
//   kValidation  the metric's drop on the validation split (Top-1, or AUC for ad01);
//   kAgreement   1 - top1_agreement / pair_order_agreement with the original model on the
//                validation inputs: a bound on the metric's change there whatever the labels,
//                so lucky gains cannot hide losses (docs/product-quantization.md).
enum class Bound : uint8_t { kValidation, kAgreement };

// What joint recovery chooses its best round by:
//   kValidation      the score the bound is on (the validation split): the bound then judges a
//                    round chosen on the same data, so it passes optimistic rounds;
//   kTuningFidelity  agreement with the original model on the tuning inputs (Top-1 agreement of
//                    the logits; the ad01 autoencoder: minus the mean squared difference of its
//                    outputs), so the validation split only judges.
enum class RoundChoice : uint8_t { kValidation, kTuningFidelity };

struct CompressOptions {
  int32_t row_subvector = 8;      // d of the row codebook (FC and 1x1 conv)
  int32_t kernel_subvector = 9;   // d of the 3x3 codebook: 9 whole kernels, else rows (weight_layers)
  int32_t row_codewords = 256;    // K of the row codebook
  int32_t kernel_codewords = 256; // K of the 3x3 kernel codebook
  // A second, finer codebook per kind (0: none), with the same K: a layer the first codebook
  // cannot keep within the bound tries it before staying int8 (greedy choice), and joint
  // recovery steps a layer to it before giving the layer back to int8.
  int32_t fine_row_subvector = 0;
  int32_t fine_kernel_subvector = 0;
  double max_accuracy_loss = 0.01;  // per model, on the validation split (fraction; AUC for ad01)
  Bound bound = Bound::kValidation;
  bool refit_scales = true;
  // At the end, round every weight scale to the compact form the bundle stores in 2 bytes
  // (pq::round_weight_scales: 12 significant bits; each bias keeps its real value). The accuracy
  // reported is the rounded model's. false: the scales stay floats, 8 bytes counted per entry.
  bool round_scales = true;
  // Choose codewords by the error they cause in each layer's output, measured on this many
  // tuning inputs (0: by the weight error alone).
  size_t statistics_inputs = 512;
  bool recover = true;            // the EM-like fine-tuning (needs libtorch)
  int32_t recovery_rounds = 2;    // fine-tune + re-assign rounds per tuned layer set
  int32_t max_tuned_layers = 3;
  // Layers the bound refused that get a recovery attempt, largest first (each costs a few
  // fine-tuning rounds).
  int32_t max_recovery_attempts = 4;
  // After the greedy choice: encode every encodable layer, then alternate fine-tuning ALL weight
  // layers jointly with re-assigning their codewords for this many rounds (giving layers back,
  // see below, until the model is within the bound); kept when it saves more than the greedy
  // result. 0: off.
  int32_t joint_rounds = 0;
  // The models (by name) that get the joint recovery; empty: all of them.
  std::vector<std::string> joint_models;
  // While the jointly trained model is over the bound, step encoded layers back (to the finer
  // codebook, else to int8; give_back_steps at a time, those that win back most score per byte)
  // and train on; false: all or nothing.
  bool joint_give_back = true;
  // At most this many steps back per give-back (choose_give_back_steps); 1: one layer at a time,
  // each followed by joint_rounds / 2 rounds of training.
  int32_t give_back_steps = 1;
  // A layer given back to int8 keeps its original weights and bias and is no longer trained;
  // false: it goes back to the original and trains on with the others as a dense layer (before
  // the eighth session, the only way).
  bool freeze_given_back = true;
  // When every give-back step loses score weighed alone: take the layer that lost most per byte
  // when the greedy pass encoded it alone; false: the step that loses least, bytes aside (before
  // the ninth session, the only way).
  bool give_back_by_alone_loss = true;
  RoundChoice round_choice = RoundChoice::kTuningFidelity;
  FineTuneOptions fine_tune;
  // Per model (by name), a learning rate other than fine_tune's (and kAutoencoderRateFactor's).
  std::vector<std::pair<std::string, float>> model_learning_rates;
  uint64_t seed = 1;
  unsigned threads = 0;
  // Codebooks to use instead of learning them (leave-one-out: codebooks from other models).
  std::vector<Codebook> fixed_codebooks;
  std::function<void(const std::string&)> log;  // progress lines
};

struct LayerResult {
  std::string name;  // the weight tensor's name
  std::string op;    // CONV_2D etc.
  int64_t weights = 0;
  bool encoded = false;
  int32_t subvector = 0;  // d of the codebook it is encoded with (0: int8)
  bool tuned = false;
  std::string note;  // why it was left int8
};

// One point of a model's joint recovery, in the order they happened.
struct JointStep {
  std::string event;         // "start" (every encodable layer encoded), "round" (after one round of
                             // training), "give-back" (after layers stepped back)
  int32_t encoded_layers = 0;
  double bound_score = 0.0;  // what the bound is on (ModelResult::bound_metric)
  std::optional<double> tuning_fidelity;  // RoundChoice::kTuningFidelity only
  bool best = false;         // the best so far: what a give-back or the result starts from
  std::string note;          // give-back: the steps taken
};

struct ModelResult {
  std::string name, dataset, metric;
  double before = 0.0, after = 0.0;                        // evaluation split
  // The evaluation loss (before - after) of each bootstrap resample, and their central 95%.
  std::vector<double> bootstrap_losses;
  double loss_low = 0.0, loss_high = 0.0;
  double validation_before = 0.0, validation_after = 0.0;  // validation split
  std::string bound_metric;  // "validation", "top1_agreement" or "pair_order_agreement"
  double bound_after = 0.0;  // the bound's measure at the end (validation_after, or the agreement)
  std::vector<LayerResult> layers;
  // Joint recovery (empty when it did not run): its course, the bound's reference value (the
  // original's score on the bound's measure) and whether its result replaced the greedy one.
  std::vector<JointStep> joint;
  double bound_reference = 0.0;
  bool joint_kept = false;
  ModelStorage storage;
  std::string splits;
};

struct CompressResult {
  Bundle bundle;
  std::vector<ModelResult> models;
  BundleStorage storage;
  // The average evaluation loss over the models, and the central 95% of its bootstrap (resample
  // k of every model averaged: the models' evaluation sets are independent).
  double average_loss = 0.0, average_loss_low = 0.0, average_loss_high = 0.0;
  double seconds = 0.0;
};

// The shared codebooks k-means learns from the encodable layers of `inputs` (what compress does
// first unless options.fixed_codebooks is set).
std::vector<Codebook> learn_shared_codebooks(const std::vector<CompressInput>& inputs, const CompressOptions& options);

CompressResult compress(std::vector<CompressInput> inputs, const CompressOptions& options);

// The heuristic choice of d and K per codebook. Each candidate is tried with the greedy layer
// choice alone (no recovery: seconds, not minutes), every model within its bound by
// construction, and the one that stores the fewest bytes wins (ties: the smaller average
// validation loss). Coordinate search: the row codebook's candidates with the 3x3 codebook as
// given, then the 3x3 codebook's with the chosen row codebook.
struct CodebookTrial {
  int32_t row_subvector = 0, row_codewords = 0, kernel_subvector = 0, kernel_codewords = 0;
  size_t stored_bytes = 0;
  double ratio_vs_fp32 = 0.0, ratio_vs_int8 = 0.0;
  double mean_validation_loss = 0.0;  // over the models, fraction (AUC for ad01)
  int32_t encoded_layers = 0;
  double seconds = 0.0;
};
struct CodebookCandidate {
  int32_t subvector = 0, codewords = 0;
};
// (d, K): 4, 2 and 1 bits per weight with 256 codewords, 2 and 1 with 16.
const std::vector<CodebookCandidate>& row_codebook_candidates();
// (d, K): whole 3x3 kernels (9) and OHWI rows of 2 and 4, with 256 and 16 codewords.
const std::vector<CodebookCandidate>& kernel_codebook_candidates();

struct CodebookSearch {
  CompressOptions options;             // the given options with the chosen d and K
  std::vector<CodebookTrial> trials;   // in the order tried
  size_t chosen = 0;                   // index into trials
};
CodebookSearch search_codebooks(const std::vector<CompressInput>& inputs, const CompressOptions& options);

}  // namespace frugal::pq
