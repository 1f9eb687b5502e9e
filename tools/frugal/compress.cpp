// frugal compress M1 M2 ... -o BUNDLE: several int8 models into one bundle whose weights share
// product-quantization codebooks (pq/compress.h), each model kept within an accuracy-loss bound
// on its validation split and measured before and after on its evaluation split.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string_view>

#include "common.h"
#include "data/data_root.h"
#include "pq/bundle.h"
#include "pq/compress.h"
#include "report/command_reports.h"
#include "verbs.h"

namespace frugal::cli {

namespace fs = std::filesystem;

CLI::App* add_compress(CLI::App& app, CompressOptions& options) {
  CLI::App* command = app.add_subcommand(
      "compress", "Several models into one bundle with shared product-quantization codebooks");
  command->add_option("models", options.models, "Model files (.tflite, int8)")->required();
  command->add_option("-o,--output", options.output, "Bundle file to write (.frugal)")->required();
  command->add_option("--data", options.data,
                      "Data set per model, in order (default: guessed from each model's input)");
  command->add_option("--names", options.names, "Model names in the bundle, in order (default: file stems)");
  CLI::Option* subvector = command->add_option("--subvector", options.subvector,
                      "Sub-vector length d of the row codebook (FC and 1x1 conv)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  CLI::Option* kernel_subvector = command->add_option("--kernel-subvector", options.kernel_subvector,
                      "Sub-vector length d of the 3x3 codebook: 9 encodes whole 3x3 kernels (one index per output and "
                      "input channel), any other d cuts each filter row (OHWI) into d consecutive weights")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  CLI::Option* codewords = command->add_option("--codewords", options.codewords, "Codewords K of the row codebook")
      ->check(CLI::Range(2, 256))
      ->capture_default_str();
  CLI::Option* kernel_codewords =
      command->add_option("--kernel-codewords", options.kernel_codewords, "Codewords K of the 3x3 kernel codebook")
          ->check(CLI::Range(2, 256))
          ->capture_default_str();
  command->add_option("--fine-subvector", options.fine_subvector,
                      "Also learn a finer row codebook with this d (same K): a layer the row codebook cannot keep "
                      "within the bound tries it before staying int8, greedily and in joint recovery")
      ->check(CLI::Range(1, 64));
  command->add_option("--fine-kernel-subvector", options.fine_kernel_subvector,
                      "The same for the 3x3 codebook (rows of d, as --kernel-subvector)")
      ->check(CLI::Range(1, 64));
  command
      ->add_flag("--search-codebooks", options.search_codebooks,
                 "Choose d and K of both codebooks: try each candidate with the greedy layer choice alone (no "
                 "recovery), keep the one that stores the fewest bytes, then compress with it")
      ->excludes(subvector)
      ->excludes(kernel_subvector)
      ->excludes(codewords)
      ->excludes(kernel_codewords);
  command->add_option("--max-accuracy-loss", options.max_accuracy_loss,
                      "Per-model bound on the validation loss (fraction of Top-1, or of AUC for ad01)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  command->add_option("--bound", options.bound,
                      "What --max-accuracy-loss bounds: validation (the metric's drop on the validation split) or "
                      "agreement (1 - agreement with the original model on the validation inputs: same Top-1, or "
                      "for ad01 the same order of (normal, anomalous) sample pairs; bounds the change whatever the "
                      "labels)")
      ->check(CLI::IsMember({"validation", "agreement"}))
      ->capture_default_str();
  command->add_option("--tuning", options.tuning, "CIFAR-10 training images used for distillation")
      ->check(positive_number())
      ->capture_default_str();
  command->add_option("--epochs", options.epochs, "Fine-tuning epochs per recovery round")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  command->add_option("--learning-rate", options.learning_rate, "Adam step of the fine-tuning (weights in int8 units)")
      ->check(positive_number())
      ->capture_default_str();
  command->add_option("--model-learning-rate", options.model_learning_rates,
                      "NAME=RATE: this model fine-tunes at RATE instead of --learning-rate (repeatable; default: "
                      "every model at --learning-rate, except the ad01 autoencoder at a third of it)");
  command->add_option("--recovery-attempts", options.recovery_attempts,
                      "Refused layers (largest first) that get a fine-tuning attempt, per model")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  command->add_option("--joint-rounds", options.joint_rounds,
                      "Also try every encodable layer encoded, recovered by this many rounds of fine-tuning all "
                      "layers jointly through their codewords and re-assigning them; layers step back (to the finer "
                      "codebook, else to int8; --give-back-steps at a time) until the model is within the bound "
                      "(kept when it saves more than the greedy choice)")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  command->add_option("--joint-models", options.joint_models,
                      "Only these models (names) get the joint recovery (default: all); the others keep the greedy "
                      "choice and its recovery attempts");
  command->add_flag("--all-or-nothing", options.all_or_nothing,
                    "Joint recovery keeps every layer encoded or none (no giving back layer by layer)");
  command->add_option("--give-back-steps", options.give_back_steps,
                      "Joint recovery steps back up to this many layers at once (those that win back most "
                      "validation score per byte, until their gains measured alone cover what the model is short "
                      "of its bound) before the next rounds of training; 1: one layer at a time")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  command->add_flag("--train-given-back", options.train_given_back,
                    "A layer joint recovery gives back to int8 starts again from its original weights but trains "
                    "on with the others (what earlier versions did; default: it keeps its original weights "
                    "and bias and is no longer trained)");
  command->add_flag("--give-back-least-loss", options.give_back_least_loss,
                    "When every step joint recovery could give back loses score weighed alone, take the one that "
                    "loses least, whatever its bytes (what earlier versions did; default: the layer that lost most "
                    "per byte when the greedy pass encoded it alone)");
  command->add_option("--choose-rounds-on", options.choose_rounds_on,
                      "What joint recovery chooses its best round and orders its give-back steps by: 'tuning' "
                      "(agreement with the original model on the tuning inputs, so that the bound judges the "
                      "chosen round on data it was not chosen on and only says when enough layers are given back) "
                      "or 'validation' (the split the bound is checked on: optimistic; before 2026-12-03 the only "
                      "choice)")
      ->check(CLI::IsMember({"validation", "tuning"}))
      ->capture_default_str();
  command->add_flag("--constant-learning-rate", options.constant_learning_rate,
                    "Fine-tune at a constant learning rate (default: half-cosine decay over each round's epochs)");
  command->add_flag("--frozen-biases", options.frozen_biases,
                    "Fine-tune weights only (default: the tuned layers' int32 biases too)");
  command->add_flag("--tune-scales", options.tune_scales,
                    "Fine-tune the trained layers' per-channel weight scales too (stored either way)");
  command->add_flag("--no-recovery", options.no_recovery, "No fine-tuning: encode only what fits the bound as is");
  command->add_flag("--no-refit", options.no_refit, "Keep each channel's weight scale (no least-squares refit)");
  command->add_flag("--float-scales", options.float_scales,
                    "Store weight scales as floats (8 bytes counted per channel) instead of rounding them to 12 "
                    "significant bits, stored as 2-byte codes");
  command->add_option("--statistics", options.statistics,
                      "Tuning inputs whose layer inputs weigh the codeword choice by output error (0: by "
                      "weight error)")
      ->capture_default_str();
  command->add_option("--leave-out", options.leave_out,
                      "Learn the codebooks without this model (its name), then compress every model with them");
  command->add_option("--threads", options.threads, "Worker threads (default: all cores)")->check(positive_number());
  command->add_flag("--json", options.json, "Print one JSON object instead of the text summary");
  command->add_option("--report", options.report,
                      "Write compress.html (bytes and accuracy per model, totals), compress.json and compress.csv "
                      "into this directory");
  return command;
}

namespace {

Json storage_json(const pq::Storage& s) {
  Json j;
  j["indices"] = s.indices;
  j["codebooks"] = s.codebooks;
  j["dense_weights"] = s.dense_weights;
  j["biases"] = s.biases;
  j["quantization"] = s.quantization;
  j["total"] = s.total();
  return j;
}

}  // namespace

int run_compress(const CompressOptions& options) {
  check_output_path(options.output, "-o", OutputKind::kFile);
  const size_t n = options.models.size();
  if (!options.data.empty() && options.data.size() != n) {
    throw ir::Error(fmt::format("--data names {} data sets for {} models", options.data.size(), n));
  }
  if (!options.names.empty() && options.names.size() != n) {
    throw ir::Error(fmt::format("--names gives {} names for {} models", options.names.size(), n));
  }
  if (!options.report.empty()) report::check_report_directory(options.report);
  const data::DataRoot root = data::find_data_root();
  fmt::print(stderr, "{}\n", root.describe());

  std::vector<pq::CompressInput> inputs;
  for (size_t m = 0; m < n; ++m) {
    pq::CompressInput in;
    in.source = options.models[m];
    in.name = options.names.empty() ? fs::path(options.models[m]).stem().string() : options.names[m];
    for (const pq::CompressInput& other : inputs) {
      if (other.name == in.name) throw ir::Error(fmt::format("two models are named '{}' (use --names)", in.name));
    }
    in.graph = load_model(options.models[m]);
    require_single_input_output(in.graph, "compress");
    const ir::Tensor& input = in.graph.tensor(in.graph.inputs[0]);
    if (options.data.empty()) {
      const std::optional<data::Dataset> guess = pq::guess_dataset(input);
      if (!guess) {
        throw ir::Error(fmt::format("{}: no shared data set takes a {} input (give --data)", options.models[m],
                                    data::describe_tensor(input)));
      }
      in.dataset = *guess;
    } else {
      const std::optional<data::Dataset> named = data::parse_dataset(options.data[m]);
      if (!named) throw ir::Error(fmt::format("unknown data set '{}'", options.data[m]));
      in.dataset = *named;
    }
    in.splits = pq::load_splits(in.dataset, root, input, options.tuning);
    inputs.push_back(std::move(in));
  }

  pq::CompressOptions po;
  po.row_subvector = options.subvector;
  po.kernel_subvector = options.kernel_subvector;
  po.row_codewords = options.codewords;
  po.kernel_codewords = options.kernel_codewords;
  po.fine_row_subvector = options.fine_subvector;
  po.fine_kernel_subvector = options.fine_kernel_subvector;
  po.max_accuracy_loss = options.max_accuracy_loss;
  po.bound = options.bound == "agreement" ? pq::Bound::kAgreement : pq::Bound::kValidation;
  po.recover = !options.no_recovery;
  po.refit_scales = !options.no_refit;
  po.round_scales = !options.float_scales;
  po.statistics_inputs = options.statistics;
  po.fine_tune.epochs = options.epochs;
  po.fine_tune.learning_rate = options.learning_rate;
  po.max_recovery_attempts = options.recovery_attempts;
  po.joint_rounds = options.joint_rounds;
  po.joint_models = options.joint_models;
  const auto require_model = [&](std::string_view option, const std::string& name) {
    if (std::none_of(inputs.begin(), inputs.end(), [&](const pq::CompressInput& in) { return in.name == name; }))
      throw ir::Error(fmt::format("{}: no model named '{}'", option, name));
  };
  for (const std::string& name : options.joint_models) require_model("--joint-models", name);
  for (const std::string& entry : options.model_learning_rates) {
    const size_t eq = entry.find('=');
    const std::string name = entry.substr(0, eq);
    if (eq == std::string::npos || name.empty())
      throw ir::Error(fmt::format("--model-learning-rate: expected NAME=RATE, got '{}'", entry));
    require_model("--model-learning-rate", name);
    const std::string text = entry.substr(eq + 1);
    const std::optional<double> rate = parse_number(text);
    if (!rate || !(*rate > 0.0) || !std::isfinite(*rate))
      throw ir::Error(fmt::format("--model-learning-rate: the rate of '{}' must be a positive number, got '{}'", name,
                                  text));
    po.model_learning_rates.emplace_back(name, static_cast<float>(*rate));
  }
  po.joint_give_back = !options.all_or_nothing;
  po.give_back_steps = options.give_back_steps;
  po.freeze_given_back = !options.train_given_back;
  po.give_back_by_alone_loss = !options.give_back_least_loss;
  po.round_choice = options.choose_rounds_on == "tuning" ? pq::RoundChoice::kTuningFidelity : pq::RoundChoice::kValidation;
  po.fine_tune.cosine_schedule = !options.constant_learning_rate;
  po.fine_tune.tune_biases = !options.frozen_biases;
  po.fine_tune.tune_scales = options.tune_scales;
  po.threads = options.threads;
  const auto start = std::chrono::steady_clock::now();
  po.log = [&](const std::string& line) {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print(stderr, "[{:6.1f} s] {}\n", t, line);
  };
  std::vector<pq::CompressInput> others;  // --leave-out: the models the codebooks are learnt from
  if (!options.leave_out.empty()) {
    bool found = false;
    for (const pq::CompressInput& in : inputs) {
      if (in.name == options.leave_out) found = true;
      else others.push_back(in);
    }
    if (!found) throw ir::Error(fmt::format("--leave-out: no model named '{}'", options.leave_out));
    if (others.empty()) throw ir::Error("--leave-out needs at least one other model to learn the codebooks from");
  }
  // With --leave-out the search sees only the other models too: the left-out one must not steer
  // the codebooks it is then compressed with.
  std::optional<pq::CodebookSearch> search;
  if (options.search_codebooks) {
    search = pq::search_codebooks(others.empty() ? inputs : others, po);
    po = search->options;
  }
  if (!options.leave_out.empty()) po.fixed_codebooks = pq::learn_shared_codebooks(others, po);

  const pq::CompressResult result = pq::compress(std::move(inputs), po);
  const std::vector<uint8_t> bytes = pq::write_bundle(result.bundle);

  const pq::BundleStorage& st = result.storage;
  Json json;
  json["bundle"] = options.output;
  json["bundle_bytes"] = bytes.size();
  json["stored_bytes"] = st.total.total();
  json["int8_bytes"] = st.int8_bytes;
  json["fp32_bytes"] = st.fp32_bytes;
  json["ratio_vs_fp32"] = st.ratio_vs_fp32();
  json["ratio_vs_int8"] = st.ratio_vs_int8();
  json["int8_zero_row_bytes"] = st.int8_zero_row_bytes;
  json["ratio_vs_int8_without_zero_rows"] = st.ratio_vs_int8_without_zero_rows();
  json["storage"] = storage_json(st.total);
  Json books = Json::array();
  for (const pq::Codebook& cb : result.bundle.codebooks) {
    books.push_back({{"kind", std::string(pq::to_string(cb.kind))},
                     {"subvector", cb.subvector},
                     {"codewords", cb.codewords},
                     {"index_bits", cb.index_bits()},
                     {"bytes", cb.bytes()}});
  }
  json["codebooks"] = books;
  if (!options.leave_out.empty()) json["codebooks_learnt_without"] = options.leave_out;
  if (search) {
    Json trials = Json::array();
    for (const pq::CodebookTrial& t : search->trials) {
      trials.push_back({{"row", {{"subvector", t.row_subvector}, {"codewords", t.row_codewords}}},
                        {"kernel", {{"subvector", t.kernel_subvector}, {"codewords", t.kernel_codewords}}},
                        {"stored_bytes", t.stored_bytes},
                        {"ratio_vs_fp32", t.ratio_vs_fp32},
                        {"ratio_vs_int8", t.ratio_vs_int8},
                        {"mean_validation_loss", t.mean_validation_loss},
                        {"encoded_layers", t.encoded_layers},
                        {"seconds", t.seconds}});
    }
    json["codebook_search"] = {{"trials", trials}, {"chosen", search->chosen}};
  }
  json["max_accuracy_loss"] = options.max_accuracy_loss;
  json["bound"] = options.bound;
  Json models = Json::array();
  for (const pq::ModelResult& m : result.models) {
    Json layers = Json::array();
    for (const pq::LayerResult& l : m.layers) {
      Json lj{{"tensor", l.name}, {"op", l.op}, {"weights", l.weights}, {"encoded", l.encoded}, {"tuned", l.tuned}};
      if (l.encoded) lj["subvector"] = l.subvector;
      if (!l.note.empty()) lj["note"] = l.note;
      layers.push_back(std::move(lj));
    }
    Json model_json{{"name", m.name},
                    {"dataset", m.dataset},
                    {"metric", m.metric},
                    {"before", m.before},
                    {"after", m.after},
                    {"loss_interval95", {m.loss_low, m.loss_high}},
                    {"validation_before", m.validation_before},
                    {"validation_after", m.validation_after},
                    {"bound_metric", m.bound_metric},
                    {"bound_after", m.bound_after},
                    {"stored_bytes", m.storage.pq.total()},
                    {"int8_bytes", m.storage.int8_bytes},
                    {"fp32_bytes", m.storage.fp32_bytes},
                    {"ratio_vs_int8", static_cast<double>(m.storage.int8_bytes) /
                                          static_cast<double>(std::max<size_t>(1, m.storage.pq.total()))},
                    {"int8_zero_row_bytes", m.storage.int8_zero_row_bytes},
                    {"weights", m.storage.weights},
                    {"encoded_weights", m.storage.encoded_weights},
                    {"storage", storage_json(m.storage.pq)},
                    {"splits", m.splits},
                    {"layers", layers}};
    if (!m.joint.empty()) {
      Json steps = Json::array();
      for (const pq::JointStep& step : m.joint) {
        Json sj{{"event", step.event}, {"encoded_layers", step.encoded_layers}, {"bound_score", step.bound_score},
                {"best", step.best}};
        if (step.tuning_fidelity) sj["tuning_fidelity"] = *step.tuning_fidelity;
        if (!step.note.empty()) sj["note"] = step.note;
        steps.push_back(std::move(sj));
      }
      model_json["joint"] = {{"bound_reference", m.bound_reference}, {"kept", m.joint_kept}, {"steps", steps}};
    }
    models.push_back(std::move(model_json));
  }
  json["models"] = models;
  json["average_loss"] = result.average_loss;
  json["average_loss_interval95"] = {result.average_loss_low, result.average_loss_high};
  json["seconds"] = result.seconds;

  // The report is staged (written to temporary files) before the bundle and committed (renamed)
  // after it, so that a failure to write either leaves no report of a bundle that is not there.
  std::optional<report::StagedReport> staged;
  if (!options.report.empty()) {
    staged.emplace(options.report, "compress", json.dump() + "\n", report::compress_report(json));
  }
  write_file_atomically(options.output, bytes);
  if (staged) {
    staged->commit();
    fmt::print(stderr, "wrote {}, {}, {}\n", staged->files()[0].string(), staged->files()[1].filename().string(),
               staged->files()[2].filename().string());
  }

  if (options.json) {
    fmt::print("{}\n", json.dump());
    return 0;
  }
  fmt::print("bundle: {} ({} bytes; {} stored: indices {}, codebooks {}, dense weights {}, biases {}, "
             "quantization {})\n",
             options.output, with_commas(bytes.size()), with_commas(st.total.total()), with_commas(st.total.indices),
             with_commas(st.total.codebooks), with_commas(st.total.dense_weights), with_commas(st.total.biases),
             with_commas(st.total.quantization));
  fmt::print("compression: {:.2f}x vs fp32 ({} bytes), {:.2f}x vs int8 ({} bytes)\n", st.ratio_vs_fp32(),
             with_commas(st.fp32_bytes), st.ratio_vs_int8(), with_commas(st.int8_bytes));
  if (st.int8_zero_row_bytes > 0) {
    // Pruned models: the int8 side as TFLite stores it keeps the dead channels that the bundle
    // stores as bits; say what the ratio is without them.
    fmt::print("  {:.2f}x vs int8 with its all-zero rows (pruned channels, {} bytes) as one bit each\n",
               st.ratio_vs_int8_without_zero_rows(), with_commas(st.int8_zero_row_bytes));
  }
  fmt::print("{:<28} {:>7} {:>8} {:>8} {:>23} {:>10} {:>10} {:>8}\n", "model", "metric", "before", "after",
             "loss (95%, points)", "int8 B", "stored B", "layers");
  for (const pq::ModelResult& m : result.models) {
    const auto encoded = std::count_if(m.layers.begin(), m.layers.end(), [](const pq::LayerResult& l) { return l.encoded; });
    fmt::print("{:<28} {:>7} {:>8.4f} {:>8.4f} {:>23} {:>10} {:>10} {:>4}/{:<3}\n", m.name, m.metric, m.before,
               m.after, fmt::format("{:.2f} [{:.2f}, {:.2f}]", 100 * (m.before - m.after), 100 * m.loss_low,
                                    100 * m.loss_high),
               with_commas(m.storage.int8_bytes), with_commas(m.storage.pq.total()), encoded, m.layers.size());
  }
  fmt::print("average evaluation loss: {:.2f} points (95% bootstrap interval {:.2f} to {:.2f})\n",
             100 * result.average_loss, 100 * result.average_loss_low, 100 * result.average_loss_high);
  fmt::print("time: {:.1f} s\n", result.seconds);
  return 0;
}

}  // namespace frugal::cli
