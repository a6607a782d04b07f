/* The GPU backends (cudnn, fused) against the CPU reference on a real
   device: the catalogue models, a size matrix (LSTM/GRU/SimpleRNN, 1-3
   layers, hidden 8-512, 1-256 streams, blocks 1-1024), 100 000 free-running
   steps, non-finite inputs, reset and state round trips, pipelined
   streaming, and a simulated device failure mid-stream. Every output is
   held to 1e-4 absolute. Exits 77 (skipped) where no GPU answers. */

#include "cuda_models.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOLERANCE 1e-4

static int failures = 0;

static void
fail(const char* const what, const double value)
{
  fprintf(stderr, "FAIL %s (%g)\n", what, value);
  ++failures;
}

static double
max_difference(const float* const a, const float* const b, const size_t n)
{
  double worst = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = fabs((double)a[i] - (double)b[i]);
    worst          = d > worst || isnan(d) ? d : worst;
  }
  return worst;
}

/* Calls of `block` frames each. */
static void
run(SwEngine* const engine, const float* const in, float* const out,
    const uint32_t streams, const uint32_t frames, const uint32_t block,
    const uint32_t I, const uint32_t O)
{
  cuda_run_calls(engine, in, out, streams, frames, I, O, &block, 1);
}

/* The model on `kind` and on the CPU over the same input; the largest
   output difference, or -1 when the engine did not run on `kind`. */
static double
compare(const SwModel* const model, const SwBackendKind kind,
        const uint32_t streams, const uint32_t frames, const uint32_t block,
        const SwStreamingMode streaming, const bool with_nonfinite)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  const uint32_t I   = info.input_width;
  const uint32_t O   = info.output_width;
  float* const   in  = (float*)calloc((size_t)streams * frames * I, 4U);
  float* const   ref = (float*)calloc((size_t)streams * frames * O, 4U);
  float* const   out = (float*)calloc((size_t)streams * frames * O, 4U);
  cuda_fill_input(in, streams, frames, I, streams * 31U + frames);
  if (with_nonfinite && frames > 40U) {
    in[(size_t)17U * I]                                      = NAN;
    in[((size_t)(streams - 1U) * frames + frames / 2U) * I] = -INFINITY;
  }
  SwEngine* const cpu = cuda_engine(model, SW_BACKEND_CPU_REF, streams, block,
                                  streaming);
  SwEngine* const gpu = cuda_engine(model, kind, streams, block, streaming);
  double          worst = -1.0;
  if (strcmp(sw_engine_backend_name(gpu), "cpu") != 0) {
    run(cpu, in, ref, streams, frames, block, I, O);
    run(gpu, in, out, streams, frames, block, I, O);
    worst = max_difference(ref, out, (size_t)streams * frames * O);
    if (sw_engine_nonfinite_resets(cpu) != sw_engine_nonfinite_resets(gpu)) {
      fail("non-finite reset counts differ",
           (double)sw_engine_nonfinite_resets(gpu));
    }
  }
  sw_engine_free(cpu);
  sw_engine_free(gpu);
  free(in);
  free(ref);
  free(out);
  return worst;
}

static void
check(const char* const backend, const char* const what, const double worst)
{
  char label[256];
  snprintf(label, sizeof(label), "%s: %s differs from the cpu", backend, what);
  if (worst < 0.0) {
    snprintf(label, sizeof(label), "%s: %s did not run on the GPU", backend,
             what);
    fail(label, worst);
  } else if (!(worst <= TOLERANCE)) {
    fail(label, worst);
  } else {
    printf("%-6s %-58s max |diff| %.3g\n", backend, what, worst);
  }
}

static void
state_round_trip(const SwModel* const model, const SwBackendKind kind,
                 const char* const name)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  const uint32_t streams = 3;
  SwEngine* const cpu = cuda_engine(model, SW_BACKEND_CPU_REF, streams, 64,
                                  SW_STREAMING_SYNC);
  SwEngine* const gpu = cuda_engine(model, kind, streams, 64, SW_STREAMING_SYNC);
  const uint32_t frames = 200;
  float* const in  = (float*)calloc((size_t)streams * frames * info.input_width, 4U);
  float* const ref = (float*)calloc((size_t)streams * frames * info.output_width, 4U);
  float* const out = (float*)calloc((size_t)streams * frames * info.output_width, 4U);
  cuda_fill_input(in, streams, frames, info.input_width, 99);
  run(cpu, in, ref, streams, frames, 64, info.input_width, info.output_width);
  run(gpu, in, out, streams, frames, 64, info.input_width, info.output_width);

  /* get_state agrees; a state set on both, and a reset, carry on alike. */
  /* The first layer that keeps state (a K=1 Conv1D keeps none). */
  SwLayerInfo layer;
  uint32_t    index = 0;
  for (; index < info.num_layers; ++index) {
    sw_model_layer(model, index, &layer);
    if (layer.state_size) {
      break;
    }
  }
  const size_t n       = (size_t)streams * layer.state_size;
  float* const a       = (float*)calloc(n, 4U);
  float* const b       = (float*)calloc(n, 4U);
  SwError      err;
  sw_engine_get_state(cpu, -1, index, a, n, &err);
  sw_engine_get_state(gpu, -1, index, b, n, &err);
  char what[160];
  snprintf(what, sizeof(what), "%s get_state after 200 frames", name);
  check(sw_engine_backend_name(gpu), what, max_difference(a, b, n));
  for (size_t i = 0; i < n; ++i) {
    a[i] = 0.3f * sinf((float)i);
  }
  sw_engine_set_state(cpu, -1, index, a, n, &err);
  sw_engine_set_state(gpu, -1, index, a, n, &err);
  sw_engine_reset(cpu, 1);
  sw_engine_reset(gpu, 1);
  run(cpu, in, ref, streams, frames, 64, info.input_width, info.output_width);
  run(gpu, in, out, streams, frames, 64, info.input_width, info.output_width);
  snprintf(what, sizeof(what), "%s after set_state and reset", name);
  check(sw_engine_backend_name(gpu), what,
        max_difference(ref, out, (size_t)streams * frames * info.output_width));
  free(a);
  free(b);
  free(in);
  free(ref);
  free(out);
  sw_engine_free(cpu);
  sw_engine_free(gpu);
}

static void
simulated_failure(const SwModel* const model, const SwBackendKind kind)
{
  setenv("STATEWAVE_GPU_FAIL_AFTER", "3", 1);
  SwModelInfo info;
  sw_model_info(model, &info);
  const uint32_t  frames = 1000;
  SwEngine* const cpu = cuda_engine(model, SW_BACKEND_CPU_REF, 2, 64, SW_STREAMING_SYNC);
  SwEngine* const gpu = cuda_engine(model, kind, 2, 64, SW_STREAMING_SYNC);
  unsetenv("STATEWAVE_GPU_FAIL_AFTER");
  SwBackendInfo backend;
  sw_backend_info(kind, &backend);
  const char* const name = backend.name;
  float* const in  = (float*)calloc((size_t)2 * frames * info.input_width, 4U);
  float* const ref = (float*)calloc((size_t)2 * frames * info.output_width, 4U);
  float* const out = (float*)calloc((size_t)2 * frames * info.output_width, 4U);
  cuda_fill_input(in, 2, frames, info.input_width, 5);
  run(cpu, in, ref, 2, frames, 64, info.input_width, info.output_width);
  run(gpu, in, out, 2, frames, 64, info.input_width, info.output_width);
  const char* const note = sw_engine_backend_note(gpu);
  if (strcmp(sw_engine_backend_name(gpu), "cpu") != 0 ||
      sw_engine_fallback_count(gpu) != 1 || !note ||
      !strstr(note, "simulated device failure")) {
    fprintf(stderr, "FAIL %s: no fallback after the simulated failure (%s)\n",
            name, note ? note : "no note");
    ++failures;
  }
  check(name, "outputs across a simulated device failure",
        max_difference(ref, out, (size_t)2 * frames * info.output_width));
  free(in);
  free(ref);
  free(out);
  sw_engine_free(cpu);
  sw_engine_free(gpu);
}

int
main(void)
{
  static const SwBackendKind kinds[] = { SW_BACKEND_FUSED, SW_BACKEND_CUDNN };
  bool                       any     = false;
  for (size_t k = 0; k < 2; ++k) {
    SwBackendInfo info;
    sw_backend_info(kinds[k], &info);
    printf("%s: %s%s\n", info.name, info.usable ? "usable, " : "not usable: ",
           info.detail);
    any = any || info.usable;
  }
  if (!any) {
    printf("SKIP: no GPU backend is usable here\n");
    return 77;
  }

  CudaTestModel* models = NULL;
  const size_t   count  = cuda_models_build(&models);
  for (size_t k = 0; k < 2; ++k) {
    SwBackendInfo info;
    sw_backend_info(kinds[k], &info);
    if (!info.usable) {
      continue;
    }
    const bool cudnn = kinds[k] == SW_BACKEND_CUDNN;
    for (size_t m = 0; m < count; ++m) {
      if (cudnn && !models[m].cudnn_can_run) {
        continue; /* refused: runs on the CPU, which test_fallback covers */
      }
      char what[160];
      snprintf(what, sizeof(what), "%s, 3 streams, blocks of 37",
               models[m].name);
      check(info.name, what,
            compare(models[m].model, kinds[k], 3, 600, 37, SW_STREAMING_SYNC,
                    true));
      snprintf(what, sizeof(what), "%s, pipelined, blocks of 64",
               models[m].name);
      check(info.name, what,
            compare(models[m].model, kinds[k], 2, 600, 64,
                    SW_STREAMING_PIPELINED, false));
      state_round_trip(models[m].model, kinds[k], models[m].name);
    }

    static const SwLayerType types[]  = { SW_LAYER_LSTM, SW_LAYER_GRU,
                                          SW_LAYER_SIMPLE_RNN };
    static const uint32_t    units[]  = { 8, 64, 512 };
    static const uint32_t    layers[] = { 1, 3 };
    static const uint32_t    shapes[][3] = {
      /* streams, frames, block */
      { 1, 2048, 1 }, { 1, 4096, 1024 }, { 16, 1024, 128 }, { 256, 512, 256 },
    };
    for (size_t t = 0; t < 3; ++t) {
      for (size_t u = 0; u < 3; ++u) {
        for (size_t l = 0; l < 2; ++l) {
          SwModel* const model =
            cuda_model_stack(types[t], units[u], layers[l], 1, 1000U + u);
          for (size_t s = 0; s < 4; ++s) {
            char what[160];
            snprintf(what, sizeof(what), "%s %u x %u, %u streams, blocks of %u",
                     types[t] == SW_LAYER_LSTM  ? "lstm"
                     : types[t] == SW_LAYER_GRU ? "gru"
                                                : "rnn",
                     units[u], layers[l], shapes[s][0], shapes[s][2]);
            check(info.name, what,
                  compare(model, kinds[k], shapes[s][0], shapes[s][1],
                          shapes[s][2], SW_STREAMING_SYNC, false));
          }
          sw_model_free(model);
        }
      }
    }

    SwModel* const lstm40 = cuda_model_stack(SW_LAYER_LSTM, 40, 1, 1, 40);
    check(info.name, "lstm40 mono, 100 000 free-running steps, blocks of 128",
          compare(lstm40, kinds[k], 1, 100000, 128, SW_STREAMING_SYNC, false));
    simulated_failure(lstm40, kinds[k]);
    sw_model_free(lstm40);
  }
  cuda_models_free(models, count);
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  return 0;
}
