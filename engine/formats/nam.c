/* Neural Amp Modeler .nam files (JSON), architecture "LSTM":
     {"version": "0.5.4",
      "architecture": "LSTM",
      "config": {"input_size": 1, "hidden_size": H, "num_layers": L,
                 "in_channels": 1, "out_channels": 1},  (channels optional)
      "weights": [flat numbers],
      "sample_rate": 48000,                             (optional)
      "metadata": {"loudness": -37.8, "input_level_dbu": 18.3, ...}}
   The flat weights, as NeuralAmpModelerCore's LSTMCell and LSTM
   constructors consume them and the Python trainer's LSTM._export_weights
   writes them:
     per layer l (input width I = input_size for l = 0, else H):
       W  [4H x (I+H)] row-major, rows gates i,f,g,o, columns [x, h]
       b  [4H]   bias_ih + bias_hh summed by the exporter
       h0 [H]    initial hidden state
       c0 [H]    initial cell state
     head: weight [out_channels x H] row-major, then bias [out_channels].
   h0/c0 are used as they are: the core copies them straight into its state.
   (The trainer exports the state its LSTM reaches after 48000 samples of
   silence from zeros, not its learned parameters; either way they are the
   state the network starts from.) So W splits into the canonical kernel and
   recurrent kernel, b is the bias and the recurrent bias is zero. */

#include "error.h"
#include "formats.h"
#include "json_util.h"
#include "metadata.h"
#include "model_impl.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAM_FORMAT "nam"
/* NAM's trainer and plugin assume 48 kHz when a file does not say. */
#define NAM_DEFAULT_RATE 48000.0
#define NAM_MAX_RATE 10.0e6

typedef struct {
  uint32_t inputs;
  uint32_t hidden;
  uint32_t layers;
  uint32_t outputs;
} NamShape;

/* Everything a read allocates, freed in one place. */
typedef struct {
  float*       weights;    /* the flat array, as read */
  float*       split;      /* kernels and recurrent kernels, per layer */
  float*       zero_bias;  /* [4H] zeros: the recurrent bias */
  SwLayerSpec* layers;
  SwMetaList   meta;
  double       sample_rate;
} NamRead;

bool
sw_nam_detect(const cJSON* const root)
{
  /* "config" is not required here so that a file without it gets a precise
     error from the reader rather than "unknown JSON model". */
  return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root,
                                                         "architecture")) &&
         cJSON_GetObjectItemCaseSensitive(root, "weights") != NULL;
}

static uint32_t
layer_input_width(const NamShape* const shape, const uint32_t layer)
{
  return layer == 0 ? shape->inputs : shape->hidden;
}

/* Floats one layer takes from the flat array: W, b, h0, c0. */
static uint64_t
layer_weight_count(const NamShape* const shape, const uint32_t layer)
{
  const uint64_t rows = 4U * (uint64_t)shape->hidden;
  return rows * ((uint64_t)layer_input_width(shape, layer) + shape->hidden) +
         rows + 2U * (uint64_t)shape->hidden;
}

/* The whole flat array the config implies. The limits on the sizes keep
   this far below 2^64. */
static uint64_t
expected_weight_count(const NamShape* const shape)
{
  uint64_t total = 0;
  for (uint32_t l = 0; l < shape->layers; ++l) {
    total += layer_weight_count(shape, l);
  }
  return total + (uint64_t)shape->outputs * shape->hidden + shape->outputs;
}

/* Name what weights[index] is, for messages ("layer 0 W[2][3]"). */
static void
describe_weight(const NamShape* const shape, size_t index, char* const out,
                const size_t out_size)
{
  const size_t rows = 4U * (size_t)shape->hidden;
  for (uint32_t l = 0; l < shape->layers; ++l) {
    const size_t cols  = (size_t)layer_input_width(shape, l) + shape->hidden;
    const size_t count = (size_t)layer_weight_count(shape, l);
    if (index < count) {
      if (index < rows * cols) {
        snprintf(out, out_size, "layer %u W[%zu][%zu]", l, index / cols,
                 index % cols);
      } else if ((index -= rows * cols) < rows) {
        snprintf(out, out_size, "layer %u bias[%zu]", l, index);
      } else if ((index -= rows) < shape->hidden) {
        snprintf(out, out_size, "layer %u h0[%zu]", l, index);
      } else {
        snprintf(out, out_size, "layer %u c0[%zu]", l, index - shape->hidden);
      }
      return;
    }
    index -= count;
  }
  const size_t head = (size_t)shape->outputs * shape->hidden;
  if (index < head) {
    snprintf(out, out_size, "head weight[%zu][%zu]", index / shape->hidden,
             index % shape->hidden);
  } else {
    snprintf(out, out_size, "head bias[%zu]", index - head);
  }
}

static SwStatus
check_architecture(const cJSON* const root, const char* const path,
                   SwError* const err)
{
  const cJSON* const arch =
    cJSON_GetObjectItemCaseSensitive(root, "architecture");
  if (!cJSON_IsString(arch)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: architecture is %s; expected a string such as "
                        "\"LSTM\"",
                        path, sw_json_kind(arch));
  }
  if (strcmp(arch->valuestring, "LSTM") != 0) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: NAM architecture \"%.64s\" is not supported; "
                        "Statewave runs NAM LSTM models",
                        path, arch->valuestring);
  }
  return SW_SUCCESS;
}

static SwStatus
read_shape(const cJSON* const root, const char* const path,
           NamShape* const shape, SwError* const err)
{
  const cJSON* const config = cJSON_GetObjectItemCaseSensitive(root, "config");
  if (!cJSON_IsObject(config)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: config is %s; expected an object with "
                        "input_size, hidden_size and num_layers",
                        path, config ? sw_json_kind(config) : "missing");
  }
  uint32_t in_channels = 0;
  SwStatus st          = SW_SUCCESS;
  /* The head must be at most SW_MAX_LAYERS - 1 layers away. */
  if ((st = sw_json_uint(config, "config", "input_size", true, 0, 1,
                         SW_MAX_INPUT_WIDTH, &shape->inputs, path, err)) ||
      (st = sw_json_uint(config, "config", "hidden_size", true, 0, 1,
                         SW_MAX_UNITS, &shape->hidden, path, err)) ||
      (st = sw_json_uint(config, "config", "num_layers", true, 0, 1,
                         SW_MAX_LAYERS - 1U, &shape->layers, path, err)) ||
      (st = sw_json_uint(config, "config", "in_channels", false, 0, 1,
                         SW_MAX_INPUT_WIDTH, &in_channels, path, err)) ||
      (st = sw_json_uint(config, "config", "out_channels", false, 1, 1,
                         SW_MAX_UNITS, &shape->outputs, path, err))) {
    return st;
  }
  /* NeuralAmpModelerCore fills the LSTM's input_size inputs from
     in_channels channels; anything but equal leaves inputs undefined. */
  if (in_channels != 0 && in_channels != shape->inputs) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: config.in_channels is %u; expected %u, the same "
                        "as config.input_size",
                        path, in_channels, shape->inputs);
  }
  return SW_SUCCESS;
}

/* Check the flat array's length against the config before anything is
   allocated from it, then read it. */
static SwStatus
read_weights(NamRead* const read, const cJSON* const root,
             const NamShape* const shape, const char* const path,
             SwError* const err)
{
  const cJSON* const weights = cJSON_GetObjectItemCaseSensitive(root, "weights");
  if (!cJSON_IsArray(weights)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: weights is %s; expected a flat array of numbers",
                        path, sw_json_kind(weights));
  }
  const uint64_t expected = expected_weight_count(shape);
  const size_t   found    = (size_t)cJSON_GetArraySize(weights);
  if ((uint64_t)found != expected) {
    return sw_error_set(
      err, SW_ERR_BAD_MODEL,
      "%s: weights has %zu numbers; expected %llu for config input_size %u, "
      "hidden_size %u, num_layers %u and %u output(s) (per layer "
      "W[4H x (in+H)], bias[4H], h0[H], c0[H]; then head weight[out x H], "
      "bias[out])",
      path, found, (unsigned long long)expected, shape->inputs, shape->hidden,
      shape->layers, shape->outputs);
  }
  read->weights = (float*)malloc(found * sizeof(float));
  if (!read->weights) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  size_t       index = 0;
  const cJSON* item  = NULL;
  cJSON_ArrayForEach(item, weights)
  {
    if (index == found) {
      break; /* cannot happen: the size was counted; never write past */
    }
    const double value = cJSON_IsNumber(item) ? item->valuedouble : 0.0;
    if (!cJSON_IsNumber(item) || !isfinite(value) ||
        fabs(value) > (double)FLT_MAX) {
      char what[64];
      describe_weight(shape, index, what, sizeof(what));
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "%s: weights[%zu] (%s) is %s; expected a finite "
                          "float32 number",
                          path, index, what,
                          !cJSON_IsNumber(item) ? sw_json_kind(item)
                          : isfinite(value)     ? "beyond the float range"
                                                : "not finite");
    }
    read->weights[index++] = (float)value;
  }
  return SW_SUCCESS;
}

/* Point the layer specs at the flat array, splitting each W into the
   canonical kernel [4H x I] and recurrent kernel [4H x H]. */
static SwStatus
make_layers(NamRead* const read, const NamShape* const shape,
            const char* const path, SwError* const err)
{
  const size_t rows  = 4U * (size_t)shape->hidden;
  size_t       split = 0;
  for (uint32_t l = 0; l < shape->layers; ++l) {
    split += rows * ((size_t)layer_input_width(shape, l) + shape->hidden);
  }
  read->layers    = (SwLayerSpec*)calloc(shape->layers + 1U,
                                         sizeof(SwLayerSpec));
  read->split     = (float*)malloc(split * sizeof(float));
  read->zero_bias = (float*)calloc(rows, sizeof(float));
  if (!read->layers || !read->split || !read->zero_bias) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }

  const float* next = read->weights;
  float*       into = read->split;
  for (uint32_t l = 0; l < shape->layers; ++l) {
    const size_t width = layer_input_width(shape, l);
    const size_t cols  = width + shape->hidden;
    float* const kernel    = into;
    float* const recurrent = into + rows * width;
    for (size_t r = 0; r < rows; ++r) {
      memcpy(kernel + r * width, next + r * cols, width * sizeof(float));
      memcpy(recurrent + r * shape->hidden, next + r * cols + width,
             shape->hidden * sizeof(float));
    }
    into += rows * cols;
    next += rows * cols;

    SwLayerSpec* const layer = &read->layers[l];
    *layer = sw_layer_spec(SW_LAYER_LSTM, shape->hidden);
    layer->use_bias         = true;
    layer->unit_forget_bias = false;
    layer->kernel           = kernel;
    layer->recurrent_kernel = recurrent;
    layer->bias             = next;
    /* The exporter summed PyTorch's two biases into one. */
    layer->recurrent_bias = read->zero_bias;
    next += rows;
    layer->initial_h = next;
    next += shape->hidden;
    layer->initial_c = next;
    next += shape->hidden;
  }

  SwLayerSpec* const head = &read->layers[shape->layers];
  *head        = sw_layer_spec(SW_LAYER_DENSE, shape->outputs);
  head->kernel = next;
  head->bias   = next + (size_t)shape->outputs * shape->hidden;
  return SW_SUCCESS;
}

/* "version", the top-level "sample_rate" and the flat entries of the
   "metadata" object (loudness, levels, gear, author, ...); nested values
   such as "date" and "training" are not shown. */
static SwStatus
read_metadata(NamRead* const read, const cJSON* const root,
              const char* const path, SwError* const err)
{
  SwStatus           st      = SW_SUCCESS;
  const cJSON* const version = cJSON_GetObjectItemCaseSensitive(root,
                                                                "version");
  if (version && !cJSON_IsString(version)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: version is %s; expected a string such as "
                        "\"0.5.4\"",
                        path, sw_json_kind(version));
  }
  if (version && (st = sw_meta_add(&read->meta, "version",
                                   version->valuestring, path, err))) {
    return st;
  }

  const cJSON* const rate = cJSON_GetObjectItemCaseSensitive(root,
                                                             "sample_rate");
  double             hz   = 0.0;
  if (rate && (!sw_json_number_value(rate, &hz) ||
               !(hz > 0.0 && hz <= NAM_MAX_RATE))) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: sample_rate is %s; expected a sample rate in Hz",
                        path, sw_json_kind(rate));
  }
  read->sample_rate = rate ? hz : NAM_DEFAULT_RATE;

  const cJSON* const meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
  if (meta && !cJSON_IsObject(meta) && !cJSON_IsNull(meta)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: metadata is %s; expected an object", path,
                        sw_json_kind(meta));
  }
  const cJSON* const entries = cJSON_IsObject(meta) ? meta : NULL;
  const cJSON*       item    = NULL;
  cJSON_ArrayForEach(item, entries)
  {
    if ((st = sw_meta_add_json(&read->meta, item, path, err))) {
      return st;
    }
  }
  if (!rate) {
    st = sw_meta_add(&read->meta, "sample_rate_note",
                  "not stated in the file; NAM assumes 48 kHz", path, err);
  }
  return st;
}

static void
free_read(NamRead* const read)
{
  sw_meta_free(&read->meta);
  free(read->layers);
  free(read->zero_bias);
  free(read->split);
  free(read->weights);
}

SwModel*
sw_nam_read(const cJSON* const root, const char* const path,
            SwError* const err)
{
  NamShape shape;
  if (check_architecture(root, path, err) ||
      read_shape(root, path, &shape, err)) {
    return NULL;
  }

  NamRead read;
  memset(&read, 0, sizeof(read));
  SwModel* model = NULL;
  if (!read_weights(&read, root, &shape, path, err) &&
      !make_layers(&read, &shape, path, err) &&
      !read_metadata(&read, root, path, err)) {
    SwModelSpec spec;
    memset(&spec, 0, sizeof(spec));
    spec.input_width  = shape.inputs;
    spec.num_layers   = shape.layers + 1U;
    spec.layers       = read.layers;
    spec.sample_rate  = read.sample_rate;
    spec.num_metadata = read.meta.count;
    spec.metadata     = read.meta.entries;
    model             = sw_model_build(&spec, 0, err);
    if (!model) {
      sw_error_prefix(err, "%s: ", path);
    } else if (sw_model_set_origin(model, NAM_FORMAT, path, err)) {
      sw_model_free(model);
      model = NULL;
    }
  }
  free_read(&read);
  return model;
}
