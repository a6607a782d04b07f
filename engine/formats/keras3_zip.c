/* Keras 3 .keras files (model.save("m.keras"); also tf.keras >= 2.12's
   "keras_v3" format), read with libzip and libhdf5 from the bytes
   sw_model_load already holds (../shared/reference/rnn-semantics.md §7.2):

     metadata.json     {"keras_version": "3.x.y", ...}: decides what
                       "hard_sigmoid" means (Keras 3: clip(x/6 + 0.5))
     config.json       {"class_name": "Sequential" | "Functional",
                        "config": {"layers": [...]}, ...}
     model.weights.h5  layers/<object path>/vars/0, 1, ... in the order of
                       the layer's weights (kernel, recurrent kernel, bias)

   Weights are found by Keras's object paths, not by the user's layer
   names: each layer of the model's layer list is named after its class in
   snake_case with a per-class counter (lstm, lstm_1, ...; Sequential's own
   InputLayer is not in the list), and a recurrent layer keeps its
   variables in its cell (layers/lstm/cell/vars), TimeDistributed in its
   inner layer (layers/time_distributed/layer/vars). tf.keras 2.13 wrote
   _layer_checkpoint_dependencies/ where Keras 3 writes layers/.

   The configs of Keras 3 layers carry the keys the Keras 2 config side
   (keras_config.c) reads, so the model is built there; only a Functional
   model's inbound_nodes and output_layers (Keras 3 writes them as
   {"args": [keras tensor with keras_history]} and ["name", 0, 0]) are
   rewritten into Keras 2's form first. Every member is read with a size
   cap and checked against the size the archive states; the weights file
   goes through the same HDF5 guard as .h5 files. */

#include "error.h"
#include "formats.h"
#include "json_util.h"
#include "keras_h5.h"
#include "model_impl.h"

#include <zip.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KERAS3_FORMAT "keras3"
/* Caps on what a member may make us allocate: far above real models. */
#define MAX_METADATA_BYTES (64U * 1024U)
#define MAX_CONFIG_BYTES (16U * 1024U * 1024U)
#define MAX_WEIGHTS_BYTES (256U * 1024U * 1024U)
/* Deflate cannot expand more than about 1032:1. */
#define MAX_INFLATION 1100U
#define MAX_CONFIG_LAYERS 4096U
#define MAX_PATH_BYTES 160U

/* One config layer: its name and where its variables are. */
typedef struct {
  const char* name;
  char        vars[2U * MAX_PATH_BYTES]; /* "layers/lstm_1/cell/vars" */
} LayerVars;

typedef struct {
  hid_t       file;
  const char* path;
  LayerVars*  layers;
  size_t      count;
} Keras3Weights;

/* ---- zip members -------------------------------------------------------- */

/* Member `member` of the archive, whole, in a malloc'd NUL-terminated
   buffer; *data stays NULL when the archive has no such member. */
static SwStatus
read_member(zip_t* const zip, const char* const member, const size_t cap,
            const size_t archive_size, char** const data, size_t* const size,
            const char* const path, SwError* const err)
{
  *data = NULL;
  *size = 0;
  const zip_int64_t index = zip_name_locate(zip, member, 0);
  if (index < 0) {
    return SW_SUCCESS;
  }
  zip_stat_t info;
  zip_stat_init(&info);
  if (zip_stat_index(zip, (zip_uint64_t)index, 0, &info) != 0 ||
      !(info.valid & ZIP_STAT_SIZE) || !(info.valid & ZIP_STAT_COMP_SIZE) ||
      !(info.valid & ZIP_STAT_COMP_METHOD)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s: the archive does not state its size (%s)",
                        path, member, zip_strerror(zip));
  }
  const bool stored = info.comp_method == ZIP_CM_STORE;
  if (info.size > cap || info.comp_size > archive_size ||
      (stored && info.size != info.comp_size) ||
      (!stored && info.size / MAX_INFLATION > info.comp_size)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s: the archive states %llu bytes (%llu "
                        "compressed); expected at most %zu bytes, "
                        "consistent with the archive's %zu bytes",
                        path, member, (unsigned long long)info.size,
                        (unsigned long long)info.comp_size, cap,
                        archive_size);
  }
  const size_t length = (size_t)info.size;
  char* const  buffer = (char*)malloc(length + 1U);
  if (!buffer) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  zip_file_t* const file = zip_fopen_index(zip, (zip_uint64_t)index, 0);
  if (!file) {
    free(buffer);
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s cannot be read from the archive: %s", path,
                        member, zip_strerror(zip));
  }
  SwStatus st    = SW_SUCCESS;
  size_t   total = 0;
  while (!st && total < length) {
    const zip_int64_t got = zip_fread(file, buffer + total, length - total);
    if (got <= 0) {
      st = sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s: %s after %zu of the %zu bytes the archive "
                        "states",
                        path, member,
                        got < 0 ? zip_file_strerror(file) : "data ends",
                        total, length);
    } else {
      total += (size_t)got;
    }
  }
  /* The end of the data is where libzip checks the CRC. */
  char extra = 0;
  if (!st) {
    const zip_int64_t got = zip_fread(file, &extra, 1);
    if (got != 0) {
      st = sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s: %s; expected exactly the %zu bytes the "
                        "archive states",
                        path, member,
                        got < 0 ? zip_file_strerror(file) : "more data",
                        length);
    }
  }
  if (zip_fclose(file) != 0 && !st) {
    st = sw_error_set(err, SW_ERR_BAD_MODEL, "%s: %s is damaged", path,
                      member);
  }
  if (st) {
    free(buffer);
    return st;
  }
  buffer[length] = '\0';
  *data          = buffer;
  *size          = length;
  return SW_SUCCESS;
}

/* ---- object paths ------------------------------------------------------- */

/* Keras's naming.to_snake_case for ASCII class names: drop non-word
   characters, then "(.)([A-Z][a-z]+)" -> "\1_\2", "([a-z])([A-Z])" ->
   "\1_\2" (each leftmost, non-overlapping), lower case. false when the
   result does not fit. */
static bool
snake_case(const char* const name, char* const out, const size_t out_size)
{
  char   word[MAX_PATH_BYTES];
  char   step[2U * MAX_PATH_BYTES];
  size_t n = 0;
  for (const char* p = name; *p; ++p) {
    const unsigned char c = (unsigned char)*p;
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z') || c == '_') {
      if (n + 1U >= sizeof(word)) {
        return false;
      }
      word[n++] = (char)c;
    }
  }
  word[n] = '\0';
#define UPPER(c) ((c) >= 'A' && (c) <= 'Z')
#define LOWER(c) ((c) >= 'a' && (c) <= 'z')
  size_t m = 0;
  for (size_t j = 0; j < n;) {
    if (j + 2U < n && UPPER(word[j + 1U]) && LOWER(word[j + 2U])) {
      step[m++] = word[j];
      step[m++] = '_';
      step[m++] = word[j + 1U];
      j += 2U;
      while (j < n && LOWER(word[j])) {
        step[m++] = word[j++];
      }
    } else {
      step[m++] = word[j++];
    }
  }
  size_t k = 0;
  for (size_t j = 0; j < m;) {
    if (k + 3U >= out_size) {
      return false;
    }
    if (LOWER(step[j]) && j + 1U < m && UPPER(step[j + 1U])) {
      out[k++] = step[j];
      out[k++] = '_';
      out[k++] = step[j + 1U];
      j += 2U;
    } else {
      out[k++] = step[j++];
    }
  }
#undef UPPER
#undef LOWER
  out[k] = '\0';
  for (size_t j = 0; j < k; ++j) {
    if (out[j] >= 'A' && out[j] <= 'Z') {
      out[j] = (char)(out[j] - 'A' + 'a');
    }
  }
  return true;
}

static bool
is_recurrent(const char* const class_name)
{
  return !strcmp(class_name, "LSTM") || !strcmp(class_name, "GRU") ||
         !strcmp(class_name, "SimpleRNN");
}

/* Each config layer's variables path, by Keras's naming rule. Layers whose
   class name or name is not a string get no entry (the build refuses
   them). */
static SwStatus
map_layers(Keras3Weights* const weights, const cJSON* const layers,
           const bool sequential, const char* const root,
           SwError* const err)
{
  const int total = cJSON_GetArraySize(layers);
  if (total < 0 || (size_t)total > MAX_CONFIG_LAYERS) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: config.json: %d layers; expected at most %u",
                        weights->path, total, MAX_CONFIG_LAYERS);
  }
  weights->layers =
    (LayerVars*)calloc(total > 0 ? (size_t)total : 1U, sizeof(LayerVars));
  char(*const seen)[MAX_PATH_BYTES] = (char(*)[MAX_PATH_BYTES])calloc(
    total > 0 ? (size_t)total : 1U, MAX_PATH_BYTES);
  unsigned* const used =
    (unsigned*)calloc(total > 0 ? (size_t)total : 1U, sizeof(unsigned));
  size_t kinds = 0;
  if (!weights->layers || !seen || !used) {
    free(seen);
    free(used);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory",
                        weights->path);
  }
  const cJSON* layer = NULL;
  int          at    = 0;
  cJSON_ArrayForEach(layer, layers)
  {
    const cJSON* const class_name =
      cJSON_GetObjectItemCaseSensitive(layer, "class_name");
    const cJSON* const name = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(layer, "config"), "name");
    const bool first = at++ == 0;
    if (!cJSON_IsString(class_name) || !cJSON_IsString(name)) {
      continue;
    }
    /* Sequential.layers leaves out the model's own InputLayer. */
    if (sequential && first && !strcmp(class_name->valuestring, "InputLayer")) {
      continue;
    }
    char snake[MAX_PATH_BYTES];
    if (!snake_case(class_name->valuestring, snake, sizeof(snake) - 16U)) {
      continue; /* no supported class has such a name */
    }
    size_t kind = 0;
    while (kind < kinds && strcmp(seen[kind], snake)) {
      ++kind;
    }
    char object[MAX_PATH_BYTES];
    if (kind == kinds) {
      memcpy(seen[kinds], snake, sizeof(snake));
      used[kinds++] = 0;
      snprintf(object, sizeof(object), "%s", snake);
    } else {
      snprintf(object, sizeof(object), "%s_%u", snake, ++used[kind]);
    }
    LayerVars* const entry = &weights->layers[weights->count++];
    entry->name            = name->valuestring;
    snprintf(entry->vars, sizeof(entry->vars), "%s/%s/%svars", root, object,
             is_recurrent(class_name->valuestring)       ? "cell/"
             : !strcmp(class_name->valuestring, "TimeDistributed") ? "layer/"
                                                          : "");
  }
  free(seen);
  free(used);
  return SW_SUCCESS;
}

static const LayerVars*
find_layer(const Keras3Weights* const weights, const char* const layer)
{
  for (size_t i = 0; i < weights->count; ++i) {
    if (!strcmp(weights->layers[i].name, layer)) {
      return &weights->layers[i];
    }
  }
  return NULL;
}

static SwStatus
keras3_count(void* const context, const char* const layer,
             size_t* const count, SwError* const err)
{
  const Keras3Weights* const weights = (const Keras3Weights*)context;
  const LayerVars* const     entry   = find_layer(weights, layer);
  *count                             = 0;
  (void)err;
  if (!entry || H5Lexists(weights->file, entry->vars, H5P_DEFAULT) <= 0) {
    return SW_SUCCESS; /* the build names what is missing */
  }
  const hid_t group = H5Gopen2(weights->file, entry->vars, H5P_DEFAULT);
  H5G_info_t  info;
  if (group >= 0 && H5Gget_info(group, &info) >= 0) {
    *count = (size_t)info.nlinks;
  }
  if (group >= 0) {
    H5Gclose(group);
  }
  return SW_SUCCESS;
}

static SwStatus
keras3_weight(void* const context, const char* const layer,
              const size_t index, const char* const field, const size_t rank,
              const size_t* const dims, float** const values,
              SwError* const err)
{
  const Keras3Weights* const weights = (const Keras3Weights*)context;
  const LayerVars* const     entry   = find_layer(weights, layer);
  *values                            = NULL;
  if (!entry) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\": not in config.json's layer list; "
                        "expected its %s",
                        weights->path, layer, field);
  }
  char dataset[2U * MAX_PATH_BYTES + 24U];
  snprintf(dataset, sizeof(dataset), "%s/%zu", entry->vars, index);
  if (H5Lexists(weights->file, entry->vars, H5P_DEFAULT) <= 0) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\": model.weights.h5 has no %s; "
                        "expected its %s there",
                        weights->path, layer, entry->vars, field);
  }
  return sw_hdf5_read_weight(weights->file, dataset, weights->path, layer,
                             field, rank, dims, values, err);
}

/* ---- config ------------------------------------------------------------- */

/* Keras 3 Functional configs in Keras 2's form where they are a chain:
   inbound_nodes [{"args": [{"config": {"keras_history": [name, 0, 0]}}]}]
   become [[[name, 0, 0, {}]]], output_layers [name, 0, 0] becomes
   [[name, 0, 0]]. Anything else is left for the build to refuse. */
static bool
keras2_functional(cJSON* const root)
{
  cJSON* const config = cJSON_GetObjectItemCaseSensitive(root, "config");
  cJSON* const layers = cJSON_GetObjectItemCaseSensitive(config, "layers");
  cJSON*       layer  = NULL;
  cJSON_ArrayForEach(layer, layers)
  {
    const cJSON* const nodes =
      cJSON_GetObjectItemCaseSensitive(layer, "inbound_nodes");
    const cJSON* const node = cJSON_GetArrayItem(nodes, 0);
    const cJSON* const args = cJSON_GetObjectItemCaseSensitive(node, "args");
    const cJSON* const history = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(args, 0), "config"),
      "keras_history");
    const cJSON* const from = cJSON_GetArrayItem(history, 0);
    if (cJSON_GetArraySize(nodes) != 1 || !cJSON_IsObject(node) ||
        cJSON_GetArraySize(args) != 1 || !cJSON_IsString(from)) {
      continue;
    }
    cJSON* const inbound = cJSON_CreateArray();
    cJSON* const call    = cJSON_CreateArray();
    cJSON* const input   = cJSON_CreateArray();
    if (!inbound || !call || !input ||
        !cJSON_AddItemToArray(input, cJSON_CreateString(from->valuestring)) ||
        !cJSON_AddItemToArray(input, cJSON_CreateNumber(0)) ||
        !cJSON_AddItemToArray(input, cJSON_CreateNumber(0)) ||
        !cJSON_AddItemToArray(input, cJSON_CreateObject())) {
      cJSON_Delete(inbound);
      cJSON_Delete(call);
      cJSON_Delete(input);
      return false;
    }
    cJSON_AddItemToArray(call, input);
    cJSON_AddItemToArray(inbound, call);
    cJSON_ReplaceItemInObjectCaseSensitive(layer, "inbound_nodes", inbound);
  }
  cJSON* const outputs =
    cJSON_GetObjectItemCaseSensitive(config, "output_layers");
  if (cJSON_IsString(cJSON_GetArrayItem(outputs, 0))) {
    cJSON* const wrapped = cJSON_CreateArray();
    cJSON* const copy    = cJSON_Duplicate(outputs, true);
    if (!wrapped || !copy) {
      cJSON_Delete(wrapped);
      cJSON_Delete(copy);
      return false;
    }
    cJSON_AddItemToArray(wrapped, copy);
    cJSON_ReplaceItemInObjectCaseSensitive(config, "output_layers", wrapped);
  }
  return true;
}

/* keras_version from metadata.json, copied into version[]. */
static SwStatus
read_version(const char* const text, const size_t size, char* const version,
             const size_t version_size, const char* const path,
             SwError* const err)
{
  char where[512];
  snprintf(where, sizeof(where), "%s: metadata.json", path);
  cJSON* const metadata = sw_json_parse(text, size, where, err);
  if (!metadata) {
    return err ? err->status : SW_ERR_BAD_MODEL;
  }
  const cJSON* const value =
    cJSON_GetObjectItemCaseSensitive(metadata, "keras_version");
  SwStatus st = SW_SUCCESS;
  if (!cJSON_IsString(value) || !value->valuestring[0] ||
      strlen(value->valuestring) >= version_size) {
    st = sw_error_set(err, SW_ERR_BAD_MODEL,
                      "%s: metadata.json: keras_version is %s; expected a "
                      "version string such as \"3.4.1\" (it decides what "
                      "hard_sigmoid means)",
                      path, sw_json_kind(value));
  } else {
    snprintf(version, version_size, "%s", value->valuestring);
  }
  cJSON_Delete(metadata);
  return st;
}

/* ---- the reader --------------------------------------------------------- */

static SwModel*
build(const char* const config_text, const size_t config_size,
      const char* const version, const char* const weights_data,
      const size_t weights_size, const char* const path, SwError* const err)
{
  char where[512];
  snprintf(where, sizeof(where), "%s: config.json", path);
  cJSON* const config = sw_json_parse(config_text, config_size, where, err);
  if (!config) {
    return NULL;
  }
  SwModel*           model      = NULL;
  Keras3Weights      weights    = {-1, path, NULL, 0};
  const cJSON* const class_name =
    cJSON_GetObjectItemCaseSensitive(config, "class_name");
  const cJSON* const layers = cJSON_GetObjectItemCaseSensitive(
    cJSON_GetObjectItemCaseSensitive(config, "config"), "layers");
  const bool sequential =
    cJSON_IsString(class_name) && !strcmp(class_name->valuestring,
                                          "Sequential");
  if (!cJSON_IsObject(config) || !cJSON_IsString(class_name) ||
      !cJSON_IsArray(layers)) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: config.json is not a Keras model config; expected "
                 "{\"class_name\": \"Sequential\" or \"Functional\", "
                 "\"config\": {\"layers\": [...]}}",
                 path);
    cJSON_Delete(config);
    return NULL;
  }
  if (!sequential && !keras2_functional(config)) {
    sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
    cJSON_Delete(config);
    return NULL;
  }

  sw_hdf5_lock();
  size_t bad_offset = 0;
  /* libhdf5 1.10 crashes, leaks or allocates without bound on damaged
     images: it only ever sees files whose structure was checked. */
  if (sw_hdf5_validate(weights_data, weights_size, path, err)) {
    sw_error_prefix(err, "model.weights.h5 in ");
    goto done;
  }
  if (!sw_hdf5_heap_ids_safe(weights_data, weights_size, &bad_offset)) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: model.weights.h5 is damaged: the string reference at "
                 "byte %zu points outside its heap collection",
                 path, bad_offset);
    goto done;
  }
  weights.file = sw_hdf5_open_image(weights_data, weights_size);
  if (weights.file < 0) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: model.weights.h5 cannot be opened as HDF5 (truncated "
                 "or damaged?); expected Keras's weights file",
                 path);
    goto done;
  }
  const char* root = "layers";
  if (H5Lexists(weights.file, root, H5P_DEFAULT) <= 0) {
    root = "_layer_checkpoint_dependencies"; /* tf.keras 2.13 */
    if (H5Lexists(weights.file, root, H5P_DEFAULT) <= 0) {
      sw_error_set(err, SW_ERR_BAD_MODEL,
                   "%s: model.weights.h5 has no group \"layers\"; expected "
                   "Keras 3's layers/<layer>/vars",
                   path);
      goto done;
    }
  }
  if (map_layers(&weights, layers, sequential, root, err)) {
    goto done;
  }
  const KerasWeightLookup lookup = {&weights, keras3_count, keras3_weight};
  model = sw_keras_build_lookup(config, version, "", &lookup, path, err);
  if (model && sw_model_set_origin(model, KERAS3_FORMAT, path, err)) {
    sw_model_free(model);
    model = NULL;
  }

done:
  if (weights.file >= 0) {
    H5Fclose(weights.file);
  }
  sw_hdf5_unlock();
  free(weights.layers);
  cJSON_Delete(config);
  return model;
}

SwModel*
sw_keras3_read(const char* const data, const size_t size,
               const char* const path, SwError* const err)
{
  zip_error_t   zip_err;
  zip_error_init(&zip_err);
  zip_source_t* source = zip_source_buffer_create(data, size, 0, &zip_err);
  zip_t*        zip    = source ? zip_open_from_source(
                                    source, ZIP_RDONLY | ZIP_CHECKCONS,
                                    &zip_err)
                                : NULL;
  if (!zip) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: a zip signature, but not a readable zip archive (%s); "
                 "expected a Keras 3 .keras model",
                 path, zip_error_strerror(&zip_err));
    if (source) {
      zip_source_free(source);
    }
    zip_error_fini(&zip_err);
    return NULL;
  }
  zip_error_fini(&zip_err);

  SwModel* model          = NULL;
  char*    metadata       = NULL;
  char*    config         = NULL;
  char*    weights        = NULL;
  size_t   metadata_size  = 0;
  size_t   config_size    = 0;
  size_t   weights_size   = 0;
  char     version[64]    = "";
  if (read_member(zip, "metadata.json", MAX_METADATA_BYTES, size, &metadata,
                  &metadata_size, path, err) ||
      read_member(zip, "config.json", MAX_CONFIG_BYTES, size, &config,
                  &config_size, path, err) ||
      read_member(zip, "model.weights.h5", MAX_WEIGHTS_BYTES, size, &weights,
                  &weights_size, path, err)) {
    goto done;
  }
  if (!config) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: a zip archive without config.json; expected a Keras 3 "
                 ".keras model (metadata.json, config.json, "
                 "model.weights.h5)",
                 path);
    goto done;
  }
  if (!weights) {
    if (zip_name_locate(zip, "model.weights.npz", 0) >= 0) {
      sw_error_set(err, SW_ERR_UNSUPPORTED,
                   "%s: the weights are in model.weights.npz; only "
                   "model.weights.h5 (Keras's default) is read",
                   path);
    } else {
      sw_error_set(err, SW_ERR_BAD_MODEL,
                   "%s: the archive has config.json but no "
                   "model.weights.h5; expected the model's weights",
                   path);
    }
    goto done;
  }
  if (!metadata) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: the archive has no metadata.json; expected Keras's "
                 "{\"keras_version\"} (it decides what hard_sigmoid means)",
                 path);
    goto done;
  }
  if (read_version(metadata, metadata_size, version, sizeof(version), path,
                   err)) {
    goto done;
  }
  model = build(config, config_size, version, weights, weights_size, path,
                err);

done:
  free(metadata);
  free(config);
  free(weights);
  zip_discard(zip);
  return model;
}
