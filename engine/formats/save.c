/* sw_model_save: build the document with the format's writer, then write
   it beside the destination under a temporary name and rename it into
   place, so readers of `path` never see half a file and a failed save
   leaves nothing behind. */

#include "error.h"
#include "save.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Tries at a free temporary name before giving up (another process may be
   saving beside us under the same pid-derived name only after a crash). */
#define MAX_TEMP_TRIES 16

cJSON*
sw_json_exact_float(const float value)
{
  /* 9 significant digits identify every float32; cJSON's own printing
     would use up to 17 digits of the widened double. */
  char text[32];
  snprintf(text, sizeof(text), "%.9g", (double)value);
  return cJSON_CreateRaw(text);
}

cJSON*
sw_json_exact_floats(const float* const values, const size_t count)
{
  cJSON* const array = cJSON_CreateArray();
  for (size_t i = 0; array && i < count; ++i) {
    cJSON* const number = sw_json_exact_float(values[i]);
    if (!number || !cJSON_AddItemToArray(array, number)) {
      cJSON_Delete(number);
      cJSON_Delete(array);
      return NULL;
    }
  }
  return array;
}

cJSON*
sw_json_exact_matrix(const float* const values, const size_t rows,
                     const size_t cols)
{
  cJSON* const array = cJSON_CreateArray();
  for (size_t r = 0; array && r < rows; ++r) {
    cJSON* const row = sw_json_exact_floats(values + r * cols, cols);
    if (!row || !cJSON_AddItemToArray(array, row)) {
      cJSON_Delete(row);
      cJSON_Delete(array);
      return NULL;
    }
  }
  return array;
}

/* Keys the readers interpret themselves; a free-text entry of that name
   would be read as something else. */
static bool
is_reserved_meta_key(const char* const key)
{
  return !strcmp(key, "samplerate") || !strcmp(key, "sample_rate") ||
         !strcmp(key, "knobs") || !strcmp(key, "sample_rate_note");
}

static bool
add_knobs(const SwModel* const model, const SwModelInfo* const info,
          cJSON* const metadata)
{
  if (!info->num_knobs) {
    return true;
  }
  cJSON* const knobs = cJSON_AddArrayToObject(metadata, "knobs");
  if (!knobs) {
    return false;
  }
  for (uint32_t k = 0; k < info->num_knobs; ++k) {
    SwKnobSpec knob;
    if (sw_model_knob(model, k, &knob)) {
      return false;
    }
    cJSON* const item = cJSON_CreateObject();
    if (!item || !cJSON_AddItemToArray(knobs, item)) {
      cJSON_Delete(item);
      return false;
    }
    cJSON* const min = sw_json_exact_float(knob.min);
    cJSON* const max = sw_json_exact_float(knob.max);
    cJSON* const def = sw_json_exact_float(knob.default_value);
    const bool   ok  = min && max && def;
    if (!ok || (knob.name && !cJSON_AddStringToObject(item, "name",
                                                      knob.name))) {
      cJSON_Delete(min);
      cJSON_Delete(max);
      cJSON_Delete(def);
      return false;
    }
    cJSON_AddItemToObject(item, "min", min);
    cJSON_AddItemToObject(item, "max", max);
    cJSON_AddItemToObject(item, "default", def);
  }
  return true;
}

bool
sw_json_add_model_metadata(const SwModel* const model, cJSON* const metadata,
                           const bool samplerate_as_string)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  if (info.sample_rate > 0.0) {
    /* 17 digits: the rate is a double. */
    char rate[40];
    snprintf(rate, sizeof(rate), "%.17g", info.sample_rate);
    cJSON* const item = samplerate_as_string ? cJSON_CreateString(rate)
                                             : cJSON_CreateRaw(rate);
    if (!item) {
      return false;
    }
    cJSON_AddItemToObject(metadata, "samplerate", item);
  }
  if (!add_knobs(model, &info, metadata)) {
    return false;
  }
  for (uint32_t m = 0; m < info.num_metadata; ++m) {
    SwMetaEntry entry;
    if (sw_model_metadata(model, m, &entry)) {
      return false;
    }
    if (is_reserved_meta_key(entry.key)) {
      continue;
    }
    if (!cJSON_AddStringToObject(metadata, entry.key, entry.value)) {
      return false;
    }
  }
  return true;
}

/* Write `text` to a fresh file next to `path`, then rename it to `path`. */
static SwStatus
write_replacing(const char* const text, const char* const path,
                SwError* const err)
{
  const size_t size      = strlen(text);
  const size_t name_size = strlen(path) + 64U;
  char* const  temp      = (char*)malloc(name_size);
  if (!temp) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  int fd = -1;
  for (unsigned attempt = 0; fd < 0 && attempt < MAX_TEMP_TRIES; ++attempt) {
    snprintf(temp, name_size, "%s.tmp-%ld-%u", path, (long)getpid(),
             attempt);
    /* O_EXCL: never follow or clobber something already there; 0666 lets
       the umask decide the final permissions, as for any new file. */
    fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0 && errno != EEXIST) {
      break;
    }
  }
  if (fd < 0) {
    const int error = errno;
    free(temp);
    return sw_error_set(err, SW_ERR_IO, "%s: cannot write: %s", path,
                        strerror(error));
  }
  size_t written = 0;
  int    error   = 0;
  while (written < size) {
    const ssize_t n = write(fd, text + written, size - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      error = errno;
      break;
    }
    written += (size_t)n;
  }
  /* fsync before rename: after a crash the name holds the old file or the
     whole new one, never an empty one. */
  if (!error && fsync(fd)) {
    error = errno;
  }
  if (close(fd) && !error) {
    error = errno;
  }
  if (!error && rename(temp, path)) {
    error = errno;
  }
  if (error) {
    remove(temp);
    free(temp);
    return sw_error_set(err, SW_ERR_IO, "%s: cannot write: %s", path,
                        strerror(error));
  }
  free(temp);
  return SW_SUCCESS;
}

SwStatus
sw_model_save(const SwModel* const model, const char* const path,
              const SwModelFormat format, SwError* const err)
{
  if (!model || !path || !path[0]) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "sw_model_save: %s is NULL or empty; expected a model "
                        "and a file path",
                        !model ? "model" : "path");
  }
  /* Neither format has a window: the file would load as a streaming model
     and compute something else. */
  SwModelInfo info;
  sw_model_info(model, &info);
  if (info.window) {
    return sw_error_set(err, SW_ERR_UNSUPPORTED,
                        "%s: the model is windowed (one stateless call over "
                        "the last %u frames per output); RTNeural and "
                        "GuitarML JSON hold only streaming models",
                        path, info.window);
  }
  cJSON*   root = NULL;
  SwStatus st   = SW_SUCCESS;
  switch (format) {
  case SW_FORMAT_RTNEURAL_JSON:
    st = sw_rtneural_write(model, &root, path, err);
    break;
  case SW_FORMAT_GUITARML_JSON:
    st = sw_guitarml_write(model, &root, path, err);
    break;
  default:
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "%s: format %d is not an SwModelFormat", path,
                        (int)format);
  }
  if (st) {
    cJSON_Delete(root);
    return st;
  }
  /* cJSON indents objects and keeps arrays on one line: the structure
     stays readable and the weights compact. */
  char* const text = cJSON_Print(root);
  cJSON_Delete(root);
  if (!text) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  st = write_replacing(text, path, err);
  cJSON_free(text);
  return st;
}
