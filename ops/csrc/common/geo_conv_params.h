// Shape bookkeeping shared by the CPU and CUDA implementations of GeoConv (Eq. 3).
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define GEOCONV_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define GEOCONV_HOST_DEVICE inline
#endif

namespace geoconv {

struct ConvGeometry {
  int64_t batch, channels, height, width;  // input
  int64_t out_channels, groups;
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  int64_t out_h, out_w;

  GEOCONV_HOST_DEVICE int64_t taps() const { return kernel_h * kernel_w; }
  GEOCONV_HOST_DEVICE int64_t out_pixels() const { return out_h * out_w; }
  GEOCONV_HOST_DEVICE int64_t channels_per_group() const { return channels / groups; }
  GEOCONV_HOST_DEVICE int64_t out_channels_per_group() const { return out_channels / groups; }
  // Rows of one group's column matrix: (input channel, tap) pairs, tap fastest, which is
  // the memory order of a (O, C/G, Kh, Kw) weight, so the weight is used as is.
  GEOCONV_HOST_DEVICE int64_t col_rows() const { return channels_per_group() * taps(); }
};

}  // namespace geoconv
