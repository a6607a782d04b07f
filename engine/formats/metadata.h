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

/* The "metadata" object of a JSON model file (GuitarML, RTNeural): its
   "samplerate"/"sample_rate" (a number or a numeric string) into
   *sample_rate (left 0 when absent), Statewave's "knobs" into knobs[0 ..
   *num_knobs) (at most max_knobs, the model's knob inputs), and every other
   scalar member into `list`. A missing object is no error. */
SwStatus
sw_meta_read_object(const cJSON* root, SwMetaList* list, SwKnobSpec* knobs,
                    uint32_t max_knobs, uint32_t* num_knobs,
                    double* sample_rate, const char* path, SwError* err);

#endif
