/* SwProcessor: gains, dry/wet mix, bypass and the crossfade of a model swap
   around one engine, for plugins and live hosts. Everything is allocated in
   sw_processor_new(); process never allocates, locks or logs. */

#include "denormals.h"
#include "error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI_2 1.57079632679489661923
/* Time constant of the fade's power and correlation estimates. */
#define FADE_STATS_SECONDS 0.002

/* A linear ramp to a target over a fixed number of frames. The value and
   step are doubles: a float sum of up to 10 s x 1e7 Hz of small steps drifts
   far from the line (the last frame then jumps to the target: a click at
   the end of a long ramp); a double sum stays within a float's rounding. */
typedef struct {
  double   value;
  float    target;
  double   step;
  uint32_t left;
} Ramp;

typedef struct {
  SwEngine* engine;
  void*     tag;
} Held;

struct SwProcessorImpl {
  uint32_t channels;
  uint32_t max_block;
  uint32_t ramp_frames;
  uint32_t fade_frames; /* crossfade length; 0: swaps cut */
  float*   fade_out;    /* [fade_frames] cos curve */
  float*   fade_in;     /* [fade_frames] sin curve */

  /* Per channel, smoothed products of the two engines' outputs during a
     fade (a*a, b*b, a*b), to keep the fade's power where equal-power
     curves would overshoot on correlated outputs. */
  double*  fade_stats;  /* [channels][3] */
  double   stats_coeff; /* one-pole smoothing per frame */

  Held     current;
  Held     incoming;   /* fading in while `fade_pos` < fade_frames */
  Held     retired;    /* waiting to be taken */
  uint32_t fade_pos;

  Ramp input_gain;
  Ramp output_gain;
  Ramp mix;
  Ramp enabled;
  bool resting; /* fully bypassed: engines idle, reset on resuming */

  float    knob[SW_PROCESSOR_MAX_KNOBS]; /* positions 0..1; NaN: never set */
  uint32_t knob_dirty;                   /* bit per knob to send */

  float* dry; /* [channels][max_block] */
  float* x;   /* [channels][max_block] model input */
  float* wa;  /* [channels][max_block] current engine's output */
  float* wb;  /* [channels][max_block] incoming engine's output */
  float** x_rows;
  float** wa_rows;
  float** wb_rows;
};

SwProcessorConfig
sw_processor_config_default(void)
{
  SwProcessorConfig config;
  memset(&config, 0, sizeof(config));
  config.sample_rate  = 48000.0;
  config.channels     = 1;
  config.max_block    = 512;
  config.crossfade_ms = 20.0f;
  config.smoothing_ms = 20.0f;
  return config;
}

static uint32_t
ms_to_frames(const double sample_rate, const float ms)
{
  return (uint32_t)lround(sample_rate * (double)ms / 1000.0);
}

static void
ramp_init(Ramp* const ramp, const float value)
{
  ramp->value  = (double)value;
  ramp->target = value;
  ramp->step   = 0.0;
  ramp->left   = 0;
}

static void
ramp_to(Ramp* const ramp, const float target, const uint32_t frames)
{
  if (isnan(target) || target == ramp->target) {
    return;
  }
  ramp->target = target;
  if (frames == 0) {
    ramp->value = (double)target;
    ramp->left  = 0;
    return;
  }
  ramp->step = ((double)target - ramp->value) / (double)frames;
  ramp->left = frames;
}

static inline float
ramp_next(Ramp* const ramp)
{
  if (ramp->left == 0) {
    return (float)ramp->value;
  }
  if (--ramp->left == 0) {
    ramp->value = (double)ramp->target;
  } else {
    ramp->value += ramp->step;
  }
  return (float)ramp->value;
}

static float
db_to_gain(const float db)
{
  return powf(10.0f, db / 20.0f);
}

static SwStatus
validate(const SwProcessorConfig* const config, SwError* const err)
{
  if (!config) {
    return sw_error_set(err, SW_ERR_BAD_ARG, "processor: config is NULL");
  }
  if (!(config->sample_rate > 0.0) || config->sample_rate > 1.0e7) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "processor: sample_rate %g Hz, expected 0 < rate <= 1e7",
                        config->sample_rate);
  }
  if (config->channels < 1 || config->channels > 1024) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "processor: channels %u, expected 1..1024",
                        config->channels);
  }
  if (config->max_block < 1 || config->max_block > 1048576) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "processor: max_block %u, expected 1..1048576",
                        config->max_block);
  }
  if (!(config->crossfade_ms >= 0.0f) || config->crossfade_ms > 10000.0f ||
      !(config->smoothing_ms >= 0.0f) || config->smoothing_ms > 10000.0f) {
    return sw_error_set(err, SW_ERR_BAD_ARG,
                        "processor: crossfade_ms %g and smoothing_ms %g, "
                        "expected 0..10000 each",
                        (double)config->crossfade_ms,
                        (double)config->smoothing_ms);
  }
  return SW_SUCCESS;
}

SwProcessor*
sw_processor_new(const SwProcessorConfig* const config, SwError* const err)
{
  if (validate(config, err)) {
    return NULL;
  }
  SwProcessor* const p = (SwProcessor*)calloc(1, sizeof(SwProcessor));
  if (!p) {
    sw_error_set(err, SW_ERR_NO_MEMORY, "processor: out of memory");
    return NULL;
  }
  p->channels    = config->channels;
  p->max_block   = config->max_block;
  p->ramp_frames = ms_to_frames(config->sample_rate, config->smoothing_ms);
  p->fade_frames = ms_to_frames(config->sample_rate, config->crossfade_ms);
  p->stats_coeff =
    1.0 - exp(-1.0 / (FADE_STATS_SECONDS * config->sample_rate));

  const size_t plane = (size_t)p->channels * p->max_block;
  p->dry     = (float*)calloc(plane, sizeof(float));
  p->x       = (float*)calloc(plane, sizeof(float));
  p->wa      = (float*)calloc(plane, sizeof(float));
  p->wb      = (float*)calloc(plane, sizeof(float));
  p->x_rows  = (float**)calloc(p->channels, sizeof(float*));
  p->wa_rows = (float**)calloc(p->channels, sizeof(float*));
  p->wb_rows = (float**)calloc(p->channels, sizeof(float*));
  if (p->fade_frames) {
    p->fade_out = (float*)calloc(p->fade_frames, sizeof(float));
    p->fade_in  = (float*)calloc(p->fade_frames, sizeof(float));
    p->fade_stats = (double*)calloc(3U * (size_t)p->channels, sizeof(double));
  }
  if (!p->dry || !p->x || !p->wa || !p->wb || !p->x_rows || !p->wa_rows ||
      !p->wb_rows ||
      (p->fade_frames && (!p->fade_out || !p->fade_in || !p->fade_stats))) {
    sw_processor_free(p);
    sw_error_set(err, SW_ERR_NO_MEMORY, "processor: out of memory");
    return NULL;
  }
  for (uint32_t c = 0; c < p->channels; ++c) {
    p->x_rows[c]  = p->x + (size_t)c * p->max_block;
    p->wa_rows[c] = p->wa + (size_t)c * p->max_block;
    p->wb_rows[c] = p->wb + (size_t)c * p->max_block;
  }
  /* Frame t of the fade plays the curves at (t + 1) / frames, so the last
     frame is wholly the new engine. */
  for (uint32_t t = 0; t < p->fade_frames; ++t) {
    const double angle = PI_2 * (double)(t + 1U) / (double)p->fade_frames;
    p->fade_out[t]     = (float)cos(angle);
    p->fade_in[t]      = (float)sin(angle);
  }
  ramp_init(&p->input_gain, 1.0f);
  ramp_init(&p->output_gain, 1.0f);
  ramp_init(&p->mix, 1.0f);
  ramp_init(&p->enabled, 1.0f);
  for (uint32_t k = 0; k < SW_PROCESSOR_MAX_KNOBS; ++k) {
    p->knob[k] = NAN;
  }
  return p;
}

void
sw_processor_free(SwProcessor* const p)
{
  if (!p) {
    return;
  }
  free(p->dry);
  free(p->x);
  free(p->wa);
  free(p->wb);
  free(p->x_rows);
  free(p->wa_rows);
  free(p->wb_rows);
  free(p->fade_out);
  free(p->fade_in);
  free(p->fade_stats);
  free(p);
}

/* Send the knob positions in `mask` to `engine`, mapped onto its model's
   ranges. */
static void
send_knobs(const SwProcessor* const p, SwEngine* const engine,
           const uint32_t mask)
{
  if (!engine) {
    return;
  }
  const SwModel* const model = sw_engine_model(engine);
  for (uint32_t k = 0; k < SW_PROCESSOR_MAX_KNOBS; ++k) {
    SwKnobSpec spec;
    if (!(mask & (1U << k)) || isnan(p->knob[k]) ||
        sw_model_knob(model, k, &spec) != SW_SUCCESS) {
      continue;
    }
    (void)sw_engine_set_knob(engine, k,
                             spec.min + p->knob[k] * (spec.max - spec.min));
  }
}

static bool
take(Held* const held, SwEngine** const engine, void** const tag)
{
  if (!held->engine) {
    return false;
  }
  if (engine) {
    *engine = held->engine;
  }
  if (tag) {
    *tag = held->tag;
  }
  held->engine = NULL;
  held->tag    = NULL;
  return true;
}

/* The incoming engine becomes the current one. */
static void
finish_swap(SwProcessor* const p)
{
  p->retired        = p->current;
  p->current        = p->incoming;
  p->incoming.engine = NULL;
  p->incoming.tag    = NULL;
  p->fade_pos        = 0;
}

bool
sw_processor_offer(SwProcessor* const p, SwEngine* const next, void* const tag)
{
  if (!p || !next || p->incoming.engine || p->retired.engine ||
      sw_engine_streams(next) != p->channels) {
    return false;
  }
  send_knobs(p, next, ~0U);
  p->incoming.engine = next;
  p->incoming.tag    = tag;
  p->fade_pos        = 0;
  if (p->fade_stats) {
    memset(p->fade_stats, 0, 3U * (size_t)p->channels * sizeof(double));
  }
  if (!p->current.engine || p->resting || p->fade_frames == 0) {
    finish_swap(p);
  }
  return true;
}

bool
sw_processor_retired(SwProcessor* const p, SwEngine** const engine,
                     void** const tag)
{
  return p && take(&p->retired, engine, tag);
}

bool
sw_processor_release(SwProcessor* const p, SwEngine** const engine,
                     void** const tag)
{
  return p && (take(&p->retired, engine, tag) ||
               take(&p->incoming, engine, tag) ||
               take(&p->current, engine, tag));
}

SwEngine*
sw_processor_engine(const SwProcessor* const p, void** const tag)
{
  if (!p) {
    return NULL;
  }
  if (tag) {
    *tag = p->current.tag;
  }
  return p->current.engine;
}

bool
sw_processor_swapping(const SwProcessor* const p)
{
  return p && p->incoming.engine;
}

void
sw_processor_set_input_gain_db(SwProcessor* const p, const float db)
{
  if (p && isfinite(db)) {
    ramp_to(&p->input_gain, db_to_gain(db), p->ramp_frames);
  }
}

void
sw_processor_set_output_gain_db(SwProcessor* const p, const float db)
{
  if (p && isfinite(db)) {
    ramp_to(&p->output_gain, db_to_gain(db), p->ramp_frames);
  }
}

void
sw_processor_set_mix(SwProcessor* const p, const float mix)
{
  if (p && !isnan(mix)) {
    ramp_to(&p->mix, mix < 0.0f ? 0.0f : (mix > 1.0f ? 1.0f : mix),
            p->ramp_frames);
  }
}

void
sw_processor_set_enabled(SwProcessor* const p, const bool enabled)
{
  if (p) {
    ramp_to(&p->enabled, enabled ? 1.0f : 0.0f, p->ramp_frames);
  }
}

SwStatus
sw_processor_set_knob(SwProcessor* const p, const uint32_t index,
                      const float position)
{
  if (!p || index >= SW_PROCESSOR_MAX_KNOBS || isnan(position)) {
    return SW_ERR_BAD_ARG;
  }
  const float clamped =
    position < 0.0f ? 0.0f : (position > 1.0f ? 1.0f : position);
  if (!(p->knob[index] == clamped)) {
    p->knob[index] = clamped;
    p->knob_dirty |= 1U << index;
  }
  return SW_SUCCESS;
}

void
sw_processor_reset(SwProcessor* const p)
{
  if (p) {
    sw_engine_reset(p->current.engine, -1);
    sw_engine_reset(p->incoming.engine, -1);
  }
}

uint32_t
sw_processor_latency(const SwProcessor* const p)
{
  return p && p->current.engine ? sw_engine_latency(p->current.engine) : 0U;
}

static inline float
finite_or_zero(const float x)
{
  return isfinite(x) ? x : 0.0f;
}

/* a + w (b - a), exactly a at w = 0 and exactly b at w = 1 (the plain
   formula rounds twice at w = 1, so a fully wet, enabled processor would not
   give its engine's output bit for bit). */
static inline float
blend(const float a, const float b, const float w)
{
  if (w == 0.0f) {
    return a;
  }
  if (w == 1.0f) {
    return b;
  }
  return a + w * (b - a);
}

/*
  One frame of the crossfade: cos/sin (equal-power) curves, scaled by k so
  that the output's power is cos^2 Pa + sin^2 Pb whatever the correlation
  of the two outputs:

    k^2 = (c^2 Paa + s^2 Pbb) / (c^2 Paa + s^2 Pbb + 2 c s Pab)

  k = 1 for uncorrelated outputs (plain equal-power); for identical ones
  k = 1/(c + s), an equal-gain fade, where plain equal-power curves would
  swell by up to 3 dB mid-fade (and step further than either output). The
  products are one-pole averages over a few milliseconds; k is kept within
  [1/sqrt(2), 1] so the fade is never louder than equal-power nor quieter
  than equal-gain.
*/
static inline float
crossfade(const SwProcessor* const p, double* const stats, const float a,
          const float b, const uint32_t frame)
{
  const double k_coeff = p->stats_coeff;
  const double x = (double)a;
  const double y = (double)b;
  stats[0] += k_coeff * (x * x - stats[0]);
  stats[1] += k_coeff * (y * y - stats[1]);
  stats[2] += k_coeff * (x * y - stats[2]);
  const double co     = (double)p->fade_out[frame];
  const double si     = (double)p->fade_in[frame];
  const double target = co * co * stats[0] + si * si * stats[1];
  const double mixed  = target + 2.0 * co * si * stats[2];
  double       k      = 1.0;
  if (mixed > 1e-30 && target < mixed) {
    k = sqrt(target / mixed);
    k = k < 0.70710678118654752 ? 0.70710678118654752 : k;
  }
  return (float)(k * (co * x + si * y));
}

/* Run `engine` over the model input, or copy it when there is none. */
static SwStatus
run_engine(const SwProcessor* const p, SwEngine* const engine,
           float* const* const rows, const uint32_t n)
{
  if (engine) {
    return sw_engine_process(engine, (const float* const*)p->x_rows, rows, n);
  }
  for (uint32_t c = 0; c < p->channels; ++c) {
    memcpy(rows[c], p->x_rows[c], n * sizeof(float));
  }
  return SW_SUCCESS;
}

/* One chunk of at most max_block frames. */
static SwStatus
process_chunk(SwProcessor* const p, const float* const* const in,
              float* const* const out, const uint32_t offset,
              const uint32_t n)
{
  const uint32_t C = p->channels;
  const size_t   B = p->max_block;

  /* Fully bypassed and staying so: play the input, leave the engines. */
  if (p->enabled.target == 0.0f && p->enabled.left == 0) {
    if (!p->resting && p->incoming.engine) {
      finish_swap(p);
    }
    p->resting = true;
    for (uint32_t c = 0; c < C; ++c) {
      const float* const src = in[c] + offset;
      float* const       dst = out[c] + offset;
      for (uint32_t t = 0; t < n; ++t) {
        dst[t] = finite_or_zero(src[t]);
      }
    }
    return SW_SUCCESS;
  }
  if (p->resting) {
    p->resting = false;
    sw_processor_reset(p);
  }

  /* Copy the dry input first (in and out may alias); the ramps advance
     per frame, the same for every channel. */
  const Ramp in_gain = p->input_gain;
  for (uint32_t c = 0; c < C; ++c) {
    Ramp gain = in_gain;
    memcpy(p->dry + c * B, in[c] + offset, n * sizeof(float));
    for (uint32_t t = 0; t < n; ++t) {
      p->x[c * B + t] = p->dry[c * B + t] * ramp_next(&gain);
    }
    p->input_gain = gain;
  }

  if (p->knob_dirty) {
    send_knobs(p, p->current.engine, p->knob_dirty);
    send_knobs(p, p->incoming.engine, p->knob_dirty);
    p->knob_dirty = 0;
  }
  SwStatus st = run_engine(p, p->current.engine, p->wa_rows, n);
  if (!st && p->incoming.engine) {
    st = run_engine(p, p->incoming.engine, p->wb_rows, n);
  }
  if (st) {
    return st;
  }

  const Ramp     out_gain0 = p->output_gain;
  const Ramp     mix0      = p->mix;
  const Ramp     enabled0  = p->enabled;
  const uint32_t fade0     = p->fade_pos;
  for (uint32_t c = 0; c < C; ++c) {
    Ramp           out_gain = out_gain0;
    Ramp           mix      = mix0;
    Ramp           enabled  = enabled0;
    uint32_t       fade     = fade0;
    const float*   dry      = p->dry + c * B;
    const float*   wa       = p->wa + c * B;
    const float*   wb       = p->wb + c * B;
    float* const   dst      = out[c] + offset;
    const bool     fading   = p->incoming.engine != NULL;
    double* const  stats    = fading ? p->fade_stats + 3U * c : NULL;
    for (uint32_t t = 0; t < n; ++t) {
      float wet = wa[t];
      if (fading && fade < p->fade_frames) {
        wet = crossfade(p, stats, wa[t], wb[t], fade);
        ++fade;
      } else if (fading) {
        wet = wb[t];
      }
      wet *= ramp_next(&out_gain);
      const float mixed = blend(dry[t], wet, ramp_next(&mix));
      dst[t] = finite_or_zero(blend(dry[t], mixed, ramp_next(&enabled)));
    }
    if (c + 1U == C) {
      p->output_gain = out_gain;
      p->mix         = mix;
      p->enabled     = enabled;
      p->fade_pos    = fade;
    }
  }
  if (p->incoming.engine && p->fade_pos >= p->fade_frames) {
    finish_swap(p);
  }
  return SW_SUCCESS;
}

SwStatus
sw_processor_process(SwProcessor* const p, const float* const* const in,
                     float* const* const out, const uint32_t frames)
{
  if (!p || !in || !out) {
    return SW_ERR_BAD_ARG;
  }
  const SwFpMode mode = sw_denormals_disable();
  SwStatus       st   = SW_SUCCESS;
  for (uint32_t done = 0; done < frames && !st;) {
    const uint32_t left = frames - done;
    const uint32_t n    = left < p->max_block ? left : p->max_block;
    st                  = process_chunk(p, in, out, done, n);
    done += n;
  }
  sw_denormals_restore(mode);
  return st;
}
