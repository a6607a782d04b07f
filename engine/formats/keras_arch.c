/* sw_model_load_keras_weights: a Keras weights-only file (save_weights)
   with the architecture it was saved from, given in a small JSON file:

     {"input_width": 1, "skip": true, "sample_rate": 44100,
      "keras_version": "2.4.0",
      "layers": [{"class_name": "GRU", "name": "Xrec",
                  "config": {"units": 32, "return_sequences": true}},
                 {"class_name": "Dense", "name": "Xdense",
                  "config": {"units": 1}}]}

   or a Keras model.to_json() document. The spec is translated into the
   model_config a whole-model .h5 would carry, so that the one Keras build
   path (keras_config.c) maps and checks every layer; the weights come from
   the file's root-level layer groups (keras_h5.c). */

#include "error.h"
#include "formats.h"
#include "json_util.h"
#include "keras_h5.h"
#include "model_impl.h"

#include <stdlib.h>
#include <string.h>

/* Spec keys besides "layers"; anything else is a typo worth reporting. */
static const char* const spec_keys[] = {"input_width", "skip", "sample_rate",
                                        "keras_version", "layers"};

static bool
is_spec_key(const char* const key)
{
  for (size_t i = 0; i < sizeof(spec_keys) / sizeof(spec_keys[0]); ++i) {
    if (!strcmp(key, spec_keys[i])) {
      return true;
    }
  }
  return false;
}

/* Layers whose size Keras requires (no default): a spec without it cannot
   describe the saved model. */
static const char*
required_size_key(const char* const class_name)
{
  static const char* const with_units[] = {"Dense", "LSTM", "GRU",
                                           "SimpleRNN", "CuDNNLSTM",
                                           "CuDNNGRU"};
  for (size_t i = 0; i < sizeof(with_units) / sizeof(with_units[0]); ++i) {
    if (!strcmp(class_name, with_units[i])) {
      return "units";
    }
  }
  return !strcmp(class_name, "Conv1D") ? "filters" : NULL;
}

/* The layer config with the spec's name, and tf.keras 2's constructor
   defaults where the spec leaves out a key whose default the model_config
   reader takes from older Keras (model_config always states them). */
static SwStatus
translate_layer(const cJSON* const layer, const int index,
                cJSON* const layers, const char* const arch_path,
                SwError* const err)
{
  const cJSON* const class_name =
    cJSON_GetObjectItemCaseSensitive(layer, "class_name");
  const cJSON* const config = cJSON_GetObjectItemCaseSensitive(layer,
                                                               "config");
  const cJSON* const config_name =
    cJSON_GetObjectItemCaseSensitive(config, "name");
  const cJSON* name = cJSON_GetObjectItemCaseSensitive(layer, "name");
  name              = name ? name : config_name;
  if (!cJSON_IsObject(layer) || !cJSON_IsString(name) ||
      !name->valuestring[0]) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layers[%d]: name is %s; expected the layer's "
                        "name in the weights file (\"name\": \"gru\")",
                        arch_path, index,
                        cJSON_IsObject(layer) ? sw_json_kind(name)
                                              : "not an object");
  }
  const char* const layer_name = name->valuestring;
  if (!cJSON_IsString(class_name)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\": class_name is %s; expected a Keras "
                        "layer class such as \"GRU\" or \"Dense\"",
                        arch_path, layer_name,
                        class_name ? sw_json_kind(class_name) : "missing");
  }
  if (config && !cJSON_IsObject(config)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\" (%s): config is %s; expected an "
                        "object of Keras layer settings",
                        arch_path, layer_name, class_name->valuestring,
                        sw_json_kind(config));
  }
  if (cJSON_IsString(config_name) &&
      strcmp(config_name->valuestring, layer_name)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\" (%s): config.name is \"%s\"; "
                        "expected the same name as the layer",
                        arch_path, layer_name, class_name->valuestring,
                        config_name->valuestring);
  }
  const char* const size_key = required_size_key(class_name->valuestring);
  if (size_key && !cJSON_GetObjectItemCaseSensitive(config, size_key)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\" (%s): config.%s is missing; "
                        "expected it as Keras states it (\"%s\": 32)",
                        arch_path, layer_name, class_name->valuestring,
                        size_key, size_key);
  }

  cJSON* const copy = config ? cJSON_Duplicate(config, true)
                             : cJSON_CreateObject();
  cJSON* const entry = cJSON_CreateObject();
  bool ok = copy && entry &&
            cJSON_AddItemToArray(layers, entry) &&
            cJSON_AddStringToObject(entry, "class_name",
                                    class_name->valuestring) &&
            cJSON_AddItemToObject(entry, "config", copy);
  if (!ok) {
    cJSON_Delete(copy);
    cJSON_Delete(entry);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory",
                        arch_path);
  }
  const bool lstm_or_gru = !strcmp(class_name->valuestring, "LSTM") ||
                           !strcmp(class_name->valuestring, "GRU");
  if (!config_name) {
    ok = cJSON_AddStringToObject(copy, "name", layer_name) != NULL;
  }
  if (ok && lstm_or_gru &&
      !cJSON_GetObjectItemCaseSensitive(copy, "recurrent_activation")) {
    ok = cJSON_AddStringToObject(copy, "recurrent_activation", "sigmoid") !=
         NULL;
  }
  if (ok && !strcmp(class_name->valuestring, "GRU") &&
      !cJSON_GetObjectItemCaseSensitive(copy, "reset_after")) {
    ok = cJSON_AddTrueToObject(copy, "reset_after") != NULL;
  }
  return ok ? SW_SUCCESS
            : sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory",
                           arch_path);
}

/* The Statewave spec form as a Sequential model_config whose input shape
   is [None, None, input_width]. */
static SwStatus
translate_spec(const cJSON* const spec, cJSON** const config,
               uint32_t* const input_width, const char* const arch_path,
               SwError* const err)
{
  const cJSON* item = NULL;
  cJSON_ArrayForEach(item, spec)
  {
    if (!is_spec_key(item->string)) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "%s: unknown key \"%s\"; expected input_width, "
                          "skip, sample_rate, keras_version and layers",
                          arch_path, item->string);
    }
  }
  SwStatus st = sw_json_uint(spec, "the architecture", "input_width", true, 0,
                             1, SW_MAX_INPUT_WIDTH, input_width, arch_path,
                             err);
  if (st) {
    return st;
  }
  const cJSON* const layers = cJSON_GetObjectItemCaseSensitive(spec,
                                                               "layers");
  if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) < 1) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layers is %s; expected a non-empty list of "
                        "Keras layers ({\"class_name\", \"name\", "
                        "\"config\"})",
                        arch_path, sw_json_kind(layers));
  }
  cJSON* const root      = cJSON_CreateObject();
  cJSON* const body      = cJSON_CreateObject();
  cJSON* const list      = cJSON_CreateArray();
  cJSON* const shape     = cJSON_CreateArray();
  const bool   assembled = root && body && list && shape &&
                         cJSON_AddStringToObject(root, "class_name",
                                                 "Sequential") &&
                         cJSON_AddItemToObject(root, "config", body) &&
                         cJSON_AddItemToObject(body, "layers", list) &&
                         cJSON_AddItemToObject(body, "build_input_shape",
                                               shape) &&
                         cJSON_AddItemToArray(shape, cJSON_CreateNull()) &&
                         cJSON_AddItemToArray(shape, cJSON_CreateNull()) &&
                         cJSON_AddItemToArray(
                           shape, cJSON_CreateNumber((double)*input_width));
  if (!assembled) {
    if (!root || !cJSON_GetObjectItemCaseSensitive(root, "config")) {
      cJSON_Delete(body);
    }
    cJSON_Delete(root);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory",
                        arch_path);
  }
  int index = 0;
  cJSON_ArrayForEach(item, layers)
  {
    if ((st = translate_layer(item, index++, list, arch_path, err))) {
      cJSON_Delete(root);
      return st;
    }
  }
  *config = root;
  return SW_SUCCESS;
}

SwModel*
sw_model_load_keras_weights(const char* const weights_path,
                            const char* const arch_path, SwError* const err)
{
  if (!weights_path || !arch_path) {
    sw_error_set(err, SW_ERR_BAD_ARG, "%s is NULL",
                 weights_path ? "architecture path" : "weights path");
    return NULL;
  }
  SwModel*     model        = NULL;
  cJSON*       spec         = NULL;
  cJSON*       translated   = NULL;
  size_t       weights_size = 0, arch_size = 0;
  char* const  weights      = sw_read_model_file(weights_path, &weights_size,
                                                 err);
  char* const  arch = weights ? sw_read_model_file(arch_path, &arch_size, err)
                              : NULL;
  if (!arch) {
    goto done;
  }
  if (weights_size < 8U || memcmp(weights, "\x89HDF\r\n\x1a\n", 8U)) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: not an HDF5 file; an architecture (%s) goes with a "
                 "Keras weights-only .h5 file (model.save_weights)",
                 weights_path, arch_path);
    goto done;
  }
  spec = sw_json_parse(arch, arch_size, arch_path, err);
  if (!spec) {
    sw_error_prefix(err, "%s: ", weights_path);
    goto done;
  }
  if (!cJSON_IsObject(spec)) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: %s: the architecture is %s; expected an object with "
                 "input_width and layers, or a Keras model.to_json()",
                 weights_path, arch_path, sw_json_kind(spec));
    goto done;
  }

  KerasModelExtras   extras  = {false, 0.0};
  const cJSON*       config  = spec;
  const char*        version = "";
  uint32_t           width   = 0;
  const cJSON* const keras_class =
    cJSON_GetObjectItemCaseSensitive(spec, "class_name");
  const cJSON* const stated_version =
    cJSON_GetObjectItemCaseSensitive(spec, "keras_version");
  if (stated_version && !cJSON_IsString(stated_version)) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: %s: keras_version is %s; expected a version string "
                 "(\"2.4.0\")",
                 weights_path, arch_path, sw_json_kind(stated_version));
    goto done;
  }
  version = stated_version ? stated_version->valuestring : "";
  if (!keras_class) {
    /* Statewave's spec form; a to_json() document states the rest itself */
    const cJSON* const rate = cJSON_GetObjectItemCaseSensitive(spec,
                                                               "sample_rate");
    if (sw_json_bool(spec, "the architecture", "skip", false, &extras.skip,
                     arch_path, err)) {
      sw_error_prefix(err, "%s: ", weights_path);
      goto done;
    }
    if (rate && !(cJSON_IsNumber(rate) && rate->valuedouble > 0.0 &&
                  rate->valuedouble < 1e7)) {
      sw_error_set(err, SW_ERR_BAD_MODEL,
                   "%s: %s: sample_rate is %s; expected a rate in Hz (44100)",
                   weights_path, arch_path, sw_json_kind(rate));
      goto done;
    }
    extras.sample_rate = rate ? rate->valuedouble : 0.0;
    if (translate_spec(spec, &translated, &width, arch_path, err)) {
      sw_error_prefix(err, "%s: ", weights_path);
      goto done;
    }
    config = translated;
  }
  model = sw_keras_h5_read_weights_only(weights, weights_size, weights_path,
                                        config, version, &extras, arch_path,
                                        err);
  if (model && width) {
    /* A layer's own batch_input_shape wins over build_input_shape */
    SwModelInfo info;
    sw_model_info(model, &info);
    if (info.input_width != width) {
      sw_error_set(err, SW_ERR_BAD_MODEL,
                   "%s: %s: input_width is %u but layer batch_input_shape "
                   "states %u features; expected the same width",
                   weights_path, arch_path, width, info.input_width);
      sw_model_free(model);
      model = NULL;
    }
  }

done:
  cJSON_Delete(translated);
  cJSON_Delete(spec);
  free(arch);
  free(weights);
  return model;
}
