/*
  Small helpers shared by the unit tests: failure reporting that keeps going
  (so one run lists every broken expectation), a deterministic generator,
  test signals and checked constructors.
*/

#ifndef STATEWAVE_UNIT_SUPPORT_H
#define STATEWAVE_UNIT_SUPPORT_H

#include <statewave/statewave.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#  define UNIT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#  define UNIT_NORETURN __attribute__((noreturn))
#else
#  define UNIT_PRINTF(fmt, args)
#  define UNIT_NORETURN
#endif

/* Exit status meson reads as "skipped". */
#define UNIT_EXIT_SKIP 77

/* Record a failure (with the source line) unless `cond` holds. */
#define EXPECT(cond, ...)                                                    \
  do {                                                                       \
    if (!(cond)) {                                                           \
      unit_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                     \
    }                                                                        \
  } while (0)

void
unit_fail(const char* file, int line, const char* condition, const char* fmt,
          ...) UNIT_PRINTF(4, 5);

/* Print a stop message and exit 1: for setup steps the test cannot go on
   without. */
UNIT_NORETURN void
unit_abort(const char* fmt, ...) UNIT_PRINTF(1, 2);

/* Number of failures recorded so far. */
int
unit_failure_count(void);

/* Print the summary; the exit status for main (0 pass, 1 fail). */
int
unit_finish(const char* test_name);

/* splitmix64: a tiny generator whose sequence is the same everywhere. */
uint64_t
unit_rng_next(uint64_t* state);

/* Uniform in [lo, hi). */
float
unit_rng_uniform(uint64_t* state, float lo, float hi);

/* An audio-like test signal in [-0.9, 0.9]: a few partials whose loudness
   swells, plus noise, so recurrent states move through their whole range. */
void
unit_fill_audio(float* dst, size_t frames, uint64_t seed);

/* A slowly varying control in [lo, hi] (a knob being turned). */
void
unit_fill_knob(float* dst, size_t frames, size_t stride, float lo, float hi,
               uint64_t seed);

/* calloc that never returns NULL (aborts the test instead). */
float*
unit_floats(size_t count);

/* sw_model_build that aborts the test with the library's message. */
SwModel*
unit_build(const SwModelSpec* spec, uint64_t seed);

/* sw_engine_new that aborts the test with the library's message. */
SwEngine*
unit_engine_new(const SwModel* model, const SwEngineConfig* config);

/* An engine on the CPU backend; aborts the test on failure. */
SwEngine*
unit_engine(const SwModel* model, uint32_t streams, uint32_t max_block,
            float knob_smoothing_ms);

/* A model spec with the given layers and no knobs, gains or skip. */
SwModelSpec
unit_spec(uint32_t input_width, uint32_t num_layers, const SwLayerSpec* layers);

/* strstr that treats NULL as "not found". */
bool
unit_contains(const char* haystack, const char* needle);

/* memcmp of two float arrays; on a difference, records a failure naming
   `what` and the first differing index, and returns false. */
bool
unit_expect_identical(const float* expected, const float* actual,
                      size_t count, const char* what);

#endif
