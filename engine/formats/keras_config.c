/* A Keras 2 model_config turned into canonical layer specs, with each
   layer's weights converted from Keras's layout (see statewave.h
   SwLayerSpec and ../shared/reference/rnn-semantics.md §1, §2, §7.1):

   - Keras kernels are (inputs, gates*units) with the input on the rows; the
     canonical kernel is one row per output unit, so plain layers transpose.
   - Keras GRU gate blocks are z, r, h; the canonical order is r, z, n.
   - CuDNNLSTM / CuDNNGRU store each gate's (I, U) kernel slice as the
     C-order flattening of cuDNN's (U, I) matrix, and the recurrent slice
     untransposed; their bias is [input half | recurrent half] (8U / 6U).
   - Plain LSTM has one summed bias (4U); GRU reset_after=True has (2, 3U)
     (input row, recurrent row), reset_after=False one (3U,) bias.

   Only causal, per-frame models stream: a layer that looks ahead
   (go_backwards, Bidirectional, 'same' padding), returns extra outputs
   (return_state) or decimates time (strides) is refused with a message
   naming it. The exception is a fixed-window model (GuitarLSTM's: a fixed
   input time dimension W > 1, no stateful layer, the last recurrent layer
   with return_sequences=false): it becomes a windowed model (SwModelSpec
   .window = W, one stateless call per output frame over the last W
   frames), where Conv1D strides and 'same'/'valid' padding are exact. */

#include "error.h"
#include "keras_h5.h"
#include "model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KERAS_FORMAT "keras-h5"
#define MAX_ARRAYS (6U * SW_MAX_LAYERS)
#define MAX_META 8U

typedef enum {
  KERAS_LSTM,
  KERAS_GRU,
  KERAS_SIMPLE_RNN,
  KERAS_CUDNN_LSTM,
  KERAS_CUDNN_GRU,
} KerasRecurrentKind;

/* Everything a build allocates, freed in one place. */
typedef struct {
  KerasWeights* weights;
  const char*   path;
  bool          keras3_hard_sigmoid;
  SwLayerSpec   layers[SW_MAX_LAYERS];
  uint32_t      num_layers;
  float*        arrays[MAX_ARRAYS];
  size_t        num_arrays;
  uint32_t      width;      /* features entering the next layer */
  long          time_steps; /* the input's fixed time dimension, -1: None */
  uint32_t      window;     /* time_steps of a fixed-window model, else 0 */
  bool          sequence_ended; /* a return_sequences=false layer passed */
  bool          foldable;   /* the last spec is a linear Dense/Conv1D */
  SwMetaEntry   meta[MAX_META];
  uint32_t      num_meta;
} KerasBuild;

/* One Keras layer being mapped: names for messages. */
typedef struct {
  const char*  class_name;
  const char*  name;
  const cJSON* config;
} KerasLayer;

static float*
new_array(KerasBuild* const build, const size_t count)
{
  if (build->num_arrays == MAX_ARRAYS) {
    return NULL;
  }
  float* const array = (float*)calloc(count ? count : 1U, sizeof(float));
  if (array) {
    build->arrays[build->num_arrays++] = array;
  }
  return array;
}

static SwStatus
no_memory(const KerasBuild* const build, SwError* const err)
{
  return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", build->path);
}

/* Keras weight `index` of `layer` with the given shape, owned by build. */
static SwStatus
fetch(KerasBuild* const build, const KerasLayer* const layer,
      const size_t index, const char* const field, const size_t rank,
      const size_t d0, const size_t d1, const size_t d2, float** const values,
      SwError* const err)
{
  const size_t dims[SW_KERAS_MAX_RANK] = {d0, d1, d2};
  if (build->num_arrays == MAX_ARRAYS) {
    return no_memory(build, err);
  }
  const SwStatus st = sw_keras_weight(build->weights, layer->name, index,
                                      field, rank, dims, values, err);
  if (!st) {
    build->arrays[build->num_arrays++] = *values;
  }
  return st;
}

/* ---- config values ------------------------------------------------------ */

static const char*
json_kind(const cJSON* const item)
{
  return !item                ? "missing"
         : cJSON_IsString(item) ? "a string"
         : cJSON_IsNumber(item) ? "a number"
         : cJSON_IsBool(item)   ? "a boolean"
         : cJSON_IsNull(item)   ? "null"
         : cJSON_IsArray(item)  ? "an array"
                                : "an object";
}

static SwStatus
config_bool(const KerasBuild* const build, const KerasLayer* const layer,
            const char* const key, const bool fallback, bool* const value,
            SwError* const err)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(layer->config,
                                                             key);
  if (!item) {
    *value = fallback;
    return SW_SUCCESS;
  }
  if (!cJSON_IsBool(item)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\" (%s): %s is %s; expected true or "
                        "false",
                        build->path, layer->name, layer->class_name, key,
                        json_kind(item));
  }
  *value = cJSON_IsTrue(item);
  return SW_SUCCESS;
}

/* A whole number in [min, max]; Keras writes tuples ([3]) for Conv1D
   sizes, so a one-element array is accepted where `tuple` is set. */
static SwStatus
config_uint(const KerasBuild* const build, const KerasLayer* const layer,
            const char* const key, const bool tuple, const uint32_t fallback,
            const uint32_t min, const uint32_t max, uint32_t* const value,
            SwError* const err)
{
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(layer->config, key);
  if (!item) {
    *value = fallback;
    return SW_SUCCESS;
  }
  if (tuple && cJSON_IsArray(item) && cJSON_GetArraySize(item) == 1) {
    item = cJSON_GetArrayItem(item, 0);
  }
  const double number = cJSON_IsNumber(item) ? item->valuedouble : -1.0;
  const bool   fits    = number >= (double)min && number <= (double)max &&
                    number == (double)(uint32_t)number;
  if (cJSON_IsNumber(item) && !fits) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\" (%s): %s is %.10g; expected a "
                        "whole number in %u..%u",
                        build->path, layer->name, layer->class_name, key,
                        number, min, max);
  }
  if (!fits) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\" (%s): %s is %s; expected a whole "
                        "number in %u..%u",
                        build->path, layer->name, layer->class_name, key,
                        json_kind(item), min, max);
  }
  *value = (uint32_t)number;
  return SW_SUCCESS;
}

typedef struct {
  const char*  name;
  SwActivation act;
} ActivationName;

static const ActivationName activation_names[] = {
  {"linear", SW_ACT_LINEAR},     {"tanh", SW_ACT_TANH},
  {"relu", SW_ACT_RELU},         {"sigmoid", SW_ACT_SIGMOID},
  {"hard_sigmoid", SW_ACT_HARD_SIGMOID},
  {"elu", SW_ACT_ELU},           {"selu", SW_ACT_SELU},
  {"softsign", SW_ACT_SOFTSIGN}, {"softplus", SW_ACT_SOFTPLUS},
  {"swish", SW_ACT_SWISH},       {"silu", SW_ACT_SWISH},
};

static SwStatus
config_activation(const KerasBuild* const build, const KerasLayer* const layer,
                  const char* const key, const SwActivation fallback,
                  SwActivation* const act, SwError* const err)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(layer->config,
                                                             key);
  if (!item || cJSON_IsNull(item)) {
    *act = fallback;
    return SW_SUCCESS;
  }
  for (size_t i = 0;
       cJSON_IsString(item) &&
       i < sizeof(activation_names) / sizeof(activation_names[0]);
       ++i) {
    if (!strcmp(item->valuestring, activation_names[i].name)) {
      *act = activation_names[i].act;
      /* Same name, different function: Keras 3 made it relu6(x+3)/6. */
      if (*act == SW_ACT_HARD_SIGMOID && build->keras3_hard_sigmoid) {
        *act = SW_ACT_HARD_SIGMOID_K3;
      }
      return SW_SUCCESS;
    }
  }
  return sw_error_set(err, SW_ERR_UNSUPPORTED,
                      "%s: layer \"%s\" (%s): %s is %s%s%s; expected one of "
                      "linear, tanh, relu, sigmoid, hard_sigmoid, elu, selu, "
                      "softsign, softplus, swish",
                      build->path, layer->name, layer->class_name, key,
                      cJSON_IsString(item) ? "\"" : "",
                      cJSON_IsString(item) ? item->valuestring
                                           : json_kind(item),
                      cJSON_IsString(item) ? "\"" : "");
}

static SwStatus
refuse_if_true(const KerasBuild* const build, const KerasLayer* const layer,
               const char* const key, const char* const why,
               SwError* const err)
{
  bool     value = false;
  SwStatus st    = config_bool(build, layer, key, false, &value, err);
  if (!st && value) {
    st = sw_error_set(err, SW_ERR_UNSUPPORTED,
                      "%s: layer \"%s\" (%s): %s is true; %s", build->path,
                      layer->name, layer->class_name, key, why);
  }
  return st;
}

/* ---- layers ------------------------------------------------------------- */

static SwStatus
check_weight_count(KerasBuild* const build, const KerasLayer* const layer,
                   const size_t expected, const char* const names,
                   SwError* const err)
{
  size_t         count = 0;
  const SwStatus st =
    sw_keras_weight_count(build->weights, layer->name, &count, err);
  if (st) {
    return st;
  }
  if (count != expected) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\" (%s): model_weights/%s lists %zu "
                        "weight arrays; the config implies %zu (%s)",
                        build->path, layer->name, layer->class_name,
                        layer->name, count, expected, names);
  }
  return SW_SUCCESS;
}

static SwStatus
next_spec(KerasBuild* const build, const KerasLayer* const layer,
          SwLayerSpec** const spec, SwError* const err)
{
  if (build->num_layers == SW_MAX_LAYERS) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: layer \"%s\" (%s): more than %u layers", build->path,
                        layer->name, layer->class_name, SW_MAX_LAYERS);
  }
  *spec = &build->layers[build->num_layers++];
  return SW_SUCCESS;
}

/* Dense (also the layer inside TimeDistributed, whose weights live under
   the wrapper's name): y = act(x K + b), K (in, units). */
static SwStatus
add_dense(KerasBuild* const build, const KerasLayer* const layer,
          const KerasLayer* const owner, SwError* const err)
{
  uint32_t     units    = 0;
  bool         use_bias = true;
  SwActivation act      = SW_ACT_LINEAR;
  SwStatus     st       = SW_SUCCESS;
  if ((st = config_uint(build, layer, "units", false, 0, 1, SW_MAX_UNITS,
                        &units, err)) ||
      (st = config_bool(build, layer, "use_bias", true, &use_bias, err)) ||
      (st = config_activation(build, layer, "activation", SW_ACT_LINEAR, &act,
                              err)) ||
      (st = check_weight_count(build, owner, use_bias ? 2U : 1U,
                               use_bias ? "kernel, bias" : "kernel", err))) {
    return st;
  }
  const uint32_t in     = build->width;
  float*         kernel = NULL;
  float*         bias   = NULL;
  float* const   w      = new_array(build, (size_t)units * in);
  if (!w) {
    return no_memory(build, err);
  }
  if ((st = fetch(build, owner, 0, "kernel", 2, in, units, 0, &kernel, err)) ||
      (use_bias &&
       (st = fetch(build, owner, 1, "bias", 1, units, 0, 0, &bias, err)))) {
    return st;
  }
  for (uint32_t u = 0; u < units; ++u) {
    for (uint32_t i = 0; i < in; ++i) {
      w[(size_t)u * in + i] = kernel[(size_t)i * units + u];
    }
  }
  SwLayerSpec* spec = NULL;
  if ((st = next_spec(build, owner, &spec, err))) {
    return st;
  }
  *spec            = sw_layer_spec(SW_LAYER_DENSE, units);
  spec->activation = act;
  spec->use_bias   = use_bias;
  spec->kernel     = w;
  spec->bias       = bias;
  build->width     = units;
  build->foldable  = act == SW_ACT_LINEAR;
  return SW_SUCCESS;
}

/* Activation layer: folded into a preceding linear Dense/Conv1D, else an
   identity Dense that applies it. */
static SwStatus
add_activation(KerasBuild* const build, const KerasLayer* const layer,
               SwError* const err)
{
  SwActivation act = SW_ACT_LINEAR;
  SwStatus     st  = config_activation(build, layer, "activation",
                                       SW_ACT_LINEAR, &act, err);
  if (st || act == SW_ACT_LINEAR) {
    return st;
  }
  if (build->foldable) {
    build->layers[build->num_layers - 1U].activation = act;
    build->foldable                                  = false;
    return SW_SUCCESS;
  }
  const uint32_t width = build->width;
  float* const   eye   = new_array(build, (size_t)width * width);
  if (!eye) {
    return no_memory(build, err);
  }
  for (uint32_t u = 0; u < width; ++u) {
    eye[(size_t)u * width + u] = 1.0f;
  }
  SwLayerSpec* spec = NULL;
  if ((st = next_spec(build, layer, &spec, err))) {
    return st;
  }
  *spec            = sw_layer_spec(SW_LAYER_DENSE, width);
  spec->activation = act;
  spec->use_bias   = false;
  spec->kernel     = eye;
  return SW_SUCCESS;
}

/* Conv1D, channels_last. Streaming: stride 1, causal (or valid: the same
   streaming filter; Keras's valid output t is the streamed output
   t + (K-1)d). Windowed: any stride, causal, valid or same, as Keras. */
static SwStatus
add_conv1d(KerasBuild* const build, const KerasLayer* const layer,
           SwError* const err)
{
  uint32_t     filters = 0, taps = 0, stride = 0, dilation = 0, groups = 0;
  bool         use_bias = true;
  SwActivation act      = SW_ACT_LINEAR;
  SwStatus     st       = SW_SUCCESS;
  if ((st = config_uint(build, layer, "filters", false, 0, 1, SW_MAX_UNITS,
                        &filters, err)) ||
      (st = config_uint(build, layer, "kernel_size", true, 0, 1,
                        SW_MAX_KERNEL_SIZE, &taps, err)) ||
      (st = config_uint(build, layer, "strides", true, 1, 1, SW_MAX_STRIDE,
                        &stride, err)) ||
      (st = config_uint(build, layer, "dilation_rate", true, 1, 1,
                        SW_MAX_DILATION, &dilation, err)) ||
      (st = config_uint(build, layer, "groups", false, 1, 1, SW_MAX_UNITS,
                        &groups, err)) ||
      (st = config_bool(build, layer, "use_bias", true, &use_bias, err)) ||
      (st = config_activation(build, layer, "activation", SW_ACT_LINEAR, &act,
                              err))) {
    return st;
  }
  const cJSON* const padding =
    cJSON_GetObjectItemCaseSensitive(layer->config, "padding");
  const cJSON* const data_format =
    cJSON_GetObjectItemCaseSensitive(layer->config, "data_format");
  if (build->sequence_ended) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\" (Conv1D): follows a layer with "
                        "return_sequences=false; expected a sequence input",
                        build->path, layer->name);
  }
  if (stride != 1 && !build->window) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: layer \"%s\" (Conv1D): strides is %u; only "
                        "stride 1 streams one output per input frame (a "
                        "strided front-end runs in a windowed model: a fixed "
                        "input time dimension and a last recurrent layer "
                        "with return_sequences=false, as in GuitarLSTM)",
                        build->path, layer->name, stride);
  }
  const bool same = cJSON_IsString(padding) &&
                    !strcmp(padding->valuestring, "same");
  if (!cJSON_IsString(padding) ||
      (strcmp(padding->valuestring, "causal") &&
       strcmp(padding->valuestring, "valid") && !(same && build->window))) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: layer \"%s\" (Conv1D): padding is %s%s%s; "
                        "expected \"causal\" or \"valid\" (\"same\" looks "
                        "ahead and cannot stream; it runs only in a "
                        "fixed-window model)",
                        build->path, layer->name,
                        cJSON_IsString(padding) ? "\"" : "",
                        cJSON_IsString(padding) ? padding->valuestring
                                                : json_kind(padding),
                        cJSON_IsString(padding) ? "\"" : "");
  }
  if ((data_format && !(cJSON_IsString(data_format) &&
                        !strcmp(data_format->valuestring, "channels_last"))) ||
      groups != 1) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: layer \"%s\" (Conv1D): expected data_format "
                        "\"channels_last\" and groups 1",
                        build->path, layer->name);
  }
  if ((st = check_weight_count(build, layer, use_bias ? 2U : 1U,
                               use_bias ? "kernel, bias" : "kernel", err))) {
    return st;
  }
  const uint32_t in     = build->width;
  float*         kernel = NULL;
  float*         bias   = NULL;
  float* const   w      = new_array(build, (size_t)filters * taps * in);
  if (!w) {
    return no_memory(build, err);
  }
  if ((st = fetch(build, layer, 0, "kernel", 3, taps, in, filters, &kernel,
                  err)) ||
      (use_bias &&
       (st = fetch(build, layer, 1, "bias", 1, filters, 0, 0, &bias, err)))) {
    return st;
  }
  /* Keras kernel[k][c][u] -> canonical row u, column k*I + c. */
  for (uint32_t u = 0; u < filters; ++u) {
    for (uint32_t k = 0; k < taps; ++k) {
      for (uint32_t c = 0; c < in; ++c) {
        w[((size_t)u * taps + k) * in + c] =
          kernel[((size_t)k * in + c) * filters + u];
      }
    }
  }
  SwLayerSpec* spec = NULL;
  if ((st = next_spec(build, layer, &spec, err))) {
    return st;
  }
  *spec             = sw_layer_spec(SW_LAYER_CONV1D, filters);
  spec->activation  = act;
  spec->use_bias    = use_bias;
  spec->kernel_size = taps;
  spec->dilation    = dilation;
  if (build->window) {
    spec->stride  = stride;
    spec->padding = same ? SW_PADDING_SAME
                    : !strcmp(padding->valuestring, "valid")
                      ? SW_PADDING_VALID
                      : SW_PADDING_CAUSAL;
  }
  spec->kernel      = w;
  spec->bias        = bias;
  build->width      = filters;
  build->foldable   = act == SW_ACT_LINEAR;
  return SW_SUCCESS;
}

/* Canonical gate g takes Keras gate block keras_gate[g]. */
static const uint32_t lstm_gates[4] = {0, 1, 2, 3}; /* i f c o = i f g o */
static const uint32_t gru_gates[3]  = {1, 0, 2};    /* r z n <- z r h */
static const uint32_t rnn_gates[1]  = {0};

static SwStatus
add_recurrent(KerasBuild* const build, const KerasLayer* const layer,
              const KerasRecurrentKind kind, SwError* const err)
{
  const bool cudnn = kind == KERAS_CUDNN_LSTM || kind == KERAS_CUDNN_GRU;
  const bool lstm  = kind == KERAS_LSTM || kind == KERAS_CUDNN_LSTM;
  const bool gru   = kind == KERAS_GRU || kind == KERAS_CUDNN_GRU;
  const uint32_t  gates      = lstm ? 4U : gru ? 3U : 1U;
  const uint32_t* keras_gate = lstm ? lstm_gates : gru ? gru_gates : rnn_gates;
  static const char lookahead[] =
    "it runs each call's frames backwards, which a causal stream cannot do";
  static const char extra[] =
    "Statewave streams one output per frame, not the final states";

  uint32_t     units = 0;
  bool         use_bias = true, reset_after = cudnn, return_sequences = false;
  bool         stateful = false;
  SwActivation act = SW_ACT_TANH, recurrent = SW_ACT_SIGMOID;
  SwStatus     st  = SW_SUCCESS;
  if ((st = config_uint(build, layer, "units", false, 0, 1, SW_MAX_UNITS,
                        &units, err)) ||
      (st = refuse_if_true(build, layer, "go_backwards", lookahead, err)) ||
      (st = refuse_if_true(build, layer, "return_state", extra, err)) ||
      (st = refuse_if_true(build, layer, "time_major",
                           "expected batch-major input", err)) ||
      (st = config_bool(build, layer, "return_sequences", false,
                        &return_sequences, err)) ||
      (st = config_bool(build, layer, "stateful", false, &stateful, err))) {
    return st;
  }
  if (!cudnn &&
      ((st = config_bool(build, layer, "use_bias", true, &use_bias, err)) ||
       (st = config_activation(build, layer, "activation", SW_ACT_TANH, &act,
                               err)) ||
       (kind != KERAS_SIMPLE_RNN &&
        (st = config_activation(build, layer, "recurrent_activation",
                                /* Keras < 2.3 default, never omitted by
                                   the versions whose default differs */
                                SW_ACT_HARD_SIGMOID, &recurrent, err))) ||
       (gru && (st = config_bool(build, layer, "reset_after", false,
                                 &reset_after, err))))) {
    return st;
  }
  if (build->sequence_ended) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\" (%s): follows a layer with "
                        "return_sequences=false; expected a sequence input",
                        build->path, layer->name, layer->class_name);
  }
  /* A fixed-window model's last recurrent layer: its last step is the
     window's output (the model is windowed). */
  build->sequence_ended = !return_sequences && build->window;
  if (!return_sequences && build->time_steps > 1 && !build->window) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: layer \"%s\" (%s): return_sequences is false "
                        "over a fixed window of %ld frames: one output per "
                        "window, not per frame (a windowed model needs "
                        "every layer stateless)",
                        build->path, layer->name, layer->class_name,
                        build->time_steps);
  }
  (void)stateful; /* a stream carries state either way (rnn-semantics §3) */

  const uint32_t in   = build->width;
  const size_t   rows = (size_t)gates * units;
  const size_t   bias_length =
    !use_bias ? 0U : (cudnn || (gru && reset_after)) ? 2U * rows : rows;
  if ((st = check_weight_count(build, layer, use_bias ? 3U : 2U,
                               use_bias ? "kernel, recurrent_kernel, bias"
                                        : "kernel, recurrent_kernel",
                               err))) {
    return st;
  }
  float* kernel = NULL;
  float* recurrent_kernel = NULL;
  float* bias = NULL;
  if ((st = fetch(build, layer, 0, "kernel", 2, in, rows, 0, &kernel, err)) ||
      (st = fetch(build, layer, 1, "recurrent_kernel", 2, units, rows, 0,
                  &recurrent_kernel, err))) {
    return st;
  }
  if (use_bias) {
    /* GRU reset_after=True stores (2, 3U); CuDNN layers a flat 2x. */
    const bool two_rows = gru && reset_after && !cudnn;
    if ((st = fetch(build, layer, 2, "bias", two_rows ? 2U : 1U,
                    two_rows ? 2U : bias_length, two_rows ? rows : 0U, 0,
                    &bias, err))) {
      return st;
    }
  }

  float* const w  = new_array(build, rows * in);
  float* const r  = new_array(build, rows * units);
  float* const bw = new_array(build, rows);
  float* const br = new_array(build, rows);
  if (!w || !r || !bw || !br) {
    return no_memory(build, err);
  }
  for (uint32_t g = 0; g < gates; ++g) {
    const size_t block = (size_t)keras_gate[g] * units; /* Keras column */
    for (uint32_t j = 0; j < units; ++j) {
      const size_t row = (size_t)g * units + j;
      for (uint32_t k = 0; k < in; ++k) {
        if (cudnn) {
          /* The (I, U) slice is cuDNN's (U, I) matrix flattened in C
             order: W_g[j][k] = K[(j*I+k) div U][gU + (j*I+k) mod U]. */
          const size_t flat = (size_t)j * in + k;
          w[row * in + k] = kernel[(flat / units) * rows + block + flat % units];
        } else {
          w[row * in + k] = kernel[(size_t)k * rows + block + j];
        }
      }
      for (uint32_t k = 0; k < units; ++k) {
        /* CuDNN: the slice is R_g itself (row j = output unit j). */
        r[row * units + k] =
          cudnn ? recurrent_kernel[(size_t)j * rows + block + k]
                : recurrent_kernel[(size_t)k * rows + block + j];
      }
      if (bias) {
        bw[row] = bias[block + j];
        br[row] = bias_length == 2U * rows ? bias[rows + block + j] : 0.0f;
      }
    }
  }

  SwLayerSpec* spec = NULL;
  if ((st = next_spec(build, layer, &spec, err))) {
    return st;
  }
  *spec = sw_layer_spec(lstm ? SW_LAYER_LSTM
                        : gru ? SW_LAYER_GRU
                              : SW_LAYER_SIMPLE_RNN,
                        units);
  spec->activation           = act;
  spec->recurrent_activation = recurrent;
  spec->gru_reset        = reset_after ? SW_GRU_RESET_AFTER : SW_GRU_RESET_BEFORE;
  spec->use_bias         = use_bias;
  spec->unit_forget_bias = false; /* weights are given: initializer only */
  spec->kernel           = w;
  spec->recurrent_kernel = r;
  spec->bias             = bw;
  spec->recurrent_bias   = br;
  build->width           = units;
  build->foldable        = false;
  return SW_SUCCESS;
}

/* Layers that are the identity at inference. */
static bool
is_identity(const char* const class_name)
{
  static const char* const names[] = {
    "InputLayer",      "Dropout",          "SpatialDropout1D",
    "GaussianNoise",   "GaussianDropout",  "AlphaDropout",
    "ActivityRegularization",
  };
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
    if (!strcmp(class_name, names[i])) {
      return true;
    }
  }
  return false;
}

static SwStatus
add_layer(KerasBuild* const build, const KerasLayer* const layer,
          SwError* const err)
{
  const char* const c = layer->class_name;
  if (is_identity(c)) {
    return SW_SUCCESS;
  }
  if (!strcmp(c, "Dense")) {
    return add_dense(build, layer, layer, err);
  }
  if (!strcmp(c, "Activation")) {
    return add_activation(build, layer, err);
  }
  if (!strcmp(c, "Conv1D")) {
    return add_conv1d(build, layer, err);
  }
  static const struct {
    const char*        name;
    KerasRecurrentKind kind;
  } recurrent[] = {
    {"LSTM", KERAS_LSTM},           {"GRU", KERAS_GRU},
    {"SimpleRNN", KERAS_SIMPLE_RNN}, {"CuDNNLSTM", KERAS_CUDNN_LSTM},
    {"CuDNNGRU", KERAS_CUDNN_GRU},
  };
  for (size_t i = 0; i < sizeof(recurrent) / sizeof(recurrent[0]); ++i) {
    if (!strcmp(c, recurrent[i].name)) {
      return add_recurrent(build, layer, recurrent[i].kind, err);
    }
  }
  if (!strcmp(c, "TimeDistributed")) {
    const cJSON* const inner =
      cJSON_GetObjectItemCaseSensitive(layer->config, "layer");
    const cJSON* const inner_class =
      cJSON_GetObjectItemCaseSensitive(inner, "class_name");
    const cJSON* const inner_config =
      cJSON_GetObjectItemCaseSensitive(inner, "config");
    if (!cJSON_IsString(inner_class) || !cJSON_IsObject(inner_config) ||
        strcmp(inner_class->valuestring, "Dense")) {
      return sw_error_set(err, SW_ERR_UNSUPPORTED,
                          "%s: layer \"%s\" (TimeDistributed): wraps %s; "
                          "expected a Dense layer",
                          build->path, layer->name,
                          cJSON_IsString(inner_class) ? inner_class->valuestring
                                                      : "no layer");
    }
    const KerasLayer dense = {"TimeDistributed(Dense)", layer->name,
                              inner_config};
    return add_dense(build, &dense, layer, err);
  }
  if (!strcmp(c, "Bidirectional")) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: layer \"%s\" (Bidirectional): its backward half "
                        "reads each call's frames from the end, which a "
                        "causal stream cannot do",
                        build->path, layer->name);
  }
  return sw_error_set(err, SW_ERR_UNSUPPORTED,
                      "%s: layer \"%s\" (%s): not a layer Statewave runs; "
                      "expected InputLayer, LSTM, GRU, SimpleRNN, CuDNNLSTM, "
                      "CuDNNGRU, Conv1D, Dense, TimeDistributed(Dense), "
                      "Activation or Dropout",
                      build->path, layer->name, c);
}

/* ---- the model ---------------------------------------------------------- */

/* [batch, time, features] from a batch_input_shape / batch_shape / build
   input shape: sets the input width and the fixed time dimension. */
static SwStatus
read_input_shape(KerasBuild* const build, const cJSON* const shape,
                 const char* const where, uint32_t* const input_width,
                 SwError* const err)
{
  const cJSON* const time     = cJSON_GetArrayItem(shape, 1);
  const cJSON* const features = cJSON_GetArrayItem(shape, 2);
  const double       f = cJSON_IsNumber(features) ? features->valuedouble : 0;
  if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) != 3 ||
      !(cJSON_IsNull(time) || cJSON_IsNumber(time)) ||
      !cJSON_IsNumber(features) || f != (double)(uint32_t)f || f < 1.0 ||
      f > (double)SW_MAX_INPUT_WIDTH) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: %s: expected an input shape [batch, time, "
                        "features] with 1..%u features",
                        build->path, where, SW_MAX_INPUT_WIDTH);
  }
  *input_width      = (uint32_t)f;
  build->time_steps = cJSON_IsNull(time) ? -1L
                      : time->valuedouble >= 1.0 && time->valuedouble < 1e9
                        ? (long)time->valuedouble
                        : -1L;
  return SW_SUCCESS;
}

/* Whether the model is a fixed-window one (see the top of this file): a
   fixed time dimension above 1, no stateful layer, and the last recurrent
   layer gives only its last step. Such a model is trained and run by
   Keras one window at a time (GuitarLSTM's train.py and predict.py). */
static bool
is_fixed_window(const KerasBuild* const build, const cJSON* const layers)
{
  if (build->time_steps <= 1) {
    return false;
  }
  static const char* const recurrent[] = {"LSTM", "GRU", "SimpleRNN",
                                          "CuDNNLSTM", "CuDNNGRU"};
  bool         last_only = false;
  const cJSON* layer     = NULL;
  cJSON_ArrayForEach(layer, layers)
  {
    const cJSON* const class_name =
      cJSON_GetObjectItemCaseSensitive(layer, "class_name");
    const cJSON* const config =
      cJSON_GetObjectItemCaseSensitive(layer, "config");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(config, "stateful"))) {
      return false;
    }
    for (size_t i = 0; i < sizeof(recurrent) / sizeof(recurrent[0]); ++i) {
      if (cJSON_IsString(class_name) &&
          !strcmp(class_name->valuestring, recurrent[i])) {
        last_only = !cJSON_IsTrue(
          cJSON_GetObjectItemCaseSensitive(config, "return_sequences"));
      }
    }
  }
  return last_only;
}

/* The layer list of a Sequential (a list, or {"layers": [...]}) or of a
   functional model that is a single chain input -> ... -> output. */
static SwStatus
model_layers(const KerasBuild* const build, const cJSON* const root,
             const cJSON** const layers, const char** const class_name,
             SwError* const err)
{
  const cJSON* const name   = cJSON_GetObjectItemCaseSensitive(root,
                                                               "class_name");
  const cJSON* const config = cJSON_GetObjectItemCaseSensitive(root, "config");
  if (!cJSON_IsString(name)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: model_config.class_name is %s; expected "
                        "\"Sequential\", \"Functional\" or \"Model\"",
                        build->path, json_kind(name));
  }
  *class_name = name->valuestring;
  *layers     = cJSON_IsArray(config)
                  ? config
                  : cJSON_GetObjectItemCaseSensitive(config, "layers");
  const bool sequential = !strcmp(name->valuestring, "Sequential");
  if (!sequential && strcmp(name->valuestring, "Functional") &&
      strcmp(name->valuestring, "Model")) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: model_config.class_name is \"%s\"; expected "
                        "\"Sequential\", \"Functional\" or \"Model\"",
                        build->path, name->valuestring);
  }
  if (!cJSON_IsArray(*layers) || cJSON_GetArraySize(*layers) < 1) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: model_config.config.layers is %s; expected a "
                        "non-empty list of layers",
                        build->path, json_kind(*layers));
  }
  if (sequential) {
    return SW_SUCCESS;
  }
  /* Functional: each layer's only input is the layer before it. */
  const cJSON* previous = NULL;
  const cJSON* layer    = NULL;
  cJSON_ArrayForEach(layer, *layers)
  {
    const cJSON* const layer_name =
      cJSON_GetObjectItemCaseSensitive(layer, "name");
    const cJSON* const nodes =
      cJSON_GetObjectItemCaseSensitive(layer, "inbound_nodes");
    const cJSON* const node = cJSON_GetArrayItem(nodes, 0);
    const cJSON* const in   = cJSON_GetArrayItem(node, 0);
    const cJSON* const from = cJSON_GetArrayItem(in, 0);
    const bool chained =
      cJSON_IsString(layer_name) &&
      (previous ? cJSON_GetArraySize(nodes) == 1 &&
                    cJSON_GetArraySize(node) == 1 && cJSON_IsString(from) &&
                    !strcmp(from->valuestring, previous->valuestring)
                : cJSON_GetArraySize(nodes) == 0);
    if (!chained) {
      return sw_error_set(err, SW_ERR_UNSUPPORTED,
                          "%s: functional model: layer \"%s\" does not take "
                          "its single input from %s%s%s; expected a chain "
                          "of layers (no branches, merges or nested models)",
                          build->path,
                          cJSON_IsString(layer_name) ? layer_name->valuestring
                                                     : "?",
                          previous ? "\"" : "the model input",
                          previous ? previous->valuestring : "",
                          previous ? "\"" : "");
    }
    previous = layer_name;
  }
  const cJSON* const outputs =
    cJSON_GetObjectItemCaseSensitive(config, "output_layers");
  const cJSON* const output = cJSON_GetArrayItem(cJSON_GetArrayItem(outputs, 0),
                                                 0);
  if (cJSON_GetArraySize(outputs) != 1 || !cJSON_IsString(output) ||
      strcmp(output->valuestring, previous->valuestring)) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: functional model: expected one output, the last "
                        "layer \"%s\"",
                        build->path, previous->valuestring);
  }
  return SW_SUCCESS;
}

static void
add_meta(KerasBuild* const build, const char* const key,
         const char* const value)
{
  if (value && value[0] && build->num_meta < MAX_META) {
    build->meta[build->num_meta].key   = key;
    build->meta[build->num_meta].value = value;
    ++build->num_meta;
  }
}

SwModel*
sw_keras_build(const cJSON* const config, const char* const keras_version,
               const char* const backend, KerasWeights* const weights,
               const char* const path, SwError* const err)
{
  return sw_keras_build_extras(config, keras_version, backend, weights, NULL,
                               path, err);
}

SwModel*
sw_keras_build_extras(const cJSON* const config,
                      const char* const keras_version,
                      const char* const backend, KerasWeights* const weights,
                      const KerasModelExtras* const extras,
                      const char* const path, SwError* const err)
{
  KerasBuild* const build = (KerasBuild*)calloc(1, sizeof(KerasBuild));
  if (!build) {
    sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
    return NULL;
  }
  build->weights             = weights;
  build->path                = path;
  build->keras3_hard_sigmoid = keras_version[0] >= '3' &&
                               keras_version[0] <= '9';
  build->time_steps          = -1;

  SwModel*     model       = NULL;
  const cJSON* layers      = NULL;
  const char*  class_name  = NULL;
  uint32_t     input_width = 0;
  SwStatus     st = model_layers(build, config, &layers, &class_name, err);

  /* The input width: the first layer that states an input shape, else the
     Sequential's build_input_shape. */
  const cJSON* layer = NULL;
  cJSON_ArrayForEach(layer, (st ? NULL : layers))
  {
    const cJSON* const layer_config =
      cJSON_GetObjectItemCaseSensitive(layer, "config");
    const cJSON* shape =
      cJSON_GetObjectItemCaseSensitive(layer_config, "batch_input_shape");
    shape = shape ? shape
                  : cJSON_GetObjectItemCaseSensitive(layer_config,
                                                     "batch_shape");
    if (shape) {
      st = read_input_shape(build, shape, "batch_input_shape", &input_width,
                            err);
      break;
    }
  }
  if (!st && !input_width) {
    const cJSON* const shape = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(config, "config"), "build_input_shape");
    st = shape ? read_input_shape(build, shape, "build_input_shape",
                                  &input_width, err)
               : sw_error_set(err, SW_ERR_BAD_MODEL,
                              "%s: model_config states no input shape "
                              "(batch_input_shape); expected one on the "
                              "first layer",
                              path);
  }
  build->width = input_width;
  if (!st && is_fixed_window(build, layers)) {
    build->window = build->time_steps > (long)SW_MAX_WINDOW
                      ? SW_MAX_WINDOW + 1U /* refused by sw_model_build */
                      : (uint32_t)build->time_steps;
  }

  cJSON_ArrayForEach(layer, (st ? NULL : layers))
  {
    const cJSON* const layer_class =
      cJSON_GetObjectItemCaseSensitive(layer, "class_name");
    const cJSON* const layer_config =
      cJSON_GetObjectItemCaseSensitive(layer, "config");
    const cJSON* const layer_name =
      cJSON_GetObjectItemCaseSensitive(layer_config, "name");
    if (!cJSON_IsString(layer_class) || !cJSON_IsObject(layer_config) ||
        !cJSON_IsString(layer_name)) {
      st = sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: model_config layer %u: expected {\"class_name\": "
                        "string, \"config\": {\"name\": string, ...}}",
                        path, build->num_layers);
      break;
    }
    const KerasLayer keras_layer = {layer_class->valuestring,
                                    layer_name->valuestring, layer_config};
    if ((st = add_layer(build, &keras_layer, err))) {
      break;
    }
  }
  if (!st && build->num_layers == 0) {
    st = sw_error_set(err, SW_ERR_BAD_MODEL,
                      "%s: the model has no layer with weights; expected at "
                      "least one Dense or recurrent layer",
                      path);
  }
  if (!st) {
    add_meta(build, "keras_version", keras_version);
    add_meta(build, "keras_backend", backend);
    add_meta(build, "keras_model_class", class_name);
    SwModelSpec spec;
    memset(&spec, 0, sizeof(spec));
    spec.input_width  = input_width;
    spec.window       = build->window;
    spec.num_layers   = build->num_layers;
    spec.layers       = build->layers;
    spec.num_metadata = build->num_meta;
    spec.metadata     = build->meta;
    if (extras) {
      spec.skip        = extras->skip;
      spec.sample_rate = extras->sample_rate;
    }
    model             = sw_model_build(&spec, 0, err);
    if (!model) {
      sw_error_prefix(err, "%s: ", path);
    } else if (sw_model_set_origin(model, KERAS_FORMAT, path, err)) {
      sw_model_free(model);
      model = NULL;
    }
  }
  for (size_t i = 0; i < build->num_arrays; ++i) {
    free(build->arrays[i]);
  }
  free(build);
  return model;
}
