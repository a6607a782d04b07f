/* Test-only reader of spec JSON files; see spec_json.h for the format. */

#include "spec_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Widest layer a test file may describe: bounds every size product. */
#define SPEC_JSON_MAX_UNITS 4096U
#define SPEC_JSON_MAX_LAYERS 64U

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
fail(char* const message, const size_t message_size, const char* const format,
     ...)
{
  if (!message || !message_size) {
    return;
  }
  va_list args;
  va_start(args, format);
  vsnprintf(message, message_size, format, args);
  va_end(args);
}

cJSON*
spec_json_read_document(const char* const path, char* const message,
                        const size_t message_size)
{
  FILE* const file = fopen(path, "rb");
  if (!file) {
    fail(message, message_size, "%s: cannot open", path);
    return NULL;
  }
  char*  text     = NULL;
  size_t length   = 0;
  size_t capacity = 0;
  for (;;) {
    if (length + 4096U + 1U > capacity) {
      const size_t next_capacity = capacity ? capacity * 2U : 65536U;
      char* const  next          = (char*)realloc(text, next_capacity);
      if (!next) {
        free(text);
        fclose(file);
        fail(message, message_size, "%s: out of memory", path);
        return NULL;
      }
      text     = next;
      capacity = next_capacity;
    }
    const size_t got = fread(text + length, 1U, capacity - length - 1U, file);
    length += got;
    if (got == 0U) {
      break;
    }
  }
  const bool read_error = ferror(file) != 0;
  fclose(file);
  if (read_error) {
    free(text);
    fail(message, message_size, "%s: read error", path);
    return NULL;
  }
  text[length] = '\0';
  cJSON* const root = cJSON_ParseWithLength(text, length);
  if (!root) {
    const char* const where = cJSON_GetErrorPtr();
    fail(message, message_size, "%s: invalid JSON near byte %ld", path,
         where ? (long)(where - text) : -1L);
  }
  free(text);
  return root;
}

float*
spec_json_floats(const cJSON* const array, const size_t count,
                 const char* const what, char* const message,
                 const size_t message_size)
{
  if (!cJSON_IsArray(array)) {
    fail(message, message_size, "%s: missing or not an array", what);
    return NULL;
  }
  const size_t size = (size_t)cJSON_GetArraySize(array);
  if (size != count) {
    fail(message, message_size, "%s: has %zu values; expected %zu", what,
         size, count);
    return NULL;
  }
  float* const values = (float*)malloc((count ? count : 1U) * sizeof(float));
  if (!values) {
    fail(message, message_size, "%s: out of memory", what);
    return NULL;
  }
  size_t index = 0;
  const cJSON* item = NULL;
  cJSON_ArrayForEach(item, array)
  {
    if (!cJSON_IsNumber(item)) {
      fail(message, message_size, "%s[%zu]: not a number", what, index);
      free(values);
      return NULL;
    }
    /* The generator writes decimals that round back to the exact float. */
    values[index++] = (float)item->valuedouble;
  }
  return values;
}

bool
spec_json_activation(const char* const name, SwActivation* const activation)
{
  static const struct {
    const char*  name;
    SwActivation activation;
  } table[] = {
    {"linear", SW_ACT_LINEAR},
    {"tanh", SW_ACT_TANH},
    {"relu", SW_ACT_RELU},
    {"sigmoid", SW_ACT_SIGMOID},
    {"hard_sigmoid", SW_ACT_HARD_SIGMOID},
    {"hard_sigmoid_k3", SW_ACT_HARD_SIGMOID_K3},
    {"elu", SW_ACT_ELU},
    {"selu", SW_ACT_SELU},
    {"softsign", SW_ACT_SOFTSIGN},
    {"softplus", SW_ACT_SOFTPLUS},
    {"swish", SW_ACT_SWISH},
    {"silu", SW_ACT_SWISH},
  };
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); ++i) {
    if (!strcmp(name, table[i].name)) {
      *activation = table[i].activation;
      return true;
    }
  }
  return false;
}

size_t
spec_json_layer_state_size(const SwLayerSpec* const layer,
                           const uint32_t input_width)
{
  switch (layer->type) {
  case SW_LAYER_LSTM:
    return 2U * (size_t)layer->units;
  case SW_LAYER_GRU:
  case SW_LAYER_SIMPLE_RNN:
    return layer->units;
  case SW_LAYER_DENSE:
    break;
  case SW_LAYER_CONV1D:
    return (size_t)(layer->kernel_size - 1U) * layer->dilation * input_width;
  }
  return 0U;
}

void
spec_json_free(SpecJson* const file)
{
  if (!file) {
    return;
  }
  for (size_t i = 0; i < file->num_arrays; ++i) {
    free(file->arrays[i]);
  }
  free(file->arrays);
  free(file->layers);
  free(file->input);
  free(file->expected);
  cJSON_Delete(file->root);
  memset(file, 0, sizeof(*file));
}

/* Keep `array` (may be NULL) for spec_json_free(). */
static bool
own_array(SpecJson* const file, float* const array)
{
  if (!array) {
    return true;
  }
  if (file->num_arrays == file->capacity) {
    const size_t next_capacity = file->capacity ? file->capacity * 2U : 16U;
    float** const next =
      (float**)realloc(file->arrays, next_capacity * sizeof(float*));
    if (!next) {
      free(array);
      return false;
    }
    file->arrays   = next;
    file->capacity = next_capacity;
  }
  file->arrays[file->num_arrays++] = array;
  return true;
}

/* A non-negative integer field, or `fallback` when absent. */
static bool
read_count(const cJSON* const object, const char* const key,
           const uint32_t fallback, const uint32_t max, uint32_t* const value,
           const char* const path, char* const message,
           const size_t message_size)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!item) {
    *value = fallback;
    return true;
  }
  const double number = cJSON_IsNumber(item) ? item->valuedouble : -1.0;
  if (number < 0.0 || number > (double)max || floor(number) != number) {
    fail(message, message_size, "%s: %s must be an integer in 0..%u", path,
         key, max);
    return false;
  }
  *value = (uint32_t)number;
  return true;
}

/* An optional float array of `count` values: NULL when the key is absent. */
static bool
read_optional_floats(SpecJson* const file, const cJSON* const object,
                     const char* const key, const size_t count,
                     const char* const where, const float** const out,
                     char* const message, const size_t message_size)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(object, key);
  *out = NULL;
  if (!item || cJSON_IsNull(item)) {
    return true;
  }
  char what[160];
  snprintf(what, sizeof(what), "%s.%s", where, key);
  float* const values =
    spec_json_floats(item, count, what, message, message_size);
  if (!values || !own_array(file, values)) {
    if (values) {
      fail(message, message_size, "%s: out of memory", what);
    }
    return false;
  }
  *out = values;
  return true;
}

static bool
read_activation(const cJSON* const object, const char* const key,
                SwActivation* const activation, const char* const where,
                char* const message, const size_t message_size)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!item || cJSON_IsNull(item)) {
    return true; /* keep sw_layer_spec()'s default */
  }
  if (!cJSON_IsString(item) ||
      !spec_json_activation(item->valuestring, activation)) {
    fail(message, message_size, "%s.%s: not a known activation name", where,
         key);
    return false;
  }
  return true;
}

static bool
read_layer(SpecJson* const file, const cJSON* const object,
           const uint32_t input_width, SwLayerSpec* const layer,
           const char* const where, char* const message,
           const size_t message_size)
{
  const cJSON* const type = cJSON_GetObjectItemCaseSensitive(object, "type");
  SwLayerType        layer_type = SW_LAYER_DENSE;
  uint32_t           gates      = 1U;
  if (!cJSON_IsString(type)) {
    fail(message, message_size, "%s.type: missing or not a string", where);
    return false;
  } else if (!strcmp(type->valuestring, "lstm")) {
    layer_type = SW_LAYER_LSTM;
    gates      = 4U;
  } else if (!strcmp(type->valuestring, "gru")) {
    layer_type = SW_LAYER_GRU;
    gates      = 3U;
  } else if (!strcmp(type->valuestring, "simple_rnn")) {
    layer_type = SW_LAYER_SIMPLE_RNN;
  } else if (!strcmp(type->valuestring, "conv1d")) {
    layer_type = SW_LAYER_CONV1D;
  } else if (strcmp(type->valuestring, "dense") != 0) {
    fail(message, message_size,
         "%s.type: \"%s\"; expected lstm, gru, simple_rnn, dense or conv1d",
         where, type->valuestring);
    return false;
  }

  uint32_t units = 0;
  if (!read_count(object, "units", 0U, SPEC_JSON_MAX_UNITS, &units, where,
                  message, message_size)) {
    return false;
  }
  if (!units) {
    fail(message, message_size, "%s.units: missing or 0", where);
    return false;
  }
  *layer = sw_layer_spec(layer_type, units);

  if (!read_activation(object, "activation", &layer->activation, where,
                       message, message_size) ||
      !read_activation(object, "recurrent_activation",
                       &layer->recurrent_activation, where, message,
                       message_size)) {
    return false;
  }
  const cJSON* const reset =
    cJSON_GetObjectItemCaseSensitive(object, "gru_reset");
  if (reset && cJSON_IsString(reset) && !strcmp(reset->valuestring, "before")) {
    layer->gru_reset = SW_GRU_RESET_BEFORE;
  } else if (reset && cJSON_IsString(reset) &&
             !strcmp(reset->valuestring, "after")) {
    layer->gru_reset = SW_GRU_RESET_AFTER;
  } else if (reset) {
    fail(message, message_size, "%s.gru_reset: expected \"after\" or \"before\"",
         where);
    return false;
  }
  const cJSON* const use_bias =
    cJSON_GetObjectItemCaseSensitive(object, "use_bias");
  if (use_bias) {
    if (!cJSON_IsBool(use_bias)) {
      fail(message, message_size, "%s.use_bias: expected true or false",
           where);
      return false;
    }
    layer->use_bias = cJSON_IsTrue(use_bias);
  }

  if (layer_type == SW_LAYER_CONV1D &&
      (!read_count(object, "kernel_size", 1U, SPEC_JSON_MAX_UNITS,
                   &layer->kernel_size, where, message, message_size) ||
       !read_count(object, "dilation", 1U, SPEC_JSON_MAX_UNITS,
                   &layer->dilation, where, message, message_size) ||
       !read_count(object, "stride", 1U, SPEC_JSON_MAX_UNITS,
                   &layer->stride, where, message, message_size))) {
    return false;
  }
  const cJSON* const padding =
    cJSON_GetObjectItemCaseSensitive(object, "padding");
  if (padding) {
    const char* const name =
      cJSON_IsString(padding) ? padding->valuestring : "";
    if (!strcmp(name, "causal")) {
      layer->padding = SW_PADDING_CAUSAL;
    } else if (!strcmp(name, "valid")) {
      layer->padding = SW_PADDING_VALID;
    } else if (!strcmp(name, "same")) {
      layer->padding = SW_PADDING_SAME;
    } else {
      fail(message, message_size,
           "%s.padding: expected \"causal\", \"valid\" or \"same\"",
           where);
      return false;
    }
  }

  const size_t rows      = (size_t)gates * units;
  const bool   recurrent = layer_type == SW_LAYER_LSTM ||
                         layer_type == SW_LAYER_GRU ||
                         layer_type == SW_LAYER_SIMPLE_RNN;
  const size_t columns   = (size_t)input_width * layer->kernel_size;
  return read_optional_floats(file, object, "kernel", rows * columns,
                              where, &layer->kernel, message, message_size) &&
         read_optional_floats(file, object, "bias", rows, where, &layer->bias,
                              message, message_size) &&
         (!recurrent ||
          (read_optional_floats(file, object, "recurrent_kernel",
                                rows * units, where, &layer->recurrent_kernel,
                                message, message_size) &&
           read_optional_floats(file, object, "recurrent_bias", rows, where,
                                &layer->recurrent_bias, message,
                                message_size) &&
           read_optional_floats(file, object, "initial_h", units, where,
                                &layer->initial_h, message, message_size) &&
           read_optional_floats(file, object, "initial_c", units, where,
                                &layer->initial_c, message, message_size)));
}

static bool
read_number(const cJSON* const object, const char* const key,
            float* const value, const char* const path, char* const message,
            const size_t message_size)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!item) {
    *value = 0.0f;
    return true;
  }
  if (!cJSON_IsNumber(item)) {
    fail(message, message_size, "%s: %s is not a number", path, key);
    return false;
  }
  *value = (float)item->valuedouble;
  return true;
}

static bool
read_spec(const char* const path, SpecJson* const file, char* const message,
          const size_t message_size)
{
  const cJSON* const root = file->root;
  SwModelSpec* const spec = &file->spec;
  if (!cJSON_IsObject(root)) {
    fail(message, message_size, "%s: expected a JSON object", path);
    return false;
  }
  uint32_t input_width = 0;
  if (!read_count(root, "input_width", 0U, SPEC_JSON_MAX_UNITS, &input_width,
                  path, message, message_size)) {
    return false;
  }
  if (!input_width) {
    fail(message, message_size, "%s: input_width missing or 0", path);
    return false;
  }
  spec->input_width = input_width;
  if (!read_count(root, "window", 0U, SW_MAX_WINDOW, &spec->window, path,
                  message, message_size)) {
    return false;
  }
  const cJSON* const skip = cJSON_GetObjectItemCaseSensitive(root, "skip");
  spec->skip = cJSON_IsTrue(skip) ||
               (cJSON_IsNumber(skip) && skip->valuedouble != 0.0);
  if (!read_number(root, "input_gain_db", &spec->input_gain_db, path, message,
                   message_size) ||
      !read_number(root, "output_gain_db", &spec->output_gain_db, path,
                   message, message_size)) {
    return false;
  }

  const cJSON* const layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
  const int num_layers = cJSON_IsArray(layers) ? cJSON_GetArraySize(layers) : 0;
  if (num_layers < 1 || num_layers > (int)SPEC_JSON_MAX_LAYERS) {
    fail(message, message_size, "%s: layers must be an array of 1..%u layers",
         path, SPEC_JSON_MAX_LAYERS);
    return false;
  }
  file->layers = (SwLayerSpec*)calloc((size_t)num_layers, sizeof(SwLayerSpec));
  if (!file->layers) {
    fail(message, message_size, "%s: out of memory", path);
    return false;
  }
  uint32_t width = input_width;
  for (int i = 0; i < num_layers; ++i) {
    char where[96];
    snprintf(where, sizeof(where), "%s: layers[%d]", path, i);
    if (!read_layer(file, cJSON_GetArrayItem(layers, i), width,
                    &file->layers[i], where, message, message_size)) {
      return false;
    }
    file->state_size += spec_json_layer_state_size(&file->layers[i], width);
    width = file->layers[i].units;
  }
  spec->num_layers   = (uint32_t)num_layers;
  spec->layers       = file->layers;
  file->output_width = width;

  if (!read_count(root, "batch", 1U, 65536U, &file->batch, path, message,
                  message_size) ||
      !read_count(root, "steps", 0U, 10000000U, &file->steps, path, message,
                  message_size)) {
    return false;
  }
  const size_t frames = (size_t)file->batch * file->steps;
  const cJSON* const input = cJSON_GetObjectItemCaseSensitive(root, "input");
  if (input) {
    char what[96];
    snprintf(what, sizeof(what), "%s: input", path);
    file->input = spec_json_floats(input, frames * input_width, what, message,
                                   message_size);
    if (!file->input) {
      return false;
    }
  }
  const cJSON* const expected =
    cJSON_GetObjectItemCaseSensitive(root, "expected");
  if (expected) {
    char what[96];
    snprintf(what, sizeof(what), "%s: expected", path);
    file->expected = spec_json_floats(expected, frames * file->output_width,
                                      what, message, message_size);
    if (!file->expected) {
      return false;
    }
  }
  return true;
}

bool
spec_json_load(const char* const path, SpecJson* const file,
               char* const message, const size_t message_size)
{
  memset(file, 0, sizeof(*file));
  file->root = spec_json_read_document(path, message, message_size);
  if (!file->root) {
    return false;
  }
  if (!read_spec(path, file, message, message_size)) {
    spec_json_free(file);
    return false;
  }
  return true;
}
