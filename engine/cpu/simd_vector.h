/* The vector type of the fast CPU kernels and the arithmetic on it,
   written once with GCC/Clang vector extensions for every instruction set
   simd_kernels.c is built for: SW_VL floats per vector. Private to
   simd_kernels.c (and built only with SW_VL defined).

   tanh and sigmoid are one odd rational function each, no exp:
     tanh(x)    = clamp(a p(a^2) / q(a^2), -1, 1),        a = clamp(x, +-8.12)
     sigmoid(x) = clamp(1/2 + a p'(a^2) / q'(a^2), 0, 1), a = clamp(x, +-16.2)
   p and q of degree 4 (9 over 8 in a), fitted to tanh on [0, 9] for the
   smallest largest error (tools/fit_activations.py, which prints these
   constants); sigmoid's are the same function at x / 2 (sigmoid(x) = 1/2 +
   tanh(x / 2) / 2) with the scaling folded into the coefficients. Past the
   fit the function grows: each clamp is the first float where it reaches 1
   (1/2) with and without fused multiply-adds, so both saturate exactly
   (tanh +-1 from |x| = 8.12, sigmoid 1 from 16.2 and 0 at the other end)
   and are never biased upwards (a bias would add up in an LSTM's cell).
   The absolute error is at most 2.9e-7 (tanh) and 1.7e-7 (sigmoid) over
   the real line, 3.5e-7 and 1.9e-7 without FMA (SSE2); unit/cpu_kernels
   checks 2e-6 against libm. The outer clamp is needed only without fused
   multiply-adds (clamp_output). Two Horner chains and a division: a shorter
   dependent path than an exp and a reciprocal, and fewer operations. A NaN
   stays NaN. */

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
   convert them in hardware (F16C with AVX2, AVX-512F, every AArch64). */
#if defined(SW_NATIVE_AVX512) ||                                               \
  (defined(SW_NATIVE_AVX) && defined(__F16C__)) || defined(SW_NATIVE_NEON)
#  define SW_HALF_WEIGHTS 1
#endif

/* SW_VL floats from SW_VL halves at p. */
SW_INLINE vf
load_half(const uint16_t* const p)
{
#if defined(SW_NATIVE_AVX512)
  return (vf)_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p));
#elif defined(SW_NATIVE_NEON)
  return (vf)vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
#elif defined(SW_HALF_WEIGHTS)
  return (vf)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p));
#else
  (void)p;
  return (vf){0}; /* never called: the plan has no half weights here */
#endif
}

/* The compact mode's bfloat16 weights (an FP32's upper 16 bits): widened
   by shifts and masks, so every kernel set takes them. A 32-bit lane holds
   a pair, gate g in its low half and gate g + 1 in its high half (little
   endian). */
typedef uint32_t vu __attribute__((vector_size(SW_VL * 4)));
typedef uint16_t vh __attribute__((vector_size(SW_VL * 2)));

/* The two gates of SW_VL bfloat16 pairs at p. */
SW_INLINE void
load_bf16_pair(const uint16_t* const p, vf* const low, vf* const high)
{
  vu v;
  memcpy(&v, p, sizeof(v));
  *low  = (vf)(v << 16);
  *high = (vf)(v & 0xffff0000U);
}

/* SW_VL floats from SW_VL bfloat16 at p (a gate without a pair): one
   zero-extending load where the set has it (GCC 12 makes
   __builtin_convertvector of 8 halves six instructions). */
SW_INLINE vf
load_bf16(const uint16_t* const p)
{
#if defined(SW_NATIVE_AVX512)
  return (vf)_mm512_slli_epi32(
    _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p)), 16);
#elif defined(SW_NATIVE_AVX) && defined(__AVX2__)
  return (vf)_mm256_slli_epi32(
    _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16);
#elif defined(SW_NATIVE_SSE)
  /* Each half above a zero half: already a float's upper bits. */
  return (vf)_mm_unpacklo_epi16(_mm_setzero_si128(),
                                _mm_loadl_epi64((const __m128i*)p));
#elif defined(SW_NATIVE_NEON)
  return (vf)vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
#else
  vh h;
  memcpy(&h, p, sizeof(h));
  return (vf)(__builtin_convertvector(h, vu) << 16);
#endif
}

/* x in every lane: a broadcast ((vf){0} + x would be an addition, which
   the compiler must keep: 0 + -0 is +0). */
SW_INLINE vf
splat(const float x)
{
#if defined(SW_NATIVE_AVX512)
  return (vf)_mm512_set1_ps(x);
#elif defined(SW_NATIVE_AVX)
  return (vf)_mm256_set1_ps(x);
#elif defined(SW_NATIVE_SSE)
  return (vf)_mm_set1_ps(x);
#elif defined(SW_NATIVE_NEON)
  return (vf)vdupq_n_f32(x);
#else
  vf v;
  for (int i = 0; i < SW_VL; ++i) {
    v[i] = x;
  }
  return v;
#endif
}

/* The sets whose vfma is one fused multiply-add. */
#if defined(SW_NATIVE_AVX512) || (defined(SW_NATIVE_AVX) && defined(__FMA__)) || \
  defined(SW_NATIVE_NEON)
#  define SW_FUSED_MULTIPLY_ADD 1
#endif

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

/* a p(u) / q(u), u = a^2, the coefficients from the constant term up (q's
   constant term is 1), by Horner's scheme. */
SW_INLINE vf
odd_rational(const vf a, const float p0, const float p1, const float p2,
             const float p3, const float p4, const float q1, const float q2,
             const float q3, const float q4)
{
  const vf u = a * a;
  const vf p = vfma(
    vfma(vfma(vfma(splat(p4), u, splat(p3)), u, splat(p2)), u, splat(p1)), u,
    splat(p0));
  const vf q =
    vfma(vfma(vfma(vfma(splat(q4), u, splat(q3)), u, splat(q2)), u, splat(q1)),
         u, splat(1.0f));
  return a * p / q;
}

/* lo <= x <= hi, a NaN kept. */
SW_INLINE vf
vclamp(const float lo, const float hi, const vf x)
{
  return vmax_keep_nan(splat(lo), vmin_keep_nan(splat(hi), x));
}

/* The activations' output clamp. With fused multiply-adds the rational
   functions below never leave [-1, 1] (tanh) and [0, 1] (sigmoid) on any
   float, reaching the ends exactly at the input clamps (unit/cpu_kernels
   checks every float near them), so the clamp is left out there: two
   operations on each activation's path. Without fusing, tanh reaches
   1 + 2^-23 at one input and sigmoid -2^-24 at another, so it stays. */
SW_INLINE vf
clamp_output(const float lo, const float hi, const vf x)
{
#ifdef SW_FUSED_MULTIPLY_ADD
  (void)lo;
  (void)hi;
  return x;
#else
  return vclamp(lo, hi, x);
#endif
}

/* The rational functions are odd, so x itself (clamped) goes in, not |x|
   and its sign apart: the same values, bit for bit, in fewer steps. */
SW_INLINE vf
vtanh(const vf x)
{
  const float c = 8.117267609e+00f;
  return clamp_output(
    -1.0f, 1.0f,
    odd_rational(vclamp(-c, c, x), 9.999998808e-01f, 1.337351352e-01f,
                 3.486953909e-03f, 2.047782255e-05f, 1.319226772e-08f,
                 4.670681059e-01f, 2.584340237e-02f, 3.271988244e-04f,
                 7.706011615e-07f));
}

SW_INLINE vf
vsigmoid(const vf x)
{
  const float c = 1.623453522e+01f;
  return clamp_output(
    0.0f, 1.0f,
    odd_rational(vclamp(-c, c, x), 2.499999702e-01f, 8.358445950e-03f,
                 5.448365482e-05f, 7.999149432e-08f, 1.288307395e-11f,
                 1.167670265e-01f, 1.615212648e-03f, 5.112481631e-06f,
                 3.010160787e-09f) +
      0.5f);
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
