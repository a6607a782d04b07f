/*
  The compact mode through the public API (SwEngineConfig.weights): FP32 by
  default; asked for on the cpu backend it runs half-precision weights where
  the kernels convert them (every x86-64 CPU with AVX2 here), its output
  within 1e-3 of FP32's and not equal to it; where it cannot (the SSE2
  kernels forced, the cpu-ref backend) the engine runs FP32, bit for bit
  FP32's output, and its note says why. The BF16 mode is taken by every
  kernel set (SSE2 too), within 1e-2 of FP32, and refused by cpu-ref.
*/

#include "unit_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FRAMES = 4096, STREAMS = 2 };

static SwEngine*
make(const SwModel* const model, const SwBackendKind backend,
     const SwWeightFormat weights)
{
  SwEngineConfig config = sw_engine_config_default();
  config.streams        = STREAMS;
  config.max_block      = FRAMES;
  config.backend        = backend;
  config.weights        = weights;
  return unit_engine_new(model, &config);
}

/* Runs the engine over the test signal (planar: stream after stream);
   returns its output, the same way (caller frees). */
static float*
run(SwEngine* const engine, const float* const in)
{
  float* const       out = unit_floats((size_t)STREAMS * FRAMES);
  const float* const ins[STREAMS]  = {in, in + FRAMES};
  float* const       outs[STREAMS] = {out, out + FRAMES};
  if (sw_engine_process(engine, ins, outs, FRAMES)) {
    unit_abort("sw_engine_process failed");
  }
  return out;
}

static double
max_difference(const float* const a, const float* const b)
{
  double worst = 0.0;
  for (size_t i = 0; i < (size_t)STREAMS * FRAMES; ++i) {
    worst = fmax(worst, fabs((double)a[i] - (double)b[i]));
  }
  return worst;
}

/* An engine asked for `format` that must run FP32: the output of an FP32
   engine of the same backend, and a note saying `why`. */
static void
expect_refused(const SwModel* const model, const SwBackendKind backend,
               const float* const in, const SwWeightFormat format,
               const char* const why)
{
  const char* const name = format == SW_WEIGHTS_BF16 ? "BF16" : "FP16";
  char              said[64];
  snprintf(said, sizeof(said), "%s weights not used (", name);
  SwEngine* const plain = make(model, backend, SW_WEIGHTS_FP32);
  float* const    fp32  = run(plain, in);
  sw_engine_free(plain);
  SwEngine* const engine = make(model, backend, format);
  float* const    out    = run(engine, in);
  const char*     note   = sw_engine_backend_note(engine);
  EXPECT(sw_engine_weights(engine) == SW_WEIGHTS_FP32, "%s taken (%s)", name,
         why);
  EXPECT(unit_contains(note, said) && unit_contains(note, why),
         "note '%s' does not say '%s'", note ? note : "(none)", why);
  unit_expect_identical(fp32, out, (size_t)STREAMS * FRAMES, why);
  free(fp32);
  free(out);
  sw_engine_free(engine);
}

/* BF16 through the public API on the cpu backend's kernels (the sse2
   set where it is forced): taken, its output within 1e-2 of FP32's and
   not equal to it, the kernel name saying so. */
static void
expect_bf16(const SwModel* const model, const float* const in,
            const float* const fp32)
{
  SwEngine* const engine     = make(model, SW_BACKEND_CPU, SW_WEIGHTS_BF16);
  float* const    out        = run(engine, in);
  const double    difference = max_difference(fp32, out);
  const char*     note       = sw_engine_backend_note(engine);
  const char*     kernels    = sw_engine_cpu_kernels(engine);
  printf("# BF16 weights on %s; max |bf16 - fp32| %.3g\n",
         kernels ? kernels : "(none)", difference);
  EXPECT(sw_engine_weights(engine) == SW_WEIGHTS_BF16,
         "BF16 not taken: %s", note ? note : "(no note)");
  EXPECT(kernels && strstr(kernels, "-bf16"), "kernels %s",
         kernels ? kernels : "(none)");
  EXPECT(difference > 0.0 && difference <= 1e-2,
         "BF16 output %.3g from FP32's", difference);
  free(out);
  sw_engine_free(engine);
}

int
main(void)
{
  SwLayerSpec layers[2] = {sw_layer_spec(SW_LAYER_LSTM, 64),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  const SwModelSpec spec  = unit_spec(1, 2, layers);
  SwModel* const    model = unit_build(&spec, 31);
  float* const      in    = unit_floats((size_t)STREAMS * FRAMES);
  unit_fill_audio(in, (size_t)STREAMS * FRAMES, 7);

  EXPECT(sw_engine_config_default().weights == SW_WEIGHTS_FP32,
         "the default is not FP32");

  unsetenv("STATEWAVE_CPU_KERNELS");
  SwEngine* const fp32_engine = make(model, SW_BACKEND_CPU, SW_WEIGHTS_FP32);
  EXPECT(sw_engine_weights(fp32_engine) == SW_WEIGHTS_FP32, "FP32 not run");
  float* const fp32 = run(fp32_engine, in);
  sw_engine_free(fp32_engine);

  SwEngine* const fp16_engine = make(model, SW_BACKEND_CPU, SW_WEIGHTS_FP16);
  float* const    fp16        = run(fp16_engine, in);
  const double    difference  = max_difference(fp32, fp16);
  const char*     note        = sw_engine_backend_note(fp16_engine);
  printf("# FP16 weights %s; max |fp16 - fp32| %.3g; note: %s\n",
         sw_engine_weights(fp16_engine) == SW_WEIGHTS_FP16 ? "taken" : "refused",
         difference, note ? note : "(none)");
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) {
    EXPECT(sw_engine_weights(fp16_engine) == SW_WEIGHTS_FP16,
           "FP16 not taken on an AVX2 CPU: %s", note ? note : "(no note)");
  }
#elif defined(__aarch64__)
  EXPECT(sw_engine_weights(fp16_engine) == SW_WEIGHTS_FP16,
         "FP16 not taken on NEON: %s", note ? note : "(no note)");
#endif
  if (sw_engine_weights(fp16_engine) == SW_WEIGHTS_FP16) {
    EXPECT(difference > 0.0 && difference <= 1e-3,
           "FP16 output %.3g from FP32's", difference);
    EXPECT(!unit_contains(note, "FP16 weights not used"), "note: %s", note);
  } else {
    EXPECT(difference == 0.0 && unit_contains(note, "FP16 weights not used ("),
           "refused FP16, yet %.3g from FP32 (note: %s)", difference,
           note ? note : "(none)");
  }
  free(fp16);
  sw_engine_free(fp16_engine);

  expect_refused(model, SW_BACKEND_CPU_REF, in, SW_WEIGHTS_FP16,
                 "the cpu-ref backend has no FP16 mode");
  expect_refused(model, SW_BACKEND_CPU_REF, in, SW_WEIGHTS_BF16,
                 "the cpu-ref backend has no BF16 mode");
#if defined(__x86_64__)
  setenv("STATEWAVE_CPU_KERNELS", "sse2", 1);
  expect_refused(model, SW_BACKEND_CPU, in, SW_WEIGHTS_FP16,
                 "the sse2 kernels cannot convert halves");
#endif
  expect_bf16(model, in, fp32);
  unsetenv("STATEWAVE_CPU_KERNELS");

  free(fp32);
  free(in);
  sw_model_free(model);
  return unit_finish("weights_mode");
}
