// Element kernels of GeoConv on CUDA. Columns are laid out (sample, channel*tap, pixel),
// pixel fastest, so neighbouring threads write neighbouring addresses.
#pragma once

#include <ATen/OpMathType.h>

#include "geo_conv_params.h"

namespace geoconv {

#define GEOCONV_KERNEL_LOOP(i, n)                                                        \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

// cols[b, c*K + k, p] = in[b0+b, c, tap(k, p)] (* geo[b0+b, k, p] when geo != nullptr)
template <typename scalar_t>
__global__ void im2col_kernel(ConvGeometry g, int64_t b0, int64_t chunk, const scalar_t* in,
                              const scalar_t* geo, scalar_t* cols) {
  const int64_t K = g.taps(), P = g.out_pixels();
  const int64_t total = chunk * g.channels * K * P;
  GEOCONV_KERNEL_LOOP(idx, total) {
    const int64_t p = idx % P;
    const int64_t k = (idx / P) % K;
    const int64_t c = (idx / (P * K)) % g.channels;
    const int64_t b = idx / (P * K * g.channels);
    const int64_t y = p / g.out_w, x = p % g.out_w;
    const int64_t hi = y * g.stride_h - g.pad_h + (k / g.kernel_w) * g.dil_h;
    const int64_t wi = x * g.stride_w - g.pad_w + (k % g.kernel_w) * g.dil_w;
    scalar_t v = scalar_t(0);
    if (hi >= 0 && hi < g.height && wi >= 0 && wi < g.width) {
      v = in[(((b0 + b) * g.channels + c) * g.height + hi) * g.width + wi];
      if (geo != nullptr) v = v * geo[((b0 + b) * K + k) * P + p];
    }
    cols[idx] = v;
  }
}

// grad_geo[b0+b, k, p] = sum_c gcols[b, c*K + k, p] * in[b0+b, c, tap(k, p)]
template <typename scalar_t>
__global__ void grad_geo_kernel(ConvGeometry g, int64_t b0, int64_t chunk, const scalar_t* in,
                                const scalar_t* gcols, scalar_t* grad_geo) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t K = g.taps(), P = g.out_pixels();
  GEOCONV_KERNEL_LOOP(idx, chunk * K * P) {
    const int64_t p = idx % P;
    const int64_t k = (idx / P) % K;
    const int64_t b = idx / (P * K);
    const int64_t y = p / g.out_w, x = p % g.out_w;
    const int64_t hi = y * g.stride_h - g.pad_h + (k / g.kernel_w) * g.dil_h;
    const int64_t wi = x * g.stride_w - g.pad_w + (k % g.kernel_w) * g.dil_w;
    acc_t acc = 0;
    if (hi >= 0 && hi < g.height && wi >= 0 && wi < g.width) {
      const scalar_t* src = in + ((b0 + b) * g.channels * g.height + hi) * g.width + wi;
      const scalar_t* gc = gcols + (b * g.channels * K + k) * P + p;
      for (int64_t c = 0; c < g.channels; ++c)
        acc += static_cast<acc_t>(src[c * g.height * g.width]) *
               static_cast<acc_t>(gc[c * K * P]);
    }
    grad_geo[((b0 + b) * K + k) * P + p] = static_cast<scalar_t>(acc);
  }
}

// Gather form of col2im: every input element sums the taps that read it, so no atomics
// are needed and the result is deterministic.
template <typename scalar_t>
__global__ void col2im_geo_kernel(ConvGeometry g, int64_t b0, int64_t chunk,
                                  const scalar_t* gcols, const scalar_t* geo,
                                  scalar_t* grad_in) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t K = g.taps(), P = g.out_pixels();
  GEOCONV_KERNEL_LOOP(idx, chunk * g.channels * g.height * g.width) {
    const int64_t w = idx % g.width;
    const int64_t h = (idx / g.width) % g.height;
    const int64_t c = (idx / (g.width * g.height)) % g.channels;
    const int64_t b = idx / (g.width * g.height * g.channels);
    acc_t acc = 0;
    for (int64_t ki = 0; ki < g.kernel_h; ++ki) {
      const int64_t ynum = h + g.pad_h - ki * g.dil_h;
      if (ynum < 0 || ynum % g.stride_h) continue;
      const int64_t y = ynum / g.stride_h;
      if (y >= g.out_h) continue;
      for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
        const int64_t xnum = w + g.pad_w - kj * g.dil_w;
        if (xnum < 0 || xnum % g.stride_w) continue;
        const int64_t x = xnum / g.stride_w;
        if (x >= g.out_w) continue;
        const int64_t k = ki * g.kernel_w + kj, p = y * g.out_w + x;
        acc += static_cast<acc_t>(gcols[((b * g.channels + c) * K + k) * P + p]) *
               static_cast<acc_t>(geo[((b0 + b) * K + k) * P + p]);
      }
    }
    grad_in[(((b0 + b) * g.channels + c) * g.height + h) * g.width + w] =
        static_cast<scalar_t>(acc);
  }
}

}  // namespace geoconv
