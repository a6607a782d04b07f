/*
  Everything the audio thread touches, in one struct (as jalv's
  JalvProcess): the processor, the two message rings, the offer waiting to
  be crossfaded in, and the counters and meters it publishes as atomics.

  Threads:
    audio    live_process() only, once per device callback;
    control  everything else (one thread: the program's main loop), which
             writes commands and reads events and statistics.
  The audio side never allocates, locks, logs or makes a system call
  (clock_gettime goes through the vDSO); SwProcessor flushes denormals
  inside its calls and writes non-finite output as 0.

  Commands in (control -> audio): offer an engine (with the gains, mix and
  knob positions that come with it), enable/bypass, reset, set a knob.
  Events out (audio -> control): an offered engine started playing (the
  crossfade began), an engine was retired by a finished crossfade, or an
  offer was dropped for a newer one before it played; the last two hand
  the engine back to be freed off the audio thread.
*/

#ifndef STATEWAVE_LIVE_STATE_H
#define STATEWAVE_LIVE_STATE_H

#include "ring.h"

#include <statewave/statewave.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Status bits the device reports with a callback. */
#define LIVE_STATUS_XRUN 1U

/* What comes with an offered engine, applied when it starts playing. */
typedef struct {
  bool     has_gains; /* false: gains and mix stay as they are */
  float    input_gain_db;
  float    output_gain_db;
  float    mix;
  uint32_t num_knobs; /* positions 0..num_knobs-1 are set */
  float    knobs[SW_PROCESSOR_MAX_KNOBS];
} LiveSettings;

typedef enum {
  LIVE_EVENT_PLAYING = 1, /* `tag`'s engine started playing */
  LIVE_EVENT_RETIRED,     /* a crossfade ended: free `engine` / `tag` */
  LIVE_EVENT_DROPPED,     /* replaced before it played: free it */
} LiveEventType;

typedef struct {
  LiveEventType type;
  SwEngine*     engine;
  void*         tag;
} LiveEvent;

typedef struct {
  double   sample_rate;
  uint32_t channels;
  uint32_t max_block;    /* the processor's scratch; longer calls are split */
  float    crossfade_ms; /* model swaps */
  float    smoothing_ms; /* gains, mix, bypass */
} LiveConfig;

/* A snapshot of what the audio thread publishes. */
typedef struct {
  uint64_t callbacks;
  uint64_t frames;
  uint64_t xruns;       /* callbacks the device flagged with an xrun */
  uint64_t swaps;       /* offers that started playing */
  uint64_t busy_ns;     /* time spent in live_process() */
  uint32_t max_frames;  /* largest callback */
  float    load;        /* the last callback's DSP load (1 = its period) */
  float    max_load;    /* largest DSP load of any callback */
  float    peak_in;     /* largest |input| since the last snapshot */
  float    peak_out;    /* largest |output| since the last snapshot */
  float    run_peak_in; /* largest |input| since the start */
  float    run_peak_out;
} LiveStats;

typedef struct {
  /* Fixed at creation. */
  SwProcessor* processor;
  uint32_t     channels;
  double       sample_rate;
  float        settle_ms; /* the longest ramp */
  Ring         commands; /* control -> audio */
  Ring         events;   /* audio -> control */

  /* The audio thread's own. */
  bool      has_pending; /* an offer waiting for the running swap to end */
  SwEngine* pending_engine;
  void*     pending_tag;
  LiveSettings pending_settings;
  bool      playing_unsent; /* a PLAYING event the ring had no room for */
  void*     playing_tag;
  float     run_peak_in;
  float     run_peak_out;
  float     max_load;
  uint32_t  max_frames;

  /* Published by the audio thread. Floats are stored as their bits
     (non-negative floats order like their bits). */
  atomic_uint_fast64_t callbacks;
  atomic_uint_fast64_t frames;
  atomic_uint_fast64_t xruns;
  atomic_uint_fast64_t swaps;
  atomic_uint_fast64_t busy_ns;
  atomic_uint_fast32_t max_frames_seen;
  atomic_uint_fast32_t load_bits;
  atomic_uint_fast32_t max_load_bits;
  atomic_uint_fast32_t peak_in_bits;  /* exchanged with 0 by the reader */
  atomic_uint_fast32_t peak_out_bits; /* exchanged with 0 by the reader */
  atomic_uint_fast32_t run_peak_in_bits;
  atomic_uint_fast32_t run_peak_out_bits;
} LiveState;

/* Make the state with an empty processor. On failure returns NULL and
   writes why into `err`. [non-RT] */
LiveState*
live_state_new(const LiveConfig* config, char* err, size_t err_size);

/* Free the state; take its engines back with live_state_release() first.
   NULL is a no-op. [non-RT] */
void
live_state_free(LiveState* state);

/* Before the audio runs: play `engine` at once with `settings`, with every
   ramp settled on the settings' values and the engine's state reset (as
   if it had always played so). False when the processor refuses it.
   [non-RT; not while live_process() may run] */
bool
live_state_install(LiveState* state, SwEngine* engine, void* tag,
                   const LiveSettings* settings);

/* After the audio stopped: take back any engine the state holds (offered,
   pending, playing or in the event ring), one per call, false when none
   is left. [non-RT; not while live_process() may run] */
bool
live_state_release(LiveState* state, SwEngine** engine, void** tag);

/* The audio callback: run the commands, offer a waiting engine, process
   `frames` frames of every channel (in[c] -> out[c]) and publish the
   counters. `status` holds LIVE_STATUS_* bits from the device. [RT-safe] */
SW_REALTIME void
live_process(LiveState* state, const float* const* in, float* const* out,
             uint32_t frames, uint32_t status);

/* Control side: queue a command; false when the ring is full. [RT-safe] */
SW_REALTIME bool
live_send_offer(LiveState* state, SwEngine* engine, void* tag,
                const LiveSettings* settings);

SW_REALTIME bool
live_send_enabled(LiveState* state, bool enabled);

SW_REALTIME bool
live_send_reset(LiveState* state);

SW_REALTIME bool
live_send_knob(LiveState* state, uint32_t index, float position);

/* Control side: the next event, false when none is waiting. [RT-safe] */
SW_REALTIME bool
live_next_event(LiveState* state, LiveEvent* event);

/* Control side: what the audio thread has published; the "since the last
   snapshot" peaks restart from 0. [RT-safe] */
SW_REALTIME void
live_read_stats(LiveState* state, LiveStats* stats);

#endif
