#include "data/readers.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

#include "ir/graph.h"

namespace frugal::data {
namespace fs = std::filesystem;

namespace {

constexpr size_t kCifarSide = 32;
constexpr size_t kCifarPlane = kCifarSide * kCifarSide;
constexpr size_t kCifarRecord = 1 + 3 * kCifarPlane;
constexpr size_t kKwsRecord = 49 * 10;
constexpr size_t kVwwSide = 96;
constexpr size_t kVwwRecord = kVwwSide * kVwwSide * 3;
constexpr int32_t kAdFrames = 200;
constexpr int32_t kAdBins = 128;
constexpr size_t kAdRecord = static_cast<size_t>(kAdFrames) * kAdBins * sizeof(float);

std::string missing_hint(const fs::path& file) {
  return "cannot open " + file.string() +
         " (the bundled fixtures hold only cifar10 and kws01; set FRUGAL_DATA to the full shared data)";
}

// Number of whole records in `file`, throwing if the size is not a positive multiple.
size_t count_records(const fs::path& file, size_t record_bytes, const char* what) {
  std::error_code ec;
  uintmax_t size = fs::file_size(file, ec);
  if (ec) throw ir::Error(missing_hint(file));
  if (size == 0 || size % record_bytes != 0) {
    throw ir::Error(file.string() + ": " + std::to_string(size) + " bytes is not a whole number of " +
                    std::to_string(record_bytes) + "-byte " + what + " records (truncated or wrong file?)");
  }
  return static_cast<size_t>(size / record_bytes);
}

std::vector<uint8_t> read_prefix(const fs::path& file, size_t bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ir::Error(missing_hint(file));
  std::vector<uint8_t> data(bytes);
  in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(bytes));
  if (static_cast<size_t>(in.gcount()) != bytes) {
    throw ir::Error(file.string() + ": read " + std::to_string(in.gcount()) + " of " + std::to_string(bytes) +
                    " bytes");
  }
  return data;
}

// Labels for `records` records: the csv must have exactly one line per record of the full file,
// otherwise samples and labels are probably from different cuts.
std::vector<int32_t> labels_for(const fs::path& labels_file, size_t file_records, size_t used,
                                const fs::path& samples_file) {
  std::vector<int32_t> labels = read_label_csv(labels_file);
  if (labels.size() != file_records) {
    throw ir::Error(labels_file.string() + " has " + std::to_string(labels.size()) + " labels but " +
                    samples_file.string() + " has " + std::to_string(file_records) + " records");
  }
  labels.resize(used);
  return labels;
}

void check_label_range(const std::vector<int32_t>& labels, int32_t classes, const fs::path& file) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= classes) {
      throw ir::Error(file.string() + ": label " + std::to_string(labels[i]) + " of record " + std::to_string(i) +
                      " is outside 0.." + std::to_string(classes - 1));
    }
  }
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

}  // namespace

size_t Int8FeatureSet::record_elements() const {
  size_t elements = 1;
  for (int32_t dim : record_shape) elements *= static_cast<size_t>(dim);
  return elements;
}

std::vector<int32_t> read_label_csv(const fs::path& file, size_t field) {
  std::ifstream in(file);
  if (!in) throw ir::Error(missing_hint(file));
  std::vector<int32_t> labels;
  std::string line;
  size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (trim(line).empty()) continue;
    std::string_view rest = line;
    for (size_t i = 0; i < field; ++i) {
      size_t comma = rest.find(',');
      if (comma == std::string_view::npos) {
        throw ir::Error(file.string() + ":" + std::to_string(line_number) + ": expected at least " +
                        std::to_string(field + 1) + " comma-separated fields");
      }
      rest.remove_prefix(comma + 1);
    }
    std::string_view value = trim(rest.substr(0, rest.find(',')));
    int32_t label = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), label);
    if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
      throw ir::Error(file.string() + ":" + std::to_string(line_number) + ": field " + std::to_string(field + 1) +
                      " '" + std::string(value) + "' is not an integer label");
    }
    labels.push_back(label);
  }
  return labels;
}

ImageSet read_cifar10_batch(const fs::path& file, size_t limit) {
  size_t records = std::min(count_records(file, kCifarRecord, "CIFAR-10"), limit);
  std::vector<uint8_t> raw = read_prefix(file, records * kCifarRecord);
  ImageSet set;
  set.height = set.width = static_cast<int32_t>(kCifarSide);
  set.channels = 3;
  set.pixels.resize(records * 3 * kCifarPlane);
  set.labels.resize(records);
  for (size_t r = 0; r < records; ++r) {
    const uint8_t* record = raw.data() + r * kCifarRecord;
    set.labels[r] = record[0];
    const uint8_t* planes = record + 1;
    uint8_t* hwc = set.pixels.data() + r * 3 * kCifarPlane;
    for (size_t pixel = 0; pixel < kCifarPlane; ++pixel) {
      for (size_t channel = 0; channel < 3; ++channel) hwc[pixel * 3 + channel] = planes[channel * kCifarPlane + pixel];
    }
  }
  check_label_range(set.labels, 10, file);
  return set;
}

ImageSet read_cifar10_test(const DataRoot& root, size_t limit) {
  return read_cifar10_batch(paths::cifar10_test(root), limit);
}

ImageSet read_cifar10_train(const DataRoot& root, size_t limit) {
  ImageSet all;
  for (int batch = 1; batch <= 5 && all.size() < limit; ++batch) {
    fs::path file = root.path / "cifar10" / ("data_batch_" + std::to_string(batch) + ".bin");
    std::error_code ec;
    if (!fs::exists(file, ec)) continue;
    ImageSet part = read_cifar10_batch(file, limit - all.size());
    all.height = part.height;
    all.width = part.width;
    all.channels = part.channels;
    all.pixels.insert(all.pixels.end(), part.pixels.begin(), part.pixels.end());
    all.labels.insert(all.labels.end(), part.labels.begin(), part.labels.end());
  }
  if (all.size() == 0) {
    throw ir::Error("no CIFAR-10 training batches (data_batch_N.bin) under " + (root.path / "cifar10").string());
  }
  return all;
}

Int8FeatureSet read_kws01(const fs::path& samples, const fs::path& labels, size_t limit) {
  size_t file_records = count_records(samples, kKwsRecord, "kws01");
  size_t records = std::min(file_records, limit);
  std::vector<uint8_t> raw = read_prefix(samples, records * kKwsRecord);
  Int8FeatureSet set;
  set.record_shape = {49, 10};
  set.values.resize(raw.size());
  std::memcpy(set.values.data(), raw.data(), raw.size());
  set.labels = labels_for(labels, file_records, records, samples);
  check_label_range(set.labels, 12, labels);
  return set;
}

Int8FeatureSet read_kws01(const DataRoot& root, size_t limit) {
  return read_kws01(paths::kws01_samples(root), paths::kws01_labels(root), limit);
}

ImageSet read_vww01(const fs::path& samples, const fs::path& labels, size_t limit) {
  size_t file_records = count_records(samples, kVwwRecord, "vww01");
  size_t records = std::min(file_records, limit);
  ImageSet set;
  set.height = set.width = static_cast<int32_t>(kVwwSide);
  set.channels = 3;
  set.pixels = read_prefix(samples, records * kVwwRecord);
  set.labels = labels_for(labels, file_records, records, samples);
  check_label_range(set.labels, 2, labels);
  return set;
}

ImageSet read_vww01(const DataRoot& root, size_t limit) {
  return read_vww01(paths::vww01_samples(root), paths::vww01_labels(root), limit);
}

SpectrogramSet read_ad01(const fs::path& samples, const fs::path& labels, size_t limit) {
  size_t file_records = count_records(samples, kAdRecord, "ad01");
  size_t records = std::min(file_records, limit);
  std::vector<uint8_t> raw = read_prefix(samples, records * kAdRecord);
  SpectrogramSet set;
  set.frames = kAdFrames;
  set.bins = kAdBins;
  set.values.resize(raw.size() / sizeof(float));
  for (size_t i = 0; i < set.values.size(); ++i) {
    uint32_t bits = static_cast<uint32_t>(raw[4 * i]) | static_cast<uint32_t>(raw[4 * i + 1]) << 8 |
                    static_cast<uint32_t>(raw[4 * i + 2]) << 16 | static_cast<uint32_t>(raw[4 * i + 3]) << 24;
    set.values[i] = std::bit_cast<float>(bits);
  }
  set.labels = labels_for(labels, file_records, records, samples);
  check_label_range(set.labels, 2, labels);
  return set;
}

SpectrogramSet read_ad01(const DataRoot& root, size_t limit) {
  return read_ad01(paths::ad01_samples(root), paths::ad01_labels(root), limit);
}

namespace paths {
fs::path cifar10_test(const DataRoot& root) { return root.path / "cifar10" / "test_batch.bin"; }
fs::path kws01_samples(const DataRoot& root) {
  return root.path / "mlperf_tiny" / "keyword_spotting" / "kws01_mfcc_int8.bin";
}
fs::path kws01_labels(const DataRoot& root) {
  return root.path / "mlperf_tiny" / "keyword_spotting" / "kws01_y_labels.csv";
}
fs::path vww01_samples(const DataRoot& root) {
  return root.path / "mlperf_tiny" / "visual_wake_words" / "vww01_samples_u8_96x96x3.bin";
}
fs::path vww01_labels(const DataRoot& root) {
  return root.path / "mlperf_tiny" / "visual_wake_words" / "vww01_y_labels.csv";
}
fs::path ad01_samples(const DataRoot& root) {
  return root.path / "mlperf_tiny" / "anomaly_detection" / "ad01_alt_samples_f32.bin";
}
fs::path ad01_labels(const DataRoot& root) {
  return root.path / "mlperf_tiny" / "anomaly_detection" / "ad01_y_labels_alt.csv";
}
}  // namespace paths

}  // namespace frugal::data
