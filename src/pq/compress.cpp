#include "pq/compress.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <tuple>

#include "data/metrics.h"
#include "pq/compact.h"
#include "pq/encode.h"
#include "runtime/interpreter.h"

namespace frugal::pq {

namespace {

unsigned resolve_threads(unsigned threads) { return threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency()); }

// Runs `work(inference, session)` for every inference of `count`, spread over threads that each
// own a Session.
template <typename Work>
void for_each_inference(const runtime::CompiledModel& model, size_t count, unsigned threads, Work work) {
  threads = static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(resolve_threads(threads), count)));
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;
  auto run = [&] {
    try {
      runtime::Session session(model);
      for (size_t i = next++; i < count; i = next++) work(i, session);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = count;
    }
  };
  std::vector<std::thread> workers;
  for (unsigned t = 1; t < threads; ++t) workers.emplace_back(run);
  run();
  for (std::thread& w : workers) w.join();
  if (error) std::rethrow_exception(error);
}

// Tuned weights (int8 units) of a layer that stays dense back onto its int8 grid.
void round_to_int8(ir::Tensor& weights, std::span<const float> tuned) {
  auto* q = reinterpret_cast<int8_t*>(weights.data.data());
  for (size_t e = 0; e < tuned.size(); ++e) q[e] = static_cast<int8_t>(std::clamp(std::lround(tuned[e]), -127L, 127L));
}

// Tuned biases (accumulator units) back onto the int32 grid.
void round_to_int32(ir::Tensor& bias, std::span<const float> tuned) {
  auto* q = reinterpret_cast<int32_t*>(bias.data.data());
  constexpr double lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  for (size_t e = 0; e < tuned.size(); ++e)
    q[e] = static_cast<int32_t>(std::clamp(std::round(static_cast<double>(tuned[e])), lo, hi));
}

// Tuned scale gains into the graph: the layer's weight scales take them, and the tuned bias,
// which training kept in units of the old scales, is converted to the new ones (the int8-unit
// weights are relative to the channel's scale, so they stay as they are).
void fold_scale_gains(ir::Graph& g, int32_t op, TunedLayer& tuned) {
  if (tuned.scale_gains.empty()) return;
  const std::vector<double> gains(tuned.scale_gains.begin(), tuned.scale_gains.end());
  scale_output_channels(g, op, gains);
  for (size_t c = 0; c < tuned.bias.size(); ++c)
    tuned.bias[c] = static_cast<float>(tuned.bias[c] / gains[gains.size() == 1 ? 0 : c]);
  tuned.scale_gains.clear();
}

std::vector<float> int8_as_float(const ir::Tensor& t) {
  const auto n = static_cast<size_t>(t.num_elements());
  return {t.data_as<int8_t>(), t.data_as<int8_t>() + n};
}

std::vector<float> int32_as_float(const ir::Tensor& t) {
  std::vector<float> out(static_cast<size_t>(t.num_elements()));
  for (size_t e = 0; e < out.size(); ++e) out[e] = static_cast<float>(t.data_as<int32_t>()[e]);
  return out;
}

void append(data::EvalSet& to, const data::EvalSet& from) {
  to.inputs.insert(to.inputs.end(), from.inputs.begin(), from.inputs.end());
  to.labels.insert(to.labels.end(), from.labels.begin(), from.labels.end());
}

// More distillation inputs for the small keyword and person sets (300 tuning records): the
// student only has to match the teacher, so any plausible input teaches it, labels unused.
// Images get a mirrored copy; MFCC frames (time along the first axis) copies shifted by three
// frames each way, the edge frame repeated.
void augment_tuning(data::EvalSet& set, const ir::Tensor& input) {
  if (input.shape.size() != 4 || set.windows_per_sample != 1) return;
  const auto rows = static_cast<size_t>(input.shape[1]), cols = static_cast<size_t>(input.shape[2]);
  const size_t pixel = set.input_bytes / (rows * cols);  // channels x element size
  const size_t n = set.num_samples();
  data::EvalSet extra;
  extra.input_bytes = set.input_bytes;
  auto add = [&](size_t i, auto&& source_of) {
    const uint8_t* src = set.inputs.data() + i * set.input_bytes;
    for (size_t r = 0; r < rows; ++r)
      for (size_t c = 0; c < cols; ++c) {
        const auto [sr, sc] = source_of(r, c);
        const uint8_t* p = src + (sr * cols + sc) * pixel;
        extra.inputs.insert(extra.inputs.end(), p, p + pixel);
      }
    extra.labels.push_back(set.labels[i]);
  };
  for (size_t i = 0; i < n; ++i) {
    if (set.dataset == data::Dataset::kKws01) {
      for (const ptrdiff_t shift : {-3, 3}) {
        add(i, [&](size_t r, size_t c) {
          const auto from = std::clamp<ptrdiff_t>(static_cast<ptrdiff_t>(r) - shift, 0, static_cast<ptrdiff_t>(rows) - 1);
          return std::pair{static_cast<size_t>(from), c};
        });
      }
    } else {
      add(i, [&](size_t r, size_t c) { return std::pair{r, cols - 1 - c}; });
    }
  }
  append(set, extra);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Data

std::optional<data::Dataset> guess_dataset(const ir::Tensor& input) {
  for (const data::Dataset d : {data::Dataset::kCifar10, data::Dataset::kKws01, data::Dataset::kVww01, data::Dataset::kAd01}) {
    try {
      data::check_model_input(d, input);
      // A 32x32x3 image and a 96x96x3 one both take images; the shape decides.
      if (d == data::Dataset::kCifar10 && (input.shape.size() != 4 || input.shape[1] != 32)) continue;
      if (d == data::Dataset::kVww01 && (input.shape.size() != 4 || input.shape[1] != 96)) continue;
      return d;
    } catch (const ir::Error&) {
    }
  }
  return std::nullopt;
}

ModelSplits load_splits(data::Dataset dataset, const data::DataRoot& root, const ir::Tensor& input,
                        size_t tuning_limit) {
  ModelSplits s;
  const data::EvalSet all = data::load_eval_set(dataset, root, input);
  const size_t n = all.num_samples();
  const std::string where = root.fixtures ? " (repo fixtures only: small splits)" : "";
  switch (dataset) {
    case data::Dataset::kCifar10: {
      if (n >= 10000 && std::filesystem::exists(root.path / "cifar10" / "data_batch_1.bin")) {
        // Training batches in order, as many images as asked for and the shared data holds.
        s.tuning = data::load_cifar10_training(root, "data_batch_1.bin", input, tuning_limit);
        for (const char* batch : {"data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}) {
          const size_t have = s.tuning.num_samples();
          if (have >= tuning_limit || !std::filesystem::exists(root.path / "cifar10" / batch)) break;
          append(s.tuning, data::load_cifar10_training(root, batch, input, tuning_limit - have));
        }
        s.validation = data::slice(all, 0, 2000);
        s.evaluation = data::slice(all, 2000, n);
        s.description = fmt::format("tuning: the first {} CIFAR-10 training images (data_batch_1 on); validation: "
                                    "test images 0-1999; evaluation: test images 2000-{}",
                                    s.tuning.num_samples(), n - 1);
        return s;
      }
      break;
    }
    case data::Dataset::kKws01:
    case data::Dataset::kVww01:
      if (n >= 1000) {
        // Interleaved, because vww01 is ordered by class (500 person, then 500 no-person).
        s.tuning = data::interleaved(all, 10, 0, 3);
        s.validation = data::interleaved(all, 10, 3, 5);
        s.evaluation = data::interleaved(all, 10, 5, 10);
        const size_t records = s.tuning.num_samples();
        augment_tuning(s.tuning, input);
        s.description = fmt::format(
            "{} records by i mod 10: tuning 0-2 ({}, {} with {}), validation 3-4 ({}), evaluation 5-9 ({})",
            data::to_string(dataset), records, s.tuning.num_samples(),
            dataset == data::Dataset::kKws01 ? "copies shifted 3 frames earlier and later" : "mirrored copies",
            s.validation.num_samples(), s.evaluation.num_samples());
        return s;
      }
      break;
    case data::Dataset::kAd01:
      s.tuning = data::stride(all, 0, 2);
      s.validation = s.tuning;
      s.evaluation = data::stride(all, 1, 2);
      s.description = fmt::format("tuning = validation: ad01 even samples ({}); evaluation: odd samples ({}){}",
                                  s.tuning.num_samples(), s.evaluation.num_samples(), where);
      return s;
  }
  // Fixtures: a third each, interleaved, so the splits stay disjoint and keep the class mix.
  s.tuning = data::interleaved(all, 3, 0, 1);
  s.validation = data::interleaved(all, 3, 1, 2);
  s.evaluation = data::interleaved(all, 3, 2, 3);
  s.description = fmt::format("{} records by i mod 3: tuning 0, validation 1, evaluation 2{}", data::to_string(dataset),
                              where);
  return s;
}

SetOutputs set_outputs(const ir::Graph& graph, const data::EvalSet& set, unsigned threads) {
  const runtime::CompiledModel model(graph, runtime::KernelSet::kFast);
  const ir::Graph& g = model.graph();
  const ir::Tensor& in_desc = g.tensor(g.inputs.at(0));
  const ir::Tensor& out_desc = g.tensor(g.outputs.at(0));
  const size_t out_bytes = model.output_bytes(0);
  if (set.input_bytes != model.input_bytes(0)) {
    throw ir::Error(fmt::format("{}-byte records for a model taking {} bytes", set.input_bytes, model.input_bytes(0)));
  }
  const size_t inferences = set.num_inferences();
  SetOutputs out;
  if (set.dataset == data::Dataset::kAd01) {
    std::vector<double> errors(inferences);
    for_each_inference(model, inferences, threads, [&](size_t i, runtime::Session& session) {
      std::memcpy(session.input(0), set.input(i).data(), set.input_bytes);
      session.invoke();
      errors[i] = data::reconstruction_mse(in_desc, set.input(i), out_desc, {session.output(0), out_bytes});
    });
    out.sample_scores.assign(set.num_samples(), 0.0);
    for (size_t s = 0; s < out.sample_scores.size(); ++s) {
      for (size_t w = 0; w < set.windows_per_sample; ++w) out.sample_scores[s] += errors[s * set.windows_per_sample + w];
      out.sample_scores[s] /= static_cast<double>(set.windows_per_sample);
    }
    return out;
  }
  out.predictions.resize(inferences);
  for_each_inference(model, inferences, threads, [&](size_t i, runtime::Session& session) {
    std::memcpy(session.input(0), set.input(i).data(), set.input_bytes);
    session.invoke();
    out.predictions[i] = static_cast<int32_t>(data::argmax(out_desc.type, {session.output(0), out_bytes}));
  });
  return out;
}

Score score(const SetOutputs& outputs, const data::EvalSet& set) {
  if (set.dataset == data::Dataset::kAd01) return {"auc", data::roc_auc(outputs.sample_scores, set.labels)};
  return {"top1", data::top1_accuracy(outputs.predictions, set.labels)};
}

Score score(const ir::Graph& graph, const data::EvalSet& set, unsigned threads) {
  return score(set_outputs(graph, set, threads), set);
}

std::vector<double> bootstrap_losses(const SetOutputs& before, const SetOutputs& after, const data::EvalSet& set,
                                     size_t resamples, uint64_t seed) {
  const bool auc = set.dataset == data::Dataset::kAd01;
  const auto outputs = [&](const SetOutputs& o) { return auc ? o.sample_scores.size() : o.predictions.size(); };
  const size_t n = outputs(before);
  if (outputs(after) != n || set.labels.size() != n)
    throw ir::Error(fmt::format("bootstrap: {} outputs before, {} after, {} labels", n, outputs(after),
                                set.labels.size()));
  // ad01 resamples within each class: an AUC needs both.
  std::vector<std::vector<size_t>> strata(auc ? 2 : 1);
  for (size_t i = 0; i < n; ++i) strata[auc ? static_cast<size_t>(set.labels[i] != 0) : 0].push_back(i);
  std::mt19937_64 rng(seed);
  std::vector<double> losses;
  std::vector<double> sb, sa;
  std::vector<int32_t> pb, pa, labels;
  for (size_t r = 0; r < resamples; ++r) {
    sb.clear(), sa.clear(), pb.clear(), pa.clear(), labels.clear();
    for (const std::vector<size_t>& stratum : strata) {
      if (stratum.empty()) continue;
      std::uniform_int_distribution<size_t> pick(0, stratum.size() - 1);
      for (size_t k = 0; k < stratum.size(); ++k) {
        const size_t i = stratum[pick(rng)];
        labels.push_back(set.labels[i]);
        if (auc) {
          sb.push_back(before.sample_scores[i]);
          sa.push_back(after.sample_scores[i]);
        } else {
          pb.push_back(before.predictions[i]);
          pa.push_back(after.predictions[i]);
        }
      }
    }
    losses.push_back(auc ? data::roc_auc(sb, labels) - data::roc_auc(sa, labels)
                         : data::top1_accuracy(pb, labels) - data::top1_accuracy(pa, labels));
  }
  return losses;
}

std::pair<double, double> central95(std::vector<double> values) {
  if (values.empty()) return {0.0, 0.0};
  std::sort(values.begin(), values.end());
  const auto rank = [&](double q) {
    const auto k = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::clamp<size_t>(k, 1, values.size()) - 1];
  };
  return {rank(0.025), rank(0.975)};
}

std::vector<size_t> choose_give_back_steps(std::span<const GiveBackStep> steps, double deficit, size_t max_steps) {
  const auto merit = [&](size_t k) { return steps[k].merit.value_or(steps[k].gain); };
  std::vector<size_t> winners, chosen;
  for (size_t k = 0; k < steps.size(); ++k) {
    if (merit(k) > 0) winners.push_back(k);
  }
  if (winners.empty()) {
    if (steps.empty()) return chosen;
    const auto alone_rate = [&](size_t k) { return *steps[k].alone_loss / std::max(steps[k].cost_bits, 1.0); };
    std::optional<size_t> costliest;
    for (size_t k = 0; k < steps.size(); ++k) {
      if (steps[k].alone_loss && (!costliest || alone_rate(k) > alone_rate(*costliest))) costliest = k;
    }
    if (costliest) return {*costliest};
    size_t least = 0;
    for (size_t k = 1; k < steps.size(); ++k) {
      if (merit(k) > merit(least)) least = k;
    }
    return {least};
  }
  const auto rate = [&](size_t k) { return merit(k) / std::max(steps[k].cost_bits, 1.0); };
  std::stable_sort(winners.begin(), winners.end(), [&](size_t a, size_t b) { return rate(a) > rate(b); });
  double won = 0.0;
  for (const size_t k : winners) {
    if (chosen.size() >= std::max<size_t>(max_steps, 1) || won >= deficit) break;
    chosen.push_back(k);
    won += steps[k].gain;
  }
  return chosen;
}

double top1_agreement(std::span<const int32_t> reference, std::span<const int32_t> predictions) {
  if (reference.size() != predictions.size()) throw ir::Error("top1_agreement: sizes differ");
  // The Top-1 "accuracy" of the copy with the original's predictions as labels.
  return reference.empty() ? 1.0 : data::top1_accuracy(predictions, reference);
}

double pair_order_agreement(std::span<const double> reference, std::span<const double> scores,
                            std::span<const int32_t> labels) {
  if (reference.size() != scores.size() || reference.size() != labels.size()) {
    throw ir::Error("pair_order_agreement: sizes differ");
  }
  // Each (normal, anomalous) pair counts 1 when both models order it the same way, 1/2 when one
  // of them ties it and the other does not, 0 when they order it opposite ways.
  const auto sign = [](double d) { return d > 0.0 ? 1 : d < 0.0 ? -1 : 0; };
  double same = 0.0;
  size_t pairs = 0;
  for (size_t n = 0; n < labels.size(); ++n) {
    if (labels[n] != 0) continue;
    for (size_t a = 0; a < labels.size(); ++a) {
      if (labels[a] != 1) continue;
      ++pairs;
      const int r = sign(reference[a] - reference[n]), c = sign(scores[a] - scores[n]);
      same += r == c ? 1.0 : (r == 0 || c == 0) ? 0.5 : 0.0;
    }
  }
  return pairs == 0 ? 1.0 : same / static_cast<double>(pairs);
}

// ---------------------------------------------------------------------------------------------
// Compression

namespace {

// Tier 0: the codebooks every layer tries first; tier 1: the finer ones (--fine-subvector,
// --fine-kernel-subvector) a layer tries before it is left int8.
constexpr size_t kTiers = 2;

struct Codebooks {
  std::vector<Codebook> books;
  std::array<std::map<CodebookKind, int32_t>, kTiers> index;  // per tier: kind -> position in books
};

// Per model and tier, the weight layers as that tier's sub-vector lengths cut them (tier 1 empty
// when no finer codebook is asked for; a kind without a finer d is not encodable there).
using LayerTiers = std::array<std::vector<WeightLayer>, kTiers>;

LayerTiers layer_tiers(const ir::Graph& graph, const CompressOptions& options) {
  LayerTiers tiers;
  tiers[0] = weight_layers(graph, options.row_subvector, options.kernel_subvector);
  if (options.fine_row_subvector == 0 && options.fine_kernel_subvector == 0) return tiers;
  const int32_t row = options.fine_row_subvector != 0 ? options.fine_row_subvector : options.row_subvector;
  const int32_t kernel = options.fine_kernel_subvector != 0 ? options.fine_kernel_subvector : options.kernel_subvector;
  tiers[1] = weight_layers(graph, row, kernel);
  for (WeightLayer& layer : tiers[1]) {
    const bool fine = layer.kind == CodebookKind::kRow ? options.fine_row_subvector != 0 : options.fine_kernel_subvector != 0;
    if (layer.encodable && !fine) {
      layer.encodable = false;
      layer.reason = fmt::format("no finer {} codebook", to_string(layer.kind));
    }
  }
  return tiers;
}

Codebooks shared_codebooks(const std::vector<CompressInput>& inputs, const std::vector<LayerTiers>& layers,
                           const CompressOptions& options) {
  Codebooks cb;
  if (!options.fixed_codebooks.empty()) {
    // Per kind, the codebook of the longest sub-vector is tier 0, a second one tier 1.
    cb.books = options.fixed_codebooks;
    for (size_t i = 0; i < cb.books.size(); ++i) {
      auto& first = cb.index[0];
      const CodebookKind kind = cb.books[i].kind;
      const auto found = first.find(kind);
      if (found == first.end()) {
        first[kind] = static_cast<int32_t>(i);
      } else if (cb.books[i].subvector > cb.books[static_cast<size_t>(found->second)].subvector) {
        cb.index[1][kind] = found->second;
        first[kind] = static_cast<int32_t>(i);
      } else {
        cb.index[1][kind] = static_cast<int32_t>(i);
      }
    }
    return cb;
  }
  for (size_t tier = 0; tier < kTiers; ++tier) {
    for (const CodebookKind kind : {CodebookKind::kKernel3x3, CodebookKind::kRow}) {
      std::vector<float> pool;
      int32_t d = 0;
      for (size_t m = 0; m < inputs.size(); ++m) {
        for (const WeightLayer& layer : layers[m][tier]) {
          if (!layer.encodable || layer.kind != kind) continue;
          const std::vector<float> v = subvectors(inputs[m].graph.tensor(layer.weights), layer.layout, layer.subvector);
          pool.insert(pool.end(), v.begin(), v.end());
          d = layer.subvector;
        }
      }
      if (pool.empty()) continue;
      const int32_t k = kind == CodebookKind::kKernel3x3 ? options.kernel_codewords : options.row_codewords;
      if (options.log)
        options.log(fmt::format("k-means: {}{} codebook, {} sub-vectors of {}, {} codewords", tier == 0 ? "" : "finer ",
                                to_string(kind), pool.size() / static_cast<size_t>(d), d, k));
      KMeansOptions km;
      km.seed = options.seed;
      km.threads = options.threads;
      cb.index[tier][kind] = static_cast<int32_t>(cb.books.size());
      cb.books.push_back(learn_codebook(kind, d, k, pool, {}, km));
    }
  }
  return cb;
}

// Mean squared change of a layer's real weights against the original, per parameter, in units
// of the original scale: the paper's pick for the next layer to fine-tune.
double weight_change(const ir::Graph& original, const ir::Graph& current, int32_t tensor) {
  const ir::Tensor& a = original.tensor(tensor);
  const ir::Tensor& b = current.tensor(tensor);
  const auto n = static_cast<size_t>(a.num_elements());
  const size_t outputs = static_cast<size_t>(a.shape.at(0)), row = n / outputs;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const size_t o = i / row;
    const double sa = a.quant.scale[a.quant.per_channel() ? o : 0];
    const double sb = b.quant.scale[b.quant.per_channel() ? o : 0];
    const double diff = a.data_as<int8_t>()[i] - b.data_as<int8_t>()[i] * sb / sa;
    sum += diff * diff;
  }
  return sum / static_cast<double>(n);
}

class ModelCompressor {
 public:
  ModelCompressor(const CompressInput& input, const LayerTiers& tiers, const Codebooks& codebooks,
                  const CompressOptions& options)
      : in_(input), layers_(tiers[0]), tiers_(tiers), cb_(codebooks), opt_(options), current_(input.graph) {}

  ModelResult run() {
    ModelResult r;
    r.name = in_.name;
    r.dataset = std::string(data::to_string(in_.dataset));
    r.splits = in_.splits.description;
    SetOutputs original = set_outputs(in_.graph, in_.splits.validation, opt_.threads);
    const Score before = score(original, in_.splits.validation);
    r.metric = before.metric;
    r.validation_before = baseline_ = before.value;
    if (opt_.bound == Bound::kAgreement) {
      reference_ = std::move(original);
      baseline_ = 1.0;
      log(fmt::format("  the bound is on {} with the original model on the validation inputs; the 'validation' "
                      "figures below are that agreement (1.0: all)",
                      bound_metric()));
    }
    r.bound_metric = bound_metric();
    r.bound_reference = baseline_;
    evaluation_before_ = set_outputs(in_.graph, in_.splits.evaluation, opt_.threads);
    r.before = score(evaluation_before_, in_.splits.evaluation).value;
    log(fmt::format("{}: validation {} {:.4f}, evaluation {:.4f} ({})", in_.name, r.metric, r.validation_before,
                    r.before, in_.splits.description));
    if (const float rate = round_options(0).learning_rate; rate != opt_.fine_tune.learning_rate)
      log(fmt::format("  fine-tuning at learning rate {:g}", rate));

    // Largest layers first: they hold most of the bytes; first and last layers last.
    std::vector<size_t> order;
    for (size_t i = 0; i < layers_.size(); ++i)
      if (first_tier(i) < kTiers) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const bool ea = layers_[a].first || layers_[a].last, eb = layers_[b].first || layers_[b].last;
      if (ea != eb) return !ea;
      return layers_[a].elements > layers_[b].elements;
    });

    if (opt_.statistics_inputs > 0) {
      std::vector<int32_t> ops;
      for (const size_t i : order) ops.push_back(layers_[i].op);
      const data::EvalSet& tuning = in_.splits.tuning;
      const size_t n = std::min(tuning.num_inferences(), opt_.statistics_inputs);
      // Evenly spaced, so that a tuning split ordered by class or by sample is covered.
      std::vector<uint8_t> inputs;
      for (size_t k = 0; k < n; ++k) {
        const auto x = tuning.input(k * tuning.num_inferences() / n);
        inputs.insert(inputs.end(), x.begin(), x.end());
      }
      std::vector<InputStatistics> stats = collect_input_statistics(in_.graph, ops, inputs, n, 32, opt_.threads);
      statistics_.resize(layers_.size());
      for (size_t k = 0; k < order.size(); ++k) statistics_[order[k]] = std::move(stats[k]);
      log(fmt::format("  input statistics of {} layers from {} tuning inputs", ops.size(), n));
    }

    encoded_.assign(layers_.size(), false);
    alone_loss_.assign(layers_.size(), {});
    greedy_score_ = baseline_;
    tuned_.assign(layers_.size(), false);
    tier_.assign(layers_.size(), 0);
    std::vector<size_t> rejected;
    for (const size_t i : order) {
      bool kept = false;
      for (size_t tier = first_tier(i); tier < kTiers && !kept; ++tier) {
        if (!has_tier(i, tier)) continue;
        ir::Graph trial = current_;
        encode(trial, i, {}, tier);
        const double s = validate(trial);
        alone_loss_[i][tier] = greedy_score_ - s;  // what this layer adds to the loss so far
        if (within_bound(s)) {
          tier_[i] = tier;
          accept(std::move(trial), i, s, tier == 0 ? "encoded" : "encoded with the finer codebook");
          kept = true;
        } else {
          log(fmt::format("  {}: loses {:.2f} points alone{}", tensor_name(i), (baseline_ - s) * 100,
                          tier + 1 < kTiers && has_tier(i, tier + 1) ? ", trying the finer codebook" : ", kept int8 for now"));
        }
      }
      if (!kept) rejected.push_back(i);
    }
    if (opt_.recover && !rejected.empty()) {
      // Second pass with recovery: a layer the bound refused alone may fit once a few layers are
      // fine-tuned around it.
      // `rejected` is in the encoding order: largest layers first, first and last layers last.
      const auto attempts = std::min<size_t>(rejected.size(), static_cast<size_t>(std::max(0, opt_.max_recovery_attempts)));
      for (size_t k = 0; k < attempts; ++k) try_with_recovery(rejected[k]);
    }

    const bool joint = opt_.joint_models.empty() ||
                       std::find(opt_.joint_models.begin(), opt_.joint_models.end(), in_.name) != opt_.joint_models.end();
    if (opt_.recover && opt_.joint_rounds > 0 && joint && !order.empty()) joint_recovery(order);

    if (opt_.round_scales) {
      // Every candidate was validated with its scales rounded, so this is the model the bound
      // passed, unless nothing was accepted and the rounding alone crosses the bound.
      ir::Graph rounded = current_;
      const size_t moved = round_weight_scales(rounded);
      if (within_bound(validate(rounded))) {
        current_ = std::move(rounded);
        log(fmt::format("  {} weight scales rounded to {} significant bits (stored as 2-byte codes)", moved,
                        kScaleSignificandBits));
      } else {
        log("  weight scales kept as floats: rounding them alone would cross the bound");
      }
    }
    r.joint = joint_steps_;
    r.joint_kept = joint_kept_;
    const SetOutputs final_outputs = set_outputs(current_, in_.splits.validation, opt_.threads);
    r.validation_after = score(final_outputs, in_.splits.validation).value;
    r.bound_after = opt_.bound == Bound::kValidation ? r.validation_after : agreement(final_outputs);
    const SetOutputs evaluation_after = set_outputs(current_, in_.splits.evaluation, opt_.threads);
    r.after = score(evaluation_after, in_.splits.evaluation).value;
    r.bootstrap_losses = bootstrap_losses(evaluation_before_, evaluation_after, in_.splits.evaluation);
    std::tie(r.loss_low, r.loss_high) = central95(r.bootstrap_losses);
    for (size_t i = 0; i < layers_.size(); ++i) {
      const WeightLayer& layer = layers_[i];
      LayerResult lr;
      lr.name = tensor_name(i);
      lr.op = std::string(ir::to_string(in_.graph.ops[static_cast<size_t>(layer.op)].type));
      lr.weights = layer.elements;
      lr.encoded = encoded_[i];
      lr.subvector = encoded_[i] ? layer_at(i, tier_[i]).subvector : 0;
      lr.tuned = tuned_[i];
      if (!layer.encodable) lr.note = layer.reason;
      else if (!encoded_[i]) lr.note = "over the accuracy-loss bound";
      r.layers.push_back(std::move(lr));
    }
    log(fmt::format("{}: {} of {} weight layers encoded; evaluation {} {:.4f} -> {:.4f}", in_.name,
                    std::count(encoded_.begin(), encoded_.end(), true), layers_.size(), r.metric, r.before, r.after));
    return r;
  }

  ir::Graph take_graph() { return std::move(current_); }

 private:
  void log(const std::string& line) const {
    if (opt_.log) opt_.log(line);
  }
  std::string tensor_name(size_t i) const { return in_.graph.tensor(layers_[i].weights).name; }
  // What the bound is on: the validation metric, or (Bound::kAgreement) how much of the original
  // model's behaviour on the validation inputs the compressed one keeps, 1.0 for all of it.
  // With round_scales, on a copy whose weight scales are rounded as the bundle will store them.
  double validate(const ir::Graph& g) const {
    if (!opt_.round_scales) return bound_score(g);
    ir::Graph rounded = g;
    round_weight_scales(rounded);
    return bound_score(rounded);
  }
  double bound_score(const ir::Graph& g) const {
    const SetOutputs out = set_outputs(g, in_.splits.validation, opt_.threads);
    return opt_.bound == Bound::kValidation ? score(out, in_.splits.validation).value : agreement(out);
  }
  double agreement(const SetOutputs& out) const {
    if (in_.splits.validation.dataset == data::Dataset::kAd01) {
      return pair_order_agreement(reference_.sample_scores, out.sample_scores, in_.splits.validation.labels);
    }
    return top1_agreement(reference_.predictions, out.predictions);
  }
  std::string bound_metric() const {
    if (opt_.bound == Bound::kValidation) return "validation";
    return in_.splits.validation.dataset == data::Dataset::kAd01 ? "pair_order_agreement" : "top1_agreement";
  }
  bool within_bound(double s) const { return baseline_ - s <= opt_.max_accuracy_loss + 1e-12; }

  bool has_tier(size_t i, size_t tier) const { return i < tiers_[tier].size() && tiers_[tier][i].encodable; }
  // The first tier whose codebook can encode layer i (kTiers: none).
  size_t first_tier(size_t i) const {
    size_t tier = 0;
    while (tier < kTiers && !has_tier(i, tier)) ++tier;
    return tier;
  }
  const WeightLayer& layer_at(size_t i, size_t tier) const { return tiers_[tier][i]; }
  int32_t book_at(size_t i, size_t tier) const { return cb_.index[tier].at(layer_at(i, tier).kind); }

  void encode(ir::Graph& g, size_t i, std::span<const float> target, size_t tier) const {
    const int32_t book = book_at(i, tier);
    EncodeOptions eo;
    eo.refit_scales = opt_.refit_scales;
    // The statistics hold for any sub-vector length: they are the layer's input moments.
    if (!statistics_.empty()) eo.statistics = &statistics_[i];
    encode_layer(g, layer_at(i, tier), book, cb_.books[static_cast<size_t>(book)], eo, target);
  }

  void accept(ir::Graph g, size_t i, double s, const char* how) {
    current_ = std::move(g);
    encoded_[i] = true;
    greedy_score_ = s;
    log(fmt::format("  {}: {} ({} weights), validation {:.4f}", tensor_name(i), how, layers_[i].elements, s));
  }

  // The paper's choice of layers to fine-tune: first and last layers, then the encoded layers
  // whose weights moved most per parameter; `must` (the layer being added) always.
  std::vector<size_t> tuned_layers(const ir::Graph& g, size_t must) const {
    std::vector<size_t> chosen{must};
    for (size_t i = 0; i < layers_.size(); ++i)
      if ((layers_[i].first || layers_[i].last) && i != must) chosen.push_back(i);
    std::vector<std::pair<double, size_t>> moved;
    for (size_t i = 0; i < layers_.size(); ++i) {
      if (!encoded_[i] || std::find(chosen.begin(), chosen.end(), i) != chosen.end()) continue;
      moved.emplace_back(weight_change(in_.graph, g, layers_[i].weights), i);
    }
    std::sort(moved.rbegin(), moved.rend());
    for (const auto& [change, i] : moved) chosen.push_back(i);
    chosen.resize(std::min(chosen.size(), static_cast<size_t>(std::max(1, opt_.max_tuned_layers))));
    return chosen;
  }

  // How closely g follows the original model on the tuning inputs, higher is closer: the share
  // of them whose arg-max is the original's (classifiers: the distillation target is the logits
  // or the class scores), else minus the mean squared difference of the outputs (the ad01
  // autoencoder's reconstructions). With round_scales, on the rounded copy, as validate.
  double tuning_fidelity(const ir::Graph& g) {
    const std::vector<float>& reference = teacher();
    ir::Graph rounded = g;
    if (opt_.round_scales) round_weight_scales(rounded);
    const std::vector<float> out =
        teacher_targets(rounded, in_.splits.tuning.inputs, in_.splits.tuning.num_inferences(), opt_.threads);
    const size_t count = in_.splits.tuning.num_inferences();
    if (count == 0 || out.size() != reference.size()) return 0.0;
    const size_t width = out.size() / count;
    const bool classifier = in_.dataset != data::Dataset::kAd01;
    double sum = 0.0;
    for (size_t i = 0; i < count; ++i) {
      const auto a = out.begin() + static_cast<std::ptrdiff_t>(i * width);
      const auto b = reference.begin() + static_cast<std::ptrdiff_t>(i * width);
      if (classifier) {
        sum += std::max_element(a, a + static_cast<std::ptrdiff_t>(width)) - a ==
                       std::max_element(b, b + static_cast<std::ptrdiff_t>(width)) - b
                   ? 1.0
                   : 0.0;
      } else {
        for (size_t e = 0; e < width; ++e) sum -= (a[e] - b[e]) * (a[e] - b[e]) / static_cast<double>(width);
      }
    }
    return sum / static_cast<double>(count);
  }

  // The fine-tuning of one round: the model's own learning rate when it has one, a seed per round.
  FineTuneOptions round_options(int32_t round) const {
    FineTuneOptions ft = opt_.fine_tune;
    if (in_.dataset == data::Dataset::kAd01) ft.learning_rate *= kAutoencoderRateFactor;
    for (const auto& [name, rate] : opt_.model_learning_rates)
      if (name == in_.name) ft.learning_rate = rate;
    ft.seed = opt_.seed + static_cast<uint64_t>(round);
    ft.threads = opt_.threads;
    return ft;
  }

  const std::vector<float>& teacher() {
    if (teacher_.empty()) {
      teacher_ = teacher_targets(in_.graph, in_.splits.tuning.inputs, in_.splits.tuning.num_inferences(), opt_.threads);
    }
    return teacher_;
  }

  // Bits a layer saves when encoded with the tier's codebook: its int8 weights against its indices.
  double saved_bits(size_t i, size_t tier) const {
    const Codebook& cb = cb_.books[static_cast<size_t>(book_at(i, tier))];
    const auto elements = static_cast<double>(layers_[i].elements);
    return elements * 8.0 - elements / layer_at(i, tier).subvector * cb.index_bits();
  }

  // Back to the original int8 weights and bias.
  void restore_layer(ir::Graph& g, size_t i) const {
    const ir::Op& op = in_.graph.ops[static_cast<size_t>(layers_[i].op)];
    g.tensor(op.inputs[1]) = in_.graph.tensor(op.inputs[1]);
    if (op.inputs.size() > 2 && op.inputs[2] >= 0) g.tensor(op.inputs[2]) = in_.graph.tensor(op.inputs[2]);
  }

  // Every encodable layer encoded (with its first codebook), then rounds of fine-tuning all
  // weight layers together (the encoded ones through their codeword assignment, biases too) and
  // re-assigning codewords. While the model is over the bound, encoded layers step back (up to
  // give_back_steps, those that win back the most score per byte, on the tuning inputs when rounds
  // are chosen there): to the finer codebook when there is one and the layer is not on it yet,
  // else to its original int8 weights, frozen there unless !freeze_given_back; training goes on
  // from where it was. Kept instead of the greedy result when it is within the bound and saves more.
  void joint_recovery(const std::vector<size_t>& order) {
    std::vector<bool> joint(layers_.size(), false);
    // Given back to their original int8 weights and no longer trained (freeze_given_back).
    std::vector<bool> frozen(layers_.size(), false);
    std::vector<size_t> tier(layers_.size(), 0);
    for (const size_t i : order) {
      joint[i] = true;
      tier[i] = first_tier(i);
    }
    EncodeOptions plain;  // the assignment training sees: nearest codewords under the current scales
    plain.refit_scales = false;

    ir::Graph trial = in_.graph;
    for (const size_t i : order) encode(trial, i, {}, tier[i]);
    double best = validate(trial);
    // What a round is chosen by (RoundChoice): the validation score itself, or its fidelity to
    // the original model on the tuning inputs, so that the bound then judges the chosen round on
    // data nothing was chosen on.
    const bool on_tuning = opt_.round_choice == RoundChoice::kTuningFidelity;
    double best_choice = on_tuning ? tuning_fidelity(trial) : best;
    log(fmt::format("  joint: all {} encodable layers encoded, validation {:.4f}{}", order.size(), best,
                    on_tuning ? fmt::format(", tuning fidelity {:.4f}", best_choice) : std::string()));
    const auto record = [&](const char* event, double score, std::optional<double> fidelity, bool is_best,
                            std::string note) {
      joint_steps_.push_back({event, static_cast<int32_t>(std::count(joint.begin(), joint.end(), true)), score,
                              fidelity, is_best, std::move(note)});
    };
    record("start", best, on_tuning ? std::optional<double>(best_choice) : std::nullopt, true, {});
    ir::Graph best_graph = trial;
    std::vector<TunedLayer> latent, best_latent;  // unrounded parameters training continues from
    int32_t rounds = opt_.joint_rounds;
    for (;;) {
      for (int32_t round = 0; round < rounds; ++round) {
        const FineTuneOptions ft = round_options(round);
        std::vector<size_t> trained;  // indices into layers_
        std::vector<int32_t> ops;
        std::vector<CodewordProjection> projections;
        std::vector<TunedLayer> start;
        for (size_t k = 0; k < layers_.size(); ++k) {
          if (frozen[k]) continue;
          trained.push_back(k);
          ops.push_back(layers_[k].op);
          if (!latent.empty()) start.push_back(latent[k]);
          projections.emplace_back();
          if (!joint[k]) continue;
          const Codebook& cb = cb_.books[static_cast<size_t>(book_at(k, tier[k]))];
          const WeightLayer& layer = layer_at(k, tier[k]);
          projections.back() = {cb.words.data(), cb.codewords, cb.subvector,
                                subvector_offsets(trial.tensor(layer.weights), layer.layout, layer.subvector)};
        }
        if (trained.empty()) break;
        std::vector<TunedLayer> tuned = fine_tune_layers(trial, ops, in_.splits.tuning.inputs,
                                                         in_.splits.tuning.num_inferences(), teacher(), ft, projections,
                                                         start);
        latent.resize(layers_.size());
        for (size_t t = 0; t < trained.size(); ++t) latent[trained[t]] = std::move(tuned[t]);
        for (const size_t k : trained) {
          fold_scale_gains(trial, layers_[k].op, latent[k]);
          if (joint[k]) {
            const int32_t book = book_at(k, tier[k]);
            encode_layer(trial, layer_at(k, tier[k]), book, cb_.books[static_cast<size_t>(book)], plain,
                         latent[k].weights);
          } else {
            round_to_int8(trial.tensor(layers_[k].weights), latent[k].weights);
          }
          const ir::Op& op = trial.ops[static_cast<size_t>(layers_[k].op)];
          if (!latent[k].bias.empty()) round_to_int32(trial.tensor(op.inputs[2]), latent[k].bias);
        }
        const double s = validate(trial);
        const double choice = on_tuning ? tuning_fidelity(trial) : s;
        log(fmt::format("  joint: round {} tuning {} layers ({} encoded), validation {:.4f}{}", round + 1, trained.size(),
                        std::count(joint.begin(), joint.end(), true), s,
                        on_tuning ? fmt::format(", tuning fidelity {:.4f}", choice) : std::string()));
        record("round", s, on_tuning ? std::optional<double>(choice) : std::nullopt, choice > best_choice, {});
        if (choice > best_choice) {
          best_choice = choice;
          best = s;
          best_graph = trial;
          best_latent = latent;
        }
      }
      if (within_bound(best) || !opt_.joint_give_back || std::count(joint.begin(), joint.end(), true) == 0) break;

      // Which encoded layers step back (to the finer codebook, from the weights training
      // reached; else to their original int8 weights): each step is weighed alone on the best
      // round, and choose_give_back_steps takes the ones that win back most score per bit.
      const auto finer = [&](size_t k) { return tier[k] + 1 < kTiers && has_tier(k, tier[k] + 1); };
      const auto step_back = [&](ir::Graph& g, size_t k) {
        if (finer(k)) {
          const int32_t book = book_at(k, tier[k] + 1);
          encode_layer(g, layer_at(k, tier[k] + 1), book, cb_.books[static_cast<size_t>(book)], plain,
                       best_latent.empty() ? std::span<const float>{} : std::span<const float>(best_latent[k].weights));
        } else {
          restore_layer(g, k);
        }
      };
      std::vector<size_t> candidates;
      std::vector<GiveBackStep> steps;
      for (size_t k = 0; k < layers_.size(); ++k) {
        if (!joint[k]) continue;
        ir::Graph stepped = best_graph;
        step_back(stepped, k);
        const double cost = saved_bits(k, tier[k]) - (finer(k) ? saved_bits(k, tier[k] + 1) : 0.0);
        candidates.push_back(k);
        steps.push_back({validate(stepped) - best, cost,
                         on_tuning ? std::optional<double>(tuning_fidelity(stepped) - best_choice) : std::nullopt,
                         opt_.give_back_by_alone_loss ? alone_loss_[k][tier[k]] : std::nullopt});
      }
      const double deficit = baseline_ - opt_.max_accuracy_loss - best;
      std::string taken;
      for (const size_t c : choose_give_back_steps(steps, deficit, static_cast<size_t>(opt_.give_back_steps))) {
        const size_t pick = candidates[c];
        const bool to_finer = finer(pick);
        step_back(best_graph, pick);
        if (to_finer) {
          ++tier[pick];
        } else {
          joint[pick] = false;
          frozen[pick] = opt_.freeze_given_back;
          if (!best_latent.empty()) {
            const ir::Op& op = in_.graph.ops[static_cast<size_t>(layers_[pick].op)];
            best_latent[pick].weights = int8_as_float(in_.graph.tensor(op.inputs[1]));
            if (!best_latent[pick].bias.empty()) best_latent[pick].bias = int32_as_float(in_.graph.tensor(op.inputs[2]));
          }
        }
        const std::string step = fmt::format(
            "{} {} ({:+.4f} alone{}{})", tensor_name(pick),
            to_finer ? fmt::format("to the finer codebook (d = {})", layer_at(pick, tier[pick]).subvector)
                     : std::string(opt_.freeze_given_back ? "back to int8, its original weights" : "back to int8"),
            steps[c].gain, steps[c].merit ? fmt::format(", tuning fidelity {:+.4f}", *steps[c].merit) : std::string(),
            steps[c].alone_loss ? fmt::format("; lost {:.4f} in the greedy pass", *steps[c].alone_loss) : std::string());
        log("  joint: " + step);
        taken += (taken.empty() ? "" : "; ") + step;
      }
      trial = best_graph;
      latent = best_latent;
      best = validate(trial);
      best_choice = on_tuning ? tuning_fidelity(trial) : best;
      log(fmt::format("  joint: validation {:.4f} after giving back", best));
      record("give-back", best, on_tuning ? std::optional<double>(best_choice) : std::nullopt, true, taken);
      rounds = std::max(1, opt_.joint_rounds / 2);
    }

    double joint_saved = 0.0, greedy_saved = 0.0;
    for (size_t i = 0; i < layers_.size(); ++i) {
      if (joint[i]) joint_saved += saved_bits(i, tier[i]);
      if (encoded_[i]) greedy_saved += saved_bits(i, tier_[i]);
    }
    if (within_bound(best) && joint_saved > greedy_saved) {
      current_ = std::move(best_graph);
      encoded_ = joint;
      tier_ = tier;
      std::fill(tuned_.begin(), tuned_.end(), true);
      joint_kept_ = true;
      log(fmt::format("  joint: kept, {} layers encoded ({:.0f} bytes saved, greedy: {:.0f}), validation {:.4f}",
                      std::count(joint.begin(), joint.end(), true), joint_saved / 8, greedy_saved / 8, best));
    } else {
      log(fmt::format("  joint: not kept (validation {:.4f}, {:.0f} bytes saved against the greedy {:.0f})", best,
                      joint_saved / 8, greedy_saved / 8));
    }
  }

  // Layer i with its first codebook, and the layers around it, fine-tuned.
  void try_with_recovery(size_t i) {
    ir::Graph trial = current_;
    const size_t tier_i = first_tier(i);
    encode(trial, i, {}, tier_i);
    const std::vector<size_t> tuned = tuned_layers(trial, i);
    std::vector<int32_t> ops;
    for (const size_t t : tuned) ops.push_back(layers_[t].op);
    double best = validate(trial);
    ir::Graph best_graph = trial;
    for (int32_t round = 0; round < opt_.recovery_rounds; ++round) {
      const FineTuneOptions ft = round_options(round);
      std::vector<TunedLayer> weights =
          fine_tune_layers(trial, ops, in_.splits.tuning.inputs, in_.splits.tuning.num_inferences(), teacher(), ft);
      for (size_t k = 0; k < tuned.size(); ++k) fold_scale_gains(trial, layers_[tuned[k]].op, weights[k]);
      // Maximisation step: every tuned layer back onto its grid (codewords, or int8 for layers
      // that stay dense).
      for (size_t k = 0; k < tuned.size(); ++k) {
        const size_t t = tuned[k];
        if (!weights[k].bias.empty()) {
          round_to_int32(trial.tensor(trial.ops[static_cast<size_t>(layers_[t].op)].inputs[2]), weights[k].bias);
        }
        if (t == i || encoded_[t]) {
          encode(trial, t, weights[k].weights, t == i ? tier_i : tier_[t]);
        } else {
          round_to_int8(trial.tensor(layers_[t].weights), weights[k].weights);
        }
      }
      const double s = validate(trial);
      log(fmt::format("  {}: recovery round {} tuning {} layers, validation {:.4f}", tensor_name(i), round + 1,
                      tuned.size(), s));
      if (s > best) {
        best = s;
        best_graph = trial;
      }
    }
    if (within_bound(best)) {
      for (const size_t t : tuned) tuned_[t] = true;
      tier_[i] = tier_i;
      accept(std::move(best_graph), i, best, "encoded after recovery");
    } else {
      log(fmt::format("  {}: kept int8 (validation {:.4f} even after recovery)", tensor_name(i), best));
    }
  }

  const CompressInput& in_;
  const std::vector<WeightLayer>& layers_;  // tier 0's cut; op, weights, first/last and size hold for every tier
  const LayerTiers& tiers_;
  const Codebooks& cb_;
  const CompressOptions& opt_;
  ir::Graph current_;
  double baseline_ = 0.0;
  std::vector<JointStep> joint_steps_;
  bool joint_kept_ = false;
  SetOutputs reference_;  // Bound::kAgreement: the original model's outputs on validation
  SetOutputs evaluation_before_;  // the original model's outputs on evaluation
  std::vector<bool> encoded_, tuned_;
  std::vector<size_t> tier_;  // per layer: the tier of its codebook, when encoded_
  // Per layer and tier: the score lost when the greedy pass tried it (give-back order).
  std::vector<std::array<std::optional<double>, kTiers>> alone_loss_;
  double greedy_score_ = 0.0;  // validation score of current_ during the greedy pass
  std::vector<float> teacher_;
  std::vector<InputStatistics> statistics_;  // per layer (empty: weight-error assignment)
};

}  // namespace

std::vector<Codebook> learn_shared_codebooks(const std::vector<CompressInput>& inputs, const CompressOptions& options) {
  std::vector<LayerTiers> layers;
  for (const CompressInput& in : inputs) layers.push_back(layer_tiers(in.graph, options));
  CompressOptions learn = options;
  learn.fixed_codebooks.clear();
  return shared_codebooks(inputs, layers, learn).books;
}

const std::vector<CodebookCandidate>& row_codebook_candidates() {
  static const std::vector<CodebookCandidate> candidates = {{2, 256}, {4, 256}, {8, 256}, {2, 16}, {4, 16}};
  return candidates;
}

const std::vector<CodebookCandidate>& kernel_codebook_candidates() {
  static const std::vector<CodebookCandidate> candidates = {{9, 256}, {2, 256}, {4, 256}, {9, 16}, {2, 16}};
  return candidates;
}

CodebookSearch search_codebooks(const std::vector<CompressInput>& inputs, const CompressOptions& options) {
  CodebookSearch search;
  search.options = options;
  auto trial = [&](const CompressOptions& o) {
    CompressOptions quiet = o;
    quiet.recover = false;
    quiet.log = nullptr;
    const CompressResult r = compress(inputs, quiet);
    CodebookTrial t;
    t.row_subvector = o.row_subvector;
    t.row_codewords = o.row_codewords;
    t.kernel_subvector = o.kernel_subvector;
    t.kernel_codewords = o.kernel_codewords;
    t.stored_bytes = r.storage.total.total();
    t.ratio_vs_fp32 = r.storage.ratio_vs_fp32();
    t.ratio_vs_int8 = r.storage.ratio_vs_int8();
    for (const ModelResult& m : r.models) {
      t.mean_validation_loss += (m.validation_before - m.validation_after) / static_cast<double>(r.models.size());
      t.encoded_layers += static_cast<int32_t>(std::count_if(m.layers.begin(), m.layers.end(),
                                                             [](const LayerResult& l) { return l.encoded; }));
    }
    t.seconds = r.seconds;
    if (options.log) {
      options.log(fmt::format("codebook search: row d = {} K = {}, 3x3 d = {} K = {}: {} B stored ({:.2f}x vs int8), "
                              "{} layers encoded, mean validation loss {:.2f} points ({:.1f} s)",
                              t.row_subvector, t.row_codewords, t.kernel_subvector, t.kernel_codewords, t.stored_bytes,
                              t.ratio_vs_int8, t.encoded_layers, 100.0 * t.mean_validation_loss, t.seconds));
    }
    search.trials.push_back(t);
    return search.trials.size() - 1;
  };
  const auto better = [&](size_t a, size_t b) {
    const CodebookTrial &x = search.trials[a], &y = search.trials[b];
    if (x.stored_bytes != y.stored_bytes) return x.stored_bytes < y.stored_bytes;
    return x.mean_validation_loss < y.mean_validation_loss;
  };
  // Each candidate once: the kernel pass starts from the row pass's winner, already tried.
  std::optional<size_t> best;
  for (const CodebookCandidate& c : row_codebook_candidates()) {
    CompressOptions o = search.options;
    o.row_subvector = c.subvector;
    o.row_codewords = c.codewords;
    const size_t t = trial(o);
    if (!best || better(t, *best)) best = t;
  }
  search.options.row_subvector = search.trials[*best].row_subvector;
  search.options.row_codewords = search.trials[*best].row_codewords;
  for (const CodebookCandidate& c : kernel_codebook_candidates()) {
    if (c.subvector == search.options.kernel_subvector && c.codewords == search.options.kernel_codewords) continue;
    CompressOptions o = search.options;
    o.kernel_subvector = c.subvector;
    o.kernel_codewords = c.codewords;
    const size_t t = trial(o);
    if (better(t, *best)) best = t;
  }
  search.chosen = *best;
  search.options.kernel_subvector = search.trials[*best].kernel_subvector;
  search.options.kernel_codewords = search.trials[*best].kernel_codewords;
  return search;
}

CompressResult compress(std::vector<CompressInput> inputs, const CompressOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (inputs.empty()) throw ir::Error("compress needs at least one model");
  if (options.fine_row_subvector != 0 && options.fine_row_subvector == options.row_subvector)
    throw ir::Error(fmt::format("the finer row codebook needs a d other than the row codebook's {}", options.row_subvector));
  if (options.fine_kernel_subvector != 0 && options.fine_kernel_subvector == options.kernel_subvector)
    throw ir::Error(
        fmt::format("the finer 3x3 codebook needs a d other than the 3x3 codebook's {}", options.kernel_subvector));
  std::vector<LayerTiers> layers;
  for (const CompressInput& in : inputs) {
    ir::validate(in.graph);
    layers.push_back(layer_tiers(in.graph, options));
  }
  const Codebooks codebooks = shared_codebooks(inputs, layers, options);
  for (LayerTiers& tiers : layers) {
    for (size_t tier = 0; tier < kTiers; ++tier) {
      for (WeightLayer& layer : tiers[tier]) {
        if (!layer.encodable) continue;
        const std::string which = tier == 0 ? "shared" : "finer";
        const auto found = codebooks.index[tier].find(layer.kind);
        if (found == codebooks.index[tier].end()) {
          layer.encodable = false;
          layer.reason = fmt::format("no {} {} codebook", which, to_string(layer.kind));
        } else if (codebooks.books[static_cast<size_t>(found->second)].subvector != layer.subvector) {
          layer.encodable = false;
          layer.reason = fmt::format("the {} {} codebook has d = {}, the layer needs {}", which, to_string(layer.kind),
                                     codebooks.books[static_cast<size_t>(found->second)].subvector, layer.subvector);
        }
      }
    }
  }

  CompressResult result;
  result.bundle.codebooks = codebooks.books;
  for (size_t m = 0; m < inputs.size(); ++m) {
    ModelCompressor compressor(inputs[m], layers[m], codebooks, options);
    result.models.push_back(compressor.run());
    result.bundle.models.push_back({inputs[m].name, inputs[m].source, compressor.take_graph()});
  }
  check_encodings(result.bundle);
  result.storage = bundle_storage(result.bundle);
  // The int8 baseline is each original model as it came: a refit turns a per-tensor weight scale
  // into per-channel scales, which the bundle pays for but the original models did not.
  result.storage.int8_bytes = 0;
  result.storage.int8_zero_row_bytes = 0;
  for (size_t m = 0; m < result.models.size(); ++m) {
    const ModelStorage original = model_storage(inputs[m].graph, {});
    result.storage.models[m].int8_bytes = original.int8_bytes;
    result.storage.models[m].int8_zero_row_bytes = original.int8_zero_row_bytes;
    result.storage.int8_bytes += original.int8_bytes;
    result.storage.int8_zero_row_bytes += original.int8_zero_row_bytes;
    result.models[m].storage = result.storage.models[m];
  }
  if (!result.models.empty()) {
    const auto models = static_cast<double>(result.models.size());
    std::vector<double> averages(result.models.front().bootstrap_losses.size(), 0.0);
    for (const ModelResult& m : result.models) {
      result.average_loss += (m.before - m.after) / models;
      for (size_t k = 0; k < averages.size() && k < m.bootstrap_losses.size(); ++k)
        averages[k] += m.bootstrap_losses[k] / models;
    }
    std::tie(result.average_loss_low, result.average_loss_high) = central95(averages);
  }
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace frugal::pq
