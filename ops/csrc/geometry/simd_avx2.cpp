#include "simd.h"

#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GEOCONV_AVX2 __attribute__((target("avx2")))
#endif

namespace geoconv {

#if defined(GEOCONV_AVX2)

bool have_avx2() {
  // GEOCONV_NO_AVX2 forces the baseline loops (to test that both agree).
  static const bool yes = __builtin_cpu_supports("avx2") && !std::getenv("GEOCONV_NO_AVX2");
  return yes;
}

int64_t step_lengths_avx2(const double* x, const double* y, const double* z, int64_t off,
                          int64_t c0, int64_t c1, double* out) GEOCONV_AVX2;
int64_t step_lengths_avx2(const double* x, const double* y, const double* z, int64_t off,
                          int64_t c0, int64_t c1, double* out) {
  int64_t c = c0;
  for (; c + 4 <= c1; c += 4) {
    const __m256d ex = _mm256_sub_pd(_mm256_loadu_pd(x + c + off), _mm256_loadu_pd(x + c));
    const __m256d ey = _mm256_sub_pd(_mm256_loadu_pd(y + c + off), _mm256_loadu_pd(y + c));
    const __m256d ez = _mm256_sub_pd(_mm256_loadu_pd(z + c + off), _mm256_loadu_pd(z + c));
    const __m256d s2 = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(ex, ex), _mm256_mul_pd(ey, ey)),
                                     _mm256_mul_pd(ez, ez));
    _mm256_storeu_pd(out + c, _mm256_sqrt_pd(s2));
  }
  return c;
}

namespace {

// exp_nonpositive (fast_exp.h) of eight floats, operation for operation.
GEOCONV_AVX2 inline __m256 exp_nonpositive8(__m256 x) {
  const __m256 magic = _mm256_set1_ps(12582912.f);
  const __m256 n = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), magic), magic);
  const __m256 f = _mm256_sub_ps(_mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(0.693145751953125f))),
                                 _mm256_mul_ps(n, _mm256_set1_ps(1.428606765330187e-06f)));
  __m256 p = _mm256_set1_ps(1.f / 5040.f);
  p = _mm256_add_ps(_mm256_mul_ps(p, f), _mm256_set1_ps(1.f / 720.f));
  p = _mm256_add_ps(_mm256_mul_ps(p, f), _mm256_set1_ps(1.f / 120.f));
  p = _mm256_add_ps(_mm256_mul_ps(p, f), _mm256_set1_ps(1.f / 24.f));
  p = _mm256_add_ps(_mm256_mul_ps(p, f), _mm256_set1_ps(1.f / 6.f));
  p = _mm256_add_ps(_mm256_mul_ps(p, f), _mm256_set1_ps(0.5f));
  p = _mm256_add_ps(_mm256_mul_ps(p, f), _mm256_set1_ps(1.f));
  p = _mm256_add_ps(_mm256_mul_ps(p, f), _mm256_set1_ps(1.f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

GEOCONV_AVX2 inline __m128 ratio4(__m256d d, __m256d denom, __m256d cap, __m256d flat) {
  const __m256d nan = _mm256_cmp_pd(d, d, _CMP_UNORD_Q);
  const __m256d r = _mm256_min_pd(_mm256_div_pd(d, denom), cap);
  return _mm256_cvtpd_ps(_mm256_blendv_pd(r, flat, nan));
}

}  // namespace

int64_t exp_ratios_avx2(const double* d, double denom, double flat, double cap, int64_t c0,
                        int64_t c1, float* e) GEOCONV_AVX2;
int64_t exp_ratios_avx2(const double* d, double denom, double flat, double cap, int64_t c0,
                        int64_t c1, float* e) {
  const __m256d vden = _mm256_set1_pd(denom), vcap = _mm256_set1_pd(cap), vflat = _mm256_set1_pd(flat);
  const __m256 sign = _mm256_set1_ps(-0.f);
  int64_t c = c0;
  for (; c + 8 <= c1; c += 8) {
    const __m128 r0 = ratio4(_mm256_loadu_pd(d + c), vden, vcap, vflat);
    const __m128 r1 = ratio4(_mm256_loadu_pd(d + c + 4), vden, vcap, vflat);
    const __m256 r = _mm256_insertf128_ps(_mm256_castps128_ps256(r0), r1, 1);
    _mm256_storeu_ps(e + c, exp_nonpositive8(_mm256_xor_ps(r, sign)));
  }
  return c;
}

int64_t accumulate_avx2(const float* e, int64_t n, double* sum) GEOCONV_AVX2;
int64_t accumulate_avx2(const float* e, int64_t n, double* sum) {
  int64_t c = 0;
  for (; c + 4 <= n; c += 4)
    _mm256_storeu_pd(sum + c, _mm256_add_pd(_mm256_loadu_pd(sum + c), _mm256_cvtps_pd(_mm_loadu_ps(e + c))));
  return c;
}

int64_t scale_weights_avx2(const double* s, int64_t n, float* w) GEOCONV_AVX2;
int64_t scale_weights_avx2(const double* s, int64_t n, float* w) {
  int64_t c = 0;
  for (; c + 4 <= n; c += 4) {
    const __m256d v = _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(w + c)), _mm256_loadu_pd(s + c));
    _mm_storeu_ps(w + c, _mm256_cvtpd_ps(v));
  }
  return c;
}

int copy_steps_avx2(const double* l, int a, int b, double* dk, double* dm, bool* broken) GEOCONV_AVX2;
int copy_steps_avx2(const double* l, int a, int b, double* dk, double* dm, bool* broken) {
  const __m256d zero = _mm256_setzero_pd(), nan = _mm256_set1_pd(__builtin_nan(""));
  __m256d any = _mm256_setzero_pd();
  int x = a;
  for (; x + 4 <= b; x += 4) {
    const __m256d v = _mm256_loadu_pd(l + x);
    const __m256d neg = _mm256_cmp_pd(v, zero, _CMP_LT_OQ);
    const __m256d out = _mm256_blendv_pd(v, nan, neg);
    any = _mm256_or_pd(any, neg);
    _mm256_storeu_pd(dk + x, out);
    if (dm) _mm256_storeu_pd(dm + x, out);
  }
  if (_mm256_movemask_pd(any)) *broken = true;
  return x;
}

#else

bool have_avx2() { return false; }
int64_t step_lengths_avx2(const double*, const double*, const double*, int64_t, int64_t c0, int64_t,
                          double*) {
  return c0;
}
int64_t exp_ratios_avx2(const double*, double, double, double, int64_t c0, int64_t, float*) { return c0; }
int64_t accumulate_avx2(const float*, int64_t, double*) { return 0; }
int64_t scale_weights_avx2(const double*, int64_t, float*) { return 0; }
int copy_steps_avx2(const double*, int a, int, double*, double*, bool*) { return a; }
#endif

}  // namespace geoconv
