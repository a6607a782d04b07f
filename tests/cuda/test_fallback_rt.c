/*
  A GPU backend failing mid-stream, on the audio thread: the engine's move
  to the CPU (the failing block redone there, every stream's state carried
  over) must keep the real-time rules — no allocation, free, mutex, file or
  socket open (the rt interposer, armed around every call), nothing logged
  — and lose nothing: the output is bit-identical to an engine that ran on
  the CPU from the start, with no gap at the failure. Checked for a failure
  in process (synchronous), submit and collect (pipelined), through the
  engine and through SwProcessor as the plugin and the live host run it.
  The failing backend is the cuda suite's stand-in (flaky_backend.c), so
  this runs without a GPU; with one, gpu_parity does the same with a real
  device failure (STATEWAVE_GPU_FAIL_AFTER).
*/

#include "cuda_models.h"
#include "flaky_backend.h"
#include "rt_interposer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAMS 2U
#define MAX_BLOCK 64U
#define FRAMES 1024U
#define CALL 37U /* calls of 37 frames cross the 64-frame blocks */

static int failures = 0;

#define EXPECT(cond, ...)                                        \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "FAIL line %d: ", __LINE__);               \
      fprintf(stderr, __VA_ARGS__);                              \
      fprintf(stderr, "\n");                                     \
      ++failures;                                                \
    }                                                            \
  } while (0)

static unsigned long messages_logged = 0;

static void
count_log(void* const user, const SwLogLevel level, const char* const message)
{
  (void)user;
  (void)level;
  (void)message;
  ++messages_logged;
}

static float input[STREAMS][FRAMES];
static float expected[STREAMS][FRAMES];
static float output[STREAMS][FRAMES];

/* Run the whole input through `process` in calls of CALL frames, each call
   armed; the calls that broke the rules are reported under `what`. */
typedef SwStatus (*ProcessFunc)(void* target, const float* const* in,
                                float* const* out, uint32_t frames);

static void
run_armed(void* const target, const ProcessFunc process,
          float (*const out)[FRAMES], const char* const what)
{
  unsigned long violations = 0;
  const unsigned long logged = messages_logged;
  for (uint32_t done = 0; done < FRAMES; done += CALL) {
    const uint32_t n = FRAMES - done < CALL ? FRAMES - done : CALL;
    const float*   in[STREAMS];
    float*         rows[STREAMS];
    for (uint32_t s = 0; s < STREAMS; ++s) {
      in[s]   = input[s] + done;
      rows[s] = out[s] + done;
    }
    rt_arm();
    const SwStatus st = process(target, in, rows, n);
    violations += rt_disarm(what);
    EXPECT(st == SW_SUCCESS, "%s: process returned %d", what, (int)st);
  }
  EXPECT(violations == 0, "%s: %lu allocations, locks or opens", what,
         violations);
  EXPECT(messages_logged == logged, "%s: %lu messages logged from the audio "
         "thread", what, messages_logged - logged);
}

static SwStatus
engine_process(void* const target, const float* const* in,
               float* const* out, const uint32_t frames)
{
  return sw_engine_process((SwEngine*)target, in, out, frames);
}

static SwStatus
processor_process(void* const target, const float* const* in,
                  float* const* out, const uint32_t frames)
{
  return sw_processor_process((SwProcessor*)target, in, out, frames);
}

static SwProcessor*
processor_with(SwEngine* const engine)
{
  SwProcessorConfig config = sw_processor_config_default();
  config.channels          = STREAMS;
  config.max_block         = MAX_BLOCK;
  config.sample_rate       = 48000.0;
  SwError            err;
  SwProcessor* const p = sw_processor_new(&config, &err);
  /* The first engine offered plays at once. */
  if (!p || !sw_processor_offer(p, engine, NULL)) {
    fprintf(stderr, "FAIL: a processor: %s\n",
            p ? "offer refused" : err.message);
    exit(1);
  }
  return p;
}

static bool
same(float (*const a)[FRAMES], float (*const b)[FRAMES])
{
  return memcmp(a, b, sizeof(float) * STREAMS * FRAMES) == 0;
}

static void
check_failure(const SwModel* const model, const char* const name,
              const SwStreamingMode streaming, const int stage,
              const bool through_processor)
{
  char what[256];
  snprintf(what, sizeof(what), "%s, %s, failing in %s%s", name,
           streaming == SW_STREAMING_PIPELINED ? "pipelined" : "synchronous",
           stage == FAIL_IN_PROCESS  ? "process"
           : stage == FAIL_IN_SUBMIT ? "submit"
                                     : "collect",
           through_processor ? ", through SwProcessor" : "");

  /* The reference: the CPU from the start. */
  SwEngine* const cpu =
    cuda_engine(model, SW_BACKEND_CPU, STREAMS, MAX_BLOCK, streaming);
  SwProcessor* const cpu_p = through_processor ? processor_with(cpu) : NULL;
  run_armed(through_processor ? (void*)cpu_p : (void*)cpu,
            through_processor ? processor_process : engine_process, expected,
            "the cpu reference");

  flaky_fail_stage = stage;
  flaky_fail_at    = 6; /* the seventh block, after four calls or so */
  SwEngine* const flaky =
    cuda_engine(model, SW_BACKEND_FUSED, STREAMS, MAX_BLOCK, streaming);
  EXPECT(!strcmp(sw_engine_backend_name(flaky), "fused"),
         "%s: the stand-in does not run first (%s)", what,
         sw_engine_backend_name(flaky));
  SwProcessor* const flaky_p =
    through_processor ? processor_with(flaky) : NULL;
  run_armed(through_processor ? (void*)flaky_p : (void*)flaky,
            through_processor ? processor_process : engine_process, output,
            what);

  EXPECT(sw_engine_fallback_count(flaky) == 1 &&
           !strcmp(sw_engine_backend_name(flaky), "cpu"),
         "%s: %u fallbacks, now on %s", what, sw_engine_fallback_count(flaky),
         sw_engine_backend_name(flaky));
  EXPECT(same(expected, output), "%s: the output differs from the cpu's "
         "(a gap or a jump at the failure)", what);
  if (!failures) {
    printf("ok: %s: moved to the cpu without allocating, locking, opening "
           "or logging; output bit-identical\n", what);
  }
  sw_processor_free(flaky_p);
  sw_processor_free(cpu_p);
  sw_engine_free(flaky);
  sw_engine_free(cpu);
}

int
main(void)
{
  if (!rt_interposer_ready()) {
    return 1;
  }
  sw_set_log(count_log, NULL);
  sw_backend_override(SW_BACKEND_FUSED, &flaky_backend);
  flaky_usable = true;
  for (uint32_t s = 0; s < STREAMS; ++s) {
    for (uint32_t t = 0; t < FRAMES; ++t) {
      input[s][t] = (float)((t * 37U + s * 11U) % 97U) / 97.0f - 0.5f;
    }
  }

  SwModel* const lstm = cuda_model_stack(SW_LAYER_LSTM, 16, 2, 1, 3);
  SwModel* const gru  = cuda_model_stack(SW_LAYER_GRU, 12, 1, 1, 4);
  const struct {
    const SwModel* model;
    const char*    name;
  } models[] = {{lstm, "LSTM 16 x 2"}, {gru, "GRU 12"}};
  for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); ++m) {
    for (int processor = 0; processor < 2; ++processor) {
      check_failure(models[m].model, models[m].name, SW_STREAMING_SYNC,
                    FAIL_IN_PROCESS, processor);
      check_failure(models[m].model, models[m].name, SW_STREAMING_PIPELINED,
                    FAIL_IN_SUBMIT, processor);
      check_failure(models[m].model, models[m].name, SW_STREAMING_PIPELINED,
                    FAIL_IN_COLLECT, processor);
    }
  }
  sw_model_free(lstm);
  sw_model_free(gru);
  sw_backend_override(SW_BACKEND_FUSED, NULL);
  sw_set_log(NULL, NULL);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all checks passed\n");
  return 0;
}
