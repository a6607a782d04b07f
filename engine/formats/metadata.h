/* Collecting a model file's free-text metadata for sw_model_build()
   (private). */

#ifndef SW_FORMATS_METADATA_H
#define SW_FORMATS_METADATA_H

#include "statewave/statewave.h"

#include <cjson/cJSON.h>

/* More entries than this are not worth showing. */
#define SW_MAX_META 64U

/* Entries for SwModelSpec.metadata; keys are borrowed (usually from the
   JSON document), values are owned copies. */
typedef struct {
  SwMetaEntry entries[SW_MAX_META];
  char*       values[SW_MAX_META];
  uint32_t    count;
} SwMetaList;

/* Add key = value (copied); entries beyond SW_MAX_META are dropped. */
SwStatus
sw_meta_add(SwMetaList* list, const char* key, const char* value,
            const char* path, SwError* err);

/* Add a JSON member by its name: strings as they are, numbers with 9
   significant digits, booleans as true/false; null and nested values are
   skipped. */
SwStatus
sw_meta_add_json(SwMetaList* list, const cJSON* item, const char* path,
                 SwError* err);

void
sw_meta_free(SwMetaList* list);

#endif
