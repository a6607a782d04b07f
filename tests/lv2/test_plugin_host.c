/*
  The plugin in a C host (lilv): loads every model in ../shared/models with
  patch:Set through the worker, crossfades without a click, resets on
  transport start, stop and jumps (and not otherwise), keeps the running
  model when a file is bad, saves and restores its model into fresh
  instances (also after the session folder moved), plays exactly what the
  engine computes, and never allocates, locks or opens a file in run().

  usage: test_plugin_host DEFAULT_MODEL SHARED_MODELS_DIR MODEL_B MODEL_C
  (LV2_PATH must hold the statewave.lv2 bundle; SHARED_MODELS_DIR may be
  missing; MODEL_B and MODEL_C are two other mono models.)
*/

#define _GNU_SOURCE

#include "lilv_host.h"
#include "rt_interposer.h"

#include <statewave/statewave.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RATE 48000.0
#define BLOCK HOST_MAX_BLOCK
#define FADE_FRAMES 960U /* 20 ms at 48 kHz */

static int failures = 0;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                     \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* The test signal: a 220 Hz (left) / 330 Hz (right) sine at -6 dBFS, as a
   function of the absolute frame so any block can be made. */
static void
signal_block(const uint64_t start, const uint32_t frames, float* const left,
             float* const right)
{
  for (uint32_t t = 0; t < frames; ++t) {
    const double time = (double)(start + t) / RATE;
    left[t]           = (float)(0.5 * sin(2.0 * M_PI * 220.0 * time));
    if (right) {
      right[t] = (float)(0.5 * sin(2.0 * M_PI * 330.0 * time));
    }
  }
}

/* The engine the plugin makes for `path`: same streams, block, knobs at the
   ports' 0.5, warmed the same way; then reset, as after a transport jump. */
typedef struct {
  SwModel*  model;
  SwEngine* engine;
} Reference;

static bool
reference_new(const char* const path, const uint32_t channels,
              Reference* const ref)
{
  SwError err;
  ref->model = sw_model_load(path, &err);
  if (!ref->model) {
    ref->engine = NULL;
    return false;
  }
  SwEngineConfig config = sw_engine_config_default();
  config.sample_rate    = RATE;
  config.streams        = channels;
  config.max_block      = BLOCK;
  config.backend        = SW_BACKEND_CPU;
  ref->engine           = sw_engine_new(ref->model, &config, &err);
  if (!ref->engine) {
    fprintf(stderr, "reference engine for %s: %s\n", path, err.message);
    sw_model_free(ref->model);
    return false;
  }
  for (uint32_t k = 0; k < SW_LV2_KNOBS; ++k) {
    SwKnobSpec spec;
    if (sw_model_knob(ref->model, k, &spec) == SW_SUCCESS) {
      sw_engine_set_knob(ref->engine, k, spec.min + 0.5f * (spec.max - spec.min));
    }
  }
  static float zeros[2][BLOCK];
  float*       rows[2] = {zeros[0], zeros[1]};
  for (uint32_t done = 0; done < 2400U; done += BLOCK) {
    memset(zeros, 0, sizeof(zeros));
    sw_engine_process(ref->engine, (const float* const*)rows, rows, BLOCK);
  }
  sw_engine_reset(ref->engine, -1);
  return true;
}

static void
reference_free(Reference* const ref)
{
  sw_engine_free(ref->engine);
  sw_model_free(ref->model);
}

/* The running plugin with its absolute frame counter. */
typedef struct {
  HostPlugin* plugin;
  uint64_t    frame;
  int64_t     transport; /* the host transport's frame minus `frame` */
  float       in[2][BLOCK];
  float       out[2][BLOCK];
} Session;

static void
session_run(Session* const s)
{
  signal_block(s->frame, BLOCK, s->in[0], s->in[1]);
  const float* in[2]  = {s->in[0], s->in[1]};
  float*       out[2] = {s->out[0], s->out[1]};
  host_run(s->plugin, in, out, BLOCK);
  s->frame += BLOCK;
}

static float
max_step(const float* const x, const size_t n, float* const last, bool* const have)
{
  float worst = 0.0f;
  for (size_t t = 0; t < n; ++t) {
    if (*have) {
      worst = fmaxf(worst, fabsf(x[t] - *last));
    }
    *last = x[t];
    *have = true;
  }
  return worst;
}

/* Jump the transport at `offset` of the next block: the state resets there.
   Then play `blocks` blocks and compare with `ref`, reset at the same frame
   (largest difference returned). */
static float
jump_and_compare(Session* const s, Reference* const ref, const uint32_t offset,
                 const unsigned blocks)
{
  s->transport += 480000;
  host_send_position(s->plugin, offset, 1.0f,
                     (int64_t)(s->frame + offset) + s->transport);
  float worst = 0.0f;
  for (unsigned b = 0; b < blocks; ++b) {
    session_run(s);
    const uint32_t from = b == 0 ? offset : 0U;
    if (b == 0) {
      sw_engine_reset(ref->engine, -1);
    }
    static float expect[2][BLOCK];
    const float* in[2]  = {s->in[0] + from, s->in[1] + from};
    float*       out[2] = {expect[0], expect[1]};
    sw_engine_process(ref->engine, in, out, BLOCK - from);
    for (uint32_t c = 0; c < s->plugin->channels; ++c) {
      for (uint32_t t = 0; t < BLOCK - from; ++t) {
        worst = fmaxf(worst, fabsf(expect[c][t] - s->out[c][from + t]));
      }
    }
  }
  return worst;
}

/* The default model plays exactly what the engine computes (mono and
   stereo, channels independent), and a transport that keeps time does not
   reset the state while a start, a stop or a jump does. */
static void
test_default_and_transport(HostWorld* const world, const char* const default_model,
                           const char* const uri, const uint32_t channels)
{
  Session s;
  memset(&s, 0, sizeof(s));
  s.plugin = host_plugin_new(world, uri, true);
  CHECK(s.plugin, "instantiate %s", uri);
  if (!s.plugin) {
    return;
  }
  Reference ref;
  CHECK(reference_new(default_model, channels, &ref), "reference %s", default_model);

  /* A rolling transport from frame 0, reported every block, consistently. */
  float worst = 0.0f;
  for (unsigned b = 0; b < 40; ++b) {
    host_send_position(s.plugin, 0, 1.0f, (int64_t)s.frame + s.transport);
    session_run(&s);
    static float expect[2][BLOCK];
    const float* in[2]  = {s.in[0], s.in[1]};
    float*       out[2] = {expect[0], expect[1]};
    sw_engine_process(ref.engine, in, out, BLOCK);
    for (uint32_t c = 0; c < channels; ++c) {
      for (uint32_t t = 0; t < BLOCK; ++t) {
        worst = fmaxf(worst, fabsf(expect[c][t] - s.out[c][t]));
      }
    }
  }
  CHECK(worst == 0.0f, "%s: default model differs from the engine by %g", uri,
        (double)worst);
  CHECK(s.plugin->controls[PORT_MODEL_INPUTS] == 1.0f &&
          s.plugin->controls[PORT_LATENCY] == 0.0f &&
          s.plugin->controls[PORT_GPU_ACTIVE] == 0.0f,
        "%s: output ports model_inputs %g latency %g gpu %g", uri,
        (double)s.plugin->controls[PORT_MODEL_INPUTS],
        (double)s.plugin->controls[PORT_LATENCY],
        (double)s.plugin->controls[PORT_GPU_ACTIVE]);
  if (channels == 2) {
    bool differ = false;
    for (uint32_t t = 0; t < BLOCK; ++t) {
      differ = differ || s.out[0][t] != s.out[1][t];
    }
    CHECK(differ, "stereo channels are identical for different inputs");
  }

  /* A jump mid-block resets at that frame. */
  worst = jump_and_compare(&s, &ref, 77, 8);
  CHECK(worst == 0.0f, "%s: after a jump at frame 77 the output differs from "
        "a reset engine by %g", uri, (double)worst);
  /* A stop, then a start: each resets. */
  host_send_position(s.plugin, 10, 0.0f, (int64_t)s.frame + 10 + s.transport);
  session_run(&s);
  sw_engine_reset(ref.engine, -1);
  {
    static float expect[2][BLOCK];
    host_send_position(s.plugin, 5, 1.0f, (int64_t)s.frame + 5 + s.transport);
    session_run(&s);
    const float* in[2]  = {s.in[0] + 5, s.in[1] + 5};
    float*       out[2] = {expect[0], expect[1]};
    sw_engine_process(ref.engine, in, out, BLOCK - 5);
    worst = 0.0f;
    for (uint32_t c = 0; c < channels; ++c) {
      for (uint32_t t = 0; t < BLOCK - 5; ++t) {
        worst = fmaxf(worst, fabsf(expect[c][t] - s.out[c][5 + t]));
      }
    }
    CHECK(worst == 0.0f, "%s: after a start the output differs from a reset "
          "engine by %g", uri, (double)worst);
  }
  /* And the reset trigger. */
  s.plugin->controls[PORT_RESET] = 1.0f;
  {
    static float expect[2][BLOCK];
    session_run(&s);
    sw_engine_reset(ref.engine, -1);
    const float* in[2]  = {s.in[0], s.in[1]};
    float*       out[2] = {expect[0], expect[1]};
    sw_engine_process(ref.engine, in, out, BLOCK);
    worst = 0.0f;
    for (uint32_t c = 0; c < channels; ++c) {
      for (uint32_t t = 0; t < BLOCK; ++t) {
        worst = fmaxf(worst, fabsf(expect[c][t] - s.out[c][t]));
      }
    }
    CHECK(worst == 0.0f, "%s: the reset trigger did not reset (%g)", uri,
          (double)worst);
  }
  s.plugin->controls[PORT_RESET] = 0.0f;
  CHECK(s.plugin->rt_violations == 0, "%s: run() broke the real-time rules", uri);
  reference_free(&ref);
  host_plugin_free(s.plugin);
}

/* Play until a swap has been heard completely; returns the largest
   sample-to-sample step during the crossfade. */
static float
play_swap(Session* const s, float* const step_before, float* const step_after)
{
  float last = 0.0f, worst = 0.0f;
  bool  have = false;
  *step_before = 0.0f;
  for (unsigned b = 0; b < 6; ++b) {
    session_run(s);
    *step_before = fmaxf(*step_before, max_step(s->out[0], BLOCK, &last, &have));
  }
  host_do_work(s->plugin); /* load, warm, work_response */
  const unsigned fade_blocks = (FADE_FRAMES + BLOCK - 1U) / BLOCK + 1U;
  for (unsigned b = 0; b < fade_blocks; ++b) {
    session_run(s);
    worst = fmaxf(worst, max_step(s->out[0], BLOCK, &last, &have));
    host_do_work(s->plugin); /* frees the retired model */
  }
  *step_after = 0.0f;
  for (unsigned b = 0; b < 6; ++b) {
    session_run(s);
    *step_after = fmaxf(*step_after, max_step(s->out[0], BLOCK, &last, &have));
  }
  return worst;
}

static bool
has_suffix(const char* const name, const char* const suffix)
{
  const size_t n = strlen(name), m = strlen(suffix);
  return n >= m && strcmp(name + n - m, suffix) == 0;
}

static int
compare_names(const void* a, const void* b)
{
  return strcmp(*(char* const*)a, *(char* const*)b);
}

/* Every model file under `dir` (one level of sub-folders), sorted. */
static size_t
list_models(const char* const dir, char** const out, const size_t cap)
{
  size_t n   = 0;
  DIR*   top = opendir(dir);
  if (!top) {
    return 0;
  }
  struct dirent* sub;
  while ((sub = readdir(top))) {
    if (sub->d_name[0] == '.') {
      continue;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, sub->d_name);
    DIR* inner = opendir(path);
    if (!inner) {
      continue;
    }
    struct dirent* f;
    while ((f = readdir(inner)) && n < cap) {
      if (has_suffix(f->d_name, ".json") || has_suffix(f->d_name, ".nam") ||
          has_suffix(f->d_name, ".h5") || has_suffix(f->d_name, ".hdf5") ||
          has_suffix(f->d_name, ".aidax") || has_suffix(f->d_name, ".keras")) {
        char full[8192];
        snprintf(full, sizeof(full), "%s/%s", path, f->d_name);
        out[n++] = strdup(full);
      }
    }
    closedir(inner);
  }
  closedir(top);
  qsort(out, n, sizeof(char*), compare_names);
  return n;
}

/* patch:Set each model in turn: good files crossfade in without a click and
   then play exactly what the engine computes; bad ones are reported and the
   running model plays on. */
static void
test_every_model(HostWorld* const world, const char* const default_model,
                 const char* const models_dir)
{
  char*        files[64];
  const size_t count = list_models(models_dir, files, 64);
  printf("# %zu model files in %s\n", count, models_dir);
  CHECK(count > 0, "no model files found in %s", models_dir);

  Session s;
  memset(&s, 0, sizeof(s));
  s.plugin = host_plugin_new(world, SW_LV2_MONO_URI, true);
  if (!s.plugin) {
    ++failures;
    return;
  }
  (void)default_model;
  host_send_get(s.plugin, 0);
  host_send_position(s.plugin, 0, 1.0f, 0); /* the transport rolls from 0 */
  session_run(&s);
  char playing[4096];
  snprintf(playing, sizeof(playing), "%s", s.plugin->model_path);
  CHECK(strstr(playing, "statewave.lv2/" ) != NULL,
        "a new instance plays \"%s\", not the bundle's default model", playing);

  for (size_t i = 0; i < count; ++i) {
    const char* const path = files[i];
    Reference         ref;
    const bool        good = reference_new(path, 1, &ref);
    host_world_take_log(world);
    host_send_model(s.plugin, 0, path);
    float before, after;
    const float fade = play_swap(&s, &before, &after);
    const char* const log = host_world_take_log(world);

    if (good) {
      /* An equal-power fade of two signals can step by up to sqrt(2) times
         the larger of their own steps; a cut between them would step by
         their difference at that frame. */
      const float bound = 1.5f * fmaxf(before, after) + 1e-3f;
      printf("# %s: steps before %.4f, during the crossfade %.4f, after %.4f\n",
             path, (double)before, (double)fade, (double)after);
      CHECK(fade <= bound, "%s: click: a step of %g in the crossfade (bound %g)",
            path, (double)fade, (double)bound);
      CHECK(!strcmp(s.plugin->model_path, path),
            "%s: notify says the model is \"%s\"", path, s.plugin->model_path);
      const float worst = jump_and_compare(&s, &ref, 31, 6);
      CHECK(worst <= 1e-6f, "%s: plays %g away from the engine", path,
            (double)worst);
      SwModelInfo info;
      sw_model_info(ref.model, &info);
      CHECK(s.plugin->controls[PORT_MODEL_INPUTS] == (float)info.input_width,
            "%s: model_inputs port says %g, the model has %u inputs", path,
            (double)s.plugin->controls[PORT_MODEL_INPUTS], info.input_width);
      snprintf(playing, sizeof(playing), "%s", path);
      reference_free(&ref);
    } else {
      printf("# %s: refused, as by sw_model_load\n", path);
      CHECK(strstr(s.plugin->status, path) != NULL,
            "%s: the status does not name the file: \"%s\"", path,
            s.plugin->status);
      CHECK(strstr(log, path) != NULL, "%s: nothing logged naming the file",
            path);
      CHECK(!strcmp(s.plugin->model_path, playing),
            "%s: notify says \"%s\", expected the running %s", path,
            s.plugin->model_path, playing);
      Reference old;
      if (reference_new(playing, 1, &old)) {
        const float worst = jump_and_compare(&s, &old, 31, 4);
        CHECK(worst <= 1e-6f, "%s: after the bad file the old model %s plays "
              "%g away from its engine", path, playing, (double)worst);
        reference_free(&old);
      }
    }
    free(files[i]);
  }

  /* A file that does not exist. */
  host_send_model(s.plugin, 0, "/nonexistent/model.json");
  float before, after;
  (void)play_swap(&s, &before, &after);
  CHECK(strstr(s.plugin->status, "/nonexistent/model.json") != NULL,
        "missing file: status \"%s\"", s.plugin->status);
  CHECK(!strcmp(s.plugin->model_path, playing), "missing file: model \"%s\"",
        s.plugin->model_path);
  /* patch:Get answers with the model. */
  s.plugin->model_path[0] = '\0';
  host_send_get(s.plugin, 3);
  session_run(&s);
  CHECK(!strcmp(s.plugin->model_path, playing), "patch:Get answered \"%s\"",
        s.plugin->model_path);
  CHECK(s.plugin->rt_violations == 0, "run() broke the real-time rules during "
        "model swaps");
  host_plugin_free(s.plugin);
}

static bool
copy_file(const char* const from, const char* const to)
{
  FILE* in  = fopen(from, "rb");
  FILE* out = fopen(to, "wb");
  bool  ok  = in && out;
  char  buf[65536];
  size_t n;
  while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0) {
    ok = fwrite(buf, 1, n, out) == n;
  }
  if (in) {
    fclose(in);
  }
  if (out) {
    ok = fclose(out) == 0 && ok;
  }
  return ok;
}

/* Play after a reset and compare with the model's engine. */
static float
plays_model(Session* const s, const char* const path)
{
  Reference ref;
  if (!reference_new(path, s->plugin->channels, &ref)) {
    return INFINITY;
  }
  host_send_position(s->plugin, 0, 1.0f, (int64_t)s->frame + s->transport);
  session_run(s);
  const float worst = jump_and_compare(s, &ref, 0, 4);
  reference_free(&ref);
  return worst;
}

/* Bursts of NaN and Inf in the input: the output stays finite, and from
   the burst's end on it is exactly the engine's, reset there (every bad
   frame resets the state); a burst of subnormal numbers plays as silence
   would (they are flushed to zero). On the stereo plugin's right channel:
   the left one plays on untouched. */
static void
test_input_bursts(HostWorld* const world, const char* const default_model)
{
  static const struct {
    const char* name;
    float       value;
    bool        resets;
  } bursts[] = {{"NaN", NAN, true},
                {"+Inf", INFINITY, true},
                {"-Inf", -INFINITY, true},
                {"subnormal 1e-40", 1e-40f, false}};
  enum { FROM = 300, TO = 700, BLOCKS = 8 }; /* frames of the whole run */
  for (size_t k = 0; k < sizeof(bursts) / sizeof(bursts[0]); ++k) {
    Session s;
    memset(&s, 0, sizeof(s));
    s.plugin = host_plugin_new(world, SW_LV2_STEREO_URI, true);
    Reference ref;
    if (!s.plugin || !reference_new(default_model, 2, &ref)) {
      ++failures;
      return;
    }
    /* Both start from a reset state: a transport start resets the plugin. */
    host_send_position(s.plugin, 0, 1.0f, 0);
    bool  finite = true;
    float worst  = 0.0f;
    for (uint32_t b = 0; b < BLOCKS; ++b) {
      signal_block(s.frame, BLOCK, s.in[0], s.in[1]);
      float clean[2][BLOCK];
      memcpy(clean, s.in, sizeof(clean));
      for (uint32_t t = 0; t < BLOCK; ++t) {
        const uint64_t at = s.frame + t;
        if (at >= FROM && at < TO) {
          s.in[1][t] = bursts[k].value;
          clean[1][t] = 0.0f;
        }
      }
      const float* in[2]  = {s.in[0], s.in[1]};
      float*       out[2] = {s.out[0], s.out[1]};
      host_run(s.plugin, in, out, BLOCK);
      /* The reference: silence in the burst, reset at its end. */
      static float expect[2][BLOCK];
      uint32_t     done = 0;
      while (done < BLOCK) {
        const uint64_t at   = s.frame + done;
        uint32_t       upto = BLOCK;
        if (at < TO && s.frame + BLOCK > TO) {
          upto = (uint32_t)(TO - s.frame);
        }
        if (at == TO && bursts[k].resets) {
          sw_engine_reset(ref.engine, 1); /* the right channel's stream */
        }
        const float* ref_in[2]  = {clean[0] + done, clean[1] + done};
        float*       ref_out[2] = {expect[0] + done, expect[1] + done};
        sw_engine_process(ref.engine, ref_in, ref_out, upto - done);
        done = upto;
      }
      for (uint32_t c = 0; c < 2; ++c) {
        for (uint32_t t = 0; t < BLOCK; ++t) {
          finite = finite && isfinite(s.out[c][t]);
          if (!bursts[k].resets || c == 0 || s.frame + t >= TO) {
            worst = fmaxf(worst, fabsf(s.out[c][t] - expect[c][t]));
          }
        }
      }
      s.frame += BLOCK;
    }
    CHECK(finite, "a burst of %s: the output is not always finite",
          bursts[k].name);
    CHECK(worst == 0.0f, "a burst of %s on the right channel: the output "
          "differs by %g from the engine's %s", bursts[k].name, (double)worst,
          bursts[k].resets ? "reset at the burst's end" : "fed silence");
    if (finite && worst == 0.0f) {
      printf("# a burst of %u frames of %s: finite, then the engine's "
             "exactly\n", TO - FROM, bursts[k].name);
    }
    CHECK(s.plugin->rt_violations == 0, "run() broke the real-time rules "
          "during a burst of %s", bursts[k].name);
    reference_free(&ref);
    host_plugin_free(s.plugin);
  }
}

/* A model file changed between the patch:Set and the worker's load:
   deleted, the load fails naming it and the running model plays on,
   exactly; replaced by another model, the model the file holds when the
   worker reads it is the one that plays. */
static void
test_file_changes(HostWorld* const world, const char* const default_model,
                  const char* const model_b, const char* const model_c)
{
  char folder[] = "/tmp/statewave-lv2-files-XXXXXX";
  CHECK(mkdtemp(folder) != NULL, "mkdtemp");
  char path[4200], next[4200];
  snprintf(path, sizeof(path), "%s/model.json", folder);
  snprintf(next, sizeof(next), "%s/next.json", folder);

  Session s;
  memset(&s, 0, sizeof(s));
  s.plugin = host_plugin_new(world, SW_LV2_MONO_URI, true);
  if (!s.plugin) {
    ++failures;
    return;
  }
  host_send_get(s.plugin, 0);
  session_run(&s);
  char playing[4096];
  snprintf(playing, sizeof(playing), "%s", s.plugin->model_path);

  /* Deleted while the load waits for the worker. */
  CHECK(copy_file(model_b, path), "copy %s", model_b);
  host_send_model(s.plugin, 0, path);
  session_run(&s);
  unlink(path);
  host_do_work(s.plugin);
  for (unsigned b = 0; b < 6; ++b) {
    session_run(&s);
    host_do_work(s.plugin);
  }
  CHECK(strstr(s.plugin->status, path) && strstr(s.plugin->status, "cannot open"),
        "a file deleted before the worker loads it: status \"%s\"",
        s.plugin->status);
  CHECK(!strcmp(s.plugin->model_path, playing),
        "after a file deleted before its load the plugin says it plays %s",
        s.plugin->model_path);
  float worst = plays_model(&s, default_model);
  CHECK(worst <= 1e-6f, "after a file deleted before its load the running "
        "model plays %g away from its engine", (double)worst);

  /* Replaced (by rename) while the load waits for the worker. */
  CHECK(copy_file(model_b, path), "copy %s", model_b);
  host_send_model(s.plugin, 0, path);
  session_run(&s);
  CHECK(copy_file(model_c, next) && rename(next, path) == 0, "replace %s",
        path);
  host_do_work(s.plugin);
  for (unsigned b = 0; b < 6; ++b) {
    session_run(&s);
    host_do_work(s.plugin);
  }
  CHECK(!strcmp(s.plugin->model_path, path),
        "a file replaced before its load: the plugin says it plays %s",
        s.plugin->model_path);
  worst = plays_model(&s, model_c);
  CHECK(worst <= 1e-6f, "a file replaced before its load plays %g away from "
        "the model that replaced it", (double)worst);
  CHECK(s.plugin->rt_violations == 0, "run() or work_response() broke the "
        "real-time rules around files changing");
  host_plugin_free(s.plugin);
  unlink(path);
  rmdir(folder);
}

/* Save a session with a non-default model and a knob setting, move its
   folder, restore it into fresh instances, with and without a worker. */
static void
test_state(HostWorld* const world, const char* const model_source)
{
  char root[] = "/tmp/statewave-lv2-state-XXXXXX";
  CHECK(mkdtemp(root) != NULL, "mkdtemp");
  char models[4096], model[4200], first[4096], moved[4096];
  snprintf(models, sizeof(models), "%s/models", root);
  snprintf(model, sizeof(model), "%s/chosen.json", models);
  snprintf(first, sizeof(first), "%s/session", root);
  snprintf(moved, sizeof(moved), "%s/moved-session", root);
  mkdir(models, 0755);
  mkdir(first, 0755);
  CHECK(copy_file(model_source, model), "copy %s", model_source);

  Session a;
  memset(&a, 0, sizeof(a));
  a.plugin = host_plugin_new(world, SW_LV2_MONO_URI, true);
  if (!a.plugin) {
    ++failures;
    return;
  }
  host_send_model(a.plugin, 0, model);
  session_run(&a);
  host_do_work(a.plugin);
  for (unsigned b = 0; b < 6; ++b) {
    session_run(&a);
    host_do_work(a.plugin);
  }
  CHECK(!strcmp(a.plugin->model_path, model), "before save: model \"%s\"",
        a.plugin->model_path);
  a.plugin->controls[PORT_MIX] = 0.75f;
  CHECK(host_save_state(a.plugin, first), "save state into %s", first);
  host_plugin_free(a.plugin);
  CHECK(rename(first, moved) == 0, "move the session folder");

  /* A restore while running, on the worker (threadSafeRestore). */
  Session b;
  memset(&b, 0, sizeof(b));
  b.plugin = host_plugin_new(world, SW_LV2_MONO_URI, true);
  CHECK(host_restore_state(b.plugin, moved), "restore from %s", moved);
  session_run(&b);
  host_do_work(b.plugin);
  for (unsigned k = 0; k < 6; ++k) {
    session_run(&b);
    host_do_work(b.plugin);
  }
  CHECK(strncmp(b.plugin->model_path, moved, strlen(moved)) == 0,
        "restored model \"%s\" is not in the moved session %s",
        b.plugin->model_path, moved);
  CHECK(b.plugin->controls[PORT_MIX] == 0.75f, "restored mix %g",
        (double)b.plugin->controls[PORT_MIX]);
  b.plugin->controls[PORT_MIX] = 1.0f;
  for (unsigned k = 0; k < 6; ++k) { /* the mix ramps back to 1 */
    session_run(&b);
  }
  float worst = plays_model(&b, model);
  CHECK(worst <= 1e-6f, "restored on the worker: plays %g away from %s",
        (double)worst, model);
  CHECK(b.plugin->rt_violations == 0, "run() or work_response() broke the "
        "real-time rules while a restore loaded on the worker");
  host_plugin_free(b.plugin);

  /* A restore while not running: loaded at once. */
  Session c;
  memset(&c, 0, sizeof(c));
  c.plugin = host_plugin_new(world, SW_LV2_MONO_URI, false);
  lilv_instance_deactivate(c.plugin->instance);
  CHECK(host_restore_state(c.plugin, moved), "restore (inactive)");
  lilv_instance_activate(c.plugin->instance);
  c.plugin->controls[PORT_MIX] = 1.0f;
  host_send_get(c.plugin, 0);
  session_run(&c);
  CHECK(strncmp(c.plugin->model_path, moved, strlen(moved)) == 0,
        "restored (inactive) model \"%s\"", c.plugin->model_path);
  worst = plays_model(&c, model);
  CHECK(worst <= 1e-6f, "restored at once: plays %g away from %s",
        (double)worst, model);
  /* Without a worker, patch:Set cannot load: said so, nothing changes. */
  host_send_model(c.plugin, 0, model_source);
  session_run(&c);
  CHECK(strstr(c.plugin->status, "worker") != NULL, "no worker: status \"%s\"",
        c.plugin->status);
  CHECK(strncmp(c.plugin->model_path, moved, strlen(moved)) == 0,
        "no worker: model \"%s\"", c.plugin->model_path);
  CHECK(c.plugin->rt_violations == 0,
        "run() broke the real-time rules after a restore");
  host_plugin_free(c.plugin);

  char command[8400];
  snprintf(command, sizeof(command), "rm -rf '%s'", root);
  CHECK(system(command) == 0, "remove %s", root);
}

/* The backend port reloads the model on the chosen backend (here, without
   a GPU, a GPU request falls back to the CPU and says so); bypass fades to
   the input without a step and back. */
static void
test_backend_and_bypass(HostWorld* const world)
{
  Session s;
  memset(&s, 0, sizeof(s));
  s.plugin = host_plugin_new(world, SW_LV2_MONO_URI, true);
  if (!s.plugin) {
    ++failures;
    return;
  }
  host_send_get(s.plugin, 0);
  session_run(&s);
  char playing[4096];
  snprintf(playing, sizeof(playing), "%s", s.plugin->model_path);

  for (int backend = BACKEND_PORT_CPU; backend <= BACKEND_PORT_GPU; ++backend) {
    s.plugin->controls[PORT_BACKEND] = (float)backend;
    s.plugin->status[0]              = '\0';
    host_world_take_log(world);
    session_run(&s);
    host_do_work(s.plugin);
    for (unsigned b = 0; b < 6; ++b) {
      session_run(&s);
      host_do_work(s.plugin);
    }
    const char* const log = host_world_take_log(world);
    CHECK(strstr(s.plugin->status, "loaded") && strstr(s.plugin->status, playing),
          "backend %d: status \"%s\"", backend, s.plugin->status);
    SwBackendInfo info;
    sw_backend_info(SW_BACKEND_FUSED, &info);
    if (backend == BACKEND_PORT_GPU && !info.usable) {
      CHECK(strstr(s.plugin->status, "(cpu)") != NULL &&
              s.plugin->controls[PORT_GPU_ACTIVE] == 0.0f,
            "GPU asked without one: status \"%s\", gpu_active %g",
            s.plugin->status, (double)s.plugin->controls[PORT_GPU_ACTIVE]);
      CHECK(strstr(log, "CPU") || strstr(log, "cpu"),
            "GPU asked without one: nothing logged about the fallback: %s", log);
    } else if (backend == BACKEND_PORT_GPU) {
      CHECK(s.plugin->controls[PORT_GPU_ACTIVE] == 1.0f, "GPU asked and usable "
            "(%s) but gpu_active is 0", info.detail);
    }
  }

  /* Bypass: a ramp to the input, then exactly the input. */
  float last = 0.0f, worst = 0.0f, signal = 0.0f;
  bool  have = false;
  for (unsigned b = 0; b < 4; ++b) {
    session_run(&s);
    signal = fmaxf(signal, max_step(s.out[0], BLOCK, &last, &have));
  }
  s.plugin->controls[PORT_ENABLED] = 0.0f;
  for (unsigned b = 0; b < 6; ++b) {
    session_run(&s);
    worst = fmaxf(worst, max_step(s.out[0], BLOCK, &last, &have));
  }
  CHECK(worst <= 1.5f * fmaxf(signal, 0.0144f) + 1e-3f,
        "bypass steps by %g (the signal by %g)", (double)worst, (double)signal);
  CHECK(memcmp(s.out[0], s.in[0], sizeof(s.in[0])) == 0,
        "bypassed, the output is not the input");
  s.plugin->controls[PORT_ENABLED] = 1.0f;
  worst = 0.0f;
  for (unsigned b = 0; b < 6; ++b) {
    session_run(&s);
    worst = fmaxf(worst, max_step(s.out[0], BLOCK, &last, &have));
  }
  CHECK(worst <= 1.5f * fmaxf(signal, 0.0144f) + 1e-3f,
        "leaving bypass steps by %g", (double)worst);
  CHECK(memcmp(s.out[0], s.in[0], sizeof(s.in[0])) != 0,
        "enabled again, the output is still the input");
  CHECK(s.plugin->rt_violations == 0, "run() broke the real-time rules "
        "while switching backends or bypassing");
  host_plugin_free(s.plugin);
}

int
main(int argc, char** argv)
{
  if (argc != 5) {
    fprintf(stderr, "usage: test_plugin_host DEFAULT_MODEL SHARED_MODELS_DIR "
            "MODEL_B MODEL_C\n");
    return 2;
  }
  if (!rt_interposer_ready()) {
    return 1;
  }
  HostWorld* const world = host_world_new(RATE);
  if (!world) {
    return 1;
  }
  test_default_and_transport(world, argv[1], SW_LV2_MONO_URI, 1);
  test_default_and_transport(world, argv[1], SW_LV2_STEREO_URI, 2);
  test_backend_and_bypass(world);

  struct stat st;
  test_input_bursts(world, argv[1]);
  test_file_changes(world, argv[1], argv[3], argv[4]);

  const char* const shared = argv[2];
  const bool have_shared = stat(shared, &st) == 0 && S_ISDIR(st.st_mode);
  char knob_model[4096];
  if (have_shared) {
    test_every_model(world, argv[1], shared);
    snprintf(knob_model, sizeof(knob_model),
             "%s/guitarml-json/lstm40_ts9_knob.json", shared);
  } else {
    printf("# %s not found: the shared models are not tested\n",
           shared);
    snprintf(knob_model, sizeof(knob_model), "%s", argv[1]);
  }
  test_state(world, stat(knob_model, &st) == 0 ? knob_model : argv[1]);

  host_world_free(world);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
