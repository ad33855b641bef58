// Element kernels of GeoConv on CUDA.
//
// Columns of one chunk of `nb` samples are laid out (channel*tap, sample, pixel), pixel
// fastest: row r = c*K + k holds the taps k of channel c for every sample of the chunk,
// so that the rows of group g form one (R, nb*P) matrix for a single GEMM with the
// group's (Og, R) weight, and neighbouring threads touch neighbouring addresses.
// index_t is int32_t when every index of the launch fits, else int64_t.
#pragma once

#include <ATen/OpMathType.h>

#include "geo_conv_params.h"

namespace geoconv {

#define GEOCONV_KERNEL_LOOP(index_t, i, n)                                          \
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x;   \
       i < (n); i += static_cast<index_t>(blockDim.x) * gridDim.x)

// The shape fields a kernel needs, narrowed to index_t.
template <typename index_t>
struct KernelGeometry {
  index_t channels, height, width, out_w, taps, pixels;
  index_t kernel_w, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, out_h, kernel_h;

  explicit KernelGeometry(const ConvGeometry& g)
      : channels(g.channels), height(g.height), width(g.width), out_w(g.out_w),
        taps(g.taps()), pixels(g.out_pixels()), kernel_w(g.kernel_w),
        stride_h(g.stride_h), stride_w(g.stride_w), pad_h(g.pad_h), pad_w(g.pad_w),
        dil_h(g.dil_h), dil_w(g.dil_w), out_h(g.out_h), kernel_h(g.kernel_h) {}
};

// cols[(c*K + k), b, p] = in[b0+b, c, tap(k, p)] (* geo[b0+b, k, p] when geo != nullptr)
template <typename scalar_t, typename index_t>
__global__ void im2col_kernel(KernelGeometry<index_t> g, index_t b0, index_t nb,
                              const scalar_t* __restrict__ in,
                              const scalar_t* __restrict__ geo,
                              scalar_t* __restrict__ cols) {
  const index_t K = g.taps, P = g.pixels;
  const index_t total = g.channels * K * nb * P;
  GEOCONV_KERNEL_LOOP(index_t, idx, total) {
    const index_t p = idx % P;
    const index_t b = (idx / P) % nb;
    const index_t k = (idx / (P * nb)) % K;
    const index_t c = idx / (P * nb * K);
    const index_t y = p / g.out_w, x = p % g.out_w;
    const index_t hi = y * g.stride_h - g.pad_h + (k / g.kernel_w) * g.dil_h;
    const index_t wi = x * g.stride_w - g.pad_w + (k % g.kernel_w) * g.dil_w;
    scalar_t v = scalar_t(0);
    if (hi >= 0 && hi < g.height && wi >= 0 && wi < g.width) {
      v = in[(((b0 + b) * g.channels + c) * g.height + hi) * g.width + wi];
      if (geo != nullptr) v = v * geo[((b0 + b) * K + k) * P + p];
    }
    cols[idx] = v;
  }
}

// grad_geo[b0+b, k, p] = sum_c gcols[c*K + k, b, p] * in[b0+b, c, tap(k, p)]
template <typename scalar_t, typename index_t>
__global__ void grad_geo_kernel(KernelGeometry<index_t> g, index_t b0, index_t nb,
                                const scalar_t* __restrict__ in,
                                const scalar_t* __restrict__ gcols,
                                scalar_t* __restrict__ grad_geo) {
  using acc_t = at::opmath_type<scalar_t>;
  const index_t K = g.taps, P = g.pixels;
  GEOCONV_KERNEL_LOOP(index_t, idx, nb * K * P) {
    const index_t p = idx % P;
    const index_t k = (idx / P) % K;
    const index_t b = idx / (P * K);
    const index_t y = p / g.out_w, x = p % g.out_w;
    const index_t hi = y * g.stride_h - g.pad_h + (k / g.kernel_w) * g.dil_h;
    const index_t wi = x * g.stride_w - g.pad_w + (k % g.kernel_w) * g.dil_w;
    acc_t acc = 0;
    if (hi >= 0 && hi < g.height && wi >= 0 && wi < g.width) {
      const scalar_t* src = in + ((b0 + b) * g.channels * g.height + hi) * g.width + wi;
      const scalar_t* gc = gcols + (k * nb + b) * P + p;
      const index_t in_step = g.height * g.width, col_step = K * nb * P;
      for (index_t c = 0; c < g.channels; ++c)
        acc += static_cast<acc_t>(src[c * in_step]) * static_cast<acc_t>(gc[c * col_step]);
    }
    grad_geo[((b0 + b) * K + k) * P + p] = static_cast<scalar_t>(acc);
  }
}

// Gather form of col2im: every input element sums the taps that read it, so no atomics
// are needed and the result is deterministic.
template <typename scalar_t, typename index_t>
__global__ void col2im_geo_kernel(KernelGeometry<index_t> g, index_t b0, index_t nb,
                                  const scalar_t* __restrict__ gcols,
                                  const scalar_t* __restrict__ geo,
                                  scalar_t* __restrict__ grad_in) {
  using acc_t = at::opmath_type<scalar_t>;
  const index_t K = g.taps, P = g.pixels;
  GEOCONV_KERNEL_LOOP(index_t, idx, nb * g.channels * g.height * g.width) {
    const index_t w = idx % g.width;
    const index_t h = (idx / g.width) % g.height;
    const index_t c = (idx / (g.width * g.height)) % g.channels;
    const index_t b = idx / (g.width * g.height * g.channels);
    acc_t acc = 0;
    for (index_t ki = 0; ki < g.kernel_h; ++ki) {
      const index_t ynum = h + g.pad_h - ki * g.dil_h;
      if (ynum < 0 || ynum % g.stride_h) continue;
      const index_t y = ynum / g.stride_h;
      if (y >= g.out_h) continue;
      for (index_t kj = 0; kj < g.kernel_w; ++kj) {
        const index_t xnum = w + g.pad_w - kj * g.dil_w;
        if (xnum < 0 || xnum % g.stride_w) continue;
        const index_t x = xnum / g.stride_w;
        if (x >= g.out_w) continue;
        const index_t k = ki * g.kernel_w + kj, p = y * g.out_w + x;
        acc += static_cast<acc_t>(gcols[((c * K + k) * nb + b) * P + p]) *
               static_cast<acc_t>(geo[((b0 + b) * K + k) * P + p]);
      }
    }
    grad_in[(((b0 + b) * g.channels + c) * g.height + h) * g.width + w] =
        static_cast<scalar_t>(acc);
  }
}

}  // namespace geoconv
