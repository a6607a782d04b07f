#include "metadata.h"

#include "error.h"

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
