#include "json_util.h"

#include "error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cJSON*
sw_json_parse(const char* const text, const size_t size,
              const char* const path, SwError* const err)
{
  const char*  end  = NULL;
  cJSON* const root = cJSON_ParseWithLengthOpts(text, size, &end, false);
  if (root) {
    return root;
  }
  /* Locate the failure for the message. */
  const char* const stop = end && end >= text ? end : text;
  size_t            line = 1U;
  size_t            col  = 1U;
  for (const char* p = text; p < stop && p < text + size; ++p) {
    if (*p == '\n') {
      ++line;
      col = 1U;
    } else {
      ++col;
    }
  }
  sw_error_set(err, SW_ERR_BAD_MODEL,
               "%s: invalid JSON at line %zu, column %zu (truncated or "
               "damaged file?)",
               path, line, col);
  return NULL;
}

const char*
sw_json_kind(const cJSON* const item)
{
  if (!item) {
    return "nothing";
  }
  if (cJSON_IsNumber(item)) {
    return "a number";
  }
  if (cJSON_IsString(item)) {
    return "a string";
  }
  if (cJSON_IsBool(item)) {
    return "a boolean";
  }
  if (cJSON_IsNull(item)) {
    return "null";
  }
  if (cJSON_IsArray(item)) {
    return "an array";
  }
  if (cJSON_IsObject(item)) {
    return "an object";
  }
  return "an unknown value";
}

bool
sw_json_number_value(const cJSON* const item, double* const value)
{
  if (cJSON_IsNumber(item)) {
    *value = item->valuedouble;
    return true;
  }
  if (cJSON_IsString(item) && item->valuestring) {
    char*        end = NULL;
    const double v   = strtod(item->valuestring, &end);
    if (end != item->valuestring && *end == '\0') {
      *value = v;
      return true;
    }
  }
  return false;
}

SwStatus
sw_json_uint(const cJSON* const object, const char* const where,
             const char* const key, const bool required,
             const uint32_t fallback, const uint32_t min, const uint32_t max,
             uint32_t* const value, const char* const path,
             SwError* const err)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!item) {
    if (required) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "%s: %s.%s: missing; expected an integer %u..%u",
                          path, where, key, min, max);
    }
    *value = fallback;
    return SW_SUCCESS;
  }
  const double v = cJSON_IsNumber(item) ? item->valuedouble : (double)NAN;
  if (!cJSON_IsNumber(item) || v != floor(v) || v < (double)min ||
      v > (double)max) {
    if (cJSON_IsNumber(item)) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "%s: %s.%s is %g; expected an integer %u..%u", path,
                          where, key, v, min, max);
    }
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s.%s is %s; expected an integer %u..%u", path,
                        where, key, sw_json_kind(item), min, max);
  }
  *value = (uint32_t)v;
  return SW_SUCCESS;
}

SwStatus
sw_json_bool(const cJSON* const object, const char* const where,
             const char* const key, const bool fallback, bool* const value,
             const char* const path, SwError* const err)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!item) {
    *value = fallback;
  } else if (cJSON_IsBool(item)) {
    *value = cJSON_IsTrue(item);
  } else if (cJSON_IsNumber(item) &&
             (item->valuedouble == 0.0 || item->valuedouble == 1.0)) {
    *value = item->valuedouble != 0.0;
  } else {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s.%s is %s; expected true/false or 0/1", path,
                        where, key, sw_json_kind(item));
  }
  return SW_SUCCESS;
}

static SwStatus
shape_error(const char* const path, const char* const field, const size_t rows,
            const size_t cols, const char* const found, SwError* const err)
{
  if (rows) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s: expected a %zu x %zu array of numbers; %s",
                        path, field, rows, cols, found);
  }
  return sw_error_set(err, SW_ERR_BAD_MODEL,
                      "%s: %s: expected an array of %zu numbers; %s", path,
                      field, cols, found);
}

/* Read one flat row of `cols` numbers. */
static SwStatus
read_row(const cJSON* const row, const size_t rows, const size_t r,
         const size_t cols, float* const dst, const char* const field,
         const char* const path, SwError* const err)
{
  char found[160];
  if (!cJSON_IsArray(row)) {
    if (rows) {
      snprintf(found, sizeof(found), "row %zu is %s", r, sw_json_kind(row));
    } else {
      snprintf(found, sizeof(found), "found %s", sw_json_kind(row));
    }
    return shape_error(path, field, rows, cols, found, err);
  }
  const size_t n = (size_t)cJSON_GetArraySize(row);
  if (n != cols) {
    if (rows) {
      snprintf(found, sizeof(found), "row %zu has %zu", r, n);
    } else {
      snprintf(found, sizeof(found), "found %zu", n);
    }
    return shape_error(path, field, rows, cols, found, err);
  }
  size_t       c    = 0;
  const cJSON* item = NULL;
  cJSON_ArrayForEach(item, row)
  {
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
      if (rows) {
        snprintf(found, sizeof(found), "element [%zu][%zu] is %s", r, c,
                 cJSON_IsNumber(item) ? "not finite" : sw_json_kind(item));
      } else {
        snprintf(found, sizeof(found), "element [%zu] is %s", c,
                 cJSON_IsNumber(item) ? "not finite" : sw_json_kind(item));
      }
      return shape_error(path, field, rows, cols, found, err);
    }
    dst[c++] = (float)item->valuedouble;
  }
  return SW_SUCCESS;
}

SwStatus
sw_json_floats(const cJSON* const item, const size_t rows, const size_t cols,
               float* const dst, const char* const field,
               const char* const path, SwError* const err)
{
  char found[96];
  if (!item) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: %s: missing; expected %zu x %zu numbers", path,
                        field, rows ? rows : 1U, cols);
  }
  if (!rows) {
    return read_row(item, 0, 0, cols, dst, field, path, err);
  }
  if (!cJSON_IsArray(item)) {
    snprintf(found, sizeof(found), "found %s", sw_json_kind(item));
    return shape_error(path, field, rows, cols, found, err);
  }
  const size_t n = (size_t)cJSON_GetArraySize(item);
  if (n != rows) {
    snprintf(found, sizeof(found), "found %zu rows", n);
    return shape_error(path, field, rows, cols, found, err);
  }
  size_t       r   = 0;
  const cJSON* row = NULL;
  cJSON_ArrayForEach(row, item)
  {
    const SwStatus st =
      read_row(row, rows, r, cols, dst + r * cols, field, path, err);
    if (st) {
      return st;
    }
    ++r;
  }
  return SW_SUCCESS;
}

SwStatus
sw_json_knobs(const cJSON* const knobs, const uint32_t max_knobs,
              SwKnobSpec* const out, uint32_t* const count,
              const char* const path, SwError* const err)
{
  *count = 0;
  if (!cJSON_IsArray(knobs)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: metadata.knobs is %s; expected an array of "
                        "{name, min, max, default}",
                        path, sw_json_kind(knobs));
  }
  const cJSON* knob = NULL;
  cJSON_ArrayForEach(knob, knobs)
  {
    const uint32_t k = *count;
    if (k >= max_knobs) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "%s: metadata.knobs has more entries than the "
                          "model's %u knob inputs",
                          path, max_knobs);
    }
    const cJSON* const name = cJSON_GetObjectItemCaseSensitive(knob, "name");
    double       min = 0.0, max = 1.0, def = 0.5;
    const cJSON* item = NULL;
    if (((item = cJSON_GetObjectItemCaseSensitive(knob, "min")) &&
         !sw_json_number_value(item, &min)) ||
        ((item = cJSON_GetObjectItemCaseSensitive(knob, "max")) &&
         !sw_json_number_value(item, &max)) ||
        ((item = cJSON_GetObjectItemCaseSensitive(knob, "default")) &&
         !sw_json_number_value(item, &def)) ||
        (name && !cJSON_IsString(name))) {
      return sw_error_set(err, SW_ERR_BAD_MODEL,
                          "%s: metadata.knobs[%u]: expected {\"name\": string, "
                          "\"min\", \"max\", \"default\": numbers}",
                          path, k);
    }
    out[k].name          = name ? name->valuestring : NULL;
    out[k].min           = (float)min;
    out[k].max           = (float)max;
    out[k].default_value = (float)def;
    ++*count;
  }
  return SW_SUCCESS;
}
