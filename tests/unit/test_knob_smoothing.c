/*
  Knob smoothing. The model is a single linear Dense layer with kernel
  [0, 1] over [audio, knob], so its output is exactly the knob value the
  engine fed it on each sample. After sw_engine_set_knob the value ramps
  linearly from the old to the new value over
  knob_smoothing_ms * sample_rate / 1000 samples and then stays exactly at
  the target; with smoothing 0 it jumps at once; targets are clamped to the
  knob's range; the default value is where the knob starts.
*/

#include "unit_support.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_FRAMES = 4000 };

static const float      knob_kernel[2] = {0.0f, 1.0f};
static const float      knob_bias[1]   = {0.0f};
static const SwKnobSpec level_knob     = {"level", 0.0f, 2.0f, 0.5f};

/* Slack on the ideal ramp, as a fraction of its span: a ramp computed in
   float, e.g. by adding a step per sample, drifts by rounding (inaudibly);
   a wrong slope, length or start is far outside this. */
static const float ramp_tolerance_fraction = 1e-4f;
static const float ramp_tolerance_floor    = 1e-6f;

static SwModel*
build_knob_model(void)
{
  SwLayerSpec dense = sw_layer_spec(SW_LAYER_DENSE, 1);
  dense.activation  = SW_ACT_LINEAR;
  dense.kernel      = knob_kernel;
  dense.bias        = knob_bias;
  SwModelSpec spec  = unit_spec(2, 1, &dense);
  spec.num_knobs    = 1;
  spec.knobs        = &level_knob;
  return unit_build(&spec, 1);
}

static SwEngine*
knob_engine(const SwModel* const model, const double sample_rate,
            const float smoothing_ms, const uint32_t streams)
{
  SwEngineConfig config    = sw_engine_config_default();
  config.sample_rate       = sample_rate;
  config.streams           = streams;
  config.max_block         = 128;
  config.backend           = SW_BACKEND_CPU;
  config.knob_smoothing_ms = smoothing_ms;
  SwError         err      = {SW_SUCCESS, ""};
  SwEngine* const engine   = sw_engine_new(model, &config, &err);
  if (!engine) {
    unit_abort("sw_engine_new: %s", err.message);
  }
  return engine;
}

/* Process `frames` samples of noise input (the kernel ignores it) in calls
   of `block` frames; the output of stream 0 goes to `out`. */
static void
run(SwEngine* const engine, float* const out, const size_t frames,
    const uint32_t block)
{
  static float noise[MAX_FRAMES];
  static float second[MAX_FRAMES];
  unit_fill_audio(noise, MAX_FRAMES, 3);
  for (size_t done = 0; done < frames;) {
    const size_t n = frames - done < block ? frames - done : block;
    const float* in[2]   = {noise + done, noise + done};
    float*       outs[2] = {out + done, second + done};
    const SwStatus status = sw_engine_process(engine, in, outs, (uint32_t)n);
    EXPECT(status == SW_SUCCESS, "process: %s", sw_strerror(status));
    done += n;
  }
}

/* The ramp from `from` to `to` over `length` samples, starting at out[0]. */
static void
expect_ramp(const float* const out, const size_t frames, const float from,
            const float to, const size_t length, const char* const what)
{
  const float step           = (to - from) / (float)length;
  const float ramp_tolerance =
    ramp_tolerance_fraction * fabsf(to - from) + ramp_tolerance_floor;
  size_t bad = 0;
  for (size_t k = 0; k < frames && bad < 5; ++k) {
    if (k + 1U >= length) {
      /* At the end of the ramp the value is the target, exactly. */
      if (k >= length && out[k] != to) {
        unit_fail(__FILE__, __LINE__, "settled", "%s: sample %zu is %.9g, "
                  "expected exactly %.9g after the %zu-sample ramp",
                  what, k, (double)out[k], (double)to, length);
        ++bad;
      }
      continue;
    }
    /* Sample k lies between the k-th and (k+1)-th ramp points (either
       convention: the first sample may already have taken one step). */
    const float a  = from + step * (float)k;
    const float b  = from + step * (float)(k + 1U);
    const float lo = (a < b ? a : b) - ramp_tolerance;
    const float hi = (a < b ? b : a) + ramp_tolerance;
    if (!(out[k] >= lo && out[k] <= hi)) {
      unit_fail(__FILE__, __LINE__, "on the ramp",
                "%s: sample %zu is %.9g, expected within [%.9g, %.9g] on a "
                "linear %zu-sample ramp from %g to %g",
                what, k, (double)out[k], (double)lo, (double)hi, length,
                (double)from, (double)to);
      ++bad;
    }
  }
  /* The ramp takes its time: one sample in, it is not yet at the target. */
  EXPECT(length < 2 || out[0] != to,
         "%s: the first sample is already at the target %g", what,
         (double)to);
}

static void
check_default_and_ramps(void)
{
  SwModel* const  model  = build_knob_model();
  SwEngine* const engine = knob_engine(model, 48000.0, 10.0f, 2);
  static float    out[MAX_FRAMES];

  EXPECT(sw_engine_knob(engine, 0) == 0.5f, "initial knob %g, expected 0.5",
         (double)sw_engine_knob(engine, 0));
  run(engine, out, 300, 64);
  for (size_t k = 0; k < 300; ++k) {
    if (out[k] != 0.5f) {
      EXPECT(out[k] == 0.5f, "sample %zu before any set_knob is %.9g, "
             "expected the default 0.5", k, (double)out[k]);
      break;
    }
  }

  /* 10 ms at 48 kHz: 480 samples, crossing calls of 100 frames. */
  EXPECT(sw_engine_set_knob(engine, 0, 1.5f) == SW_SUCCESS, "set_knob 1.5");
  EXPECT(sw_engine_knob(engine, 0) == 1.5f,
         "sw_engine_knob right after set is %g, expected the target 1.5",
         (double)sw_engine_knob(engine, 0));
  run(engine, out, 1000, 100);
  expect_ramp(out, 1000, 0.5f, 1.5f, 480, "ramp up 0.5 -> 1.5 over 480");

  EXPECT(sw_engine_set_knob(engine, 0, 0.0f) == SW_SUCCESS, "set_knob 0");
  run(engine, out, 700, 33);
  expect_ramp(out, 700, 1.5f, 0.0f, 480, "ramp down 1.5 -> 0 over 480");

  sw_engine_free(engine);

  /* 20 ms at 44.1 kHz: 882 samples. */
  SwEngine* const slow = knob_engine(model, 44100.0, 20.0f, 1);
  EXPECT(sw_engine_set_knob(slow, 0, 2.0f) == SW_SUCCESS, "set_knob 2");
  run(slow, out, 2000, 512);
  expect_ramp(out, 2000, 0.5f, 2.0f, 882, "44.1 kHz, 20 ms: 882 samples");
  sw_engine_free(slow);

  /* sample_rate 0 means 48 kHz. */
  SwEngine* const default_rate = knob_engine(model, 0.0, 5.0f, 1);
  EXPECT(sw_engine_set_knob(default_rate, 0, 0.0f) == SW_SUCCESS, "set 0");
  run(default_rate, out, 600, 7);
  expect_ramp(out, 600, 0.5f, 0.0f, 240, "rate 0 (48 kHz), 5 ms: 240");
  sw_engine_free(default_rate);

  sw_model_free(model);
}

static void
check_no_smoothing(void)
{
  SwModel* const  model  = build_knob_model();
  SwEngine* const engine = knob_engine(model, 48000.0, 0.0f, 1);
  static float    out[MAX_FRAMES];

  EXPECT(sw_engine_set_knob(engine, 0, 1.25f) == SW_SUCCESS, "set 1.25");
  run(engine, out, 50, 16);
  EXPECT(out[0] == 1.25f && out[49] == 1.25f,
         "smoothing 0: expected 1.25 from the first sample, got %.9g then "
         "%.9g", (double)out[0], (double)out[49]);
  sw_engine_free(engine);
  sw_model_free(model);
}

static void
check_clamping_and_bad_index(void)
{
  SwModel* const  model  = build_knob_model();
  SwEngine* const engine = knob_engine(model, 48000.0, 1.0f, 1);
  static float    out[MAX_FRAMES];

  EXPECT(sw_engine_set_knob(engine, 0, 5.0f) == SW_SUCCESS,
         "set_knob above the range must clamp, not fail");
  EXPECT(sw_engine_knob(engine, 0) == 2.0f, "target %g, expected max 2",
         (double)sw_engine_knob(engine, 0));
  run(engine, out, 200, 64);
  EXPECT(out[199] == 2.0f, "settled at %.9g, expected the max 2",
         (double)out[199]);
  for (size_t k = 0; k < 200; ++k) {
    if (out[k] > 2.0f) {
      EXPECT(out[k] <= 2.0f, "sample %zu is %.9g, above the knob's max", k,
             (double)out[k]);
      break;
    }
  }

  EXPECT(sw_engine_set_knob(engine, 0, -3.0f) == SW_SUCCESS,
         "set_knob below the range must clamp, not fail");
  EXPECT(sw_engine_knob(engine, 0) == 0.0f, "target %g, expected min 0",
         (double)sw_engine_knob(engine, 0));
  run(engine, out, 200, 64);
  EXPECT(out[199] == 0.0f, "settled at %.9g, expected the min 0",
         (double)out[199]);

  EXPECT(sw_engine_set_knob(engine, 1, 0.5f) == SW_ERR_BAD_ARG,
         "set_knob(1) on a model with one knob must be SW_ERR_BAD_ARG");
  EXPECT(sw_engine_set_knob(engine, UINT32_MAX, 0.5f) == SW_ERR_BAD_ARG,
         "set_knob(UINT32_MAX) must be SW_ERR_BAD_ARG");
  EXPECT(isnan(sw_engine_knob(engine, 1)), "knob(1) is %g, expected NaN",
         (double)sw_engine_knob(engine, 1));
  EXPECT(sw_engine_knob(engine, 0) == 0.0f,
         "a refused set_knob changed knob 0 to %g",
         (double)sw_engine_knob(engine, 0));

  /* A NaN target is refused or replaced; it never reaches the model. */
  const SwStatus nan_status = sw_engine_set_knob(engine, 0, NAN);
  EXPECT(nan_status == SW_ERR_BAD_ARG || nan_status == SW_SUCCESS,
         "set_knob(NaN): %s", sw_strerror(nan_status));
  EXPECT(isfinite(sw_engine_knob(engine, 0)), "knob after set_knob(NaN): %g",
         (double)sw_engine_knob(engine, 0));
  run(engine, out, 200, 64);
  for (size_t k = 0; k < 200; ++k) {
    if (!isfinite(out[k])) {
      EXPECT(isfinite(out[k]), "sample %zu after set_knob(NaN) is %g", k,
             (double)out[k]);
      break;
    }
  }

  sw_engine_free(engine);
  sw_model_free(model);
}

/* A new target during a ramp continues from where the value is, with no
   jump: no step is larger than a full-range ramp's step. */
static void
check_retarget_mid_ramp(void)
{
  SwModel* const  model  = build_knob_model();
  SwEngine* const engine = knob_engine(model, 48000.0, 10.0f, 1);
  static float    out[MAX_FRAMES];

  EXPECT(sw_engine_set_knob(engine, 0, 2.0f) == SW_SUCCESS, "set 2");
  run(engine, out, 100, 100);
  const float reached = out[99];
  EXPECT(sw_engine_set_knob(engine, 0, 0.25f) == SW_SUCCESS, "set 0.25");
  run(engine, out + 100, 900, 64);

  const float max_step = 2.0f / 480.0f * 1.01f;
  float       previous = reached;
  for (size_t k = 100; k < 1000; ++k) {
    if (fabsf(out[k] - previous) > max_step) {
      EXPECT(fabsf(out[k] - previous) <= max_step,
             "sample %zu jumps from %.9g to %.9g after a mid-ramp retarget",
             k, (double)previous, (double)out[k]);
      break;
    }
    previous = out[k];
  }
  EXPECT(out[100 + 480] == 0.25f && out[999] == 0.25f,
         "after a retarget the value should settle at 0.25 within 480 "
         "samples: got %.9g at +480 and %.9g at the end",
         (double)out[580], (double)out[999]);
  sw_engine_free(engine);
  sw_model_free(model);
}

/* Every stream sees the same knob; process_frames takes knob columns as
   given and ignores set_knob. */
static void
check_streams_and_frames(void)
{
  SwModel* const  model  = build_knob_model();
  SwEngine* const engine = knob_engine(model, 48000.0, 2.0f, 2);

  float input[2][256];
  float output[2][256];
  unit_fill_audio(input[0], 256, 1);
  unit_fill_audio(input[1], 256, 2);
  const float* in[2]  = {input[0], input[1]};
  float*       out[2] = {output[0], output[1]};
  EXPECT(sw_engine_set_knob(engine, 0, 1.75f) == SW_SUCCESS, "set 1.75");
  EXPECT(sw_engine_process(engine, in, out, 256) == SW_SUCCESS, "process");
  unit_expect_identical(output[0], output[1], 256,
                        "both streams see the same smoothed knob");

  float frames[2 * 64 * 2];
  float frames_out[2 * 64];
  for (size_t s = 0; s < 2; ++s) {
    for (size_t t = 0; t < 64; ++t) {
      frames[(s * 64 + t) * 2]     = input[s][t];
      frames[(s * 64 + t) * 2 + 1] = 0.3f + 0.01f * (float)t;
    }
  }
  EXPECT(sw_engine_process_frames(engine, frames, frames_out, 64) ==
           SW_SUCCESS,
         "process_frames");
  for (size_t s = 0; s < 2; ++s) {
    for (size_t t = 0; t < 64; ++t) {
      const float expected = frames[(s * 64 + t) * 2 + 1];
      if (frames_out[s * 64 + t] != expected) {
        EXPECT(frames_out[s * 64 + t] == expected,
               "process_frames stream %zu frame %zu: %.9g, expected the "
               "knob column as given, %.9g", s, t,
               (double)frames_out[s * 64 + t], (double)expected);
        break;
      }
    }
  }
  sw_engine_free(engine);
  sw_model_free(model);
}

int
main(void)
{
  check_default_and_ramps();
  check_no_smoothing();
  check_clamping_and_bad_index();
  check_retarget_mid_ramp();
  check_streams_and_frames();
  return unit_finish("knob_smoothing");
}
