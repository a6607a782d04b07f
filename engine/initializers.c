#include "initializers.h"

#include <math.h>
#include <stdlib.h>

static uint64_t
splitmix64(uint64_t* const x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31U);
}

static uint64_t
rotl(const uint64_t x, const int k)
{
  return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna). */
static uint64_t
rng_next(SwRng* const rng)
{
  uint64_t* const s      = rng->s;
  const uint64_t  result = rotl(s[1] * 5U, 7) * 9U;
  const uint64_t  t      = s[1] << 17U;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double
rng_uniform(SwRng* const rng)
{
  return (double)(rng_next(rng) >> 11U) * 0x1.0p-53;
}

static double
rng_normal(SwRng* const rng)
{
  /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
  const double u = 1.0 - rng_uniform(rng);
  const double v = rng_uniform(rng);
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

void
sw_rng_seed(SwRng* const rng, const uint64_t seed, const uint32_t layer,
            const uint32_t array)
{
  uint64_t x = seed ^ ((uint64_t)layer << 32U) ^ ((uint64_t)array << 8U);
  for (unsigned i = 0; i < 4; ++i) {
    rng->s[i] = splitmix64(&x);
  }
}

void
sw_init_glorot_uniform(SwRng* const rng, float* const dst, const size_t count,
                       const size_t fan_in, const size_t fan_out)
{
  const double limit = sqrt(6.0 / (double)(fan_in + fan_out));
  for (size_t i = 0; i < count; ++i) {
    dst[i] = (float)((2.0 * rng_uniform(rng) - 1.0) * limit);
  }
}

int
sw_init_orthogonal(SwRng* const rng, float* const dst, const size_t rows,
                   const size_t cols)
{
  /* Columns are kept contiguous (c[j * rows + i] is element (i, j)) so
     each pass streams through memory; the draws are made in row-major order
     and every sum runs in the same order as over the row-major matrix. */
  double* const c = (double*)malloc(rows * cols * sizeof(double));
  if (!c) {
    return -1;
  }
  for (size_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < cols; ++j) {
      c[j * rows + i] = rng_normal(rng);
    }
  }

  /* Modified Gram-Schmidt over the columns, twice ("twice is enough") so the
     result is orthonormal to rounding even for ill-conditioned draws. The
     positive diagonal of R matches Keras's sign correction of q. */
  for (size_t j = 0; j < cols; ++j) {
    double* const cj = c + j * rows;
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t k = 0; k < j; ++k) {
        const double* const ck  = c + k * rows;
        double              dot = 0.0;
        for (size_t i = 0; i < rows; ++i) {
          dot += ck[i] * cj[i];
        }
        for (size_t i = 0; i < rows; ++i) {
          cj[i] -= dot * ck[i];
        }
      }
    }
    double norm = 0.0;
    for (size_t i = 0; i < rows; ++i) {
      norm += cj[i] * cj[i];
    }
    norm = sqrt(norm);
    for (size_t i = 0; i < rows; ++i) {
      cj[i] /= norm;
    }
  }

  for (size_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < cols; ++j) {
      dst[i * cols + j] = (float)c[j * rows + i];
    }
  }
  free(c);
  return 0;
}
