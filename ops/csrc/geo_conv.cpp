#include "geo_conv.h"

#include <torch/extension.h>
#include <torch/library.h>

namespace geoconv {

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
  TORCH_CHECK(groups >= 1, "geo_conv2d: groups must be >= 1");
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
  TORCH_CHECK(g.stride_h > 0 && g.stride_w > 0 && g.dil_h > 0 && g.dil_w > 0 &&
                  g.pad_h >= 0 && g.pad_w >= 0,
              "geo_conv2d: invalid stride/padding/dilation");
  TORCH_CHECK(g.channels % groups == 0 && g.out_channels % groups == 0,
              "geo_conv2d: channels must be divisible by groups");
  TORCH_CHECK(weight.size(1) * groups == g.channels, "geo_conv2d: weight expects ",
              weight.size(1) * groups, " input channels, input has ", g.channels);
  g.out_h = (g.height + 2 * g.pad_h - g.dil_h * (g.kernel_h - 1) - 1) / g.stride_h + 1;
  g.out_w = (g.width + 2 * g.pad_w - g.dil_w * (g.kernel_w - 1) - 1) / g.stride_w + 1;
  TORCH_CHECK(g.out_h > 0 && g.out_w > 0, "geo_conv2d: output would be empty");
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
}
