/* Format readers: each turns a parsed file into an SwModel or a precise
   error (private). */

#ifndef SW_FORMATS_H
#define SW_FORMATS_H

#include "statewave/statewave.h"

#include <cjson/cJSON.h>

#include <stddef.h>

/* A reader of a JSON format: detect() looks at the parsed document, read()
   turns it into a model or a precise error. */
typedef struct {
  const char* name;
  bool (*detect)(const cJSON* root);
  SwModel* (*read)(const cJSON* root, const char* path, SwError* err);
} SwJsonReader;

/* A reader of a binary format recognised by its first bytes. */
typedef struct {
  const char* name;
  const char* magic;
  size_t      magic_size;
  SwModel* (*read)(const char* data, size_t size, const char* path,
                   SwError* err);
} SwBinaryReader;

/* The whole file at `path` (at most the model size limit), malloc'd and
   NUL-terminated, its length in *size; NULL with err filled (load.c). */
char*
sw_read_model_file(const char* path, size_t* size, SwError* err);

/* GuitarML / Automated-GuitarAmpModelling JSON: model_data + state_dict. */
bool
sw_guitarml_detect(const cJSON* root);

SwModel*
sw_guitarml_read(const cJSON* root, const char* path, SwError* err);

/* Neural Amp Modeler .nam: architecture + config + flat weights (LSTM). */
bool
sw_nam_detect(const cJSON* root);

SwModel*
sw_nam_read(const cJSON* root, const char* path, SwError* err);

/* RTNeural / AIDA-X JSON: in_shape + layers (Keras weight layout). */
bool
sw_rtneural_detect(const cJSON* root);

SwModel*
sw_rtneural_read(const cJSON* root, const char* path, SwError* err);

/* Keras 2 / tf.keras HDF5 (.h5) from model.save(), by libhdf5. */
SwModel*
sw_keras_h5_read(const char* data, size_t size, const char* path,
                 SwError* err);

/* Keras 3 .keras (zip: config.json + model.weights.h5), by libzip. */
SwModel*
sw_keras3_read(const char* data, size_t size, const char* path,
               SwError* err);

#endif
