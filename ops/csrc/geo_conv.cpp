#include "geo_conv.h"

#include <torch/extension.h>
#include <torch/library.h>

#include <atomic>

namespace geoconv {

namespace {
std::atomic<int64_t> g_chunk_sample_limit{0};
}  // namespace

int64_t chunk_sample_limit() { return g_chunk_sample_limit.load(); }

int64_t set_chunk_sample_limit(int64_t samples) {
  TORCH_CHECK(samples >= 0, "chunk sample limit must be >= 0, got ", samples);
  return g_chunk_sample_limit.exchange(samples);
}

ConvGeometry make_geometry(const at::Tensor& input, const at::Tensor& weight,
                           const at::Tensor& geo_weight, at::IntArrayRef stride,
                           at::IntArrayRef padding, at::IntArrayRef dilation,
                           int64_t groups) {
  TORCH_CHECK(input.dim() == 4, "geo_conv2d: input must be (N, C, H, W), got ",
              input.sizes());
  TORCH_CHECK(weight.dim() == 4, "geo_conv2d: weight must be (O, C/groups, Kh, Kw), got ",
              weight.sizes());
  TORCH_CHECK(stride.size() == 2 && padding.size() == 2 && dilation.size() == 2,
              "geo_conv2d: stride, padding and dilation must have two values");
  TORCH_CHECK(groups >= 1, "geo_conv2d: groups must be positive, got ", groups);
  ConvGeometry g{};
  g.batch = input.size(0);
  g.channels = input.size(1);
  g.height = input.size(2);
  g.width = input.size(3);
  g.out_channels = weight.size(0);
  g.groups = groups;
  g.kernel_h = weight.size(2);
  g.kernel_w = weight.size(3);
  g.stride_h = stride[0];
  g.stride_w = stride[1];
  g.pad_h = padding[0];
  g.pad_w = padding[1];
  g.dil_h = dilation[0];
  g.dil_w = dilation[1];
  // F.conv2d's rule, as geoconv_mm/ops/conv_geometry.py states it: positive
  // strides and dilations, no negative padding, and a dilated kernel that fits the
  // padded input, so that the output-size numerator is never negative.
  TORCH_CHECK(g.stride_h > 0 && g.stride_w > 0, "geo_conv2d: stride must be positive, got ",
              stride);
  TORCH_CHECK(g.dil_h > 0 && g.dil_w > 0, "geo_conv2d: dilation must be positive, got ",
              dilation);
  TORCH_CHECK(g.pad_h >= 0 && g.pad_w >= 0, "geo_conv2d: padding must not be negative, got ",
              padding);
  TORCH_CHECK(g.kernel_h > 0 && g.kernel_w > 0,
              "geo_conv2d: the kernel size must be positive, got ", weight.sizes());
  TORCH_CHECK(g.channels % groups == 0 && g.out_channels % groups == 0,
              "geo_conv2d: channels must be divisible by groups");
  TORCH_CHECK(weight.size(1) * groups == g.channels, "geo_conv2d: weight expects ",
              weight.size(1) * groups, " input channels, input has ", g.channels);
  const int64_t span_h = g.dil_h * (g.kernel_h - 1) + 1, span_w = g.dil_w * (g.kernel_w - 1) + 1;
  TORCH_CHECK(g.height + 2 * g.pad_h >= span_h && g.width + 2 * g.pad_w >= span_w,
              "geo_conv2d: the kernel ", g.kernel_h, "x", g.kernel_w, " (dilation ", dilation,
              ": ", span_h, "x", span_w, ") is larger than the padded input ",
              g.height + 2 * g.pad_h, "x", g.width + 2 * g.pad_w, " (input ", g.height, "x",
              g.width, ", padding ", padding, ")");
  g.out_h = (g.height + 2 * g.pad_h - span_h) / g.stride_h + 1;
  g.out_w = (g.width + 2 * g.pad_w - span_w) / g.stride_w + 1;
  TORCH_CHECK(geo_weight.dim() == 4 && geo_weight.size(0) == g.batch &&
                  geo_weight.size(1) == g.taps() && geo_weight.size(2) == g.out_h &&
                  geo_weight.size(3) == g.out_w,
              "geo_conv2d: geo_weight must have shape (", g.batch, ", ", g.taps(), ", ",
              g.out_h, ", ", g.out_w, "), got ", geo_weight.sizes());
  TORCH_CHECK(at::isFloatingType(input.scalar_type()),
              "geo_conv2d: input must be a floating-point tensor, got ",
              input.scalar_type());
  TORCH_CHECK(input.scalar_type() == weight.scalar_type() &&
                  input.scalar_type() == geo_weight.scalar_type(),
              "geo_conv2d: input (", input.scalar_type(), "), weight (",
              weight.scalar_type(), ") and geo_weight (", geo_weight.scalar_type(),
              ") must share a dtype");
  TORCH_CHECK(input.device() == weight.device() && input.device() == geo_weight.device(),
              "geo_conv2d: input (", input.device(), "), weight (", weight.device(),
              ") and geo_weight (", geo_weight.device(), ") must be on one device");
  return g;
}

at::Tensor checked_bias(const OptTensor& bias, const at::Tensor& input,
                        const ConvGeometry& g) {
  if (!bias.has_value() || !bias->defined()) return at::Tensor();
  TORCH_CHECK(bias->dim() == 1 && bias->size(0) == g.out_channels,
              "geo_conv2d: bias must have shape (", g.out_channels, "), got ",
              bias->sizes());
  TORCH_CHECK(bias->scalar_type() == input.scalar_type(), "geo_conv2d: bias has dtype ",
              bias->scalar_type(), " but input has ", input.scalar_type());
  TORCH_CHECK(bias->device() == input.device(), "geo_conv2d: bias is on ",
              bias->device(), " but input is on ", input.device());
  return bias->contiguous();
}

void check_grad_output(const at::Tensor& grad_output, const at::Tensor& input,
                       const ConvGeometry& g) {
  TORCH_CHECK(grad_output.dim() == 4 && grad_output.size(0) == g.batch &&
                  grad_output.size(1) == g.out_channels && grad_output.size(2) == g.out_h &&
                  grad_output.size(3) == g.out_w,
              "geo_conv2d backward: grad_output must have shape (", g.batch, ", ",
              g.out_channels, ", ", g.out_h, ", ", g.out_w, "), got ", grad_output.sizes());
  TORCH_CHECK(grad_output.scalar_type() == input.scalar_type(),
              "geo_conv2d backward: grad_output has dtype ", grad_output.scalar_type(),
              " but input has ", input.scalar_type());
  TORCH_CHECK(grad_output.device() == input.device(),
              "geo_conv2d backward: grad_output is on ", grad_output.device(),
              " but input is on ", input.device());
}

}  // namespace geoconv

// Backends register kernels for these schemas. Autograd and the fake kernels are
// registered on these operators from Python (geoconv_mm/ops/_op_registration.py).
// The backward returns None for every gradient output_mask does not ask for.
TORCH_LIBRARY(geoconv_mm, m) {
  m.def(
      "geo_conv2d_forward(Tensor input, Tensor weight, Tensor geo_weight, Tensor? bias, "
      "int[2] stride, int[2] padding, int[2] dilation, int groups) -> Tensor");
  m.def(
      "geo_conv2d_backward(Tensor grad_output, Tensor input, Tensor weight, "
      "Tensor geo_weight, int[2] stride, int[2] padding, int[2] dilation, int groups, "
      "bool[3] output_mask) -> (Tensor?, Tensor?, Tensor?)");
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "geoconv-mm compiled operators";
  m.def("compiled_with_cuda", []() {
#ifdef WITH_CUDA
    return true;
#else
    return false;
#endif
  });
  // Both strings are defined by setup.py at build time.
  m.def("cuda_version", []() { return std::string(GEOCONV_CUDA_VERSION); },
        "CUDA version the kernels were compiled with ('' for a CPU-only build)");
  m.def("torch_version", []() { return std::string(GEOCONV_TORCH_VERSION); },
        "torch version the extension was built against");
  m.def("_set_chunk_sample_limit", &geoconv::set_chunk_sample_limit,
        "Caps the samples per chunk of the CUDA kernels (0: the column budget alone "
        "decides) and returns the previous cap; for tests of the chunk seams");
}
