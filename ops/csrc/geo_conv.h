// GeoConv: convolution whose kernel taps are re-weighted per output location by the
// geodesic weights of Eq. 4 (shared by all channels).
//
//   out[n,o,y,x] = b[o] + sum_{c,k} g[n,k,y,x] * W[o,c,k] * in[n,c,y*s-p+i*d, x*s-p+j*d]
//
// Dispatch layering as in mmcv's csrc: this header and geo_conv.cpp define the operator
// schema and the shared argument checks; cpu/ and cuda/ register the device kernels.
#pragma once

#include <torch/types.h>

#include <array>
#include <tuple>

#include "common/geo_conv_params.h"

namespace geoconv {

// Validates shapes and fills the geometry; used by every backend.
ConvGeometry make_geometry(const at::Tensor& input, const at::Tensor& weight,
                           const at::Tensor& geo_weight, at::IntArrayRef stride,
                           at::IntArrayRef padding, at::IntArrayRef dilation,
                           int64_t groups);

}  // namespace geoconv
