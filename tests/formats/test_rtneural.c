/*
  The RTNeural / AIDA-X JSON reader.

  test_rtneural shared MODELS_DIR DATA_DIR
    ../shared/models/rtneural-json/: the AIDA-X file matches its own
    input_batch/output_batch, and both files match PyTorch references
    (tools/make_rtneural_refs.py) within 1e-5. Exits 77 without the folder.
  test_rtneural files DATA_DIR
    The small files in DATA_DIR/formats/rtneural/ (made by the same tool):
    PyTorch references, metadata, the GRU gate-order check (reading z,r,h
    unswapped must give a different output), the reference pair of a file,
    and malformed files refused with the expected message.
*/

#include "formats_support.h"

#include <statewave/statewave.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float tolerance = 1e-5f;
static int         failures  = 0;

#define CHECK(cond, ...)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "FAIL: " __VA_ARGS__);                                 \
      fputc('\n', stderr);                                                   \
      ++failures;                                                            \
    }                                                                        \
  } while (0)

/* Run frames through a fresh one-stream CPU engine; NULL on failure. */
static float*
run_model(const SwModel* const model, const float* const in,
          const size_t frames)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  SwEngineConfig config = sw_engine_config_default();
  config.backend        = SW_BACKEND_CPU;
  SwError         err    = {SW_SUCCESS, ""};
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  CHECK(engine != NULL, "sw_engine_new: %s", err.message);
  float* const out =
    engine ? (float*)calloc(frames * info.output_width + 1U, sizeof(float))
           : NULL;
  if (out) {
    CHECK(sw_engine_process_frames(engine, in, out, (uint32_t)frames) ==
            SW_SUCCESS,
          "process_frames failed");
  }
  sw_engine_free(engine);
  return out;
}

static float
max_error(const float* const a, const float* const b, const size_t n)
{
  float worst = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    const float e = fabsf(a[i] - b[i]);
    if (!(e <= worst)) {
      worst = e; /* NaN counts as the worst */
    }
  }
  return worst;
}

/* The model's output on DIR/STEM.in.csv against DIR/STEM.ref.csv. */
static float
error_vs_csv(const SwModel* const model, const char* const dir,
             const char* const stem)
{
  char name[256];
  char why[256];
  snprintf(name, sizeof(name), "%s.in.csv", stem);
  char* const in_path = join_path(dir, name);
  snprintf(name, sizeof(name), "%s.ref.csv", stem);
  char* const ref_path  = join_path(dir, name);
  CsvTable    input     = {0, 0, NULL};
  CsvTable    reference = {0, 0, NULL};
  float       worst     = INFINITY;
  SwModelInfo info;
  sw_model_info(model, &info);
  if (!csv_load(in_path, &input, why, sizeof(why)) ||
      !csv_load(ref_path, &reference, why, sizeof(why))) {
    CHECK(false, "%s: no reference (run tools/make_rtneural_refs.py): %s",
          stem, why);
  } else if (input.cols != info.input_width || reference.rows != input.rows ||
             reference.cols != info.output_width) {
    CHECK(false, "%s: reference is %zu x %zu -> %zu x %zu; model %u -> %u",
          stem, input.rows, input.cols, reference.rows, reference.cols,
          (unsigned)info.input_width, (unsigned)info.output_width);
  } else {
    float* const out = run_model(model, input.values, input.rows);
    if (out) {
      worst = max_error(out, reference.values, reference.rows * reference.cols);
      free(out);
    }
  }
  csv_free(&input);
  csv_free(&reference);
  free(in_path);
  free(ref_path);
  return worst;
}

static SwModel*
load(const char* const dir, const char* const name)
{
  char* const    path  = join_path(dir, name);
  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_load(path, &err);
  CHECK(model != NULL, "%s did not load: %s", path, err.message);
  if (model) {
    SwModelInfo info;
    sw_model_info(model, &info);
    CHECK(!strcmp(info.format, "rtneural-json"), "%s: format %s", name,
          info.format);
  }
  free(path);
  return model;
}

/* The file's own input_batch/output_batch through the engine. */
static float
error_vs_own_reference(const SwModel* const model, size_t* const frames)
{
  const float* in  = NULL;
  const float* out = NULL;
  *frames          = 0;
  if (sw_model_reference(model, &in, &out, frames) != SW_SUCCESS) {
    CHECK(false, "the model has no reference pair");
    return INFINITY;
  }
  SwModelInfo info;
  sw_model_info(model, &info);
  float* const y     = run_model(model, in, *frames);
  const float  worst = y ? max_error(y, out, *frames * info.output_width)
                         : INFINITY;
  free(y);
  return worst;
}

static int
check_shared(const char* const models_dir, const char* const data_root)
{
  skip_without_models(models_dir);
  char* const dir  = join_path(models_dir, "rtneural-json");
  char* const data = join_path(data_root, "formats");

  SwModel* const aidax = load(dir, "lstm12_aidax_with_reference.json");
  if (aidax) {
    SwModelInfo info;
    sw_model_info(aidax, &info);
    CHECK(info.sample_rate == 48000.0, "AIDA-X: sample rate %g (the file "
          "says \"48000\")", info.sample_rate);
    const char* const author = sw_model_meta_get(aidax, "author");
    CHECK(author && !strcmp(author, "deer ink studios"), "AIDA-X: author %s",
          author ? author : "(none)");
    size_t      frames = 0;
    const float own    = error_vs_own_reference(aidax, &frames);
    CHECK(frames == 2048 && own <= tolerance,
          "AIDA-X: %zu frames, max error vs its output_batch %.3g", frames,
          (double)own);
    const float torch =
      error_vs_csv(aidax, data, "lstm12_aidax_with_reference");
    CHECK(torch <= tolerance, "AIDA-X: max error vs PyTorch %.3g",
          (double)torch);
    printf("lstm12_aidax_with_reference: max abs error %.3g vs its own "
           "output_batch (%zu frames), %.3g vs PyTorch\n",
           (double)own, frames, (double)torch);
  }
  sw_model_free(aidax);

  SwModel* const centaur = load(dir, "gru8_centaur.json");
  if (centaur) {
    SwModelInfo info;
    SwLayerInfo gru;
    sw_model_info(centaur, &info);
    CHECK(info.sample_rate == 0.0 &&
            sw_model_meta_get(centaur, "sample_rate_note") != NULL,
          "centaur: sample rate %g, expected unknown with a note",
          info.sample_rate);
    CHECK(sw_model_layer(centaur, 0, &gru) == SW_SUCCESS &&
            gru.type == SW_LAYER_GRU && gru.units == 8 &&
            gru.gru_reset == SW_GRU_RESET_AFTER,
          "centaur: layer 0 is not a reset-after GRU of 8");
    const float torch = error_vs_csv(centaur, data, "gru8_centaur");
    CHECK(torch <= tolerance, "centaur: max error vs PyTorch %.3g",
          (double)torch);
    printf("gru8_centaur: max abs error %.3g vs PyTorch\n", (double)torch);
  }
  sw_model_free(centaur);
  free(dir);
  free(data);
  return failures ? 1 : 0;
}

/* The model a reader that forgot the z,r swap would have built. */
static SwModel*
unswapped_copy(const SwModel* const model)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  SwLayerSpec specs[8];
  float*      owned[8] = {NULL};
  if (info.num_layers > 8) {
    return NULL;
  }
  for (uint32_t l = 0; l < info.num_layers; ++l) {
    SwLayerInfo layer;
    sw_model_layer(model, l, &layer);
    specs[l]                      = sw_layer_spec(layer.type, layer.units);
    specs[l].activation           = layer.activation;
    specs[l].recurrent_activation = layer.recurrent_activation;
    specs[l].gru_reset            = layer.gru_reset;
    specs[l].use_bias             = layer.use_bias;
    specs[l].unit_forget_bias     = false;
    specs[l].kernel               = layer.kernel;
    specs[l].recurrent_kernel     = layer.recurrent_kernel;
    specs[l].bias                 = layer.bias;
    specs[l].recurrent_bias       = layer.recurrent_bias;
    if (layer.type != SW_LAYER_GRU) {
      continue;
    }
    /* Swap the first two gate blocks of every array back. */
    const size_t U     = layer.units;
    const size_t sizes[4] = {3U * U * layer.input_width, 3U * U * U, 3U * U,
                             3U * U};
    const float* const src[4] = {layer.kernel, layer.recurrent_kernel,
                                 layer.bias, layer.recurrent_bias};
    float* const block = (float*)malloc((sizes[0] + sizes[1] + 6U * U) *
                                        sizeof(float));
    if (!block) {
      return NULL;
    }
    owned[l]  = block;
    float* at = block;
    for (size_t a = 0; a < 4; ++a) {
      const size_t third = sizes[a] / 3U;
      memcpy(at, src[a] + third, third * sizeof(float));
      memcpy(at + third, src[a], third * sizeof(float));
      memcpy(at + 2U * third, src[a] + 2U * third, third * sizeof(float));
      if (a == 0) specs[l].kernel = at;
      if (a == 1) specs[l].recurrent_kernel = at;
      if (a == 2) specs[l].bias = at;
      if (a == 3) specs[l].recurrent_bias = at;
      at += sizes[a];
    }
  }
  SwModelSpec spec;
  memset(&spec, 0, sizeof(spec));
  spec.input_width  = info.input_width;
  spec.num_layers   = info.num_layers;
  spec.layers       = specs;
  SwModel* const copy = sw_model_build(&spec, 0, NULL);
  for (size_t l = 0; l < 8; ++l) {
    free(owned[l]);
  }
  return copy;
}

typedef struct {
  const char* name;
  SwStatus    status;
  const char* message; /* a substring the error must contain */
} BadFile;

static const BadFile bad_files[] = {
  {"bad_wrong_kernel.json", SW_ERR_BAD_MODEL, "layers[0] (gru).weights[0]"},
  {"bad_wrong_shape.json", SW_ERR_BAD_MODEL, "layers[0] (gru).weights[0]"},
  {"bad_unknown_type.json", SW_ERR_UNSUPPORTED,
   "layers[1] (lambda): unknown layer type"},
  {"bad_softmax.json", SW_ERR_UNSUPPORTED, "layers[1] (dense).activation"},
  {"bad_prelu.json", SW_ERR_UNSUPPORTED, "layers[2] (prelu)"},
  {"bad_gru_bias.json", SW_ERR_BAD_MODEL, "layers[0] (gru).weights[2]"},
  {"bad_batch_mismatch.json", SW_ERR_BAD_MODEL, "output_batch has 2"},
  {"bad_no_layers.json", SW_ERR_BAD_MODEL, "layers is an array"},
  {"bad_in_shape.json", SW_ERR_BAD_MODEL, "in_shape"},
  {"bad_samplerate.json", SW_ERR_BAD_MODEL, "metadata.samplerate"},
};

static int
check_files(const char* const data_root)
{
  char* const dir = join_path(data_root, "formats/rtneural");

  /* Old export without activation keys; the gate-order check. */
  SwModel* const gru = load(dir, "gru_no_activation_keys.json");
  if (gru) {
    const float good = error_vs_csv(gru, dir, "gru_no_activation_keys");
    CHECK(good <= tolerance, "gru_no_activation_keys: max error %.3g",
          (double)good);
    SwModel* const wrong = unswapped_copy(gru);
    CHECK(wrong != NULL, "could not build the unswapped GRU");
    const float bad =
      wrong ? error_vs_csv(wrong, dir, "gru_no_activation_keys") : 0.0f;
    CHECK(bad > 1e-3f, "reading z,r,h unswapped gives max error %.3g only: "
          "the gate-order test cannot fail", (double)bad);
    printf("gru_no_activation_keys: max error %.3g; unswapped z,r: %.3g\n",
           (double)good, (double)bad);
    sw_model_free(wrong);
  }
  sw_model_free(gru);

  SwModel* const acts = load(dir, "lstm_knob_skip_gains_acts.json");
  if (acts) {
    SwModelInfo info;
    sw_model_info(acts, &info);
    CHECK(info.skip && info.input_gain_db == 3.5f &&
            info.output_gain_db == -2.0f && info.sample_rate == 44100.0 &&
            info.num_knobs == 1 && info.output_width == 1,
          "lstm_knob_skip_gains_acts: skip %d gains %g %g rate %g knobs %u",
          (int)info.skip, (double)info.input_gain_db,
          (double)info.output_gain_db, info.sample_rate,
          (unsigned)info.num_knobs);
    /* lstm, dense(relu), identity dense(tanh), dense(sigmoid, folded),
       dense(elu), dense: six canonical layers from seven file layers. */
    CHECK(info.num_layers == 6, "lstm_knob_skip_gains_acts: %u layers",
          (unsigned)info.num_layers);
    const char* const esr = sw_model_meta_get(acts, "esr");
    CHECK(esr && !strcmp(esr, "0.25"), "esr metadata %s", esr ? esr : "-");
    const float e = error_vs_csv(acts, dir, "lstm_knob_skip_gains_acts");
    CHECK(e <= tolerance, "lstm_knob_skip_gains_acts: max error %.3g",
          (double)e);
    printf("lstm_knob_skip_gains_acts: max error %.3g\n", (double)e);
  }
  sw_model_free(acts);

  SwModel* const conv = load(dir, "conv1d_gru.json");
  if (conv) {
    const float e = error_vs_csv(conv, dir, "conv1d_gru");
    CHECK(e <= tolerance, "conv1d_gru: max error %.3g", (double)e);
    printf("conv1d_gru: max error %.3g\n", (double)e);
  }
  sw_model_free(conv);

  SwModel* const with_ref = load(dir, "gru_with_reference.json");
  if (with_ref) {
    size_t      frames = 0;
    const float e      = error_vs_own_reference(with_ref, &frames);
    CHECK(frames == 200 && e <= tolerance,
          "gru_with_reference: %zu frames, max error %.3g", frames,
          (double)e);
  }
  sw_model_free(with_ref);

  for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); ++i) {
    char* const    path  = join_path(dir, bad_files[i].name);
    SwError        err   = {SW_SUCCESS, ""};
    SwModel* const model = sw_model_load(path, &err);
    CHECK(model == NULL, "%s loaded", bad_files[i].name);
    CHECK(model || (err.status == bad_files[i].status &&
                    strstr(err.message, bad_files[i].message) &&
                    strstr(err.message, path)),
          "%s: status %s, message \"%s\"; expected %s and \"%s\"",
          bad_files[i].name, sw_strerror(err.status), err.message,
          sw_strerror(bad_files[i].status), bad_files[i].message);
    sw_model_free(model);
    free(path);
  }
  free(dir);
  return failures ? 1 : 0;
}

int
main(const int argc, char** const argv)
{
  int result = 2;
  if (argc == 4 && !strcmp(argv[1], "shared")) {
    result = check_shared(argv[2], argv[3]);
  } else if (argc == 3 && !strcmp(argv[1], "files")) {
    result = check_files(argv[2]);
  } else {
    fprintf(stderr, "usage: %s shared MODELS_DIR DATA_DIR | files DATA_DIR\n",
            argv[0]);
  }
  if (failures) {
    fprintf(stderr, "rtneural: %d failure(s)\n", failures);
  }
  return result;
}
