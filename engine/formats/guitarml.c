/* GuitarML / Automated-GuitarAmpModelling JSON (also Proteus and NeuralPi):
     {"model_data": {"unit_type": "LSTM"|"GRU", "input_size", "hidden_size",
                     "num_layers", "output_size", "skip", "bias_fl"},
      "state_dict": {"rec.weight_ih_l0": [[..]], "rec.weight_hh_l0",
                     "rec.bias_ih_l0", "rec.bias_hh_l0", ..., "lin.weight",
                     "lin.bias"},
      "metadata": {...}}                       (optional, Statewave's own)
   The network is PyTorch's: y = lin(rnn(x)) (+ x[0] when skip). PyTorch's
   gate order (i,f,g,o / r,z,n) is the canonical one, so weights are copied
   as they are. Extra inputs beyond the first are knobs. */

#include "error.h"
#include "formats.h"
#include "json_util.h"
#include "metadata.h"
#include "model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUITARML_FORMAT "guitarml-json"
/* The GuitarML training pipeline and the Proteus plugin run at 44.1 kHz. */
#define GUITARML_DEFAULT_RATE 44100.0
#define MAX_KNOBS 16U

typedef struct {
  uint32_t hidden;
  uint32_t inputs;
  uint32_t outputs;
  uint32_t layers;
  uint32_t gates;
  bool     is_gru;
  bool     skip;
  bool     bias;
} GuitarmlShape;

/* Everything a read allocates, freed in one place. */
typedef struct {
  SwLayerSpec* layers;
  float**      arrays;
  size_t       num_arrays;
  SwMetaList   meta;
  SwKnobSpec   knobs[MAX_KNOBS];
  uint32_t     num_knobs;
  double       sample_rate;
} GuitarmlRead;

bool
sw_guitarml_detect(const cJSON* const root)
{
  return cJSON_GetObjectItemCaseSensitive(root, "model_data") != NULL;
}

static float*
new_array(GuitarmlRead* const read, const size_t count)
{
  float* const array = (float*)calloc(count ? count : 1U, sizeof(float));
  if (array) {
    read->arrays[read->num_arrays++] = array;
  }
  return array;
}

static SwStatus
read_shape(const cJSON* const root, const char* const path,
           GuitarmlShape* const shape, SwError* const err)
{
  const cJSON* const data = cJSON_GetObjectItemCaseSensitive(root, "model_data");
  if (!cJSON_IsObject(data)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: model_data is %s; expected an object", path,
                        sw_json_kind(data));
  }
  const cJSON* const model = cJSON_GetObjectItemCaseSensitive(data, "model");
  if (model && !(cJSON_IsString(model) &&
                 !strcmp(model->valuestring, "SimpleRNN"))) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: model_data.model is %s%s%s; expected "
                        "\"SimpleRNN\" (the only GuitarML network with "
                        "recurrent state)",
                        path, cJSON_IsString(model) ? "\"" : "",
                        cJSON_IsString(model) ? model->valuestring
                                              : sw_json_kind(model),
                        cJSON_IsString(model) ? "\"" : "");
  }
  const cJSON* const unit = cJSON_GetObjectItemCaseSensitive(data, "unit_type");
  if (!cJSON_IsString(unit) || (strcmp(unit->valuestring, "LSTM") &&
                                strcmp(unit->valuestring, "GRU"))) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: model_data.unit_type is %s%s%s; expected \"LSTM\" "
                        "or \"GRU\"",
                        path, cJSON_IsString(unit) ? "\"" : "",
                        cJSON_IsString(unit) ? unit->valuestring
                                             : sw_json_kind(unit),
                        cJSON_IsString(unit) ? "\"" : "");
  }
  shape->is_gru = !strcmp(unit->valuestring, "GRU");
  shape->gates  = shape->is_gru ? 3U : 4U;

  uint32_t skip = 0;
  SwStatus st   = SW_SUCCESS;
  if ((st = sw_json_uint(data, "model_data", "hidden_size", true, 0, 1,
                         SW_MAX_UNITS, &shape->hidden, path, err)) ||
      (st = sw_json_uint(data, "model_data", "input_size", false, 1, 1,
                         SW_MAX_INPUT_WIDTH, &shape->inputs, path, err)) ||
      (st = sw_json_uint(data, "model_data", "output_size", false, 1, 1,
                         SW_MAX_UNITS, &shape->outputs, path, err)) ||
      (st = sw_json_uint(data, "model_data", "num_layers", false, 1, 1,
                         SW_MAX_LAYERS - 1U, &shape->layers, path, err)) ||
      (st = sw_json_uint(data, "model_data", "skip", false, 0, 0, 1, &skip,
                         path, err)) ||
      (st = sw_json_bool(data, "model_data", "bias_fl", true, &shape->bias,
                         path, err))) {
    return st;
  }
  shape->skip = skip != 0;
  return SW_SUCCESS;
}

static SwStatus
read_floats(GuitarmlRead* const read, const cJSON* const dict,
            const char* const key, const size_t rows, const size_t cols,
            const float** const dst, const char* const path,
            SwError* const err)
{
  char field[96];
  snprintf(field, sizeof(field), "state_dict.%s", key);
  float* const array = new_array(read, rows ? rows * cols : cols);
  if (!array) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  const SwStatus st =
    sw_json_floats(cJSON_GetObjectItemCaseSensitive(dict, key), rows, cols,
                   array, field, path, err);
  *dst = array;
  return st;
}

static SwStatus
read_layers(GuitarmlRead* const read, const cJSON* const root,
            const GuitarmlShape* const shape, const char* const path,
            SwError* const err)
{
  const cJSON* const dict = cJSON_GetObjectItemCaseSensitive(root, "state_dict");
  if (!cJSON_IsObject(dict)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: state_dict is %s; expected an object with the "
                        "PyTorch weights (rec.weight_ih_l0, ..., lin.weight, "
                        "lin.bias)",
                        path, dict ? sw_json_kind(dict) : "missing");
  }
  const size_t rows = (size_t)shape->gates * shape->hidden;
  char         key[64];
  SwStatus     st    = SW_SUCCESS;
  uint32_t     width = shape->inputs;

  for (uint32_t l = 0; l < shape->layers; ++l) {
    SwLayerSpec* const layer = &read->layers[l];
    *layer = sw_layer_spec(shape->is_gru ? SW_LAYER_GRU : SW_LAYER_LSTM,
                           shape->hidden);
    layer->use_bias = shape->bias;
    snprintf(key, sizeof(key), "rec.weight_ih_l%u", l);
    if ((st = read_floats(read, dict, key, rows, width, &layer->kernel, path,
                          err))) {
      return st;
    }
    snprintf(key, sizeof(key), "rec.weight_hh_l%u", l);
    if ((st = read_floats(read, dict, key, rows, shape->hidden,
                          &layer->recurrent_kernel, path, err))) {
      return st;
    }
    if (shape->bias) {
      snprintf(key, sizeof(key), "rec.bias_ih_l%u", l);
      if ((st = read_floats(read, dict, key, 0, rows, &layer->bias, path,
                            err))) {
        return st;
      }
      snprintf(key, sizeof(key), "rec.bias_hh_l%u", l);
      if ((st = read_floats(read, dict, key, 0, rows, &layer->recurrent_bias,
                            path, err))) {
        return st;
      }
    }
    width = shape->hidden;
  }

  SwLayerSpec* const head = &read->layers[shape->layers];
  *head = sw_layer_spec(SW_LAYER_DENSE, shape->outputs);
  if ((st = read_floats(read, dict, "lin.weight", shape->outputs,
                        shape->hidden, &head->kernel, path, err))) {
    return st;
  }
  /* The GuitarML head is always nn.Linear with a bias (bias_fl only
     concerns the recurrent layers). */
  return read_floats(read, dict, "lin.bias", 0, shape->outputs, &head->bias,
                     path, err);
}

/* Statewave's optional "metadata" object: free-text facts, the training
   sample rate and knob descriptions. */
static SwStatus
read_metadata(GuitarmlRead* const read, const cJSON* const root,
              const GuitarmlShape* const shape, const char* const path,
              SwError* const err)
{
  const uint32_t inputs = shape->inputs - 1U;
  const SwStatus st = sw_meta_read_object(
    root, &read->meta, read->knobs, inputs < MAX_KNOBS ? inputs : MAX_KNOBS,
    &read->num_knobs, &read->sample_rate, path, err);
  if (st || read->sample_rate != 0.0) {
    return st;
  }
  read->sample_rate = GUITARML_DEFAULT_RATE;
  return sw_meta_add(&read->meta, "sample_rate_note",
                     "not stated in the file; GuitarML models are trained at "
                     "44.1 kHz",
                     path, err);
}

static void
free_read(GuitarmlRead* const read)
{
  for (size_t i = 0; i < read->num_arrays; ++i) {
    free(read->arrays[i]);
  }
  sw_meta_free(&read->meta);
  free(read->arrays);
  free(read->layers);
}

SwModel*
sw_guitarml_read(const cJSON* const root, const char* const path,
                 SwError* const err)
{
  GuitarmlShape shape;
  if (read_shape(root, path, &shape, err)) {
    return NULL;
  }

  GuitarmlRead read;
  memset(&read, 0, sizeof(read));
  read.layers = (SwLayerSpec*)calloc(shape.layers + 1U, sizeof(SwLayerSpec));
  read.arrays = (float**)calloc(4U * shape.layers + 2U, sizeof(float*));
  SwModel* model = NULL;
  if (!read.layers || !read.arrays) {
    sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  } else if (!read_layers(&read, root, &shape, path, err) &&
             !read_metadata(&read, root, &shape, path, err)) {
    SwModelSpec spec;
    memset(&spec, 0, sizeof(spec));
    spec.input_width  = shape.inputs;
    spec.num_layers   = shape.layers + 1U;
    spec.layers       = read.layers;
    spec.skip         = shape.skip;
    spec.sample_rate  = read.sample_rate;
    spec.num_knobs    = read.num_knobs;
    spec.knobs        = read.knobs;
    spec.num_metadata = read.meta.count;
    spec.metadata     = read.meta.entries;
    model             = sw_model_build(&spec, 0, err);
    if (!model) {
      sw_error_prefix(err, "%s: ", path);
    } else if (sw_model_set_origin(model, GUITARML_FORMAT, path, err)) {
      sw_model_free(model);
      model = NULL;
    }
  }
  free_read(&read);
  return model;
}
