/*
  The shipped presets: each loads, plays its held-out clip (tests/data/presets/
  <id>.heldout.flac: channel 1 the input, channel 2 the reference effect's
  output) through an SwProcessor set as the preset says, and stays within the
  error-to-signal ratio recorded in its model; and a switch between any two
  presets on a sine steps no further than the two presets' own outputs do.

  usage: test_presets PRESETS_DIR HELD_OUT_DIR
*/

#define _DEFAULT_SOURCE /* M_PI */

#include "preset.h"

#include <statewave/statewave.h>

#include <sndfile.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 256U
#define RATE 48000.0

static int failures = 0;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "FAIL: ");                                               \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

typedef struct {
  SwModel*  model;
  SwEngine* engine;
} Loaded;

static bool
load(const Preset* preset, double rate, float knob_smoothing_ms, Loaded* out)
{
  SwError err;
  out->model = sw_model_load(preset->model_path, &err);
  if (!out->model) {
    fprintf(stderr, "FAIL: %s: %s\n", preset->id, err.message);
    ++failures;
    return false;
  }
  SwEngineConfig config    = sw_engine_config_default();
  config.sample_rate       = rate;
  config.max_block         = BLOCK;
  config.backend           = SW_BACKEND_CPU;
  config.knob_smoothing_ms = knob_smoothing_ms;
  out->engine              = sw_engine_new(out->model, &config, &err);
  if (!out->engine) {
    fprintf(stderr, "FAIL: %s: %s\n", preset->id, err.message);
    ++failures;
    sw_model_free(out->model);
    return false;
  }
  return true;
}

static void
unload(Loaded* loaded)
{
  sw_engine_free(loaded->engine);
  sw_model_free(loaded->model);
}

static SwProcessor*
processor_for(double rate)
{
  SwProcessorConfig config = sw_processor_config_default();
  config.sample_rate       = rate;
  config.max_block         = BLOCK;
  SwError      err;
  SwProcessor* p = sw_processor_new(&config, &err);
  if (!p) {
    fprintf(stderr, "processor: %s\n", err.message);
    exit(1);
  }
  return p;
}

static void
apply_settings(SwProcessor* p, const Preset* preset)
{
  sw_processor_set_input_gain_db(p, preset->input_gain_db);
  sw_processor_set_output_gain_db(p, preset->output_gain_db);
  sw_processor_set_mix(p, preset->mix);
  for (uint32_t k = 0; k < preset->num_knobs; ++k) {
    sw_processor_set_knob(p, k, preset->knobs[k]);
  }
}

static void
release_all(SwProcessor* p)
{
  SwEngine* engine;
  void*     tag;
  while (sw_processor_release(p, &engine, &tag)) {
    unload((Loaded*)tag);
    free(tag);
  }
}

/* The held-out clip through the preset: ESR against the target. */
static void
check_held_out(const Preset* preset, const char* held_out_dir)
{
  char path[4200];
  snprintf(path, sizeof(path), "%s/%s.heldout.flac", held_out_dir, preset->id);
  SF_INFO  info = {0};
  SNDFILE* file = sf_open(path, SFM_READ, &info);
  CHECK(file && info.channels == 2, "%s: no 2-channel held-out clip %s",
        preset->id, path);
  if (!file || info.channels != 2) {
    return;
  }
  const size_t frames = (size_t)info.frames;
  float* const both   = (float*)malloc(frames * 2U * sizeof(float));
  float* const in     = (float*)malloc(frames * sizeof(float));
  float* const out    = (float*)malloc(frames * sizeof(float));
  sf_readf_float(file, both, (sf_count_t)frames);
  sf_close(file);
  for (size_t t = 0; t < frames; ++t) {
    in[t] = both[2U * t];
  }

  Loaded* const loaded = (Loaded*)calloc(1, sizeof(Loaded));
  /* Knobs at their positions from the first frame, as the model was
     trained and its ESR measured. */
  if (!load(preset, info.samplerate, 0.0f, loaded)) {
    free(loaded);
    free(both);
    free(in);
    free(out);
    return;
  }
  SwProcessor* const p = processor_for(info.samplerate);
  apply_settings(p, preset);
  sw_processor_offer(p, loaded->engine, loaded);
  for (size_t done = 0; done < frames; done += BLOCK) {
    const uint32_t n   = (uint32_t)(frames - done < BLOCK ? frames - done : BLOCK);
    const float*   src = in + done;
    float*         dst = out + done;
    sw_processor_process(p, &src, &dst, n);
  }
  double error = 0.0, energy = 0.0;
  for (size_t t = 0; t < frames; ++t) {
    const double target = both[2U * t + 1U];
    const double miss   = (double)out[t] - target;
    error += miss * miss;
    energy += target * target;
  }
  const double esr      = error / energy;
  const char*  recorded = sw_model_meta_get(loaded->model, "esr");
  const double expected = recorded ? strtod(recorded, NULL) : (double)NAN;
  printf("# %-16s held-out ESR %.6f (recorded %.6f) over %zu frames at %d Hz\n",
         preset->id, esr, expected, frames, info.samplerate);
  CHECK(recorded != NULL, "%s: the model records no ESR", preset->id);
  CHECK(esr <= expected * 1.02 + 1e-6, "%s: ESR %.6f exceeds the recorded %.6f",
        preset->id, esr, expected);
  CHECK(esr < 0.25, "%s: ESR %.4f: the model does not imitate its effect",
        preset->id, esr);
  release_all(p);
  sw_processor_free(p);
  free(both);
  free(in);
  free(out);
}

static float
sine(uint64_t t)
{
  return (float)(0.5 * sin(2.0 * M_PI * 220.0 * (double)t / RATE));
}

/* Largest sample-to-sample step of `preset` alone on the sine, after the
   first 50 ms (the state settling from rest). */
static float
own_step(const Preset* preset)
{
  Loaded* const loaded = (Loaded*)calloc(1, sizeof(Loaded));
  if (!load(preset, RATE, 20.0f, loaded)) {
    free(loaded);
    return NAN;
  }
  SwProcessor* const p = processor_for(RATE);
  apply_settings(p, preset);
  sw_processor_offer(p, loaded->engine, loaded);
  float    step = 0.0f, last = 0.0f;
  uint64_t t    = 0;
  for (unsigned b = 0; b < 60; ++b) {
    float x[BLOCK], y[BLOCK];
    for (uint32_t i = 0; i < BLOCK; ++i) {
      x[i] = sine(t + i);
    }
    const float* src = x;
    float*       dst = y;
    sw_processor_process(p, &src, &dst, BLOCK);
    for (uint32_t i = 0; i < BLOCK; ++i, ++t) {
      if (t > 2400) {
        step = fmaxf(step, fabsf(y[i] - last));
      }
      last = y[i];
    }
  }
  release_all(p);
  sw_processor_free(p);
  return step;
}

/* Play `a`, switch to `b` (its engine and its settings) mid-block, and
   return the largest step from the switch to 60 ms after it. */
static float
switch_step(const Preset* a, const Preset* b)
{
  Loaded* const la = (Loaded*)calloc(1, sizeof(Loaded));
  Loaded* const lb = (Loaded*)calloc(1, sizeof(Loaded));
  if (!load(a, RATE, 20.0f, la) || !load(b, RATE, 20.0f, lb)) {
    exit(1);
  }
  SwProcessor* const p = processor_for(RATE);
  apply_settings(p, a);
  sw_processor_offer(p, la->engine, la);
  float    step = 0.0f, last = 0.0f;
  uint64_t t    = 0;
  for (unsigned blk = 0; blk < 40; ++blk) {
    float x[BLOCK], y[BLOCK];
    for (uint32_t i = 0; i < BLOCK; ++i) {
      x[i] = sine(t + i);
    }
    if (blk == 20) {
      apply_settings(p, b);
      CHECK(sw_processor_offer(p, lb->engine, lb), "offer %s", b->id);
    }
    const float* src = x;
    float*       dst = y;
    sw_processor_process(p, &src, &dst, BLOCK);
    for (uint32_t i = 0; i < BLOCK; ++i, ++t) {
      if (blk >= 20 && blk < 32) {
        step = fmaxf(step, fabsf(y[i] - last));
      }
      last = y[i];
    }
    SwEngine* engine;
    void*     tag;
    if (sw_processor_retired(p, &engine, &tag)) {
      unload((Loaded*)tag);
      free(tag);
    }
  }
  release_all(p);
  sw_processor_free(p);
  return step;
}

int
main(int argc, char** argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: test_presets PRESETS_DIR HELD_OUT_DIR\n");
    return 2;
  }
  Preset* presets = NULL;
  size_t  count   = 0;
  char    err[1024];
  if (!preset_list(argv[1], &presets, &count, err, sizeof(err)) || err[0]) {
    fprintf(stderr, "FAIL: %s\n", err);
    return 1;
  }
  CHECK(count >= 5, "%zu presets, expected at least 5", count);
  for (size_t i = 0; i < count; ++i) {
    check_held_out(&presets[i], argv[2]);
  }

  float steps[64];
  for (size_t i = 0; i < count && i < 64; ++i) {
    steps[i] = own_step(&presets[i]);
  }
  for (size_t i = 0; i < count && i < 64; ++i) {
    for (size_t j = 0; j < count && j < 64; ++j) {
      if (i == j) {
        continue;
      }
      const float step  = switch_step(&presets[i], &presets[j]);
      const float bound = fmaxf(steps[i], steps[j]);
      printf("# %-16s -> %-16s largest step %.4f (their own %.4f, %.4f)\n",
             presets[i].id, presets[j].id, (double)step, (double)steps[i],
             (double)steps[j]);
      CHECK(step <= bound, "%s -> %s: a step of %.4f, more than either "
            "preset's own %.4f: a click", presets[i].id, presets[j].id,
            (double)step, (double)bound);
    }
  }
  free(presets);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  puts("ok");
  return 0;
}
