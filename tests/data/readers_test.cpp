#include "data/readers.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <map>
#include <sstream>

#include "data/data_root.h"
#include "ir/graph.h"
#include "test_util.h"

namespace frugal::data {
namespace {

using testing::TempDir;
using testing::write_bytes;
using testing::write_text;

// Synthetic CIFAR record r: pixel (y, x) of plane c holds (r * 7 + c * 50 + y * 3 + x) mod 256.
uint8_t cifar_value(size_t record, size_t channel, size_t y, size_t x) {
  return static_cast<uint8_t>((record * 7 + channel * 50 + y * 3 + x) % 256);
}

std::vector<uint8_t> synthetic_cifar(size_t records) {
  std::vector<uint8_t> bytes;
  for (size_t r = 0; r < records; ++r) {
    bytes.push_back(static_cast<uint8_t>((r * 3) % 10));
    for (size_t c = 0; c < 3; ++c)
      for (size_t y = 0; y < 32; ++y)
        for (size_t x = 0; x < 32; ++x) bytes.push_back(cifar_value(r, c, y, x));
  }
  return bytes;
}

TEST(Cifar10Reader, ConvertsPlanesToHwc) {
  TempDir dir;
  write_bytes(dir.path() / "batch.bin", synthetic_cifar(3));
  ImageSet set = read_cifar10_batch(dir.path() / "batch.bin");
  ASSERT_EQ(set.size(), 3u);
  EXPECT_EQ(set.height, 32);
  EXPECT_EQ(set.width, 32);
  EXPECT_EQ(set.channels, 3);
  EXPECT_EQ(set.labels, (std::vector<int32_t>{0, 3, 6}));
  for (size_t r = 0; r < 3; ++r) {
    std::span<const uint8_t> image = set.image(r);
    for (size_t y : {0u, 5u, 31u})
      for (size_t x : {0u, 17u, 31u})
        for (size_t c = 0; c < 3; ++c) {
          EXPECT_EQ(image[(y * 32 + x) * 3 + c], cifar_value(r, c, y, x)) << r << " " << y << " " << x << " " << c;
        }
  }
}

TEST(Cifar10Reader, LimitReadsPrefix) {
  TempDir dir;
  write_bytes(dir.path() / "batch.bin", synthetic_cifar(4));
  ImageSet set = read_cifar10_batch(dir.path() / "batch.bin", 2);
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(set.pixels.size(), 2u * 3072u);
}

TEST(Cifar10Reader, TruncatedFileThrows) {
  TempDir dir;
  std::vector<uint8_t> bytes = synthetic_cifar(2);
  bytes.pop_back();
  write_bytes(dir.path() / "batch.bin", bytes);
  try {
    read_cifar10_batch(dir.path() / "batch.bin");
    FAIL() << "expected ir::Error";
  } catch (const ir::Error& e) {
    EXPECT_NE(std::string(e.what()).find("6145 bytes"), std::string::npos) << e.what();
  }
}

TEST(Cifar10Reader, MissingFileAndBadLabelThrow) {
  TempDir dir;
  EXPECT_THROW(read_cifar10_batch(dir.path() / "absent.bin"), ir::Error);
  std::vector<uint8_t> bytes = synthetic_cifar(1);
  bytes[0] = 10;
  write_bytes(dir.path() / "batch.bin", bytes);
  EXPECT_THROW(read_cifar10_batch(dir.path() / "batch.bin"), ir::Error);
}

TEST(LabelCsv, ThirdFieldWithBlanksAndBlankLines) {
  TempDir dir;
  write_text(dir.path() / "labels.csv", "a.bin,12,7\r\nb.bin, 12, 11\n\nc.bin,2,0,2560,512\n");
  EXPECT_EQ(read_label_csv(dir.path() / "labels.csv"), (std::vector<int32_t>{7, 11, 0}));
}

TEST(LabelCsv, MalformedLinesThrow) {
  TempDir dir;
  write_text(dir.path() / "short.csv", "a.bin,12\n");
  EXPECT_THROW(read_label_csv(dir.path() / "short.csv"), ir::Error);
  write_text(dir.path() / "text.csv", "a.bin,12,yes\n");
  EXPECT_THROW(read_label_csv(dir.path() / "text.csv"), ir::Error);
}

TEST(Kws01Reader, RecordsAndLabels) {
  TempDir dir;
  std::vector<uint8_t> bytes(2 * 490);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 13);
  write_bytes(dir.path() / "kws.bin", bytes);
  write_text(dir.path() / "kws.csv", "tst_1_Up_8.bin,12,8\ntst_2_Go_1.bin,12,1\n");
  Int8FeatureSet set = read_kws01(dir.path() / "kws.bin", dir.path() / "kws.csv");
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set.record_elements(), 490u);
  EXPECT_EQ(set.labels, (std::vector<int32_t>{8, 1}));
  EXPECT_EQ(set.record(1)[3], static_cast<int8_t>(static_cast<uint8_t>((490 + 3) * 13)));
  Int8FeatureSet first = read_kws01(dir.path() / "kws.bin", dir.path() / "kws.csv", 1);
  EXPECT_EQ(first.size(), 1u);
}

TEST(Kws01Reader, LabelCountMismatchThrows) {
  TempDir dir;
  write_bytes(dir.path() / "kws.bin", std::vector<uint8_t>(2 * 490));
  write_text(dir.path() / "kws.csv", "a.bin,12,8\n");
  EXPECT_THROW(read_kws01(dir.path() / "kws.bin", dir.path() / "kws.csv"), ir::Error);
  write_bytes(dir.path() / "short.bin", std::vector<uint8_t>(489));
  write_text(dir.path() / "one.csv", "a.bin,12,8\n");
  EXPECT_THROW(read_kws01(dir.path() / "short.bin", dir.path() / "one.csv"), ir::Error);
}

TEST(Vww01Reader, KeepsHwcBytes) {
  TempDir dir;
  std::vector<uint8_t> bytes(2 * 27648);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i % 251);
  write_bytes(dir.path() / "vww.bin", bytes);
  write_text(dir.path() / "vww.csv", "1.bin,2,1\n2.bin,2,0\n");
  ImageSet set = read_vww01(dir.path() / "vww.bin", dir.path() / "vww.csv");
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set.height, 96);
  EXPECT_EQ(set.labels, (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(set.image(1)[5], static_cast<uint8_t>((27648 + 5) % 251));
}

TEST(Ad01Reader, LittleEndianFloats) {
  TempDir dir;
  const size_t per_sample = 200 * 128;
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < 2 * per_sample; ++i) {
    float value = static_cast<float>(i) * 0.25f - 3.0f;
    uint32_t bits = std::bit_cast<uint32_t>(value);
    for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<uint8_t>(bits >> (8 * b)));
  }
  write_bytes(dir.path() / "ad.bin", bytes);
  write_text(dir.path() / "ad.csv", "n.bin,2,0,2560,512\na.bin,2,1,2560,512\n");
  SpectrogramSet set = read_ad01(dir.path() / "ad.bin", dir.path() / "ad.csv");
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set.frames, 200);
  EXPECT_EQ(set.bins, 128);
  EXPECT_EQ(set.labels, (std::vector<int32_t>{0, 1}));
  EXPECT_FLOAT_EQ(set.sample(1)[129], static_cast<float>(per_sample + 129) * 0.25f - 3.0f);
}

TEST(DataRoot, SearchOrder) {
  TempDir dir;
  std::filesystem::path source = dir.path() / "repo";
  std::filesystem::create_directories(source / "fixtures" / "data");
  std::filesystem::path work = dir.path() / "elsewhere" / "build";
  std::filesystem::create_directories(work);

  DataRoot fallback = find_data_root(std::nullopt, work, source);
  EXPECT_EQ(fallback.source, DataRootSource::kFixtures);
  EXPECT_TRUE(fallback.fixtures);

  std::filesystem::create_directories(dir.path() / "shared" / "data");
  DataRoot beside_source = find_data_root(std::nullopt, work, source);
  EXPECT_EQ(beside_source.source, DataRootSource::kBesideSource);
  EXPECT_FALSE(beside_source.fixtures);

  std::filesystem::create_directories(dir.path() / "elsewhere" / "shared" / "data");
  EXPECT_EQ(find_data_root(std::nullopt, work, source).source, DataRootSource::kBesideWorkingDir);

  DataRoot from_env = find_data_root(source / "fixtures" / "data", work, source);
  EXPECT_EQ(from_env.source, DataRootSource::kEnvironment);
  EXPECT_TRUE(from_env.fixtures);
  EXPECT_NE(from_env.describe().find("fixtures"), std::string::npos);
  EXPECT_THROW(find_data_root(dir.path() / "missing", work, source), ir::Error);
}

TEST(DataRoot, NothingFoundThrows) {
  TempDir dir;
  EXPECT_THROW(find_data_root(std::nullopt, dir.path(), dir.path() / "repo"), ir::Error);
}

TEST(BundledFixtures, MatchTheirDocumentedCut) {
  DataRoot root{std::filesystem::path(FRUGAL_SOURCE_DIR) / "fixtures" / "data", DataRootSource::kFixtures, true};
  ImageSet images = read_cifar10_test(root);
  ASSERT_EQ(images.size(), 200u);
  // The shared test batch is round-robin by class (SOURCES.md): record k has label k % 10.
  for (size_t k = 0; k < images.size(); ++k) EXPECT_EQ(images.labels[k], static_cast<int32_t>(k % 10));
  Int8FeatureSet kws = read_kws01(root);
  EXPECT_EQ(kws.size(), 200u);
}

// Independent check of the CHW -> HWC conversion: the EEMBC ic01 samples are the same images
// already in HWC, matched to test_batch records by file name.
TEST(SharedData, Cifar10MatchesIc01Samples) {
  auto shared = testing::shared_data();
  if (!shared) GTEST_SKIP() << "shared data not found";
  DataRoot root{*shared, DataRootSource::kBesideSource, false};
  ImageSet images = read_cifar10_test(root);
  ASSERT_EQ(images.size(), 10000u);

  std::map<std::string, size_t> index_of_name;
  std::ifstream names(*shared / "cifar10" / "test_batch_filenames.csv");
  std::string line;
  std::getline(names, line);
  while (std::getline(names, line)) {
    std::stringstream fields(line);
    std::string index, label, class_name, filename;
    std::getline(fields, index, ',');
    std::getline(fields, label, ',');
    std::getline(fields, class_name, ',');
    std::getline(fields, filename, ',');
    index_of_name[filename.substr(0, filename.find('.'))] = std::stoul(index);
  }
  std::ifstream ic01_labels(*shared / "mlperf_tiny" / "image_classification" / "ic01_y_labels.csv");
  std::ifstream ic01(*shared / "mlperf_tiny" / "image_classification" / "ic01_perf_samples_hwc.bin", std::ios::binary);
  for (int sample = 0; sample < 20 && std::getline(ic01_labels, line); ++sample) {
    std::string name = line.substr(0, line.find('.'));
    int32_t label = std::stoi(line.substr(line.rfind(',') + 1));
    std::vector<char> hwc(3072);
    ic01.read(hwc.data(), 3072);
    ASSERT_TRUE(index_of_name.count(name)) << name;
    size_t record = index_of_name[name];
    EXPECT_EQ(images.labels[record], label) << name;
    EXPECT_EQ(std::memcmp(images.image(record).data(), hwc.data(), 3072), 0) << name;
  }
}

TEST(SharedData, AllSetsReadWithDocumentedCounts) {
  auto shared = testing::shared_data();
  if (!shared) GTEST_SKIP() << "shared data not found";
  DataRoot root{*shared, DataRootSource::kBesideSource, false};
  EXPECT_EQ(read_kws01(root).size(), 1000u);
  ImageSet vww = read_vww01(root);
  EXPECT_EQ(vww.size(), 1000u);
  size_t persons = 0;
  for (int32_t label : vww.labels) persons += label == 1 ? 1 : 0;
  EXPECT_EQ(persons, 500u);
  SpectrogramSet ad = read_ad01(root);
  EXPECT_EQ(ad.size(), 72u);
  size_t anomalies = 0;
  for (int32_t label : ad.labels) anomalies += label == 1 ? 1 : 0;
  EXPECT_EQ(anomalies, 36u);
  EXPECT_EQ(read_cifar10_train(root, 25000).size(), 25000u);
}

}  // namespace
}  // namespace frugal::data
