/*
  sw_model_save round trips: every model the tests can get is saved in
  each format that accepts it and loaded back, and then
    (a) its canonical weights are bit-identical (an LSTM written as RTNeural
        JSON comes back with its two biases summed into one, so there the
        sum is compared), and
    (b) the engine's outputs on a test signal are bit-identical (memcmp),
        with the knobs at their defaults and with knob columns given.
  Refusals name the layer and the reason; failed writes leave no file.

  Usage: test_convert files WORK PATH...   model files under PATHs
         test_convert specs WORK DIR       the *.spec.json files in DIR
         test_convert shared WORK DIR      ../shared/models (77 if absent)
         test_convert refusals WORK        what each format refuses
*/

#include "spec_json.h"

#include <statewave/statewave.h>

#include <dirent.h>
#include <unistd.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SKIP_EXIT 77
#define SIGNAL_FRAMES 2048U
#define MAX_PATH 1024

static const char* work_dir = ".";
static int         failures = 0;
static unsigned    saved    = 0;
static unsigned    refused  = 0;

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void
fail(const char* format, ...)
{
  va_list args;
  va_start(args, format);
  fputs("FAIL: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  ++failures;
}

static const char* const format_names[2] = {"rtneural", "guitarml"};

/* ------------------------------------------------------------------------ */
/* (a) canonical weights                                                    */
/* ------------------------------------------------------------------------ */

static bool
same_floats(const float* a, const float* b, size_t n)
{
  return n == 0 || (a && b && !memcmp(a, b, n * sizeof(float)));
}

static bool
all_zero(const float* a, size_t n)
{
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != 0.0f) {
      return false;
    }
  }
  return true;
}

static void
compare_layer(const char* what, uint32_t l, const SwLayerInfo* a,
              const SwLayerInfo* b, SwModelFormat format)
{
  if (a->type != b->type || a->units != b->units ||
      a->input_width != b->input_width || a->activation != b->activation ||
      a->recurrent_activation != b->recurrent_activation ||
      (a->type == SW_LAYER_GRU && a->gru_reset != b->gru_reset) ||
      a->kernel_size != b->kernel_size ||
      a->dilation != b->dilation) {
    fail("%s: layer %u: %s %u->%u %s/%s reset %d K %u d %u came back as "
         "%s %u->%u %s/%s reset %d K %u d %u",
         what, l, sw_layer_type_name(a->type), a->input_width, a->units,
         sw_activation_name(a->activation),
         sw_activation_name(a->recurrent_activation), (int)a->gru_reset,
         a->kernel_size, a->dilation, sw_layer_type_name(b->type),
         b->input_width, b->units, sw_activation_name(b->activation),
         sw_activation_name(b->recurrent_activation), (int)b->gru_reset,
         b->kernel_size, b->dilation);
    return;
  }
  /* A layer without a bias may come back with zero biases (RTNeural's
     LSTM/GRU and Conv1D, GuitarML's head always have one). */
  if (a->use_bias != b->use_bias && !(!a->use_bias && b->use_bias)) {
    fail("%s: layer %u: use_bias %d came back %d", what, l, a->use_bias,
         b->use_bias);
  }
  const size_t rows = (size_t)a->gates * a->units;
  const size_t cols =
    a->type == SW_LAYER_CONV1D ? (size_t)a->kernel_size * a->input_width
                               : a->input_width;
  if (!same_floats(a->kernel, b->kernel, rows * cols)) {
    fail("%s: layer %u: kernel differs", what, l);
  }
  if (a->recurrent_kernel &&
      !same_floats(a->recurrent_kernel, b->recurrent_kernel, rows * a->units)) {
    fail("%s: layer %u: recurrent kernel differs", what, l);
  }
  const bool summed = format == SW_FORMAT_RTNEURAL_JSON &&
                      a->type == SW_LAYER_LSTM;
  if (summed) {
    for (size_t r = 0; r < rows; ++r) {
      const float sum = a->bias[r] + a->recurrent_bias[r];
      if (memcmp(&sum, &b->bias[r], sizeof(float))) {
        fail("%s: layer %u: bias[%zu] %.9g is not bW + bR = %.9g", what, l,
             r, (double)b->bias[r], (double)sum);
        break;
      }
    }
    if (!all_zero(b->recurrent_bias, rows)) {
      fail("%s: layer %u: the summed LSTM came back with a recurrent bias",
           what, l);
    }
  } else {
    if (!same_floats(a->bias, b->bias, rows)) {
      fail("%s: layer %u: bias differs", what, l);
    }
    if (a->recurrent_bias &&
        !same_floats(a->recurrent_bias, b->recurrent_bias, rows)) {
      fail("%s: layer %u: recurrent bias differs", what, l);
    }
  }
  if (!same_floats(a->initial_h, b->initial_h, a->initial_h ? a->units : 0) ||
      !same_floats(a->initial_c, b->initial_c, a->initial_c ? a->units : 0) ||
      (!a->initial_h) != (!b->initial_h) || (!a->initial_c) != (!b->initial_c)) {
    fail("%s: layer %u: initial state differs", what, l);
  }
}

/* Metadata except the notes readers make up about missing sample rates. */
static void
compare_metadata(const char* what, const SwModel* a, const SwModel* b)
{
  SwModelInfo info;
  sw_model_info(a, &info);
  for (uint32_t m = 0; m < info.num_metadata; ++m) {
    SwMetaEntry entry;
    sw_model_metadata(a, m, &entry);
    if (!strcmp(entry.key, "sample_rate_note")) {
      continue;
    }
    const char* const value = sw_model_meta_get(b, entry.key);
    if (!value || strcmp(value, entry.value)) {
      fail("%s: metadata %s: \"%s\" came back as %s%s%s", what, entry.key,
           entry.value, value ? "\"" : "", value ? value : "missing",
           value ? "\"" : "");
    }
  }
}

static void
compare_models(const char* what, const SwModel* a, const SwModel* b,
               SwModelFormat format)
{
  SwModelInfo ia;
  SwModelInfo ib;
  sw_model_info(a, &ia);
  sw_model_info(b, &ib);
  if (ia.input_width != ib.input_width || ia.output_width != ib.output_width ||
      ia.num_layers != ib.num_layers || ia.skip != ib.skip ||
      memcmp(&ia.input_gain_db, &ib.input_gain_db, sizeof(float)) ||
      memcmp(&ia.output_gain_db, &ib.output_gain_db, sizeof(float))) {
    fail("%s: model shape, skip or gains differ", what);
    return;
  }
  /* GuitarML files without a rate are read as 44.1 kHz. */
  if (ia.sample_rate != ib.sample_rate &&
      !(ia.sample_rate == 0.0 && format == SW_FORMAT_GUITARML_JSON)) {
    fail("%s: sample rate %g came back %g", what, ia.sample_rate,
         ib.sample_rate);
  }
  for (uint32_t k = 0; k < ia.num_knobs; ++k) {
    SwKnobSpec ka;
    SwKnobSpec kb;
    sw_model_knob(a, k, &ka);
    sw_model_knob(b, k, &kb);
    if (strcmp(ka.name, kb.name) || ka.min != kb.min || ka.max != kb.max ||
        ka.default_value != kb.default_value) {
      fail("%s: knob %u (%s) came back as %s [%g, %g] default %g", what,
           k + 1U, ka.name, kb.name, (double)kb.min, (double)kb.max,
           (double)kb.default_value);
    }
  }
  for (uint32_t l = 0; l < ia.num_layers; ++l) {
    SwLayerInfo la;
    SwLayerInfo lb;
    sw_model_layer(a, l, &la);
    sw_model_layer(b, l, &lb);
    compare_layer(what, l, &la, &lb, format);
  }
  compare_metadata(what, a, b);
}

/* ------------------------------------------------------------------------ */
/* (b) outputs                                                              */
/* ------------------------------------------------------------------------ */

/* A deterministic signal: a swept sine with noise and a few loud bursts,
   knob columns slowly moving across their range. */
static void
make_signal(float* audio, float* frames, uint32_t width)
{
  uint32_t state = 12345U;
  for (uint32_t t = 0; t < SIGNAL_FRAMES; ++t) {
    state             = state * 1664525U + 1013904223U;
    const float noise = (float)(state >> 8) / 16777216.0f - 0.5f;
    const float phase = 0.002f * (float)t * (1.0f + 0.001f * (float)t);
    const float burst = (t / 256U) % 3U == 2U ? 3.0f : 0.7f;
    audio[t]          = burst * sinf(phase) + 0.1f * noise;
    frames[t * width] = audio[t];
    for (uint32_t c = 1; c < width; ++c) {
      frames[t * width + c] =
        0.5f + 0.5f * sinf(0.003f * (float)(t * c) + (float)c);
    }
  }
}

static bool
run_audio(const SwModel* model, const float* audio, float* out)
{
  SwEngineConfig config = sw_engine_config_default();
  config.max_block      = 256;
  SwEngine* const engine = sw_engine_new(model, &config, NULL);
  if (!engine) {
    return false;
  }
  const float* in[1]  = {audio};
  float*       dst[1] = {out};
  const bool   ok = !sw_engine_process(engine, in, dst, SIGNAL_FRAMES);
  sw_engine_free(engine);
  return ok;
}

static bool
run_frames(const SwModel* model, const float* frames, float* out)
{
  SwEngineConfig config = sw_engine_config_default();
  config.max_block      = 256;
  SwEngine* const engine = sw_engine_new(model, &config, NULL);
  if (!engine) {
    return false;
  }
  const bool ok = !sw_engine_process_frames(engine, frames, out, SIGNAL_FRAMES);
  sw_engine_free(engine);
  return ok;
}

static void
compare_outputs(const char* what, const SwModel* a, const SwModel* b)
{
  SwModelInfo info;
  sw_model_info(a, &info);
  const size_t in_count  = (size_t)SIGNAL_FRAMES * info.input_width;
  const size_t out_count = (size_t)SIGNAL_FRAMES * info.output_width;
  float* const audio  = (float*)calloc(SIGNAL_FRAMES, sizeof(float));
  float* const frames = (float*)calloc(in_count, sizeof(float));
  float* const out_a  = (float*)calloc(out_count, sizeof(float));
  float* const out_b  = (float*)calloc(out_count, sizeof(float));
  if (!audio || !frames || !out_a || !out_b) {
    fail("%s: out of memory", what);
  } else {
    make_signal(audio, frames, info.input_width);
    if (!run_audio(a, audio, out_a) || !run_audio(b, audio, out_b)) {
      fail("%s: an engine could not run the audio", what);
    } else if (memcmp(out_a, out_b, SIGNAL_FRAMES * sizeof(float))) {
      fail("%s: audio outputs are not bit-identical", what);
    }
    if (!run_frames(a, frames, out_a) || !run_frames(b, frames, out_b)) {
      fail("%s: an engine could not run the frames", what);
    } else if (memcmp(out_a, out_b, out_count * sizeof(float))) {
      fail("%s: frame outputs are not bit-identical", what);
    }
  }
  free(audio);
  free(frames);
  free(out_a);
  free(out_b);
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                              */
/* ------------------------------------------------------------------------ */

static const char*
base_name(const char* path)
{
  const char* const slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static void
round_trip(const SwModel* model, const char* name)
{
  for (int f = 0; f < 2; ++f) {
    const SwModelFormat format = (SwModelFormat)f;
    char                out[MAX_PATH];
    char                what[MAX_PATH + 32];
    snprintf(out, sizeof(out), "%s/%s.%s.json", work_dir, name,
             format_names[f]);
    snprintf(what, sizeof(what), "%s as %s", name, format_names[f]);
    SwError        err = {SW_SUCCESS, ""};
    const SwStatus st  = sw_model_save(model, out, format, &err);
    if (st == SW_ERR_UNSUPPORTED) {
      ++refused;
      printf("  %-40s refused: %s\n", what, err.message);
      if (!strstr(err.message, out)) {
        fail("%s: the refusal does not name the file: %s", what, err.message);
      }
      struct stat info;
      if (!stat(out, &info)) {
        fail("%s: refused, yet %s exists", what, out);
      }
      continue;
    }
    if (st) {
      fail("%s: %s", what, err.message);
      continue;
    }
    SwModel* const back = sw_model_load(out, &err);
    if (!back) {
      fail("%s: the written file does not load: %s", what, err.message);
      continue;
    }
    ++saved;
    printf("  %-40s ok\n", what);
    compare_models(what, model, back, format);
    compare_outputs(what, model, back);
    sw_model_free(back);
  }
}

static bool
has_model_extension(const char* name)
{
  static const char* const extensions[] = {".json", ".aidax", ".nam", ".h5",
                                           ".hdf5", ".keras"};
  const size_t n = strlen(name);
  if (strstr(name, ".spec.json") || !strcmp(name, "manifest.json")) {
    return false; /* test specs, not model files */
  }
  for (size_t i = 0; i < sizeof(extensions) / sizeof(extensions[0]); ++i) {
    const size_t e = strlen(extensions[i]);
    if (n > e && !strcmp(name + n - e, extensions[i])) {
      return true;
    }
  }
  return false;
}

static void
round_trip_file(const char* path)
{
  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_load(path, &err);
  if (!model) {
    /* Broken files are there on purpose; their own tests check them. */
    printf("%s: does not load, skipped (%s)\n", path, err.message);
    return;
  }
  printf("%s\n", path);
  round_trip(model, base_name(path));
  sw_model_free(model);
}

static void
round_trip_path(const char* path)
{
  struct stat info;
  if (stat(path, &info)) {
    fail("%s: %s", path, strerror(errno));
    return;
  }
  if (!S_ISDIR(info.st_mode)) {
    round_trip_file(path);
    return;
  }
  DIR* const dir = opendir(path);
  if (!dir) {
    fail("%s: %s", path, strerror(errno));
    return;
  }
  /* Sorted, so the log reads the same on every machine. */
  char**         names = NULL;
  size_t         count = 0;
  struct dirent* entry = NULL;
  while ((entry = readdir(dir))) {
    if (entry->d_name[0] == '.') {
      continue;
    }
    char** const more = (char**)realloc(names, (count + 1U) * sizeof(char*));
    if (!more) {
      break;
    }
    names          = more;
    names[count++] = strdup(entry->d_name);
  }
  closedir(dir);
  for (size_t i = 0; i + 1U < count; ++i) {
    for (size_t j = i + 1U; j < count; ++j) {
      if (strcmp(names[i], names[j]) > 0) {
        char* const t = names[i];
        names[i]      = names[j];
        names[j]      = t;
      }
    }
  }
  for (size_t i = 0; i < count; ++i) {
    char child[MAX_PATH];
    snprintf(child, sizeof(child), "%s/%s", path, names[i]);
    struct stat child_info;
    if (!stat(child, &child_info) &&
        (S_ISDIR(child_info.st_mode) || has_model_extension(names[i]))) {
      round_trip_path(child);
    }
    free(names[i]);
  }
  free(names);
}

static void
round_trip_specs(const char* dir_path)
{
  DIR* const dir = opendir(dir_path);
  if (!dir) {
    fail("%s: %s", dir_path, strerror(errno));
    return;
  }
  struct dirent* entry = NULL;
  while ((entry = readdir(dir))) {
    const size_t n = strlen(entry->d_name);
    if (n < 10 || strcmp(entry->d_name + n - 10, ".spec.json")) {
      continue;
    }
    char path[MAX_PATH];
    char message[SPEC_JSON_MESSAGE_SIZE];
    snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
    SpecJson file;
    if (!spec_json_load(path, &file, message, sizeof(message))) {
      fail("%s", message);
      continue;
    }
    SwError        err   = {SW_SUCCESS, ""};
    SwModel* const model = sw_model_build(&file.spec, 1, &err);
    if (!model) {
      fail("%s: %s", path, err.message);
    } else {
      printf("%s\n", path);
      round_trip(model, entry->d_name);
    }
    sw_model_free(model);
    spec_json_free(&file);
  }
  closedir(dir);
}

/* ------------------------------------------------------------------------ */
/* Refusals                                                                 */
/* ------------------------------------------------------------------------ */

static SwModel*
build(const SwLayerSpec* layers, uint32_t num_layers, float in_gain_db)
{
  SwModelSpec spec;
  memset(&spec, 0, sizeof(spec));
  spec.input_width   = 1;
  spec.num_layers    = num_layers;
  spec.layers        = layers;
  spec.input_gain_db = in_gain_db;
  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_build(&spec, 7, &err);
  if (!model) {
    fail("build: %s", err.message);
  }
  return model;
}

static void
expect_refusal(const SwModel* model, SwModelFormat format, const char* name,
               const char* expected)
{
  char out[MAX_PATH];
  snprintf(out, sizeof(out), "%s/%s.json", work_dir, name);
  remove(out);
  SwError        err = {SW_SUCCESS, ""};
  const SwStatus st  = model ? sw_model_save(model, out, format, &err)
                             : SW_ERR_BAD_ARG;
  struct stat info;
  if (st != SW_ERR_UNSUPPORTED || !strstr(err.message, expected) ||
      !strstr(err.message, out)) {
    fail("%s as %s: expected a refusal naming %s and \"%s\"; got %s: %s",
         name, format_names[format], out, expected, sw_strerror(st),
         err.message);
  } else if (!stat(out, &info)) {
    fail("%s: refused, yet %s exists", name, out);
  } else {
    printf("%s as %s refused: %s\n", name, format_names[format], err.message);
  }
}

/* No "*.tmp-*" file may stay in the work folder after a failed save. */
static void
expect_no_temp_files(const char* why)
{
  DIR* const dir = opendir(work_dir);
  if (!dir) {
    fail("%s: %s", work_dir, strerror(errno));
    return;
  }
  struct dirent* entry = NULL;
  while ((entry = readdir(dir))) {
    if (strstr(entry->d_name, ".tmp-")) {
      fail("%s: %s/%s was left behind", why, work_dir, entry->d_name);
    }
  }
  closedir(dir);
}

static void
check_refusals(void)
{
  SwLayerSpec layers[2];
  layers[1] = sw_layer_spec(SW_LAYER_DENSE, 1);

  layers[0]      = sw_layer_spec(SW_LAYER_SIMPLE_RNN, 4);
  SwModel* model = build(layers, 2, 0.0f);
  expect_refusal(model, SW_FORMAT_RTNEURAL_JSON, "simple_rnn",
                 "layer 0 (SimpleRNN): RTNeural has no SimpleRNN layer");
  expect_refusal(model, SW_FORMAT_GUITARML_JSON, "simple_rnn",
                 "layer 0 is SimpleRNN, not LSTM or GRU");
  sw_model_free(model);

  static const float initial[4] = {0.1f, -0.2f, 0.3f, -0.4f};
  layers[0]           = sw_layer_spec(SW_LAYER_LSTM, 4);
  layers[0].initial_h = initial;
  layers[0].initial_c = initial;
  model               = build(layers, 2, 0.0f);
  expect_refusal(model, SW_FORMAT_RTNEURAL_JSON, "initial_state",
                 "layer 0 (LSTM): it has a learned initial state");
  expect_refusal(model, SW_FORMAT_GUITARML_JSON, "initial_state",
                 "layer 0 (LSTM) has a learned initial state");
  sw_model_free(model);

  layers[0]                      = sw_layer_spec(SW_LAYER_LSTM, 4);
  layers[0].recurrent_activation = SW_ACT_HARD_SIGMOID;
  model                          = build(layers, 2, 0.0f);
  expect_refusal(model, SW_FORMAT_RTNEURAL_JSON, "lstm_hard_sigmoid",
                 "recurrent activation hard_sigmoid (RTNeural's LSTM and GRU "
                 "always use tanh and sigmoid)");
  expect_refusal(model, SW_FORMAT_GUITARML_JSON, "lstm_hard_sigmoid",
                 "recurrent activation hard_sigmoid");
  sw_model_free(model);

  layers[0]            = sw_layer_spec(SW_LAYER_LSTM, 4);
  layers[1].activation = SW_ACT_HARD_SIGMOID_K3;
  model                = build(layers, 2, 0.0f);
  expect_refusal(model, SW_FORMAT_RTNEURAL_JSON, "dense_k3",
                 "layer 1 (Dense): activation hard_sigmoid_k3 has no "
                 "RTNeural name");
  expect_refusal(model, SW_FORMAT_GUITARML_JSON, "dense_k3",
                 "is Dense with activation hard_sigmoid_k3, not a linear");
  sw_model_free(model);

  layers[1] = sw_layer_spec(SW_LAYER_DENSE, 1);
  model     = build(layers, 2, 6.0f);
  expect_refusal(model, SW_FORMAT_GUITARML_JSON, "gains",
                 "the model has gains (input 6 dB, output 0 dB)");
  sw_model_free(model);

  layers[0]           = sw_layer_spec(SW_LAYER_GRU, 4);
  layers[0].gru_reset = SW_GRU_RESET_BEFORE;
  model               = build(layers, 2, 0.0f);
  expect_refusal(model, SW_FORMAT_GUITARML_JSON, "gru_reset_before",
                 "resets before the recurrent product");
  /* RTNeural JSON holds it as a flat Keras bias (Statewave reads it). */
  round_trip(model, "gru_reset_before");
  sw_model_free(model);

  /* Failed writes: a missing folder names the path; a directory in the
     way fails at the rename; neither leaves a file. */
  layers[0] = sw_layer_spec(SW_LAYER_LSTM, 4);
  model     = build(layers, 2, 0.0f);
  char out[MAX_PATH];
  snprintf(out, sizeof(out), "%s/no-such-folder/model.json", work_dir);
  SwError  err = {SW_SUCCESS, ""};
  SwStatus st  = sw_model_save(model, out, SW_FORMAT_RTNEURAL_JSON, &err);
  struct stat info;
  if (st != SW_ERR_IO || !strstr(err.message, out) ||
      !strstr(err.message, "No such file or directory") || !stat(out, &info)) {
    fail("missing folder: expected an I/O error naming %s; got %s: %s", out,
         sw_strerror(st), err.message);
  } else {
    printf("missing folder: %s\n", err.message);
  }
  snprintf(out, sizeof(out), "%s/a-directory", work_dir);
  mkdir(out, 0777);
  st = sw_model_save(model, out, SW_FORMAT_GUITARML_JSON, &err);
  if (st != SW_ERR_IO || !strstr(err.message, out)) {
    fail("directory in the way: expected an I/O error naming %s; got %s: %s",
         out, sw_strerror(st), err.message);
  } else {
    printf("directory in the way: %s\n", err.message);
  }
  expect_no_temp_files("a failed save");
  st = sw_model_save(model, NULL, SW_FORMAT_GUITARML_JSON, &err);
  if (st != SW_ERR_BAD_ARG) {
    fail("a NULL path: got %s", sw_strerror(st));
  }
  st = sw_model_save(model, out, (SwModelFormat)42, &err);
  if (st != SW_ERR_BAD_ARG || !strstr(err.message, "42")) {
    fail("an unknown format: got %s: %s", sw_strerror(st), err.message);
  }
  sw_model_free(model);
}

/* mkdir -p: the work folder's parents do not exist in a fresh build. */
static void
make_folders(const char* path)
{
  char partial[MAX_PATH];
  snprintf(partial, sizeof(partial), "%s", path);
  for (char* slash = strchr(partial + 1, '/'); slash;
       slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    mkdir(partial, 0777);
    *slash = '/';
  }
  mkdir(partial, 0777);
}

/* Start from an empty work folder: files left by an earlier run would make
   "refused, yet OUT exists" fail. */
static void
empty_folder(const char* path)
{
  DIR* const dir = opendir(path);
  if (!dir) {
    return;
  }
  for (const struct dirent* entry = readdir(dir); entry;
       entry = readdir(dir)) {
    if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) {
      continue;
    }
    char child[MAX_PATH];
    snprintf(child, sizeof(child), "%s/%s", path, entry->d_name);
    if (unlink(child) != 0) {
      rmdir(child); /* the empty "a-directory" of the refusal checks */
    }
  }
  closedir(dir);
}

/* Knob names, ranges and defaults travel in Statewave's metadata.knobs in
   both formats (round_trip compares them). */
static void
round_trip_named_knobs(void)
{
  SwLayerSpec layers[2] = {sw_layer_spec(SW_LAYER_LSTM, 4),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  const SwKnobSpec knobs[2] = {{"drive", 0.0f, 10.0f, 2.5f},
                               {"tone", -1.0f, 1.0f, 0.0f}};
  SwModelSpec spec;
  memset(&spec, 0, sizeof(spec));
  spec.input_width = 3;
  spec.num_layers  = 2;
  spec.layers      = layers;
  spec.num_knobs   = 2;
  spec.knobs       = knobs;
  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_build(&spec, 11, &err);
  if (!model) {
    fail("named knobs: %s", err.message);
    return;
  }
  round_trip(model, "named_knobs");
  sw_model_free(model);
}

int
main(int argc, char** argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: test_convert files|specs|shared|refusals WORK "
                    "[PATH...]\n");
    return 2;
  }
  const char* const mode = argv[1];
  work_dir               = argv[2];
  make_folders(work_dir);
  empty_folder(work_dir);
  if (!strcmp(mode, "files")) {
    for (int i = 3; i < argc; ++i) {
      round_trip_path(argv[i]);
    }
  } else if (!strcmp(mode, "specs") && argc == 4) {
    round_trip_specs(argv[3]);
  } else if (!strcmp(mode, "shared") && argc == 4) {
    struct stat info;
    if (stat(argv[3], &info)) {
      printf("%s is absent; skipped\n", argv[3]);
      return SKIP_EXIT;
    }
    round_trip_path(argv[3]);
  } else if (!strcmp(mode, "refusals")) {
    check_refusals();
    round_trip_named_knobs();
  } else {
    fprintf(stderr, "test_convert: unknown mode or arguments\n");
    return 2;
  }
  if (strcmp(mode, "refusals") && !saved) {
    fail("no model was saved and loaded back");
  }
  printf("%u saved and compared, %u refused, %d failure%s\n", saved, refused,
         failures, failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
