/* sw_model_load: read a file, recognise its format by content (never by
   extension) and hand it to that format's reader. */

#include "error.h"
#include "formats.h"
#include "json_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* No real model comes near this; refusing early avoids exhausting memory. */
#define SW_MAX_MODEL_FILE_SIZE (512L * 1024L * 1024L)

#define SW_FORMATS_READ                                                       \
  "GuitarML/Proteus JSON, NAM LSTM (.nam), RTNeural/AIDA-X JSON, Keras HDF5 "  \
  "(.h5), Keras 3 (.keras)"

char*
sw_read_model_file(const char* const path, size_t* const size,
                   SwError* const err)
{
  struct stat info;
  if (stat(path, &info)) {
    sw_error_set(err, SW_ERR_IO, "%s: cannot open: %s", path,
                 strerror(errno));
    return NULL;
  }
  if (!S_ISREG(info.st_mode)) {
    sw_error_set(err, SW_ERR_IO, "%s: not a regular file; expected a model "
                 "file", path);
    return NULL;
  }
  if (info.st_size > SW_MAX_MODEL_FILE_SIZE) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: file is %lld bytes; expected a model under %ld MiB",
                 path, (long long)info.st_size,
                 SW_MAX_MODEL_FILE_SIZE / (1024L * 1024L));
    return NULL;
  }

  FILE* const file = fopen(path, "rb");
  if (!file) {
    sw_error_set(err, SW_ERR_IO, "%s: cannot open: %s", path,
                 strerror(errno));
    return NULL;
  }
  const size_t expected = (size_t)info.st_size;
  char* const  data     = (char*)malloc(expected + 1U);
  if (!data) {
    fclose(file);
    sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
    return NULL;
  }
  const size_t got = fread(data, 1, expected, file);
  const bool   bad = ferror(file) != 0;
  fclose(file);
  if (bad) {
    free(data);
    sw_error_set(err, SW_ERR_IO, "%s: read error", path);
    return NULL;
  }
  data[got] = '\0';
  *size     = got;
  return data;
}

static bool
starts_with(const char* const data, const size_t size, const char* const magic,
            const size_t magic_size)
{
  return size >= magic_size && !memcmp(data, magic, magic_size);
}

/* The readers of JSON formats, tried in order; the first whose detect()
   accepts the document reads it. Add a reader by adding a row. */
static const SwJsonReader json_readers[] = {
  {"guitarml-json", sw_guitarml_detect, sw_guitarml_read},
  {"nam", sw_nam_detect, sw_nam_read},
  {"rtneural-json", sw_rtneural_detect, sw_rtneural_read},
};

/* The readers of binary formats, recognised by their first bytes. */
static const SwBinaryReader binary_readers[] = {
  {"keras-h5", "\x89HDF\r\n\x1a\n", 8, sw_keras_h5_read},
  {"keras3", "PK\x03\x04", 4, sw_keras3_read},
};

/* Name formats Statewave recognises but cannot read in this version, so the
   user learns what the file is rather than "invalid JSON". */
static const char*
unsupported_binary_format(const char* const data, const size_t size)
{
  if (starts_with(data, size, "RIFF", 4)) {
    return "a RIFF/WAV audio file";
  }
  return NULL;
}

static const char*
unsupported_json_format(const cJSON* const root)
{
  (void)root; /* every JSON format Statewave knows has a reader now */
  return NULL;
}

static SwModel*
load_json(const char* const data, const size_t size, const char* const path,
          SwError* const err)
{
  cJSON* const root = sw_json_parse(data, size, path, err);
  if (!root) {
    return NULL;
  }
  if (!cJSON_IsObject(root)) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: the JSON document is %s; expected an object (%s)", path,
                 sw_json_kind(root), SW_FORMATS_READ);
    cJSON_Delete(root);
    return NULL;
  }
  SwModel* model = NULL;
  bool     found = false;
  for (size_t i = 0; i < sizeof(json_readers) / sizeof(json_readers[0]); ++i) {
    if (json_readers[i].detect(root)) {
      model = json_readers[i].read(root, path, err);
      found = true;
      break;
    }
  }
  const char* const other = found ? NULL : unsupported_json_format(root);
  if (other) {
    sw_error_set(err, SW_ERR_UNSUPPORTED,
                 "%s: %s is not readable by this version; it reads %s", path,
                 other, SW_FORMATS_READ);
  } else if (!found) {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: unknown JSON model; expected %s", path, SW_FORMATS_READ);
  }
  cJSON_Delete(root);
  return model;
}

SwModel*
sw_model_load_memory(const void* const bytes, const size_t size,
                     const char* const name, SwError* const err)
{
  if (!bytes && size) {
    sw_error_set(err, SW_ERR_BAD_ARG, "model data is NULL");
    return NULL;
  }
  const char* const data = bytes ? (const char*)bytes : "";
  const char* const path = name ? name : "(memory)";

  SwModel* model = NULL;
  size_t   start = 0;
  if (starts_with(data, size, "\xef\xbb\xbf", 3)) {
    start = 3; /* UTF-8 byte order mark */
  }
  while (start < size && strchr(" \t\r\n", data[start])) {
    ++start;
  }
  const SwBinaryReader* binary = NULL;
  for (size_t i = 0; i < sizeof(binary_readers) / sizeof(binary_readers[0]);
       ++i) {
    if (binary_readers[i].magic &&
        starts_with(data, size, binary_readers[i].magic,
                    binary_readers[i].magic_size)) {
      binary = &binary_readers[i];
      break;
    }
  }
  const char* const other = unsupported_binary_format(data, size);
  if (binary) {
    model = binary->read(data, size, path, err);
  } else if (size == 0 || start == size) {
    sw_error_set(err, SW_ERR_BAD_MODEL, "%s: empty file; expected a model (%s)",
                 path, SW_FORMATS_READ);
  } else if (other) {
    sw_error_set(err, SW_ERR_UNSUPPORTED,
                 "%s: %s is not readable by this version; it reads %s", path,
                 other, SW_FORMATS_READ);
  } else if (data[start] == '{' || data[start] == '[') {
    model = load_json(data + start, size - start, path, err);
  } else {
    sw_error_set(err, SW_ERR_BAD_MODEL,
                 "%s: not a model file Statewave recognises; expected %s",
                 path, SW_FORMATS_READ);
  }
  if (model) {
    SwModelInfo info;
    sw_model_info(model, &info);
    sw_log(SW_LOG_INFO, "%s: loaded (%s)", path, info.format);
  }
  return model;
}

SwModel*
sw_model_load(const char* const path, SwError* const err)
{
  if (!path) {
    sw_error_set(err, SW_ERR_BAD_ARG, "model path is NULL");
    return NULL;
  }
  size_t      size = 0;
  char* const data = sw_read_model_file(path, &size, err);
  if (!data) {
    return NULL;
  }
  SwModel* const model = sw_model_load_memory(data, size, path, err);
  free(data);
  return model;
}
