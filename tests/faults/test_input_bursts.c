/*
  Bursts of bad input — hundreds of frames of NaN, +Inf, -Inf, subnormal
  numbers or huge finite values — through the engine and through
  SwProcessor (what the plugin and the live host run), in calls that split
  the burst. The output stays finite throughout, and afterwards it recovers
  exactly:
    - NaN and Inf: every frame of the burst resets the state (its output is
      0), so after it the output is bit for bit that of a twin that was fed
      silence during the burst and reset at its end;
    - subnormals are flushed to zero inside the calls, so the output is bit
      for bit that of a twin fed zeros instead, all along;
    - huge finite values saturate the state without breaking it: the output
      stays finite, and within HUGE_RECOVERY_FRAMES of the burst's end it is
      back within 1e-3 of the twin's (the state has forgotten the burst).
  unit/nonfinite covers single bad samples, rt_denormals the flush itself;
  the plugin (plugin_host) and the live callback (live_rt) are held to the
  same recovery.

    test_input_bursts MODEL
  (a mono model; the shipped default has a skip connection, so the input
  reaches the output directly as well)
*/

#include <statewave/statewave.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAMS 2U
#define FRAMES 96000U /* 2 s at 48 kHz */
#define BURST_FROM 10000U
#define BURST_TO 10700U
#define CALL 256U
#define HUGE_RECOVERY_FRAMES 48000U

static int failures = 0;

typedef struct {
  const char* name;
  float       value; /* alternating in sign where `alternate` */
  bool        alternate;
  enum { RESETS, FLUSHED, SATURATES } kind;
} Burst;

static const Burst bursts[] = {
  {"NaN", NAN, false, RESETS},
  {"+Inf", INFINITY, false, RESETS},
  {"-Inf", -INFINITY, false, RESETS},
  {"+-Inf alternating", INFINITY, true, RESETS},
  {"subnormal 1e-40 alternating", 1e-40f, true, FLUSHED},
  {"the smallest subnormal", 1.4e-45f, false, FLUSHED},
  {"huge 1e30 alternating", 1e30f, true, SATURATES},
  {"FLT_MAX", FLT_MAX, false, SATURATES},
};

static float input[STREAMS][FRAMES];
static float twin_input[STREAMS][FRAMES];
static float output[STREAMS][FRAMES];
static float twin_output[STREAMS][FRAMES];

static void
make_inputs(const Burst* const burst)
{
  for (uint32_t s = 0; s < STREAMS; ++s) {
    for (uint32_t t = 0; t < FRAMES; ++t) {
      const float clean =
        0.5f * sinf(0.0393f * (float)t * (float)(s + 1U)) +
        0.05f * sinf(0.7f * (float)t);
      const bool in_burst = t >= BURST_FROM && t < BURST_TO;
      input[s][t] = in_burst ? (burst->alternate && t % 2U ? -burst->value
                                                           : burst->value)
                             : clean;
      twin_input[s][t] = in_burst ? 0.0f : clean;
    }
  }
}

/* Process [from, to) in calls of CALL frames. */
typedef SwStatus (*Process)(void* target, const float* const* in,
                            float* const* out, uint32_t frames);

static void
run(void* const target, const Process process, float (*const in)[FRAMES],
    float (*const out)[FRAMES], const uint32_t from, const uint32_t to)
{
  for (uint32_t t = from; t < to; t += CALL) {
    const uint32_t n = to - t < CALL ? to - t : CALL;
    const float*   in_rows[STREAMS];
    float*         out_rows[STREAMS];
    for (uint32_t s = 0; s < STREAMS; ++s) {
      in_rows[s]  = in[s] + t;
      out_rows[s] = out[s] + t;
    }
    if (process(target, in_rows, out_rows, n) != SW_SUCCESS) {
      printf("FAIL: process failed\n");
      exit(1);
    }
  }
}

static SwStatus
engine_process(void* const target, const float* const* in, float* const* out,
               const uint32_t frames)
{
  return sw_engine_process((SwEngine*)target, in, out, frames);
}

static SwStatus
processor_process(void* const target, const float* const* in,
                  float* const* out, const uint32_t frames)
{
  return sw_processor_process((SwProcessor*)target, in, out, frames);
}

static void
reset_engine(void* const target)
{
  sw_engine_reset((SwEngine*)target, -1);
}

static void
reset_processor(void* const target)
{
  sw_processor_reset((SwProcessor*)target);
}

/* Check `output` against `twin_output` for `burst`; `what` names the
   path. */
static void
judge(const Burst* const burst, const char* const what)
{
  uint32_t nonfinite = 0;
  for (uint32_t s = 0; s < STREAMS; ++s) {
    for (uint32_t t = 0; t < FRAMES; ++t) {
      nonfinite += !isfinite(output[s][t]);
    }
  }
  const uint32_t same_from = burst->kind == FLUSHED ? 0U
                             : burst->kind == RESETS ? BURST_TO
                                                     : BURST_TO +
                                                         HUGE_RECOVERY_FRAMES;
  const float tolerance = burst->kind == SATURATES ? 1e-3f : 0.0f;
  float       largest   = 0.0f;
  for (uint32_t s = 0; s < STREAMS; ++s) {
    for (uint32_t t = same_from; t < FRAMES; ++t) {
      largest = fmaxf(largest, fabsf(output[s][t] - twin_output[s][t]));
    }
  }
  const bool ok = nonfinite == 0 && largest <= tolerance;
  printf("%s: %s, a burst of %u frames of %s: %u non-finite outputs; from "
         "frame %u the largest difference from the twin is %g (allowed %g)\n",
         ok ? "ok" : "FAIL", what, BURST_TO - BURST_FROM, burst->name,
         nonfinite, same_from, (double)largest, (double)tolerance);
  failures += !ok;
}

/* The path with the burst, and its twin: fed silence in the burst and
   reset at its end (resetting bursts), or fed silence (the others). */
static void
run_pair(void* const target, void* const twin, const Process process,
         void (*const reset)(void*), const Burst* const burst)
{
  run(target, process, input, output, 0, FRAMES);
  run(twin, process, twin_input, twin_output, 0, BURST_TO);
  if (burst->kind == RESETS || burst->kind == SATURATES) {
    reset(twin);
  }
  run(twin, process, twin_input, twin_output, BURST_TO, FRAMES);
}

static SwEngine*
engine_of(const SwModel* const model)
{
  SwEngineConfig config = sw_engine_config_default();
  config.streams        = STREAMS;
  config.max_block      = CALL;
  config.sample_rate    = 48000.0;
  config.backend        = SW_BACKEND_CPU;
  SwError         err;
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  if (!engine) {
    printf("FAIL: %s\n", err.message);
    exit(1);
  }
  return engine;
}

static SwProcessor*
processor_of(const SwModel* const model)
{
  SwProcessorConfig config = sw_processor_config_default();
  config.channels          = STREAMS;
  config.max_block         = CALL;
  config.sample_rate       = 48000.0;
  SwError            err;
  SwProcessor* const p = sw_processor_new(&config, &err);
  if (!p || !sw_processor_offer(p, engine_of(model), NULL)) {
    printf("FAIL: a processor\n");
    exit(1);
  }
  /* The dry signal takes part too (and its gain ramp is settled by the
     time the burst comes). */
  sw_processor_set_input_gain_db(p, 6.0f);
  sw_processor_set_mix(p, 0.7f);
  return p;
}

static void
free_processor(SwProcessor* const p)
{
  SwEngine* engine = NULL;
  void*     tag    = NULL;
  while (sw_processor_release(p, &engine, &tag)) {
    sw_engine_free(engine);
  }
  sw_processor_free(p);
}

int
main(int argc, char** argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL\n", argv[0]);
    return 2;
  }
  SwError        err;
  SwModel* const model = sw_model_load(argv[1], &err);
  if (!model) {
    printf("FAIL: %s\n", err.message);
    return 1;
  }
  for (size_t b = 0; b < sizeof(bursts) / sizeof(bursts[0]); ++b) {
    make_inputs(&bursts[b]);

    SwEngine* const engine = engine_of(model);
    SwEngine* const twin   = engine_of(model);
    run_pair(engine, twin, engine_process, reset_engine, &bursts[b]);
    judge(&bursts[b], "engine");
    if (bursts[b].kind == RESETS &&
        sw_engine_nonfinite_resets(engine) <
          (uint64_t)STREAMS * (BURST_TO - BURST_FROM)) {
      printf("FAIL: engine: %llu resets counted for %u bad frames\n",
             (unsigned long long)sw_engine_nonfinite_resets(engine),
             STREAMS * (BURST_TO - BURST_FROM));
      ++failures;
    }
    sw_engine_free(engine);
    sw_engine_free(twin);

    SwProcessor* const p      = processor_of(model);
    SwProcessor* const p_twin = processor_of(model);
    run_pair(p, p_twin, processor_process, reset_processor, &bursts[b]);
    judge(&bursts[b], "SwProcessor (input +6 dB, mix 0.7)");
    free_processor(p);
    free_processor(p_twin);
  }
  sw_model_free(model);
  if (failures) {
    printf("%d check(s) failed\n", failures);
    return 1;
  }
  printf("all checks passed\n");
  return 0;
}
