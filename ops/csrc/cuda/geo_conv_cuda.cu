// CUDA backend of GeoConv: im2col with the geodesic weight folded in, cuBLAS GEMMs over
// chunks of samples, gather-form col2im.
#include <ATen/core/LegacyTypeDispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>

#include "../common/geo_conv_cuda_kernel.cuh"
#include "../geo_conv.h"

namespace geoconv {
namespace {

constexpr int kThreads = 256;
// Column buffer budget per chunk of samples; bounds memory independently of batch size.
constexpr int64_t kColumnBytes = int64_t(512) << 20;

inline int blocks_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<int>(std::min<int64_t>(std::max<int64_t>(blocks, 1), 65535 * 8));
}

int64_t chunk_size(const ConvGeometry& g, int64_t elem_size) {
  const int64_t per_sample = g.channels * g.taps() * g.out_pixels() * elem_size;
  return std::max<int64_t>(1, std::min<int64_t>(g.batch, kColumnBytes / per_sample));
}

at::Tensor geo_conv2d_forward_cuda(const at::Tensor& input_, const at::Tensor& weight_,
                                   const at::Tensor& geo_, const std::optional<at::Tensor>& bias_,
                                   at::IntArrayRef stride, at::IntArrayRef padding,
                                   at::IntArrayRef dilation, int64_t groups) {
  const ConvGeometry g = make_geometry(input_, weight_, geo_, stride, padding, dilation, groups);
  // Autograd is handled one level up (GeoConv2dFunction); the GEMMs below write into
  // views of our own outputs, which autograd would otherwise refuse.
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  c10::cuda::CUDAGuard guard(input_.device());
  auto input = input_.contiguous();
  auto geo = geo_.contiguous();
  const int64_t G = g.groups, Og = g.out_channels_per_group(), R = g.col_rows();
  const int64_t P = g.out_pixels();
  auto weight = weight_.contiguous().view({G, Og, R});
  auto output = at::empty({g.batch, g.out_channels, g.out_h, g.out_w}, input.options());
  if (g.batch == 0) return output;
  const int64_t chunk = chunk_size(g, input.element_size());
  auto cols = at::empty({chunk, G, R, P}, input.options());
  auto stream = at::cuda::getCurrentCUDAStream();
  for (int64_t b0 = 0; b0 < g.batch; b0 += chunk) {
    const int64_t nb = std::min(chunk, g.batch - b0);
    auto cols_b = cols.narrow(0, 0, nb);
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(),
                                    "geo_conv2d_im2col", [&] {
      const int64_t n = nb * g.channels * g.taps() * P;
      im2col_kernel<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(
          g, b0, nb, input.data_ptr<scalar_t>(), geo.data_ptr<scalar_t>(),
          cols_b.data_ptr<scalar_t>());
    });
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    auto out_b = output.narrow(0, b0, nb).view({nb, G, Og, P});
    out_b.copy_(at::matmul(weight, cols_b));
  }
  if (bias_.has_value() && bias_->defined()) {
    TORCH_CHECK(bias_->numel() == g.out_channels, "geo_conv2d: bias must have ",
                g.out_channels, " elements");
    output.add_(bias_->to(input.scalar_type()).view({1, -1, 1, 1}));
  }
  return output;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> geo_conv2d_backward_cuda(
    const at::Tensor& grad_output_, const at::Tensor& input_, const at::Tensor& weight_,
    const at::Tensor& geo_, at::IntArrayRef stride, at::IntArrayRef padding,
    at::IntArrayRef dilation, int64_t groups, std::array<bool, 3> output_mask) {
  const ConvGeometry g = make_geometry(input_, weight_, geo_, stride, padding, dilation, groups);
  // Autograd is handled one level up (GeoConv2dFunction); the GEMMs below write into
  // views of our own outputs, which autograd would otherwise refuse.
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  c10::cuda::CUDAGuard guard(input_.device());
  const bool need_input = output_mask[0], need_weight = output_mask[1], need_geo = output_mask[2];
  auto input = input_.contiguous();
  auto geo = geo_.contiguous();
  auto grad_output = grad_output_.contiguous();
  const int64_t G = g.groups, Og = g.out_channels_per_group(), R = g.col_rows();
  const int64_t P = g.out_pixels();
  auto weight = weight_.contiguous().view({G, Og, R});
  at::Tensor grad_input, grad_weight, grad_geo;
  if (need_input) grad_input = at::empty_like(input);
  if (need_weight) grad_weight = at::zeros({G, Og, R}, input.options().dtype(at::kFloat));
  if (need_geo) grad_geo = at::empty_like(geo);
  if (g.batch > 0 && (need_input || need_weight || need_geo)) {
    const int64_t chunk = chunk_size(g, input.element_size());
    auto cols = at::empty({chunk, G, R, P}, input.options());
    auto stream = at::cuda::getCurrentCUDAStream();
    auto weight_t = weight.transpose(1, 2);
    for (int64_t b0 = 0; b0 < g.batch; b0 += chunk) {
      const int64_t nb = std::min(chunk, g.batch - b0);
      auto gout = grad_output.narrow(0, b0, nb).view({nb, G, Og, P});
      AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(),
                                      "geo_conv2d_backward_cuda", [&] {
        if (need_input || need_geo) {
          auto gcols = at::matmul(weight_t, gout).contiguous();  // (nb, G, R, P)
          if (need_geo) {
            const int64_t n = nb * g.taps() * P;
            grad_geo_kernel<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(
                g, b0, nb, input.data_ptr<scalar_t>(), gcols.data_ptr<scalar_t>(),
                grad_geo.data_ptr<scalar_t>());
            C10_CUDA_KERNEL_LAUNCH_CHECK();
          }
          if (need_input) {
            const int64_t n = nb * g.channels * g.height * g.width;
            col2im_geo_kernel<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(
                g, b0, nb, gcols.data_ptr<scalar_t>(), geo.data_ptr<scalar_t>(),
                grad_input.data_ptr<scalar_t>());
            C10_CUDA_KERNEL_LAUNCH_CHECK();
          }
        }
        if (need_weight) {
          auto cols_b = cols.narrow(0, 0, nb);
          const int64_t n = nb * g.channels * g.taps() * P;
          im2col_kernel<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(
              g, b0, nb, input.data_ptr<scalar_t>(), geo.data_ptr<scalar_t>(),
              cols_b.data_ptr<scalar_t>());
          C10_CUDA_KERNEL_LAUNCH_CHECK();
          // Summed over the chunk in float so that half-precision weights do not lose it.
          grad_weight.add_(at::matmul(gout, cols_b.transpose(2, 3)).sum(0, false, at::kFloat));
        }
      });
    }
  }
  if (need_weight) grad_weight = grad_weight.to(input.scalar_type()).view_as(weight_);
  return {grad_input, grad_weight, grad_geo};
}

}  // namespace
}  // namespace geoconv

TORCH_LIBRARY_IMPL(geoconv_mm, CUDA, m) {
  m.impl("geo_conv2d_forward", &geoconv::geo_conv2d_forward_cuda);
  m.impl("geo_conv2d_backward", &geoconv::geo_conv2d_backward_cuda);
}
