/* The fused kernel's phases, run on the host, against the scalar reference CPU backend (cpu-ref):
   every model of the catalogue, several stream counts, emulated thread
   counts (so every strided loop wraps) and block splits, with non-finite
   inputs, a state that overflows, and resets. Bit-identical results are
   required: both sides are the same C arithmetic in the same order. */

#include "backend.h"
#include "cuda_models.h"
#include "fused_host.h"
#include "model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOTAL_FRAMES 300U

static int failures = 0;

static void
check_identical(const float* const expected, const float* const actual,
                const size_t count, const char* const what,
                const char* const model, const uint32_t streams,
                const uint32_t threads)
{
  for (size_t i = 0; i < count; ++i) {
    if (memcmp(&expected[i], &actual[i], sizeof(float)) != 0) {
      fprintf(stderr,
              "FAIL %s (%u streams, %u threads): %s differs at %zu: cpu %.9g, "
              "fused %.9g\n",
              model, streams, threads, what, i, (double)expected[i],
              (double)actual[i]);
      ++failures;
      return;
    }
  }
}

static void
run_case(const SwModel* const model, const char* const name,
         const uint32_t streams, const uint32_t threads)
{
  static const uint32_t blocks[] = { 1, 7, 64, 3, 100, 125 };
  const uint32_t        I        = model->input_width;
  const uint32_t        O        = model->output_width;

  float* const in  = (float*)calloc((size_t)streams * TOTAL_FRAMES * I, 4U);
  float* const cpu_out = (float*)calloc((size_t)streams * TOTAL_FRAMES * O, 4U);
  float* const gpu_out = (float*)calloc((size_t)streams * TOTAL_FRAMES * O, 4U);
  float* const block_in  = (float*)calloc((size_t)streams * 128U * I, 4U);
  float* const block_out = (float*)calloc((size_t)streams * 128U * O, 4U);
  if (!in || !cpu_out || !gpu_out || !block_in || !block_out) {
    exit(1);
  }
  cuda_fill_input(in, streams, TOTAL_FRAMES, I, 42U + streams);
  /* Non-finite inputs reset their stream at that frame. */
  in[((size_t)(streams - 1U) * TOTAL_FRAMES + 50U) * I] = NAN;
  in[(size_t)123U * I]                                   = INFINITY;

  void*   cpu = NULL;
  SwError err;
  if (sw_cpu_ref_backend.create(model, streams, 128U, &cpu, &err)) {
    fprintf(stderr, "cpu backend: %s\n", err.message);
    exit(1);
  }
  FusedHost host;
  fused_host_init(&host, model, streams);

  uint64_t cpu_resets = 0;
  uint64_t gpu_resets = 0;
  uint32_t done       = 0;
  for (size_t b = 0; done < TOTAL_FRAMES; ++b) {
    uint32_t n = blocks[b % (sizeof(blocks) / sizeof(blocks[0]))];
    n          = n < TOTAL_FRAMES - done ? n : TOTAL_FRAMES - done;
    for (uint32_t s = 0; s < streams; ++s) {
      memcpy(block_in + (size_t)s * n * I,
             in + ((size_t)s * TOTAL_FRAMES + done) * I, (size_t)n * I * 4U);
    }
    sw_cpu_ref_backend.process(cpu, block_in, block_out, n, &cpu_resets);
    for (uint32_t s = 0; s < streams; ++s) {
      memcpy(cpu_out + ((size_t)s * TOTAL_FRAMES + done) * O,
             block_out + (size_t)s * n * O, (size_t)n * O * 4U);
    }
    gpu_resets += fused_host_run(&host, block_in, block_out, n, threads);
    for (uint32_t s = 0; s < streams; ++s) {
      memcpy(gpu_out + ((size_t)s * TOTAL_FRAMES + done) * O,
             block_out + (size_t)s * n * O, (size_t)n * O * 4U);
    }
    done += n;
    if (b == 4U) { /* a reset between blocks, as sw_engine_reset does */
      sw_cpu_ref_backend.reset(cpu, 0);
      fused_host_reset(&host, 0);
    }
  }

  check_identical(cpu_out, gpu_out, (size_t)streams * TOTAL_FRAMES * O,
                  "outputs", name, streams, threads);
  if (cpu_resets != gpu_resets) {
    fprintf(stderr, "FAIL %s: %llu non-finite resets on the cpu, %llu fused\n",
            name, (unsigned long long)cpu_resets,
            (unsigned long long)gpu_resets);
    ++failures;
  }
  float* const state = (float*)calloc(model->state_size + 1U, 4U);
  for (uint32_t s = 0; s < streams && state; ++s) {
    for (uint32_t l = 0; l < model->num_layers; ++l) {
      const size_t size = model->layers[l].state_size;
      sw_cpu_ref_backend.get_state(cpu, s, l, state);
      check_identical(state,
                      host.state + (size_t)s * host.plan.state_size +
                        host.plan.layers[l].state,
                      size, "final state", name, streams, threads);
    }
  }
  free(state);
  fused_host_free(&host);
  sw_cpu_ref_backend.destroy(cpu);
  free(in);
  free(cpu_out);
  free(gpu_out);
  free(block_in);
  free(block_out);
}

/* A SimpleRNN (relu) whose recurrent weights grow its state to Inf within
   a few hundred frames of finite input: the state check must catch it at
   the same frame on both sides. */
static SwModel*
overflowing_model(void)
{
  enum { U = 4 };
  float recurrent[U * U];
  for (int i = 0; i < U * U; ++i) {
    recurrent[i] = 1.5f;
  }
  SwLayerSpec layers[2] = { sw_layer_spec(SW_LAYER_SIMPLE_RNN, U),
                            sw_layer_spec(SW_LAYER_DENSE, 1) };
  layers[0].activation       = SW_ACT_RELU;
  layers[0].recurrent_kernel = recurrent;
  SwModelSpec spec = { 0 };
  spec.input_width = 1;
  spec.num_layers  = 2;
  spec.layers      = layers;
  SwError        err;
  SwModel* const model = sw_model_build(&spec, 11, &err);
  if (!model) {
    fprintf(stderr, "overflowing model: %s\n", err.message);
    exit(1);
  }
  return model;
}

int
main(void)
{
  static const uint32_t stream_counts[] = { 1, 3 };
  static const uint32_t thread_counts[] = { 1, 5, 32 };

  CudaTestModel* models = NULL;
  const size_t   count  = cuda_models_build(&models);
  for (size_t m = 0; m < count; ++m) {
    for (size_t s = 0; s < 2; ++s) {
      for (size_t t = 0; t < 3; ++t) {
        run_case(models[m].model, models[m].name, stream_counts[s],
                 thread_counts[t]);
      }
    }
  }
  cuda_models_free(models, count);

  SwModel* const overflow = overflowing_model();
  run_case(overflow, "rnn4 relu overflowing", 2, 3);
  sw_model_free(overflow);

  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("fused kernel phases on the host: %zu models x 2 stream counts x 3 "
         "thread counts, bit-identical to the cpu backend\n",
         count + 1U);
  return 0;
}
