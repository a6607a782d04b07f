/* The audio thread's state and its callback (see live_state.h). */

#include "live_state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bytes of each ring: far more messages than a callback's worth. */
#define COMMAND_RING_BYTES (64U * 1024U)
#define EVENT_RING_BYTES (64U * 1024U)

/* Commands handled in one callback at most (the rest wait for the next). */
#define MAX_COMMANDS_PER_CALLBACK 64U

typedef enum {
  CMD_OFFER = 1,
  CMD_ENABLE,
  CMD_RESET,
  CMD_KNOB,
} CommandType;

typedef struct {
  SwEngine*    engine;
  void*        tag;
  LiveSettings settings;
} OfferMessage;

typedef struct {
  uint32_t enabled;
} EnableMessage;

typedef struct {
  uint32_t index;
  float    position;
} KnobMessage;

typedef struct {
  SwEngine* engine;
  void*     tag;
} EventMessage;

#define EVENT_BYTES ((uint32_t)(sizeof(RingMessageHeader) + sizeof(EventMessage)))

static uint32_t
float_bits(const float value)
{
  uint32_t bits = 0;
  memcpy(&bits, &value, sizeof(bits));
  return bits;
}

static float
bits_float(const uint32_t bits)
{
  float value = 0.0f;
  memcpy(&value, &bits, sizeof(value));
  return value;
}

/* ------------------------------------------------------------------------ */
/* Control side                                                             */
/* ------------------------------------------------------------------------ */

LiveState*
live_state_new(const LiveConfig* const config, char* const err,
               const size_t err_size)
{
  LiveState* const state = (LiveState*)calloc(1, sizeof(LiveState));
  if (!state) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  SwProcessorConfig pc = sw_processor_config_default();
  pc.sample_rate       = config->sample_rate;
  pc.channels          = config->channels;
  pc.max_block         = config->max_block;
  pc.crossfade_ms      = config->crossfade_ms;
  pc.smoothing_ms      = config->smoothing_ms;
  SwError e            = {SW_SUCCESS, ""};
  state->processor     = sw_processor_new(&pc, &e);
  if (!state->processor) {
    snprintf(err, err_size, "%s", e.message);
    free(state);
    return NULL;
  }
  state->channels    = config->channels;
  state->sample_rate = config->sample_rate;
  state->settle_ms   = config->smoothing_ms > config->crossfade_ms
                         ? config->smoothing_ms
                         : config->crossfade_ms;
  if (!ring_init(&state->commands, COMMAND_RING_BYTES) ||
      !ring_init(&state->events, EVENT_RING_BYTES)) {
    snprintf(err, err_size, "out of memory");
    live_state_free(state);
    return NULL;
  }
  atomic_init(&state->callbacks, 0U);
  atomic_init(&state->frames, 0U);
  atomic_init(&state->xruns, 0U);
  atomic_init(&state->swaps, 0U);
  atomic_init(&state->busy_ns, 0U);
  atomic_init(&state->max_frames_seen, 0U);
  atomic_init(&state->load_bits, 0U);
  atomic_init(&state->max_load_bits, 0U);
  atomic_init(&state->peak_in_bits, 0U);
  atomic_init(&state->peak_out_bits, 0U);
  atomic_init(&state->run_peak_in_bits, 0U);
  atomic_init(&state->run_peak_out_bits, 0U);
  return state;
}

void
live_state_free(LiveState* const state)
{
  if (!state) {
    return;
  }
  sw_processor_free(state->processor);
  ring_destroy(&state->commands);
  ring_destroy(&state->events);
  free(state);
}

static void
apply_settings(SwProcessor* const p, const LiveSettings* const settings)
{
  for (uint32_t k = 0; k < settings->num_knobs && k < SW_PROCESSOR_MAX_KNOBS;
       ++k) {
    (void)sw_processor_set_knob(p, k, settings->knobs[k]);
  }
  if (settings->has_gains) {
    sw_processor_set_input_gain_db(p, settings->input_gain_db);
    sw_processor_set_output_gain_db(p, settings->output_gain_db);
    sw_processor_set_mix(p, settings->mix);
  }
}

bool
live_state_install(LiveState* const state, SwEngine* const engine,
                   void* const tag, const LiveSettings* const settings)
{
  SwProcessor* const p = state->processor;
  apply_settings(p, settings);
  if (!sw_processor_offer(p, engine, tag)) {
    return false;
  }
  /* Run silence until every ramp has reached its target, then start the
     engine from its initial state: the first callback plays the settings
     exactly, as `statewave process --preset` does from its first frame. */
  enum { CHUNK = 256 };
  float* const  zeros = (float*)calloc((size_t)state->channels * CHUNK,
                                      sizeof(float));
  float** const rows  = (float**)calloc(state->channels, sizeof(float*));
  if (zeros && rows) {
    for (uint32_t c = 0; c < state->channels; ++c) {
      rows[c] = zeros + (size_t)c * CHUNK;
    }
    const uint32_t total =
      (uint32_t)ceil(state->sample_rate * (double)state->settle_ms / 1000.0) +
      CHUNK;
    for (uint32_t done = 0; done < total; done += CHUNK) {
      memset(zeros, 0, (size_t)state->channels * CHUNK * sizeof(float));
      (void)sw_processor_process(p, (const float* const*)rows, rows, CHUNK);
    }
  }
  free(zeros);
  free(rows);
  sw_processor_reset(p);
  return true;
}

bool
live_state_release(LiveState* const state, SwEngine** const engine,
                   void** const tag)
{
  if (state->has_pending) {
    state->has_pending = false;
    *engine            = state->pending_engine;
    *tag               = state->pending_tag;
    return true;
  }
  /* Offers still in the command ring. */
  RingMessageHeader header;
  while (ring_peek_header(&state->commands, &header)) {
    OfferMessage offer;
    memset(&offer, 0, sizeof(offer));
    ring_read_message(&state->commands, &header, &offer, sizeof(offer));
    if (header.type == CMD_OFFER && header.size == sizeof(offer)) {
      *engine = offer.engine;
      *tag    = offer.tag;
      return true;
    }
  }
  /* Engines handed back but not yet read. */
  LiveEvent event;
  while (live_next_event(state, &event)) {
    if (event.type == LIVE_EVENT_RETIRED || event.type == LIVE_EVENT_DROPPED) {
      *engine = event.engine;
      *tag    = event.tag;
      return true;
    }
  }
  return sw_processor_release(state->processor, engine, tag);
}

bool
live_send_offer(LiveState* const state, SwEngine* const engine,
                void* const tag, const LiveSettings* const settings)
{
  OfferMessage message;
  memset(&message, 0, sizeof(message));
  message.engine   = engine;
  message.tag      = tag;
  message.settings = *settings;
  return ring_write_message(&state->commands, CMD_OFFER, &message,
                            (uint32_t)sizeof(message));
}

bool
live_send_enabled(LiveState* const state, const bool enabled)
{
  const EnableMessage message = {enabled ? 1U : 0U};
  return ring_write_message(&state->commands, CMD_ENABLE, &message,
                            (uint32_t)sizeof(message));
}

bool
live_send_reset(LiveState* const state)
{
  return ring_write_message(&state->commands, CMD_RESET, NULL, 0U);
}

bool
live_send_knob(LiveState* const state, const uint32_t index,
               const float position)
{
  const KnobMessage message = {index, position};
  return ring_write_message(&state->commands, CMD_KNOB, &message,
                            (uint32_t)sizeof(message));
}

bool
live_next_event(LiveState* const state, LiveEvent* const event)
{
  RingMessageHeader header;
  EventMessage      message;
  memset(&message, 0, sizeof(message));
  while (ring_read_message(&state->events, &header, &message,
                           (uint32_t)sizeof(message))) {
    if (header.size == sizeof(message) &&
        (header.type == LIVE_EVENT_PLAYING ||
         header.type == LIVE_EVENT_RETIRED ||
         header.type == LIVE_EVENT_DROPPED)) {
      event->type   = (LiveEventType)header.type;
      event->engine = message.engine;
      event->tag    = message.tag;
      return true;
    }
  }
  return false;
}

void
live_read_stats(LiveState* const state, LiveStats* const stats)
{
  stats->callbacks  = atomic_load_explicit(&state->callbacks,
                                           memory_order_relaxed);
  stats->frames     = atomic_load_explicit(&state->frames, memory_order_relaxed);
  stats->xruns      = atomic_load_explicit(&state->xruns, memory_order_relaxed);
  stats->swaps      = atomic_load_explicit(&state->swaps, memory_order_relaxed);
  stats->busy_ns    = atomic_load_explicit(&state->busy_ns,
                                           memory_order_relaxed);
  stats->max_frames = (uint32_t)atomic_load_explicit(&state->max_frames_seen,
                                                     memory_order_relaxed);
  stats->load = bits_float((uint32_t)atomic_load_explicit(
    &state->load_bits, memory_order_relaxed));
  stats->max_load = bits_float((uint32_t)atomic_load_explicit(
    &state->max_load_bits, memory_order_relaxed));
  stats->peak_in = bits_float(
    (uint32_t)atomic_exchange_explicit(&state->peak_in_bits, 0U,
                                       memory_order_relaxed));
  stats->peak_out = bits_float(
    (uint32_t)atomic_exchange_explicit(&state->peak_out_bits, 0U,
                                       memory_order_relaxed));
  stats->run_peak_in = bits_float((uint32_t)atomic_load_explicit(
    &state->run_peak_in_bits, memory_order_relaxed));
  stats->run_peak_out = bits_float((uint32_t)atomic_load_explicit(
    &state->run_peak_out_bits, memory_order_relaxed));
}

/* ------------------------------------------------------------------------ */
/* Audio side                                                               */
/* ------------------------------------------------------------------------ */

static uint64_t
now_ns(void)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000000000U + (uint64_t)now.tv_nsec;
}

static bool
send_event(LiveState* const state, const LiveEventType type,
           SwEngine* const engine, void* const tag)
{
  const EventMessage message = {engine, tag};
  return ring_write_message(&state->events, (uint32_t)type, &message,
                            (uint32_t)sizeof(message));
}

/* Raise a "since the last snapshot" maximum that the reader resets. */
static void
raise_shared_max(atomic_uint_fast32_t* const slot, const float value)
{
  const uint32_t       bits = float_bits(value);
  uint_fast32_t        old  = atomic_load_explicit(slot, memory_order_relaxed);
  while (bits > old &&
         !atomic_compare_exchange_weak_explicit(slot, &old, bits,
                                                memory_order_relaxed,
                                                memory_order_relaxed)) {
  }
}

static float
peak_of(const float* const* const rows, const uint32_t channels,
        const uint32_t frames)
{
  float peak = 0.0f;
  for (uint32_t c = 0; c < channels; ++c) {
    const float* const row = rows[c];
    for (uint32_t t = 0; t < frames; ++t) {
      const float a = fabsf(row[t]);
      peak          = a > peak ? a : peak; /* NaN is never larger */
    }
  }
  return peak <= 3.0e38f ? peak : 3.0e38f; /* inf as the largest float */
}

static void
handle_commands(LiveState* const state)
{
  SwProcessor* const p = state->processor;
  for (uint32_t n = 0; n < MAX_COMMANDS_PER_CALLBACK; ++n) {
    RingMessageHeader header;
    if (!ring_peek_header(&state->commands, &header)) {
      return;
    }
    /* A newer offer replaces a waiting one, which goes back to be freed:
       leave it in the ring until the event ring has room for that. */
    if (header.type == CMD_OFFER && state->has_pending &&
        ring_write_space(&state->events) < EVENT_BYTES) {
      return;
    }
    union {
      OfferMessage  offer;
      EnableMessage enable;
      KnobMessage   knob;
    } message;
    memset(&message, 0, sizeof(message));
    ring_read_message(&state->commands, &header, &message,
                      (uint32_t)sizeof(message));
    switch (header.type) {
    case CMD_OFFER:
      if (header.size != sizeof(message.offer) || !message.offer.engine) {
        break;
      }
      if (state->has_pending) {
        (void)send_event(state, LIVE_EVENT_DROPPED, state->pending_engine,
                         state->pending_tag);
      }
      state->has_pending      = true;
      state->pending_engine   = message.offer.engine;
      state->pending_tag      = message.offer.tag;
      state->pending_settings = message.offer.settings;
      break;
    case CMD_ENABLE:
      if (header.size == sizeof(message.enable)) {
        sw_processor_set_enabled(p, message.enable.enabled != 0U);
      }
      break;
    case CMD_RESET:
      sw_processor_reset(p);
      break;
    case CMD_KNOB:
      if (header.size == sizeof(message.knob)) {
        (void)sw_processor_set_knob(p, message.knob.index,
                                    message.knob.position);
      }
      break;
    default:
      break;
    }
  }
}

/* Offer the waiting engine once no swap is under way. */
static void
offer_pending(LiveState* const state)
{
  SwProcessor* const p = state->processor;
  if (state->playing_unsent &&
      send_event(state, LIVE_EVENT_PLAYING, NULL, state->playing_tag)) {
    state->playing_unsent = false;
  }
  if (!state->has_pending || state->playing_unsent ||
      sw_processor_swapping(p)) {
    return;
  }
  /* The knobs first: the offer sends the positions to the new engine. */
  const LiveSettings* const settings = &state->pending_settings;
  for (uint32_t k = 0; k < settings->num_knobs && k < SW_PROCESSOR_MAX_KNOBS;
       ++k) {
    (void)sw_processor_set_knob(p, k, settings->knobs[k]);
  }
  if (!sw_processor_offer(p, state->pending_engine, state->pending_tag)) {
    return; /* a retired engine not yet handed back: next callback */
  }
  if (settings->has_gains) {
    sw_processor_set_input_gain_db(p, settings->input_gain_db);
    sw_processor_set_output_gain_db(p, settings->output_gain_db);
    sw_processor_set_mix(p, settings->mix);
  }
  state->has_pending = false;
  atomic_fetch_add_explicit(&state->swaps, 1U, memory_order_relaxed);
  if (!send_event(state, LIVE_EVENT_PLAYING, NULL, state->pending_tag)) {
    state->playing_unsent = true;
    state->playing_tag    = state->pending_tag;
  }
}

/* Hand a retired engine back, when the event ring has room for it. */
static void
collect_retired(LiveState* const state)
{
  if (ring_write_space(&state->events) < EVENT_BYTES) {
    return;
  }
  SwEngine* engine = NULL;
  void*     tag    = NULL;
  if (sw_processor_retired(state->processor, &engine, &tag)) {
    (void)send_event(state, LIVE_EVENT_RETIRED, engine, tag);
  }
}

void
live_process(LiveState* const state, const float* const* const in,
             float* const* const out, const uint32_t frames,
             const uint32_t status)
{
  const uint64_t start = now_ns();
  const uint32_t C     = state->channels;

  handle_commands(state);
  offer_pending(state);

  const float peak_in = peak_of(in, C, frames);
  if (sw_processor_process(state->processor, in, out, frames) != SW_SUCCESS) {
    for (uint32_t c = 0; c < C; ++c) {
      memset(out[c], 0, frames * sizeof(float));
    }
  }
  const float peak_out = peak_of((const float* const*)out, C, frames);
  collect_retired(state);

  /* Publish. */
  raise_shared_max(&state->peak_in_bits, peak_in);
  raise_shared_max(&state->peak_out_bits, peak_out);
  if (peak_in > state->run_peak_in) {
    state->run_peak_in = peak_in;
    atomic_store_explicit(&state->run_peak_in_bits, float_bits(peak_in),
                          memory_order_relaxed);
  }
  if (peak_out > state->run_peak_out) {
    state->run_peak_out = peak_out;
    atomic_store_explicit(&state->run_peak_out_bits, float_bits(peak_out),
                          memory_order_relaxed);
  }
  if (frames > state->max_frames) {
    state->max_frames = frames;
    atomic_store_explicit(&state->max_frames_seen, frames,
                          memory_order_relaxed);
  }
  if (status & LIVE_STATUS_XRUN) {
    atomic_fetch_add_explicit(&state->xruns, 1U, memory_order_relaxed);
  }
  atomic_fetch_add_explicit(&state->frames, frames, memory_order_relaxed);

  const uint64_t busy = now_ns() - start;
  atomic_fetch_add_explicit(&state->busy_ns, busy, memory_order_relaxed);
  if (frames) {
    const double period_ns = 1.0e9 * (double)frames / state->sample_rate;
    const float  load      = (float)((double)busy / period_ns);
    atomic_store_explicit(&state->load_bits, float_bits(load),
                          memory_order_relaxed);
    if (load > state->max_load) {
      state->max_load = load;
      atomic_store_explicit(&state->max_load_bits, float_bits(load),
                            memory_order_relaxed);
    }
  }
  /* Last, so a reader that sees the count sees the rest of this callback. */
  atomic_fetch_add_explicit(&state->callbacks, 1U, memory_order_release);
}
