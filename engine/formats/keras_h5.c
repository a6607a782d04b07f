/* Keras 2 / tf.keras HDF5 files (model.save("m.h5")), read with libhdf5
   from the bytes sw_model_load already holds:
     attrs   keras_version, backend, model_config (JSON)
     group   model_weights/<layer>/ with attr weight_names (or weight_names0,
             weight_names1, ... when Keras split it) naming the datasets of
             that layer in order, e.g. "lstm/lstm_cell/kernel:0".
   Strings may be fixed-length (Keras 2.x writes bytes) or variable-length
   (tf.keras writes str). This file only reads HDF5; keras_config.c turns the
   config into layers. Weights-only files (save_weights: layer groups at the
   root, no model_config) carry no architecture: sw_keras_h5_read refuses
   them, sw_keras_h5_read_weights_only builds them from a config made of an
   architecture spec (keras_arch.c). */

#include "error.h"
#include "formats.h"
#include "keras_h5.h"
#include "model_impl.h"

#include <hdf5.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on what a file may make us allocate before anything is checked
   against the config: far above any real model's config and names. */
#define MAX_ATTRIBUTE_BYTES (16U * 1024U * 1024U)
#define MAX_NAMES 100000U
#define MAX_CHUNKS 10000U

struct KerasWeights {
  hid_t       group; /* model_weights */
  const char* path;
  /* Keras 3 (.keras): weights found by object path instead (keras3_zip.c) */
  const KerasWeightLookup* lookup;
};

/* Debian's libhdf5 is built without thread safety: one HDF5 user at a
   time, so that two threads loading models cannot corrupt its state. */
static pthread_mutex_t hdf5_lock = PTHREAD_MUTEX_INITIALIZER;

/* A list of strings read from one attribute (or its chunks). */
typedef struct {
  char** items;
  size_t count;
} StringList;

static void
free_strings(StringList* const list)
{
  for (size_t i = 0; i < list->count; ++i) {
    free(list->items[i]);
  }
  free(list->items);
  list->items = NULL;
  list->count = 0;
}

static char*
copy_bytes(const char* const bytes, const size_t length)
{
  char* const copy = (char*)malloc(length + 1U);
  if (copy) {
    memcpy(copy, bytes, length);
    copy[length] = '\0';
  }
  return copy;
}

/* Append the strings of attribute `name` of `object` (a scalar or a 1-D
   array of fixed- or variable-length strings) to `list`. `where` names the
   object in messages. */
static SwStatus
append_string_attribute(const hid_t object, const char* const where,
                        const char* const name, StringList* const list,
                        const char* const path, SwError* const err)
{
  SwStatus    st     = SW_SUCCESS;
  const hid_t attr   = H5Aopen(object, name, H5P_DEFAULT);
  const hid_t type   = attr < 0 ? -1 : H5Aget_type(attr);
  const hid_t space  = attr < 0 ? -1 : H5Aget_space(attr);
  hid_t       memory = -1;
  void*       buffer = NULL;
  if (attr < 0 || type < 0 || space < 0) {
    st = sw_error_set(err, SW_ERR_BAD_MODEL,
                      "%s: %s: attribute %s cannot be read; expected "
                      "strings",
                      path, where, name);
    goto done;
  }
  const int rank = H5Sget_simple_extent_ndims(space);
  const hssize_t points = H5Sget_simple_extent_npoints(space);
  if (H5Tget_class(type) != H5T_STRING || rank < 0 || rank > 1 ||
      points < 0 || (size_t)points > MAX_NAMES ||
      list->count + (size_t)points > MAX_NAMES) {
    st = sw_error_set(err, SW_ERR_BAD_MODEL,
                      "%s: %s: attribute %s is not a list of at most %u "
                      "strings",
                      path, where, name, MAX_NAMES);
    goto done;
  }
  const size_t count = (size_t)points;
  char** const grown =
    (char**)realloc(list->items, (list->count + count + 1U) * sizeof(char*));
  if (!grown) {
    st = sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
    goto done;
  }
  list->items = grown;

  const htri_t variable = H5Tis_variable_str(type);
  memory                = H5Tcopy(H5T_C_S1);
  if (variable < 0 || memory < 0) {
    st = sw_error_set(err, SW_ERR_BAD_MODEL, "%s: %s: attribute %s has a "
                      "string type HDF5 cannot describe", path, where, name);
    goto done;
  }
  if (variable) {
    char** const strings = (char**)calloc(count ? count : 1U, sizeof(char*));
    buffer               = strings;
    if (!strings) {
      st = sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
      goto done;
    }
    if (H5Tset_size(memory, H5T_VARIABLE) < 0 ||
        H5Aread(attr, memory, strings) < 0) {
      st = sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s: attribute %s cannot be read", path, where,
                        name);
      goto done;
    }
    for (size_t i = 0; i < count && !st; ++i) {
      const size_t length =
        strings[i] ? strnlen(strings[i], MAX_ATTRIBUTE_BYTES) : 0U;
      char* const copy = copy_bytes(strings[i] ? strings[i] : "", length);
      if (!copy) {
        st = sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
      } else {
        list->items[list->count++] = copy;
      }
    }
    H5Dvlen_reclaim(memory, space, H5P_DEFAULT, strings);
  } else {
    const size_t size = H5Tget_size(type);
    if (size == 0 || size > MAX_ATTRIBUTE_BYTES ||
        (count && size > MAX_ATTRIBUTE_BYTES / count)) {
      st = sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s: attribute %s is %zu strings of %zu bytes; "
                        "expected at most %u bytes",
                        path, where, name, count, size, MAX_ATTRIBUTE_BYTES);
      goto done;
    }
    char* const bytes = (char*)calloc(count ? count : 1U, size);
    buffer            = bytes;
    /* NULLPAD keeps a string that fills its whole width intact (numpy
       byte strings are padded, not terminated). */
    if (!bytes) {
      st = sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
      goto done;
    }
    if (H5Tset_size(memory, size) < 0 ||
        H5Tset_strpad(memory, H5T_STR_NULLPAD) < 0 ||
        H5Aread(attr, memory, bytes) < 0) {
      st = sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s: attribute %s cannot be read", path, where,
                        name);
      goto done;
    }
    for (size_t i = 0; i < count && !st; ++i) {
      const char* const item = bytes + i * size;
      char* const       copy = copy_bytes(item, strnlen(item, size));
      if (!copy) {
        st = sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
      } else {
        list->items[list->count++] = copy;
      }
    }
  }

done:
  free(buffer);
  if (memory >= 0) {
    H5Tclose(memory);
  }
  if (space >= 0) {
    H5Sclose(space);
  }
  if (type >= 0) {
    H5Tclose(type);
  }
  if (attr >= 0) {
    H5Aclose(attr);
  }
  return st;
}

/* Attribute `name`, or its chunks name0, name1, ... (Keras splits
   attributes over 64512 bytes). *found is false when neither exists. */
static SwStatus
read_string_list(const hid_t object, const char* const where,
                 const char* const name, StringList* const list,
                 bool* const found, const char* const path,
                 SwError* const err)
{
  *found             = false;
  const htri_t whole = H5Aexists(object, name);
  if (whole < 0) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s: its attributes cannot be read", path, where);
  }
  if (whole) {
    *found = true;
    return append_string_attribute(object, where, name, list, path, err);
  }
  char chunk[96];
  for (unsigned i = 0; i < MAX_CHUNKS; ++i) {
    snprintf(chunk, sizeof(chunk), "%s%u", name, i);
    const htri_t exists = H5Aexists(object, chunk);
    if (exists <= 0) {
      return SW_SUCCESS;
    }
    *found           = true;
    const SwStatus st =
      append_string_attribute(object, where, chunk, list, path, err);
    if (st) {
      return st;
    }
  }
  return SW_SUCCESS;
}

/* A root attribute holding one string (keras_version, model_config ...);
   NULL in *value when absent. */
static SwStatus
read_root_string(const hid_t file, const char* const name, char** const value,
                 const char* const path, SwError* const err)
{
  *value          = NULL;
  StringList list = {NULL, 0};
  bool       found = false;
  SwStatus   st    = read_string_list(file, "the file", name, &list, &found,
                                      path, err);
  if (!st && found && list.count != 1) {
    st = sw_error_set(err, SW_ERR_BAD_MODEL,
                      "%s: attribute %s holds %zu strings; expected one",
                      path, name, list.count);
  }
  if (!st && found) {
    *value        = list.items[0];
    list.items[0] = NULL;
  }
  free_strings(&list);
  return st;
}

/* Layer names must name a direct child group: no path separators, no
   "." (HDF5's own name for the current group). */
static bool
plain_layer_name(const char* const layer)
{
  return layer[0] && !strchr(layer, '/') && strcmp(layer, ".") != 0;
}

SwStatus
sw_keras_weight_count(KerasWeights* const weights, const char* const layer,
                      size_t* const count, SwError* const err)
{
  *count = 0;
  if (weights->lookup) {
    return weights->lookup->count(weights->lookup->context, layer, count, err);
  }
  if (!plain_layer_name(layer)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer name \"%s\"; expected a name without '/'",
                        weights->path, layer);
  }
  const htri_t exists = H5Lexists(weights->group, layer, H5P_DEFAULT);
  if (exists <= 0) {
    return SW_SUCCESS;
  }
  const hid_t group = H5Gopen2(weights->group, layer, H5P_DEFAULT);
  if (group < 0) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: model_weights/%s is not a group; expected the "
                        "layer's weights",
                        weights->path, layer);
  }
  StringList list  = {NULL, 0};
  bool       found = false;
  char       where[160];
  snprintf(where, sizeof(where), "model_weights/%s", layer);
  const SwStatus st =
    read_string_list(group, where, "weight_names", &list, &found,
                     weights->path, err);
  *count = list.count;
  free_strings(&list);
  H5Gclose(group);
  return st;
}

static void
format_dims(char* const text, const size_t size, const size_t rank,
            const size_t* const dims)
{
  size_t used = (size_t)snprintf(text, size, "(");
  for (size_t i = 0; i < rank && used < size; ++i) {
    used += (size_t)snprintf(text + used, size - used, "%s%zu",
                             i ? ", " : "", dims[i]);
  }
  if (used < size) {
    snprintf(text + used, size - used, rank == 1 ? ",)" : ")");
  }
}

SwStatus
sw_hdf5_read_weight(const hid_t group, const char* const name,
                    const char* const path, const char* const layer,
                    const char* const field, const size_t rank,
                    const size_t* const dims, float** const values,
                    SwError* const err)
{
  *values     = NULL;
  SwStatus st = SW_SUCCESS;
  hid_t dataset = -1, space = -1, type = -1;
  char  expected[96], got[96];
  format_dims(expected, sizeof(expected), rank, dims);
  if (rank == 0 || rank > SW_KERAS_MAX_RANK) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\": %s: weights cannot be located",
                        path, layer, field);
  }
  dataset = H5Dopen2(group, name, H5P_DEFAULT);
  space   = dataset < 0 ? -1 : H5Dget_space(dataset);
  type    = dataset < 0 ? -1 : H5Dget_type(dataset);
  if (dataset < 0 || space < 0 || type < 0) {
    st = sw_error_set(err, SW_ERR_BAD_MODEL,
                      "%s: layer \"%s\": %s: dataset \"%s\" is missing or "
                      "unreadable; expected an array %s",
                      path, layer, field, name, expected);
  }
  if (!st) {
    hsize_t   file_dims[8];
    const int file_rank = H5Sget_simple_extent_ndims(space);
    bool      same      = file_rank == (int)rank &&
                H5Sget_simple_extent_dims(space, file_dims, NULL) == file_rank;
    for (size_t i = 0; same && i < rank; ++i) {
      same = file_dims[i] == (hsize_t)dims[i];
    }
    if (!same) {
      size_t shown[8] = {0};
      size_t shown_rank = 0;
      if (file_rank > 0 && file_rank <= 8 &&
          H5Sget_simple_extent_dims(space, file_dims, NULL) == file_rank) {
        shown_rank = (size_t)file_rank;
        for (size_t i = 0; i < shown_rank; ++i) {
          shown[i] = (size_t)file_dims[i];
        }
      }
      format_dims(got, sizeof(got), shown_rank, shown);
      st = sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\": %s (\"%s\") has shape %s; the "
                        "config implies %s",
                        path, layer, field, name,
                        file_rank < 0 ? "unknown" : got, expected);
    } else if (H5Tget_class(type) != H5T_FLOAT) {
      st = sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\": %s (\"%s\") is not floating "
                        "point",
                        path, layer, field, name);
    }
  }
  size_t count = 1;
  for (size_t i = 0; i < rank; ++i) {
    count *= dims[i]; /* dims come from the checked config: no overflow */
  }
  float* const data = st ? NULL : (float*)malloc((count ? count : 1U) *
                                                  sizeof(float));
  if (!st && !data) {
    st = sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  if (!st && H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
                     H5P_DEFAULT, data) < 0) {
    st = sw_error_set(err, SW_ERR_BAD_MODEL,
                      "%s: layer \"%s\": %s (\"%s\") cannot be read", path,
                      layer, field, name);
  }
  for (size_t i = 0; !st && i < count; ++i) {
    if (!isfinite(data[i])) {
      st = sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\": %s (\"%s\") value %zu is not "
                        "finite; expected a float32 weight",
                        path, layer, field, name, i);
    }
  }
  if (st) {
    free(data);
  } else {
    *values = data;
  }
  if (type >= 0) {
    H5Tclose(type);
  }
  if (space >= 0) {
    H5Sclose(space);
  }
  if (dataset >= 0) {
    H5Dclose(dataset);
  }
  return st;
}

SwStatus
sw_keras_weight(KerasWeights* const weights, const char* const layer,
                const size_t index, const char* const field,
                const size_t rank, const size_t* const dims,
                float** const values, SwError* const err)
{
  *values = NULL;
  if (weights->lookup) {
    return weights->lookup->weight(weights->lookup->context, layer, index,
                                   field, rank, dims, values, err);
  }
  const char* const path = weights->path;
  if (!plain_layer_name(layer) || rank == 0 || rank > SW_KERAS_MAX_RANK) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\": weights cannot be located", path,
                        layer);
  }
  const hid_t group = H5Gopen2(weights->group, layer, H5P_DEFAULT);
  if (group < 0) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: layer \"%s\": model_weights/%s is missing; "
                        "expected its %s",
                        path, layer, layer, field);
  }
  StringList list  = {NULL, 0};
  bool       found = false;
  char       where[160];
  snprintf(where, sizeof(where), "model_weights/%s", layer);
  SwStatus st = read_string_list(group, where, "weight_names", &list, &found,
                                 path, err);
  if (!st && index >= list.count) {
    char expected[96];
    format_dims(expected, sizeof(expected), rank, dims);
    st = sw_error_set(err, SW_ERR_BAD_MODEL,
                      "%s: layer \"%s\": weight_names lists %zu arrays; "
                      "expected the %s %s as array %zu",
                      path, layer, list.count, field, expected, index + 1U);
  }
  if (!st) {
    st = sw_hdf5_read_weight(group, list.items[index], path, layer, field,
                             rank, dims, values, err);
  }
  free_strings(&list);
  H5Gclose(group);
  return st;
}

SwModel*
sw_keras_build_lookup(const cJSON* const config,
                      const char* const keras_version,
                      const char* const backend,
                      const KerasWeightLookup* const lookup,
                      const char* const path, SwError* const err)
{
  KerasWeights source = {-1, path, lookup};
  return sw_keras_build(config, keras_version, backend, &source, path, err);
}

void
sw_hdf5_lock(void)
{
  pthread_mutex_lock(&hdf5_lock);
  /* The library never prints: HDF5 would report every failed call (and
     probing calls fail by design) on stderr. */
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void
sw_hdf5_unlock(void)
{
  pthread_mutex_unlock(&hdf5_lock);
}

/* An HDF5 file held in memory: the bytes are copied into HDF5's core
   driver, so detection and reading both work on what was read once. */
hid_t
sw_hdf5_open_image(const char* const data, const size_t size)
{
  const hid_t access = H5Pcreate(H5P_FILE_ACCESS);
  if (access < 0) {
    return -1;
  }
  hid_t file = -1;
  if (H5Pset_fapl_core(access, 64U * 1024U, 0) >= 0 &&
      H5Pset_file_image(access, (void*)(uintptr_t)data, size) >= 0) {
    file = H5Fopen("statewave-keras-image.h5", H5F_ACC_RDONLY, access);
  }
  H5Pclose(access);
  return file;
}

static SwModel*
read_open_file(const hid_t file, const char* const path, SwError* const err)
{
  char*    config_text = NULL;
  char*    version     = NULL;
  char*    backend     = NULL;
  cJSON*   config      = NULL;
  SwModel* model       = NULL;
  hid_t    weights     = -1;

  if (read_root_string(file, "model_config", &config_text, path, err) ||
      read_root_string(file, "keras_version", &version, path, err) ||
      read_root_string(file, "backend", &backend, path, err)) {
    goto done;
  }
  if (!config_text) {
    const htri_t layers = H5Aexists(file, "layer_names");
    const htri_t chunked = H5Aexists(file, "layer_names0");
    if (layers > 0 || chunked > 0) {
      sw_error_set(err, SW_ERR_UNSUPPORTED,
                   "%s: a Keras weights-only file (save_weights: layer "
                   "weights, no model_config attribute); an architecture is "
                   "needed to run it: save the whole model with "
                   "model.save(), or name an architecture with --arch FILE "
                   "(see README)",
                   path);
    } else {
      sw_error_set(err, SW_ERR_BAD_MODEL,
                   "%s: an HDF5 file without a model_config attribute; "
                   "expected a Keras model saved with model.save()",
                   path);
    }
    goto done;
  }
  config = cJSON_Parse(config_text);
  if (!config || !cJSON_IsObject(config)) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: attribute model_config is not a JSON object; expected "
                 "Keras's {\"class_name\", \"config\"}",
                 path);
    goto done;
  }
  if (H5Lexists(file, "model_weights", H5P_DEFAULT) <= 0 ||
      (weights = H5Gopen2(file, "model_weights", H5P_DEFAULT)) < 0) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: group model_weights is missing; expected the layers' "
                 "weights next to model_config",
                 path);
    goto done;
  }
  KerasWeights source = {weights, path, NULL};
  model = sw_keras_build(config, version ? version : "", backend ? backend : "",
                         &source, path, err);

done:
  if (weights >= 0) {
    H5Gclose(weights);
  }
  cJSON_Delete(config);
  free(config_text);
  free(version);
  free(backend);
  return model;
}

/* Hold the lock. libhdf5 1.10 crashes, leaks or allocates without bound on
   damaged images: it only ever sees files whose structure was checked.
   Negative (err filled) when the image is refused. */
static hid_t
open_checked_image(const char* const data, const size_t size,
                   const char* const path, SwError* const err)
{
  size_t bad_offset = 0;
  if (sw_hdf5_validate(data, size, path, err)) {
    return -1;
  }
  if (!sw_hdf5_heap_ids_safe(data, size, &bad_offset)) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: damaged HDF5 file: the string reference at byte %zu "
                 "points outside its heap collection; expected a Keras .h5 "
                 "model",
                 path, bad_offset);
    return -1;
  }
  const hid_t file = sw_hdf5_open_image(data, size);
  if (file < 0) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: an HDF5 signature, but the file cannot be opened as "
                 "HDF5 (truncated or damaged?); expected a Keras .h5 model",
                 path);
  }
  return file;
}

SwModel*
sw_keras_h5_read(const char* const data, const size_t size,
                 const char* const path, SwError* const err)
{
  sw_hdf5_lock();
  SwModel*    model = NULL;
  const hid_t file  = open_checked_image(data, size, path, err);
  if (file >= 0) {
    model = read_open_file(file, path, err);
    H5Fclose(file);
  }
  sw_hdf5_unlock();
  return model;
}

/* ---- weights-only files with an architecture spec ----------------------- */

/* The root-level layer groups of a weights-only file, as a weight lookup
   for sw_keras_build: a layer the architecture names must have a group,
   and every group with weights must be used by some layer (else the spec
   describes another model). */
typedef struct {
  KerasWeights root;         /* group: the file's root */
  const char*  weights_path;
  const char*  arch_path;
  StringList   layer_names;  /* the root's layer_names attribute */
  bool*        used;         /* per layer_names entry */
} RootWeights;

/* "a, b, c" (shortened with "..." past the buffer) for messages. */
static void
list_names(const StringList* const names, char* const text, const size_t size)
{
  size_t used = 0;
  text[0]     = '\0';
  for (size_t i = 0; i < names->count && used < size; ++i) {
    const int n = snprintf(text + used, size - used, "%s%s", i ? ", " : "",
                           names->items[i]);
    used += n > 0 ? (size_t)n : 0U;
  }
  if (used >= size && size > 4U) {
    memcpy(text + size - 4U, "...", 4U);
  }
  if (names->count == 0) {
    snprintf(text, size, "no layers");
  }
}

static SwStatus
root_weight_count(void* const context, const char* const layer,
                  size_t* const count, SwError* const err)
{
  RootWeights* const root = (RootWeights*)context;
  *count                  = 0;
  for (size_t i = 0; i < root->layer_names.count; ++i) {
    if (!strcmp(root->layer_names.items[i], layer)) {
      root->used[i] = true;
      return sw_keras_weight_count(&root->root, layer, count, err);
    }
  }
  char present[512];
  list_names(&root->layer_names, present, sizeof(present));
  return sw_error_set(err, SW_ERR_BAD_MODEL,
                      "%s: layer \"%s\" (from %s): no weight group %s in the "
                      "file; it has: %s",
                      root->weights_path, layer, root->arch_path, layer,
                      present);
}

static SwStatus
root_weight(void* const context, const char* const layer, const size_t index,
            const char* const field, const size_t rank,
            const size_t* const dims, float** const values,
            SwError* const err)
{
  RootWeights* const root = (RootWeights*)context;
  return sw_keras_weight(&root->root, layer, index, field, rank, dims, values,
                         err);
}

/* How many entries the weight_names attribute of root group `layer` has,
   whatever its type: Keras writes an empty float array for layers without
   weights (InputLayer, Add), which is no list of strings. */
static size_t
listed_weight_count(const hid_t file, const char* const layer)
{
  size_t count = 0;
  if (!plain_layer_name(layer) || H5Lexists(file, layer, H5P_DEFAULT) <= 0) {
    return 0;
  }
  const hid_t group = H5Gopen2(file, layer, H5P_DEFAULT);
  const hid_t attr =
    group < 0 || H5Aexists(group, "weight_names") <= 0
      ? -1
      : H5Aopen(group, "weight_names", H5P_DEFAULT);
  const hid_t space = attr < 0 ? -1 : H5Aget_space(attr);
  const hssize_t points = space < 0 ? 0 : H5Sget_simple_extent_npoints(space);
  count = points > 0 ? (size_t)points : 0U;
  if (space >= 0) {
    H5Sclose(space);
  }
  if (attr >= 0) {
    H5Aclose(attr);
  }
  if (group >= 0) {
    H5Gclose(group);
  }
  return count;
}

/* Whether every layer group that holds weights was used by the build. */
static SwStatus
check_all_groups_used(const RootWeights* const root, SwError* const err)
{
  for (size_t i = 0; i < root->layer_names.count; ++i) {
    const size_t count =
      root->used[i]
        ? 0U
        : listed_weight_count(root->root.group, root->layer_names.items[i]);
    if (count) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "%s: layer \"%s\" holds %zu weight arrays in the "
                          "file, but the architecture %s has no layer of that "
                          "name; expected every layer of the saved model",
                          root->weights_path, root->layer_names.items[i],
                          count, root->arch_path);
    }
  }
  return SW_SUCCESS;
}

static SwModel*
read_weights_only_file(const hid_t file, const char* const weights_path,
                       const cJSON* const config,
                       const char* const keras_version,
                       const KerasModelExtras* const extras,
                       const char* const arch_path, SwError* const err)
{
  char*       config_text = NULL;
  char*       version     = NULL;
  char*       backend     = NULL;
  char*       described   = NULL;
  SwModel*    model       = NULL;
  bool        found       = false;
  RootWeights root;
  memset(&root, 0, sizeof(root));
  root.weights_path = weights_path;
  root.arch_path    = arch_path;

  if (read_root_string(file, "model_config", &config_text, weights_path,
                       err) ||
      read_root_string(file, "keras_version", &version, weights_path, err) ||
      read_root_string(file, "backend", &backend, weights_path, err)) {
    goto done;
  }
  if (config_text) {
    sw_error_set(err, SW_ERR_BAD_ARG,
                 "%s: the file holds its own architecture (model_config); "
                 "load it without the architecture %s",
                 weights_path, arch_path);
    goto done;
  }
  if (read_string_list(file, "the file", "layer_names", &root.layer_names,
                       &found, weights_path, err)) {
    goto done;
  }
  if (!found) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: no layer_names attribute at the root; expected a Keras "
                 "weights-only file (model.save_weights) for the "
                 "architecture %s",
                 weights_path, arch_path);
    goto done;
  }
  root.used = (bool*)calloc(root.layer_names.count + 1U, sizeof(bool));
  /* Config-side messages start with this, so they name both files. */
  const size_t described_size =
    strlen(weights_path) + strlen(arch_path) + 32U;
  described = (char*)malloc(described_size);
  if (!root.used || !described) {
    sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", weights_path);
    goto done;
  }
  snprintf(described, described_size, "%s with architecture %s",
           weights_path, arch_path);
  root.root.group                 = file;
  root.root.path                  = described;
  root.root.lookup                = NULL;
  const KerasWeightLookup lookup  = {&root, root_weight_count, root_weight};
  KerasWeights            through = {-1, described, &lookup};
  model = sw_keras_build_extras(config,
                                keras_version[0] ? keras_version
                                : version        ? version
                                                 : "",
                                backend ? backend : "", &through, extras,
                                described, err);
  if (model && (check_all_groups_used(&root, err) ||
                sw_model_set_origin(model, "keras-h5", weights_path, err))) {
    sw_model_free(model);
    model = NULL;
  }

done:
  free(described);
  free(root.used);
  free_strings(&root.layer_names);
  free(config_text);
  free(version);
  free(backend);
  return model;
}

SwModel*
sw_keras_h5_read_weights_only(const char* const data, const size_t size,
                              const char* const weights_path,
                              const cJSON* const config,
                              const char* const keras_version,
                              const KerasModelExtras* const extras,
                              const char* const arch_path, SwError* const err)
{
  sw_hdf5_lock();
  SwModel*    model = NULL;
  const hid_t file  = open_checked_image(data, size, weights_path, err);
  if (file >= 0) {
    model = read_weights_only_file(file, weights_path, config, keras_version,
                                   extras, arch_path, err);
    H5Fclose(file);
  }
  sw_hdf5_unlock();
  return model;
}
