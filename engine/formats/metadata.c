#include "metadata.h"

#include "error.h"
#include "json_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SwStatus
sw_meta_add(SwMetaList* const list, const char* const key,
            const char* const value, const char* const path,
            SwError* const err)
{
  if (list->count == SW_MAX_META) {
    return SW_SUCCESS;
  }
  const size_t n    = strlen(value) + 1U;
  char* const  copy = (char*)malloc(n);
  if (!copy) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  memcpy(copy, value, n);
  list->values[list->count]        = copy;
  list->entries[list->count].key   = key;
  list->entries[list->count].value = copy;
  ++list->count;
  return SW_SUCCESS;
}

SwStatus
sw_meta_add_json(SwMetaList* const list, const cJSON* const item,
                 const char* const path, SwError* const err)
{
  char        number[64];
  const char* value = NULL;
  if (cJSON_IsString(item)) {
    value = item->valuestring;
  } else if (cJSON_IsNumber(item)) {
    snprintf(number, sizeof(number), "%.9g", item->valuedouble);
    value = number;
  } else if (cJSON_IsBool(item)) {
    value = cJSON_IsTrue(item) ? "true" : "false";
  } else {
    return SW_SUCCESS;
  }
  return sw_meta_add(list, item->string, value, path, err);
}

void
sw_meta_free(SwMetaList* const list)
{
  for (uint32_t i = 0; i < list->count; ++i) {
    free(list->values[i]);
  }
  list->count = 0;
}

SwStatus
sw_meta_read_object(const cJSON* const root, SwMetaList* const list,
                    SwKnobSpec* const knobs, const uint32_t max_knobs,
                    uint32_t* const num_knobs, double* const sample_rate,
                    const char* const path, SwError* const err)
{
  *sample_rate            = 0.0;
  const cJSON* const meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
  if (meta && !cJSON_IsObject(meta)) {
    return sw_error_set(err, SW_ERR_BAD_MODEL,
                        "%s: metadata is %s; expected an object", path,
                        sw_json_kind(meta));
  }
  const cJSON* item = NULL;
  SwStatus     st   = SW_SUCCESS;
  cJSON_ArrayForEach(item, meta)
  {
    if (!strcmp(item->string, "samplerate") ||
        !strcmp(item->string, "sample_rate")) {
      double rate = 0.0;
      if (!sw_json_number_value(item, &rate) ||
          !(rate > 0.0 && rate <= 10.0e6)) {
        return sw_error_set(err, SW_ERR_BAD_MODEL,
                            "%s: metadata.%s is %s; expected a sample rate in "
                            "Hz (a number or a numeric string)",
                            path, item->string, sw_json_kind(item));
      }
      *sample_rate = rate;
    } else if (!strcmp(item->string, "knobs")) {
      st = sw_json_knobs(item, max_knobs, knobs, num_knobs, path, err);
    } else {
      st = sw_meta_add_json(list, item, path, err);
    }
    if (st) {
      return st;
    }
  }
  return SW_SUCCESS;
}
