// AVX2 versions of the geodesic kernels' inner loops, chosen at run time
// (the build targets baseline x86-64). Each does the same IEEE operations in
// the same order as its SSE2/scalar twin, so results are bit-identical on
// every host; no FMA, which would round differently.
#pragma once

#include <cstdint>

namespace geoconv {

// Whether this CPU runs the functions below (false on non-x86 builds, or
// when the environment sets GEOCONV_NO_AVX2).
bool have_avx2();

// The functions process a prefix of their range, a multiple of their vector
// width, and return where they stopped; the caller finishes the rest.

// out[c] = |P(c + off) - P(c)| for c in [c0, c1), P = (x, y, z).
int64_t step_lengths_avx2(const double* x, const double* y, const double* z, int64_t off,
                          int64_t c0, int64_t c1, double* out);

// e[c] = exp(-r), r = min(d[c] / denom, cap), or `flat` where d[c] is NaN.
int64_t exp_ratios_avx2(const double* d, double denom, double flat, double cap, int64_t c0,
                        int64_t c1, float* e);

// sum[c] += e[c] for c in [0, n).
int64_t accumulate_avx2(const float* e, int64_t n, double* sum);

// w[c] = float(w[c] * s[c]) for c in [0, n).
int64_t scale_weights_avx2(const double* s, int64_t n, float* w);

// dk[x] (and dm[x] unless null) = l[x], or NaN where l[x] < 0 (a broken
// step), for x in [a, b); *broken |= any l[x] < 0.
int copy_steps_avx2(const double* l, int a, int b, double* dk, double* dm, bool* broken);

}  // namespace geoconv
