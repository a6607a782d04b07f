/* Reading JSON model files with errors that name the file, the field and
   what was expected (private). */

#ifndef SW_JSON_UTIL_H
#define SW_JSON_UTIL_H

#include "statewave/statewave.h"

#include <cjson/cJSON.h>

#include <stddef.h>

/* Parse `text`; on failure report the line and column. */
cJSON*
sw_json_parse(const char* text, size_t size, const char* path, SwError* err);

/* What a JSON value is, for messages ("a string", "an array", ...). */
const char*
sw_json_kind(const cJSON* item);

/* An unsigned integer member `key` of `object` within [min, max]. When
   absent: `fallback` if `required` is false, else an error. `where` names
   the object in messages ("model_data"). */
SwStatus
sw_json_uint(const cJSON* object, const char* where, const char* key,
             bool required, uint32_t fallback, uint32_t min, uint32_t max,
             uint32_t* value, const char* path, SwError* err);

/* A boolean member (true/false or 0/1). */
SwStatus
sw_json_bool(const cJSON* object, const char* where, const char* key,
             bool fallback, bool* value, const char* path, SwError* err);

/* A number, or a string holding one (some exporters quote numbers). */
bool
sw_json_number_value(const cJSON* item, double* value);

/* Read `item` as a rows x cols array of finite numbers into `dst` (row-major).
   rows == 0 means a flat vector of `cols` numbers. `field` names it. */
SwStatus
sw_json_floats(const cJSON* item, size_t rows, size_t cols, float* dst,
               const char* field, const char* path, SwError* err);

/* Statewave's "metadata.knobs": [{"name", "min", "max", "default"}, ...]
   into knobs[0 .. *count), at most `max_knobs` (the model's knob inputs).
   Names point into the JSON document. */
SwStatus
sw_json_knobs(const cJSON* knobs, uint32_t max_knobs, SwKnobSpec* out,
              uint32_t* count, const char* path, SwError* err);

#endif
