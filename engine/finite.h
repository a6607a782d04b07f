/* Whether a run of floats holds no Inf or NaN: the check every backend
   makes on input frames and state before they can stick (private). */

#ifndef SW_FINITE_H
#define SW_FINITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* An exponent of all ones is Inf or NaN; integer ORs vectorize and do not
   depend on the floating-point mode. */
static inline bool
sw_all_finite(const float* const values, const size_t count)
{
  uint32_t bad = 0;
  for (size_t i = 0; i < count; ++i) {
    uint32_t bits;
    memcpy(&bits, &values[i], sizeof(bits));
    bad |= (uint32_t)((bits & 0x7f800000U) == 0x7f800000U);
  }
  return bad == 0;
}

#endif
