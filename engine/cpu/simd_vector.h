/* The vector type of the fast CPU kernels and the arithmetic on it,
   written once with GCC/Clang vector extensions for every instruction set
   simd_kernels.c is built for: SW_VL floats per vector. Private to
   simd_kernels.c (and built only with SW_VL defined).

   tanh and sigmoid come from one exp of a non-negative argument:
     tanh(x)    = sign(x) (1 - 2 / (1 + exp(2|x|)))
     sigmoid(x) = r or 1 - r,  r = 1 / (1 + exp(|x|)),  by the sign of x
   exp: a Cody-Waite range reduction and Cephes's degree-6 polynomial (about
   1 ulp), its argument clamped to 88 so it stays finite; the division: the
   hardware's reciprocal estimate and one Newton step (where there is one),
   about 2^-22 relative. The absolute error stays below 1e-6 over the real
   line (unit/cpu_kernels checks 2e-6 against libm), and both saturate
   exactly: for |x| >= 9.1 tanh is +-1, for x >= 17.4 sigmoid is 1 (where the
   exact value rounds to 1) and for x <= -88 it is 0. A NaN stays NaN. */

#ifndef SW_CPU_SIMD_VECTOR_H
#define SW_CPU_SIMD_VECTOR_H

#include "activation.h"

#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__) && SW_VL == 16
#  include <immintrin.h>
#  define SW_NATIVE_AVX512 1
#elif defined(__AVX__) && SW_VL == 8
#  include <immintrin.h>
#  define SW_NATIVE_AVX 1
#elif defined(__SSE2__) && SW_VL == 4
#  include <emmintrin.h>
#  define SW_NATIVE_SSE 1
#elif defined(__aarch64__) && SW_VL == 4
#  include <arm_neon.h>
#  define SW_NATIVE_NEON 1
#endif

#define SW_INLINE static inline __attribute__((always_inline))

typedef float   vf __attribute__((vector_size(SW_VL * 4)));
typedef int32_t vi __attribute__((vector_size(SW_VL * 4)));

SW_INLINE vf
load(const float* const p)
{
  vf v;
  memcpy(&v, p, sizeof(v));
  return v;
}

SW_INLINE void
store(float* const p, const vf v)
{
  memcpy(p, &v, sizeof(v));
}

/* Half-precision weights (the compact mode): the kernel sets whose CPUs
   convert them in hardware (F16C with AVX2, AVX-512F). */
#if defined(SW_NATIVE_AVX512) || (defined(SW_NATIVE_AVX) && defined(__F16C__))
#  define SW_HALF_WEIGHTS 1
#endif

/* SW_VL floats from SW_VL halves at p. */
SW_INLINE vf
load_half(const uint16_t* const p)
{
#if defined(SW_NATIVE_AVX512)
  return (vf)_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p));
#elif defined(SW_HALF_WEIGHTS)
  return (vf)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p));
#else
  (void)p;
  return (vf){0}; /* never called: the plan has no half weights here */
#endif
}

SW_INLINE vf
splat(const float x)
{
  return (vf){0} + x;
}

/* a b + c: one fused multiply-add where the set has them, else a multiply
   and an add. The kernels are built with -ffp-contract=off, so this is the
   only fusing there is: the compiler's own choice of which products to fuse
   could differ between the kernels' instantiations (clang's did), and a
   stream's output must not depend on which tile or pass computed it. */
SW_INLINE vf
vfma(const vf a, const vf b, const vf c)
{
#if defined(SW_NATIVE_AVX512)
  return (vf)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif defined(SW_NATIVE_AVX) && defined(__FMA__)
  return (vf)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#elif defined(SW_NATIVE_NEON)
  return (vf)vfmaq_f32((float32x4_t)c, (float32x4_t)a, (float32x4_t)b);
#else
  return a * b + c;
#endif
}

/* Lanes of a where m is all ones, else of b. */
SW_INLINE vf
select_lanes(const vi m, const vf a, const vf b)
{
  return (vf)(((vi)a & m) | ((vi)b & ~m));
}

/* min(x, limit) and max(x, limit) that keep a NaN x. */
SW_INLINE vf
vmin_keep_nan(const vf limit, const vf x)
{
#if defined(SW_NATIVE_AVX512)
  return (vf)_mm512_min_ps((__m512)limit, (__m512)x); /* NaN: second operand */
#elif defined(SW_NATIVE_AVX)
  return (vf)_mm256_min_ps((__m256)limit, (__m256)x);
#elif defined(SW_NATIVE_SSE)
  return (vf)_mm_min_ps((__m128)limit, (__m128)x);
#else
  return select_lanes(x > limit, limit, x);
#endif
}

SW_INLINE vf
vmax_keep_nan(const vf limit, const vf x)
{
#if defined(SW_NATIVE_AVX512)
  return (vf)_mm512_max_ps((__m512)limit, (__m512)x);
#elif defined(SW_NATIVE_AVX)
  return (vf)_mm256_max_ps((__m256)limit, (__m256)x);
#elif defined(SW_NATIVE_SSE)
  return (vf)_mm_max_ps((__m128)limit, (__m128)x);
#else
  return select_lanes(x < limit, limit, x);
#endif
}

#define SIGN_BIT ((int32_t)0x80000000)

SW_INLINE vf
vabs(const vf x)
{
  return (vf)((vi)x & ~SIGN_BIT);
}

/* exp(x) for 0 <= x (or NaN); x above 88 is taken as 88. */
SW_INLINE vf
vexp_nonnegative(vf x)
{
  x = vmin_keep_nan(splat(88.0f), x);
  /* y = 1.5 * 2^23 + round(x / ln 2): the integer sits in y's low bits. */
  const vf y = vfma(x, splat(1.44269504088896341f), splat(12582912.0f));
  const vf n = y - 12582912.0f;
  const vf r = vfma(n, splat(2.12194440e-4f), vfma(n, splat(-0.693359375f), x));
  /* Cephes's polynomial 1 + r + r^2 q(r), q evaluated by Estrin's scheme
     (pairs, then pairs of pairs): half the dependent steps of Horner's. */
  const vf r2  = r * r;
  const vf q01 = vfma(r, splat(1.6666665459e-1f), splat(5.0000001201e-1f));
  const vf q23 = vfma(r, splat(8.3334519073e-3f), splat(4.1665795894e-2f));
  const vf q45 = vfma(r, splat(1.9875691500e-4f), splat(1.3981999507e-3f));
  const vf q   = vfma(r2, vfma(r2, q45, q23), q01);
  const vf p   = vfma(q, r2, r + 1.0f);
  /* 2^n: n + 127 in the exponent field (0x4B400000 is y's bits for n = 0). */
  const vi scale = ((vi)y - (0x4B400000 - 127)) << 23;
  return p * (vf)scale;
}

/* 1 / d for 1 <= d < 2^126: the reciprocal estimate (12 or 14 bits) and one
   Newton step, about 2^-22 relative; a division where there is no
   estimate. The estimate of a d near 2^126 may be 0, which stays 0. */
SW_INLINE vf
vrecip(const vf d)
{
#if defined(SW_NATIVE_AVX512)
  const vf r = (vf)_mm512_rcp14_ps((__m512)d);
#elif defined(SW_NATIVE_AVX)
  const vf r = (vf)_mm256_rcp_ps((__m256)d);
#elif defined(SW_NATIVE_SSE)
  const vf r = (vf)_mm_rcp_ps((__m128)d);
#else
  return 1.0f / d;
#endif
#if defined(SW_NATIVE_AVX512) || defined(SW_NATIVE_AVX) || defined(SW_NATIVE_SSE)
  return vfma(r, vfma(-d, r, splat(1.0f)), r);
#endif
}

SW_INLINE vf
vtanh(const vf x)
{
  const vf ax = vabs(x);
  const vf r  = vrecip(vexp_nonnegative(ax + ax) + 1.0f);
  const vf t  = 1.0f - (r + r);
  return (vf)((vi)t | ((vi)x & SIGN_BIT));
}

SW_INLINE vf
vsigmoid(const vf x)
{
  const vf r = vrecip(vexp_nonnegative(vabs(x)) + 1.0f);
  /* x < 0: r; x >= 0: 1 - r. */
#if defined(SW_NATIVE_AVX512)
  return (vf)_mm512_mask_blend_ps(_mm512_cmplt_epi32_mask((__m512i)x, _mm512_setzero_si512()),
                                  (__m512)(1.0f - r), (__m512)r);
#elif defined(SW_NATIVE_AVX)
  return (vf)_mm256_blendv_ps((__m256)(1.0f - r), (__m256)r, (__m256)x);
#else
  return select_lanes((vi)x >> 31, r, 1.0f - r);
#endif
}

SW_INLINE vf
vactivate(const SwActivation act, const vf x)
{
  switch (act) {
  case SW_ACT_TANH: return vtanh(x);
  case SW_ACT_SIGMOID: return vsigmoid(x);
  case SW_ACT_RELU: return select_lanes(x > 0.0f, x, splat(0.0f));
  case SW_ACT_HARD_SIGMOID:
    return vmin_keep_nan(
      splat(1.0f), vmax_keep_nan(splat(0.0f), vfma(x, splat(0.2f), splat(0.5f))));
  case SW_ACT_HARD_SIGMOID_K3:
    return vmin_keep_nan(splat(1.0f),
                         vmax_keep_nan(splat(0.0f), x / 6.0f + 0.5f));
  case SW_ACT_DEFAULT:
  case SW_ACT_LINEAR: return x;
  default: {
    /* The rare ones (elu, selu, softsign, softplus, swish): exact, lane
       by lane. */
    float lanes[SW_VL];
    store(lanes, x);
    for (int i = 0; i < SW_VL; ++i) {
      lanes[i] = sw_activate(act, lanes[i]);
    }
    return load(lanes);
  }
  }
}

/* All ones in the lanes holding Inf or NaN. */
SW_INLINE vi
nonfinite_lanes(const vf v)
{
  return ((vi)v & 0x7f800000) == 0x7f800000;
}

/* Whether any lane of m (each all ones or all zeros) is set. */
SW_INLINE int
any_lane(const vi m)
{
#if defined(SW_NATIVE_AVX512)
  return _mm512_test_epi32_mask((__m512i)m, (__m512i)m) != 0;
#elif defined(SW_NATIVE_AVX)
  return _mm256_movemask_ps((__m256)m) != 0;
#elif defined(SW_NATIVE_SSE)
  return _mm_movemask_ps((__m128)m) != 0;
#else
  int32_t lanes[SW_VL];
  memcpy(lanes, &m, sizeof(lanes));
  int32_t any = 0;
  for (int i = 0; i < SW_VL; ++i) {
    any |= lanes[i];
  }
  return any != 0;
#endif
}

/* The sum of the lanes, always in the same order (pairs, then pairs of
   pairs). */
SW_INLINE float
sum_lanes(const vf v)
{
#if defined(SW_NATIVE_AVX)
  __m128 q = _mm_add_ps(_mm256_castps256_ps128((__m256)v),
                        _mm256_extractf128_ps((__m256)v, 1));
  q        = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
#else
  float lanes[SW_VL];
  store(lanes, v);
  for (int width = SW_VL / 2; width > 0; width /= 2) {
    for (int i = 0; i < width; ++i) {
      lanes[i] = lanes[i] + lanes[i + width];
    }
  }
  return lanes[0];
#endif
}

#endif
