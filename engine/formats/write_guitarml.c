/* Writing GuitarML / Automated-GuitarAmpModelling JSON: the inverse of
   guitarml.c. The format describes one network shape only, PyTorch's
     y = lin(rnn(x)) (+ x[0] when skip)
   with rnn an nn.LSTM or nn.GRU of num_layers equal layers and lin one
   nn.Linear, so anything else is refused with the reason. PyTorch's gate
   order is the canonical one and it keeps both biases (bias_ih, bias_hh),
   so weights are copied as they are. Statewave's "metadata" object carries
   the sample rate, knob descriptions and free-text facts. */

#include "error.h"
#include "save.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static SwStatus
refuse(const char* const path, const char* const why, SwError* const err)
{
  return sw_error_set(err, SW_ERR_UNSUPPORTED,
                      "%s: %s; GuitarML JSON holds only LSTM or GRU "
                      "(reset after) layers of equal size with tanh and "
                      "sigmoid, then one linear Dense layer, without gains "
                      "(try the RTNeural format)",
                      path, why);
}

/* Why the model is not a GuitarML network, or SW_SUCCESS. */
static SwStatus
check_shape(const SwModel* const model, const SwModelInfo* const info,
            const char* const path, SwError* const err)
{
  char why[200];
  if (info->num_layers < 2) {
    return refuse(path, "the model has no recurrent layer before its head",
                  err);
  }
  if (info->input_gain_db != 0.0f || info->output_gain_db != 0.0f) {
    snprintf(why, sizeof(why), "the model has gains (input %g dB, output "
             "%g dB)",
             (double)info->input_gain_db, (double)info->output_gain_db);
    return refuse(path, why, err);
  }
  SwLayerInfo first;
  sw_model_layer(model, 0, &first);
  const uint32_t head_index = info->num_layers - 1U;
  for (uint32_t l = 0; l < head_index; ++l) {
    SwLayerInfo layer;
    sw_model_layer(model, l, &layer);
    const char* const type = sw_layer_type_name(layer.type);
    if (layer.type != SW_LAYER_LSTM && layer.type != SW_LAYER_GRU) {
      snprintf(why, sizeof(why), "layer %u is %s, not LSTM or GRU", l, type);
      return refuse(path, why, err);
    }
    if (layer.type != first.type || layer.units != first.units ||
        layer.use_bias != first.use_bias) {
      snprintf(why, sizeof(why),
               "layer %u (%s, %u units%s) differs from layer 0 (%s, %u "
               "units%s)",
               l, type, layer.units, layer.use_bias ? "" : ", no bias",
               sw_layer_type_name(first.type), first.units,
               first.use_bias ? "" : ", no bias");
      return refuse(path, why, err);
    }
    if (layer.activation != SW_ACT_TANH ||
        layer.recurrent_activation != SW_ACT_SIGMOID) {
      snprintf(why, sizeof(why),
               "layer %u (%s) has activation %s and recurrent activation %s",
               l, type, sw_activation_name(layer.activation),
               sw_activation_name(layer.recurrent_activation));
      return refuse(path, why, err);
    }
    if (layer.type == SW_LAYER_GRU &&
        layer.gru_reset != SW_GRU_RESET_AFTER) {
      snprintf(why, sizeof(why),
               "layer %u (GRU) resets before the recurrent product (Keras "
               "reset_after=False), which PyTorch's GRU cannot compute",
               l);
      return refuse(path, why, err);
    }
    if (layer.initial_h || layer.initial_c) {
      snprintf(why, sizeof(why),
               "layer %u (%s) has a learned initial state, which PyTorch's "
               "state_dict does not hold",
               l, type);
      return refuse(path, why, err);
    }
  }
  SwLayerInfo head;
  sw_model_layer(model, head_index, &head);
  if (head.type != SW_LAYER_DENSE || head.activation != SW_ACT_LINEAR) {
    snprintf(why, sizeof(why),
             "the last layer (%u) is %s with activation %s, not a linear "
             "Dense",
             head_index, sw_layer_type_name(head.type),
             sw_activation_name(head.activation));
    return refuse(path, why, err);
  }
  return SW_SUCCESS;
}

static bool
add_matrix(cJSON* const dict, const char* const key, const float* const data,
           const size_t rows, const size_t cols)
{
  cJSON* const item = rows ? sw_json_exact_matrix(data, rows, cols)
                           : sw_json_exact_floats(data, cols);
  if (!item) {
    return false;
  }
  cJSON_AddItemToObject(dict, key, item);
  return true;
}

static bool
add_state_dict(const SwModel* const model, const SwModelInfo* const info,
               cJSON* const dict)
{
  char           key[64];
  const uint32_t head_index = info->num_layers - 1U;
  for (uint32_t l = 0; l < head_index; ++l) {
    SwLayerInfo layer;
    sw_model_layer(model, l, &layer);
    const size_t rows = (size_t)layer.gates * layer.units;
    snprintf(key, sizeof(key), "rec.weight_ih_l%u", l);
    if (!add_matrix(dict, key, layer.kernel, rows, layer.input_width)) {
      return false;
    }
    snprintf(key, sizeof(key), "rec.weight_hh_l%u", l);
    if (!add_matrix(dict, key, layer.recurrent_kernel, rows, layer.units)) {
      return false;
    }
    if (!layer.use_bias) {
      continue; /* bias_fl false */
    }
    snprintf(key, sizeof(key), "rec.bias_ih_l%u", l);
    if (!add_matrix(dict, key, layer.bias, 0, rows)) {
      return false;
    }
    snprintf(key, sizeof(key), "rec.bias_hh_l%u", l);
    if (!add_matrix(dict, key, layer.recurrent_bias, 0, rows)) {
      return false;
    }
  }
  /* nn.Linear always has a bias; a head without one has zeros there, which
     add nothing. */
  SwLayerInfo head;
  sw_model_layer(model, head_index, &head);
  return add_matrix(dict, "lin.weight", head.kernel, head.units,
                    head.input_width) &&
         add_matrix(dict, "lin.bias", head.bias, 0, head.units);
}

SwStatus
sw_guitarml_write(const SwModel* const model, cJSON** const root_out,
                  const char* const path, SwError* const err)
{
  *root_out = NULL;
  SwModelInfo info;
  sw_model_info(model, &info);
  SwStatus st = check_shape(model, &info, path, err);
  if (st) {
    return st;
  }
  SwLayerInfo first;
  sw_model_layer(model, 0, &first);
  cJSON* const root = cJSON_CreateObject();
  *root_out         = root;
  cJSON* const data = root ? cJSON_AddObjectToObject(root, "model_data")
                           : NULL;
  /* Keys in the order GuitarML's trainer writes them. */
  const bool ok =
    data && cJSON_AddStringToObject(data, "model", "SimpleRNN") &&
    cJSON_AddNumberToObject(data, "input_size", info.input_width) &&
    cJSON_AddNumberToObject(data, "skip", info.skip ? 1.0 : 0.0) &&
    cJSON_AddNumberToObject(data, "output_size", info.output_width) &&
    cJSON_AddStringToObject(data, "unit_type",
                            first.type == SW_LAYER_GRU ? "GRU" : "LSTM") &&
    cJSON_AddNumberToObject(data, "num_layers", info.num_layers - 1U) &&
    cJSON_AddNumberToObject(data, "hidden_size", first.units) &&
    cJSON_AddBoolToObject(data, "bias_fl", first.use_bias);
  cJSON* const dict     = ok ? cJSON_AddObjectToObject(root, "state_dict")
                             : NULL;
  cJSON* const metadata = dict ? cJSON_AddObjectToObject(root, "metadata")
                               : NULL;
  if (!metadata || !add_state_dict(model, &info, dict) ||
      !sw_json_add_model_metadata(model, metadata, false)) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  return SW_SUCCESS;
}
