/*
  The live host's audio callback under the rt interposer: live_process()
  (what `statewave run` calls from the device's callback) on the real
  LiveState, driven directly (no PortAudio), through everything a session
  does: steady play, model swaps by offer (crossfades, an offer replaced
  before it played), bypass on and off, resets, knob changes, xrun flags,
  non-finite input, callbacks of odd sizes and longer than the block, a
  burst of commands larger than one callback takes, and bursts of NaN and
  Inf input (finite output, then bit for bit a twin state's). While armed, no
  thread may allocate, free, lock a mutex or open a file or socket; the
  control side's ring calls (live_send_*, live_next_event, live_read_stats)
  are armed too. Models are loaded and freed outside the armed windows, as
  the loader thread and the main loop do.

  Functional checks on the way: each offer comes back as PLAYING, and the
  engine it replaced as RETIRED (or DROPPED for the replaced offer), the
  counters add up, bypass plays the input exactly, output stays finite.

    test_live_rt MODEL_A MODEL_B MODEL_KNOB
*/

#include "live_model.h"
#include "live_state.h"
#include "rt_interposer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHANNELS 2U
#define BLOCK 128U
#define RATE 48000.0
#define MAX_FRAMES 512U /* the largest callback the test makes */

static int failures = 0;

static char window[256];

static void
arm(const char* const what)
{
  snprintf(window, sizeof(window), "%s", what);
  rt_arm();
}

static void
expect_no_calls(void)
{
  if (rt_disarm(window)) {
    ++failures;
  } else {
    printf("ok: %s: no allocation, lock or open\n", window);
  }
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
check(const bool ok, const char* const format, ...)
{
  va_list args;
  va_start(args, format);
  printf("%s: ", ok ? "ok" : "FAIL");
  vprintf(format, args);
  putchar('\n');
  va_end(args);
  if (!ok) {
    ++failures;
  }
}

/* The input: a different deterministic noise per channel. */
static float input_storage[CHANNELS][MAX_FRAMES];
static float output_storage[CHANNELS][MAX_FRAMES];
static const float* in_rows[CHANNELS];
static float*       out_rows[CHANNELS];
static uint64_t     noise_state = 0x2545F4914F6CDD1DULL;

static void
fill_input(void)
{
  for (uint32_t c = 0; c < CHANNELS; ++c) {
    for (uint32_t t = 0; t < MAX_FRAMES; ++t) {
      noise_state ^= noise_state << 13U;
      noise_state ^= noise_state >> 7U;
      noise_state ^= noise_state << 17U;
      input_storage[c][t] =
        0.5f * ((float)(noise_state >> 40U) / (float)(1U << 24U) - 0.5f);
    }
  }
}

/* `count` callbacks of `frames` frames with `status`; all outputs finite. */
static bool
callbacks(LiveState* const live, const uint32_t count, const uint32_t frames,
          const uint32_t status)
{
  bool finite = true;
  for (uint32_t i = 0; i < count; ++i) {
    live_process(live, in_rows, out_rows, frames, status);
    for (uint32_t c = 0; c < CHANNELS; ++c) {
      for (uint32_t t = 0; t < frames; ++t) {
        finite = finite && isfinite(out_rows[c][t]);
      }
    }
  }
  return finite;
}

static LiveModel*
load(const char* const path, const bool preset_like)
{
  LiveModelRequest request;
  memset(&request, 0, sizeof(request));
  snprintf(request.path, sizeof(request.path), "%s", path);
  snprintf(request.label, sizeof(request.label), "%s", path);
  if (preset_like) {
    request.is_preset      = true;
    request.has_gains      = true;
    request.input_gain_db  = -3.0f;
    request.output_gain_db = 2.0f;
    request.mix            = 0.7f;
    request.num_knobs      = 1;
    request.knobs[0]       = 0.25f;
  }
  for (uint32_t k = 0; k < SW_PROCESSOR_MAX_KNOBS; ++k) {
    request.current_knobs[k] = NAN;
  }
  const LiveEngineConfig config = {RATE, CHANNELS, BLOCK, SW_BACKEND_CPU};
  char                   err[1024];
  LiveModel* const model = live_model_load(&request, NULL, &config, err,
                                           sizeof(err));
  if (!model) {
    fprintf(stderr, "FAIL: cannot load %s: %s\n", path, err);
    exit(1);
  }
  return model;
}

/* Read every event (disarmed): count them and free what comes back, as the
   main loop does. */
typedef struct {
  uint32_t   playing;
  uint32_t   retired;
  uint32_t   dropped;
  LiveModel* last_playing;
} Seen;

static Seen
take_events(LiveState* const live)
{
  Seen      seen = {0, 0, 0, NULL};
  LiveEvent event;
  while (live_next_event(live, &event)) {
    LiveModel* const model = (LiveModel*)event.tag;
    switch (event.type) {
    case LIVE_EVENT_PLAYING:
      ++seen.playing;
      seen.last_playing = model;
      break;
    case LIVE_EVENT_RETIRED:
      ++seen.retired;
      check(event.engine == model->engine,
            "a retired engine comes back with its own model");
      live_model_free(model);
      break;
    case LIVE_EVENT_DROPPED:
      ++seen.dropped;
      live_model_free(model);
      break;
    }
  }
  return seen;
}

static float
largest_difference_from_input(const uint32_t frames)
{
  float largest = 0.0f;
  for (uint32_t c = 0; c < CHANNELS; ++c) {
    for (uint32_t t = 0; t < frames; ++t) {
      const float d = fabsf(out_rows[c][t] - in_rows[c][t]);
      largest       = d > largest ? d : largest;
    }
  }
  return largest;
}

int
main(int argc, char** argv)
{
  if (argc != 4) {
    fprintf(stderr, "usage: %s MODEL_A MODEL_B MODEL_KNOB\n", argv[0]);
    return 2;
  }
  if (!rt_interposer_ready()) {
    return 1;
  }
  for (uint32_t c = 0; c < CHANNELS; ++c) {
    in_rows[c]  = input_storage[c];
    out_rows[c] = output_storage[c];
  }
  fill_input();

  const LiveConfig config = {RATE, CHANNELS, BLOCK, 20.0f, 20.0f};
  char             err[512];
  LiveState* const live = live_state_new(&config, err, sizeof(err));
  if (!live) {
    fprintf(stderr, "FAIL: live_state_new: %s\n", err);
    return 1;
  }
  LiveModel* const a = load(argv[1], false);
  check(live_state_install(live, a->engine, a, &a->settings),
        "the first model is installed before the audio runs");

  /* 1. Steady play, with the control side reading statistics. */
  LiveStats stats;
  arm("steady play: 40 callbacks of 128 frames, statistics read");
  bool finite = callbacks(live, 40, BLOCK, 0U);
  live_read_stats(live, &stats);
  expect_no_calls();
  check(finite && stats.callbacks == 40 && stats.frames == 40U * BLOCK &&
          stats.peak_in > 0.0f && stats.peak_out > 0.0f,
        "steady play: %llu callbacks, %llu frames, peaks %g in, %g out",
        (unsigned long long)stats.callbacks,
        (unsigned long long)stats.frames, (double)stats.peak_in,
        (double)stats.peak_out);

  /* 2. A swap: offer B with a preset's gains, mix and knob position; the
     crossfade runs and A comes back retired. */
  LiveModel* const b = load(argv[2], true);
  arm("swap: offer (preset settings), crossfade over 20 callbacks");
  bool sent = live_send_offer(live, b->engine, b, &b->settings);
  finite    = callbacks(live, 20, BLOCK, 0U);
  expect_no_calls();
  Seen seen = take_events(live);
  check(sent && finite && seen.playing == 1 && seen.last_playing == b &&
          seen.retired == 1,
        "swap: PLAYING for the offered model (%u), the old one RETIRED (%u)",
        seen.playing, seen.retired);

  /* 3. Two offers in one callback: the first is replaced before it plays
     and comes back DROPPED; the second plays. */
  LiveModel* const k  = load(argv[3], true);
  LiveModel* const a2 = load(argv[1], false);
  arm("two offers in one callback, then the crossfade");
  sent = live_send_offer(live, k->engine, k, &k->settings) &&
         live_send_offer(live, a2->engine, a2, &a2->settings);
  finite = callbacks(live, 20, BLOCK, 0U);
  expect_no_calls();
  seen = take_events(live);
  check(sent && finite && seen.dropped == 1 && seen.playing == 1 &&
          seen.last_playing == a2 && seen.retired == 1,
        "replaced offer: DROPPED %u, PLAYING %u (the later one), RETIRED %u",
        seen.dropped, seen.playing, seen.retired);

  /* 4. An offer while a crossfade runs waits for it to end. */
  LiveModel* const k2 = load(argv[3], true);
  LiveModel* const b2 = load(argv[2], true);
  arm("an offer during a crossfade waits for it");
  sent = live_send_offer(live, k2->engine, k2, &k2->settings);
  finite = callbacks(live, 2, BLOCK, 0U); /* the crossfade is under way */
  sent   = sent && live_send_offer(live, b2->engine, b2, &b2->settings);
  finite = callbacks(live, 30, BLOCK, 0U) && finite;
  expect_no_calls();
  seen = take_events(live);
  check(sent && finite && seen.playing == 2 && seen.last_playing == b2 &&
          seen.retired == 2 && seen.dropped == 0,
        "offer during a crossfade: both played in turn (PLAYING %u, RETIRED "
        "%u)",
        seen.playing, seen.retired);

  /* 5. Bypass: after the ramp the output is the input exactly; then back. */
  arm("bypass on, 20 callbacks");
  sent   = live_send_enabled(live, false);
  finite = callbacks(live, 20, BLOCK, 0U);
  expect_no_calls();
  const float dry_error = largest_difference_from_input(BLOCK);
  check(sent && finite && dry_error == 0.0f,
        "bypassed: output equals the input (largest difference %g)",
        (double)dry_error);
  arm("bypass off, 20 callbacks");
  sent   = live_send_enabled(live, true);
  finite = callbacks(live, 20, BLOCK, 0U);
  expect_no_calls();
  const float wet_error = largest_difference_from_input(BLOCK);
  check(sent && finite && wet_error > 1e-3f,
        "playing again: output differs from the input (by up to %g)",
        (double)wet_error);

  /* 6. Reset, knobs (also out of range and unknown), xrun flags. */
  arm("reset, knob changes, xrun flags");
  sent = live_send_reset(live) && live_send_knob(live, 0, 0.9f) &&
         live_send_knob(live, 0, 7.0f) && live_send_knob(live, 99, 0.5f);
  finite = callbacks(live, 5, BLOCK, 1U);
  finite = callbacks(live, 5, BLOCK, 0U) && finite;
  live_read_stats(live, &stats);
  expect_no_calls();
  check(sent && finite && stats.xruns == 5,
        "xrun-flagged callbacks counted: %llu", (unsigned long long)stats.xruns);

  /* 7. Non-finite input never sticks. */
  arm("NaN and Inf input, then normal input");
  input_storage[0][3] = NAN;
  input_storage[1][7] = INFINITY;
  finite              = callbacks(live, 1, BLOCK, 0U);
  input_storage[0][3] = 0.0f;
  input_storage[1][7] = 0.0f;
  finite              = callbacks(live, 10, BLOCK, 0U) && finite;
  expect_no_calls();
  check(finite, "output finite through non-finite input");

  /* 8. Callbacks of other sizes (1, 17, and longer than the block). */
  arm("callbacks of 1, 17, 300 and 512 frames");
  finite = callbacks(live, 3, 1, 0U) && callbacks(live, 3, 17, 0U) &&
           callbacks(live, 3, 300, 0U) && callbacks(live, 3, MAX_FRAMES, 0U);
  live_read_stats(live, &stats);
  expect_no_calls();
  check(finite && stats.max_frames == MAX_FRAMES,
        "odd callback sizes: largest callback %u frames", stats.max_frames);

  /* 9. More commands than one callback takes (64): the rest wait. */
  arm("a burst of 500 knob commands over several callbacks");
  sent = true;
  for (uint32_t i = 0; i < 500U && sent; ++i) {
    sent = live_send_knob(live, 0, (float)(i % 10U) / 10.0f);
  }
  finite = callbacks(live, 10, BLOCK, 0U);
  expect_no_calls();
  check(sent && finite && ring_read_space(&live->commands) == 0,
        "a burst of 500 commands is taken within 10 callbacks");

  /* 10. Bypass with an offer: the swap completes at once while resting. */
  LiveModel* const a3 = load(argv[1], false);
  arm("an offer while bypassed, then play again");
  sent   = live_send_enabled(live, false);
  finite = callbacks(live, 20, BLOCK, 0U);
  sent   = sent && live_send_offer(live, a3->engine, a3, &a3->settings);
  finite = callbacks(live, 5, BLOCK, 0U) && finite;
  sent   = sent && live_send_enabled(live, true);
  finite = callbacks(live, 20, BLOCK, 0U) && finite;
  expect_no_calls();
  seen = take_events(live);
  check(sent && finite && seen.playing == 1 && seen.retired == 1,
        "offer while bypassed: PLAYING %u, RETIRED %u", seen.playing,
        seen.retired);

  /* 11. A burst of NaN, then of Inf, on both channels, against a twin
     state fed silence there and reset at the burst's end: finite all
     along, and bit for bit the twin's before and after (every bad frame
     resets the state). */
  for (int kind = 0; kind < 2; ++kind) {
    const float bad = kind == 0 ? NAN : INFINITY;
    LiveState* const twin = live_state_new(&config, err, sizeof(err));
    LiveModel* const a4   = load(argv[1], false);
    LiveModel* const a5   = load(argv[1], false);
    LiveState* const one  = live_state_new(&config, err, sizeof(err));
    check(twin && one && live_state_install(one, a4->engine, a4, &a4->settings) &&
            live_state_install(twin, a5->engine, a5, &a5->settings),
          "burst: two states with the same model");
    static float out_twin[CHANNELS][MAX_FRAMES];
    float*       twin_rows[CHANNELS] = {out_twin[0], out_twin[1]};
    static float in_twin[CHANNELS][MAX_FRAMES];
    const float* twin_in[CHANNELS] = {in_twin[0], in_twin[1]};
    float        largest = 0.0f;
    finite               = true;
    arm(kind == 0 ? "a burst of 640 frames of NaN, and its twin"
                  : "a burst of 640 frames of Inf, and its twin");
    for (uint32_t cb = 0; cb < 20U; ++cb) {
      fill_input();
      memcpy(in_twin, input_storage, sizeof(in_twin));
      const bool in_burst = cb >= 5U && cb < 10U;
      for (uint32_t c = 0; c < CHANNELS && in_burst; ++c) {
        for (uint32_t t = 0; t < BLOCK; ++t) {
          input_storage[c][t] = bad;
          in_twin[c][t]       = 0.0f;
        }
      }
      if (cb == 10U) {
        (void)live_send_reset(twin); /* at the burst's end */
      }
      live_process(one, in_rows, out_rows, BLOCK, 0U);
      live_process(twin, twin_in, twin_rows, BLOCK, 0U);
      for (uint32_t c = 0; c < CHANNELS; ++c) {
        for (uint32_t t = 0; t < BLOCK; ++t) {
          finite = finite && isfinite(out_rows[c][t]);
          if (!in_burst) {
            largest = fmaxf(largest, fabsf(out_rows[c][t] - twin_rows[c][t]));
          }
        }
      }
    }
    expect_no_calls();
    check(finite && largest == 0.0f,
          "%s burst: output finite, the twin's outside the burst "
          "(largest difference %g)",
          kind == 0 ? "NaN" : "Inf", (double)largest);
    SwEngine* engine_back = NULL;
    void*     tag_back    = NULL;
    while (live_state_release(one, &engine_back, &tag_back) ||
           live_state_release(twin, &engine_back, &tag_back)) {
      live_model_free((LiveModel*)tag_back);
    }
    live_state_free(one);
    live_state_free(twin);
  }

  live_read_stats(live, &stats);
  check(stats.swaps == 5, "swaps counted: %llu (5 offers played)",
        (unsigned long long)stats.swaps);
  check(stats.max_load > 0.0f && stats.busy_ns > 0,
        "DSP load measured: max %g", (double)stats.max_load);

  /* Teardown, as the program does after the stream stopped. */
  SwEngine* engine = NULL;
  void*     tag    = NULL;
  uint32_t  held   = 0;
  while (live_state_release(live, &engine, &tag)) {
    live_model_free((LiveModel*)tag);
    ++held;
  }
  check(held == 1, "at the end the state hands back the playing model (%u)",
        held);
  live_state_free(live);

  if (failures) {
    printf("%d check(s) failed\n", failures);
    return 1;
  }
  printf("all checks passed\n");
  return 0;
}
