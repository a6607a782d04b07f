/*
  sw_model_build validates every field of a spec: each defect below, applied
  to an otherwise valid spec, gives SW_ERR_BAD_MODEL (NULL spec: BAD_ARG)
  and a message naming the layer and the field, so a user can find the
  mistake. sw_engine_new validates its config the same way.
*/

#include "unit_support.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum {
  INPUT_WIDTH = 3,
  LSTM_UNITS  = 4,
  GRU_UNITS   = 3,
  GRU_GATES   = 3,
};

/* Explicit weights for the GRU (layer 1), so single values can be poisoned. */
static float gru_kernel[GRU_GATES * GRU_UNITS * LSTM_UNITS];
static float gru_recurrent[GRU_GATES * GRU_UNITS * GRU_UNITS];
static float gru_bias[GRU_GATES * GRU_UNITS];
static float gru_recurrent_bias[GRU_GATES * GRU_UNITS];
static float lstm_initial_h[LSTM_UNITS];
static float lstm_initial_c[LSTM_UNITS];

static SwLayerSpec base_layers[3];
static SwKnobSpec  base_knobs[2];

/* A valid three-layer spec with knobs; every case copies and breaks it. */
static SwModelSpec
base_spec(SwLayerSpec* const layers, SwKnobSpec* const knobs)
{
  memcpy(layers, base_layers, sizeof(base_layers));
  memcpy(knobs, base_knobs, sizeof(base_knobs));
  SwModelSpec spec = unit_spec(INPUT_WIDTH, 3, layers);
  spec.num_knobs   = 2;
  spec.knobs       = knobs;
  spec.sample_rate = 48000.0;
  return spec;
}

static void
setup(void)
{
  uint64_t rng = 11;
  for (size_t i = 0; i < sizeof(gru_kernel) / sizeof(float); ++i) {
    gru_kernel[i] = unit_rng_uniform(&rng, -0.5f, 0.5f);
  }
  for (size_t i = 0; i < sizeof(gru_recurrent) / sizeof(float); ++i) {
    gru_recurrent[i] = unit_rng_uniform(&rng, -0.5f, 0.5f);
  }
  for (size_t i = 0; i < GRU_GATES * GRU_UNITS; ++i) {
    gru_bias[i]           = unit_rng_uniform(&rng, -0.1f, 0.1f);
    gru_recurrent_bias[i] = unit_rng_uniform(&rng, -0.1f, 0.1f);
  }
  for (size_t i = 0; i < LSTM_UNITS; ++i) {
    lstm_initial_h[i] = 0.1f * (float)i;
    lstm_initial_c[i] = -0.1f * (float)i;
  }

  base_layers[0]           = sw_layer_spec(SW_LAYER_LSTM, LSTM_UNITS);
  base_layers[0].initial_h = lstm_initial_h;
  base_layers[0].initial_c = lstm_initial_c;

  base_layers[1]                  = sw_layer_spec(SW_LAYER_GRU, GRU_UNITS);
  base_layers[1].kernel           = gru_kernel;
  base_layers[1].recurrent_kernel = gru_recurrent;
  base_layers[1].bias             = gru_bias;
  base_layers[1].recurrent_bias   = gru_recurrent_bias;

  base_layers[2] = sw_layer_spec(SW_LAYER_DENSE, 1);

  base_knobs[0] = (SwKnobSpec){"drive", 0.0f, 1.0f, 0.5f};
  base_knobs[1] = (SwKnobSpec){"tone", -1.0f, 1.0f, 0.0f};
}

/*
  Build `spec` and expect failure with `status`; the message must contain
  each of the (up to two) `needles`.
*/
static void
expect_rejected(const char* const   what,
                const SwModelSpec*  spec,
                const SwStatus      status,
                const char* const   needle1,
                const char* const   needle2)
{
  SwError  err   = {SW_SUCCESS, ""};
  SwModel* model = sw_model_build(spec, 1, &err);
  EXPECT(model == NULL, "%s: sw_model_build accepted the spec", what);
  sw_model_free(model);
  if (model) {
    return;
  }
  EXPECT(err.status == status, "%s: status %s, expected %s (message: %s)",
         what, sw_strerror(err.status), sw_strerror(status), err.message);
  EXPECT(err.message[0] != '\0', "%s: empty error message", what);
  EXPECT(!needle1 || unit_contains(err.message, needle1),
         "%s: message \"%s\" does not mention \"%s\"", what, err.message,
         needle1);
  EXPECT(!needle2 || unit_contains(err.message, needle2),
         "%s: message \"%s\" does not mention \"%s\"", what, err.message,
         needle2);

  /* The same failure without an SwError must not crash either. */
  SwModel* const silent = sw_model_build(spec, 1, NULL);
  EXPECT(silent == NULL, "%s: accepted when err is NULL", what);
  sw_model_free(silent);
}

static void
check_valid_base(void)
{
  SwLayerSpec layers[3];
  SwKnobSpec  knobs[2];
  const SwModelSpec spec = base_spec(layers, knobs);
  SwError           err  = {SW_SUCCESS, ""};
  SwModel* const    model = sw_model_build(&spec, 1, &err);
  EXPECT(model != NULL, "the unbroken base spec is rejected: %s", err.message);
  sw_model_free(model);
}

static void
check_model_fields(void)
{
  SwLayerSpec layers[3];
  SwKnobSpec  knobs[2];
  SwModelSpec spec;

  expect_rejected("NULL spec", NULL, SW_ERR_BAD_ARG, NULL, NULL);

  spec             = base_spec(layers, knobs);
  spec.input_width = 0;
  spec.num_knobs   = 0;
  expect_rejected("input_width 0", &spec, SW_ERR_BAD_MODEL, "input_width",
                  NULL);

  spec             = base_spec(layers, knobs);
  spec.input_width = 1000000;
  expect_rejected("input_width 1e6", &spec, SW_ERR_BAD_MODEL, "input_width",
                  NULL);

  spec            = base_spec(layers, knobs);
  spec.num_layers = 0;
  expect_rejected("num_layers 0", &spec, SW_ERR_BAD_MODEL, "layers", NULL);

  spec        = base_spec(layers, knobs);
  spec.layers = NULL;
  expect_rejected("layers NULL", &spec, SW_ERR_BAD_MODEL, "layers", NULL);

  spec           = base_spec(layers, knobs);
  spec.num_knobs = INPUT_WIDTH; /* only input_width - 1 columns are knobs */
  SwKnobSpec three_knobs[3] = {knobs[0], knobs[1], knobs[1]};
  spec.knobs                = three_knobs;
  expect_rejected("num_knobs > input_width - 1", &spec, SW_ERR_BAD_MODEL,
                  "knob", NULL);

  spec       = base_spec(layers, knobs);
  spec.knobs = NULL;
  expect_rejected("knobs NULL with num_knobs 2", &spec, SW_ERR_BAD_MODEL,
                  "knob", NULL);

  spec          = base_spec(layers, knobs);
  knobs[1].min  = 2.0f; /* above its max of 1 */
  expect_rejected("knob min > max", &spec, SW_ERR_BAD_MODEL, "knob", NULL);

  spec         = base_spec(layers, knobs);
  knobs[0].max = NAN;
  expect_rejected("knob max NaN", &spec, SW_ERR_BAD_MODEL, "knob", NULL);

  const double bad_rates[] = {-44100.0, (double)NAN, (double)INFINITY};
  for (size_t i = 0; i < sizeof(bad_rates) / sizeof(bad_rates[0]); ++i) {
    spec             = base_spec(layers, knobs);
    spec.sample_rate = bad_rates[i];
    expect_rejected("bad sample_rate", &spec, SW_ERR_BAD_MODEL, "sample_rate",
                    NULL);
  }

  spec               = base_spec(layers, knobs);
  spec.input_gain_db = NAN;
  expect_rejected("input_gain_db NaN", &spec, SW_ERR_BAD_MODEL,
                  "input_gain_db", NULL);

  spec                = base_spec(layers, knobs);
  spec.output_gain_db = INFINITY;
  expect_rejected("output_gain_db Inf", &spec, SW_ERR_BAD_MODEL,
                  "output_gain_db", NULL);

  spec              = base_spec(layers, knobs);
  spec.num_metadata = 1;
  spec.metadata     = NULL;
  expect_rejected("metadata NULL with num_metadata 1", &spec,
                  SW_ERR_BAD_MODEL, "metadata", NULL);
}

static void
check_layer_fields(void)
{
  SwLayerSpec layers[3];
  SwKnobSpec  knobs[2];
  SwModelSpec spec;

  spec            = base_spec(layers, knobs);
  layers[1].units = 0;
  expect_rejected("layer 1 units 0", &spec, SW_ERR_BAD_MODEL, "layer 1",
                  "units");

  spec            = base_spec(layers, knobs);
  layers[2].units = 0;
  expect_rejected("Dense units 0", &spec, SW_ERR_BAD_MODEL, "layer 2",
                  "units");

  /* Absurd sizes are refused before anything is allocated for them. */
  spec            = base_spec(layers, knobs);
  layers[1].units = 1000000;
  layers[1].kernel = layers[1].recurrent_kernel = NULL;
  layers[1].bias = layers[1].recurrent_bias = NULL;
  expect_rejected("layer 1 units 1e6", &spec, SW_ERR_BAD_MODEL, "layer 1",
                  "units");

  spec               = base_spec(layers, knobs);
  layers[0].units    = 1000000;
  layers[0].initial_h = layers[0].initial_c = NULL;
  expect_rejected("layer 0 units 1e6", &spec, SW_ERR_BAD_MODEL, "layer 0",
                  "units");

  spec           = base_spec(layers, knobs);
  layers[1].type = (SwLayerType)42;
  expect_rejected("unknown layer type", &spec, SW_ERR_BAD_MODEL, "layer 1",
                  "type");

  spec                 = base_spec(layers, knobs);
  layers[1].activation = (SwActivation)200;
  expect_rejected("activation out of range", &spec, SW_ERR_BAD_MODEL,
                  "layer 1", "activation");

  spec                           = base_spec(layers, knobs);
  layers[0].recurrent_activation = (SwActivation)-3;
  expect_rejected("recurrent_activation out of range", &spec,
                  SW_ERR_BAD_MODEL, "layer 0", "recurrent_activation");

  spec                 = base_spec(layers, knobs);
  layers[2].activation = (SwActivation)(SW_ACT_SWISH + 1);
  expect_rejected("Dense activation one past the last", &spec,
                  SW_ERR_BAD_MODEL, "layer 2", "activation");

  spec                = base_spec(layers, knobs);
  layers[1].gru_reset = (SwGruReset)7;
  expect_rejected("gru_reset out of range", &spec, SW_ERR_BAD_MODEL,
                  "layer 1", "gru_reset");
}

/* Conv1D taps, dilation and history length; its state is the history. */
static void
check_conv1d_fields(void)
{
  SwLayerSpec layers[2] = {sw_layer_spec(SW_LAYER_CONV1D, 4),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  layers[0].kernel_size        = 3;
  layers[0].dilation           = 2;
  const SwModelSpec spec       = unit_spec(2, 2, layers);
  SwError           err        = {SW_SUCCESS, ""};
  SwModel* const    model      = sw_model_build(&spec, 9, &err);
  SwLayerInfo       info;
  EXPECT(model != NULL, "a valid Conv1D model was refused: %s", err.message);
  if (model) {
    sw_model_layer(model, 0, &info);
    EXPECT(info.kernel_size == 3 && info.dilation == 2,
           "Conv1D kernel_size/dilation are %u/%u, expected 3/2",
           info.kernel_size, info.dilation);
    /* (K-1) * d frames of 2 input channels. */
    EXPECT(info.state_size == 8U, "Conv1D state_size is %zu, expected 8",
           info.state_size);
    EXPECT(info.recurrent_kernel == NULL,
           "a Conv1D layer has a recurrent kernel");
    sw_model_free(model);
  }

  layers[0].kernel_size = 0;
  expect_rejected("Conv1D kernel_size 0", &spec, SW_ERR_BAD_MODEL, "layer 0",
                  "kernel_size");
  layers[0].kernel_size = 3;
  layers[0].dilation    = 0;
  expect_rejected("Conv1D dilation 0", &spec, SW_ERR_BAD_MODEL, "layer 0",
                  "dilation");
  layers[0].kernel_size = 1000;
  layers[0].dilation    = 1000;
  expect_rejected("Conv1D history of a million frames", &spec,
                  SW_ERR_BAD_MODEL, "layer 0", "dilation");
  layers[0].kernel_size    = 3;
  layers[0].dilation       = 1;
  const float initial_h[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  layers[0].initial_h      = initial_h;
  expect_rejected("Conv1D with an initial state", &spec, SW_ERR_BAD_MODEL,
                  "layer 0", "initial state");
}

/* Stride and padding exist only in windowed models, whose every layer must
   keep at least one step of the window; a windowed model reports its
   window as the state of layer 0. */
static void
check_windowed_fields(void)
{
  SwLayerSpec layers[4] = {sw_layer_spec(SW_LAYER_CONV1D, 4),
                           sw_layer_spec(SW_LAYER_CONV1D, 4),
                           sw_layer_spec(SW_LAYER_LSTM, 5),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  layers[0].kernel_size = 12;
  layers[0].stride      = 12;
  layers[0].padding     = SW_PADDING_SAME;
  layers[1].kernel_size = 12;
  layers[1].stride      = 12;
  layers[1].padding     = SW_PADDING_SAME;
  SwModelSpec spec      = unit_spec(2, 4, layers);
  spec.window           = 180;
  SwError        err    = {SW_SUCCESS, ""};
  SwModel* const model  = sw_model_build(&spec, 9, &err);
  EXPECT(model != NULL, "a valid windowed model was refused: %s",
         err.message);
  if (model) {
    SwModelInfo info;
    SwLayerInfo layer;
    sw_model_info(model, &info);
    EXPECT(info.window == 180U && info.state_size == 360U,
           "windowed model: window %u, state_size %zu; expected 180, 360",
           info.window, info.state_size);
    sw_model_layer(model, 0, &layer);
    EXPECT(layer.stride == 12U && layer.padding == SW_PADDING_SAME &&
             layer.steps == 15U && layer.state_size == 360U,
           "layer 0: stride %u, padding %d, steps %u, state %zu; expected "
           "12, same, 15, 360",
           layer.stride, (int)layer.padding, layer.steps, layer.state_size);
    sw_model_layer(model, 2, &layer);
    EXPECT(layer.steps == 2U && layer.state_size == 0U,
           "layer 2 (LSTM): steps %u, state %zu; expected 2 (ceil(15/12)), "
           "0", layer.steps, layer.state_size);
    sw_model_free(model);
  }

  spec.window = 0;
  expect_rejected("Conv1D stride 12 in a streaming model", &spec,
                  SW_ERR_BAD_MODEL, "layer 0", "stride is 12");
  layers[0].stride = 1;
  layers[1].stride = 1;
  expect_rejected("Conv1D same padding in a streaming model", &spec,
                  SW_ERR_BAD_MODEL, "layer 0", "padding is same");
  layers[0].padding = SW_PADDING_VALID;
  layers[1].padding = SW_PADDING_CAUSAL;
  expect_rejected("Conv1D valid padding in a streaming model", &spec,
                  SW_ERR_BAD_MODEL, "layer 0", "padding is valid");

  /* 20 frames -> valid k12 s12: 1 step -> valid k12: too short. */
  spec.window       = 20;
  layers[0].stride  = 12;
  layers[1].padding = SW_PADDING_VALID;
  expect_rejected("a window too short for the strides", &spec,
                  SW_ERR_BAD_MODEL, "layer 1", "needs at least");
  spec.window = 10; /* shorter than layer 0's kernel */
  expect_rejected("a window shorter than the kernel", &spec,
                  SW_ERR_BAD_MODEL, "layer 0", "needs at least");
  spec.window = SW_MAX_WINDOW + 1U;
  expect_rejected("a window too long", &spec, SW_ERR_BAD_MODEL, "window",
                  "expected 0");
  layers[0].stride  = 1;
  layers[0].padding = SW_PADDING_CAUSAL;
  layers[1].stride  = 1;
  layers[1].padding = SW_PADDING_CAUSAL;
  layers[2].units   = 4096;
  spec.window       = SW_MAX_WINDOW;
  expect_rejected("a window costing too much per frame", &spec,
                  SW_ERR_BAD_MODEL, "window", "multiply-adds");
  layers[2].units   = 5;
  spec.window       = 180;
  layers[0].padding = (SwPadding)7;
  expect_rejected("Conv1D padding out of range", &spec, SW_ERR_BAD_MODEL,
                  "layer 0", "padding");
}

/* Put `value` into one element of a given array, expect rejection, undo. */
static void
expect_poison_rejected(float* const      array,
                       const size_t      index,
                       const float       value,
                       const char* const layer_name,
                       const char* const field)
{
  SwLayerSpec layers[3];
  SwKnobSpec  knobs[2];
  const float saved = array[index];
  array[index]      = value;
  const SwModelSpec spec = base_spec(layers, knobs);
  char              what[128];
  snprintf(what, sizeof(what), "%s %s[%zu] = %g", layer_name, field, index,
           (double)value);
  expect_rejected(what, &spec, SW_ERR_BAD_MODEL, layer_name, field);
  array[index] = saved;
}

static void
check_non_finite_weights(void)
{
  expect_poison_rejected(gru_kernel, 5, NAN, "layer 1", "kernel");
  expect_poison_rejected(gru_recurrent, 26, INFINITY, "layer 1",
                         "recurrent_kernel");
  expect_poison_rejected(gru_bias, 0, -INFINITY, "layer 1", "bias");
  expect_poison_rejected(gru_recurrent_bias, 8, NAN, "layer 1",
                         "recurrent_bias");
  expect_poison_rejected(lstm_initial_h, 3, NAN, "layer 0", "initial_h");
  expect_poison_rejected(lstm_initial_c, 0, INFINITY, "layer 0", "initial_c");
}

static void
expect_engine_rejected(const char* const   what,
                       const SwModel*      model,
                       const uint32_t      streams,
                       const uint32_t      max_block,
                       const char* const   needle)
{
  SwEngineConfig config = sw_engine_config_default();
  config.streams        = streams;
  config.max_block      = max_block;
  config.backend        = SW_BACKEND_CPU;
  SwError   err         = {SW_SUCCESS, ""};
  SwEngine* engine      = sw_engine_new(model, &config, &err);
  EXPECT(engine == NULL, "%s: sw_engine_new accepted it", what);
  sw_engine_free(engine);
  if (engine) {
    return;
  }
  EXPECT(err.status != SW_SUCCESS, "%s: NULL engine but status success",
         what);
  EXPECT(err.message[0] != '\0', "%s: empty error message", what);
  EXPECT(!needle || unit_contains(err.message, needle),
         "%s: message \"%s\" does not mention \"%s\"", what, err.message,
         needle);
}

static void
check_engine_config(void)
{
  SwLayerSpec       layers[3];
  SwKnobSpec        knobs[2];
  const SwModelSpec spec  = base_spec(layers, knobs);
  SwModel* const    model = unit_build(&spec, 3);

  expect_engine_rejected("streams 0", model, 0, 512, "streams");
  expect_engine_rejected("max_block 0", model, 1, 0, "max_block");
  expect_engine_rejected("NULL model", NULL, 1, 512, NULL);
  /* Sizes whose products overflow must fail cleanly, not allocate wrongly. */
  expect_engine_rejected("huge streams and max_block", model, UINT32_MAX,
                         UINT32_MAX, NULL);

  /* The header leaves a NULL config open (defaults or an error); either is
     fine, a crash or a silent NULL is not. */
  SwError         err    = {SW_SUCCESS, ""};
  SwEngine* const engine = sw_engine_new(model, NULL, &err);
  EXPECT(engine != NULL || (err.status == SW_ERR_BAD_ARG && err.message[0]),
         "NULL config: no engine, status %s, message \"%s\"",
         sw_strerror(err.status), err.message);
  sw_engine_free(engine);

  sw_model_free(model);
}

int
main(void)
{
  setup();
  check_valid_base();
  check_model_fields();
  check_layer_fields();
  check_conv1d_fields();
  check_windowed_fields();
  check_non_finite_weights();
  check_engine_config();
  return unit_finish("model_validation");
}
