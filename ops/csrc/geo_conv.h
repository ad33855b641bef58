// GeoConv: convolution whose kernel taps are re-weighted per output location by the
// geodesic weights of Eq. 4 (shared by all channels).
//
//   out[n,o,y,x] = b[o] + sum_{c,k} g[n,k,y,x] * W[o,c,k] * in[n,c,y*s-p+i*d, x*s-p+j*d]
//
// Dispatch layering as in mmcv's csrc: this header and geo_conv.cpp define the operator
// schema and the shared argument checks; cpu/ and cuda/ register the device kernels.
// The fake (meta) kernels and the autograd formula are registered from Python
// (geoconv_mm/ops/_op_registration.py); they must follow the output rules below.
#pragma once

#include <torch/types.h>

#include <array>
#include <optional>
#include <tuple>

#include "common/geo_conv_params.h"

namespace geoconv {

using OptTensor = std::optional<at::Tensor>;
using BackwardResult = std::tuple<OptTensor, OptTensor, OptTensor>;

// Validates shapes, dtypes and devices and fills the geometry; used by every backend.
ConvGeometry make_geometry(const at::Tensor& input, const at::Tensor& weight,
                           const at::Tensor& geo_weight, at::IntArrayRef stride,
                           at::IntArrayRef padding, at::IntArrayRef dilation,
                           int64_t groups);

// The bias as a contiguous (O) tensor, or an undefined tensor; checks its shape,
// dtype and device against the input.
at::Tensor checked_bias(const OptTensor& bias, const at::Tensor& input,
                        const ConvGeometry& g);

// Checks grad_output against the forward output the geometry implies.
void check_grad_output(const at::Tensor& grad_output, const at::Tensor& input,
                       const ConvGeometry& g);

// Upper bound on the samples of one chunk of the CUDA kernels; 0 (the default) leaves
// the chunk size to the column budget alone. Tests lower it to run the chunk seams on
// small batches (geoconv_mm.ops._C._set_chunk_sample_limit).
int64_t chunk_sample_limit();
int64_t set_chunk_sample_limit(int64_t samples);

// Output layout rule shared with the fake kernels: the output (and grad_input)
// is channels_last exactly when the input is channels_last and not also
// contiguous; otherwise it is contiguous.
inline bool wants_channels_last(const at::Tensor& input) {
  return input.dim() == 4 && !input.is_contiguous() &&
         input.is_contiguous(at::MemoryFormat::ChannelsLast);
}

}  // namespace geoconv
