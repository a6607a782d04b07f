/* A model file loaded and uploaded for the plugin: made and freed on the
   LV2 worker (or in instantiate / restore), never on the audio thread. */

#ifndef SW_LV2_LOADED_MODEL_H
#define SW_LV2_LOADED_MODEL_H

#include "ports.h"

#include <statewave/statewave.h>

#include <lv2/log/logger.h>

typedef struct {
  double   sample_rate;
  uint32_t channels;
  uint32_t max_block;
  int32_t  backend; /* BackendPortValue */
  float    knobs[SW_LV2_KNOBS];
} LoadRequest;

typedef struct {
  SwModel*  model;
  SwEngine* engine;
  int32_t   backend; /* the BackendPortValue it was made for */
  bool      on_gpu;
  uint32_t  input_width;
  char      path[]; /* the file, as given */
} LoadedModel;

/* Load `path`, make an engine for `request` and warm it on silence so its
   first heard block does no first-time work. On failure returns NULL and
   writes a message naming the file and what is wrong into `message`. Logs
   a sample-rate mismatch and a backend fallback as warnings. */
LoadedModel*
loaded_model_load(const char* path, const LoadRequest* request,
                  LV2_Log_Logger* logger, char* message, size_t message_size);

/* NULL is a no-op. */
void
loaded_model_free(LoadedModel* loaded);

#endif
