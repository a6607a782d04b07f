#include "cuda_models.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static SwModel*
build_with_skip(const uint32_t input_width, const uint32_t count,
                const SwLayerSpec* const layers, const uint64_t seed,
                const bool skip)
{
  SwModelSpec spec = { 0 };
  spec.skip        = skip;
  spec.input_width = input_width;
  spec.num_layers  = count;
  spec.layers      = layers;
  SwError        err;
  SwModel* const model = sw_model_build(&spec, seed, &err);
  if (!model) {
    fprintf(stderr, "building a test model: %s\n", err.message);
    exit(1);
  }
  return model;
}

static SwModel*
build(const uint32_t input_width, const uint32_t count,
      const SwLayerSpec* const layers, const uint64_t seed)
{
  return build_with_skip(input_width, count, layers, seed, false);
}

static SwLayerSpec
gru(const uint32_t units, const SwGruReset reset)
{
  SwLayerSpec spec = sw_layer_spec(SW_LAYER_GRU, units);
  spec.gru_reset   = reset;
  return spec;
}

static SwLayerSpec
with_activation(SwLayerSpec spec, const SwActivation act)
{
  spec.activation = act;
  return spec;
}

static SwLayerSpec
conv(const uint32_t units, const uint32_t taps, const uint32_t dilation)
{
  SwLayerSpec spec = sw_layer_spec(SW_LAYER_CONV1D, units);
  spec.kernel_size = taps;
  spec.dilation    = dilation;
  return spec;
}

SwModel*
cuda_model_stack(const SwLayerType type, const uint32_t units,
                 const uint32_t layers, const uint32_t input_width,
                 const uint64_t seed)
{
  SwLayerSpec specs[8];
  for (uint32_t l = 0; l < layers && l < 7U; ++l) {
    specs[l] = type == SW_LAYER_GRU ? gru(units, SW_GRU_RESET_AFTER)
                                    : sw_layer_spec(type, units);
  }
  const uint32_t n = layers < 7U ? layers : 7U;
  specs[n]         = sw_layer_spec(SW_LAYER_DENSE, 1);
  return build(input_width, n + 1U, specs, seed);
}

size_t
cuda_models_build(CudaTestModel** const out)
{
  enum { COUNT = 10 };
  CudaTestModel* const m = (CudaTestModel*)calloc(COUNT, sizeof(*m));
  if (!m) {
    exit(1);
  }
  size_t n = 0;

  m[n++] = (CudaTestModel){ "lstm8", cuda_model_stack(SW_LAYER_LSTM, 8, 1, 1, 1),
                            true };
  m[n++] = (CudaTestModel){ "gru16x2 3 inputs",
                            cuda_model_stack(SW_LAYER_GRU, 16, 2, 3, 2), true };
  m[n++] = (CudaTestModel){ "rnn10x3 tanh",
                            cuda_model_stack(SW_LAYER_SIMPLE_RNN, 10, 3, 1, 3),
                            true };
  {
    SwLayerSpec s[3] = { gru(12, SW_GRU_RESET_BEFORE),
                         sw_layer_spec(SW_LAYER_DENSE, 2) };
    s[0].recurrent_activation = SW_ACT_HARD_SIGMOID;
    s[1].activation           = SW_ACT_TANH;
    m[n++] = (CudaTestModel){ "gru12 reset-before hard_sigmoid",
                              build(2, 2, s, 4), false };
  }
  {
    const SwLayerSpec s[5] = {
      sw_layer_spec(SW_LAYER_LSTM, 8),
      gru(12, SW_GRU_RESET_AFTER),
      with_activation(sw_layer_spec(SW_LAYER_SIMPLE_RNN, 6), SW_ACT_RELU),
      with_activation(sw_layer_spec(SW_LAYER_DENSE, 4), SW_ACT_ELU),
      sw_layer_spec(SW_LAYER_DENSE, 1),
    };
    m[n++] = (CudaTestModel){ "lstm8 gru12 rnn6-relu dense4-elu dense1",
                              build(1, 5, s, 5), true };
  }
  {
    const SwLayerSpec s[3] = { conv(4, 3, 2), sw_layer_spec(SW_LAYER_LSTM, 8),
                               sw_layer_spec(SW_LAYER_DENSE, 1) };
    m[n++] = (CudaTestModel){ "conv1d k3 d2 lstm8", build(1, 3, s, 6), false };
  }
  {
    const SwLayerSpec s[4] = {
      conv(3, 1, 1), with_activation(sw_layer_spec(SW_LAYER_DENSE, 5),
                                     SW_ACT_SOFTSIGN),
      gru(7, SW_GRU_RESET_AFTER), sw_layer_spec(SW_LAYER_DENSE, 1) };
    m[n++] = (CudaTestModel){ "conv1d k1 dense5 gru7", build(2, 4, s, 7),
                              false };
  }
  {
    float h0[6];
    float c0[6];
    for (int i = 0; i < 6; ++i) {
      h0[i] = 0.1f * (float)(i - 3);
      c0[i] = -0.05f * (float)i;
    }
    SwLayerSpec s[2] = { sw_layer_spec(SW_LAYER_LSTM, 6),
                         sw_layer_spec(SW_LAYER_DENSE, 1) };
    s[0].initial_h = h0;
    s[0].initial_c = c0;
    m[n++] = (CudaTestModel){ "lstm6 learned h0 c0", build(1, 2, s, 8), true };
  }
  {
    SwLayerSpec s[2] = { sw_layer_spec(SW_LAYER_LSTM, 5),
                         sw_layer_spec(SW_LAYER_DENSE, 1) };
    s[0].recurrent_activation = SW_ACT_HARD_SIGMOID_K3;
    s[0].activation           = SW_ACT_SOFTSIGN;
    m[n++] = (CudaTestModel){ "lstm5 hard_sigmoid(k3) softsign",
                              build(1, 2, s, 9), false };
  }
  {
    const SwLayerSpec s[2] = { sw_layer_spec(SW_LAYER_LSTM, 8),
                               sw_layer_spec(SW_LAYER_DENSE, 1) };
    m[n++] = (CudaTestModel){ "lstm8 skip", build_with_skip(1, 2, s, 10, true),
                              true };
  }
  *out = m;
  return n;
}

void
cuda_models_free(CudaTestModel* const models, const size_t count)
{
  for (size_t i = 0; i < count; ++i) {
    sw_model_free(models[i].model);
  }
  free(models);
}

void
cuda_fill_input(float* const in, const uint32_t streams, const uint32_t frames,
                const uint32_t input_width, const uint64_t seed)
{
  uint64_t state = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (uint32_t s = 0; s < streams; ++s) {
    for (uint32_t t = 0; t < frames; ++t) {
      float* const x = in + ((size_t)s * frames + t) * input_width;
      state          = state * 6364136223846793005ULL + 1442695040888963407ULL;
      const float noise = (float)(state >> 40) / 16777216.0f - 0.5f;
      const float phase = (float)t * (0.013f + 0.002f * (float)s);
      x[0] = 0.7f * sinf(phase) * (0.6f + 0.4f * sinf(0.001f * (float)t)) +
             0.2f * noise;
      for (uint32_t k = 1; k < input_width; ++k) {
        x[k] = 0.5f + 0.5f * sinf(0.0005f * (float)t + (float)k);
      }
    }
  }
}

SwEngine*
cuda_engine(const SwModel* const model, const SwBackendKind kind,
            const uint32_t streams, const uint32_t max_block,
            const SwStreamingMode streaming)
{
  SwEngineConfig config = sw_engine_config_default();
  config.backend        = kind;
  config.streams        = streams;
  config.max_block      = max_block;
  config.streaming      = streaming;
  SwError         err;
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  if (!engine) {
    fprintf(stderr, "engine: %s\n", err.message);
    exit(1);
  }
  return engine;
}

void
cuda_run_calls(SwEngine* const engine, const float* const in, float* const out,
               const uint32_t streams, const uint32_t frames,
               const uint32_t I, const uint32_t O,
               const uint32_t* const calls, const size_t num_calls)
{
  uint32_t longest = 1;
  for (size_t c = 0; c < num_calls; ++c) {
    longest = calls[c] > longest ? calls[c] : longest;
  }
  float* const call_in  = (float*)calloc((size_t)streams * longest * I, 4U);
  float* const call_out = (float*)calloc((size_t)streams * longest * O, 4U);
  if (!call_in || !call_out) {
    exit(1);
  }
  uint32_t done = 0;
  for (size_t c = 0; done < frames; ++c) {
    uint32_t n = calls[c % num_calls];
    n          = n < frames - done ? n : frames - done;
    for (uint32_t s = 0; s < streams; ++s) {
      memcpy(call_in + (size_t)s * n * I,
             in + ((size_t)s * frames + done) * I, (size_t)n * I * 4U);
    }
    sw_engine_process_frames(engine, call_in, call_out, n);
    for (uint32_t s = 0; s < streams; ++s) {
      memcpy(out + ((size_t)s * frames + done) * O,
             call_out + (size_t)s * n * O, (size_t)n * O * 4U);
    }
    done += n;
  }
  free(call_in);
  free(call_out);
}
