#include "approx/explore.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <unordered_map>

#include "data/metrics.h"
#include "data/readers.h"
#include "runtime/interpreter.h"

namespace frugal::approx {

using ir::Error;

namespace {

bool conv_like(ir::OpType type) {
  return type == ir::OpType::kConv2D || type == ir::OpType::kDepthwiseConv2D || type == ir::OpType::kFullyConnected;
}

// Inner-loop instructions per MAC (see the class comment).
double mac_loop_instructions(ir::OpType type) { return type == ir::OpType::kDepthwiseConv2D ? 3.0 : 1.0; }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Cost model

InstructionCostModel InstructionCostModel::estimate(const ir::Graph& graph) {
  std::vector<DenseLayerCost> layers;
  for (const ir::Op& op : graph.ops) {
    DenseLayerCost c;
    c.name = op.name;
    c.type = op.type;
    c.macs = ir::macs(graph, op);
    switch (op.type) {
      case ir::OpType::kConv2D: c.instructions = 1.1 * static_cast<double>(c.macs); break;
      case ir::OpType::kDepthwiseConv2D: c.instructions = 3.6 * static_cast<double>(c.macs); break;
      case ir::OpType::kFullyConnected: c.instructions = 1.4 * static_cast<double>(c.macs); break;
      case ir::OpType::kReshape: c.instructions = 0.0; break;
      default: {
        double elements = 0.0;
        for (int32_t out : op.outputs) elements += static_cast<double>(graph.tensor(out).num_elements());
        c.instructions = 10.0 * elements;
      }
    }
    c.cycles = 1.5 * c.instructions;
    c.mac_instructions = conv_like(op.type) ? std::min(c.instructions, mac_loop_instructions(op.type) * static_cast<double>(c.macs)) : 0.0;
    layers.push_back(std::move(c));
  }
  InstructionCostModel model(std::move(layers));
  model.dense_source = "estimate";
  return model;
}

InstructionCostModel InstructionCostModel::from_bench_json(const ir::Graph& graph, const std::string& text,
                                                           std::string_view board) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    throw Error("cost file is not valid JSON (expected the output of frugal bench --json)");
  }
  if (!j.is_object() || !j.contains("layers") || !j["layers"].is_array()) {
    throw Error("cost file has no \"layers\" list (expected the output of frugal bench --json)");
  }
  if (!board.empty() && j.contains("board") && j["board"].is_string() && j["board"].get<std::string>() != board) {
    throw Error(fmt::format("cost file was measured on {}, not {}", ir::printable(j["board"].get<std::string>()), board));
  }
  std::unordered_map<std::string, MeasuredLayerCost> measured;
  for (const nlohmann::json& layer : j["layers"]) {
    if (!layer.is_object() || !layer.contains("name") || !layer["name"].is_string() ||
        !layer.contains("instructions") || !layer["instructions"].is_number() || !layer.contains("cycles_estimate") ||
        !layer["cycles_estimate"].is_number()) {
      throw Error("cost file: every layer needs \"name\", \"instructions\" and \"cycles_estimate\"");
    }
    const double instructions = layer["instructions"].get<double>(), cycles = layer["cycles_estimate"].get<double>();
    // Negative or infinite costs would turn the search's latencies upside down.
    if (!(std::isfinite(instructions) && instructions >= 0.0 && std::isfinite(cycles) && cycles >= 0.0)) {
      throw Error(fmt::format("cost file: layer '{}' has negative or infinite instructions or cycles",
                              ir::printable(layer["name"].get<std::string>())));
    }
    // Printable like the graph's op names they are matched with.
    const bool wide = layer.contains("int16_weights") && layer["int16_weights"].is_boolean() &&
                      layer["int16_weights"].get<bool>();
    measured[ir::printable(layer["name"].get<std::string>())] = {instructions, cycles, wide};
  }
  return from_measured(graph, measured);
}

InstructionCostModel InstructionCostModel::from_measured(const ir::Graph& graph,
                                                        const std::unordered_map<std::string, MeasuredLayerCost>& measured) {
  std::vector<DenseLayerCost> layers;
  for (const ir::Op& op : graph.ops) {
    auto it = measured.find(op.name);
    if (it == measured.end()) throw Error(fmt::format("no measured cost for layer '{}' (costs of another model?)", op.name));
    DenseLayerCost c;
    c.name = op.name;
    c.type = op.type;
    c.macs = ir::macs(graph, op);
    c.instructions = it->second.instructions;
    c.cycles = it->second.cycles;
    c.int16_weights = it->second.int16_weights && conv_like(op.type);
    c.mac_instructions = conv_like(op.type) ? std::min(c.instructions, mac_loop_instructions(op.type) * static_cast<double>(c.macs)) : 0.0;
    layers.push_back(std::move(c));
  }
  InstructionCostModel model(std::move(layers));
  model.dense_source = "bench";
  return model;
}

double InstructionCostModel::cost(size_t op_index, double kept_fraction) const {
  const DenseLayerCost& c = layers_.at(op_index);
  if (kept_fraction >= 1.0) return c.instructions;
  constexpr double kSkippingKernelOverhead = 1.12;
  constexpr double kInt16SavingPerMac = 0.17;
  if (!c.int16_weights) {
    return c.instructions - c.mac_instructions + kSkippingKernelOverhead * c.mac_instructions * kept_fraction;
  }
  const double int8_dense = c.instructions + kInt16SavingPerMac * static_cast<double>(c.macs);
  const double mac_part = std::min(int8_dense, mac_loop_instructions(c.type) * static_cast<double>(c.macs));
  return int8_dense - mac_part + kSkippingKernelOverhead * mac_part * kept_fraction;
}

double InstructionCostModel::cycles(size_t op_index, double kept_fraction) const {
  const DenseLayerCost& c = layers_.at(op_index);
  if (c.instructions <= 0.0) return c.cycles;
  return c.cycles * cost(op_index, kept_fraction) / c.instructions;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

size_t count_correct(const ir::Graph& graph, const data::EvalSet& set, size_t threads) {
  if (set.windows_per_sample != 1) throw Error("Top-1 needs one inference per sample");
  const runtime::CompiledModel model(graph, runtime::KernelSet::kFast);
  const ir::Tensor& out_desc = graph.tensor(graph.outputs[0]);
  const size_t out_bytes = model.output_bytes(0);
  const size_t n = set.num_samples();
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = std::max<size_t>(1, std::min(threads, n));
  std::atomic<size_t> correct{0};
  std::mutex error_mutex;
  std::exception_ptr error;
  auto work = [&](size_t begin, size_t end) {
    try {
      runtime::Session session(model);
      size_t mine = 0;
      for (size_t i = begin; i < end; ++i) {
        std::memcpy(session.input(0), set.input(i).data(), set.input_bytes);
        session.invoke();
        const size_t predicted = data::argmax(out_desc.type, {session.output(0), out_bytes});
        if (static_cast<int64_t>(predicted) == set.labels[i]) ++mine;
      }
      correct += mine;
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(work, n * t / threads, n * (t + 1) / threads);
  work(0, n / threads);
  for (std::thread& w : workers) w.join();
  if (error) std::rethrow_exception(error);
  return correct;
}

std::vector<double> normalized_levels(std::vector<double> levels) {
  for (double level : levels) {
    if (!(level >= 0.0 && level <= 1.0)) throw Error(fmt::format("skip level {} is outside [0, 1]", level));
  }
  std::sort(levels.begin(), levels.end());
  if (std::adjacent_find(levels.begin(), levels.end()) != levels.end()) throw Error("skip levels repeat a value");
  if (levels.empty() || levels.front() != 0.0) levels.insert(levels.begin(), 0.0);
  return levels;
}

std::vector<ExplorePoint> pareto_front(std::vector<ExplorePoint> points, bool measured) {
  if (measured) {
    std::erase_if(points, [](const ExplorePoint& p) { return !p.measured_instructions; });
    for (ExplorePoint& p : points) {
      p.instructions = static_cast<double>(*p.measured_instructions);
      if (p.measured_cycles) p.cycles = static_cast<double>(*p.measured_cycles);
    }
  }
  // Instructions ascending, then correct descending, then levels ascending: a point is on the
  // front iff it is correct-count-wise strictly better than every point before it.
  std::sort(points.begin(), points.end(), [](const ExplorePoint& a, const ExplorePoint& b) {
    if (a.instructions != b.instructions) return a.instructions < b.instructions;
    if (a.validation_correct != b.validation_correct) return a.validation_correct > b.validation_correct;
    return a.levels < b.levels;
  });
  std::vector<ExplorePoint> front;
  for (ExplorePoint& p : points) {
    if (front.empty() || p.validation_correct > front.back().validation_correct) front.push_back(std::move(p));
  }
  return front;
}

size_t select_point(const ExploreResult& result, double max_loss) {
  const double floor = result.baseline.validation_top1 - max_loss - 1e-12;
  for (size_t i = 0; i < result.pareto.size(); ++i) {
    if (result.pareto[i].validation_top1 >= floor) return i;
  }
  throw Error("no Pareto point meets the accuracy bound (the baseline should)");
}

// ---------------------------------------------------------------------------------------------
// Search

namespace {

class Explorer {
 public:
  Explorer(const ir::Graph& graph, const SignificanceReport& report, const LayerCostModel& costs,
           const data::EvalSet& validation, const ExploreOptions& options)
      : graph_(graph),
        report_(report),
        costs_(costs),
        validation_(validation),
        options_(options),
        pool_(options.pool != nullptr ? *options.pool : local_pool_) {
    check_report_matches(report, graph);
    levels_ = normalized_levels(options.levels);
    for (size_t i = 0; i < report.layers.size(); ++i) {
      const LayerSignificance& l = report.layers[i];
      const bool depthwise = graph.ops.at(static_cast<size_t>(l.op_index)).type == ir::OpType::kDepthwiseConv2D;
      if (l.approximable && !(depthwise && options.granularity != Granularity::kOperand)) layers_.push_back(i);
    }
    if (layers_.empty()) {
      throw Error("the model has no approximable layers (conv or FC layers after the first; depthwise layers "
                  "have no skipping kernel)");
    }
    if (validation.num_samples() == 0) throw Error("the validation split is empty");
    // Kept fraction and skipped MACs of every (layer, level): selection is per layer, so a
    // configuration's figures are sums of these.
    kept_.assign(layers_.size(), std::vector<double>(levels_.size(), 1.0));
    skipped_.assign(layers_.size(), std::vector<int64_t>(levels_.size(), 0));
    for (size_t l = 0; l < layers_.size(); ++l) {
      const LayerSignificance& layer = report.layers[layers_[l]];
      const int64_t macs = ir::macs(graph, graph.ops.at(static_cast<size_t>(layer.op_index)));
      for (size_t k = 1; k < levels_.size(); ++k) {
        SkipConfig one;
        one.layers.push_back(layer_skip(l, k));
        skipped_[l][k] = skipped_macs(graph, report, one);
        kept_[l][k] = macs > 0 ? 1.0 - static_cast<double>(skipped_[l][k]) / static_cast<double>(macs) : 1.0;
      }
    }
    for (const ir::Op& op : graph.ops) total_macs_ += ir::macs(graph, op);
    base_floor_ = 0;
  }

  ExploreResult run() {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int32_t> zero(layers_.size(), 0);
    report_progress("baseline", 0, 1);
    evaluate({zero});
    const size_t base = correct(zero);
    const double floor = static_cast<double>(base) - options_.front_loss_limit * static_cast<double>(validation_.num_samples());
    base_floor_ = floor;
    if (options_.exhaustive) {
      run_exhaustive();
    } else {
      run_fast(base);
    }
    ExploreResult result;
    for (size_t l : layers_) result.layers.push_back(report_.layers[l].name);
    result.levels = levels_;
    result.total_macs = total_macs_;
    result.validation_samples = validation_.num_samples();
    result.baseline = point(zero);
    result.pareto = front();
    result.evaluations = cache_.size();
    result.search_space = space_size();
    result.search_seconds = seconds_since(start);
    result.latency_source = std::string(costs_.source());
    return result;
  }

 private:
  using Levels = std::vector<int32_t>;

  LayerSkip layer_skip(size_t l, size_t k) const {
    LayerSkip s;
    s.layer = report_.layers[layers_[l]].name;
    s.fraction = levels_[k];
    s.measure = options_.measure;
    s.group = options_.group;
    s.granularity = options_.granularity;
    return s;
  }

  SkipConfig config(const Levels& v) const {
    SkipConfig c;
    for (size_t l = 0; l < v.size(); ++l) {
      if (v[l] > 0) c.layers.push_back(layer_skip(l, static_cast<size_t>(v[l])));
    }
    return c;
  }

  std::pair<double, double> latency(const Levels& v) const {
    std::vector<double> kept(graph_.ops.size(), 1.0);
    for (size_t l = 0; l < v.size(); ++l) {
      kept[static_cast<size_t>(report_.layers[layers_[l]].op_index)] = kept_[l][static_cast<size_t>(v[l])];
    }
    double instructions = 0.0, cycles = 0.0;
    for (size_t op = 0; op < kept.size(); ++op) {
      instructions += costs_.cost(op, kept[op]);
      cycles += costs_.cycles(op, kept[op]);
    }
    return {std::round(instructions), std::round(cycles)};
  }

  // Validation Top-1 of the configurations of `batch` not measured yet, in one round of the
  // pool. Results go into the cache by configuration, so every rank's cache is the same
  // afterwards, whichever rank measured what.
  void evaluate(const std::vector<Levels>& batch) {
    std::vector<Levels> todo;
    std::set<Levels> queued;
    for (const Levels& v : batch) {
      if (cache_.count(v) == 0 && queued.insert(v).second) todo.push_back(v);
    }
    if (todo.empty()) return;
    const std::vector<uint64_t> correct = pool_.map_values<uint64_t>(todo.size(), [&](size_t i) {
      const ir::Graph approximate = apply_skipping(graph_, report_, config(todo[i]), options_.compensate_bias);
      return static_cast<uint64_t>(count_correct(approximate, validation_, options_.threads));
    });
    for (size_t i = 0; i < todo.size(); ++i) cache_.emplace(todo[i], static_cast<size_t>(correct[i]));
  }

  // Of a configuration already evaluated.
  size_t correct(const Levels& v) const { return cache_.at(v); }

  ExplorePoint point(const Levels& v) const {
    ExplorePoint p;
    p.levels = v;
    p.config = config(v);
    p.validation_correct = cache_.at(v);
    p.validation_top1 = static_cast<double>(p.validation_correct) / static_cast<double>(validation_.num_samples());
    std::tie(p.instructions, p.cycles) = latency(v);
    for (size_t l = 0; l < v.size(); ++l) p.skipped_macs += skipped_[l][static_cast<size_t>(v[l])];
    return p;
  }

  // The front over every evaluated configuration within the loss limit.
  std::vector<ExplorePoint> front() const {
    std::vector<ExplorePoint> points;
    for (const auto& [v, c] : cache_) {
      if (static_cast<double>(c) >= base_floor_) points.push_back(point(v));
    }
    return pareto_front(std::move(points));
  }

  // The front plus the points it only weakly dominates or beats by at most
  // options_.expand_margin correct samples: a step that changes a nearly free layer
  // often loses or gains a sample or two, and the front's next point is then two moves away.
  std::vector<ExplorePoint> near_front() const {
    std::vector<ExplorePoint> points;
    for (const auto& [v, c] : cache_) {
      if (static_cast<double>(c) >= base_floor_) points.push_back(point(v));
    }
    std::sort(points.begin(), points.end(), [](const ExplorePoint& a, const ExplorePoint& b) {
      if (a.instructions != b.instructions) return a.instructions < b.instructions;
      return a.validation_correct > b.validation_correct;
    });
    std::vector<ExplorePoint> near;
    size_t best = 0;  // most correct samples among the points with fewer or equal instructions
    bool any = false;
    for (ExplorePoint& p : points) {
      if (!any || p.validation_correct + options_.expand_margin >= best) near.push_back(p);
      if (!any || p.validation_correct > best) best = p.validation_correct;
      any = true;
    }
    return near;
  }

  size_t space_size() const {
    size_t n = 1;
    for (size_t l = 0; l < layers_.size(); ++l) {
      if (n > std::numeric_limits<size_t>::max() / levels_.size()) return std::numeric_limits<size_t>::max();
      n *= levels_.size();
    }
    return n;
  }

  void report_progress(std::string_view phase, size_t done, size_t total, size_t front_size = 0) const {
    if (!options_.progress) return;
    ExploreProgress p;
    p.phase = phase;
    p.done = done;
    p.total = total;
    p.evaluations = cache_.size();
    p.front_size = front_size;
    options_.progress(p);
  }

  void run_exhaustive() {
    const size_t total = space_size();
    if (total > options_.max_exhaustive_configs) {
      throw Error(fmt::format("exhaustive search over {} levels ^ {} layers = {} configurations exceeds the limit {}",
                              levels_.size(), layers_.size(),
                              total == std::numeric_limits<size_t>::max() ? std::string("> 2^64") : std::to_string(total),
                              options_.max_exhaustive_configs));
    }
    // Batches of 16 configurations per rank: few rounds of the pool, progress still fluent.
    const size_t batch_size = 16 * pool_.ranks();
    Levels v(layers_.size(), 0);
    std::vector<Levels> batch;
    for (size_t i = 0; i < total; ++i) {
      batch.push_back(v);
      if (batch.size() == batch_size || i + 1 == total) {
        evaluate(batch);
        batch.clear();
        report_progress("exhaustive", i + 1, total);
      }
      for (size_t l = v.size(); l-- > 0;) {  // odometer, last layer fastest
        if (++v[l] < static_cast<int32_t>(levels_.size())) break;
        v[l] = 0;
      }
    }
  }

  void run_fast(size_t base) {
    const size_t L = layers_.size(), K = levels_.size();
    // (a) Sensitivity: one layer approximated at a time; a curve stops at the first level below
    // the front's floor (deeper levels are assumed no better). The curves advance together, one
    // level per batch, so a batch holds one configuration per layer still going and evaluates
    // exactly what layer-by-layer curves would.
    std::vector<std::vector<double>> loss(L, std::vector<double>(K, std::numeric_limits<double>::infinity()));
    const size_t sensitivity_total = L * (K - 1);
    size_t done = 0;
    for (size_t l = 0; l < L; ++l) loss[l][0] = 0.0;
    std::vector<size_t> going(L);
    for (size_t l = 0; l < L; ++l) going[l] = l;
    auto one_layer = [&](size_t l, size_t k) {
      Levels v(L, 0);
      v[l] = static_cast<int32_t>(k);
      return v;
    };
    for (size_t k = 1; k < K && !going.empty(); ++k) {
      std::vector<Levels> batch;
      for (size_t l : going) batch.push_back(one_layer(l, k));
      evaluate(batch);
      std::vector<size_t> still;
      for (size_t l : going) {
        const size_t c = correct(one_layer(l, k));
        loss[l][k] = static_cast<double>(base) - static_cast<double>(c);
        ++done;
        if (static_cast<double>(c) < base_floor_) {
          done += K - 1 - k;
        } else {
          still.push_back(l);
        }
      }
      going = std::move(still);
      report_progress("sensitivity", done, sensitivity_total);
    }
    auto predicted_loss = [&](const Levels& v) {
      double sum = 0.0;
      for (size_t l = 0; l < L; ++l) sum += loss[l][static_cast<size_t>(v[l])];
      return sum;
    };

    // (b) Greedy walk: from the exact model, repeatedly move one layer one level further; the
    // `beam` candidates with the best predicted loss per instruction saved are evaluated and the
    // best real ratio is taken, until the walk falls below the floor.
    Levels current(L, 0);
    size_t step = 0;
    while (true) {
      const double current_instr = latency(current).first;
      const double current_pred = predicted_loss(current);
      struct Candidate {
        Levels v;
        double saved, score;
      };
      std::vector<Candidate> candidates;
      for (size_t l = 0; l < L; ++l) {
        if (static_cast<size_t>(current[l]) + 1 >= K) continue;
        Levels v = current;
        ++v[l];
        const double saved = current_instr - latency(v).first;
        const double pred = predicted_loss(v) - current_pred;
        if (!std::isfinite(pred)) continue;
        candidates.push_back({v, saved, saved > 0.0 ? pred / saved : std::numeric_limits<double>::infinity()});
      }
      if (candidates.empty()) break;
      std::stable_sort(candidates.begin(), candidates.end(),
                       [](const Candidate& a, const Candidate& b) { return a.score < b.score; });
      candidates.resize(std::min(candidates.size(), std::max<size_t>(1, options_.beam)));
      std::vector<Levels> batch;
      for (const Candidate& cand : candidates) batch.push_back(cand.v);
      evaluate(batch);
      const double current_correct = static_cast<double>(correct(current));
      const Candidate* best = nullptr;
      double best_ratio = 0.0;
      for (const Candidate& cand : candidates) {
        const double real = current_correct - static_cast<double>(correct(cand.v));
        const double ratio = cand.saved > 0.0 ? real / cand.saved : std::numeric_limits<double>::infinity();
        if (best == nullptr || ratio < best_ratio) {
          best = &cand;
          best_ratio = ratio;
        }
      }
      report_progress("walk", ++step, 0);
      if (static_cast<double>(correct(best->v)) < base_floor_) break;
      current = best->v;
    }

    // (c) Pareto local search: every front point's neighbours (one layer one level up or down)
    // are evaluated until the front stops changing. One round (the neighbours of every point
    // not expanded yet, in front order) is one batch; with max_evaluations it is cut to the
    // evaluations left, the same configurations one at a time would have reached.
    std::set<Levels> expanded;
    size_t rounds = 0;
    while (true) {
      const std::vector<ExplorePoint> f = near_front();
      std::vector<Levels> batch;
      std::set<Levels> queued;
      size_t expanded_now = 0;
      for (const ExplorePoint& p : f) {
        if (!expanded.insert(p.levels).second) continue;
        ++expanded_now;
        for (size_t l = 0; l < L; ++l) {
          for (int32_t delta : {-1, 1}) {
            Levels v = p.levels;
            v[l] += delta;
            if (v[l] < 0 || v[l] >= static_cast<int32_t>(K)) continue;
            if (cache_.count(v) == 0 && queued.insert(v).second) batch.push_back(v);
          }
        }
      }
      bool limited = false;
      if (options_.max_evaluations != 0) {
        if (cache_.size() >= options_.max_evaluations) return;
        const size_t left = options_.max_evaluations - cache_.size();
        limited = batch.size() >= left;
        if (batch.size() > left) batch.resize(left);
      }
      const bool grew = !batch.empty();
      evaluate(batch);
      for (size_t i = 0; i < expanded_now; ++i) report_progress("refine", ++rounds, 0, f.size());
      if (limited) return;
      if (!grew) {
        bool all_expanded = true;
        for (const ExplorePoint& p : near_front()) all_expanded = all_expanded && expanded.count(p.levels) != 0;
        if (all_expanded) break;
      }
    }
  }

  const ir::Graph& graph_;
  const SignificanceReport& report_;
  const LayerCostModel& costs_;
  const data::EvalSet& validation_;
  const ExploreOptions& options_;
  std::vector<double> levels_;
  std::vector<size_t> layers_;  // report indices of the approximable layers
  std::vector<std::vector<double>> kept_;
  std::vector<std::vector<int64_t>> skipped_;
  int64_t total_macs_ = 0;
  double base_floor_ = 0.0;
  std::map<Levels, size_t> cache_;
  distributed::LocalPool local_pool_;  // when options_ names none
  distributed::WorkPool& pool_;
};

}  // namespace

ExploreResult explore(const ir::Graph& graph, const SignificanceReport& report, const LayerCostModel& costs,
                      const data::EvalSet& validation, const ExploreOptions& options) {
  Explorer explorer(graph, report, costs, validation, options);
  return explorer.run();
}

void measure_test(ExploreResult& result, const ir::Graph& graph, const SignificanceReport& report,
                  const data::EvalSet& test, const ExploreOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (test.num_samples() == 0) throw Error("the test split is empty");
  result.test_samples = test.num_samples();
  // The baseline, then the Pareto points but the all-exact one (that is the baseline: no need
  // to run it twice), as one batch.
  std::vector<ExplorePoint*> points{&result.baseline};
  for (ExplorePoint& p : result.pareto) {
    if (!p.config.layers.empty()) points.push_back(&p);
  }
  const size_t total = result.pareto.size() + 1;
  distributed::LocalPool local;
  distributed::WorkPool& pool = options.pool != nullptr ? *options.pool : local;
  auto progress = [&](size_t done, size_t) {
    if (!options.progress) return;
    ExploreProgress p;
    p.phase = "test";
    p.done = done;
    p.total = total;
    p.front_size = result.pareto.size();
    options.progress(p);
  };
  const std::vector<uint64_t> correct = pool.map_values<uint64_t>(
      points.size(),
      [&](size_t i) {
        const ir::Graph g = apply_skipping(graph, report, points[i]->config, options.compensate_bias);
        return static_cast<uint64_t>(count_correct(g, test, options.threads));
      },
      progress);
  for (size_t i = 0; i < points.size(); ++i) {
    points[i]->test_correct = static_cast<size_t>(correct[i]);
    points[i]->test_top1 = static_cast<double>(correct[i]) / static_cast<double>(test.num_samples());
  }
  for (ExplorePoint& p : result.pareto) {
    if (p.config.layers.empty()) {
      p.test_correct = result.baseline.test_correct;
      p.test_top1 = result.baseline.test_top1;
    }
  }
  progress(total, total);
  result.test_seconds = seconds_since(start);
}

// ---------------------------------------------------------------------------------------------
// Splits


ExploreSplits load_explore_splits(data::Dataset dataset, const data::DataRoot& root, const ir::Tensor& input,
                                  size_t validation_limit, size_t test_limit) {
  ExploreSplits s;
  switch (dataset) {
    case data::Dataset::kCifar10: {
      data::check_model_input(dataset, input);
      const size_t v = validation_limit == 0 ? 2000 : validation_limit;
      s.calibration = data::load_cifar10_training(root, "data_batch_1.bin", input, 1000);
      s.test = data::load_eval_set(dataset, root, input, test_limit == 0 ? data::kAllRecords : test_limit);
      if (s.test.num_samples() < 10000 && test_limit == 0) {
        throw Error(fmt::format("exploration needs the full shared CIFAR-10 test set ({} records found)",
                                s.test.num_samples()));
      }
      if (v >= s.test.num_samples()) {
        throw Error(fmt::format("the validation split ({} test records) must leave test records held out (of {})", v,
                                s.test.num_samples()));
      }
      s.validation = data::slice(s.test, 0, v);
      s.validation_in_test = v;
      s.description = fmt::format(
          "calibration: data_batch_1 images 0-{}; validation: test_batch images 0-{}; test: test_batch images 0-{} "
          "({}-{} held out from the search)",
          s.calibration.num_samples() - 1, v - 1, s.test.num_samples() - 1, v, s.test.num_samples() - 1);
      break;
    }
    case data::Dataset::kKws01:
    case data::Dataset::kVww01: {
      const data::EvalSet all = data::load_eval_set(dataset, root, input);
      if (all.num_samples() < 1000) {
        throw Error(fmt::format("{} has {} records; the exploration splits need 1,000 (full shared set)",
                                data::to_string(dataset), all.num_samples()));
      }
      const size_t v_end = validation_limit == 0 ? 500 : std::min<size_t>(500, 200 + validation_limit);
      const size_t t_end = test_limit == 0 ? 1000 : std::min<size_t>(1000, 500 + test_limit);
      if (dataset == data::Dataset::kVww01) {
        // vww01 is ordered by class (500 person, then 500 no-person images): in order, the
        // validation split would hold only persons and the test split none. The same sizes,
        // interleaved by record i mod 10.
        s.calibration = data::interleaved(all, 10, 0, 2);
        s.validation = data::slice(data::interleaved(all, 10, 2, 5), 0, v_end - 200);
        s.test = data::slice(data::interleaved(all, 10, 5, 10), 0, t_end - 500);
        s.description = fmt::format("vww01 by record i mod 10: calibration 0-1 (200), validation 2-4 ({}), test 5-9 ({})",
                                    s.validation.num_samples(), s.test.num_samples());
        break;
      }
      s.calibration = data::slice(all, 0, 200);
      s.validation = data::slice(all, 200, v_end);
      s.test = data::slice(all, 500, t_end);
      s.description = fmt::format("calibration: {} records 0-199; validation: records 200-{}; test: records 500-{}",
                                  data::to_string(dataset), v_end - 1, t_end - 1);
      break;
    }
    case data::Dataset::kAd01:
      throw Error("ad01 has no Top-1 (anomaly scores); explore needs a classification data set");
  }
  return s;
}

}  // namespace frugal::approx
