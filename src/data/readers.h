// Readers for the shared data sets (layouts in shared/data/SOURCES.md). They return the records as
// stored, in a uniform in-memory layout (images as u8 HWC); preparing them for a particular model
// input is eval_set.h's job. Malformed or truncated files throw ir::Error naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <vector>

#include "data/data_root.h"

namespace frugal::data {

inline constexpr size_t kAllRecords = std::numeric_limits<size_t>::max();

struct ImageSet {
  int32_t height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;  // u8, HWC, one image after the other
  std::vector<int32_t> labels;  // one per image

  size_t size() const { return labels.size(); }
  size_t image_bytes() const { return static_cast<size_t>(height) * static_cast<size_t>(width) * static_cast<size_t>(channels); }
  std::span<const uint8_t> image(size_t i) const { return {pixels.data() + i * image_bytes(), image_bytes()}; }
};

// kws01 MFCC features, already quantized with the int8 DS-CNN's input parameters.
struct Int8FeatureSet {
  std::vector<int32_t> record_shape;  // {49, 10}
  std::vector<int8_t> values;
  std::vector<int32_t> labels;

  size_t size() const { return labels.size(); }
  size_t record_elements() const;
  std::span<const int8_t> record(size_t i) const { return {values.data() + i * record_elements(), record_elements()}; }
};

// ad01 log-mel spectrograms: frames x bins float32 per sample, frame-major.
struct SpectrogramSet {
  int32_t frames = 0, bins = 0;
  std::vector<float> values;
  std::vector<int32_t> labels;  // 0 normal, 1 anomaly

  size_t size() const { return labels.size(); }
  size_t sample_elements() const { return static_cast<size_t>(frames) * static_cast<size_t>(bins); }
  std::span<const float> sample(size_t i) const { return {values.data() + i * sample_elements(), sample_elements()}; }
};

// CIFAR-10 binary batch: 3073-byte records [label][1024 R][1024 G][1024 B] (planes row-major),
// converted to HWC. Reads at most `limit` records.
ImageSet read_cifar10_batch(const std::filesystem::path& file, size_t limit = kAllRecords);
// The test split (cifar10/test_batch.bin) and the training split used for calibration
// (cifar10/data_batch_1..3.bin, those present, concatenated in order).
ImageSet read_cifar10_test(const DataRoot& root, size_t limit = kAllRecords);
ImageSet read_cifar10_train(const DataRoot& root, size_t limit = kAllRecords);

// kws01: 490 int8 bytes (49 frames x 10 MFCC) per record; labels = third field of the csv.
Int8FeatureSet read_kws01(const std::filesystem::path& samples, const std::filesystem::path& labels,
                          size_t limit = kAllRecords);
Int8FeatureSet read_kws01(const DataRoot& root, size_t limit = kAllRecords);

// vww01: 27648-byte u8 HWC 96x96x3 records; labels = third field of the csv (1 person).
ImageSet read_vww01(const std::filesystem::path& samples, const std::filesystem::path& labels,
                    size_t limit = kAllRecords);
ImageSet read_vww01(const DataRoot& root, size_t limit = kAllRecords);

// ad01 alt set: 200 frames x 128 float32 (little-endian) per sample; labels = third field.
SpectrogramSet read_ad01(const std::filesystem::path& samples, const std::filesystem::path& labels,
                         size_t limit = kAllRecords);
SpectrogramSet read_ad01(const DataRoot& root, size_t limit = kAllRecords);

// Integer `field` (0-based, comma-separated, surrounding blanks ignored) of every non-empty line.
std::vector<int32_t> read_label_csv(const std::filesystem::path& file, size_t field = 2);

// Fixed paths of the data set files under a data root.
namespace paths {
std::filesystem::path cifar10_test(const DataRoot& root);
std::filesystem::path kws01_samples(const DataRoot& root);
std::filesystem::path kws01_labels(const DataRoot& root);
std::filesystem::path vww01_samples(const DataRoot& root);
std::filesystem::path vww01_labels(const DataRoot& root);
std::filesystem::path ad01_samples(const DataRoot& root);
std::filesystem::path ad01_labels(const DataRoot& root);
}  // namespace paths

}  // namespace frugal::data
