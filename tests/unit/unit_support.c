#include "unit_support.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

void
unit_fail(const char* const file, const int line, const char* const condition,
          const char* const fmt, ...)
{
  ++failures;
  fprintf(stderr, "%s:%d: FAIL: %s\n    ", file, line, condition);
  va_list args;
  va_start(args, fmt);
  vfprintf(stderr, fmt, args);
  va_end(args);
  fputc('\n', stderr);
}

void
unit_abort(const char* const fmt, ...)
{
  fputs("ABORT: ", stderr);
  va_list args;
  va_start(args, fmt);
  vfprintf(stderr, fmt, args);
  va_end(args);
  fputc('\n', stderr);
  exit(1);
}

int
unit_failure_count(void)
{
  return failures;
}

int
unit_finish(const char* const test_name)
{
  if (failures) {
    fprintf(stderr, "%s: %d failure(s)\n", test_name, failures);
    return 1;
  }
  printf("%s: all checks passed\n", test_name);
  return 0;
}

uint64_t
unit_rng_next(uint64_t* const state)
{
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z          = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  z          = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31U);
}

float
unit_rng_uniform(uint64_t* const state, const float lo, const float hi)
{
  /* 24 random bits: every value is exact in float. */
  const float unit = (float)(unit_rng_next(state) >> 40U) / 16777216.0f;
  return lo + (hi - lo) * unit;
}

void
unit_fill_audio(float* const dst, const size_t frames, const uint64_t seed)
{
  uint64_t     rng        = seed;
  const double two_pi     = 6.283185307179586;
  const double partials[] = {110.0 + (double)(seed % 7U) * 13.0, 331.0,
                             1187.0};
  for (size_t t = 0; t < frames; ++t) {
    const double time  = (double)t / 48000.0;
    const double swell = 0.5 + 0.45 * sin(two_pi * 1.3 * time);
    double       value = 0.0;
    for (size_t p = 0; p < sizeof(partials) / sizeof(partials[0]); ++p) {
      value += sin(two_pi * partials[p] * time + (double)p) / (double)(p + 1U);
    }
    value = swell * value / 1.9;
    value += 0.05 * (double)unit_rng_uniform(&rng, -1.0f, 1.0f);
    if (value > 0.9) {
      value = 0.9;
    } else if (value < -0.9) {
      value = -0.9;
    }
    dst[t] = (float)value;
  }
}

void
unit_fill_knob(float* const dst, const size_t frames, const size_t stride,
               const float lo, const float hi, const uint64_t seed)
{
  const double phase = (double)(seed % 1000U) / 159.0;
  for (size_t t = 0; t < frames; ++t) {
    const double turn =
      0.5 + 0.5 * sin(phase + 6.283185307179586 * (double)t / 5000.0);
    dst[t * stride] = lo + (hi - lo) * (float)turn;
  }
}

float*
unit_floats(const size_t count)
{
  float* const data = (float*)calloc(count ? count : 1U, sizeof(float));
  if (!data) {
    unit_abort("out of memory for %zu floats", count);
  }
  return data;
}

SwModel*
unit_build(const SwModelSpec* const spec, const uint64_t seed)
{
  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_build(spec, seed, &err);
  if (!model) {
    unit_abort("sw_model_build failed (%s): %s", sw_strerror(err.status),
               err.message);
  }
  return model;
}

SwEngine*
unit_engine_new(const SwModel* const model, const SwEngineConfig* const config)
{
  SwError         err    = {SW_SUCCESS, ""};
  SwEngine* const engine = sw_engine_new(model, config, &err);
  if (!engine) {
    unit_abort("sw_engine_new failed (%s): %s", sw_strerror(err.status),
               err.message);
  }
  return engine;
}

SwEngine*
unit_engine(const SwModel* const model, const uint32_t streams,
            const uint32_t max_block, const float knob_smoothing_ms)
{
  SwEngineConfig config    = sw_engine_config_default();
  config.streams           = streams;
  config.max_block         = max_block;
  config.backend           = SW_BACKEND_CPU;
  config.knob_smoothing_ms = knob_smoothing_ms;
  return unit_engine_new(model, &config);
}

SwModelSpec
unit_spec(const uint32_t input_width, const uint32_t num_layers,
          const SwLayerSpec* const layers)
{
  SwModelSpec spec;
  memset(&spec, 0, sizeof(spec));
  spec.input_width = input_width;
  spec.num_layers  = num_layers;
  spec.layers      = layers;
  return spec;
}

bool
unit_contains(const char* const haystack, const char* const needle)
{
  return haystack && needle && strstr(haystack, needle) != NULL;
}

bool
unit_expect_identical(const float* const expected, const float* const actual,
                      const size_t count, const char* const what)
{
  if (!memcmp(expected, actual, count * sizeof(float))) {
    return true;
  }
  for (size_t i = 0; i < count; ++i) {
    if (memcmp(&expected[i], &actual[i], sizeof(float))) {
      unit_fail(__FILE__, __LINE__, "bit-identical output",
                "%s: first difference at index %zu of %zu: expected %.9g, "
                "got %.9g",
                what, i, count, (double)expected[i], (double)actual[i]);
      break;
    }
  }
  return false;
}
