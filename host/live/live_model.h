/*
  A model file made ready to play live: loaded, an engine made for the
  running stream (rate, channels, block, backend), its knobs set and the
  engine warmed on silence, so its first heard block does no first-time
  work. Made on the loader thread (or before the audio starts) and freed
  off the audio thread; the audio thread only sees its engine.
*/

#ifndef STATEWAVE_LIVE_MODEL_H
#define STATEWAVE_LIVE_MODEL_H

#include "live_state.h"

#include <statewave/statewave.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The engine every model gets while the stream runs. */
typedef struct {
  double        sample_rate;
  uint32_t      channels;
  uint32_t      max_block;
  SwBackendKind backend;
} LiveEngineConfig;

/* What to load and what comes with it. */
typedef struct {
  char path[4096];
  char label[4400]; /* how messages name it: `preset "X" (path)` or the path */
  char origin[512]; /* the command that asked for it, for messages */
  /* A preset's gains and mix (has_gains) and knob positions, used for the
     first `num_knobs` knobs; the model's defaults for the rest. */
  bool     is_preset;
  char     preset_id[128];
  char     preset_name[128];
  bool     has_gains;
  float    input_gain_db;
  float    output_gain_db;
  float    mix;
  uint32_t num_knobs;
  float    knobs[SW_PROCESSOR_MAX_KNOBS];
  /* Not a preset: the playing knob positions (NaN: never set, so the
     model's default) carry over to the new model. */
  float current_knobs[SW_PROCESSOR_MAX_KNOBS];
} LiveModelRequest;

typedef struct {
  SwModel*         model;
  SwEngine*        engine;
  LiveModelRequest request;
  LiveSettings     settings; /* applied when it starts playing */
  double           trained_rate; /* 0: the file does not say */
  uint32_t         num_model_knobs;
  char             backend[32];
  char             backend_note[512]; /* why not the backend asked, or "" */
} LiveModel;

/* Load `request->path` (or take `model`, already loaded from it, when not
   NULL: it is freed on failure too) and make it ready to play with
   `config`. On failure returns NULL and writes a message naming the file
   and what is wrong into `err`. [non-RT] */
LiveModel*
live_model_load(const LiveModelRequest* request, SwModel* model,
                const LiveEngineConfig* config, char* err, size_t err_size);

/* NULL is a no-op. [non-RT] */
void
live_model_free(LiveModel* live);

/* Knob `index` of the model: its 0..1 position for `value`, clamped;
   false when the model has no such knob. [RT-safe] */
bool
live_model_knob_position(const LiveModel* live, uint32_t index, float value,
                         float* position);

#endif
