// CUDA backend of GeoConv: im2col with the geodesic weight folded in, one cuBLAS GEMM
// per group over a chunk of samples, gather-form col2im.
//
// Every temporary (columns, column gradients, the regrouped output gradient) is sized
// by a chunk of samples chosen from kColumnBytes, so memory does not grow with the
// batch. The weight gradient is accumulated across chunks in the op-math type
// (float32 for float16/bfloat16, float64 for float64).
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <limits>

#include "../common/geo_conv_cuda_kernel.cuh"
#include "../geo_conv.h"

namespace geoconv {
namespace {

constexpr int kThreads = 256;
// Budget of the per-chunk temporaries; bounds memory independently of batch size.
constexpr int64_t kColumnBytes = int64_t(512) << 20;

inline int blocks_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<int>(std::min<int64_t>(std::max<int64_t>(blocks, 1), 65535 * 8));
}

// Samples per chunk such that `per_sample_elems` elements per sample fit the budget.
int64_t chunk_size(const ConvGeometry& g, int64_t per_sample_elems, int64_t elem_size) {
  const int64_t per_sample = per_sample_elems * elem_size;
  if (per_sample <= 0) return std::max<int64_t>(g.batch, 1);  // nothing to buffer
  return std::max<int64_t>(1, std::min<int64_t>(g.batch, kColumnBytes / per_sample));
}

// True when every index a launch over a chunk of `nb` samples forms fits int32.
bool fits_int32(const ConvGeometry& g, int64_t nb) {
  const int64_t limit = std::numeric_limits<int32_t>::max();
  const int64_t input = g.batch * g.channels * g.height * g.width;
  const int64_t geo = g.batch * g.taps() * g.out_pixels();
  const int64_t cols = g.channels * g.taps() * nb * g.out_pixels();
  // Grid-stride loops step past the end by at most one grid.
  const int64_t slack = int64_t(kThreads) * 65535 * 8;
  return std::max({input, geo, cols}) + slack < limit;
}

template <typename scalar_t>
void launch_im2col(const ConvGeometry& g, int64_t b0, int64_t nb, const scalar_t* in,
                   const scalar_t* geo, scalar_t* cols, cudaStream_t stream) {
  const int64_t n = g.channels * g.taps() * nb * g.out_pixels();
  if (n == 0) return;
  if (fits_int32(g, nb))
    im2col_kernel<scalar_t, int32_t><<<blocks_for(n), kThreads, 0, stream>>>(
        KernelGeometry<int32_t>(g), b0, nb, in, geo, cols);
  else
    im2col_kernel<scalar_t, int64_t><<<blocks_for(n), kThreads, 0, stream>>>(
        KernelGeometry<int64_t>(g), b0, nb, in, geo, cols);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <typename scalar_t>
void launch_grad_geo(const ConvGeometry& g, int64_t b0, int64_t nb, const scalar_t* in,
                     const scalar_t* gcols, scalar_t* grad_geo, cudaStream_t stream) {
  const int64_t n = nb * g.taps() * g.out_pixels();
  if (n == 0) return;
  if (fits_int32(g, nb))
    grad_geo_kernel<scalar_t, int32_t><<<blocks_for(n), kThreads, 0, stream>>>(
        KernelGeometry<int32_t>(g), b0, nb, in, gcols, grad_geo);
  else
    grad_geo_kernel<scalar_t, int64_t><<<blocks_for(n), kThreads, 0, stream>>>(
        KernelGeometry<int64_t>(g), b0, nb, in, gcols, grad_geo);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <typename scalar_t>
void launch_col2im(const ConvGeometry& g, int64_t b0, int64_t nb, const scalar_t* gcols,
                   const scalar_t* geo, scalar_t* grad_in, cudaStream_t stream) {
  const int64_t n = nb * g.channels * g.height * g.width;
  if (n == 0) return;
  if (fits_int32(g, nb))
    col2im_geo_kernel<scalar_t, int32_t><<<blocks_for(n), kThreads, 0, stream>>>(
        KernelGeometry<int32_t>(g), b0, nb, gcols, geo, grad_in);
  else
    col2im_geo_kernel<scalar_t, int64_t><<<blocks_for(n), kThreads, 0, stream>>>(
        KernelGeometry<int64_t>(g), b0, nb, gcols, geo, grad_in);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

at::Tensor to_layout_of(const at::Tensor& t, bool channels_last) {
  return channels_last ? t.contiguous(at::MemoryFormat::ChannelsLast) : t;
}

// Group `grp` of a (nb, O, P) tensor as an (Og, nb*P) matrix: a view when nb == 1 or
// there is one group, else copied into `buffer`.
at::Tensor group_rows(const at::Tensor& t_nop, int64_t grp, int64_t Og, at::Tensor& buffer) {
  const int64_t nb = t_nop.size(0), P = t_nop.size(2);
  auto part = t_nop.narrow(1, grp * Og, Og);  // (nb, Og, P)
  if (nb == 1) return part[0];
  auto out = buffer.narrow(0, 0, Og * nb * P).view({Og, nb, P});
  out.copy_(part.transpose(0, 1));
  return out.view({Og, nb * P});
}

at::Tensor geo_conv2d_forward_cuda(const at::Tensor& input_, const at::Tensor& weight_,
                                   const at::Tensor& geo_, const OptTensor& bias_,
                                   at::IntArrayRef stride, at::IntArrayRef padding,
                                   at::IntArrayRef dilation, int64_t groups) {
  const ConvGeometry g = make_geometry(input_, weight_, geo_, stride, padding, dilation, groups);
  const at::Tensor bias = checked_bias(bias_, input_, g);
  const bool channels_last = wants_channels_last(input_);
  // Autograd is registered on the operator itself; the GEMMs below write into views
  // of our own outputs, which the ADInplaceOrView layer would otherwise track.
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  c10::cuda::CUDAGuard guard(input_.device());
  auto input = input_.contiguous();
  auto geo = geo_.contiguous();
  const int64_t G = g.groups, Og = g.out_channels_per_group(), R = g.col_rows();
  const int64_t P = g.out_pixels(), CK = g.channels * g.taps();
  auto weight = weight_.contiguous().view({g.out_channels, R});
  auto output = at::empty({g.batch, g.out_channels, g.out_h, g.out_w}, input.options());
  if (g.batch == 0 || g.out_channels == 0) return to_layout_of(output, channels_last);
  const int64_t chunk = chunk_size(g, (CK + Og) * P, input.element_size());
  auto cols = at::empty({CK * chunk * P}, input.options());
  auto res = at::empty({Og * chunk * P}, input.options());
  auto stream = at::cuda::getCurrentCUDAStream();
  for (int64_t b0 = 0; b0 < g.batch; b0 += chunk) {
    const int64_t nb = std::min(chunk, g.batch - b0);
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(),
                                    "geo_conv2d_forward_cuda", [&] {
      launch_im2col<scalar_t>(g, b0, nb, input.const_data_ptr<scalar_t>(),
                              geo.const_data_ptr<scalar_t>(), cols.data_ptr<scalar_t>(),
                              stream);
    });
    auto out_b = output.narrow(0, b0, nb).view({nb, g.out_channels, P});
    auto cols_b = cols.narrow(0, 0, CK * nb * P).view({CK, nb * P});
    for (int64_t grp = 0; grp < G; ++grp) {
      auto w_g = weight.narrow(0, grp * Og, Og);
      auto cols_g = cols_b.narrow(0, grp * R, R);
      if (nb == 1) {
        auto out_g = out_b[0].narrow(0, grp * Og, Og);
        at::mm_out(out_g, w_g, cols_g);
      } else {
        auto res_g = res.narrow(0, 0, Og * nb * P).view({Og, nb * P});
        at::mm_out(res_g, w_g, cols_g);
        out_b.narrow(1, grp * Og, Og).copy_(res_g.view({Og, nb, P}).transpose(0, 1));
      }
    }
  }
  if (bias.defined()) output.add_(bias.view({1, -1, 1, 1}));
  return to_layout_of(output, channels_last);
}

BackwardResult geo_conv2d_backward_cuda(
    const at::Tensor& grad_output_, const at::Tensor& input_, const at::Tensor& weight_,
    const at::Tensor& geo_, at::IntArrayRef stride, at::IntArrayRef padding,
    at::IntArrayRef dilation, int64_t groups, std::array<bool, 3> output_mask) {
  const ConvGeometry g = make_geometry(input_, weight_, geo_, stride, padding, dilation, groups);
  check_grad_output(grad_output_, input_, g);
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  c10::cuda::CUDAGuard guard(input_.device());
  const bool need_input = output_mask[0], need_weight = output_mask[1], need_geo = output_mask[2];
  auto input = input_.contiguous();
  auto geo = geo_.contiguous();
  auto grad_output = grad_output_.contiguous();
  const int64_t G = g.groups, Og = g.out_channels_per_group(), R = g.col_rows();
  const int64_t P = g.out_pixels(), CK = g.channels * g.taps();
  auto weight = weight_.contiguous().view({g.out_channels, R});
  const auto acc_type = at::toOpMathType(input.scalar_type());
  at::Tensor grad_input, grad_weight, grad_geo;
  // Zero-filled: with no samples or no output channels nothing below writes them.
  if (need_input) grad_input = at::zeros_like(input);
  if (need_weight) grad_weight = at::zeros({g.out_channels, R}, input.options().dtype(acc_type));
  if (need_geo) grad_geo = at::zeros_like(geo);
  const bool need_cols = need_weight, need_gcols = need_input || need_geo;
  if (g.batch > 0 && g.out_channels > 0 && (need_cols || need_gcols)) {
    const int64_t per_sample = (int64_t(need_cols) + int64_t(need_gcols)) * CK * P + Og * P;
    const int64_t chunk = chunk_size(g, per_sample, input.element_size());
    at::Tensor cols, gcols;
    if (need_cols) cols = at::empty({CK * chunk * P}, input.options());
    if (need_gcols) gcols = at::empty({CK * chunk * P}, input.options());
    auto gout_buffer = at::empty({Og * chunk * P}, input.options());
    auto stream = at::cuda::getCurrentCUDAStream();
    for (int64_t b0 = 0; b0 < g.batch; b0 += chunk) {
      const int64_t nb = std::min(chunk, g.batch - b0);
      auto gout_b = grad_output.narrow(0, b0, nb).view({nb, g.out_channels, P});
      AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(),
                                      "geo_conv2d_backward_cuda", [&] {
        if (need_cols)
          launch_im2col<scalar_t>(g, b0, nb, input.const_data_ptr<scalar_t>(),
                                  geo.const_data_ptr<scalar_t>(), cols.data_ptr<scalar_t>(),
                                  stream);
        for (int64_t grp = 0; grp < G; ++grp) {
          auto gout_g = group_rows(gout_b, grp, Og, gout_buffer);  // (Og, nb*P)
          auto w_g = weight.narrow(0, grp * Og, Og);
          if (need_gcols) {
            auto gcols_g = gcols.narrow(0, 0, CK * nb * P).view({CK, nb * P})
                               .narrow(0, grp * R, R);
            at::mm_out(gcols_g, w_g.t(), gout_g);
          }
          if (need_cols) {
            auto cols_g = cols.narrow(0, 0, CK * nb * P).view({CK, nb * P})
                              .narrow(0, grp * R, R);
            auto gw_g = grad_weight.narrow(0, grp * Og, Og);
            if (acc_type == input.scalar_type())
              gw_g.addmm_(gout_g, cols_g.t());
            else  // reduced precision: the GEMM itself writes op-math partials
              gw_g.add_(at::mm(gout_g, cols_g.t(), acc_type));
          }
        }
        if (need_geo)
          launch_grad_geo<scalar_t>(g, b0, nb, input.const_data_ptr<scalar_t>(),
                                    gcols.const_data_ptr<scalar_t>(),
                                    grad_geo.data_ptr<scalar_t>(), stream);
        if (need_input)
          launch_col2im<scalar_t>(g, b0, nb, gcols.const_data_ptr<scalar_t>(),
                                  geo.const_data_ptr<scalar_t>(),
                                  grad_input.data_ptr<scalar_t>(), stream);
      });
    }
  }
  auto opt = [](const at::Tensor& t) { return t.defined() ? OptTensor(t) : OptTensor(); };
  if (need_input) grad_input = to_layout_of(grad_input, wants_channels_last(input_));
  if (need_weight) grad_weight = grad_weight.to(input.scalar_type()).view(weight_.sizes());
  return {opt(grad_input), opt(grad_weight), opt(grad_geo)};
}

}  // namespace
}  // namespace geoconv

TORCH_LIBRARY_IMPL(geoconv_mm, CUDA, m) {
  m.impl("geo_conv2d_forward", &geoconv::geo_conv2d_forward_cuda);
  m.impl("geo_conv2d_backward", &geoconv::geo_conv2d_backward_cuda);
}
