/* The cudnn backend against the CPU backend. The models it must refuse are
   checked everywhere (that happens before any device call), and so is a
   clean failure where no device answers; the rest needs a GPU and exits
   77 (skip) without one: every runnable model of the catalogue plus a few
   shapes of its own, several stream counts, block splits and submit/collect
   halves, non-finite inputs, a state that overflows, resets, get/set_state
   and the simulated device failure. */

#include "backend.h"
#include "cuda/gpu_device.h"
#include "cuda_models.h"
#include "model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOTAL_FRAMES 300U
#define MAX_BLOCK 128U
/* FP32 with FMA in cuDNN's own summation order: close to the CPU, not
   bit-identical. */
#define TOLERANCE 2e-4f

static int failures = 0;

static void*
checked_calloc(const size_t count, const size_t size)
{
  void* const p = calloc(count ? count : 1U, size);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  return p;
}

static SwModel*
build(const uint32_t input_width, const uint32_t count,
      const SwLayerSpec* const layers, const uint32_t window,
      const uint64_t seed)
{
  SwModelSpec spec = { 0 };
  spec.input_width = input_width;
  spec.num_layers  = count;
  spec.layers      = layers;
  spec.window      = window;
  SwError        err;
  SwModel* const model = sw_model_build(&spec, seed, &err);
  if (!model) {
    fprintf(stderr, "building a test model: %s\n", err.message);
    exit(1);
  }
  return model;
}

static SwLayerSpec
relu_rnn(const uint32_t units)
{
  SwLayerSpec spec = sw_layer_spec(SW_LAYER_SIMPLE_RNN, units);
  spec.activation  = SW_ACT_RELU;
  return spec;
}

/* A relu SimpleRNN whose state grows to Inf within a few hundred frames of
   finite input: the backend must see it at the frame the CPU does. */
static SwModel*
overflowing_model(void)
{
  enum { U = 4 };
  float recurrent[U * U];
  for (int i = 0; i < U * U; ++i) {
    recurrent[i] = 1.5f;
  }
  SwLayerSpec layers[2] = { relu_rnn(U), sw_layer_spec(SW_LAYER_DENSE, 1) };
  layers[0].recurrent_kernel = recurrent;
  return build(1, 2, layers, 0, 11);
}

static void
expect_refusal(const SwModel* const model, const uint32_t max_block,
               const char* const name, const char* const words)
{
  void*          context = NULL;
  SwError        err     = { 0 };
  const SwStatus st =
    sw_cudnn_backend.create(model, 2, max_block, &context, &err);
  if (st != SW_ERR_UNSUPPORTED || !strstr(err.message, words)) {
    fprintf(stderr,
            "FAIL %s: create gave status %d \"%s\"; expected unsupported "
            "naming \"%s\"\n",
            name, (int)st, err.message, words);
    ++failures;
  }
  if (!st) {
    sw_cudnn_backend.destroy(context);
  }
}

static void
check_refusals(void)
{
  CudaTestModel* models = NULL;
  const size_t   count  = cuda_models_build(&models);
  for (size_t m = 0; m < count; ++m) {
    if (!models[m].cudnn_can_run) {
      expect_refusal(models[m].model, MAX_BLOCK, models[m].name, "layer ");
    }
  }
  cuda_models_free(models, count);

  const SwLayerSpec windowed[2] = { sw_layer_spec(SW_LAYER_LSTM, 4),
                                    sw_layer_spec(SW_LAYER_DENSE, 1) };
  SwModel*          model       = build(1, 2, windowed, 16, 1);
  expect_refusal(model, MAX_BLOCK, "windowed lstm4", "windowed");
  sw_model_free(model);

  const SwLayerSpec dense_first[3] = { sw_layer_spec(SW_LAYER_DENSE, 3),
                                       sw_layer_spec(SW_LAYER_GRU, 4),
                                       sw_layer_spec(SW_LAYER_DENSE, 1) };
  model                            = build(1, 3, dense_first, 0, 2);
  expect_refusal(model, MAX_BLOCK, "dense3 gru4", "follows a Dense layer");
  sw_model_free(model);

  const SwLayerSpec dense_only[1] = { sw_layer_spec(SW_LAYER_DENSE, 2) };
  model                           = build(1, 1, dense_only, 0, 3);
  expect_refusal(model, MAX_BLOCK, "dense2", "no recurrent layer");
  sw_model_free(model);

  model = cuda_model_stack(SW_LAYER_LSTM, 4, 1, 1, 5);
  expect_refusal(model, 70000U, "lstm4 in blocks of 70000", "65535");
  sw_model_free(model);
}

static void
check_close(const float* const expected, const float* const actual,
            const size_t count, const char* const what, const char* const model,
            const uint32_t streams)
{
  for (size_t i = 0; i < count; ++i) {
    const float e = expected[i];
    const float a = actual[i];
    if (!(fabsf(e - a) <= TOLERANCE * (1.0f + fabsf(e)))) {
      fprintf(stderr,
              "FAIL %s (%u streams): %s differs at %zu: cpu %.9g, cudnn "
              "%.9g\n",
              model, streams, what, i, (double)e, (double)a);
      ++failures;
      return;
    }
  }
}

/* Every stream's state of every layer of both contexts. */
static void
check_states(const SwModel* const model, void* const cpu, void* const gpu,
             const uint32_t streams, const char* const name)
{
  float* const expected = (float*)checked_calloc(2U * SW_MAX_UNITS, 4U);
  float* const actual   = (float*)checked_calloc(2U * SW_MAX_UNITS, 4U);
  for (uint32_t s = 0; s < streams; ++s) {
    for (uint32_t l = 0; l < model->num_layers; ++l) {
      const size_t size = sw_layer_state_size(&model->layers[l]);
      sw_cpu_ref_backend.get_state(cpu, s, l, expected);
      sw_cudnn_backend.get_state(gpu, s, l, actual);
      check_close(expected, actual, size, "state", name, streams);
    }
  }
  free(expected);
  free(actual);
}

static bool
make(const SwModel* const model, const uint32_t streams, void** const cpu,
     void** const gpu, const char* const name)
{
  SwError err = { 0 };
  if (sw_cpu_ref_backend.create(model, streams, MAX_BLOCK, cpu, &err)) {
    fprintf(stderr, "cpu backend: %s\n", err.message);
    exit(1);
  }
  if (sw_cudnn_backend.create(model, streams, MAX_BLOCK, gpu, &err)) {
    fprintf(stderr, "FAIL %s (%u streams): cudnn create: %s\n", name, streams,
            err.message);
    ++failures;
    sw_cpu_ref_backend.destroy(*cpu);
    return false;
  }
  return true;
}

/* TOTAL_FRAMES through both backends in uneven blocks, alternating
   process() with submit()/collect(), a reset between two blocks, and
   non-finite inputs. */
static void
run_case(const SwModel* const model, const char* const name,
         const uint32_t streams)
{
  static const uint32_t blocks[] = { 1, 7, 64, 3, 100, 125 };
  const uint32_t        I        = model->input_width;
  const uint32_t        O        = model->output_width;
  void*                 cpu      = NULL;
  void*                 gpu      = NULL;
  if (!make(model, streams, &cpu, &gpu, name)) {
    return;
  }

  float* const in =
    (float*)checked_calloc((size_t)streams * TOTAL_FRAMES * I, 4U);
  float* const block_in =
    (float*)checked_calloc((size_t)streams * MAX_BLOCK * I, 4U);
  float* const cpu_out =
    (float*)checked_calloc((size_t)streams * MAX_BLOCK * O, 4U);
  float* const gpu_out =
    (float*)checked_calloc((size_t)streams * MAX_BLOCK * O, 4U);
  cuda_fill_input(in, streams, TOTAL_FRAMES, I, 42U + streams);
  in[((size_t)(streams - 1U) * TOTAL_FRAMES + 50U) * I] = NAN;
  in[(size_t)123U * I]                                  = INFINITY;

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
    sw_cpu_ref_backend.process(cpu, block_in, cpu_out, n, &cpu_resets);
    SwStatus st = SW_SUCCESS;
    if (b % 2U) {
      st = sw_cudnn_backend.submit(gpu, block_in, n);
      /* The input is copied before submit returns. */
      memset(block_in, 0xff, (size_t)streams * n * I * 4U);
      st = st ? st : sw_cudnn_backend.collect(gpu, gpu_out, &gpu_resets);
    } else {
      st = sw_cudnn_backend.process(gpu, block_in, gpu_out, n, &gpu_resets);
    }
    if (st) {
      const char* const why = sw_cudnn_backend.failure(gpu);
      fprintf(stderr, "FAIL %s (%u streams): block %zu: status %d (%s)\n", name,
              streams, b, (int)st, why ? why : "no reason");
      ++failures;
      break;
    }
    check_close(cpu_out, gpu_out, (size_t)streams * n * O, "outputs", name,
                streams);
    done += n;
    if (b == 4U) {
      sw_cpu_ref_backend.reset(cpu, 0);
      sw_cudnn_backend.reset(gpu, 0);
    }
  }
  if (cpu_resets != gpu_resets) {
    fprintf(stderr,
            "FAIL %s (%u streams): %llu non-finite resets on the cpu, %llu "
            "on cudnn\n",
            name, streams, (unsigned long long)cpu_resets,
            (unsigned long long)gpu_resets);
    ++failures;
  }
  check_states(model, cpu, gpu, streams, name);

  sw_cudnn_backend.destroy(gpu);
  sw_cpu_ref_backend.destroy(cpu);
  free(in);
  free(block_in);
  free(cpu_out);
  free(gpu_out);
}

/* set_state carries a state in, reset returns to the model's initial
   state (learned h0/c0 included). */
static void
check_state_calls(const SwModel* const model, const char* const name)
{
  const uint32_t streams = 2;
  void*          cpu     = NULL;
  void*          gpu     = NULL;
  if (!make(model, streams, &cpu, &gpu, name)) {
    return;
  }
  const uint32_t I     = model->input_width;
  const uint32_t O     = model->output_width;
  float* const   in    = (float*)checked_calloc((size_t)streams * 40U * I, 4U);
  float* const cpu_out = (float*)checked_calloc((size_t)streams * 40U * O, 4U);
  float* const gpu_out = (float*)checked_calloc((size_t)streams * 40U * O, 4U);
  float* const state   = (float*)checked_calloc(2U * SW_MAX_UNITS, 4U);
  uint64_t     resets  = 0;
  cuda_fill_input(in, streams, 40U, I, 7U);

  /* A state the GPU never computed: the CPU's after 40 frames. */
  sw_cpu_ref_backend.process(cpu, in, cpu_out, 40U, &resets);
  for (uint32_t s = 0; s < streams; ++s) {
    for (uint32_t l = 0; l < model->num_layers; ++l) {
      sw_cpu_ref_backend.get_state(cpu, s, l, state);
      sw_cudnn_backend.set_state(gpu, s, l, state);
    }
  }
  check_states(model, cpu, gpu, streams, name);
  sw_cpu_ref_backend.process(cpu, in, cpu_out, 40U, &resets);
  if (sw_cudnn_backend.process(gpu, in, gpu_out, 40U, &resets)) {
    fprintf(stderr, "FAIL %s: process after set_state failed\n", name);
    ++failures;
  }
  check_close(cpu_out, gpu_out, (size_t)streams * 40U * O,
              "outputs after set_state", name, streams);

  sw_cpu_ref_backend.reset(cpu, 1);
  sw_cudnn_backend.reset(gpu, 1);
  check_states(model, cpu, gpu, streams, name);
  sw_cpu_ref_backend.process(cpu, in, cpu_out, 40U, &resets);
  sw_cudnn_backend.process(gpu, in, gpu_out, 40U, &resets);
  check_close(cpu_out, gpu_out, (size_t)streams * 40U * O,
              "outputs after reset", name, streams);

  sw_cudnn_backend.destroy(gpu);
  sw_cpu_ref_backend.destroy(cpu);
  free(in);
  free(cpu_out);
  free(gpu_out);
  free(state);
}

/* With STATEWAVE_GPU_FAIL_AFTER=2 the third block fails, says why, and
   leaves the state of the second. */
static void
check_simulated_failure(void)
{
  SwModel* const model = cuda_model_stack(SW_LAYER_LSTM, 6, 1, 1, 24);
  setenv("STATEWAVE_GPU_FAIL_AFTER", "2", 1);
  void*          gpu = NULL;
  SwError        err = { 0 };
  const SwStatus st  = sw_cudnn_backend.create(model, 1, 16, &gpu, &err);
  unsetenv("STATEWAVE_GPU_FAIL_AFTER");
  if (st) {
    fprintf(stderr, "FAIL simulated failure: create: %s\n", err.message);
    ++failures;
    sw_model_free(model);
    return;
  }
  float    in[16];
  float    out[16];
  float    before[2 * 6] = { 0 };
  float    after[2 * 6]  = { 0 };
  uint64_t resets        = 0;
  cuda_fill_input(in, 1, 16, 1, 3U);
  const bool first_ok = !sw_cudnn_backend.process(gpu, in, out, 16, &resets) &&
                        !sw_cudnn_backend.process(gpu, in, out, 16, &resets);
  sw_cudnn_backend.get_state(gpu, 0, 0, before);
  const SwStatus    third = sw_cudnn_backend.process(gpu, in, out, 16, &resets);
  const char* const why   = sw_cudnn_backend.failure(gpu);
  sw_cudnn_backend.get_state(gpu, 0, 0, after);
  if (!first_ok || third != SW_ERR_BACKEND || !why ||
      strcmp(why, SW_GPU_FAULT_MESSAGE) != 0 ||
      memcmp(before, after, sizeof(before)) != 0) {
    fprintf(stderr,
            "FAIL simulated failure: first blocks %s, third status %d (%s), "
            "state %s\n",
            first_ok ? "ran" : "failed", (int)third, why ? why : "no reason",
            memcmp(before, after, sizeof(before)) ? "changed" : "kept");
    ++failures;
  }
  sw_cudnn_backend.destroy(gpu);
  sw_model_free(model);
}

int
main(void)
{
  check_refusals();

  char detail[256];
  if (!sw_cudnn_backend.probe(detail, sizeof(detail))) {
    /* No device: creating fails cleanly, with a reason. */
    SwModel* const model   = cuda_model_stack(SW_LAYER_GRU, 8, 2, 1, 6);
    void*          context = NULL;
    SwError        err     = { 0 };
    const SwStatus st =
      sw_cudnn_backend.create(model, 2, MAX_BLOCK, &context, &err);
    if (st != SW_ERR_BACKEND || !err.message[0]) {
      fprintf(stderr,
              "FAIL without a device: create gave status %d \"%s\"; "
              "expected a backend error with a reason\n",
              (int)st, err.message);
      ++failures;
    }
    if (!st) {
      sw_cudnn_backend.destroy(context);
    }
    sw_model_free(model);
    if (failures) {
      fprintf(stderr, "%d failures\n", failures);
      return 1;
    }
    printf("skip: %s\n", detail);
    return 77;
  }
  printf("%s\n", detail);

  static const uint32_t stream_counts[] = { 1, 3, 8 };
  CudaTestModel*        models          = NULL;
  const size_t          count           = cuda_models_build(&models);
  for (size_t m = 0; m < count; ++m) {
    if (!models[m].cudnn_can_run) {
      continue;
    }
    for (size_t s = 0; s < 3; ++s) {
      run_case(models[m].model, models[m].name, stream_counts[s]);
    }
    check_state_calls(models[m].model, models[m].name);
  }
  cuda_models_free(models, count);

  /* Shapes of its own: no Dense head (the output is cuDNN's), relu layers
     split into groups, hidden sizes past SMALL_H's limit. */
  const SwLayerSpec no_head[2]    = { sw_layer_spec(SW_LAYER_LSTM, 6),
                                      sw_layer_spec(SW_LAYER_LSTM, 6) };
  const SwLayerSpec relu_stack[3] = { relu_rnn(5), relu_rnn(5),
                                      sw_layer_spec(SW_LAYER_GRU, 3) };
  const SwLayerSpec wide[2]       = { sw_layer_spec(SW_LAYER_GRU, 256),
                                      sw_layer_spec(SW_LAYER_DENSE, 2) };
  struct {
    const char* name;
    SwModel*    model;
  } own[] = {
    { "lstm6x2 no head", build(2, 2, no_head, 0, 21) },
    { "rnn5-relu x2 gru3 no head", build(1, 3, relu_stack, 0, 22) },
    { "gru256 dense2", build(1, 2, wide, 0, 23) },
    { "rnn4 relu overflowing", overflowing_model() },
  };
  for (size_t m = 0; m < sizeof(own) / sizeof(own[0]); ++m) {
    run_case(own[m].model, own[m].name, 2);
    run_case(own[m].model, own[m].name, 5);
  }
  check_simulated_failure();
  for (size_t m = 0; m < sizeof(own) / sizeof(own[0]); ++m) {
    sw_model_free(own[m].model);
  }

  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("cudnn backend matches the cpu backend within %g\n",
         (double)TOLERANCE);
  return 0;
}
