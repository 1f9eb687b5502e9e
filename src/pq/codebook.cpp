#include "pq/codebook.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <thread>

#include "ir/graph.h"

namespace frugal::pq {

namespace {

// Runs body(i) for i in [0, n) over `threads` threads in contiguous chunks; each i is independent,
// so the result does not depend on the thread count.
template <typename Body>
void parallel_for(int64_t n, int threads, Body body) {
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n / 1024 + 1)));
  auto chunk = [&](int t) {
    for (int64_t i = n * t / threads; i < n * (t + 1) / threads; ++i) body(i);
  };
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) workers.emplace_back(chunk, t);
  chunk(0);
  for (std::thread& w : workers) w.join();
}

float squared_distance(const float* a, const float* b, size_t d) {
  float sum = 0.0f;
  for (size_t j = 0; j < d; ++j) {
    const float diff = a[j] - b[j];
    sum += diff * diff;
  }
  return sum;
}

// Nearest centroid of every vector and its squared distance; the only O(n K d) step, so the
// only parallel one (each vector is independent, so the result does not depend on threads).
void assign(std::span<const float> vectors, size_t d, std::span<const float> centroids, size_t k,
            std::vector<uint32_t>& labels, std::vector<float>& distances, int threads) {
  const auto n = static_cast<int64_t>(labels.size());
  parallel_for(n, threads, [&](int64_t i) {
    const float* v = vectors.data() + i * static_cast<int64_t>(d);
    float best = std::numeric_limits<float>::max();
    uint32_t best_k = 0;
    for (size_t c = 0; c < k; ++c) {
      const float dist = squared_distance(v, centroids.data() + c * d, d);
      if (dist < best) {
        best = dist;
        best_k = static_cast<uint32_t>(c);
      }
    }
    labels[static_cast<size_t>(i)] = best_k;
    distances[static_cast<size_t>(i)] = best;
  });
}

}  // namespace

Codebook learn_codebook(CodebookKind kind, int32_t subvector, int32_t codewords, std::span<const float> vectors,
                        std::span<const float> weights, const KMeansOptions& options) {
  if (subvector < 1) throw ir::Error(fmt::format("sub-vector length must be >= 1, got {}", subvector));
  if (codewords < 1 || codewords > kMaxCodewords) {
    throw ir::Error(fmt::format("codewords must be in [1, {}], got {}", kMaxCodewords, codewords));
  }
  const auto d = static_cast<size_t>(subvector);
  const auto k = static_cast<size_t>(codewords);
  if (vectors.empty() || vectors.size() % d != 0) {
    throw ir::Error(fmt::format("k-means needs a non-empty multiple of {} values, got {}", d, vectors.size()));
  }
  const size_t n = vectors.size() / d;
  if (!weights.empty() && weights.size() != n) {
    throw ir::Error(fmt::format("k-means: {} weights for {} vectors", weights.size(), n));
  }
  auto weight = [&](size_t i) { return weights.empty() ? 1.0f : weights[i]; };
  const int threads =
      static_cast<int>(options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency()));

  // k-means++ seeding: each new centroid drawn with probability proportional to weight x squared
  // distance to the nearest centroid so far, which spreads the start over the whole cloud.
  std::mt19937_64 rng(options.seed);
  std::vector<float> centroids(k * d, 0.0f);
  std::vector<float> nearest(n, std::numeric_limits<float>::max());
  auto draw = [&](const std::vector<double>& mass) {
    double total = 0.0;
    for (double m : mass) total += m;
    if (total <= 0.0) return static_cast<size_t>(rng() % n);
    double r = std::uniform_real_distribution<double>(0.0, total)(rng);
    for (size_t i = 0; i < n; ++i) {
      r -= mass[i];
      if (r < 0.0) return i;
    }
    return n - 1;
  };
  std::vector<double> mass(n);
  for (size_t i = 0; i < n; ++i) mass[i] = weight(i);
  for (size_t c = 0; c < k; ++c) {
    const size_t pick = draw(mass);
    std::copy_n(vectors.data() + pick * d, d, centroids.data() + c * d);
    const float* centre = centroids.data() + c * d;
    parallel_for(static_cast<int64_t>(n), threads, [&](int64_t i) {
      const auto u = static_cast<size_t>(i);
      nearest[u] = std::min(nearest[u], squared_distance(vectors.data() + u * d, centre, d));
      mass[u] = static_cast<double>(weight(u)) * nearest[u];
    });
  }

  std::vector<uint32_t> labels(n, 0);
  std::vector<float> distances(n, 0.0f);
  std::vector<double> sums(k * d);
  std::vector<double> counts(k);
  for (int32_t iteration = 0; iteration < options.iterations; ++iteration) {
    assign(vectors, d, centroids, k, labels, distances, threads);
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0.0);
    for (size_t i = 0; i < n; ++i) {
      const double w = weight(i);
      counts[labels[i]] += w;
      for (size_t j = 0; j < d; ++j) sums[labels[i] * d + j] += w * vectors[i * d + j];
    }
    bool moved = false;
    for (size_t c = 0; c < k; ++c) {
      if (counts[c] > 0.0) {
        for (size_t j = 0; j < d; ++j) {
          const auto mean = static_cast<float>(sums[c * d + j] / counts[c]);
          moved |= mean != centroids[c * d + j];
          centroids[c * d + j] = mean;
        }
        continue;
      }
      // An empty cluster takes the vector worst served so far, which is where an extra
      // codeword lowers the error most.
      const auto worst = static_cast<size_t>(std::max_element(distances.begin(), distances.end()) - distances.begin());
      if (distances[worst] <= 0.0f) continue;  // every vector already has an exact codeword
      std::copy_n(vectors.data() + worst * d, d, centroids.data() + c * d);
      distances[worst] = 0.0f;
      moved = true;
    }
    if (!moved) break;
  }

  Codebook codebook;
  codebook.kind = kind;
  codebook.subvector = subvector;
  codebook.codewords = codewords;
  codebook.words.resize(k * d);
  for (size_t i = 0; i < k * d; ++i) {
    codebook.words[i] = static_cast<int8_t>(std::clamp(std::lround(centroids[i]), -128L, 127L));
  }
  return codebook;
}

int32_t zero_codeword(const Codebook& codebook) {
  for (int32_t k = 0; k < codebook.codewords; ++k) {
    const std::span<const int8_t> w = codebook.word(static_cast<size_t>(k));
    if (std::all_of(w.begin(), w.end(), [](int8_t v) { return v == 0; })) return k;
  }
  return -1;
}

uint16_t nearest_codeword(const Codebook& codebook, std::span<const float> v) {
  const auto d = static_cast<size_t>(codebook.subvector);
  float best = std::numeric_limits<float>::max();
  uint16_t best_k = 0;
  for (size_t c = 0; c < static_cast<size_t>(codebook.codewords); ++c) {
    const int8_t* w = codebook.words.data() + c * d;
    float dist = 0.0f;
    for (size_t j = 0; j < d; ++j) {
      const float diff = v[j] - static_cast<float>(w[j]);
      dist += diff * diff;
    }
    if (dist < best) {
      best = dist;
      best_k = static_cast<uint16_t>(c);
    }
  }
  return best_k;
}

}  // namespace frugal::pq
