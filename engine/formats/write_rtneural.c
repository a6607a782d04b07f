/* Writing RTNeural / AIDA-X JSON: the inverse of rtneural.c, in exactly the
   shape RTNeural's model_loader.h (parseJson) and AIDA-X's plugin
   (loadModelFromStream) read:
     {"in_shape": [null, null, I], "in_skip": 0|1, "in_gain": dB,
      "out_gain": dB,
      "layers": [{"type", "activation" (always a string: RTNeural calls
                  get<std::string>() on it), "shape": [null, null, units],
                  "weights": [Keras get_weights()], conv1d: "kernel_size":
                  [K], "dilation": [d], "groups": 1}, ...],
      "input_batch", "output_batch" (the model's reference pair, if any),
      "metadata": {"samplerate": "48000", "knobs": [...], ...}}
   Canonical to Keras: kernels are transposed per gate block (LSTM i,f,c,o
   is the canonical order; GRU r,z,n becomes z,r,h). RTNeural's LSTM has one
   bias, so the canonical two are summed: the CPU cell adds bW + bR first,
   so the sum runs bit-identically. RTNeural's loader always reads an
   LSTM/GRU bias (weights.at(2)) and a Conv1D bias, so layers without a bias
   get zeros, which add nothing. */

#include "error.h"
#include "save.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keras gate block of each canonical block (the reader's tables). */
static const size_t keras_lstm_blocks[4] = {0, 1, 2, 3}; /* i,f,c,o */
static const size_t keras_gru_blocks[3]  = {1, 0, 2};    /* r,z,n -> z,r,h */
static const size_t single_block[1]      = {0};

/* Canonical [G*units x inputs] into Keras [inputs x G*units] rows. */
static cJSON*
canonical_to_keras(const float* const canonical, const size_t inputs,
                   const size_t units, const size_t gates,
                   const size_t* const keras_block)
{
  const size_t width = gates * units;
  const size_t count = inputs * width;
  float* const keras = (float*)malloc((count ? count : 1U) * sizeof(float));
  if (!keras) {
    return NULL;
  }
  for (size_t g = 0; g < gates; ++g) {
    for (size_t u = 0; u < units; ++u) {
      const size_t row = g * units + u;
      const size_t col = keras_block[g] * units + u;
      for (size_t c = 0; c < inputs; ++c) {
        keras[c * width + col] = canonical[row * inputs + c];
      }
    }
  }
  cJSON* const matrix = sw_json_exact_matrix(keras, inputs, width);
  free(keras);
  return matrix;
}

/* A canonical bias (or the sum of two, `second` may be NULL) in Keras block
   order. */
static cJSON*
bias_to_keras(const float* const first, const float* const second,
              const size_t units, const size_t gates,
              const size_t* const keras_block)
{
  const size_t width = gates * units;
  float* const keras = (float*)malloc(width * sizeof(float));
  if (!keras) {
    return NULL;
  }
  for (size_t g = 0; g < gates; ++g) {
    for (size_t u = 0; u < units; ++u) {
      const size_t from = g * units + u;
      keras[keras_block[g] * units + u] =
        second ? first[from] + second[from] : first[from];
    }
  }
  cJSON* const vector = sw_json_exact_floats(keras, width);
  free(keras);
  return vector;
}

static bool
all_zero(const float* const values, const size_t count)
{
  for (size_t i = 0; i < count; ++i) {
    if (values[i] != 0.0f) {
      return false;
    }
  }
  return true;
}

/* The activation name RTNeural's exporter writes; NULL when Statewave's
   RTNeural reader has none for it. */
static const char*
activation_name(const SwActivation act, bool* const rtneural_runs_it)
{
  *rtneural_runs_it = true;
  switch (act) {
  case SW_ACT_LINEAR:
    return "";
  case SW_ACT_TANH:
    return "tanh";
  case SW_ACT_RELU:
    return "relu";
  case SW_ACT_SIGMOID:
    return "sigmoid";
  case SW_ACT_ELU:
    return "elu";
  case SW_ACT_HARD_SIGMOID:
  case SW_ACT_SELU:
  case SW_ACT_SOFTSIGN:
  case SW_ACT_SOFTPLUS:
  case SW_ACT_SWISH:
    /* RTNeural's createActivation() knows only tanh, relu, sigmoid,
       softmax and elu; Statewave's reader knows these Keras names too. */
    *rtneural_runs_it = false;
    return sw_activation_name(act);
  case SW_ACT_DEFAULT:
  case SW_ACT_HARD_SIGMOID_K3:
  default:
    return NULL;
  }
}

static bool
add_shape(cJSON* const object, const char* const key, const uint32_t width)
{
  cJSON* const shape = cJSON_AddArrayToObject(object, key);
  if (!shape) {
    return false;
  }
  cJSON_AddItemToArray(shape, cJSON_CreateNull());
  cJSON_AddItemToArray(shape, cJSON_CreateNull());
  return cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)width));
}

/* Append `item` to `array`; false (and `item` freed) when either is NULL. */
static bool
append(cJSON* const array, cJSON* const item)
{
  if (!array || !item || !cJSON_AddItemToArray(array, item)) {
    cJSON_Delete(item);
    return false;
  }
  return true;
}

static SwStatus
refuse(const char* const path, const uint32_t index,
       const SwLayerInfo* const layer, const char* const why,
       SwError* const err)
{
  return sw_error_set(err, SW_ERR_UNSUPPORTED,
                      "%s: layer %u (%s): %s; RTNeural/AIDA-X JSON cannot "
                      "hold it",
                      path, index, sw_layer_type_name(layer->type), why);
}

static SwStatus
write_recurrent(const SwLayerInfo* const layer, const uint32_t index,
                cJSON* const object, cJSON* const weights,
                const char* const path, SwError* const err)
{
  const bool is_gru = layer->type == SW_LAYER_GRU;
  if (layer->activation != SW_ACT_TANH ||
      layer->recurrent_activation != SW_ACT_SIGMOID) {
    char why[160];
    snprintf(why, sizeof(why),
             "activation %s and recurrent activation %s (RTNeural's LSTM and "
             "GRU always use tanh and sigmoid)",
             sw_activation_name(layer->activation),
             sw_activation_name(layer->recurrent_activation));
    return refuse(path, index, layer, why, err);
  }
  if (layer->initial_h || layer->initial_c) {
    return refuse(path, index, layer,
                  "it has a learned initial state (RTNeural layers start "
                  "at zero)",
                  err);
  }
  const size_t  units  = layer->units;
  const size_t  gates  = layer->gates;
  const size_t* blocks = is_gru ? keras_gru_blocks : keras_lstm_blocks;
  const bool    before = is_gru && layer->gru_reset == SW_GRU_RESET_BEFORE;
  if (before && !all_zero(layer->recurrent_bias, gates * units)) {
    return refuse(path, index, layer,
                  "a reset-before GRU with a recurrent bias (the flat Keras "
                  "reset_after=False bias is the input bias alone)",
                  err);
  }
  if (before) {
    sw_log(SW_LOG_WARNING,
           "%s: layer %u (GRU) resets before the recurrent product (Keras "
           "reset_after=False): written as a flat bias, which Statewave "
           "reads but RTNeural and AIDA-X cannot load",
           path, index);
  }
  if (!cJSON_AddStringToObject(object, "type", is_gru ? "gru" : "lstm") ||
      !cJSON_AddStringToObject(object, "activation", "tanh") ||
      !add_shape(object, "shape", layer->units) ||
      !cJSON_AddItemToObject(object, "weights", weights) ||
      !append(weights, canonical_to_keras(layer->kernel, layer->input_width,
                                          units, gates, blocks)) ||
      !append(weights, canonical_to_keras(layer->recurrent_kernel, units,
                                          units, gates, blocks))) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  cJSON* bias = NULL;
  if (!is_gru) {
    bias = bias_to_keras(layer->bias, layer->recurrent_bias, units, gates,
                         blocks);
  } else if (before) {
    bias = bias_to_keras(layer->bias, NULL, units, gates, blocks);
  } else {
    /* reset_after: row 0 the input bias, row 1 the recurrent bias. */
    bias = cJSON_CreateArray();
    if (!append(bias, bias_to_keras(layer->bias, NULL, units, gates,
                                    blocks)) ||
        !append(bias, bias_to_keras(layer->recurrent_bias, NULL, units, gates,
                                    blocks))) {
      cJSON_Delete(bias);
      bias = NULL;
    }
  }
  if (!append(weights, bias)) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  return SW_SUCCESS;
}

/* Conv1D kernel canonical [units x K*inputs] (column k*inputs + c) into
   Keras [K][inputs][units]. */
static cJSON*
conv_kernel_to_keras(const SwLayerInfo* const layer)
{
  const size_t taps   = layer->kernel_size;
  const size_t inputs = layer->input_width;
  const size_t units  = layer->units;
  const size_t cols   = taps * inputs;
  float* const tap    = (float*)malloc(inputs * units * sizeof(float));
  cJSON* const kernel = cJSON_CreateArray();
  bool         ok     = tap && kernel;
  for (size_t k = 0; ok && k < taps; ++k) {
    for (size_t c = 0; c < inputs; ++c) {
      for (size_t u = 0; u < units; ++u) {
        tap[c * units + u] = layer->kernel[u * cols + k * inputs + c];
      }
    }
    ok = append(kernel, sw_json_exact_matrix(tap, inputs, units));
  }
  free(tap);
  if (!ok) {
    cJSON_Delete(kernel);
    return NULL;
  }
  return kernel;
}

static SwStatus
write_feed_forward(const SwLayerInfo* const layer, const uint32_t index,
                   cJSON* const object, cJSON* const weights,
                   const char* const path, SwError* const err)
{
  bool              rtneural_runs_it = true;
  const char* const activation =
    activation_name(layer->activation, &rtneural_runs_it);
  if (!activation) {
    char why[160];
    snprintf(why, sizeof(why),
             "activation %s has no RTNeural name (Keras 3's hard_sigmoid "
             "differs from Keras 2's, which is the one the format means)",
             sw_activation_name(layer->activation));
    return refuse(path, index, layer, why, err);
  }
  if (!rtneural_runs_it) {
    sw_log(SW_LOG_WARNING,
           "%s: layer %u (%s): activation %s is written by its Keras name, "
           "which Statewave reads but RTNeural and AIDA-X cannot load (they "
           "know tanh, relu, sigmoid, softmax and elu)",
           path, index, sw_layer_type_name(layer->type), activation);
  }
  const bool is_conv = layer->type == SW_LAYER_CONV1D;
  bool       ok =
    cJSON_AddStringToObject(object, "type", is_conv ? "conv1d" : "dense") &&
    cJSON_AddStringToObject(object, "activation", activation) &&
    add_shape(object, "shape", layer->units);
  if (ok && is_conv) {
    cJSON* const size     = cJSON_AddArrayToObject(object, "kernel_size");
    cJSON* const dilation = size ? cJSON_AddArrayToObject(object, "dilation")
                                 : NULL;
    ok = append(size, cJSON_CreateNumber((double)layer->kernel_size)) &&
         append(dilation, cJSON_CreateNumber((double)layer->dilation)) &&
         cJSON_AddNumberToObject(object, "groups", 1.0);
  }
  ok = ok && cJSON_AddItemToObject(object, "weights", weights) &&
       append(weights, is_conv ? conv_kernel_to_keras(layer)
                               : canonical_to_keras(layer->kernel,
                                                    layer->input_width,
                                                    layer->units, 1U,
                                                    single_block));
  /* A Dense without a bias is [kernel] (both loaders accept it); RTNeural's
     Conv1D always reads a bias, zeros when the layer has none. */
  if (ok && (layer->use_bias || is_conv)) {
    ok = append(weights, bias_to_keras(layer->bias, NULL, layer->units, 1U,
                                       single_block));
  }
  return ok ? SW_SUCCESS
            : sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
}

static SwStatus
write_layer(const SwModel* const model, const uint32_t index,
            cJSON* const layers, const char* const path, SwError* const err)
{
  SwLayerInfo layer;
  SwStatus    st = sw_model_layer(model, index, &layer);
  if (st) {
    return sw_error_set(err, st, "%s: layer %u cannot be described", path,
                        index);
  }
  if (layer.type == SW_LAYER_SIMPLE_RNN) {
    return refuse(path, index, &layer,
                  "RTNeural has no SimpleRNN layer (it reads lstm, gru, "
                  "dense, conv1d and activation layers)",
                  err);
  }
  cJSON* const object  = cJSON_CreateObject();
  cJSON* const weights = cJSON_CreateArray();
  if (!object || !weights || !cJSON_AddItemToArray(layers, object)) {
    cJSON_Delete(object);
    cJSON_Delete(weights);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  /* `weights` joins `object` inside the writers; until then it is ours. */
  if (layer.type == SW_LAYER_LSTM || layer.type == SW_LAYER_GRU) {
    st = write_recurrent(&layer, index, object, weights, path, err);
  } else {
    st = write_feed_forward(&layer, index, object, weights, path, err);
  }
  if (!cJSON_GetObjectItemCaseSensitive(object, "weights")) {
    cJSON_Delete(weights);
  }
  return st;
}

/* The model's own input/output pair, so `statewave info --verify` still
   checks the written file. */
static bool
add_reference(const SwModel* const model, const SwModelInfo* const info,
              cJSON* const root)
{
  const float* in     = NULL;
  const float* out    = NULL;
  size_t       frames = 0;
  if (sw_model_reference(model, &in, &out, &frames) || !frames) {
    return true;
  }
  cJSON* const in_batch =
    sw_json_exact_floats(in, frames * info->input_width);
  cJSON* const out_batch =
    sw_json_exact_floats(out, frames * info->output_width);
  if (!in_batch || !out_batch) {
    cJSON_Delete(in_batch);
    cJSON_Delete(out_batch);
    return false;
  }
  cJSON_AddItemToObject(root, "input_batch", in_batch);
  cJSON_AddItemToObject(root, "output_batch", out_batch);
  return true;
}

SwStatus
sw_rtneural_write(const SwModel* const model, cJSON** const root_out,
                  const char* const path, SwError* const err)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  cJSON* const root = cJSON_CreateObject();
  *root_out         = root;
  cJSON* const in_gain  = sw_json_exact_float(info.input_gain_db);
  cJSON* const out_gain = sw_json_exact_float(info.output_gain_db);
  if (!root || !in_gain || !out_gain) {
    cJSON_Delete(in_gain);
    cJSON_Delete(out_gain);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  /* AIDA-X reads in_skip, in_gain and out_gain only when they are numbers. */
  cJSON_AddItemToObject(root, "in_gain", in_gain);
  cJSON_AddItemToObject(root, "out_gain", out_gain);
  cJSON* const layers = cJSON_CreateArray();
  if (!add_shape(root, "in_shape", info.input_width) ||
      !cJSON_AddNumberToObject(root, "in_skip", info.skip ? 1.0 : 0.0) ||
      !layers || !cJSON_AddItemToObject(root, "layers", layers)) {
    cJSON_Delete(layers);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  for (uint32_t l = 0; l < info.num_layers; ++l) {
    const SwStatus st = write_layer(model, l, layers, path, err);
    if (st) {
      return st;
    }
  }
  cJSON* const metadata = cJSON_AddObjectToObject(root, "metadata");
  if (!metadata || !add_reference(model, &info, root) ||
      /* A string, as AIDA-X's trainer writes it ("48000"). */
      !sw_json_add_model_metadata(model, metadata, true)) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  return SW_SUCCESS;
}
