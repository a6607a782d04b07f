/* Keras weight initializers with a seeded generator (private). */

#ifndef SW_INITIALIZERS_H
#define SW_INITIALIZERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t s[4];
} SwRng;

/* Seed a generator for one weight array of one layer, so that giving or
   omitting one array never changes the values drawn for another. */
void
sw_rng_seed(SwRng* rng, uint64_t seed, uint32_t layer, uint32_t array);

/* Keras glorot_uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)). */
void
sw_init_glorot_uniform(SwRng* rng, float* dst, size_t count, size_t fan_in,
                       size_t fan_out);

/* Keras orthogonal for a recurrent kernel of Keras shape (units, gates*units):
   writes the canonical [rows x cols] = [gates*units x units] matrix, whose
   columns are orthonormal (the transpose of Keras's matrix). rows >= cols.
   Returns 0, or -1 when out of memory. */
int
sw_init_orthogonal(SwRng* rng, float* dst, size_t rows, size_t cols);

#endif
