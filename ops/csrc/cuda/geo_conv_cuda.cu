// CUDA backend of GeoConv: im2col with the geodesic weight folded in, one batched
// cuBLAS GEMM over all groups of a chunk of samples, gather-form col2im.
//
// Every temporary (columns, column gradients, the regrouped output gradient) is sized
// by a chunk of samples chosen from kColumnBytes (and capped by
// chunk_sample_limit() for tests), so memory does not grow with the batch. A call
// issues a fixed number of launches per chunk whatever the number of groups: the
// groups are the batch dimension of one bmm. The weight gradient is accumulated
// across chunks in the op-math type (float32 for float16/bfloat16): each chunk's
// partial product is computed by a GEMM in the input dtype, which cuBLAS supports
// under every flag (allow_fp16_accumulation included) and compute capability, and
// rounded once before it is added.
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

// Samples per chunk such that `per_sample_elems` elements per sample fit the budget,
// at most chunk_sample_limit() when that is set.
int64_t chunk_size(const ConvGeometry& g, int64_t per_sample_elems, int64_t elem_size) {
  const int64_t per_sample = per_sample_elems * elem_size;
  int64_t chunk = per_sample <= 0  // nothing to buffer
                      ? std::max<int64_t>(g.batch, 1)
                      : std::max<int64_t>(1, std::min<int64_t>(g.batch, kColumnBytes / per_sample));
  const int64_t limit = chunk_sample_limit();
  if (limit > 0) chunk = std::min(chunk, limit);
  return chunk;
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

// A (nb, O, P) tensor as the (G, Og, nb*P) batch of per-group matrices: a view when
// nb == 1, else one copy into `buffer`.
at::Tensor by_group(const at::Tensor& t_nop, int64_t G, at::Tensor& buffer) {
  const int64_t nb = t_nop.size(0), O = t_nop.size(1), P = t_nop.size(2);
  if (nb == 1) return t_nop[0].view({G, O / G, P});
  auto out = buffer.narrow(0, 0, O * nb * P).view({O, nb, P});
  out.copy_(t_nop.transpose(0, 1));
  return out.view({G, O / G, nb * P});
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
  auto weight = weight_.contiguous().view({G, Og, R});
  auto output = at::empty({g.batch, g.out_channels, g.out_h, g.out_w}, input.options());
  if (g.batch == 0 || g.out_channels == 0) return to_layout_of(output, channels_last);
  const int64_t chunk = chunk_size(g, (CK + g.out_channels) * P, input.element_size());
  auto cols = at::empty({CK * chunk * P}, input.options());
  at::Tensor res;  // (G, Og, nb*P) products of a chunk of several samples
  if (chunk > 1) res = at::empty({g.out_channels * chunk * P}, input.options());
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
    auto cols_b = cols.narrow(0, 0, CK * nb * P).view({G, R, nb * P});
    if (nb == 1) {
      auto out_g = out_b[0].view({G, Og, P});
      at::bmm_out(out_g, weight, cols_b);
    } else {
      auto res_b = res.narrow(0, 0, g.out_channels * nb * P).view({G, Og, nb * P});
      at::bmm_out(res_b, weight, cols_b);
      out_b.copy_(res_b.view({g.out_channels, nb, P}).transpose(0, 1));
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
  auto weight = weight_.contiguous().view({G, Og, R});
  const auto acc_type = at::toOpMathType(input.scalar_type());
  const bool reduced = acc_type != input.scalar_type();
  at::Tensor grad_input, grad_weight, grad_geo;
  // Zero-filled: with no samples or no output channels nothing below writes them.
  if (need_input) grad_input = at::zeros_like(input);
  if (need_weight) grad_weight = at::zeros({G, Og, R}, input.options().dtype(acc_type));
  if (need_geo) grad_geo = at::zeros_like(geo);
  const bool need_cols = need_weight, need_gcols = need_input || need_geo;
  if (g.batch > 0 && g.out_channels > 0 && (need_cols || need_gcols)) {
    // Columns, column gradients, the regrouped output gradient and (reduced
    // precision) the weight gradient's partial product, per sample.
    const int64_t per_sample =
        (int64_t(need_cols) + int64_t(need_gcols)) * CK * P + g.out_channels * P;
    const int64_t chunk = chunk_size(g, per_sample, input.element_size());
    at::Tensor cols, gcols, partial;
    if (need_cols) cols = at::empty({CK * chunk * P}, input.options());
    if (need_gcols) gcols = at::empty({CK * chunk * P}, input.options());
    if (need_cols && reduced) partial = at::empty({G, Og, R}, input.options());
    at::Tensor gout_buffer;
    if (chunk > 1) gout_buffer = at::empty({g.out_channels * chunk * P}, input.options());
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
        auto gout_g = by_group(gout_b, G, gout_buffer);  // (G, Og, nb*P)
        if (need_gcols) {
          auto gcols_b = gcols.narrow(0, 0, CK * nb * P).view({G, R, nb * P});
          at::bmm_out(gcols_b, weight.transpose(1, 2), gout_g);
        }
        if (need_cols) {
          auto cols_t = cols.narrow(0, 0, CK * nb * P).view({G, R, nb * P}).transpose(1, 2);
          if (!reduced) {
            grad_weight.baddbmm_(gout_g, cols_t);
          } else {
            at::bmm_out(partial, gout_g, cols_t);
            grad_weight.add_(partial);
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
