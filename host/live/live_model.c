/* A model file made ready to play live (see live_model.h). */

#include "live_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a new engine runs on silence before it is heard (as the LV2
   plugin's worker does). */
#define WARM_SECONDS 0.05

static bool
warm(SwEngine* const engine, const LiveEngineConfig* const config)
{
  const uint32_t block = config->max_block;
  float* const   zeros =
    (float*)calloc((size_t)block * config->channels, sizeof(float));
  float** const rows = (float**)calloc(config->channels, sizeof(float*));
  bool          ok   = zeros && rows;
  if (ok) {
    for (uint32_t c = 0; c < config->channels; ++c) {
      rows[c] = zeros + (size_t)c * block;
    }
    const uint32_t total = (uint32_t)ceil(config->sample_rate * WARM_SECONDS);
    for (uint32_t done = 0; done < total && ok; done += block) {
      memset(zeros, 0, (size_t)block * config->channels * sizeof(float));
      ok = sw_engine_process(engine, (const float* const*)rows, rows,
                             block) == SW_SUCCESS;
    }
  }
  free(zeros);
  free(rows);
  return ok;
}

/* The knob positions the model plays with: the preset's, else the ones
   playing, else the model's defaults. */
static void
choose_knobs(LiveModel* const live)
{
  const LiveModelRequest* const r = &live->request;
  LiveSettings* const           s = &live->settings;
  s->num_knobs = live->num_model_knobs < SW_PROCESSOR_MAX_KNOBS
                   ? live->num_model_knobs
                   : SW_PROCESSOR_MAX_KNOBS;
  for (uint32_t k = 0; k < s->num_knobs; ++k) {
    SwKnobSpec spec;
    float      position = 0.5f;
    if (sw_model_knob(live->model, k, &spec) == SW_SUCCESS &&
        spec.max > spec.min) {
      position = (spec.default_value - spec.min) / (spec.max - spec.min);
    }
    if (r->is_preset && k < r->num_knobs) {
      position = r->knobs[k];
    } else if (!r->is_preset && !isnan(r->current_knobs[k])) {
      position = r->current_knobs[k];
    }
    s->knobs[k] = position < 0.0f ? 0.0f : (position > 1.0f ? 1.0f : position);
  }
}

LiveModel*
live_model_load(const LiveModelRequest* const request, SwModel* model,
                const LiveEngineConfig* const config, char* const err,
                const size_t err_size)
{
  LiveModel* const live = (LiveModel*)calloc(1, sizeof(LiveModel));
  if (!live) {
    sw_model_free(model);
    snprintf(err, err_size, "%s: out of memory", request->path);
    return NULL;
  }
  live->request = *request;

  SwError e = {SW_SUCCESS, ""};
  live->model = model ? model : sw_model_load(request->path, &e);
  if (!live->model) {
    snprintf(err, err_size, "%s",
             e.message[0] ? e.message : sw_strerror(e.status));
    live_model_free(live);
    return NULL;
  }
  SwModelInfo info;
  sw_model_info(live->model, &info);
  if (info.input_width < 1 || info.output_width < 1) {
    snprintf(err, err_size,
             "%s: the model has input width %u and output width %u; "
             "expected at least 1 of each for audio",
             request->path, info.input_width, info.output_width);
    live_model_free(live);
    return NULL;
  }
  live->trained_rate    = info.sample_rate;
  live->num_model_knobs = info.num_knobs;

  SwEngineConfig ec    = sw_engine_config_default();
  ec.sample_rate       = config->sample_rate;
  ec.streams           = config->channels;
  ec.max_block         = config->max_block;
  ec.backend           = config->backend;
  ec.knob_smoothing_ms = 20.0f;
  live->engine         = sw_engine_new(live->model, &ec, &e);
  if (!live->engine) {
    snprintf(err, err_size, "%s: %s", request->path,
             e.message[0] ? e.message : sw_strerror(e.status));
    live_model_free(live);
    return NULL;
  }

  live->settings.has_gains      = request->has_gains;
  live->settings.input_gain_db  = request->input_gain_db;
  live->settings.output_gain_db = request->output_gain_db;
  live->settings.mix            = request->mix;
  choose_knobs(live);
  /* The same values the processor sends when it takes the engine, so that
     the warm-up settles the knob ramps. */
  for (uint32_t k = 0; k < live->settings.num_knobs; ++k) {
    SwKnobSpec spec;
    if (sw_model_knob(live->model, k, &spec) == SW_SUCCESS) {
      (void)sw_engine_set_knob(live->engine, k,
                               spec.min + live->settings.knobs[k] *
                                            (spec.max - spec.min));
    }
  }
  if (!warm(live->engine, config)) {
    snprintf(err, err_size, "%s: the model failed on silence", request->path);
    live_model_free(live);
    return NULL;
  }
  snprintf(live->backend, sizeof(live->backend), "%s",
           sw_engine_backend_name(live->engine));
  const char* const note = sw_engine_backend_note(live->engine);
  snprintf(live->backend_note, sizeof(live->backend_note), "%s",
           note ? note : "");
  return live;
}

void
live_model_free(LiveModel* const live)
{
  if (live) {
    sw_engine_free(live->engine);
    sw_model_free(live->model);
    free(live);
  }
}

bool
live_model_knob_position(const LiveModel* const live, const uint32_t index,
                         const float value, float* const position)
{
  SwKnobSpec spec;
  if (!live || index >= live->num_model_knobs ||
      index >= SW_PROCESSOR_MAX_KNOBS ||
      sw_model_knob(live->model, index, &spec) != SW_SUCCESS) {
    return false;
  }
  float p = spec.max > spec.min ? (value - spec.min) / (spec.max - spec.min)
                                : 0.0f;
  p         = p < 0.0f ? 0.0f : (p > 1.0f ? 1.0f : p);
  *position = p;
  return true;
}
