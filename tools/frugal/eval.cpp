// frugal eval MODEL --data SET: accuracy (Top-1, or ROC AUC for the ad01 autoencoder) and
// throughput on one of the shared data sets.
#include <fmt/format.h>

#include <cstring>

#include "common.h"
#include "data/data_root.h"
#include "data/eval_set.h"
#include "data/metrics.h"
#include "parallel.h"
#include "progress.h"
#include "verbs.h"

namespace frugal::cli {

CLI::App* add_eval(CLI::App& app, EvalOptions& options) {
  CLI::App* command = app.add_subcommand("eval", "Accuracy and speed on a data set (full shared set, else fixtures)");
  command->add_option("model", options.model, "Model file (.tflite)")->required();
  command->add_option("--data", options.data, "Data set")
      ->required()
      ->check(CLI::IsMember(data::dataset_names()));
  command->add_option("--limit", options.limit, "Use only the first N records (samples for ad01)")
      ->check(positive_number());
  command->add_option("--threads", options.threads, "Worker threads, one Session each (default: all cores)")
      ->check(positive_number());
  command->add_option("--kernels", options.kernels, "Kernel set (bit-identical results)")
      ->check(CLI::IsMember({"fast", "reference"}))
      ->capture_default_str();
  command->add_flag("--json", options.json, "Print one JSON object instead of the text results");
  return command;
}

int run_eval(const EvalOptions& options) {
  const runtime::KernelSet kernels = parse_kernels(options.kernels);
  const std::optional<data::Dataset> dataset = data::parse_dataset(options.data);
  if (!dataset) throw ir::Error("unknown data set '" + options.data + "'");
  const bool anomaly = *dataset == data::Dataset::kAd01;

  ir::Graph graph = load_model(options.model);
  require_single_input_output(graph, "eval");
  runtime::CompiledModel model(std::move(graph), kernels);
  const ir::Graph& g = model.graph();
  const ir::Tensor& input_desc = g.tensor(g.inputs[0]);
  const ir::Tensor& output_desc = g.tensor(g.outputs[0]);
  // Before the data is read: these need only the model.
  data::check_model_input(*dataset, input_desc);
  if (anomaly && output_desc.num_elements() != input_desc.num_elements()) {
    throw ir::Error("ad01 scores are reconstruction errors, but the model output " +
                    data::describe_tensor(output_desc) + " does not match its input " +
                    data::describe_tensor(input_desc));
  }

  const data::DataRoot root = data::find_data_root();
  fmt::print(stderr, "{}\n", root.describe());
  const data::EvalSet set =
      data::load_eval_set(*dataset, root, input_desc, options.limit == 0 ? data::kAllRecords : options.limit);
  if (set.input_bytes != model.input_bytes(0)) {
    throw ir::Error(fmt::format("prepared {}-byte inputs but the model takes {} bytes", set.input_bytes,
                                model.input_bytes(0)));
  }

  const size_t inferences = set.num_inferences();
  const unsigned threads = thread_count(options.threads, inferences);
  fmt::print(stderr, "{} on {}: {} samples, {} inferences, {} threads, {} kernels\n", options.model, options.data,
             set.num_samples(), inferences, threads, kernels_name(kernels));

  // One slot per inference: the predicted class, or the window's reconstruction error.
  std::vector<int32_t> predictions(anomaly ? 0 : inferences);
  std::vector<double> window_errors(anomaly ? inferences : 0);
  const size_t output_bytes = model.output_bytes(0);
  Progress progress(inferences, anomaly ? "inferences" : "images");
  const double seconds = run_parallel(
      model, inferences, threads,
      [&](size_t item, runtime::Session& session) {
        std::span<const uint8_t> input = set.input(item);
        std::memcpy(session.input(0), input.data(), input.size());
        session.invoke();
        std::span<const uint8_t> output(session.output(0), output_bytes);
        if (anomaly) {
          window_errors[item] = data::reconstruction_mse(input_desc, input, output_desc, output);
        } else {
          predictions[item] = static_cast<int32_t>(data::argmax(output_desc.type, output));
        }
      },
      [&](size_t done, double elapsed) { progress.update(done, elapsed); });
  progress.finish(inferences, seconds);
  const double rate = seconds > 0.0 ? static_cast<double>(inferences) / seconds : 0.0;

  Json json;
  json["model"] = options.model;
  json["data"] = options.data;
  json["data_root"] = root.path.string();
  json["fixtures"] = root.fixtures;
  json["count"] = set.num_samples();
  json["inferences"] = inferences;
  if (anomaly) {
    std::vector<double> scores(set.num_samples(), 0.0);
    for (size_t sample = 0; sample < scores.size(); ++sample) {
      for (size_t w = 0; w < set.windows_per_sample; ++w) scores[sample] += window_errors[sample * set.windows_per_sample + w];
      scores[sample] /= static_cast<double>(set.windows_per_sample);
    }
    const double auc = data::roc_auc(scores, set.labels);
    json["top1"] = nullptr;  // an autoencoder has no classes; AUC is its accuracy figure
    json["auc"] = auc;
    if (!options.json) fmt::print("AUC: {:.4f} ({} samples, {} windows each)\n", auc, set.num_samples(), set.windows_per_sample);
  } else {
    size_t correct = 0;
    for (size_t i = 0; i < predictions.size(); ++i) correct += predictions[i] == set.labels[i] ? 1 : 0;
    const double top1 = set.num_samples() == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(set.num_samples());
    json["top1"] = top1;
    json["correct"] = correct;
    if (!options.json) fmt::print("Top-1: {:.2f}% ({}/{})\n", top1 * 100.0, correct, set.num_samples());
  }
  json["images_per_second"] = rate;
  json["seconds"] = seconds;
  json["threads"] = threads;
  json["kernels"] = std::string(kernels_name(kernels));
  if (options.json) {
    fmt::print("{}\n", json.dump());
  } else {
    fmt::print("count: {}\n", set.num_samples());
    fmt::print("{}/s: {:.1f} ({} threads, {} kernels, {:.3f} s)\n", anomaly ? "inferences" : "images", rate, threads,
               kernels_name(kernels), seconds);
  }
  return 0;
}

}  // namespace frugal::cli
