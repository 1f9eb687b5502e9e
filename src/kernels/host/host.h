// Fast host kernels: the same arithmetic as reference/, bit for bit, organised for speed.
//
// The conv-like ops are objects built once per layer (weights re-laid out, per-channel
// constants folded) and run many times. Each picks its instruction set at construction; the
// tester builds one per supported ISA and compares it with the reference kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "kernels/params.h"

namespace frugal::kernels::host {

enum class Isa : uint8_t { kScalar, kAvx2, kAvx512Vnni };

std::string_view to_string(Isa isa);
// The best ISA this CPU runs; $FRUGAL_ISA (scalar|avx2|avx512vnni) can lower it.
Isa best_isa();
// Every ISA this CPU runs, scalar first.
std::vector<Isa> supported_isas();

class Conv2D {
 public:
  Conv2D(const ConvParams& params, const QuantizedMultiplier* multiplier, const Dims4& input_dims,
         const Dims4& filter_dims, const int8_t* filter, const int32_t* bias,
         const Dims4& output_dims, Isa isa = best_isa());
  ~Conv2D();
  Conv2D(Conv2D&&) noexcept;
  Conv2D& operator=(Conv2D&&) noexcept;
  // Bytes of scratch memory run() needs (im2col buffers and the like); the caller owns it so
  // that one object can serve several threads.
  size_t scratch_bytes() const;
  void run(const int8_t* input, int8_t* output, void* scratch) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class DepthwiseConv2D {
 public:
  DepthwiseConv2D(const ConvParams& params, const QuantizedMultiplier* multiplier,
                  const Dims4& input_dims, const Dims4& filter_dims, const int8_t* filter,
                  const int32_t* bias, const Dims4& output_dims, Isa isa = best_isa());
  ~DepthwiseConv2D();
  DepthwiseConv2D(DepthwiseConv2D&&) noexcept;
  DepthwiseConv2D& operator=(DepthwiseConv2D&&) noexcept;
  size_t scratch_bytes() const;
  void run(const int8_t* input, int8_t* output, void* scratch) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class FullyConnected {
 public:
  FullyConnected(const FullyConnectedParams& params, const QuantizedMultiplier* multiplier,
                 int32_t batches, int32_t depth, int32_t out_depth, const int8_t* weights,
                 const int32_t* bias, Isa isa = best_isa());
  ~FullyConnected();
  FullyConnected(FullyConnected&&) noexcept;
  FullyConnected& operator=(FullyConnected&&) noexcept;
  size_t scratch_bytes() const;
  void run(const int8_t* input, int8_t* output, void* scratch) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Elementwise and pooling ops are memory-bound; these are tuned loops (no object needed).
void add(const AddParams& params, const Dims4& input1_dims, const int8_t* input1,
         const Dims4& input2_dims, const int8_t* input2, const Dims4& output_dims,
         int8_t* output, Isa isa = best_isa());
void average_pool(const PoolParams& params, const Dims4& input_dims, const int8_t* input,
                  const Dims4& output_dims, int8_t* output, Isa isa = best_isa());
void max_pool(const PoolParams& params, const Dims4& input_dims, const int8_t* input,
              const Dims4& output_dims, int8_t* output, Isa isa = best_isa());

}  // namespace frugal::kernels::host
