/* The engine: one model on one backend with independent stream states.
   It owns what every backend shares: input/output gain, knob columns and
   their smoothing, skip, splitting long calls into max_block chunks, the
   output guard and denormal flushing. */

#include "backend.h"
#include "denormals.h"
#include "error.h"
#include "model_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SW_MAX_STREAMS 65536U
#define SW_MAX_BLOCK (1U << 20U)
#define SW_MAX_SMOOTHING_MS 10000.0f

/* A knob's linear ramp from `start` to `target`, advanced once per frame.
   Each value is computed from the position, not accumulated, so long ramps
   do not drift. */
typedef struct {
  float    current;
  float    start;
  float    target;
  uint32_t position; /* frames into the ramp; == ramp_frames when done */
} KnobRamp;

struct SwEngineImpl {
  const SwModel*        model;
  const SwBackendIface* backend;
  void*                 context;
  uint32_t              streams;
  uint32_t              max_block;
  float                 input_gain;
  float                 output_gain;
  uint32_t              ramp_frames;
  KnobRamp*             knobs;      /* [num_knobs] */
  float*                knob_block; /* [num_knobs][max_block] */
  float*                frames_in;  /* [streams][max_block][input_width] */
  float*                frames_out; /* [streams][max_block][output_width] */
  uint64_t              nonfinite_resets;
};

SwEngineConfig
sw_engine_config_default(void)
{
  SwEngineConfig config;
  memset(&config, 0, sizeof(config));
  config.sample_rate       = 48000.0;
  config.streams           = 1;
  config.max_block         = 512;
  config.backend           = SW_BACKEND_AUTO;
  config.knob_smoothing_ms = 20.0f;
  return config;
}

static float
db_to_gain(const float db)
{
  return powf(10.0f, db / 20.0f);
}

static SwStatus
validate_config(const SwEngineConfig* const config, SwError* const err)
{
  if (config->streams < 1 || config->streams > SW_MAX_STREAMS) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "engine config: streams is %u; expected 1..%u",
                        config->streams, SW_MAX_STREAMS);
  }
  if (config->max_block < 1 || config->max_block > SW_MAX_BLOCK) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "engine config: max_block is %u; expected 1..%u",
                        config->max_block, SW_MAX_BLOCK);
  }
  if (!(config->sample_rate >= 0.0 && config->sample_rate <= 10.0e6)) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "engine config: sample_rate is %g; expected 0 "
                        "(48000) or a rate in Hz",
                        config->sample_rate);
  }
  if (!(config->knob_smoothing_ms >= 0.0f &&
        config->knob_smoothing_ms <= SW_MAX_SMOOTHING_MS)) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "engine config: knob_smoothing_ms is %g; expected "
                        "0..%g",
                        (double)config->knob_smoothing_ms,
                        (double)SW_MAX_SMOOTHING_MS);
  }
  return SW_SUCCESS;
}

SwEngine*
sw_engine_new(const SwModel* const model, const SwEngineConfig* const config,
              SwError* const err)
{
  if (!model || !config) {
    sw_error_set(err, SW_ERR_BAD_ARG, "engine: model or config is NULL");
    return NULL;
  }
  if (validate_config(config, err)) {
    return NULL;
  }
  const SwBackendIface* const backend = sw_backend_find(config->backend, err);
  if (!backend) {
    return NULL;
  }

  SwEngine* const engine = (SwEngine*)calloc(1, sizeof(SwEngine));
  if (!engine) {
    sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  engine->model       = model;
  engine->backend     = backend;
  engine->streams     = config->streams;
  engine->max_block   = config->max_block;
  engine->input_gain  = db_to_gain(model->input_gain_db);
  engine->output_gain = db_to_gain(model->output_gain_db);

  const double rate = config->sample_rate > 0.0 ? config->sample_rate : 48000.0;
  engine->ramp_frames =
    (uint32_t)lround((double)config->knob_smoothing_ms * rate / 1000.0);

  const size_t frames = (size_t)config->streams * config->max_block;
  const size_t knobs  = model->num_knobs;
  engine->knobs       = (KnobRamp*)calloc(knobs + 1U, sizeof(KnobRamp));
  engine->knob_block  = (float*)calloc(knobs * config->max_block + 1U,
                                       sizeof(float));
  engine->frames_in   = (float*)calloc(frames * model->input_width,
                                       sizeof(float));
  engine->frames_out  = (float*)calloc(frames * model->output_width,
                                       sizeof(float));
  if (!engine->knobs || !engine->knob_block || !engine->frames_in ||
      !engine->frames_out) {
    sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
    sw_engine_free(engine);
    return NULL;
  }
  for (size_t k = 0; k < knobs; ++k) {
    engine->knobs[k].current  = model->knobs[k].default_value;
    engine->knobs[k].start    = model->knobs[k].default_value;
    engine->knobs[k].target   = model->knobs[k].default_value;
    engine->knobs[k].position = engine->ramp_frames;
  }

  if (backend->create(model, config->streams, config->max_block,
                      &engine->context, err)) {
    sw_error_prefix(err, "%s backend: ", backend->name);
    sw_engine_free(engine);
    return NULL;
  }
  sw_log(SW_LOG_DEBUG, "engine: %s backend, %u streams, blocks of %u",
         backend->name, config->streams, config->max_block);
  return engine;
}

void
sw_engine_free(SwEngine* const engine)
{
  if (!engine) {
    return;
  }
  if (engine->context) {
    engine->backend->destroy(engine->context);
  }
  free(engine->knobs);
  free(engine->knob_block);
  free(engine->frames_in);
  free(engine->frames_out);
  free(engine);
}

const SwModel*
sw_engine_model(const SwEngine* const engine)
{
  return engine->model;
}

const char*
sw_engine_backend_name(const SwEngine* const engine)
{
  return engine->backend->name;
}

uint32_t
sw_engine_latency(const SwEngine* const engine)
{
  (void)engine;
  return 0;
}

uint64_t
sw_engine_nonfinite_resets(const SwEngine* const engine)
{
  return engine->nonfinite_resets;
}

/* Fill knob_block with each knob's value at each of the next `frames`. */
static void
advance_knobs(SwEngine* const engine, const uint32_t frames)
{
  const uint32_t knobs = engine->model->num_knobs;
  for (uint32_t k = 0; k < knobs; ++k) {
    KnobRamp* const ramp   = &engine->knobs[k];
    float* const    values = engine->knob_block + (size_t)k * engine->max_block;
    const uint32_t  length = engine->ramp_frames;
    for (uint32_t t = 0; t < frames; ++t) {
      if (ramp->position < length) {
        ++ramp->position;
        ramp->current =
          ramp->position == length
            ? ramp->target /* land exactly */
            : ramp->start + (ramp->target - ramp->start) *
                              ((float)ramp->position / (float)length);
      }
      values[t] = ramp->current;
    }
  }
}

/* Frames of the next chunk of a call that has `left` frames to go. */
static uint32_t
chunk_frames(const SwEngine* const engine, const uint32_t left)
{
  return left < engine->max_block ? left : engine->max_block;
}

static float
finite_or_zero(const float x)
{
  return isfinite(x) ? x : 0.0f;
}

static SwStatus
run_backend(SwEngine* const engine, const uint32_t frames)
{
  return engine->backend->process(engine->context, engine->frames_in,
                                  engine->frames_out, frames,
                                  &engine->nonfinite_resets);
}

SwStatus
sw_engine_process(SwEngine* const engine, const float* const* const in,
                  float* const* const out, const uint32_t frames)
{
  if (!engine || !in || !out) {
    return SW_ERR_BAD_ARG;
  }
  const SwModel* const model = engine->model;
  const size_t         I     = model->input_width;
  const size_t         O     = model->output_width;
  const SwFpMode       mode  = sw_denormals_disable();
  SwStatus             st    = SW_SUCCESS;

  for (uint32_t done = 0; done < frames && !st;) {
    const uint32_t n = chunk_frames(engine, frames - done);
    advance_knobs(engine, n);

    /* Gather the whole chunk first: `in` and `out` may alias. */
    for (uint32_t s = 0; s < engine->streams; ++s) {
      for (uint32_t t = 0; t < n; ++t) {
        float* const x = engine->frames_in + ((size_t)s * n + t) * I;
        x[0]           = in[s][done + t] * engine->input_gain;
        for (size_t k = 1; k < I; ++k) {
          x[k] = engine->knob_block[(k - 1U) * engine->max_block + t];
        }
      }
    }
    st = run_backend(engine, n);
    for (uint32_t s = 0; s < engine->streams && !st; ++s) {
      for (uint32_t t = 0; t < n; ++t) {
        const size_t frame = (size_t)s * n + t;
        float        y     = engine->frames_out[frame * O];
        if (model->skip) {
          y += engine->frames_in[frame * I];
        }
        out[s][done + t] = finite_or_zero(y * engine->output_gain);
      }
    }
    done += n;
  }

  sw_denormals_restore(mode);
  return st;
}

SwStatus
sw_engine_process_frames(SwEngine* const engine, const float* const in,
                         float* const out, const uint32_t frames)
{
  if (!engine || !in || !out) {
    return SW_ERR_BAD_ARG;
  }
  const SwModel* const model = engine->model;
  const size_t         I     = model->input_width;
  const size_t         O     = model->output_width;
  const SwFpMode       mode  = sw_denormals_disable();
  SwStatus             st    = SW_SUCCESS;

  for (uint32_t done = 0; done < frames && !st;) {
    const uint32_t n = chunk_frames(engine, frames - done);
    for (uint32_t s = 0; s < engine->streams; ++s) {
      const float* const src = in + ((size_t)s * frames + done) * I;
      float* const       dst = engine->frames_in + (size_t)s * n * I;
      memcpy(dst, src, (size_t)n * I * sizeof(float));
      for (uint32_t t = 0; t < n; ++t) {
        dst[(size_t)t * I] *= engine->input_gain;
      }
    }
    st = run_backend(engine, n);
    for (uint32_t s = 0; s < engine->streams && !st; ++s) {
      for (uint32_t t = 0; t < n; ++t) {
        const size_t frame = (size_t)s * n + t;
        const float* y     = engine->frames_out + frame * O;
        float* const dst   = out + ((size_t)s * frames + done + t) * O;
        for (size_t o = 0; o < O; ++o) {
          float v = y[o];
          if (o == 0 && model->skip) {
            v += engine->frames_in[frame * I];
          }
          dst[o] = finite_or_zero(v * engine->output_gain);
        }
      }
    }
    done += n;
  }

  sw_denormals_restore(mode);
  return st;
}

void
sw_engine_reset(SwEngine* const engine, const int32_t stream)
{
  if (!engine) {
    return;
  }
  if (stream < 0) {
    for (uint32_t s = 0; s < engine->streams; ++s) {
      engine->backend->reset(engine->context, s);
    }
  } else if ((uint32_t)stream < engine->streams) {
    engine->backend->reset(engine->context, (uint32_t)stream);
  }
}

SwStatus
sw_engine_set_knob(SwEngine* const engine, const uint32_t index,
                   const float value)
{
  if (!engine || index >= engine->model->num_knobs || isnan(value)) {
    return SW_ERR_BAD_ARG;
  }
  const SwKnobSpec* const spec = &engine->model->knobs[index];
  KnobRamp* const         ramp = &engine->knobs[index];
  const float clamped = value < spec->min ? spec->min
                                          : (value > spec->max ? spec->max
                                                               : value);
  ramp->target = clamped;
  ramp->start  = ramp->current;
  if (engine->ramp_frames == 0 || clamped == ramp->current) {
    ramp->current  = clamped;
    ramp->position = engine->ramp_frames;
  } else {
    ramp->position = 0;
  }
  return SW_SUCCESS;
}

float
sw_engine_knob(const SwEngine* const engine, const uint32_t index)
{
  if (!engine || index >= engine->model->num_knobs) {
    return NAN;
  }
  return engine->knobs[index].target;
}

/* Check the stream, layer and size of a get/set_state call. */
static SwStatus
check_state_call(const SwEngine* const engine, const int32_t stream,
                 const uint32_t layer, const void* const buffer,
                 const size_t n, SwError* const err)
{
  if (!engine || !buffer) {
    return sw_error_set(err, SW_ERR_BAD_ARG, "state: engine or buffer is NULL");
  }
  const SwModel* const model = engine->model;
  if (stream < -1 || (stream >= 0 && (uint32_t)stream >= engine->streams)) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "state: stream is %d; expected -1 (all) or 0..%u",
                        (int)stream, engine->streams - 1U);
  }
  if (layer >= model->num_layers) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "state: layer is %u; expected 0..%u", layer,
                        model->num_layers - 1U);
  }
  const SwLayer* const l        = &model->layers[layer];
  const size_t         per      = sw_layer_state_size(l);
  const size_t         streams  = stream < 0 ? engine->streams : 1U;
  if (per == 0) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "state: layer %u (%s) has no state%s", layer,
                        sw_layer_type_name(l->type),
                        model->window ? " (a windowed model keeps its input "
                                        "window on layer 0)"
                                      : "");
  }
  if (n != streams * per) {
    const char* const what = model->window                ? "input window"
                             : l->type == SW_LAYER_LSTM   ? "[h, c]"
                             : l->type == SW_LAYER_CONV1D ? "input history"
                                                          : "[h]";
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "state: layer %u needs %zu floats (%zu stream%s x "
                        "%zu: %s of %s); got %zu",
                        layer, streams * per, streams, streams == 1 ? "" : "s",
                        per, what, sw_layer_type_name(l->type), n);
  }
  return SW_SUCCESS;
}

SwStatus
sw_engine_get_state(const SwEngine* const engine, const int32_t stream,
                    const uint32_t layer, float* const dst, const size_t n,
                    SwError* const err)
{
  const SwStatus st = check_state_call(engine, stream, layer, dst, n, err);
  if (st) {
    return st;
  }
  const size_t   per   = sw_layer_state_size(&engine->model->layers[layer]);
  const uint32_t first = stream < 0 ? 0U : (uint32_t)stream;
  const uint32_t count = stream < 0 ? engine->streams : 1U;
  for (uint32_t i = 0; i < count; ++i) {
    engine->backend->get_state(engine->context, first + i, layer,
                               dst + (size_t)i * per);
  }
  return SW_SUCCESS;
}

SwStatus
sw_engine_set_state(SwEngine* const engine, const int32_t stream,
                    const uint32_t layer, const float* const src,
                    const size_t n, SwError* const err)
{
  SwStatus st = check_state_call(engine, stream, layer, src, n, err);
  if (st) {
    return st;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!isfinite(src[i])) {
      return sw_error_set(err, SW_ERR_BAD_ARG,
                          "state: value %zu is %g; expected a finite number",
                          i, (double)src[i]);
    }
  }
  const size_t   per   = sw_layer_state_size(&engine->model->layers[layer]);
  const uint32_t first = stream < 0 ? 0U : (uint32_t)stream;
  const uint32_t count = stream < 0 ? engine->streams : 1U;
  for (uint32_t i = 0; i < count; ++i) {
    engine->backend->set_state(engine->context, first + i, layer,
                               src + (size_t)i * per);
  }
  return SW_SUCCESS;
}
