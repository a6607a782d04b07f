/* The engine: one model on one backend with independent stream states.
   It owns what every backend shares: input/output gain, knob columns and
   their smoothing, skip, splitting long calls into max_block chunks, the
   output guard and denormal flushing. */

#include "backend.h"
#include "denormals.h"
#include "error.h"
#include "model_impl.h"

#include <math.h>
#include <stdio.h>
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
  SwBackendChoice       choice;  /* what was made; freed with the engine */
  const SwBackendIface* backend; /* what runs now: the choice, or the CPU */
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
  float*                state_move; /* one layer's state, for the fallback */
  uint64_t              nonfinite_resets;
  uint32_t              fallbacks;
  char                  note[768];
  SwWeightFormat        weights; /* in effect */

  /* Pipelined streaming: frames are staged into pipe_in until max_block
     are there; that block is submitted (it becomes flight_in) and its
     outputs, collected when the next block starts, are played during it. */
  bool                  pipelined;
  bool                  in_flight;
  uint32_t              fill;      /* frames staged in pipe_in */
  float*                pipe_in;   /* [streams][max_block][input_width] */
  float*                flight_in; /* the submitted block's input */
  float*                result;    /* [streams][max_block][output_width] */
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
  config.streaming         = SW_STREAMING_SYNC;
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
  if (config->streaming != SW_STREAMING_SYNC &&
      config->streaming != SW_STREAMING_PIPELINED) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "engine config: streaming is %d; expected 0 "
                        "(synchronous) or 1 (pipelined)",
                        (int)config->streaming);
  }
  return SW_SUCCESS;
}

/* Copy `text` onto the end of the engine's note, cut to fit. No libc
   formatting: this runs on the audio thread when a device fails. */
static void
note_append(SwEngine* const engine, const char* const text)
{
  size_t used = strlen(engine->note);
  for (const char* c = text; *c && used + 1U < sizeof(engine->note); ++c) {
    engine->note[used++] = *c;
  }
  engine->note[used] = '\0';
}

/* A compact mode (SW_WEIGHTS_FP16 or _BF16) where the cpu backend runs and
   its kernels can take it; otherwise FP32, said in the note. */
static void
use_compact_weights(SwEngine* const engine, const SwWeightFormat format)
{
  const char* const name = format == SW_WEIGHTS_BF16 ? "BF16" : "FP16";
  char              why[160] = "";
  if (engine->backend != &sw_cpu_backend) {
    snprintf(why, sizeof(why), "the %s backend has no %s mode",
             engine->backend->name, name);
  } else if (sw_cpu_compact_weights(engine->context, format, why,
                                    sizeof(why))) {
    engine->weights = format;
    return;
  }
  if (engine->note[0]) {
    note_append(engine, "; ");
  }
  note_append(engine, name);
  note_append(engine, " weights not used (");
  note_append(engine, why);
  note_append(engine, "): FP32");
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
  SwEngine* const engine = (SwEngine*)calloc(1, sizeof(SwEngine));
  if (!engine) {
    sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  engine->model       = model;
  engine->streams     = config->streams;
  engine->max_block   = config->max_block;
  engine->pipelined   = config->streaming == SW_STREAMING_PIPELINED;
  engine->input_gain  = db_to_gain(model->input_gain_db);
  engine->output_gain = db_to_gain(model->output_gain_db);

  const double rate = config->sample_rate > 0.0 ? config->sample_rate : 48000.0;
  engine->ramp_frames =
    (uint32_t)lround((double)config->knob_smoothing_ms * rate / 1000.0);

  const size_t frames = (size_t)config->streams * config->max_block;
  const size_t knobs  = model->num_knobs;
  const size_t in_floats  = frames * model->input_width;
  const size_t out_floats = frames * model->output_width;
  size_t       widest_state = 1U;
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    const size_t size = sw_layer_state_size(&model->layers[l]);
    widest_state      = size > widest_state ? size : widest_state;
  }
  engine->knobs       = (KnobRamp*)calloc(knobs + 1U, sizeof(KnobRamp));
  engine->knob_block  = (float*)calloc(knobs * config->max_block + 1U,
                                       sizeof(float));
  engine->frames_in   = (float*)calloc(in_floats, sizeof(float));
  engine->frames_out  = (float*)calloc(out_floats, sizeof(float));
  engine->state_move  = (float*)calloc(widest_state, sizeof(float));
  bool pipe_ok        = true;
  if (engine->pipelined) {
    engine->pipe_in   = (float*)calloc(in_floats, sizeof(float));
    engine->flight_in = (float*)calloc(in_floats, sizeof(float));
    engine->result    = (float*)calloc(out_floats, sizeof(float));
    pipe_ok = engine->pipe_in && engine->flight_in && engine->result;
  }
  if (!engine->knobs || !engine->knob_block || !engine->frames_in ||
      !engine->frames_out || !engine->state_move || !pipe_ok) {
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

  if (sw_backend_choose(model, config->backend, config->streams,
                        config->max_block, &engine->choice, err)) {
    sw_engine_free(engine);
    return NULL;
  }
  engine->backend = engine->choice.backend;
  engine->context = engine->choice.context;
  note_append(engine, engine->choice.note);
  if (config->weights == SW_WEIGHTS_FP16 ||
      config->weights == SW_WEIGHTS_BF16) {
    use_compact_weights(engine, config->weights);
  }
  sw_log(SW_LOG_DEBUG, "engine: %s backend, %u streams, blocks of %u%s",
         engine->backend->name, config->streams, config->max_block,
         engine->pipelined ? ", pipelined" : "");
  return engine;
}

void
sw_engine_free(SwEngine* const engine)
{
  if (!engine) {
    return;
  }
  sw_backend_choice_release(&engine->choice);
  free(engine->knobs);
  free(engine->knob_block);
  free(engine->frames_in);
  free(engine->frames_out);
  free(engine->state_move);
  free(engine->pipe_in);
  free(engine->flight_in);
  free(engine->result);
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

SwWeightFormat
sw_engine_weights(const SwEngine* const engine)
{
  return engine->weights;
}

const char*
sw_engine_cpu_kernels(const SwEngine* const engine)
{
  if (engine->backend == &sw_cpu_backend) {
    return sw_cpu_kernels_name(engine->context);
  }
  return engine->backend == &sw_cpu_ref_backend ? "scalar" : NULL;
}

const char*
sw_engine_backend_note(const SwEngine* const engine)
{
  return engine->note[0] ? engine->note : NULL;
}

uint32_t
sw_engine_fallback_count(const SwEngine* const engine)
{
  return engine->fallbacks;
}

uint32_t
sw_engine_latency(const SwEngine* const engine)
{
  return engine->pipelined ? engine->max_block : 0U;
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

static float
finite_or_zero(const float x)
{
  return isfinite(x) ? x : 0.0f;
}

/* Leave the failed backend for the CPU context made beside it, carrying
   every stream's state as of the last completed block over. The failed
   context is kept until the engine is freed: nothing is freed here, on
   the audio thread. [RT-safe] */
static void
fall_back_to_cpu(SwEngine* const engine)
{
  const SwBackendIface* const failed  = engine->backend;
  void* const                 context = engine->context;
  const char* const           why =
    failed->failure ? failed->failure(context) : NULL;
  void* const cpu_context = engine->choice.cpu_context;
  const SwModel* const model = engine->model;

  for (uint32_t s = 0; s < engine->streams; ++s) {
    for (uint32_t l = 0; l < model->num_layers; ++l) {
      if (sw_layer_state_size(&model->layers[l]) == 0) {
        continue;
      }
      failed->get_state(context, s, l, engine->state_move);
      sw_cpu_backend.set_state(cpu_context, s, l, engine->state_move);
    }
  }
  engine->backend = &sw_cpu_backend;
  engine->context = cpu_context;
  ++engine->fallbacks;
  if (engine->note[0]) {
    note_append(engine, "; ");
  }
  note_append(engine, failed->name);
  note_append(engine, " failed mid-stream (");
  note_append(engine, why ? why : "no reason given");
  note_append(engine, "); the cpu took over with the state carried over");
}

/* Run one block to the end, on the CPU if the backend fails. */
static SwStatus
run_block(SwEngine* const engine, const float* const in, float* const out,
          const uint32_t frames)
{
  SwStatus st = engine->backend->process(engine->context, in, out, frames,
                                         &engine->nonfinite_resets);
  if (st && engine->backend != &sw_cpu_backend) {
    fall_back_to_cpu(engine);
    st = engine->backend->process(engine->context, in, out, frames,
                                  &engine->nonfinite_resets);
  }
  return st;
}

/* Pipelined: start the staged block. A backend that cannot overlap (the
   CPU) runs it now; its outputs wait in `result` all the same. */
static SwStatus
pipeline_submit(SwEngine* const engine)
{
  float* const staged = engine->pipe_in;
  engine->pipe_in     = engine->flight_in;
  engine->flight_in   = staged;
  if (engine->backend->submit) {
    if (!engine->backend->submit(engine->context, staged, engine->max_block)) {
      engine->in_flight = true;
      return SW_SUCCESS;
    }
    fall_back_to_cpu(engine);
  }
  return run_block(engine, staged, engine->result, engine->max_block);
}

/* Pipelined: wait for the submitted block's outputs. */
static SwStatus
pipeline_collect(SwEngine* const engine)
{
  if (!engine->in_flight) {
    return SW_SUCCESS;
  }
  engine->in_flight = false;
  if (!engine->backend->collect(engine->context, engine->result,
                                &engine->nonfinite_resets)) {
    return SW_SUCCESS;
  }
  fall_back_to_cpu(engine);
  return run_block(engine, engine->flight_in, engine->result,
                   engine->max_block);
}

/* Where the next chunk's frames are staged and where its outputs come from:
   the scratch block itself when synchronous, else the pipeline. */
typedef struct {
  uint32_t     frames;
  float*       in;     /* staged input frames, [streams][stride][I] */
  const float* out;    /* outputs to play, [streams][stride][O] */
  const float* out_in; /* the inputs those outputs came from (skip) */
  size_t       stride;
  size_t       offset; /* first frame of the chunk within the block */
} Chunk;

/* Plan the next chunk of a call with `left` frames to go. */
static SwStatus
begin_chunk(SwEngine* const engine, const uint32_t left, Chunk* const chunk)
{
  const uint32_t room =
    engine->pipelined ? engine->max_block - engine->fill : engine->max_block;
  chunk->frames = left < room ? left : room;
  if (!engine->pipelined) {
    chunk->in     = engine->frames_in;
    chunk->out    = engine->frames_out;
    chunk->out_in = engine->frames_in;
    chunk->stride = chunk->frames;
    chunk->offset = 0;
    return SW_SUCCESS;
  }
  const SwStatus st = engine->fill == 0 ? pipeline_collect(engine)
                                        : SW_SUCCESS;
  chunk->in     = engine->pipe_in;
  chunk->out    = engine->result;
  chunk->out_in = engine->flight_in;
  chunk->stride = engine->max_block;
  chunk->offset = engine->fill;
  return st;
}

/* Synchronous: run the staged chunk. Pipelined: nothing to run yet. */
static SwStatus
run_chunk(SwEngine* const engine, const Chunk* const chunk)
{
  if (engine->pipelined) {
    return SW_SUCCESS;
  }
  return run_block(engine, engine->frames_in, engine->frames_out,
                   chunk->frames);
}

/* After the chunk's outputs are written: submit a full pipeline block. */
static SwStatus
end_chunk(SwEngine* const engine, const Chunk* const chunk)
{
  if (!engine->pipelined) {
    return SW_SUCCESS;
  }
  engine->fill += chunk->frames;
  if (engine->fill < engine->max_block) {
    return SW_SUCCESS;
  }
  engine->fill = 0;
  return pipeline_submit(engine);
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
    Chunk chunk;
    st = begin_chunk(engine, frames - done, &chunk);
    if (st) {
      break;
    }
    const uint32_t n = chunk.frames;
    advance_knobs(engine, n);

    /* Gather the whole chunk first: `in` and `out` may alias. */
    for (uint32_t s = 0; s < engine->streams; ++s) {
      for (uint32_t t = 0; t < n; ++t) {
        float* const x =
          chunk.in + ((size_t)s * chunk.stride + chunk.offset + t) * I;
        x[0] = in[s][done + t] * engine->input_gain;
        for (size_t k = 1; k < I; ++k) {
          x[k] = engine->knob_block[(k - 1U) * engine->max_block + t];
        }
      }
    }
    st = run_chunk(engine, &chunk);
    for (uint32_t s = 0; s < engine->streams && !st; ++s) {
      for (uint32_t t = 0; t < n; ++t) {
        const size_t frame = (size_t)s * chunk.stride + chunk.offset + t;
        float        y     = chunk.out[frame * O];
        if (model->skip) {
          y += chunk.out_in[frame * I];
        }
        out[s][done + t] = finite_or_zero(y * engine->output_gain);
      }
    }
    if (!st) {
      st = end_chunk(engine, &chunk);
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
    Chunk chunk;
    st = begin_chunk(engine, frames - done, &chunk);
    if (st) {
      break;
    }
    const uint32_t n = chunk.frames;
    for (uint32_t s = 0; s < engine->streams; ++s) {
      const float* const src = in + ((size_t)s * frames + done) * I;
      float* const       dst =
        chunk.in + ((size_t)s * chunk.stride + chunk.offset) * I;
      memcpy(dst, src, (size_t)n * I * sizeof(float));
      for (uint32_t t = 0; t < n; ++t) {
        dst[(size_t)t * I] *= engine->input_gain;
      }
    }
    st = run_chunk(engine, &chunk);
    for (uint32_t s = 0; s < engine->streams && !st; ++s) {
      for (uint32_t t = 0; t < n; ++t) {
        const size_t frame = (size_t)s * chunk.stride + chunk.offset + t;
        const float* y     = chunk.out + frame * O;
        float* const dst   = out + ((size_t)s * frames + done + t) * O;
        for (size_t o = 0; o < O; ++o) {
          float v = y[o];
          if (o == 0 && model->skip) {
            v += chunk.out_in[frame * I];
          }
          dst[o] = finite_or_zero(v * engine->output_gain);
        }
      }
    }
    if (!st) {
      st = end_chunk(engine, &chunk);
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
  /* The block in flight ran from the old state: let it finish, so the
     reset applies to the frames not yet submitted. */
  (void)pipeline_collect(engine);
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
  /* The state after every submitted frame: finish the block in flight.
     Draining changes no observable output, so the const promise holds. */
  (void)pipeline_collect((SwEngine*)engine);
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
  (void)pipeline_collect(engine);
  const size_t   per   = sw_layer_state_size(&engine->model->layers[layer]);
  const uint32_t first = stream < 0 ? 0U : (uint32_t)stream;
  const uint32_t count = stream < 0 ? engine->streams : 1U;
  for (uint32_t i = 0; i < count; ++i) {
    engine->backend->set_state(engine->context, first + i, layer,
                               src + (size_t)i * per);
  }
  return SW_SUCCESS;
}

uint32_t
sw_engine_streams(const SwEngine* const engine)
{
  return engine ? engine->streams : 0U;
}
