/* The engine's side of the GPU backends, without a GPU: a backend that
   computes like the CPU but fails on purpose stands in for the fused one.
   Checks that a failure mid-stream (in process, submit or collect) moves
   the engine to the CPU with the state carried over and not one sample
   different; that pipelined streaming is synchronous streaming delayed by
   exactly max_block frames, for any split into calls; that an unusable
   backend asked for runs on the CPU and says why; and what auto reports. */

#include "cuda_models.h"
#include "flaky_backend.h"
#include "model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCK 64U
#define FRAMES 1000U
#define STREAMS 2U

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

static SwEngine*
make_engine(const SwModel* const model, const SwBackendKind kind,
            const SwStreamingMode streaming)
{
  return cuda_engine(model, kind, STREAMS, MAX_BLOCK, streaming);
}

/* Calls of varying lengths, across block boundaries. */
static void
run(SwEngine* const engine, const float* const in, float* const out,
    const uint32_t I, const uint32_t O)
{
  static const uint32_t calls[] = { 64, 17, 1, 100, 63, 64, 5 };
  cuda_run_calls(engine, in, out, STREAMS, FRAMES, I, O, calls,
                 sizeof(calls) / sizeof(calls[0]));
}

static bool
identical(const float* const a, const float* const b, const size_t n)
{
  return memcmp(a, b, n * sizeof(float)) == 0;
}

static void
check_fallback(const SwModel* const model, const SwStreamingMode streaming,
               const int stage, const float* const in,
               const float* const expected)
{
  const uint32_t I = model->input_width;
  const uint32_t O = model->output_width;
  flaky_fail_stage = stage;
  flaky_fail_at    = 5;
  SwEngine* const engine = make_engine(model, SW_BACKEND_FUSED, streaming);
  EXPECT(!strcmp(sw_engine_backend_name(engine), "fused"),
         "the stand-in runs first, not %s", sw_engine_backend_name(engine));
  float* const out = (float*)calloc((size_t)STREAMS * FRAMES * O, 4U);
  run(engine, in, out, I, O);
  EXPECT(identical(expected, out, (size_t)STREAMS * FRAMES * O),
         "stage %d, %s: outputs differ from the cpu after the fallback", stage,
         streaming ? "pipelined" : "synchronous");
  EXPECT(!strcmp(sw_engine_backend_name(engine), "cpu"),
         "after the failure the engine runs on %s",
         sw_engine_backend_name(engine));
  EXPECT(sw_engine_fallback_count(engine) == 1, "fallback count %u",
         sw_engine_fallback_count(engine));
  const char* const note = sw_engine_backend_note(engine);
  EXPECT(note && strstr(note, "fused failed mid-stream") &&
           strstr(note, "simulated device loss") &&
           strstr(note, "state carried over"),
         "the note says why: %s", note ? note : "(none)");
  free(out);
  sw_engine_free(engine);
}

int
main(void)
{
  sw_backend_override(SW_BACKEND_FUSED, &flaky_backend);
  sw_backend_override(SW_BACKEND_CUDNN, &flaky_backend);

  CudaTestModel* models = NULL;
  const size_t   count  = cuda_models_build(&models);
  for (size_t m = 0; m < count; ++m) {
    const SwModel* const model = models[m].model;
    const uint32_t       I     = model->input_width;
    const uint32_t       O     = model->output_width;
    const size_t         outs  = (size_t)STREAMS * FRAMES * O;
    float* const in = (float*)calloc((size_t)STREAMS * FRAMES * I, 4U);
    float* const sync_out = (float*)calloc(outs, 4U);
    float* const pipe_out = (float*)calloc(outs, 4U);
    cuda_fill_input(in, STREAMS, FRAMES, I, 7U + m);

    SwEngine* const sync_cpu = make_engine(model, SW_BACKEND_CPU,
                                           SW_STREAMING_SYNC);
    run(sync_cpu, in, sync_out, I, O);
    sw_engine_free(sync_cpu);
    SwEngine* const pipe_cpu = make_engine(model, SW_BACKEND_CPU,
                                           SW_STREAMING_PIPELINED);
    EXPECT(sw_engine_latency(pipe_cpu) == MAX_BLOCK, "pipelined latency %u",
           sw_engine_latency(pipe_cpu));
    run(pipe_cpu, in, pipe_out, I, O);
    sw_engine_free(pipe_cpu);

    /* Pipelined = synchronous delayed by max_block frames, zeros first. */
    for (uint32_t s = 0; s < STREAMS; ++s) {
      const float* const p = pipe_out + (size_t)s * FRAMES * O;
      const float* const q = sync_out + (size_t)s * FRAMES * O;
      bool zeros = true;
      for (size_t i = 0; i < (size_t)MAX_BLOCK * O; ++i) {
        zeros = zeros && p[i] == 0.0f;
      }
      EXPECT(zeros, "%s: the first max_block pipelined frames are silent",
             models[m].name);
      EXPECT(identical(q, p + (size_t)MAX_BLOCK * O,
                       (size_t)(FRAMES - MAX_BLOCK) * O),
             "%s stream %u: pipelined output is not the synchronous one "
             "delayed by max_block",
             models[m].name, s);
    }

    check_fallback(model, SW_STREAMING_SYNC, FAIL_IN_PROCESS, in, sync_out);
    check_fallback(model, SW_STREAMING_PIPELINED, FAIL_IN_SUBMIT, in,
                   pipe_out);
    check_fallback(model, SW_STREAMING_PIPELINED, FAIL_IN_COLLECT, in,
                   pipe_out);
    free(in);
    free(sync_out);
    free(pipe_out);
  }

  /* An unusable backend asked for by name: the CPU runs, and says why. */
  flaky_usable = false;
  SwEngine* const fallback = make_engine(models[0].model, SW_BACKEND_FUSED,
                                         SW_STREAMING_SYNC);
  const char* const why = sw_engine_backend_note(fallback);
  EXPECT(!strcmp(sw_engine_backend_name(fallback), "cpu"),
         "an unusable fused backend runs on %s",
         sw_engine_backend_name(fallback));
  EXPECT(why && strstr(why, "running on the cpu") &&
           strstr(why, "no test device here"),
         "the note says why: %s", why ? why : "(none)");
  sw_engine_free(fallback);

  /* Auto with nothing usable: the CPU, naming each backend's reason. */
  SwEngine* const auto_none = make_engine(models[0].model, SW_BACKEND_AUTO,
                                          SW_STREAMING_SYNC);
  const char* const none = sw_engine_backend_note(auto_none);
  EXPECT(!strcmp(sw_engine_backend_name(auto_none), "cpu"), "auto: %s",
         sw_engine_backend_name(auto_none));
  EXPECT(none && strstr(none, "auto chose cpu"), "auto note: %s",
         none ? none : "(none)");
  sw_engine_free(auto_none);

  /* Auto with a usable stand-in: timed against the CPU, the winner named. */
  flaky_usable  = true;
  flaky_fail_at = 1U << 30;
  SwEngine* const auto_timed = make_engine(models[0].model, SW_BACKEND_AUTO,
                                           SW_STREAMING_SYNC);
  const char* const timed = sw_engine_backend_note(auto_timed);
  EXPECT(timed && strstr(timed, "auto chose") && strstr(timed, "cpu ") &&
           strstr(timed, "fused "),
         "auto names its timings: %s", timed ? timed : "(none)");
  sw_engine_free(auto_timed);

  cuda_models_free(models, count);
  sw_backend_override(SW_BACKEND_FUSED, NULL);
  sw_backend_override(SW_BACKEND_CUDNN, NULL);
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("fallback to the cpu (process, submit, collect) and pipelining: "
         "%zu models, bit-identical\n", count);
  return 0;
}
