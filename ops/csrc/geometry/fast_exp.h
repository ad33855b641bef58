// exp(x) for x in [-87, 0] in float, written so that compilers vectorise loops
// calling it (no libm call). Relative error below 3e-7 (a few float ulps, like
// expf); the geodesic weights are float32, which is what they need.
#pragma once

#include <bit>
#include <cstdint>

namespace geoconv {

inline float exp_nonpositive(float x) {
  // x = n ln2 + f, |f| <= ln2 / 2; exp(x) = 2^n exp(f), exp(f) by Taylor to f^7.
  const float n = (x * 1.44269504f + 12582912.f) - 12582912.f;  // round(x / ln2)
  const float f = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float p = 1.f / 5040.f;
  p = p * f + 1.f / 720.f;
  p = p * f + 1.f / 120.f;
  p = p * f + 1.f / 24.f;
  p = p * f + 1.f / 6.f;
  p = p * f + 0.5f;
  p = p * f + 1.f;
  p = p * f + 1.f;
  const int32_t e = (static_cast<int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(e);
}

}  // namespace geoconv
