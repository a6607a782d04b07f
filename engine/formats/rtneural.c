/* RTNeural / AIDA-X JSON (.json, .aidax), as written by RTNeural's
   python/model_utils.py save_model() from a Keras model and by AIDA-X's
   trainer:
     {"in_shape": [null, null, I],
      "in_skip": 0|1, "in_gain": dB, "out_gain": dB,       (AIDA-X, optional)
      "layers": [{"type": "lstm"|"gru"|"dense"|"time-distributed-dense"|
                          "conv1d"|"activation"|...,
                  "activation": "tanh"|"relu"|...|"" (optional),
                  "shape": [null, null, units],
                  "weights": [...Keras layer.get_weights()...],
                  "kernel_size": [K], "dilation": [d], "groups": 1 (conv1d)},
                 ...],
      "input_batch": [...], "output_batch": [...],        (optional)
      "metadata": {"samplerate": "48000" or 48000, ...}}   (optional)
   Weights are Keras's: kernels are [inputs x G*units] with gate blocks
   i,f,c,o (LSTM) and z,r,h (GRU); they are transposed into the canonical
   layout and the GRU's first two blocks swapped into r,z,n. Semantics follow
   RTNeural's model_loader.h (parseJson) and AIDA-X's plugin (applyModel):
   y = out_gain * (net(in_gain * x) + (in_skip ? in_gain * x : 0)). */

#include "error.h"
#include "formats.h"
#include "json_util.h"
#include "metadata.h"
#include "model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RTNEURAL_FORMAT "rtneural-json"
#define MAX_KNOBS 16U
/* Each file layer gives at most one canonical layer, with up to four
   weight arrays (kernel, recurrent kernel, two biases). */
#define MAX_ARRAYS (4U * SW_MAX_LAYERS)
/* AIDA-X's DB_CO() turns gains at or below -90 dB into silence. */
#define AIDAX_MUTE_DB (-90.0)
/* input_batch/output_batch are at most a few nesting levels deep
   ([T], [T][I] or [1][T][I]); deeper is not a reference pair. */
#define MAX_BATCH_DEPTH 4

/* Everything a read allocates, freed in one place. */
typedef struct {
  SwLayerSpec layers[SW_MAX_LAYERS];
  uint32_t    num_layers;
  /* Canonical layers that stand for a file "activation" layer: identity
     Dense layers whose kernel is filled once every width is known to be
     backed by weights in the file. */
  bool        is_identity[SW_MAX_LAYERS];
  float*      arrays[MAX_ARRAYS];
  size_t      num_arrays;
  SwMetaList   meta;
  SwKnobSpec  knobs[MAX_KNOBS]; /* Statewave's metadata.knobs */
  uint32_t    num_knobs;
  double      sample_rate;
  uint32_t    input_width;
  bool        skip;
  float       input_gain_db;
  float       output_gain_db;
  float*      reference_in;
  float*      reference_out;
} RtneuralRead;

/* Where a message points: "layers[2] (dense)". */
typedef struct {
  char name[96];
} LayerName;

bool
sw_rtneural_detect(const cJSON* const root)
{
  /* GuitarML has model_data, NAM architecture + weights; only RTNeural
     exports have in_shape and layers. */
  return cJSON_GetObjectItemCaseSensitive(root, "in_shape") != NULL &&
         cJSON_GetObjectItemCaseSensitive(root, "layers") != NULL &&
         cJSON_GetObjectItemCaseSensitive(root, "model_data") == NULL;
}

static float*
new_array(RtneuralRead* const read, const size_t count)
{
  if (read->num_arrays == MAX_ARRAYS) {
    return NULL;
  }
  float* const array = (float*)calloc(count ? count : 1U, sizeof(float));
  if (array) {
    read->arrays[read->num_arrays++] = array;
  }
  return array;
}

/* Check that `item` is a rows x cols array (rows == 0: a flat vector of
   cols) before anything is allocated for it, so a size written in the file
   never decides an allocation the data does not back. */
static SwStatus
expect_shape(const cJSON* const item, const size_t rows, const size_t cols,
             const char* const field, const char* const path,
             SwError* const err)
{
  const char* const what = rows ? "array" : "vector";
  if (!cJSON_IsArray(item)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s is %s; expected a %zu x %zu %s of numbers",
                        path, field, item ? sw_json_kind(item) : "missing",
                        rows ? rows : 1U, cols, what);
  }
  const size_t n = (size_t)cJSON_GetArraySize(item);
  if (!rows) {
    if (n != cols) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "%s: %s has %zu numbers; expected %zu", path, field,
                          n, cols);
    }
    return SW_SUCCESS;
  }
  if (n != rows) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s has %zu rows; expected a %zu x %zu array",
                        path, field, n, rows, cols);
  }
  size_t       r   = 0;
  const cJSON* row = NULL;
  cJSON_ArrayForEach(row, item)
  {
    if (!cJSON_IsArray(row) || (size_t)cJSON_GetArraySize(row) != cols) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "%s: %s row %zu is %s of %d; expected a %zu x %zu "
                          "array",
                          path, field, r, sw_json_kind(row),
                          cJSON_IsArray(row) ? cJSON_GetArraySize(row) : 0,
                          rows, cols);
    }
    ++r;
  }
  return SW_SUCCESS;
}

/* A temporary buffer for a Keras-layout array, freed by the caller. */
static SwStatus
read_temporary(const cJSON* const item, const size_t rows, const size_t cols,
               const char* const field, float** const dst,
               const char* const path, SwError* const err)
{
  *dst        = NULL;
  SwStatus st = expect_shape(item, rows, cols, field, path, err);
  if (st) {
    return st;
  }
  float* const array =
    (float*)malloc((rows ? rows * cols : cols) * sizeof(float) + 1U);
  if (!array) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  st = sw_json_floats(item, rows, cols, array, field, path, err);
  if (st) {
    free(array);
    return st;
  }
  *dst = array;
  return SW_SUCCESS;
}

/* Keras names as RTNeural's exporter writes them (Keras 2 semantics). */
typedef struct {
  const char*  name;
  SwActivation act;
} ActivationName;

static const ActivationName activation_names[] = {
  {"", SW_ACT_LINEAR},
  {"linear", SW_ACT_LINEAR},
  {"tanh", SW_ACT_TANH},
  {"relu", SW_ACT_RELU},
  {"sigmoid", SW_ACT_SIGMOID},
  {"hard_sigmoid", SW_ACT_HARD_SIGMOID},
  {"elu", SW_ACT_ELU},
  {"selu", SW_ACT_SELU},
  {"softsign", SW_ACT_SOFTSIGN},
  {"softplus", SW_ACT_SOFTPLUS},
  {"swish", SW_ACT_SWISH},
  {"silu", SW_ACT_SWISH},
};

/* The layer's "activation": missing, null or "" is linear. */
static SwStatus
read_activation(const cJSON* const layer, const LayerName* const where,
                SwActivation* const act, const char* const path,
                SwError* const err)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(layer, "activation");
  *act                    = SW_ACT_LINEAR;
  if (!item || cJSON_IsNull(item)) {
    return SW_SUCCESS;
  }
  if (!cJSON_IsString(item)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s.activation is %s; expected a string such as "
                        "\"tanh\" or \"\"",
                        path, where->name, sw_json_kind(item));
  }
  for (size_t i = 0; i < sizeof(activation_names) / sizeof(activation_names[0]);
       ++i) {
    if (!strcmp(item->valuestring, activation_names[i].name)) {
      *act = activation_names[i].act;
      return SW_SUCCESS;
    }
  }
  return sw_error_set(err, SW_ERR_UNSUPPORTED,
                      "%s: %s.activation is \"%.40s\"; expected linear (\"\"), "
                      "tanh, relu, sigmoid, hard_sigmoid, elu, selu, "
                      "softsign, softplus or swish (softmax is not a "
                      "per-sample activation Statewave runs)",
                      path, where->name, item->valuestring);
}

/* An integer, or an array whose last element is one (Keras tuples such as
   shape [null, null, 12] or kernel_size [3]; RTNeural takes .back()). */
static SwStatus
read_last_uint(const cJSON* const item, const char* const field,
               const uint32_t min, const uint32_t max, uint32_t* const value,
               const char* const path, SwError* const err)
{
  const cJSON* number = item;
  if (cJSON_IsArray(item)) {
    const int n = cJSON_GetArraySize(item);
    number      = n > 0 ? cJSON_GetArrayItem(item, n - 1) : NULL;
  }
  const double v = cJSON_IsNumber(number) ? number->valuedouble : (double)NAN;
  if (cJSON_IsNumber(number) &&
      !(v >= (double)min && v <= (double)max && v == floor(v))) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s %s %.10g; expected an integer %u..%u", path,
                        field, number == item ? "is" : "ends in", v, min,
                        max);
  }
  if (!(v >= (double)min && v <= (double)max && v == floor(v))) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s is %s; expected an integer %u..%u (or an "
                        "array ending in one)",
                        path, field, item ? sw_json_kind(item) : "missing",
                        min, max);
  }
  *value = (uint32_t)v;
  return SW_SUCCESS;
}

/* weights[index] of a layer, or NULL past the end. */
static const cJSON*
weight_at(const cJSON* const weights, const int index)
{
  return index < cJSON_GetArraySize(weights)
           ? cJSON_GetArrayItem(weights, index)
           : NULL;
}

/* Keras kernel [inputs x G*units] (gate blocks in `keras_block` order) into
   the canonical [G*units x inputs]: canonical block g is Keras block
   keras_block[g]. */
static void
keras_to_canonical(const float* const keras, const size_t inputs,
                   const size_t units, const size_t gates,
                   const size_t* const keras_block, float* const canonical)
{
  const size_t width = gates * units;
  for (size_t g = 0; g < gates; ++g) {
    for (size_t u = 0; u < units; ++u) {
      const size_t row = g * units + u;
      const size_t col = keras_block[g] * units + u;
      for (size_t c = 0; c < inputs; ++c) {
        canonical[row * inputs + c] = keras[c * width + col];
      }
    }
  }
}

/* Keras bias blocks into canonical order. */
static void
permute_bias(const float* const keras, const size_t units, const size_t gates,
             const size_t* const keras_block, float* const canonical)
{
  for (size_t g = 0; g < gates; ++g) {
    memcpy(canonical + g * units, keras + keras_block[g] * units,
           units * sizeof(float));
  }
}

static SwStatus
read_transposed(RtneuralRead* const read, const cJSON* const item,
                const size_t inputs, const size_t units, const size_t gates,
                const size_t* const keras_block, const char* const field,
                const float** const dst, const char* const path,
                SwError* const err)
{
  float*   keras = NULL;
  SwStatus st =
    read_temporary(item, inputs, gates * units, field, &keras, path, err);
  if (st) {
    return st;
  }
  float* const canonical = new_array(read, inputs * gates * units);
  if (!canonical) {
    free(keras);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  keras_to_canonical(keras, inputs, units, gates, keras_block, canonical);
  free(keras);
  *dst = canonical;
  return SW_SUCCESS;
}

static SwStatus
read_bias(RtneuralRead* const read, const cJSON* const item,
          const size_t units, const size_t gates,
          const size_t* const keras_block, const char* const field,
          const float** const dst, const char* const path, SwError* const err)
{
  float*   keras = NULL;
  SwStatus st    = read_temporary(item, 0, gates * units, field, &keras, path,
                                  err);
  if (st) {
    return st;
  }
  float* const canonical = new_array(read, gates * units);
  if (!canonical) {
    free(keras);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  permute_bias(keras, units, gates, keras_block, canonical);
  free(keras);
  *dst = canonical;
  return SW_SUCCESS;
}

static const size_t keras_lstm_blocks[4] = {0, 1, 2, 3}; /* i,f,c,o */
static const size_t keras_gru_blocks[3]  = {1, 0, 2};    /* z,r,h -> r,z,n */
static const size_t single_block[1]      = {0};

/* RTNeural runs its LSTM and GRU with tanh and sigmoid whatever the file
   says; a Keras layer with another activation would not sound the same in
   RTNeural, so it is refused rather than guessed. */
static SwStatus
check_recurrent_activation(const cJSON* const layer,
                           const LayerName* const where,
                           const char* const path, SwError* const err)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(layer, "activation");
  /* A missing key and "" (AIDA-X's exporter) mean the default, tanh. */
  if (!item || cJSON_IsNull(item)) {
    return SW_SUCCESS;
  }
  if (!cJSON_IsString(item)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s.activation is %s; expected a string such as "
                        "\"tanh\" or \"\"",
                        path, where->name, sw_json_kind(item));
  }
  if (item->valuestring[0] != '\0' && strcmp(item->valuestring, "tanh")) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: %s.activation is \"%.40s\"; RTNeural's "
                        "recurrent layers always use tanh (expected \"tanh\" "
                        "or \"\")",
                        path, where->name, item->valuestring);
  }
  return SW_SUCCESS;
}

static SwStatus
read_recurrent(RtneuralRead* const read, const cJSON* const layer,
               const LayerName* const where, const bool is_gru,
               const uint32_t inputs, const uint32_t units,
               SwLayerSpec* const spec, const char* const path,
               SwError* const err)
{
  SwStatus st = check_recurrent_activation(layer, where, path, err);
  if (st) {
    return st;
  }
  const cJSON* const weights = cJSON_GetObjectItemCaseSensitive(layer, "weights");
  const int          count   = cJSON_GetArraySize(weights);
  if (!cJSON_IsArray(weights) || count < 2 || count > 3) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s.weights is %s%s; expected [kernel, "
                        "recurrent_kernel, bias] (Keras get_weights())",
                        path, where->name,
                        weights ? sw_json_kind(weights) : "missing",
                        cJSON_IsArray(weights) ? " of the wrong length" : "");
  }
  const size_t  gates  = is_gru ? 3U : 4U;
  const size_t* blocks = is_gru ? keras_gru_blocks : keras_lstm_blocks;
  *spec = sw_layer_spec(is_gru ? SW_LAYER_GRU : SW_LAYER_LSTM, units);
  spec->activation           = SW_ACT_TANH;
  spec->recurrent_activation = SW_ACT_SIGMOID;
  spec->unit_forget_bias     = false; /* the file's bias is the bias */
  spec->use_bias             = count == 3;
  char field[160];
  snprintf(field, sizeof(field), "%s.weights[0] (kernel)", where->name);
  if ((st = read_transposed(read, weight_at(weights, 0), inputs, units, gates,
                            blocks, field, &spec->kernel, path, err))) {
    return st;
  }
  snprintf(field, sizeof(field), "%s.weights[1] (recurrent kernel)",
           where->name);
  if ((st = read_transposed(read, weight_at(weights, 1), units, units, gates,
                            blocks, field, &spec->recurrent_kernel, path,
                            err))) {
    return st;
  }
  if (!spec->use_bias) {
    return SW_SUCCESS;
  }
  const cJSON* const bias = weight_at(weights, 2);
  snprintf(field, sizeof(field), "%s.weights[2] (bias)", where->name);
  float* const zeros = new_array(read, gates * units);
  if (!zeros) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  if (!is_gru) {
    /* Keras LSTM: one bias, added once; the canonical second bias is 0. */
    spec->recurrent_bias = zeros;
    return read_bias(read, bias, units, gates, blocks, field, &spec->bias,
                     path, err);
  }
  if (cJSON_IsArray(bias) && cJSON_GetArraySize(bias) == 2 &&
      cJSON_IsArray(cJSON_GetArrayItem(bias, 0))) {
    /* reset_after=True (what RTNeural runs): row 0 input bias, row 1
       recurrent bias, the latter inside r * (...). */
    snprintf(field, sizeof(field), "%s.weights[2][0] (input bias)",
             where->name);
    if ((st = read_bias(read, cJSON_GetArrayItem(bias, 0), units, gates,
                        blocks, field, &spec->bias, path, err))) {
      return st;
    }
    snprintf(field, sizeof(field), "%s.weights[2][1] (recurrent bias)",
             where->name);
    spec->gru_reset = SW_GRU_RESET_AFTER;
    return read_bias(read, cJSON_GetArrayItem(bias, 1), units, gates, blocks,
                     field, &spec->recurrent_bias, path, err);
  }
  /* A flat [3U] bias is Keras's reset_after=False GRU. RTNeural itself
     cannot load it; Statewave runs it with Keras's semantics. */
  if (!(cJSON_IsArray(bias) && (size_t)cJSON_GetArraySize(bias) == 3U * units)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s: expected a 2 x %u array (reset_after=True: "
                        "input and recurrent bias) or %u numbers "
                        "(reset_after=False)",
                        path, field, 3U * units, 3U * units);
  }
  spec->gru_reset      = SW_GRU_RESET_BEFORE;
  spec->recurrent_bias = zeros;
  return read_bias(read, bias, units, gates, blocks, field, &spec->bias, path,
                   err);
}

static SwStatus
read_dense(RtneuralRead* const read, const cJSON* const layer,
           const LayerName* const where, const uint32_t inputs,
           const uint32_t units, SwLayerSpec* const spec,
           const char* const path, SwError* const err)
{
  *spec       = sw_layer_spec(SW_LAYER_DENSE, units);
  SwStatus st = read_activation(layer, where, &spec->activation, path, err);
  if (st) {
    return st;
  }
  const cJSON* const weights = cJSON_GetObjectItemCaseSensitive(layer, "weights");
  const int          count   = cJSON_GetArraySize(weights);
  if (!cJSON_IsArray(weights) || count < 1 || count > 2) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s.weights is %s%s; expected [kernel, bias] or "
                        "[kernel]",
                        path, where->name,
                        weights ? sw_json_kind(weights) : "missing",
                        cJSON_IsArray(weights) ? " of the wrong length" : "");
  }
  char field[160];
  snprintf(field, sizeof(field), "%s.weights[0] (kernel)", where->name);
  if ((st = read_transposed(read, weight_at(weights, 0), inputs, units, 1U,
                            single_block, field, &spec->kernel, path, err))) {
    return st;
  }
  /* RTNeural's loader takes the bias only when there is one. */
  spec->use_bias = count == 2;
  if (!spec->use_bias) {
    return SW_SUCCESS;
  }
  snprintf(field, sizeof(field), "%s.weights[1] (bias)", where->name);
  return read_bias(read, weight_at(weights, 1), units, 1U, single_block, field,
                   &spec->bias, path, err);
}

/* Keras Conv1D kernel [K][inputs][units] -> canonical [units x K*inputs],
   column k*inputs + c = kernel[k][c][u]. Tap K-1 is the newest frame in
   both (RTNeural's loader reverses the taps into its own newest-first
   order), and RTNeural streams the convolution causally. */
static SwStatus
read_conv1d(RtneuralRead* const read, const cJSON* const layer,
            const LayerName* const where, const uint32_t inputs,
            const uint32_t units, SwLayerSpec* const spec,
            const char* const path, SwError* const err)
{
  *spec       = sw_layer_spec(SW_LAYER_CONV1D, units);
  SwStatus st = read_activation(layer, where, &spec->activation, path, err);
  if (st) {
    return st;
  }
  char field[160];
  snprintf(field, sizeof(field), "%s.kernel_size", where->name);
  if ((st = read_last_uint(cJSON_GetObjectItemCaseSensitive(layer,
                                                            "kernel_size"),
                           field, 1, SW_MAX_KERNEL_SIZE, &spec->kernel_size,
                           path, err))) {
    return st;
  }
  snprintf(field, sizeof(field), "%s.dilation", where->name);
  if ((st = read_last_uint(cJSON_GetObjectItemCaseSensitive(layer, "dilation"),
                           field, 1, SW_MAX_DILATION, &spec->dilation, path,
                           err))) {
    return st;
  }
  const cJSON* const groups = cJSON_GetObjectItemCaseSensitive(layer, "groups");
  if (groups && !(cJSON_IsNumber(groups) && groups->valuedouble == 1.0)) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: %s.groups is %s; only groups = 1 is supported",
                        path, where->name, sw_json_kind(groups));
  }
  const cJSON* const weights = cJSON_GetObjectItemCaseSensitive(layer, "weights");
  if (!cJSON_IsArray(weights) || cJSON_GetArraySize(weights) != 2) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s.weights is %s; expected [kernel, bias] "
                        "(RTNeural's Conv1D always has a bias)",
                        path, where->name,
                        weights ? sw_json_kind(weights) : "missing");
  }
  const cJSON* const kernel = weight_at(weights, 0);
  const size_t       taps   = spec->kernel_size;
  if (!cJSON_IsArray(kernel) || (size_t)cJSON_GetArraySize(kernel) != taps) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s.weights[0] (kernel) is %s of %d; expected a "
                        "%zu x %u x %u array (kernel_size x inputs x units)",
                        path, where->name,
                        kernel ? sw_json_kind(kernel) : "missing",
                        cJSON_IsArray(kernel) ? cJSON_GetArraySize(kernel) : 0,
                        taps, inputs, units);
  }
  /* Every tap's shape is checked before the canonical kernel is made. */
  size_t       k   = 0;
  const cJSON* tap = NULL;
  cJSON_ArrayForEach(tap, kernel)
  {
    snprintf(field, sizeof(field), "%s.weights[0][%zu] (kernel tap)",
             where->name, k);
    if ((st = expect_shape(tap, inputs, units, field, path, err))) {
      return st;
    }
    ++k;
  }
  const size_t cols      = taps * inputs;
  float* const canonical = new_array(read, (size_t)units * cols);
  if (!canonical) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  spec->kernel = canonical;
  k            = 0;
  cJSON_ArrayForEach(tap, kernel)
  {
    float* keras = NULL;
    snprintf(field, sizeof(field), "%s.weights[0][%zu] (kernel tap)",
             where->name, k);
    if ((st = read_temporary(tap, inputs, units, field, &keras, path, err))) {
      return st;
    }
    for (size_t u = 0; u < units; ++u) {
      for (size_t c = 0; c < inputs; ++c) {
        canonical[u * cols + k * inputs + c] = keras[c * units + u];
      }
    }
    free(keras);
    ++k;
  }
  snprintf(field, sizeof(field), "%s.weights[1] (bias)", where->name);
  return read_bias(read, weight_at(weights, 1), units, 1U, single_block, field,
                   &spec->bias, path, err);
}

/* A file "activation" layer: folded into the layer before when that is a
   linear Dense or Conv1D (exact: act(W x + b)), else an identity Dense
   with the activation (exact: act(1 * x + 0)). */
static SwStatus
add_activation_layer(RtneuralRead* const read, const cJSON* const layer,
                     const LayerName* const where, const uint32_t width,
                     const char* const path, SwError* const err)
{
  SwActivation act = SW_ACT_LINEAR;
  SwStatus     st  = read_activation(layer, where, &act, path, err);
  if (st || act == SW_ACT_LINEAR) {
    return st;
  }
  if (read->num_layers > 0) {
    SwLayerSpec* const last = &read->layers[read->num_layers - 1U];
    if ((last->type == SW_LAYER_DENSE || last->type == SW_LAYER_CONV1D) &&
        last->activation == SW_ACT_LINEAR) {
      last->activation = act;
      return SW_SUCCESS;
    }
  }
  SwLayerSpec* const spec = &read->layers[read->num_layers];
  *spec                   = sw_layer_spec(SW_LAYER_DENSE, width);
  spec->activation        = act;
  spec->use_bias          = false;
  read->is_identity[read->num_layers] = true;
  ++read->num_layers;
  return SW_SUCCESS;
}

/* Types RTNeural reads that have no Statewave equivalent. */
static const char* const unsupported_types[] = {
  "conv2d", "prelu", "batchnorm", "batchnorm2d",
};

static SwStatus
read_layer(RtneuralRead* const read, const cJSON* const layer,
           const uint32_t index, uint32_t* const width, const char* const path,
           SwError* const err)
{
  LayerName where;
  snprintf(where.name, sizeof(where.name), "layers[%u]", index);
  if (!cJSON_IsObject(layer)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s is %s; expected an object with type, shape "
                        "and weights",
                        path, where.name, sw_json_kind(layer));
  }
  const cJSON* const type = cJSON_GetObjectItemCaseSensitive(layer, "type");
  if (!cJSON_IsString(type)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s.type is %s; expected a string such as "
                        "\"lstm\", \"gru\" or \"dense\"",
                        path, where.name,
                        type ? sw_json_kind(type) : "missing");
  }
  const char* const name = type->valuestring;
  snprintf(where.name, sizeof(where.name), "layers[%u] (%.40s)", index, name);

  char     field[160];
  uint32_t units = 0;
  snprintf(field, sizeof(field), "%s.shape", where.name);
  SwStatus st =
    read_last_uint(cJSON_GetObjectItemCaseSensitive(layer, "shape"), field, 1,
                   SW_MAX_UNITS, &units, path, err);
  const bool is_activation = !strcmp(name, "activation");
  const bool is_dense =
    !strcmp(name, "dense") || !strcmp(name, "time-distributed-dense");
  const bool is_lstm   = !strcmp(name, "lstm");
  const bool is_gru    = !strcmp(name, "gru");
  const bool is_conv1d = !strcmp(name, "conv1d");
  if (!is_activation && !is_dense && !is_lstm && !is_gru && !is_conv1d) {
    for (size_t i = 0;
         i < sizeof(unsupported_types) / sizeof(unsupported_types[0]); ++i) {
      if (!strcmp(name, unsupported_types[i])) {
        return sw_error_set(err, SW_ERR_UNSUPPORTED,
                            "%s: %s: RTNeural layer type \"%s\" is not "
                            "supported; Statewave reads lstm, gru, dense, "
                            "time-distributed-dense, conv1d and activation",
                            path, where.name, name);
      }
    }
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: %s: unknown layer type \"%.40s\"; expected lstm, "
                        "gru, dense, time-distributed-dense, conv1d or "
                        "activation",
                        path, where.name, name);
  }
  if (st) {
    return st;
  }
  if (is_activation) {
    if (units != *width) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "%s: %s.shape ends in %u; expected the width of "
                          "its input, %u",
                          path, where.name, units, *width);
    }
    return add_activation_layer(read, layer, &where, *width, path, err);
  }
  SwLayerSpec* const spec = &read->layers[read->num_layers];
  if (is_lstm || is_gru) {
    st = read_recurrent(read, layer, &where, is_gru, *width, units, spec, path,
                        err);
  } else if (is_dense) {
    st = read_dense(read, layer, &where, *width, units, spec, path, err);
  } else {
    st = read_conv1d(read, layer, &where, *width, units, spec, path, err);
  }
  if (!st) {
    ++read->num_layers;
    *width = units;
  }
  return st;
}

static SwStatus
read_layers(RtneuralRead* const read, const cJSON* const root,
            const char* const path, SwError* const err)
{
  const cJSON* const layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
  const int          count  = cJSON_GetArraySize(layers);
  if (!cJSON_IsArray(layers) || count < 1 || count > (int)SW_MAX_LAYERS) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layers is %s%s; expected an array of 1..%u "
                        "layer objects",
                        path, sw_json_kind(layers),
                        cJSON_IsArray(layers) ? " of the wrong length" : "",
                        SW_MAX_LAYERS);
  }
  uint32_t     width = read->input_width;
  uint32_t     index = 0;
  bool         saw_weights = false;
  const cJSON* layer = NULL;
  cJSON_ArrayForEach(layer, layers)
  {
    const uint32_t before = read->num_layers;
    const SwStatus st     = read_layer(read, layer, index, &width, path, err);
    if (st) {
      return st;
    }
    saw_weights = saw_weights ||
                  (read->num_layers > before && !read->is_identity[before]);
    ++index;
  }
  if (!saw_weights) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layers has no lstm, gru, dense or conv1d layer; "
                        "expected at least one layer with weights",
                        path);
  }
  /* Identity kernels only now: every width has been checked against weight
     arrays in the file, so their size is backed by data. */
  for (uint32_t l = 0; l < read->num_layers; ++l) {
    if (!read->is_identity[l]) {
      continue;
    }
    const size_t n      = read->layers[l].units;
    float* const kernel = new_array(read, n * n);
    if (!kernel) {
      return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
    }
    for (size_t i = 0; i < n; ++i) {
      kernel[i * n + i] = 1.0f;
    }
    read->layers[l].kernel = kernel;
  }
  return SW_SUCCESS;
}

/* in_shape, in_skip, in_gain and out_gain (AIDA-X's extensions). */
static SwStatus
read_header(RtneuralRead* const read, const cJSON* const root,
            const char* const path, SwError* const err)
{
  const cJSON* const shape = cJSON_GetObjectItemCaseSensitive(root, "in_shape");
  if (cJSON_IsArray(shape) && cJSON_GetArraySize(shape) == 4) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: in_shape has 4 dimensions (a Conv2D model); "
                        "expected [null, null, inputs]",
                        path);
  }
  SwStatus st = read_last_uint(shape, "in_shape", 1, SW_MAX_INPUT_WIDTH,
                               &read->input_width, path, err);
  if (st) {
    return st;
  }
  const cJSON* const skip = cJSON_GetObjectItemCaseSensitive(root, "in_skip");
  if (skip) {
    /* AIDA-X refuses in_skip > 1. */
    if (!(cJSON_IsNumber(skip) &&
          (skip->valuedouble == 0.0 || skip->valuedouble == 1.0)) &&
        !cJSON_IsBool(skip)) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "%s: in_skip is %s; expected 0 or 1", path,
                          sw_json_kind(skip));
    }
    read->skip = cJSON_IsBool(skip) ? cJSON_IsTrue(skip)
                                    : skip->valuedouble != 0.0;
  }
  static const char* const gain_keys[2] = {"in_gain", "out_gain"};
  float* const gains[2] = {&read->input_gain_db, &read->output_gain_db};
  for (size_t i = 0; i < 2; ++i) {
    const cJSON* const gain = cJSON_GetObjectItemCaseSensitive(root,
                                                               gain_keys[i]);
    if (!gain) {
      continue;
    }
    /* dB, as AIDA-X's DB_CO(): 10^(g/20), and silence at or below -90. */
    double db = 0.0;
    if (!cJSON_IsNumber(gain) || !isfinite(db = gain->valuedouble) ||
        db > 120.0) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "%s: %s is %s; expected a gain in dB up to 120",
                          path, gain_keys[i], sw_json_kind(gain));
    }
    if (db <= AIDAX_MUTE_DB) {
      return sw_error_set(err, SW_ERR_UNSUPPORTED,
                          "%s: %s is %g dB; AIDA-X mutes gains at or below "
                          "%g dB, a model Statewave does not run",
                          path, gain_keys[i], db, AIDAX_MUTE_DB);
    }
    *gains[i] = (float)db;
  }
  return SW_SUCCESS;
}

/* AIDA-X's "metadata": free-text facts and the training sample rate, which
   AIDA-X's exporter writes as a string ("48000"). */
static SwStatus
read_metadata(RtneuralRead* const read, const cJSON* const root,
              const char* const path, SwError* const err)
{
  /* Statewave's "knobs" entry is written by sw_model_save(); RTNeural and
     AIDA-X ignore it. */
  const uint32_t inputs = read->input_width - 1U;
  const SwStatus st     = sw_meta_read_object(
    root, &read->meta, read->knobs, inputs < MAX_KNOBS ? inputs : MAX_KNOBS,
    &read->num_knobs, &read->sample_rate, path, err);
  if (st || read->sample_rate != 0.0) {
    return st;
  }
  return sw_meta_add(&read->meta, "sample_rate_note",
                     "not stated in the file; RTNeural and AIDA-X run a model "
                     "at the host rate without resampling (AIDA-X's trainer "
                     "uses 48 kHz audio)",
                     path, err);
}

/* Numbers in a nested array, at most MAX_BATCH_DEPTH deep; false when
   something else is inside. */
static bool
count_numbers(const cJSON* const item, const int depth, size_t* const count)
{
  if (cJSON_IsNumber(item)) {
    ++*count;
    return isfinite(item->valuedouble);
  }
  if (!cJSON_IsArray(item) || depth >= MAX_BATCH_DEPTH) {
    return false;
  }
  const cJSON* child = NULL;
  cJSON_ArrayForEach(child, item)
  {
    if (!count_numbers(child, depth + 1, count)) {
      return false;
    }
  }
  return true;
}

static void
flatten_numbers(const cJSON* const item, float* const dst, size_t* const at)
{
  if (cJSON_IsNumber(item)) {
    dst[(*at)++] = (float)item->valuedouble;
    return;
  }
  const cJSON* child = NULL;
  cJSON_ArrayForEach(child, item)
  {
    flatten_numbers(child, dst, at);
  }
}

/* input_batch / output_batch as flat float arrays (frame-major; nested
   [T][I] or [1][T][I] flatten to the same order). */
static SwStatus
read_batch(const cJSON* const item, const char* const key, float** const dst,
           size_t* const count, const char* const path, SwError* const err)
{
  *count = 0;
  if (!count_numbers(item, 0, count) || !cJSON_IsArray(item) || !*count) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s is %s; expected a non-empty array of finite "
                        "numbers (flat or nested up to %d levels)",
                        path, key, sw_json_kind(item), MAX_BATCH_DEPTH);
  }
  /* The count is of numbers present in the document: backed by data. */
  *dst = (float*)malloc(*count * sizeof(float));
  if (!*dst) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  size_t at = 0;
  flatten_numbers(item, *dst, &at);
  return SW_SUCCESS;
}

static SwStatus
attach_reference(RtneuralRead* const read, SwModel* const model,
                 const cJSON* const root, const char* const path,
                 SwError* const err)
{
  const cJSON* const in  = cJSON_GetObjectItemCaseSensitive(root, "input_batch");
  const cJSON* const out = cJSON_GetObjectItemCaseSensitive(root,
                                                            "output_batch");
  if (!in && !out) {
    return SW_SUCCESS;
  }
  if (!in || !out) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s without %s; expected both or neither", path,
                        in ? "input_batch" : "output_batch",
                        in ? "output_batch" : "input_batch");
  }
  SwModelInfo info;
  sw_model_info(model, &info);
  size_t   in_count  = 0;
  size_t   out_count = 0;
  SwStatus st = read_batch(in, "input_batch", &read->reference_in, &in_count,
                           path, err);
  if (!st) {
    st = read_batch(out, "output_batch", &read->reference_out, &out_count,
                    path, err);
  }
  if (st) {
    return st;
  }
  const size_t frames = in_count / info.input_width;
  if (in_count % info.input_width) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: input_batch has %zu numbers; expected a multiple "
                        "of the input width %u",
                        path, in_count, info.input_width);
  }
  if (out_count != frames * info.output_width) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: output_batch has %zu numbers; expected %zu "
                        "(%zu frames of output width %u, as in input_batch)",
                        path, out_count, frames * info.output_width, frames,
                        info.output_width);
  }
  return sw_model_set_reference(model, read->reference_in, read->reference_out,
                                frames, err);
}

static void
free_read(RtneuralRead* const read)
{
  for (size_t i = 0; i < read->num_arrays; ++i) {
    free(read->arrays[i]);
  }
  sw_meta_free(&read->meta);
  free(read->reference_in);
  free(read->reference_out);
  free(read);
}

SwModel*
sw_rtneural_read(const cJSON* const root, const char* const path,
                 SwError* const err)
{
  RtneuralRead* const read = (RtneuralRead*)calloc(1, sizeof(RtneuralRead));
  if (!read) {
    sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
    return NULL;
  }
  SwModel* model = NULL;
  if (!read_header(read, root, path, err) &&
      !read_layers(read, root, path, err) &&
      !read_metadata(read, root, path, err)) {
    SwModelSpec spec;
    memset(&spec, 0, sizeof(spec));
    spec.input_width    = read->input_width;
    spec.num_layers     = read->num_layers;
    spec.layers         = read->layers;
    spec.skip           = read->skip;
    spec.input_gain_db  = read->input_gain_db;
    spec.output_gain_db = read->output_gain_db;
    spec.sample_rate    = read->sample_rate;
    spec.num_metadata   = read->meta.count;
    spec.metadata       = read->meta.entries;
    spec.num_knobs      = read->num_knobs;
    spec.knobs          = read->knobs;
    model               = sw_model_build(&spec, 0, err);
    if (!model) {
      sw_error_prefix(err, "%s: ", path);
    } else if (sw_model_set_origin(model, RTNEURAL_FORMAT, path, err) ||
               attach_reference(read, model, root, path, err)) {
      sw_model_free(model);
      model = NULL;
    }
  }
  free_read(read);
  return model;
}
