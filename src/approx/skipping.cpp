#include "approx/skipping.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "approx/json_numbers.h"
#include "kernels/cortexm/sparse_pack.h"

namespace frugal::approx {

using ir::Error;

std::string_view to_string(Measure measure) {
  switch (measure) {
    case Measure::kContributionRatio: return "ratio";
    case Measure::kErrorMeasure: return "error";
    case Measure::kResidualError: return "residual";
  }
  return "?";
}

std::optional<Measure> parse_measure(std::string_view name) {
  for (Measure m : {Measure::kContributionRatio, Measure::kErrorMeasure, Measure::kResidualError}) {
    if (name == to_string(m)) return m;
  }
  return std::nullopt;
}

std::string_view to_string(Granularity granularity) {
  switch (granularity) {
    case Granularity::kOperand: return "operand";
    case Granularity::kQuad: return "quad";
    case Granularity::kSmladPair: return "smlad-pair";
    case Granularity::kChannelQuad: return "channel-quad";
    case Granularity::kPairedQuad: return "paired-quad";
  }
  return "?";
}

std::optional<Granularity> parse_granularity(std::string_view name) {
  for (Granularity g : {Granularity::kOperand, Granularity::kQuad, Granularity::kSmladPair, Granularity::kChannelQuad,
                        Granularity::kPairedQuad}) {
    if (name == to_string(g)) return g;
  }
  return std::nullopt;
}

std::string config_to_json(const SkipConfig& config) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerSkip& s : config.layers) {
    nlohmann::json j = {{"layer", s.layer}, {"measure", std::string(to_string(s.measure))}};
    if (s.fraction) j["fraction"] = *s.fraction;
    if (s.count) j["count"] = *s.count;
    if (s.granularity != Granularity::kOperand) j["granularity"] = std::string(to_string(s.granularity));
    if (s.group != 1) j["group"] = s.group;
    if (s.operands) j["operands"] = *s.operands;
    if (s.bias_delta) j["bias_delta"] = *s.bias_delta;
    layers.push_back(std::move(j));
  }
  bool resolved = false;
  for (const LayerSkip& s : config.layers) resolved = resolved || s.operands.has_value();
  // Resolved configs list thousands of operands: one line per layer instead of per number.
  const nlohmann::json j{{"format", "frugal-skip-config"}, {"version", 1}, {"layers", std::move(layers)}};
  if (!resolved) return j.dump(1);
  std::string text = "{\"format\": \"frugal-skip-config\", \"version\": 1, \"layers\": [";
  for (size_t i = 0; i < j["layers"].size(); ++i) text += (i == 0 ? "\n " : ",\n ") + j["layers"][i].dump();
  return text + "\n]}\n";
}

namespace {

// Reads field `field` of skip config entry `entry` as a T (json_numbers.h says why not get<T>()).
template <typename T>
T config_integer(const nlohmann::json& value, size_t entry, const std::string& layer, std::string_view field) {
  if (const std::optional<T> v = json_numbers::integer<T>(value)) return *v;
  throw Error(fmt::format("skip config entry {} ('{}'): \"{}\" must be an integer in [{}, {}]", entry, layer, field,
                          std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
}

template <typename T>
std::vector<T> config_integers(const nlohmann::json& value, size_t entry, const std::string& layer,
                               std::string_view field) {
  if (!value.is_array()) {
    throw Error(fmt::format("skip config entry {} ('{}'): \"{}\" must be a list of integers", entry, layer, field));
  }
  std::vector<T> out;
  out.reserve(value.size());
  for (const nlohmann::json& v : value) out.push_back(config_integer<T>(v, entry, layer, field));
  return out;
}

}  // namespace

SkipConfig config_from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("skip config is not valid JSON: {}", e.what()));
  }
  const auto format = j.is_object() ? j.find("format") : j.end();
  if (!j.is_object() || format == j.end() || *format != "frugal-skip-config") {
    throw Error("not a skip config (no \"format\": \"frugal-skip-config\")");
  }
  SkipConfig config;
  size_t entry = 0;
  try {
    const nlohmann::json& version = j.at("version");
    if (json_numbers::integer<int>(version) != 1) {
      throw Error(fmt::format("skip config version {} is not supported (expected 1)",
                              version.is_number() ? version.dump() : std::string(version.type_name())));
    }
    if (!j.at("layers").is_array()) throw Error("skip config: \"layers\" must be a list");
    for (const nlohmann::json& jl : j.at("layers")) {
      LayerSkip s;
      // Names are compared with the model's, which the importers made printable the same way;
      // it also keeps every message that quotes the name on one line.
      s.layer = ir::printable(jl.at("layer").get<std::string>());
      if (jl.contains("fraction")) s.fraction = jl.at("fraction").get<double>();
      if (jl.contains("count")) s.count = config_integer<int64_t>(jl.at("count"), entry, s.layer, "count");
      if (jl.contains("operands")) s.operands = config_integers<int64_t>(jl.at("operands"), entry, s.layer, "operands");
      if (jl.contains("bias_delta")) {
        s.bias_delta = config_integers<int32_t>(jl.at("bias_delta"), entry, s.layer, "bias_delta");
      }
      if (jl.contains("group")) s.group = config_integer<int32_t>(jl.at("group"), entry, s.layer, "group");
      const std::string granularity = jl.value("granularity", std::string("operand"));
      const std::optional<Granularity> g = parse_granularity(granularity);
      if (!g) {
        throw Error(fmt::format("skip config entry {} ('{}'): unknown granularity '{}' (operand, channel-quad, quad, paired-quad, smlad-pair)",
                                entry, s.layer, ir::printable(granularity)));
      }
      s.granularity = *g;
      const std::string measure = jl.value("measure", std::string("error"));
      const std::optional<Measure> m = parse_measure(measure);
      if (!m) {
        throw Error(fmt::format("skip config entry {} ('{}'): unknown measure '{}' (ratio, error, residual)", entry,
                                s.layer, ir::printable(measure)));
      }
      s.measure = *m;
      config.layers.push_back(std::move(s));
      ++entry;
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("skip config entry {}: missing or mistyped field ({})", entry, e.what()));
  }
  return config;
}

void save_config(const SkipConfig& config, const std::filesystem::path& file) {
  std::ofstream out(file, std::ios::binary);
  out << config_to_json(config);
  if (!out) throw Error(fmt::format("cannot write skip config '{}'", file.string()));
}

SkipConfig load_config(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw Error(fmt::format("cannot read skip config '{}': it is a directory", file.string()));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read skip config '{}': {}", file.string(), std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return config_from_json(text.str());
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", file.string(), e.what()));
  }
}

SkipConfig uniform_skip(const SignificanceReport& report, double fraction, Measure measure, int32_t group) {
  SkipConfig config;
  for (const LayerSignificance& l : report.layers) {
    if (l.approximable) config.layers.push_back(LayerSkip{l.name, fraction, std::nullopt, measure, group});
  }
  return config;
}

namespace {

// Explicit operand lists must be ascending, unique and inside the layer; bias deltas one per
// channel.
void check_explicit_entries(const LayerSkip& s, int64_t channels, int64_t per_channel) {
  if (s.bias_delta && static_cast<int64_t>(s.bias_delta->size()) != channels) {
    throw Error(fmt::format("skip config: layer '{}' has {} bias deltas for {} channels", s.layer,
                            s.bias_delta->size(), channels));
  }
  if (!s.operands) return;
  const int64_t total = channels * per_channel;
  for (size_t i = 0; i < s.operands->size(); ++i) {
    const int64_t o = (*s.operands)[i];
    if (o < 0 || o >= total) {
      throw Error(fmt::format("skip config: layer '{}' skips operand {} outside [0, {})", s.layer, o, total));
    }
    if (i > 0 && o <= (*s.operands)[i - 1]) {
      throw Error(fmt::format("skip config: layer '{}' lists operands out of order or twice (at {})", s.layer, o));
    }
  }
}

// Report layer index of every configured layer; checks everything validate_config promises.
std::vector<size_t> resolve(const ir::Graph& graph, const SignificanceReport& report, const SkipConfig& config) {
  check_report_matches(report, graph);
  std::unordered_map<std::string, size_t> by_name;
  for (size_t l = 0; l < report.layers.size(); ++l) by_name.emplace(report.layers[l].name, l);
  std::vector<size_t> resolved;
  std::vector<bool> seen(report.layers.size(), false);
  for (const LayerSkip& s : config.layers) {
    const auto it = by_name.find(s.layer);
    if (it == by_name.end()) {
      throw Error(fmt::format("skip config: '{}' is not a conv/depthwise/FC layer of model '{}'", s.layer, graph.name));
    }
    const LayerSignificance& l = report.layers[it->second];
    if (!l.approximable) throw Error(fmt::format("skip config: layer '{}' is not approximable", s.layer));
    if (seen[it->second]) throw Error(fmt::format("skip config: layer '{}' is listed twice", s.layer));
    seen[it->second] = true;
    if (static_cast<int>(s.fraction.has_value()) + static_cast<int>(s.count.has_value()) +
            static_cast<int>(s.operands.has_value()) !=
        1) {
      throw Error(fmt::format("skip config: layer '{}' needs exactly one of a fraction, a count and operands", s.layer));
    }
    check_explicit_entries(s, l.channels, l.operands_per_channel);
    if (s.granularity != Granularity::kOperand &&
        graph.ops.at(static_cast<size_t>(l.op_index)).type == ir::OpType::kDepthwiseConv2D) {
      throw Error(fmt::format("skip config: layer '{}' is depthwise; granularity '{}' is for conv and FC layers",
                              s.layer, to_string(s.granularity)));
    }
    if (s.fraction && !(*s.fraction >= 0.0 && *s.fraction <= 1.0)) {
      throw Error(fmt::format("skip config: layer '{}' has fraction {} outside [0, 1]", s.layer, *s.fraction));
    }
    if (s.count && (*s.count < 0 || static_cast<uint64_t>(*s.count) > l.operands())) {
      throw Error(fmt::format("skip config: layer '{}' has count {} outside [0, {}]", s.layer, *s.count, l.operands()));
    }
    if (s.group < 1) throw Error(fmt::format("skip config: layer '{}' has group {} (must be >= 1)", s.layer, s.group));
    resolved.push_back(it->second);
  }
  return resolved;
}

std::vector<double> ranking_values(const LayerSignificance& l, Measure measure) {
  std::vector<double> v(l.operands());
  const size_t n = static_cast<size_t>(l.operands_per_channel);
  for (size_t i = 0; i < v.size(); ++i) {
    switch (measure) {
      case Measure::kContributionRatio: v[i] = l.contribution_ratio[i]; break;
      case Measure::kErrorMeasure: v[i] = l.error_measure[i]; break;
      case Measure::kResidualError: {
        const double mean_lsb = l.output_multiplier[i / n] * static_cast<double>(l.mean_contribution[i]);
        v[i] = std::max(0.0, static_cast<double>(l.error_measure[i]) - mean_lsb * mean_lsb);
        break;
      }
    }
  }
  return v;
}

int64_t skip_count(const LayerSkip& s, const LayerSignificance& l) {
  if (s.count) return *s.count;
  return static_cast<int64_t>(std::llround(*s.fraction * static_cast<double>(l.operands())));
}

// Output channels and operands per channel of a conv-like op, from its weight tensor (the
// operand order of significance.h: OHWI rows for conv, (ky, kx) for depthwise, inputs for FC).
struct LayerGeometry {
  int64_t channels = 0, operands_per_channel = 0;
};

std::optional<LayerGeometry> layer_geometry(const ir::Graph& graph, const ir::Op& op) {
  if (op.type != ir::OpType::kConv2D && op.type != ir::OpType::kDepthwiseConv2D &&
      op.type != ir::OpType::kFullyConnected) {
    return std::nullopt;
  }
  const ir::Tensor* w = graph.input(op, 1);
  if (w == nullptr || !w->is_constant || w->type != ir::DataType::kInt8 || w->shape.empty()) return std::nullopt;
  const int64_t elements = w->num_elements();
  if (op.type == ir::OpType::kDepthwiseConv2D) {
    const int64_t channels = w->shape.back();
    return channels > 0 ? std::optional<LayerGeometry>({channels, elements / channels}) : std::nullopt;
  }
  const int64_t channels = w->shape.front();
  return channels > 0 ? std::optional<LayerGeometry>({channels, elements / channels}) : std::nullopt;
}

// Index of weight (channel, operand) in the op's constant tensor.
size_t weight_index(ir::OpType type, const LayerGeometry& l, int64_t operand) {
  const size_t n = static_cast<size_t>(l.operands_per_channel);
  const size_t c = static_cast<size_t>(operand) / n, k = static_cast<size_t>(operand) % n;
  return type == ir::OpType::kDepthwiseConv2D ? k * static_cast<size_t>(l.channels) + c : c * n + k;
}

// Makes input `slot` of op `op_index` a tensor that no other op reads, copying it if needed.
ir::Tensor& own_input(ir::Graph& graph, int32_t op_index, size_t slot) {
  const int32_t t = graph.ops[static_cast<size_t>(op_index)].inputs.at(slot);
  int readers = 0;
  for (const ir::Op& op : graph.ops) readers += static_cast<int>(std::count(op.inputs.begin(), op.inputs.end(), t));
  if (readers > 1) {
    ir::Tensor copy = graph.tensor(t);
    copy.name += "/skipped";
    graph.tensors.push_back(std::move(copy));
    graph.ops[static_cast<size_t>(op_index)].inputs[slot] = static_cast<int32_t>(graph.tensors.size() - 1);
  }
  return graph.tensor(graph.ops[static_cast<size_t>(op_index)].inputs[slot]);
}

// Adds an all-zero int32 bias with the scales validate expects (input scale x weight scale).
void add_zero_bias(ir::Graph& graph, int32_t op_index, int32_t channels) {
  ir::Op& op = graph.ops[static_cast<size_t>(op_index)];
  const ir::Tensor& input = graph.tensor(op.inputs.at(0));
  const ir::Tensor& weights = graph.tensor(op.inputs.at(1));
  ir::Tensor bias;
  bias.name = op.name + "/compensation_bias";
  bias.type = ir::DataType::kInt32;
  bias.shape = {channels};
  bias.is_constant = true;
  bias.data.assign(static_cast<size_t>(channels) * sizeof(int32_t), 0);
  for (float ws : weights.quant.scale) bias.quant.scale.push_back(input.quant.scale.at(0) * ws);
  bias.quant.zero_point.assign(bias.quant.scale.size(), 0);
  graph.tensors.push_back(std::move(bias));
  const int32_t index = static_cast<int32_t>(graph.tensors.size() - 1);
  if (op.inputs.size() < 3) op.inputs.resize(3, -1);
  op.inputs[2] = index;
}

}  // namespace

void validate_config(const ir::Graph& graph, const SignificanceReport& report, const SkipConfig& config) {
  resolve(graph, report, config);
}

std::vector<LayerSelection> select_skipped(const ir::Graph& graph, const SignificanceReport& report,
                                           const SkipConfig& config) {
  const std::vector<size_t> resolved = resolve(graph, report, config);
  std::vector<LayerSelection> selections;
  for (size_t i = 0; i < resolved.size(); ++i) {
    const LayerSignificance& l = report.layers[resolved[i]];
    const LayerSkip& skip = config.layers[i];
    LayerSelection s;
    s.report_layer = resolved[i];
    s.op_index = l.op_index;
    if (skip.operands) {
      s.operands = *skip.operands;
      selections.push_back(std::move(s));
      continue;
    }
    const std::vector<double> value = ranking_values(l, skip.measure);
    const int64_t n = l.operands_per_channel;
    // Skip groups as member lists (operand indices, ascending), ranked by their summed measure.
    struct Group {
      std::vector<int64_t> members;
      double value = 0.0;
    };
    const int64_t count = skip_count(skip, l);
    // Cheapest groups first (ties to the lower first member), passing over any that would
    // exceed the count.
    const auto choose = [count](std::vector<Group>& candidates) {
      std::sort(candidates.begin(), candidates.end(), [](const Group& a, const Group& b) {
        return a.value != b.value ? a.value < b.value : a.members.front() < b.members.front();
      });
      std::vector<int64_t> chosen;
      for (const Group& group : candidates) {
        if (static_cast<int64_t>(chosen.size()) == count) break;
        if (static_cast<int64_t>(chosen.size() + group.members.size()) > count) continue;
        chosen.insert(chosen.end(), group.members.begin(), group.members.end());
      }
      std::sort(chosen.begin(), chosen.end());
      return chosen;
    };
    const auto valued = [&value](std::vector<Group>& candidates) {
      for (Group& group : candidates) {
        for (int64_t m : group.members) group.value += value[static_cast<size_t>(m)];
      }
    };
    const auto kernel_groups = [&](kernels::cortexm::SkipGranularity g) {
      std::vector<Group> out;
      for (const kernels::cortexm::SkipGroup& kg : kernels::cortexm::skip_groups(l.channels, static_cast<int32_t>(n), g)) {
        Group group;
        for (const auto& [channel, operand] : kg.members) group.members.push_back(channel * n + operand);
        std::sort(group.members.begin(), group.members.end());
        out.push_back(std::move(group));
      }
      valued(out);
      return out;
    };
    if (skip.granularity == Granularity::kPairedQuad) {
      // 1. the cheapest channel quads; 2. channels that share them paired; 3. pair quads over
      // that pairing (what PairedQuadGemm skips).
      std::vector<Group> channel_quads = kernel_groups(kernels::cortexm::SkipGranularity::kChannelQuad);
      std::vector<uint8_t> mask(l.operands(), 0);
      for (int64_t o : choose(channel_quads)) mask[static_cast<size_t>(o)] = 1;
      const std::vector<int32_t> order = kernels::cortexm::pair_channels(mask.data(), l.channels, static_cast<int32_t>(n));
      std::vector<Group> pair_quads;
      for (size_t p = 0; p < order.size(); p += 2) {
        for (int64_t q = 0; q < (n + 3) / 4; ++q) {
          Group group;
          for (size_t c = p; c < std::min(p + 2, order.size()); ++c) {
            for (int64_t at = 4 * q; at < std::min(4 * q + 4, n); ++at) group.members.push_back(order[c] * n + at);
          }
          std::sort(group.members.begin(), group.members.end());
          pair_quads.push_back(std::move(group));
        }
      }
      valued(pair_quads);
      s.operands = choose(pair_quads);
      selections.push_back(std::move(s));
      continue;
    }
    std::vector<Group> groups;
    if (skip.granularity == Granularity::kOperand) {
      const int64_t g = skip.group;
      groups.reserve(static_cast<size_t>(l.channels * ((n + g - 1) / g)));
      for (int64_t c = 0; c < l.channels; ++c) {
        for (int64_t k = 0; k < n; k += g) {
          Group group;
          for (int64_t m = 0; m < std::min(g, n - k); ++m) group.members.push_back(c * n + k + m);
          groups.push_back(std::move(group));
        }
      }
      valued(groups);
    } else {
      groups = kernel_groups(skip.granularity == Granularity::kQuad ? kernels::cortexm::SkipGranularity::kQuad
                             : skip.granularity == Granularity::kChannelQuad
                                 ? kernels::cortexm::SkipGranularity::kChannelQuad
                                 : kernels::cortexm::SkipGranularity::kSmladPair);
    }
    s.operands = choose(groups);
    selections.push_back(std::move(s));
  }
  return selections;
}

SkipConfig resolve_config(const ir::Graph& graph, const SignificanceReport& report, const SkipConfig& config,
                          bool compensate_bias) {
  const std::vector<LayerSelection> selections = select_skipped(graph, report, config);
  SkipConfig out;
  for (size_t i = 0; i < selections.size(); ++i) {
    const LayerSelection& sel = selections[i];
    const LayerSignificance& l = report.layers[sel.report_layer];
    LayerSkip s;
    s.layer = l.name;
    s.measure = config.layers[i].measure;
    s.granularity = config.layers[i].granularity;
    s.group = config.layers[i].group;
    s.operands = sel.operands;
    if (config.layers[i].bias_delta) {
      s.bias_delta = config.layers[i].bias_delta;
    } else if (compensate_bias) {
      std::vector<double> sum(static_cast<size_t>(l.channels), 0.0);
      for (int64_t operand : sel.operands) {
        sum[static_cast<size_t>(operand / l.operands_per_channel)] += l.mean_contribution[static_cast<size_t>(operand)];
      }
      std::vector<int32_t> delta(sum.size());
      for (size_t c = 0; c < sum.size(); ++c) {
        delta[c] = static_cast<int32_t>(std::clamp(std::round(sum[c]), static_cast<double>(std::numeric_limits<int32_t>::min()),
                                                   static_cast<double>(std::numeric_limits<int32_t>::max())));
      }
      s.bias_delta = std::move(delta);
    }
    out.layers.push_back(std::move(s));
  }
  return out;
}

namespace {

struct ResolvedLayer {
  int32_t op_index = -1;
  LayerGeometry geometry;
};

std::vector<ResolvedLayer> check_resolved(const ir::Graph& graph, const SkipConfig& config) {
  std::unordered_map<std::string, int32_t> by_name;
  for (size_t i = 0; i < graph.ops.size(); ++i) by_name.emplace(graph.ops[i].name, static_cast<int32_t>(i));
  std::vector<ResolvedLayer> out;
  std::vector<bool> seen(graph.ops.size(), false);
  for (const LayerSkip& s : config.layers) {
    const auto it = by_name.find(s.layer);
    if (it == by_name.end()) {
      throw Error(fmt::format("skip config: model '{}' has no layer '{}'", graph.name, s.layer));
    }
    const ir::Op& op = graph.ops[static_cast<size_t>(it->second)];
    const std::optional<LayerGeometry> geometry = layer_geometry(graph, op);
    if (!geometry) {
      throw Error(fmt::format("skip config: layer '{}' is a {}, not a conv/depthwise/FC layer with int8 weights",
                              s.layer, ir::to_string(op.type)));
    }
    if (seen[static_cast<size_t>(it->second)]) throw Error(fmt::format("skip config: layer '{}' is listed twice", s.layer));
    seen[static_cast<size_t>(it->second)] = true;
    if (!s.operands) {
      throw Error(fmt::format("skip config: layer '{}' is not resolved (no \"operands\" list; explore -o writes "
                              "resolved point files)", s.layer));
    }
    check_explicit_entries(s, geometry->channels, geometry->operands_per_channel);
    out.push_back({it->second, *geometry});
  }
  return out;
}

}  // namespace

void validate_resolved(const ir::Graph& graph, const SkipConfig& config) { check_resolved(graph, config); }

ir::Graph apply_resolved(const ir::Graph& graph, const SkipConfig& config) {
  const std::vector<ResolvedLayer> layers = check_resolved(graph, config);
  ir::Graph out = graph;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerSkip& s = config.layers[i];
    const int32_t op_index = layers[i].op_index;
    const LayerGeometry& g = layers[i].geometry;
    const ir::OpType type = out.ops[static_cast<size_t>(op_index)].type;
    if (!s.operands->empty()) {
      ir::Tensor& weights = own_input(out, op_index, 1);
      auto* w = reinterpret_cast<int8_t*>(weights.data.data());
      for (int64_t operand : *s.operands) w[weight_index(type, g, operand)] = 0;
    }
    if (!s.bias_delta) continue;
    if (out.input(out.ops[static_cast<size_t>(op_index)], 2) == nullptr) {
      add_zero_bias(out, op_index, static_cast<int32_t>(g.channels));
    }
    ir::Tensor& bias = own_input(out, op_index, 2);
    for (size_t c = 0; c < s.bias_delta->size(); ++c) {
      int32_t b = 0;
      std::memcpy(&b, bias.data.data() + c * sizeof(int32_t), sizeof b);
      const int64_t moved = static_cast<int64_t>(b) + (*s.bias_delta)[c];
      b = static_cast<int32_t>(std::clamp<int64_t>(moved, std::numeric_limits<int32_t>::min(),
                                                   std::numeric_limits<int32_t>::max()));
      std::memcpy(bias.data.data() + c * sizeof(int32_t), &b, sizeof b);
    }
  }
  return out;
}

ir::Graph apply_skipping(const ir::Graph& graph, const SignificanceReport& report, const SkipConfig& config,
                         bool compensate_bias) {
  return apply_resolved(graph, resolve_config(graph, report, config, compensate_bias));
}

int64_t skipped_macs(const ir::Graph& graph, const SignificanceReport& report, const SkipConfig& config) {
  int64_t total = 0;
  for (const LayerSelection& s : select_skipped(graph, report, config)) {
    const LayerSignificance& l = report.layers[s.report_layer];
    const int64_t per_operand =
        ir::macs(graph, graph.ops[static_cast<size_t>(l.op_index)]) / static_cast<int64_t>(l.operands());
    total += static_cast<int64_t>(s.operands.size()) * per_operand;
  }
  return total;
}

}  // namespace frugal::approx
