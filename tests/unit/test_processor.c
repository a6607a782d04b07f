/*
  SwProcessor: what a plugin or live host runs every block.

  The processor is checked against "twin" engines: engines made from the
  same model and run directly with sw_engine_process on the same input. With
  mix 1, gains 0 dB and playing, the processor must give the twin's output
  bit for bit, for any split of the input into calls and any max_block;
  during a swap its output is the equal-power (cos/sin) mix of the outgoing
  and incoming twins, afterwards the incoming twin's. Around that: the no-
  engine pass-through, gains and mix and their ramps, bypass (ramp, exact
  dry output, engines idle and reset on resuming, swaps completing at
  once), knob positions mapped onto each model's range, aliasing, the NaN
  guard, and the hand-back of every engine (retired, release).
*/

#include "unit_support.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE 48000.0
#define PI 3.14159265358979323846

enum {
  FRAMES    = 6000,
  FADE      = 960, /* 20 ms at 48 kHz */
  SMOOTH    = 960, /* 20 ms at 48 kHz */
  MAX_CH    = 2,
};

/* Models ----------------------------------------------------------------- */

/* A recurrent layer of `units` and a Dense 1 head. `knobs` (may be NULL)
   describes input columns 1..input_width-1. */
static SwModel*
rnn_model(const SwLayerType type, const uint32_t units, const uint64_t seed,
          const uint32_t input_width, const SwKnobSpec* const knobs)
{
  const SwLayerSpec layers[2] = {sw_layer_spec(type, units),
                                 sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwModelSpec       spec      = unit_spec(input_width, 2, layers);
  if (knobs) {
    spec.num_knobs = input_width - 1U;
    spec.knobs     = knobs;
  }
  return unit_build(&spec, seed);
}

static SwProcessor*
processor(const uint32_t channels, const uint32_t max_block,
          const float crossfade_ms, const float smoothing_ms)
{
  SwProcessorConfig config = sw_processor_config_default();
  config.sample_rate       = RATE;
  config.channels          = channels;
  config.max_block         = max_block;
  config.crossfade_ms      = crossfade_ms;
  config.smoothing_ms      = smoothing_ms;
  SwError            err   = {SW_SUCCESS, ""};
  SwProcessor* const p     = sw_processor_new(&config, &err);
  if (!p) {
    unit_abort("sw_processor_new: %s", err.message);
  }
  return p;
}

/* Give back every engine the processor holds and free it and them. */
static void
teardown(SwProcessor* const p)
{
  SwEngine* engine = NULL;
  while (sw_processor_release(p, &engine, NULL)) {
    sw_engine_free(engine);
  }
  sw_processor_free(p);
}

/* Running ----------------------------------------------------------------- */

/* Frames [from, to) of every channel through the processor in calls of
   `block` frames. in/out are [channels][FRAMES] planes. */
static void
run_proc(SwProcessor* const p, const uint32_t channels, const float* const in,
         float* const out, const size_t from, const size_t to,
         const size_t block)
{
  for (size_t done = from; done < to;) {
    const size_t n = to - done < block ? to - done : block;
    const float* ins[MAX_CH];
    float*       outs[MAX_CH];
    for (uint32_t c = 0; c < channels; ++c) {
      ins[c]  = in + (size_t)c * FRAMES + done;
      outs[c] = out + (size_t)c * FRAMES + done;
    }
    const SwStatus status = sw_processor_process(p, ins, outs, (uint32_t)n);
    EXPECT(status == SW_SUCCESS, "sw_processor_process: %s",
           sw_strerror(status));
    done += n;
  }
}

/* The same with an engine, in one call. */
static void
run_twin(SwEngine* const e, const uint32_t channels, const float* const in,
         float* const out, const size_t from, const size_t to)
{
  const float* ins[MAX_CH];
  float*       outs[MAX_CH];
  for (uint32_t c = 0; c < channels; ++c) {
    ins[c]  = in + (size_t)c * FRAMES + from;
    outs[c] = out + (size_t)c * FRAMES + from;
  }
  const SwStatus status = sw_engine_process(e, ins, outs, (uint32_t)(to - from));
  EXPECT(status == SW_SUCCESS, "sw_engine_process: %s", sw_strerror(status));
}

static void
fill_sine(float* const dst, const size_t frames, const double hz,
          const float amplitude)
{
  for (size_t t = 0; t < frames; ++t) {
    dst[t] = amplitude * (float)sin(2.0 * PI * hz * (double)t / RATE);
  }
}

/* The largest |x[t] - x[t-1]| over [from + 1, to). */
static float
max_step(const float* const x, const size_t from, const size_t to)
{
  float step = 0.0f;
  for (size_t t = from + 1U; t < to; ++t) {
    const float d = fabsf(x[t] - x[t - 1U]);
    step          = d > step ? d : step;
  }
  return step;
}

static float
max_abs_diff(const float* const a, const float* const b, const size_t from,
             const size_t to)
{
  float worst = 0.0f;
  for (size_t t = from; t < to; ++t) {
    const float d = fabsf(a[t] - b[t]);
    worst         = d > worst || isnan(d) ? d : worst;
  }
  return worst;
}

/* Input gain as the processor computes it. */
static float
gain_of(const float db)
{
  return powf(10.0f, db / 20.0f);
}

/* The equal-power curves: frame k of a fade of `frames` plays the curves at
   (k + 1) / frames, so its last frame is wholly the new engine. */
static float
fade_out_at(const size_t k, const size_t frames)
{
  return (float)cos(PI / 2.0 * (double)(k + 1U) / (double)frames);
}

static float
fade_in_at(const size_t k, const size_t frames)
{
  return (float)sin(PI / 2.0 * (double)(k + 1U) / (double)frames);
}

/* Checks ------------------------------------------------------------------ */

static void
check_refused(SwProcessorConfig config, const char* const field,
              const char* const what)
{
  SwError            err = {SW_SUCCESS, ""};
  SwProcessor* const p   = sw_processor_new(&config, &err);
  EXPECT(p == NULL, "%s: accepted", what);
  EXPECT(err.status == SW_ERR_BAD_ARG, "%s: status %s", what,
         sw_strerror(err.status));
  EXPECT(unit_contains(err.message, field),
         "%s: message \"%s\" does not name %s", what, err.message, field);
  sw_processor_free(p);
}

static void
test_config(void)
{
  const SwProcessorConfig d = sw_processor_config_default();
  EXPECT(d.sample_rate == 48000.0 && d.channels == 1 && d.max_block == 512 &&
           d.crossfade_ms == 20.0f && d.smoothing_ms == 20.0f,
         "defaults: %g Hz, %u ch, %u frames, %g ms, %g ms", d.sample_rate,
         d.channels, d.max_block, (double)d.crossfade_ms,
         (double)d.smoothing_ms);

  SwError      err = {SW_SUCCESS, ""};
  SwProcessor* p   = sw_processor_new(NULL, &err);
  EXPECT(p == NULL && err.status == SW_ERR_BAD_ARG && err.message[0],
         "NULL config: status %s, message \"%s\"", sw_strerror(err.status),
         err.message);
  sw_processor_free(p);
  EXPECT(sw_processor_new(NULL, NULL) == NULL, "NULL config, NULL err");

  SwProcessorConfig c = d;
  c.sample_rate       = 0.0;
  check_refused(c, "sample_rate", "sample_rate 0");
  c.sample_rate = NAN;
  check_refused(c, "sample_rate", "sample_rate NaN");
  c.sample_rate = -44100.0;
  check_refused(c, "sample_rate", "sample_rate < 0");
  c          = d;
  c.channels = 0;
  check_refused(c, "channels", "channels 0");
  c           = d;
  c.max_block = 0;
  check_refused(c, "max_block", "max_block 0");
  c              = d;
  c.crossfade_ms = -1.0f;
  check_refused(c, "crossfade_ms", "crossfade_ms < 0");
  c.crossfade_ms = NAN;
  check_refused(c, "crossfade_ms", "crossfade_ms NaN");
  c              = d;
  c.smoothing_ms = -0.5f;
  check_refused(c, "smoothing_ms", "smoothing_ms < 0");
  c.smoothing_ms = INFINITY;
  check_refused(c, "smoothing_ms", "smoothing_ms inf");

  /* Zero ramps and zero crossfade are allowed. */
  c              = d;
  c.crossfade_ms = 0.0f;
  c.smoothing_ms = 0.0f;
  p              = sw_processor_new(&c, &err);
  EXPECT(p != NULL, "zero ramps refused: %s", err.message);
  sw_processor_free(p);
  sw_processor_free(NULL);

  /* NULL processor everywhere: no crash, nothing done. */
  const float* in[1]  = {NULL};
  float*       out[1] = {NULL};
  EXPECT(sw_processor_process(NULL, in, out, 1) == SW_ERR_BAD_ARG,
         "process(NULL)");
  EXPECT(!sw_processor_offer(NULL, NULL, NULL), "offer(NULL)");
  EXPECT(!sw_processor_retired(NULL, NULL, NULL), "retired(NULL)");
  EXPECT(!sw_processor_release(NULL, NULL, NULL), "release(NULL)");
  EXPECT(sw_processor_engine(NULL, NULL) == NULL, "engine(NULL)");
  EXPECT(!sw_processor_swapping(NULL), "swapping(NULL)");
  EXPECT(sw_processor_latency(NULL) == 0, "latency(NULL)");
  EXPECT(sw_processor_set_knob(NULL, 0, 0.5f) == SW_ERR_BAD_ARG,
         "set_knob(NULL)");
  sw_processor_set_input_gain_db(NULL, 1.0f);
  sw_processor_set_output_gain_db(NULL, 1.0f);
  sw_processor_set_mix(NULL, 0.5f);
  sw_processor_set_enabled(NULL, false);
  sw_processor_reset(NULL);
}

/* With no engine the wet path is x itself: out = in * input * output gain. */
static void
test_no_engine(void)
{
  float* const in  = unit_floats(FRAMES);
  float* const out = unit_floats(FRAMES);
  float* const exp = unit_floats(FRAMES);
  unit_fill_audio(in, FRAMES, 5);

  SwProcessor* const p = processor(1, 256, 20.0f, 0.0f);
  void*              tag = (void*)&tag;
  EXPECT(sw_processor_engine(p, &tag) == NULL && tag == NULL,
         "a new processor holds an engine");
  EXPECT(!sw_processor_swapping(p) && sw_processor_latency(p) == 0,
         "a new processor is swapping or has latency");

  run_proc(p, 1, in, out, 0, FRAMES, 300);
  unit_expect_identical(in, out, FRAMES, "no engine, 0 dB: out == in");

  /* Smoothing 0: the gains apply at once. */
  sw_processor_set_input_gain_db(p, 6.0f);
  sw_processor_set_output_gain_db(p, -15.0f);
  run_proc(p, 1, in, out, 0, FRAMES, 1000);
  const float gi = gain_of(6.0f);
  const float go = gain_of(-15.0f);
  for (size_t t = 0; t < FRAMES; ++t) {
    exp[t] = (in[t] * gi) * go;
  }
  unit_expect_identical(exp, out, FRAMES, "no engine: in * in_gain * out_gain");

  /* Half mix: dry + 0.5 (wet - dry). */
  sw_processor_set_mix(p, 0.5f);
  run_proc(p, 1, in, out, 0, FRAMES, 77);
  for (size_t t = 0; t < FRAMES; ++t) {
    exp[t] = in[t] + 0.5f * (in[t] * gi * go - in[t]);
  }
  EXPECT(max_abs_diff(exp, out, 0, FRAMES) <= 1e-6f,
         "no engine, mix 0.5: off by %g", (double)max_abs_diff(exp, out, 0,
                                                               FRAMES));

  /* Mix 0 and bypass: exactly dry. */
  sw_processor_set_mix(p, 0.0f);
  run_proc(p, 1, in, out, 0, FRAMES, 64);
  unit_expect_identical(in, out, FRAMES, "no engine, mix 0: out == in");
  sw_processor_set_mix(p, 1.0f);
  sw_processor_set_enabled(p, false);
  run_proc(p, 1, in, out, 0, FRAMES, 64);
  unit_expect_identical(in, out, FRAMES, "no engine, bypassed: out == in");
  sw_processor_set_enabled(p, true);
  run_proc(p, 1, in, out, 0, FRAMES, 64);
  for (size_t t = 0; t < FRAMES; ++t) {
    exp[t] = (in[t] * gi) * go;
  }
  unit_expect_identical(exp, out, FRAMES, "no engine, enabled again");

  /* Frames 0 is a no-op. */
  const float* ins[1]  = {in};
  float*       outs[1] = {out};
  EXPECT(sw_processor_process(p, ins, outs, 0) == SW_SUCCESS, "0 frames");
  EXPECT(sw_processor_process(p, NULL, outs, 1) == SW_ERR_BAD_ARG, "NULL in");
  EXPECT(sw_processor_process(p, ins, NULL, 1) == SW_ERR_BAD_ARG, "NULL out");
  teardown(p);
  free(in);
  free(out);
  free(exp);
}

/* One engine, mix 1, 0 dB, playing: the twin's output bit for bit, for any
   split into calls, any max_block, in place or not. */
static void
test_twin(void)
{
  SwModel* const model = rnn_model(SW_LAYER_LSTM, 8, 11, 1, NULL);
  float* const   in    = unit_floats(FRAMES);
  float* const   out   = unit_floats(FRAMES);
  float* const   exp   = unit_floats(FRAMES);
  unit_fill_audio(in, FRAMES, 7);

  SwEngine* const twin = unit_engine(model, 1, 512, 0.0f);
  run_twin(twin, 1, in, exp, 0, FRAMES);
  sw_engine_free(twin);

  const uint32_t max_blocks[] = {512, 5, 64, 1};
  const size_t   blocks[]     = {1, 7, 64, 1000, FRAMES};
  for (size_t m = 0; m < sizeof(max_blocks) / sizeof(max_blocks[0]); ++m) {
    for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); ++b) {
      SwProcessor* const p = processor(1, max_blocks[m], 20.0f, 20.0f);
      SwEngine* const    e = unit_engine(model, 1, 128, 0.0f);
      int                tag_a;
      EXPECT(sw_processor_offer(p, e, &tag_a), "first offer refused");
      EXPECT(!sw_processor_swapping(p), "a first offer starts a crossfade");
      void* tag = NULL;
      EXPECT(sw_processor_engine(p, &tag) == e && tag == &tag_a,
             "engine or tag after the first offer");
      EXPECT(!sw_processor_retired(p, NULL, NULL),
             "a first offer retired something");
      EXPECT(sw_processor_latency(p) == 0, "latency of a sync engine");

      memset(out, 0, FRAMES * sizeof(float));
      run_proc(p, 1, in, out, 0, FRAMES, blocks[b]);
      char what[96];
      snprintf(what, sizeof(what), "twin, max_block %u, calls of %zu",
               max_blocks[m], blocks[b]);
      unit_expect_identical(exp, out, FRAMES, what);

      /* In place. */
      sw_processor_reset(p);
      memcpy(out, in, FRAMES * sizeof(float));
      run_proc(p, 1, out, out, 0, FRAMES, blocks[b]);
      snprintf(what, sizeof(what), "twin in place, max_block %u, calls of %zu",
               max_blocks[m], blocks[b]);
      unit_expect_identical(exp, out, FRAMES, what);
      teardown(p);
    }
  }
  free(in);
  free(out);
  free(exp);
  sw_model_free(model);
}

/* Two channels are two independent streams. */
static void
test_stereo(void)
{
  SwModel* const model = rnn_model(SW_LAYER_GRU, 8, 21, 1, NULL);
  float* const   in    = unit_floats(2 * FRAMES);
  float* const   out   = unit_floats(2 * FRAMES);
  float* const   exp   = unit_floats(2 * FRAMES);
  float* const   solo  = unit_floats(FRAMES);
  unit_fill_audio(in, FRAMES, 31);
  unit_fill_audio(in + FRAMES, FRAMES, 32);

  SwEngine* const twin = unit_engine(model, 2, 512, 0.0f);
  run_twin(twin, 2, in, exp, 0, FRAMES);
  sw_engine_free(twin);
  /* Each channel alone through a one-stream engine. */
  for (uint32_t c = 0; c < 2; ++c) {
    SwEngine* const mono = unit_engine(model, 1, 512, 0.0f);
    run_twin(mono, 1, in + (size_t)c * FRAMES, solo, 0, FRAMES);
    unit_expect_identical(solo, exp + (size_t)c * FRAMES, FRAMES,
                          "a stereo twin's channel vs a mono engine");
    sw_engine_free(mono);
  }

  SwProcessor* const p = processor(2, 100, 20.0f, 20.0f);
  SwEngine* const    mono = unit_engine(model, 1, 512, 0.0f);
  EXPECT(!sw_processor_offer(p, mono, NULL),
         "a 1-stream engine accepted by a 2-channel processor");
  EXPECT(sw_processor_engine(p, NULL) == NULL, "the refused engine is held");
  sw_engine_free(mono);
  EXPECT(sw_processor_offer(p, unit_engine(model, 2, 64, 0.0f), NULL),
         "a 2-stream engine refused");
  run_proc(p, 2, in, out, 0, FRAMES, 333);
  unit_expect_identical(exp, out, 2 * FRAMES, "stereo twin");

  /* Changing channel 1's input leaves channel 0's output alone. */
  sw_processor_reset(p);
  unit_fill_audio(in + FRAMES, FRAMES, 99);
  run_proc(p, 2, in, out, 0, FRAMES, 64);
  unit_expect_identical(exp, out, FRAMES, "channel 0 after channel 1 changed");
  EXPECT(memcmp(exp + FRAMES, out + FRAMES, FRAMES * sizeof(float)) != 0,
         "channel 1 did not follow its new input");
  teardown(p);
  free(in);
  free(out);
  free(exp);
  free(solo);
  sw_model_free(model);
}

/* A swap mid-stream: cos/sin crossfade between the twins, then the new
   twin; the retired engine comes back once; offers refused meanwhile. */
static void
test_swap(void)
{
  SwModel* const ma = rnn_model(SW_LAYER_LSTM, 8, 41, 1, NULL);
  SwModel* const mb = rnn_model(SW_LAYER_GRU, 8, 42, 1, NULL);
  float* const   in = unit_floats(FRAMES);
  float* const   out = unit_floats(FRAMES);
  float* const   ta  = unit_floats(FRAMES);
  float* const   tb  = unit_floats(FRAMES);
  float* const   exp = unit_floats(FRAMES);
  unit_fill_audio(in, FRAMES, 43);

  const size_t swap_at  = 1000;
  const size_t blocks[] = {1, 7, 100, 512, FRAMES};
  for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); ++b) {
    SwEngine* const twin_a = unit_engine(ma, 1, 512, 0.0f);
    SwEngine* const twin_b = unit_engine(mb, 1, 512, 0.0f);
    run_twin(twin_a, 1, in, ta, 0, FRAMES);
    /* The incoming engine starts fresh at the swap. */
    run_twin(twin_b, 1, in, tb, swap_at, FRAMES);
    sw_engine_free(twin_a);
    sw_engine_free(twin_b);

    SwProcessor* const p  = processor(1, 128, 20.0f, 20.0f);
    SwEngine* const    ea = unit_engine(ma, 1, 64, 0.0f);
    SwEngine* const    eb = unit_engine(mb, 1, 64, 0.0f);
    SwEngine* const    ec = unit_engine(ma, 1, 64, 0.0f);
    SwEngine* const    e2 = unit_engine(ma, 2, 64, 0.0f);
    int                tag_a, tag_b, tag_c;
    EXPECT(sw_processor_offer(p, ea, &tag_a), "offer A");
    run_proc(p, 1, in, out, 0, swap_at, blocks[b]);
    unit_expect_identical(ta, out, swap_at, "before the swap");

    EXPECT(!sw_processor_offer(p, e2, &tag_c),
           "a 2-stream engine accepted by a 1-channel processor");
    EXPECT(sw_processor_offer(p, eb, &tag_b), "offer B refused");
    EXPECT(sw_processor_swapping(p), "not swapping after offering B");
    void* tag = NULL;
    EXPECT(sw_processor_engine(p, &tag) == ea && tag == &tag_a,
           "the current engine during a swap is not the outgoing one");
    EXPECT(!sw_processor_offer(p, ec, &tag_c), "offer accepted mid-swap");
    EXPECT(!sw_processor_retired(p, NULL, NULL), "retired mid-swap");

    /* Through the crossfade, one call boundary at a time. */
    size_t t = swap_at;
    while (t < swap_at + FADE) {
      const size_t n = blocks[b] < swap_at + FADE - t ? blocks[b]
                                                      : swap_at + FADE - t;
      run_proc(p, 1, in, out, t, t + n, n);
      t += n;
      if (t < swap_at + FADE) {
        EXPECT(sw_processor_swapping(p), "the swap ended at %zu of %d", t -
               swap_at, FADE);
        EXPECT(!sw_processor_offer(p, ec, &tag_c), "offer accepted mid-swap");
        EXPECT(!sw_processor_retired(p, NULL, NULL), "retired mid-swap");
      }
    }
    for (size_t k = 0; k < FADE; ++k) {
      exp[swap_at + k] = ta[swap_at + k] * fade_out_at(k, FADE) +
                         tb[swap_at + k] * fade_in_at(k, FADE);
    }
    const float fade_err = max_abs_diff(exp, out, swap_at, swap_at + FADE);
    EXPECT(fade_err <= 2e-6f, "crossfade (calls of %zu) off the cos/sin mix "
           "of the twins by %g", blocks[b], (double)fade_err);
    /* The mix really moves from A to B. */
    EXPECT(fabsf(out[swap_at] - ta[swap_at]) < 0.01f,
           "first crossfade frame is not mostly A");
    EXPECT(!sw_processor_swapping(p), "still swapping after %d frames", FADE);
    EXPECT(sw_processor_engine(p, &tag) == eb && tag == &tag_b,
           "B is not current after the crossfade");

    /* Not yet taken: further offers refused. */
    EXPECT(!sw_processor_offer(p, ec, &tag_c),
           "offer accepted while a retired engine waits");
    run_proc(p, 1, in, out, t, FRAMES, blocks[b]);
    unit_expect_identical(tb + t, out + t, FRAMES - t, "after the swap: B");
    EXPECT(!sw_processor_offer(p, ec, &tag_c),
           "offer accepted while a retired engine waits");

    SwEngine* retired = NULL;
    tag               = NULL;
    EXPECT(sw_processor_retired(p, &retired, &tag) && retired == ea &&
             tag == &tag_a,
           "retired did not give back A and its tag");
    EXPECT(!sw_processor_retired(p, &retired, &tag),
           "retired gave something back twice");
    EXPECT(!sw_processor_offer(p, e2, NULL), "stream mismatch accepted");
    EXPECT(sw_processor_offer(p, ec, &tag_c),
           "offer refused after the retired engine was taken");
    EXPECT(sw_processor_swapping(p), "no crossfade to C");

    /* Teardown: incoming C, then current B. */
    tag = NULL;
    SwEngine* e = NULL;
    EXPECT(sw_processor_release(p, &e, &tag) && e == ec && tag == &tag_c,
           "release: first the incoming engine");
    EXPECT(sw_processor_release(p, &e, &tag) && e == eb && tag == &tag_b,
           "release: then the current engine");
    EXPECT(!sw_processor_release(p, &e, &tag), "release: then nothing");
    EXPECT(sw_processor_engine(p, NULL) == NULL && !sw_processor_swapping(p),
           "engines held after release");
    sw_processor_free(p);
    sw_engine_free(ea);
    sw_engine_free(eb);
    sw_engine_free(ec);
    sw_engine_free(e2);
  }
  free(in);
  free(out);
  free(ta);
  free(tb);
  free(exp);
  sw_model_free(ma);
  sw_model_free(mb);
}

/* crossfade_ms 0: a swap is a cut at the call boundary. */
static void
test_cut(void)
{
  SwModel* const ma  = rnn_model(SW_LAYER_LSTM, 8, 51, 1, NULL);
  SwModel* const mb  = rnn_model(SW_LAYER_LSTM, 8, 52, 1, NULL);
  float* const   in  = unit_floats(FRAMES);
  float* const   out = unit_floats(FRAMES);
  float* const   exp = unit_floats(FRAMES);
  unit_fill_audio(in, FRAMES, 53);
  SwEngine* const twin_a = unit_engine(ma, 1, 512, 0.0f);
  SwEngine* const twin_b = unit_engine(mb, 1, 512, 0.0f);
  run_twin(twin_a, 1, in, exp, 0, 3000);
  run_twin(twin_b, 1, in, exp, 3000, FRAMES);

  SwProcessor* const p  = processor(1, 256, 0.0f, 20.0f);
  SwEngine* const    ea = unit_engine(ma, 1, 256, 0.0f);
  SwEngine* const    eb = unit_engine(mb, 1, 256, 0.0f);
  EXPECT(sw_processor_offer(p, ea, NULL), "offer A");
  run_proc(p, 1, in, out, 0, 3000, 100);
  EXPECT(sw_processor_offer(p, eb, NULL), "offer B");
  EXPECT(!sw_processor_swapping(p) && sw_processor_engine(p, NULL) == eb,
         "with crossfade 0 the swap is not at once");
  run_proc(p, 1, in, out, 3000, FRAMES, 100);
  unit_expect_identical(exp, out, FRAMES, "cut from A to B");
  SwEngine* e = NULL;
  EXPECT(sw_processor_retired(p, &e, NULL) && e == ea, "A not retired");
  EXPECT(sw_processor_release(p, &e, NULL) && e == eb, "release B");
  EXPECT(!sw_processor_release(p, &e, NULL), "release after all");
  sw_processor_free(p);
  sw_engine_free(ea);
  sw_engine_free(eb);
  sw_engine_free(twin_a);
  sw_engine_free(twin_b);
  free(in);
  free(out);
  free(exp);
  sw_model_free(ma);
  sw_model_free(mb);
}

/* Swapping back and forth on a sine never steps further than either model
   does alone. "Alone" is each model's twin as the processor plays it: run
   from frame 0, and started fresh at each point where the processor brings
   it in (the incoming engine starts from its initial state, and its own
   first frames step further than its steady state does). A cut between the
   models steps several times further than that.

   Against the steady-state steps alone (each twin run from frame 0) the
   bound is sqrt(2) times the larger one: the equal-power curves sum to
   cos + sin <= sqrt(2), so on correlated outputs the documented cos/sin
   crossfade may step a little further than either model (here about 13 %
   further than the larger steady step), though far less than a cut. */
static void
test_click_free(void)
{
  enum { N = 48000 };
  SwModel* const models[2] = {rnn_model(SW_LAYER_LSTM, 8, 61, 1, NULL),
                              rnn_model(SW_LAYER_GRU, 8, 62, 1, NULL)};
  float* const   in        = unit_floats(N);
  float* const   out       = unit_floats(N);
  float* const   alone     = unit_floats(N);
  fill_sine(in, N, 440.0, 0.5f);

  const size_t swaps[] = {1234, 5000, 9001, 15555, 22222, 30001, 37777};
  const size_t n_swaps = sizeof(swaps) / sizeof(swaps[0]);

  /* Each model's largest step alone: from the start, and started fresh at
     every point where the processor brings it in. */
  float bound  = 0.0f;
  float steady = 0.0f;
  for (size_t m = 0; m < 2; ++m) {
    for (size_t s = 0; s <= n_swaps; ++s) {
      const size_t from = s ? swaps[s - 1U] : 0U;
      SwEngine* const e = unit_engine(models[m], 1, 4096, 0.0f);
      for (size_t t = from; t < N; t += 4096) {
        const size_t n      = N - t < 4096 ? N - t : 4096;
        const float* ins[1] = {in + t};
        float*       outs[1] = {alone + t};
        (void)sw_engine_process(e, ins, outs, (uint32_t)n);
      }
      const float step = max_step(alone, from, N);
      bound            = step > bound ? step : bound;
      if (s == 0) {
        steady = step > steady ? step : steady;
      }
      sw_engine_free(e);
    }
  }
  EXPECT(bound > 0.0f && bound < 1.0f, "the models' own steps: %g",
         (double)bound);

  /* Offer on the first call at or after each swap point; calls of 64. */
  SwProcessor* const p      = processor(1, 512, 20.0f, 20.0f);
  size_t             next   = 0;
  size_t             swaps_done = 0;
  EXPECT(sw_processor_offer(p, unit_engine(models[0], 1, 512, 0.0f), NULL),
         "first offer");
  for (size_t t = 0; t < N; t += 64) {
    if (next < n_swaps && t >= swaps[next]) {
      SwEngine* const e = unit_engine(models[(next + 1U) % 2U], 1, 512, 0.0f);
      SwEngine*       old = NULL;
      if (sw_processor_retired(p, &old, NULL)) {
        sw_engine_free(old);
      }
      if (sw_processor_offer(p, e, NULL)) {
        ++next;
        ++swaps_done;
      } else {
        sw_engine_free(e);
      }
    }
    run_proc(p, 1, in, out, t, t + 64 < N ? t + 64 : N, 64);
  }
  EXPECT(swaps_done == n_swaps, "%zu of %zu swaps offered", swaps_done,
         n_swaps);
  const float step = max_step(out, 0, N);
  EXPECT(step <= bound, "a swap clicks: step %g, the models alone at most %g",
         (double)step, (double)bound);
  EXPECT(step <= (float)sqrt(2.0) * steady,
         "a swap clicks: step %g, sqrt(2) x the models' steady steps %g",
         (double)step, (double)((float)sqrt(2.0) * steady));
  teardown(p);
  free(in);
  free(out);
  free(alone);
  sw_model_free(models[0]);
  sw_model_free(models[1]);
}

static bool
state_of(const SwEngine* const e, float* const dst, const size_t n)
{
  SwError err = {SW_SUCCESS, ""};
  const SwStatus st = sw_engine_get_state(e, -1, 0, dst, n, &err);
  EXPECT(st == SW_SUCCESS, "sw_engine_get_state: %s", err.message);
  return st == SW_SUCCESS;
}

/* Bypass: a ramp to dry, then the exact input with the engine idle; playing
   again resets the engine; an offer while bypassed completes at once. */
static void
test_bypass(void)
{
  SwModel* const ma  = rnn_model(SW_LAYER_LSTM, 8, 71, 1, NULL);
  SwModel* const mb  = rnn_model(SW_LAYER_GRU, 8, 72, 1, NULL);
  float* const   in  = unit_floats(FRAMES);
  float* const   out = unit_floats(FRAMES);
  float* const   wet = unit_floats(FRAMES);
  float* const   exp = unit_floats(FRAMES);
  fill_sine(in, FRAMES, 440.0, 0.5f);

  SwProcessor* const p  = processor(1, 256, 20.0f, 20.0f);
  SwEngine* const    ea = unit_engine(ma, 1, 256, 0.0f);
  SwEngine* const    twin = unit_engine(ma, 1, 512, 0.0f);
  EXPECT(sw_processor_offer(p, ea, NULL), "offer A");
  run_twin(twin, 1, in, wet, 0, 3000);
  run_proc(p, 1, in, out, 0, 1000, 64);
  unit_expect_identical(wet, out, 1000, "playing before bypass");

  /* The ramp down over SMOOTH frames from frame 1000. */
  sw_processor_set_enabled(p, false);
  run_proc(p, 1, in, out, 1000, 3000, 64);
  float worst = 0.0f;
  for (size_t k = 0; k < SMOOTH; ++k) {
    const size_t t = 1000 + k;
    /* enabled goes 1 - (k + 1) / SMOOTH */
    const float e = 1.0f - (float)(k + 1U) / (float)SMOOTH;
    exp[t]        = in[t] + e * (wet[t] - in[t]);
    const float d = fabsf(exp[t] - out[t]);
    worst         = d > worst ? d : worst;
  }
  EXPECT(worst <= 1e-5f, "the bypass ramp is off a linear %d-frame ramp by %g",
         SMOOTH, (double)worst);
  EXPECT(fabsf(out[1000] - wet[1000]) < 0.01f &&
           fabsf(out[1000] - in[1000]) > 1e-4f,
         "the bypass ramp does not start from the wet signal");
  float diff = 0.0f;
  for (size_t t = 1000; t < 1000 + SMOOTH; ++t) {
    diff = fmaxf(diff, fabsf(wet[t] - in[t]));
  }
  const float ds = max_step(in, 999, 1000 + SMOOTH);
  const float ws = max_step(wet, 999, 1000 + SMOOTH);
  /* A linear crossfade of two signals steps at most as far as the larger
     of theirs, plus the ramp's own share (difference / ramp frames). */
  const float bound = fmaxf(ds, ws) + diff / (float)SMOOTH + 1e-6f;
  const float step  = max_step(out, 999, 1000 + SMOOTH + 1U);
  EXPECT(step <= bound, "the bypass ramp clicks: step %g, signals %g / %g",
         (double)step, (double)ds, (double)ws);
  unit_expect_identical(in + 1000 + SMOOTH, out + 1000 + SMOOTH,
                        3000 - 1000 - SMOOTH, "after the bypass ramp: dry");

  /* Fully bypassed: exact input, engine untouched, in place too. */
  size_t state_n = 2 * 8;
  float  before[16], after[16];
  EXPECT(state_of(ea, before, state_n), "state");
  run_proc(p, 1, in, out, 3000, 4000, 100);
  unit_expect_identical(in + 3000, out + 3000, 1000, "fully bypassed: dry");
  memcpy(exp, in, FRAMES * sizeof(float));
  run_proc(p, 1, exp, exp, 3000, 4000, 33);
  unit_expect_identical(in + 3000, exp + 3000, 1000,
                        "fully bypassed in place: dry");
  EXPECT(state_of(ea, after, state_n), "state");
  unit_expect_identical(before, after, state_n,
                        "the engine's state while bypassed");
  bool moved = false;
  for (size_t i = 0; i < state_n; ++i) {
    moved = moved || before[i] != 0.0f;
  }
  EXPECT(moved, "the engine's state was zero before bypassing: the check "
         "above proves nothing");

  /* Re-enabling resets the engine: after the ramp up the output is a twin
     started fresh at the resume point. */
  sw_processor_set_enabled(p, true);
  SwEngine* const fresh = unit_engine(ma, 1, 512, 0.0f);
  run_twin(fresh, 1, in, wet, 4000, FRAMES);
  run_proc(p, 1, in, out, 4000, FRAMES, 128);
  unit_expect_identical(wet + 4000 + SMOOTH, out + 4000 + SMOOTH,
                        FRAMES - 4000 - SMOOTH,
                        "playing again: a freshly reset engine");
  worst = 0.0f;
  for (size_t k = 0; k < SMOOTH; ++k) {
    const size_t t = 4000 + k;
    const float  e = (float)(k + 1U) / (float)SMOOTH;
    worst = fmaxf(worst, fabsf(out[t] - (in[t] + e * (wet[t] - in[t]))));
  }
  EXPECT(worst <= 1e-5f, "the ramp up is off by %g", (double)worst);

  /* An offer while fully bypassed completes at once. */
  sw_processor_set_enabled(p, false);
  run_proc(p, 1, in, out, 0, 2000, 100);
  SwEngine* const eb = unit_engine(mb, 1, 256, 0.0f);
  int             tag_b;
  EXPECT(sw_processor_offer(p, eb, &tag_b), "offer while bypassed refused");
  EXPECT(!sw_processor_swapping(p), "an offer while bypassed crossfades");
  EXPECT(sw_processor_engine(p, NULL) == eb, "B not current at once");
  SwEngine* e = NULL;
  EXPECT(sw_processor_retired(p, &e, NULL) && e == ea,
         "A not retired at once");
  run_proc(p, 1, in, out, 2000, 3000, 100);
  unit_expect_identical(in + 2000, out + 2000, 1000, "bypassed with B: dry");

  /* An offer during the ramp down crossfades, and finishes when the ramp
     has ended (the engines stop). */
  sw_processor_set_enabled(p, true);
  run_proc(p, 1, in, out, 0, 2000, 100);
  sw_processor_set_enabled(p, false);
  run_proc(p, 1, in, out, 2000, 2100, 100);
  SwEngine* const ec = unit_engine(ma, 1, 256, 0.0f);
  EXPECT(sw_processor_offer(p, ec, NULL), "offer during the ramp refused");
  EXPECT(sw_processor_swapping(p), "an offer mid-ramp does not crossfade");
  run_proc(p, 1, in, out, 2100, 2100 + SMOOTH + 100, 100);
  EXPECT(!sw_processor_swapping(p) && sw_processor_engine(p, NULL) == ec,
         "the swap did not complete once bypassed");
  unit_expect_identical(in + 2000 + SMOOTH, out + 2000 + SMOOTH, 200,
                        "bypassed after a mid-ramp offer: dry");
  EXPECT(sw_processor_retired(p, &e, NULL) && e == eb, "B not retired");
  sw_engine_free(eb);

  teardown(p);
  sw_engine_free(ea);
  sw_engine_free(twin);
  sw_engine_free(fresh);
  free(in);
  free(out);
  free(wet);
  free(exp);
  sw_model_free(ma);
  sw_model_free(mb);
}

/* Mix and gains with an engine: mix 0 is dry, gains ramp over smoothing_ms
   to their exact level, the input gain feeds the model, not the dry path. */
static void
test_mix_gains(void)
{
  SwModel* const model = rnn_model(SW_LAYER_LSTM, 8, 81, 1, NULL);
  float* const   in    = unit_floats(FRAMES);
  float* const   out   = unit_floats(FRAMES);
  float* const   exp   = unit_floats(FRAMES);
  float* const   scaled = unit_floats(FRAMES);
  unit_fill_audio(in, FRAMES, 83);

  /* Mix 0 at once (smoothing 0): exactly dry, whatever the gains. */
  {
    SwProcessor* const p = processor(1, 256, 20.0f, 0.0f);
    EXPECT(sw_processor_offer(p, unit_engine(model, 1, 256, 0.0f), NULL),
           "offer");
    sw_processor_set_mix(p, 0.0f);
    sw_processor_set_input_gain_db(p, 12.0f);
    sw_processor_set_output_gain_db(p, -7.0f);
    run_proc(p, 1, in, out, 0, FRAMES, 100);
    unit_expect_identical(in, out, FRAMES, "mix 0: out == in");
    /* Out-of-range and NaN mixes: clamped, NaN ignored. */
    sw_processor_set_mix(p, -3.0f);
    sw_processor_set_mix(p, NAN);
    run_proc(p, 1, in, out, 0, 1000, 100);
    unit_expect_identical(in, out, 1000, "mix -3 (clamped to 0) then NaN");
    /* Non-finite gains are ignored. */
    sw_processor_set_input_gain_db(p, NAN);
    sw_processor_set_output_gain_db(p, INFINITY);
    sw_processor_set_mix(p, 7.0f); /* clamped to 1 */
    sw_processor_reset(p);
    SwEngine* const twin = unit_engine(model, 1, 512, 0.0f);
    const float     gi   = gain_of(12.0f);
    const float     go   = gain_of(-7.0f);
    for (size_t t = 0; t < FRAMES; ++t) {
      scaled[t] = in[t] * gi;
    }
    run_twin(twin, 1, scaled, exp, 0, FRAMES);
    for (size_t t = 0; t < FRAMES; ++t) {
      exp[t] *= go;
    }
    run_proc(p, 1, in, out, 0, FRAMES, 100);
    unit_expect_identical(exp, out, FRAMES,
                          "mix 1 (clamped): twin(in * in_gain) * out_gain");
    sw_engine_free(twin);
    teardown(p);
  }

  /* Ramps: input and output gains reach their targets on frame SMOOTH - 1
     and stay there exactly. No engine, a constant input, so the output is
     the product of the two ramps. */
  {
    SwProcessor* const p = processor(1, 100, 20.0f, 20.0f);
    for (size_t t = 0; t < FRAMES; ++t) {
      scaled[t] = 0.25f;
    }
    sw_processor_set_input_gain_db(p, 6.0f);
    sw_processor_set_output_gain_db(p, 6.0f);
    run_proc(p, 1, scaled, out, 0, 3000, 64);
    const float level = (0.25f * gain_of(6.0f)) * gain_of(6.0f);
    EXPECT(out[0] > 0.25f && out[0] < 0.26f,
           "the gain ramp does not start near 0 dB: %g", (double)out[0]);
    EXPECT(out[SMOOTH - 2] < level, "the gain ramp ends early");
    bool rising = true;
    for (size_t t = 1; t < SMOOTH; ++t) {
      rising = rising && out[t] > out[t - 1U];
    }
    EXPECT(rising, "the gain ramp is not monotonic");
    bool exact = true;
    for (size_t t = SMOOTH - 1U; t < 3000; ++t) {
      exact = exact && out[t] == level;
    }
    EXPECT(exact, "after the gain ramp the level is not exactly %.9g "
           "(frame %d: %.9g)", (double)level, SMOOTH, (double)out[SMOOTH]);
    /* And back down: exactly 0.25 at the end. */
    sw_processor_set_input_gain_db(p, 0.0f);
    sw_processor_set_output_gain_db(p, 0.0f);
    run_proc(p, 1, scaled, out, 0, 3000, 7);
    exact = true;
    for (size_t t = SMOOTH - 1U; t < 3000; ++t) {
      exact = exact && out[t] == 0.25f;
    }
    EXPECT(exact && out[SMOOTH - 2] > 0.25f,
           "the gain ramp back to 0 dB is not exact or too short");
    teardown(p);
  }

  /* Mix ramp with an engine: linear from wet to dry over SMOOTH frames. */
  {
    SwProcessor* const p    = processor(1, 128, 20.0f, 20.0f);
    SwEngine* const    twin = unit_engine(model, 1, 512, 0.0f);
    EXPECT(sw_processor_offer(p, unit_engine(model, 1, 128, 0.0f), NULL),
           "offer");
    run_twin(twin, 1, in, exp, 0, FRAMES);
    run_proc(p, 1, in, out, 0, 2000, 128);
    sw_processor_set_mix(p, 0.0f);
    run_proc(p, 1, in, out, 2000, FRAMES, 128);
    float worst = 0.0f;
    for (size_t k = 0; k < SMOOTH; ++k) {
      const size_t t = 2000 + k;
      const float  m = 1.0f - (float)(k + 1U) / (float)SMOOTH;
      worst = fmaxf(worst, fabsf(out[t] - (in[t] + m * (exp[t] - in[t]))));
    }
    EXPECT(worst <= 1e-5f, "the mix ramp is off by %g", (double)worst);
    unit_expect_identical(in + 2000 + SMOOTH, out + 2000 + SMOOTH,
                          FRAMES - 2000 - SMOOTH, "after the mix ramp: dry");
    sw_engine_free(twin);
    teardown(p);
  }
  free(in);
  free(out);
  free(exp);
  free(scaled);
  sw_model_free(model);
}

/* Long ramps stay on their line: a ramp of a million frames steps no
   further than its ideal slope (plus a float's rounding) anywhere, the end
   included, and lands exactly on the target. Summing float steps drifts, and
   the last frame then jumps to the target. */
static void
test_long_ramp(void)
{
  const struct {
    double rate;
    float  ms;
    float  db;
  } cases[] = {{48000.0, 1000.0f, 6.0f},
               {96000.0, 1000.0f, -20.0f},
               {192000.0, 10000.0f, 6.0f}};
  enum { BLOCK = 4096 };
  float* const in  = unit_floats(BLOCK);
  float* const out = unit_floats(BLOCK);
  for (size_t t = 0; t < BLOCK; ++t) {
    in[t] = 1.0f;
  }
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
    SwProcessorConfig config = sw_processor_config_default();
    config.sample_rate       = cases[i].rate;
    config.smoothing_ms      = cases[i].ms;
    config.max_block         = BLOCK;
    SwProcessor* const p     = sw_processor_new(&config, NULL);
    EXPECT(p != NULL, "long ramp processor");
    if (!p) {
      continue;
    }
    const size_t frames =
      (size_t)lround(cases[i].rate * (double)cases[i].ms / 1000.0);
    const float  target = gain_of(cases[i].db);
    const double ideal  = fabs((double)target - 1.0) / (double)frames;
    sw_processor_set_output_gain_db(p, cases[i].db);
    float  prev  = 1.0f;
    double worst = 0.0;
    size_t at    = 0;
    bool   exact = true;
    for (size_t done = 0; done < frames + BLOCK; done += BLOCK) {
      const float* ins[1]  = {in};
      float*       outs[1] = {out};
      (void)sw_processor_process(p, ins, outs, BLOCK);
      for (size_t t = 0; t < BLOCK; ++t) {
        const double step = fabs((double)out[t] - (double)prev);
        if (step > worst) {
          worst = step;
          at    = done + t;
        }
        if (done + t + 1U >= frames) {
          exact = exact && out[t] == target;
        }
        prev = out[t];
      }
    }
    /* One float ulp near the target on top of the slope. */
    const double slack = 2.0 * (double)(nextafterf(target, INFINITY) - target);
    EXPECT(worst <= ideal * 1.01 + slack,
           "%g ms at %g Hz to %g dB: a step of %g at frame %zu of %zu, the "
           "ramp's slope is %g", (double)cases[i].ms, cases[i].rate,
           (double)cases[i].db, worst, at, frames, ideal);
    EXPECT(exact, "%g ms at %g Hz: the level after the ramp is not exactly "
           "%.9g", (double)cases[i].ms, cases[i].rate, (double)target);
    sw_processor_free(p);
  }
  free(in);
  free(out);
}

/* Knob positions map onto each model's own range. */
static void
test_knobs(void)
{
  const SwKnobSpec ka[1] = {{"drive", -2.0f, 6.0f, 1.0f}};
  const SwKnobSpec kb[2] = {{"gain", 0.0f, 10.0f, 3.0f},
                            {"tone", 100.0f, 200.0f, 150.0f}};
  SwModel* const   ma    = rnn_model(SW_LAYER_LSTM, 8, 91, 2, ka);
  SwModel* const   mb    = rnn_model(SW_LAYER_GRU, 8, 92, 3, kb);
  float* const     in    = unit_floats(FRAMES);
  float* const     out   = unit_floats(FRAMES);
  unit_fill_audio(in, FRAMES, 93);

  SwProcessor* const p  = processor(1, 128, 20.0f, 20.0f);
  SwEngine* const    ea = unit_engine(ma, 1, 128, 5.0f);
  EXPECT(sw_processor_offer(p, ea, NULL), "offer A");
  EXPECT(sw_engine_knob(ea, 0) == 1.0f,
         "a knob never set changed from its default: %g",
         (double)sw_engine_knob(ea, 0));

  EXPECT(sw_processor_set_knob(p, 0, 0.3f) == SW_SUCCESS, "set_knob 0");
  run_proc(p, 1, in, out, 0, 64, 64);
  const float want = -2.0f + 0.3f * (6.0f - -2.0f);
  EXPECT(fabsf(sw_engine_knob(ea, 0) - want) <= 1e-6f,
         "knob 0 at 0.3 of [-2, 6]: %g, expected %g",
         (double)sw_engine_knob(ea, 0), (double)want);
  sw_processor_set_knob(p, 0, 1.5f);
  run_proc(p, 1, in, out, 64, 128, 64);
  EXPECT(sw_engine_knob(ea, 0) == 6.0f, "position 1.5 not clamped to max: %g",
         (double)sw_engine_knob(ea, 0));
  sw_processor_set_knob(p, 0, -1.0f);
  run_proc(p, 1, in, out, 128, 192, 64);
  EXPECT(sw_engine_knob(ea, 0) == -2.0f, "position -1 not clamped to min: %g",
         (double)sw_engine_knob(ea, 0));
  EXPECT(sw_processor_set_knob(p, SW_PROCESSOR_MAX_KNOBS, 0.5f) ==
           SW_ERR_BAD_ARG,
         "knob index %u accepted", SW_PROCESSOR_MAX_KNOBS);
  EXPECT(sw_processor_set_knob(p, 0, NAN) == SW_ERR_BAD_ARG,
         "NaN position accepted");
  /* Knob 1 does not exist in A: inert, but remembered for B. */
  EXPECT(sw_processor_set_knob(p, 1, 0.25f) == SW_SUCCESS,
         "a knob the model lacks is an error");
  sw_processor_set_knob(p, 0, 0.75f);
  run_proc(p, 1, in, out, 192, 256, 64);
  EXPECT(sw_engine_knob(ea, 0) == -2.0f + 0.75f * 8.0f, "knob 0 at 0.75: %g",
         (double)sw_engine_knob(ea, 0));
  for (size_t t = 0; t < 256; ++t) {
    EXPECT(isfinite(out[t]), "non-finite output");
  }

  /* An offered engine takes the positions at once, on its own ranges. */
  SwEngine* const eb = unit_engine(mb, 1, 128, 5.0f);
  EXPECT(sw_processor_offer(p, eb, NULL), "offer B");
  EXPECT(sw_engine_knob(eb, 0) == 0.75f * 10.0f,
         "B's knob 0 at 0.75 of [0, 10]: %g", (double)sw_engine_knob(eb, 0));
  EXPECT(fabsf(sw_engine_knob(eb, 1) - (100.0f + 0.25f * 100.0f)) <= 1e-5f,
         "B's knob 1 at 0.25 of [100, 200]: %g", (double)sw_engine_knob(eb, 1));
  /* Mid-swap, a knob turn reaches both engines. */
  sw_processor_set_knob(p, 0, 0.5f);
  run_proc(p, 1, in, out, 256, 320, 64);
  EXPECT(sw_processor_swapping(p), "the swap ended early");
  EXPECT(sw_engine_knob(ea, 0) == 2.0f && sw_engine_knob(eb, 0) == 5.0f,
         "mid-swap knob 0 at 0.5: A %g (expected 2), B %g (expected 5)",
         (double)sw_engine_knob(ea, 0), (double)sw_engine_knob(eb, 0));

  /* A knob turned while bypassed reaches the engine when playing resumes,
     and an engine offered while bypassed gets it at once. */
  run_proc(p, 1, in, out, 0, 2000, 100);
  SwEngine* e = NULL;
  EXPECT(sw_processor_retired(p, &e, NULL) && e == ea, "A retired");
  sw_processor_set_enabled(p, false);
  run_proc(p, 1, in, out, 0, 2000, 100);
  sw_processor_set_knob(p, 0, 0.1f);
  run_proc(p, 1, in, out, 0, 100, 100);
  sw_processor_set_enabled(p, true);
  run_proc(p, 1, in, out, 100, 200, 100);
  EXPECT(fabsf(sw_engine_knob(eb, 0) - 1.0f) <= 1e-6f,
         "a knob turned while bypassed: B's knob 0 %g, expected 1",
         (double)sw_engine_knob(eb, 0));
  sw_engine_reset(ea, -1);
  EXPECT(sw_processor_offer(p, ea, NULL), "offer A again");
  EXPECT(fabsf(sw_engine_knob(ea, 0) - (-2.0f + 0.1f * 8.0f)) <= 1e-6f,
         "A offered again: knob 0 %g", (double)sw_engine_knob(ea, 0));
  teardown(p);
  free(in);
  free(out);
  sw_model_free(ma);
  sw_model_free(mb);
}

/* Non-finite input never makes non-finite output, and the engine recovers. */
static void
test_nonfinite(void)
{
  SwModel* const ma  = rnn_model(SW_LAYER_LSTM, 8, 101, 1, NULL);
  SwModel* const mb  = rnn_model(SW_LAYER_GRU, 8, 102, 1, NULL);
  float* const   in  = unit_floats(2 * FRAMES);
  float* const   out = unit_floats(2 * FRAMES);
  unit_fill_audio(in, FRAMES, 103);
  unit_fill_audio(in + FRAMES, FRAMES, 104);
  const float bad[] = {NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < 60; ++i) {
    in[(i * 97U) % FRAMES]                  = bad[i % 3U];
    in[FRAMES + (i * 131U + 5U) % FRAMES]   = bad[(i + 1U) % 3U];
  }
  for (int with_engine = 0; with_engine < 2; ++with_engine) {
    SwProcessor* const p = processor(2, 128, 20.0f, 5.0f);
    if (with_engine) {
      EXPECT(sw_processor_offer(p, unit_engine(ma, 2, 128, 0.0f), NULL),
             "offer A");
    }
    sw_processor_set_mix(p, 0.6f);
    sw_processor_set_output_gain_db(p, 3.0f);
    run_proc(p, 2, in, out, 0, 2000, 100);
    if (with_engine) {
      EXPECT(sw_processor_offer(p, unit_engine(mb, 2, 128, 0.0f), NULL),
             "offer B");
    }
    sw_processor_set_enabled(p, false);
    run_proc(p, 2, in, out, 2000, 3000, 100);
    sw_processor_set_enabled(p, true);
    sw_processor_set_mix(p, 1.0f);
    /* In place for the rest. */
    float* const copy = unit_floats(2 * FRAMES);
    memcpy(copy, in, 2 * FRAMES * sizeof(float));
    run_proc(p, 2, copy, copy, 3000, FRAMES, 61);
    memcpy(out + 3000, copy + 3000, (FRAMES - 3000) * sizeof(float));
    memcpy(out + FRAMES + 3000, copy + FRAMES + 3000,
           (FRAMES - 3000) * sizeof(float));
    free(copy);
    size_t bad_out = 0, zeros = 0;
    for (size_t i = 0; i < 2 * FRAMES; ++i) {
      bad_out += !isfinite(out[i]);
      zeros += out[i] == 0.0f;
    }
    EXPECT(bad_out == 0, "%s: %zu non-finite output samples",
           with_engine ? "engine" : "no engine", bad_out);
    EXPECT(zeros < 400, "%s: %zu zero outputs: the signal did not recover",
           with_engine ? "engine" : "no engine", zeros);
    teardown(p);
  }
  free(in);
  free(out);
  sw_model_free(ma);
  sw_model_free(mb);
}

/* Reset and latency. */
static void
test_reset_latency(void)
{
  SwModel* const model = rnn_model(SW_LAYER_LSTM, 8, 111, 1, NULL);
  float* const   in    = unit_floats(FRAMES);
  float* const   out   = unit_floats(FRAMES);
  float* const   exp   = unit_floats(FRAMES);
  unit_fill_audio(in, FRAMES, 113);

  SwProcessor* const p = processor(1, 128, 20.0f, 20.0f);
  EXPECT(sw_processor_offer(p, unit_engine(model, 1, 128, 0.0f), NULL),
         "offer");
  run_proc(p, 1, in, out, 0, 2000, 100);
  sw_processor_reset(p);
  SwEngine* const twin = unit_engine(model, 1, 512, 0.0f);
  run_twin(twin, 1, in, exp, 2000, FRAMES);
  run_proc(p, 1, in, out, 2000, FRAMES, 100);
  unit_expect_identical(exp + 2000, out + 2000, FRAMES - 2000,
                        "after sw_processor_reset: a fresh engine");
  sw_engine_free(twin);

  /* The current engine's latency. */
  SwEngine* e = NULL;
  EXPECT(sw_processor_release(p, &e, NULL), "release");
  sw_engine_free(e);
  SwEngineConfig config = sw_engine_config_default();
  config.streams        = 1;
  config.max_block      = 64;
  config.backend        = SW_BACKEND_CPU;
  config.streaming      = SW_STREAMING_PIPELINED;
  SwError         err   = {SW_SUCCESS, ""};
  SwEngine* const piped = sw_engine_new(model, &config, &err);
  EXPECT(piped != NULL, "pipelined engine: %s", err.message);
  if (piped) {
    EXPECT(sw_processor_offer(p, piped, NULL), "offer pipelined");
    EXPECT(sw_processor_latency(p) == sw_engine_latency(piped) &&
             sw_processor_latency(p) == 64,
           "latency %u, engine's %u", sw_processor_latency(p),
           sw_engine_latency(piped));
  }
  teardown(p);
  free(in);
  free(out);
  free(exp);
  sw_model_free(model);
}

int
main(void)
{
  test_config();
  test_no_engine();
  test_twin();
  test_stereo();
  test_swap();
  test_cut();
  test_click_free();
  test_bypass();
  test_mix_gains();
  test_long_ramp();
  test_knobs();
  test_nonfinite();
  test_reset_latency();
  return unit_finish("processor");
}
