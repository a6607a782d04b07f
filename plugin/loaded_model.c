#include "loaded_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a new engine runs on silence before it is heard. */
#define WARM_SECONDS 0.05

static SwBackendKind
backend_kind(const int32_t port_value)
{
  switch (port_value) {
  case BACKEND_PORT_CPU: return SW_BACKEND_CPU;
  case BACKEND_PORT_GPU: return SW_BACKEND_FUSED;
  default: return SW_BACKEND_AUTO;
  }
}

static void
set_knobs(SwEngine* const engine, const LoadRequest* const request)
{
  const SwModel* const model = sw_engine_model(engine);
  for (uint32_t k = 0; k < SW_LV2_KNOBS; ++k) {
    SwKnobSpec spec;
    if (sw_model_knob(model, k, &spec) == SW_SUCCESS) {
      (void)sw_engine_set_knob(engine, k,
                               spec.min +
                                 request->knobs[k] * (spec.max - spec.min));
    }
  }
}

static bool
warm(SwEngine* const engine, const LoadRequest* const request)
{
  const uint32_t block = request->max_block;
  float* const   zeros =
    (float*)calloc((size_t)block * request->channels, sizeof(float));
  float** const rows = (float**)calloc(request->channels, sizeof(float*));
  if (!zeros || !rows) {
    free(zeros);
    free(rows);
    return false;
  }
  for (uint32_t c = 0; c < request->channels; ++c) {
    rows[c] = zeros + (size_t)c * block;
  }
  const uint32_t total =
    (uint32_t)ceil(request->sample_rate * WARM_SECONDS);
  SwStatus st = SW_SUCCESS;
  for (uint32_t done = 0; done < total && !st; done += block) {
    for (uint32_t c = 0; c < request->channels; ++c) {
      memset(rows[c], 0, block * sizeof(float));
    }
    st = sw_engine_process(engine, (const float* const*)rows, rows, block);
  }
  free(zeros);
  free(rows);
  return st == SW_SUCCESS;
}

LoadedModel*
loaded_model_load(const char* const path, const LoadRequest* const request,
                  LV2_Log_Logger* const logger, char* const message,
                  const size_t message_size)
{
  const size_t length = strlen(path);
  LoadedModel* loaded =
    (LoadedModel*)calloc(1, sizeof(LoadedModel) + length + 1U);
  if (!loaded) {
    snprintf(message, message_size, "%s: out of memory", path);
    return NULL;
  }
  memcpy(loaded->path, path, length + 1U);
  loaded->backend = request->backend;

  SwError err;
  loaded->model = sw_model_load(path, &err);
  if (!loaded->model) {
    snprintf(message, message_size, "%s", err.message);
    loaded_model_free(loaded);
    return NULL;
  }
  SwModelInfo info;
  sw_model_info(loaded->model, &info);
  loaded->input_width = info.input_width;

  SwEngineConfig config    = sw_engine_config_default();
  config.sample_rate       = request->sample_rate;
  config.streams           = request->channels;
  config.max_block         = request->max_block;
  config.backend           = backend_kind(request->backend);
  config.knob_smoothing_ms = 20.0f;
  loaded->engine           = sw_engine_new(loaded->model, &config, &err);
  if (!loaded->engine) {
    snprintf(message, message_size, "%s: %s", path, err.message);
    loaded_model_free(loaded);
    return NULL;
  }
  set_knobs(loaded->engine, request);
  if (!warm(loaded->engine, request)) {
    snprintf(message, message_size, "%s: the model failed on silence", path);
    loaded_model_free(loaded);
    return NULL;
  }
  loaded->on_gpu = strcmp(sw_engine_backend_name(loaded->engine), "cpu") != 0;

  if (info.sample_rate > 0.0 &&
      fabs(info.sample_rate - request->sample_rate) > 0.5) {
    lv2_log_warning(logger,
                    "statewave: %s was trained at %.0f Hz but the host runs "
                    "at %.0f Hz; it will sound different (resample the "
                    "session or use a model made for this rate)\n",
                    path, info.sample_rate, request->sample_rate);
  }
  const char* const note = sw_engine_backend_note(loaded->engine);
  if (note && request->backend != BACKEND_PORT_AUTO) {
    lv2_log_warning(logger, "statewave: %s\n", note);
  }
  snprintf(message, message_size, "loaded %s (%s)", path,
           sw_engine_backend_name(loaded->engine));
  return loaded;
}

void
loaded_model_free(LoadedModel* const loaded)
{
  if (loaded) {
    sw_engine_free(loaded->engine);
    sw_model_free(loaded->model);
    free(loaded);
  }
}
