/* Flush denormals to zero for the scope of a process call and restore the
   caller's floating-point mode afterwards (private). A decaying recurrent
   state in silence otherwise hits denormals, which are ~100x slower on x86. */

#ifndef SW_DENORMALS_H
#define SW_DENORMALS_H

#include <stdint.h>

#if defined(__SSE2__) || defined(__x86_64__) || defined(_M_X64)
#  include <xmmintrin.h>
#  define SW_FTZ_DAZ_BITS 0x8040U /* MXCSR flush-to-zero | denormals-are-zero */

typedef unsigned int SwFpMode;

static inline SwFpMode
sw_denormals_disable(void)
{
  const SwFpMode saved = _mm_getcsr();
  _mm_setcsr(saved | SW_FTZ_DAZ_BITS);
  return saved;
}

static inline void
sw_denormals_restore(const SwFpMode saved)
{
  _mm_setcsr(saved);
}

#elif defined(__aarch64__)
#  define SW_FPCR_FZ_BIT (UINT64_C(1) << 24U)

typedef uint64_t SwFpMode;

static inline SwFpMode
sw_denormals_disable(void)
{
  uint64_t saved = 0;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(saved));
  __asm__ __volatile__("msr fpcr, %0" : : "r"(saved | SW_FPCR_FZ_BIT));
  return saved;
}

static inline void
sw_denormals_restore(const SwFpMode saved)
{
  __asm__ __volatile__("msr fpcr, %0" : : "r"(saved));
}

#else
typedef int SwFpMode;

static inline SwFpMode
sw_denormals_disable(void)
{
  return 0;
}

static inline void
sw_denormals_restore(const SwFpMode saved)
{
  (void)saved;
}
#endif

#endif
