/* Format writers: each turns a model into a cJSON document its reader
   reads back exactly, or a precise refusal (private). */

#ifndef SW_SAVE_H
#define SW_SAVE_H

#include "statewave/statewave.h"

#include <cjson/cJSON.h>

#include <stddef.h>

/* RTNeural / AIDA-X JSON; `path` names the output in messages. */
SwStatus
sw_rtneural_write(const SwModel* model, cJSON** root, const char* path,
                  SwError* err);

/* GuitarML JSON, when the model is a GuitarML network. */
SwStatus
sw_guitarml_write(const SwModel* model, cJSON** root, const char* path,
                  SwError* err);

/* A float printed so that it reads back as the same float32 ("%.9g"). */
cJSON*
sw_json_exact_float(float value);

/* `count` floats as a flat array of exact numbers; NULL when out of memory. */
cJSON*
sw_json_exact_floats(const float* values, size_t count);

/* A rows x cols row-major matrix as an array of rows. */
cJSON*
sw_json_exact_matrix(const float* values, size_t rows, size_t cols);

/* Metadata shared by the writers: "samplerate", "knobs" (name, min, max,
   default) and every free-text entry, except notes the readers make up
   themselves ("sample_rate_note"), which the written file would contradict.
   Returns false when out of memory. */
bool
sw_json_add_model_metadata(const SwModel* model, cJSON* metadata,
                           bool samplerate_as_string);

#endif
