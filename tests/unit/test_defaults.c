/*
  The documented defaults: sw_engine_config_default (48 kHz, 1 stream,
  512 frames, auto backend, 20 ms), sw_layer_spec (Keras defaults, no
  weights), and what a fresh CPU engine reports about itself.
*/

#include "unit_support.h"

#include <string.h>

static void
check_config_default(void)
{
  const SwEngineConfig config = sw_engine_config_default();
  EXPECT(config.sample_rate == 48000.0, "sample_rate %g", config.sample_rate);
  EXPECT(config.streams == 1, "streams %u", (unsigned)config.streams);
  EXPECT(config.max_block == 512, "max_block %u", (unsigned)config.max_block);
  EXPECT(config.backend == SW_BACKEND_AUTO, "backend %d", (int)config.backend);
  EXPECT(config.knob_smoothing_ms == 20.0f, "knob_smoothing_ms %g",
         (double)config.knob_smoothing_ms);
}

static void
check_layer_spec(const SwLayerType type, const SwActivation activation,
                 const SwActivation recurrent_activation,
                 const char* const name)
{
  const SwLayerSpec spec = sw_layer_spec(type, 17);
  EXPECT(spec.type == type && spec.units == 17, "%s: type %d units %u", name,
         (int)spec.type, (unsigned)spec.units);
  EXPECT(spec.activation == SW_ACT_DEFAULT || spec.activation == activation,
         "%s: activation %d", name, (int)spec.activation);
  EXPECT(type == SW_LAYER_DENSE || type == SW_LAYER_SIMPLE_RNN ||
           spec.recurrent_activation == SW_ACT_DEFAULT ||
           spec.recurrent_activation == recurrent_activation,
         "%s: recurrent_activation %d", name,
         (int)spec.recurrent_activation);
  EXPECT(spec.use_bias, "%s: use_bias should default to true", name);
  EXPECT(spec.unit_forget_bias == (type == SW_LAYER_LSTM),
         "%s: unit_forget_bias %d", name, (int)spec.unit_forget_bias);
  EXPECT(spec.gru_reset == SW_GRU_RESET_AFTER, "%s: gru_reset %d", name,
         (int)spec.gru_reset);
  EXPECT(!spec.kernel && !spec.recurrent_kernel && !spec.bias &&
           !spec.recurrent_bias && !spec.initial_h && !spec.initial_c,
         "%s: a default spec must carry no weights", name);
}

static void
check_engine_facts(void)
{
  SwLayerSpec       layer = sw_layer_spec(SW_LAYER_LSTM, 4);
  const SwModelSpec spec  = unit_spec(1, 1, &layer);
  SwModel* const    model = unit_build(&spec, 1);
  SwEngine* const   cpu   = unit_engine(model, 2, 64, 0.0f);
  EXPECT(sw_engine_model(cpu) == model, "sw_engine_model is not the model");
  const char* const name = sw_engine_backend_name(cpu);
  EXPECT(name && !strcmp(name, "cpu"), "backend name \"%s\", expected cpu",
         name ? name : "(null)");
  EXPECT(sw_engine_latency(cpu) == 0, "CPU latency %u, expected 0",
         (unsigned)sw_engine_latency(cpu));
  EXPECT(sw_engine_nonfinite_resets(cpu) == 0, "fresh engine counts resets");
  sw_engine_free(cpu);

  /* Auto picks something that works; without a GPU build that is the CPU. */
  SwEngineConfig config = sw_engine_config_default();
  SwError        err    = {SW_SUCCESS, ""};
  SwEngine* const automatic = sw_engine_new(model, &config, &err);
  EXPECT(automatic != NULL, "auto backend: %s", err.message);
  if (automatic) {
    const char* const auto_name = sw_engine_backend_name(automatic);
    EXPECT(auto_name && auto_name[0], "auto backend has no name");
  }
  sw_engine_free(automatic);
  sw_model_free(model);
}

int
main(void)
{
  check_config_default();
  check_layer_spec(SW_LAYER_LSTM, SW_ACT_TANH, SW_ACT_SIGMOID, "LSTM");
  check_layer_spec(SW_LAYER_GRU, SW_ACT_TANH, SW_ACT_SIGMOID, "GRU");
  check_layer_spec(SW_LAYER_SIMPLE_RNN, SW_ACT_TANH, SW_ACT_SIGMOID,
                   "SimpleRNN");
  check_layer_spec(SW_LAYER_DENSE, SW_ACT_LINEAR, SW_ACT_SIGMOID, "Dense");
  check_engine_facts();
  return unit_finish("defaults");
}
