/*
  Which CPU kernels an engine runs (sw_engine_cpu_kernels): "scalar" on
  cpu-ref, the forced set where STATEWAVE_CPU_KERNELS names one, and
  otherwise the best set for the CPU, the model and the stream count: on a
  CPU that splits 512-bit vectors (AMD family 19h with AVX-512, checked
  here with cpuid, apart from the library) for one stream and for two
  of a model under 28 KB the avx512vl set (AVX-512 at 8 lanes), avx512
  for more, and for one stream of a larger model in the bfloat16 compact
  mode (its plan remade for 16 lanes when the mode is taken: the output is
  that of an engine forced to avx512, bit for bit); elsewhere the same set
  for every engine.
*/

#include "unit_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#  include <cpuid.h>
#endif

/* The kernels an engine of `streams` streams of the model runs on
   `backend` with weights in `format` (copied: the engine is freed). */
static const char*
kernels_in(const SwModel* const model, const uint32_t streams,
           const SwBackendKind backend, const SwWeightFormat format)
{
  static char     name[32];
  SwEngineConfig  config = sw_engine_config_default();
  config.streams         = streams;
  config.max_block       = 64;
  config.backend         = backend;
  config.weights         = format;
  SwEngine* const engine = unit_engine_new(model, &config);
  const char* const kernels = sw_engine_cpu_kernels(engine);
  snprintf(name, sizeof(name), "%s", kernels ? kernels : "(null)");
  sw_engine_free(engine);
  return name;
}

static const char*
kernels_of(const SwModel* const model, const uint32_t streams,
           const SwBackendKind backend)
{
  return kernels_in(model, streams, backend, SW_WEIGHTS_FP32);
}

/* The output of one stream of the model over 4096 frames of test audio,
   in `format` on the cpu backend (caller frees). */
static float*
output_in(const SwModel* const model, const SwWeightFormat format)
{
  enum { FRAMES = 4096 };
  SwEngineConfig config = sw_engine_config_default();
  config.max_block      = FRAMES;
  config.backend        = SW_BACKEND_CPU;
  config.weights        = format;
  SwEngine* const engine = unit_engine_new(model, &config);
  float* const in  = unit_floats(FRAMES);
  float* const out = unit_floats(FRAMES);
  unit_fill_audio(in, FRAMES, 3);
  const float* const ins[1]  = {in};
  float* const       outs[1] = {out};
  if (sw_engine_process(engine, ins, outs, FRAMES)) {
    unit_abort("sw_engine_process failed");
  }
  free(in);
  sw_engine_free(engine);
  return out;
}

static SwModel*
lstm(const uint32_t units)
{
  SwLayerSpec layers[2] = {sw_layer_spec(SW_LAYER_LSTM, units),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  const SwModelSpec spec = unit_spec(1, 2, layers);
  return unit_build(&spec, 5);
}

/* Whether this is an AMD family 19h CPU with AVX-512 (Zen 4). */
static bool
zen4(void)
{
#if defined(__x86_64__)
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  char         vendor[13] = {0};
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) {
    return false;
  }
  memcpy(vendor, &ebx, 4);
  memcpy(vendor + 4, &edx, 4);
  memcpy(vendor + 8, &ecx, 4);
  if (strcmp(vendor, "AuthenticAMD") || !__get_cpuid(1, &eax, &ebx, &ecx,
                                                      &edx)) {
    return false;
  }
  const unsigned int family = ((eax >> 8) & 0xFU) + ((eax >> 20) & 0xFFU);
  __builtin_cpu_init();
  return family == 0x19U && __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

int
main(void)
{
  unsetenv("STATEWAVE_CPU_KERNELS");
  SwModel* const small = lstm(40);  /* 26 KB of weights */
  SwModel* const large = lstm(128); /* 266 KB */

  EXPECT(!strcmp(kernels_of(small, 1, SW_BACKEND_CPU_REF), "scalar"),
         "cpu-ref runs '%s'", kernels_of(small, 1, SW_BACKEND_CPU_REF));

  char one[32], best[32];
  snprintf(one, sizeof(one), "%s", kernels_of(small, 1, SW_BACKEND_CPU));
  snprintf(best, sizeof(best), "%s", kernels_of(large, 8, SW_BACKEND_CPU));
  printf("# one stream of LSTM-40: %s; 8 of LSTM-128: %s\n", one, best);
  EXPECT(strcmp(one, "(null)") && strcmp(one, "cpu-ref"),
         "LSTM-40 on cpu runs '%s'", one);

  if (zen4()) {
    printf("# AMD family 19h with AVX-512: 512-bit vectors split in two\n");
    EXPECT(!strcmp(one, "avx512vl"), "one stream of LSTM-40: %s", one);
    EXPECT(!strcmp(kernels_of(small, 2, SW_BACKEND_CPU), "avx512vl"),
           "two streams of LSTM-40: %s", kernels_of(small, 2, SW_BACKEND_CPU));
    EXPECT(!strcmp(kernels_of(large, 1, SW_BACKEND_CPU), "avx512vl"),
           "one stream of LSTM-128: %s", kernels_of(large, 1, SW_BACKEND_CPU));
    EXPECT(!strcmp(kernels_of(large, 2, SW_BACKEND_CPU), "avx512"),
           "two streams of LSTM-128: %s",
           kernels_of(large, 2, SW_BACKEND_CPU));
    EXPECT(!strcmp(best, "avx512"), "8 streams of LSTM-128: %s", best);
    EXPECT(!strcmp(kernels_of(small, 8, SW_BACKEND_CPU), "avx512"),
           "8 streams of LSTM-40: %s", kernels_of(small, 8, SW_BACKEND_CPU));
    const char* k = kernels_in(large, 1, SW_BACKEND_CPU, SW_WEIGHTS_BF16);
    EXPECT(!strcmp(k, "avx512-bf16"), "one stream of LSTM-128, bf16: %s", k);
    k = kernels_in(small, 1, SW_BACKEND_CPU, SW_WEIGHTS_BF16);
    EXPECT(!strcmp(k, "avx512vl-bf16"), "one stream of LSTM-40, bf16: %s", k);
    k = kernels_in(large, 1, SW_BACKEND_CPU, SW_WEIGHTS_FP16);
    EXPECT(!strcmp(k, "avx512vl-fp16"), "one stream of LSTM-128, fp16: %s", k);
    /* The remade plan runs as an engine made for avx512 from the start. */
    float* const chosen = output_in(large, SW_WEIGHTS_BF16);
    setenv("STATEWAVE_CPU_KERNELS", "avx512", 1);
    float* const forced = output_in(large, SW_WEIGHTS_BF16);
    unsetenv("STATEWAVE_CPU_KERNELS");
    unit_expect_identical(forced, chosen, 4096,
                          "LSTM-128 in bf16: chosen avx512 vs forced");
    free(chosen);
    free(forced);
    setenv("STATEWAVE_CPU_KERNELS", "avx512", 1);
    EXPECT(!strcmp(kernels_of(small, 1, SW_BACKEND_CPU), "avx512"),
           "avx512 forced, one stream of LSTM-40: %s",
           kernels_of(small, 1, SW_BACKEND_CPU));
    unsetenv("STATEWAVE_CPU_KERNELS");
  } else {
    printf("# not a CPU that splits 512-bit vectors: one set for all\n");
    EXPECT(!strcmp(one, best), "LSTM-40 runs %s, 8 streams of LSTM-128 %s",
           one, best);
    EXPECT(!strcmp(kernels_of(small, 2, SW_BACKEND_CPU), best),
           "two streams of LSTM-40: %s", kernels_of(small, 2, SW_BACKEND_CPU));
    char bf16[40];
    snprintf(bf16, sizeof(bf16), "%s-bf16", best);
    const char* k = kernels_in(large, 1, SW_BACKEND_CPU, SW_WEIGHTS_BF16);
    EXPECT(!strcmp(k, bf16), "one stream of LSTM-128, bf16: %s", k);
  }

#if defined(__x86_64__)
  /* SSE2 is on every x86-64 CPU; a forced set holds for every engine. */
  setenv("STATEWAVE_CPU_KERNELS", "sse2", 1);
  EXPECT(!strcmp(kernels_of(small, 1, SW_BACKEND_CPU), "sse2"),
         "sse2 forced, one stream: %s", kernels_of(small, 1, SW_BACKEND_CPU));
  EXPECT(!strcmp(kernels_of(large, 8, SW_BACKEND_CPU), "sse2"),
         "sse2 forced, 8 streams: %s", kernels_of(large, 8, SW_BACKEND_CPU));
  unsetenv("STATEWAVE_CPU_KERNELS");
#endif

  sw_model_free(small);
  sw_model_free(large);
  return unit_finish("kernel_choice");
}
