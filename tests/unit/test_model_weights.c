/*
  Given weights are copied into the model exactly (changing the caller's
  arrays afterwards changes nothing), missing ones are filled in, and
  sw_model_info / sw_model_layer / sw_model_knob / metadata report what the
  spec said, including the parameter and state counts.
*/

#include "unit_support.h"

#include <string.h>

enum { INPUT = 3, UNITS = 2, GATES = 4 };

int
main(void)
{
  float kernel[GATES * UNITS * INPUT];
  float recurrent[GATES * UNITS * UNITS];
  float bias[GATES * UNITS];
  float initial_h[UNITS] = {0.25f, -0.5f};
  for (size_t i = 0; i < sizeof(kernel) / sizeof(float); ++i) {
    kernel[i] = 0.01f * (float)i - 0.1f;
  }
  for (size_t i = 0; i < sizeof(recurrent) / sizeof(float); ++i) {
    recurrent[i] = -0.02f * (float)i + 0.05f;
  }
  for (size_t i = 0; i < sizeof(bias) / sizeof(float); ++i) {
    bias[i] = 0.003f * (float)i;
  }

  SwLayerSpec layers[2]      = {sw_layer_spec(SW_LAYER_LSTM, UNITS),
                                sw_layer_spec(SW_LAYER_DENSE, 4)};
  layers[0].kernel           = kernel;
  layers[0].recurrent_kernel = recurrent;
  layers[0].bias             = bias;
  layers[0].initial_h        = initial_h;
  /* recurrent_bias, initial_c and the Dense weights come from the seed. */
  const SwKnobSpec  knobs[2] = {{"drive", 0.0f, 10.0f, 5.0f},
                                {NULL, -1.0f, 1.0f, 0.0f}};
  const SwMetaEntry meta[2]  = {{"name", "test amp"}, {"author", "unit"}};

  SwModelSpec spec    = unit_spec(INPUT, 2, layers);
  spec.skip           = true;
  spec.input_gain_db  = -6.0f;
  spec.output_gain_db = 1.5f;
  spec.sample_rate    = 44100.0;
  spec.num_knobs      = 2;
  spec.knobs          = knobs;
  spec.num_metadata   = 2;
  spec.metadata       = meta;
  SwModel* const model = unit_build(&spec, 99);

  /* The model owns copies. */
  float original_kernel[sizeof(kernel) / sizeof(float)];
  float original_recurrent[sizeof(recurrent) / sizeof(float)];
  float original_bias[sizeof(bias) / sizeof(float)];
  memcpy(original_kernel, kernel, sizeof(kernel));
  memcpy(original_recurrent, recurrent, sizeof(recurrent));
  memcpy(original_bias, bias, sizeof(bias));
  kernel[0]    = 123.0f;
  recurrent[1] = 123.0f;
  bias[2]      = 123.0f;
  initial_h[0] = 123.0f;

  SwLayerInfo lstm;
  EXPECT(sw_model_layer(model, 0, &lstm) == SW_SUCCESS, "layer 0");
  EXPECT(lstm.type == SW_LAYER_LSTM && lstm.units == UNITS &&
           lstm.input_width == INPUT && lstm.gates == GATES &&
           lstm.state_size == 2U * UNITS,
         "LSTM layer info: type %d units %u input %u gates %u state %zu",
         (int)lstm.type, (unsigned)lstm.units, (unsigned)lstm.input_width,
         (unsigned)lstm.gates, lstm.state_size);
  EXPECT(!memcmp(lstm.kernel, original_kernel, sizeof(original_kernel)),
         "kernel not copied exactly (kernel[0] %g, given %g)",
         (double)lstm.kernel[0], (double)original_kernel[0]);
  EXPECT(!memcmp(lstm.recurrent_kernel, original_recurrent,
                 sizeof(original_recurrent)),
         "recurrent kernel not copied exactly");
  EXPECT(!memcmp(lstm.bias, original_bias, sizeof(original_bias)),
         "bias not copied exactly");
  EXPECT(lstm.initial_h && lstm.initial_h[0] == 0.25f &&
           lstm.initial_h[1] == -0.5f,
         "initial_h not copied");
  EXPECT(lstm.recurrent_bias != NULL, "missing recurrent_bias not filled");
  EXPECT(lstm.activation == SW_ACT_TANH || lstm.activation == SW_ACT_DEFAULT,
         "LSTM activation %d", (int)lstm.activation);

  SwLayerInfo dense;
  EXPECT(sw_model_layer(model, 1, &dense) == SW_SUCCESS, "layer 1");
  EXPECT(dense.type == SW_LAYER_DENSE && dense.units == 4 &&
           dense.input_width == UNITS && dense.gates == 1 &&
           dense.state_size == 0 && dense.kernel && dense.bias,
         "Dense layer info");
  SwLayerInfo none;
  EXPECT(sw_model_layer(model, 2, &none) == SW_ERR_BAD_ARG,
         "sw_model_layer(2) of a 2-layer model must be SW_ERR_BAD_ARG");

  SwModelInfo info;
  sw_model_info(model, &info);
  const size_t lstm_params  = GATES * UNITS * (INPUT + UNITS + 2U);
  const size_t dense_params = 4U * UNITS + 4U;
  EXPECT(info.input_width == INPUT && info.output_width == 4 &&
           info.num_layers == 2 && info.num_knobs == 2 && info.skip,
         "model info: input %u output %u layers %u knobs %u skip %d",
         (unsigned)info.input_width, (unsigned)info.output_width,
         (unsigned)info.num_layers, (unsigned)info.num_knobs, (int)info.skip);
  EXPECT(info.input_gain_db == -6.0f && info.output_gain_db == 1.5f &&
           info.sample_rate == 44100.0,
         "gains %g %g rate %g", (double)info.input_gain_db,
         (double)info.output_gain_db, info.sample_rate);
  EXPECT(info.state_size == 2U * UNITS, "state_size %zu, expected %u",
         info.state_size, 2U * UNITS);
  EXPECT(info.num_params == lstm_params + dense_params,
         "num_params %zu, expected %zu", info.num_params,
         lstm_params + dense_params);
  EXPECT(info.num_metadata == 2, "num_metadata %u",
         (unsigned)info.num_metadata);
  EXPECT(info.format && info.path, "format or path is NULL");

  SwKnobSpec knob;
  EXPECT(sw_model_knob(model, 0, &knob) == SW_SUCCESS && knob.name &&
           !strcmp(knob.name, "drive") && knob.min == 0.0f &&
           knob.max == 10.0f && knob.default_value == 5.0f,
         "knob 0 not reported as given");
  EXPECT(sw_model_knob(model, 1, &knob) == SW_SUCCESS && knob.name &&
           knob.name[0] && knob.min == -1.0f && knob.max == 1.0f,
         "knob 1 (unnamed) not reported, or without a name");
  EXPECT(sw_model_knob(model, 2, &knob) == SW_ERR_BAD_ARG,
         "sw_model_knob(2) must be SW_ERR_BAD_ARG");

  const char* const name = sw_model_meta_get(model, "name");
  EXPECT(name && !strcmp(name, "test amp"), "meta name: %s",
         name ? name : "(null)");
  EXPECT(sw_model_meta_get(model, "missing") == NULL, "meta missing key");
  SwMetaEntry entry;
  EXPECT(sw_model_metadata(model, 1, &entry) == SW_SUCCESS && entry.key &&
           !strcmp(entry.key, "author") && entry.value &&
           !strcmp(entry.value, "unit"),
         "metadata entry 1");
  EXPECT(sw_model_metadata(model, 2, &entry) == SW_ERR_BAD_ARG,
         "sw_model_metadata(2) must be SW_ERR_BAD_ARG");

  sw_model_free(model);
  return unit_finish("model_weights");
}
