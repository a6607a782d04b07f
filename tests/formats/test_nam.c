/*
  The NAM (.nam) reader.

  test_nam shared MODELS_DIR DATA_DIR
    ../shared/models/nam/lstm1x3.nam loads as format "nam" (LSTM 1->3, Dense
    3->1, 48 kHz, its version, loudness and levels in the metadata, the
    nested "date"/"training" left out), and its output on
    DATA_DIR/formats/lstm1x3.in.csv matches the PyTorch reference
    lstm1x3.ref.csv within 1e-5 (max abs), again after sw_engine_reset (the
    learned initial state comes back). Exits 77 without the models folder.

  test_nam synth DATA_DIR
    The files tools/make_nam_refs.py writes to DATA_DIR/formats/nam/: a
    2-layer model (layer 1 takes the 4 hidden units; no sample_rate, so 48 kHz
    and a note) matches its reference the same way; a WaveNet file is refused
    as unsupported, naming the architecture; a weights array one short says
    expected vs found; a config without hidden_size names the field.
*/

#include "formats_support.h"

#include <statewave/statewave.h>

#include <math.h>
#include <stdint.h>
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

static void
check_meta(const SwModel* const model, const char* const key,
           const char* const expected)
{
  const char* const value = sw_model_meta_get(model, key);
  if (!expected) {
    CHECK(value == NULL, "metadata \"%s\" is \"%s\"; expected it left out",
          key, value);
    return;
  }
  CHECK(value && !strcmp(value, expected),
        "metadata \"%s\" is \"%s\"; expected \"%s\"", key,
        value ? value : "(absent)", expected);
}

/* Largest |output - reference| over all frames; -1 when not all finite. */
static float
max_error(const float* const output, const CsvTable* const reference,
          const char* const what)
{
  float  worst    = 0.0f;
  size_t worst_at = 0;
  for (size_t t = 0; t < reference->rows; ++t) {
    if (!isfinite(output[t])) {
      CHECK(false, "%s: output %zu is not finite", what, t);
      return -1.0f;
    }
    const float error = fabsf(output[t] - reference->values[t]);
    if (error > worst) {
      worst    = error;
      worst_at = t;
    }
  }
  CHECK(worst <= tolerance,
        "%s: max |output - PyTorch| = %.3g at frame %zu (got %.9g, expected "
        "%.9g), tolerance %g",
        what, (double)worst, worst_at, (double)output[worst_at],
        (double)reference->values[worst_at], (double)tolerance);
  return worst;
}

/* Run the input through a one-stream CPU engine, once whole, then after a
   reset again in uneven blocks; both must match the reference. */
static void
check_reference(const SwModel* const model, const char* const data_dir,
                const char* const stem)
{
  char     in_name[300];
  char     ref_name[300];
  char     why[256];
  CsvTable input     = {0, 0, NULL};
  CsvTable reference = {0, 0, NULL};
  snprintf(in_name, sizeof(in_name), "%s.in.csv", stem);
  snprintf(ref_name, sizeof(ref_name), "%s.ref.csv", stem);
  char* const in_path  = join_path(data_dir, in_name);
  char* const ref_path = join_path(data_dir, ref_name);
  const bool  have     = csv_load(in_path, &input, why, sizeof(why)) &&
                    csv_load(ref_path, &reference, why, sizeof(why));
  CHECK(have, "%s: reference vectors (run tools/make_nam_refs.py): %s", stem,
        why);
  CHECK(!have || (input.cols == 1 && reference.cols == 1 &&
                  reference.rows == input.rows && input.rows > 0),
        "%s: %zu x %zu input, %zu x %zu reference", stem, input.rows,
        input.cols, reference.rows, reference.cols);

  SwEngineConfig config = sw_engine_config_default();
  config.backend        = SW_BACKEND_CPU;
  config.max_block      = 256;
  SwError         err    = {SW_SUCCESS, ""};
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  CHECK(engine != NULL, "%s: sw_engine_new: %s", stem, err.message);
  float* const output = (float*)calloc(input.rows + 1U, sizeof(float));

  if (have && engine && output && input.cols == 1 &&
      reference.rows == input.rows) {
    const SwStatus status = sw_engine_process_frames(
      engine, input.values, output, (uint32_t)input.rows);
    CHECK(status == SW_SUCCESS, "%s: process_frames: %s", stem,
          sw_strerror(status));
    const float first = max_error(output, &reference, stem);

    /* After a reset the stream starts from h0/c0 again, not from zeros and
       not from where it stopped. */
    sw_engine_reset(engine, -1);
    memset(output, 0, input.rows * sizeof(float));
    size_t done = 0;
    for (uint32_t block = 1; done < input.rows; block = block * 3U % 509U) {
      const uint32_t n =
        (uint32_t)(input.rows - done < block ? input.rows - done : block);
      const float* const in_ptr  = input.values + done;
      float* const       out_ptr = output + done;
      CHECK(sw_engine_process(engine, &in_ptr, &out_ptr, n) == SW_SUCCESS,
            "%s: sw_engine_process", stem);
      done += n;
    }
    char what[320];
    snprintf(what, sizeof(what), "%s after sw_engine_reset, uneven blocks",
             stem);
    const float second = max_error(output, &reference, what);
    printf("%-10s %zu frames, max abs error vs PyTorch %.3g, after reset "
           "%.3g\n", stem, input.rows, (double)first, (double)second);
  }

  free(output);
  sw_engine_free(engine);
  csv_free(&reference);
  csv_free(&input);
  free(ref_path);
  free(in_path);
}

/* The LSTM layers and the head are what the config says. */
static void
check_layers(const SwModel* const model, const char* const name,
             const uint32_t lstm_layers, const uint32_t hidden)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  CHECK(info.format && !strcmp(info.format, "nam"),
        "%s: format \"%s\", expected nam", name,
        info.format ? info.format : "(null)");
  CHECK(info.num_layers == lstm_layers + 1U && info.input_width == 1 &&
          info.output_width == 1 && !info.skip,
        "%s: %u layers, widths %u -> %u, skip %d", name,
        (unsigned)info.num_layers, (unsigned)info.input_width,
        (unsigned)info.output_width, (int)info.skip);
  CHECK(info.sample_rate == 48000.0, "%s: sample rate %g, expected 48000",
        name, info.sample_rate);
  for (uint32_t l = 0; l < info.num_layers && l <= lstm_layers; ++l) {
    SwLayerInfo layer;
    if (sw_model_layer(model, l, &layer) != SW_SUCCESS) {
      CHECK(false, "%s: sw_model_layer(%u)", name, (unsigned)l);
      continue;
    }
    if (l == lstm_layers) {
      CHECK(layer.type == SW_LAYER_DENSE && layer.units == 1 &&
              layer.input_width == hidden,
            "%s: head is type %d, %u -> %u", name, (int)layer.type,
            (unsigned)layer.input_width, (unsigned)layer.units);
      continue;
    }
    const uint32_t width = l == 0 ? 1U : hidden;
    CHECK(layer.type == SW_LAYER_LSTM && layer.units == hidden &&
            layer.input_width == width,
          "%s: layer %u is type %d, %u -> %u; expected LSTM %u -> %u", name,
          (unsigned)l, (int)layer.type, (unsigned)layer.input_width,
          (unsigned)layer.units, (unsigned)width, (unsigned)hidden);
    /* The summed bias sits in bias; the recurrent bias is zero. */
    bool zero = layer.recurrent_bias != NULL;
    for (uint32_t i = 0; zero && i < 4U * hidden; ++i) {
      zero = layer.recurrent_bias[i] == 0.0f;
    }
    CHECK(zero, "%s: layer %u recurrent bias is not all zero", name,
          (unsigned)l);
    bool learned = false;
    for (uint32_t i = 0; layer.initial_h && layer.initial_c && i < hidden;
         ++i) {
      learned = learned || layer.initial_h[i] != 0.0f ||
                layer.initial_c[i] != 0.0f;
    }
    CHECK(learned, "%s: layer %u has no learned initial state", name,
          (unsigned)l);
  }
}

static void
check_refused(const char* const path, const SwStatus status,
              const char* const* const phrases)
{
  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_load(path, &err);
  CHECK(model == NULL, "%s loaded; it must be refused", path);
  sw_model_free(model);
  if (model) {
    return;
  }
  CHECK(err.status == status, "%s: status %s, expected %s (%s)", path,
        sw_strerror(err.status), sw_strerror(status), err.message);
  CHECK(strstr(err.message, path) != NULL,
        "the message \"%s\" does not name the file", err.message);
  for (size_t i = 0; phrases[i]; ++i) {
    CHECK(strstr(err.message, phrases[i]) != NULL,
          "the message \"%s\" does not say \"%s\"", err.message, phrases[i]);
  }
  printf("refused as expected: %s\n", err.message);
}

static void
test_shared(const char* const models_dir, const char* const data_dir)
{
  char* const    path  = join_path(models_dir, "nam/lstm1x3.nam");
  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_load(path, &err);
  CHECK(model != NULL, "%s did not load: %s", path, err.message);
  if (model) {
    check_layers(model, "lstm1x3.nam", 1, 3);
    check_meta(model, "version", "0.5.4");
    check_meta(model, "loudness", "-37.8406868");
    check_meta(model, "input_level_dbu", "18.3");
    check_meta(model, "output_level_dbu", "12.3");
    check_meta(model, "gear_make", "Darkglass Electronics");
    check_meta(model, "modeled_by", "Steve");
    check_meta(model, "date", NULL);
    check_meta(model, "training", NULL);
    check_meta(model, "sample_rate_note", NULL);
    check_reference(model, data_dir, "lstm1x3");
  }
  sw_model_free(model);
  free(path);
}

static void
test_synthesized(const char* const data_dir)
{
  char* const    nam_dir = join_path(data_dir, "nam");
  char* const    path    = join_path(nam_dir, "lstm2x4.nam");
  SwError        err     = {SW_SUCCESS, ""};
  SwModel* const model   = sw_model_load(path, &err);
  CHECK(model != NULL, "%s did not load: %s", path, err.message);
  if (model) {
    check_layers(model, "lstm2x4.nam", 2, 4);
    check_meta(model, "name", "Synthesized 2x4");
    check_meta(model, "loudness", "-20.5");
    check_meta(model, "date", NULL);
    check_meta(model, "validation_esr", NULL);
    const char* const note = sw_model_meta_get(model, "sample_rate_note");
    CHECK(note && strstr(note, "48 kHz"),
          "lstm2x4.nam has no sample_rate; the note is \"%s\"",
          note ? note : "(absent)");
    check_reference(model, data_dir, "lstm2x4");
  }
  sw_model_free(model);
  free(path);

  static const char* const wavenet[] = {
    "NAM architecture \"WaveNet\" is not supported",
    "Statewave runs NAM LSTM models", NULL};
  static const char* const wrong_count[] = {"weights has 260 numbers",
                                            "expected 261", NULL};
  static const char* const missing_hidden[] = {"config.hidden_size",
                                               "missing", NULL};
  char* const wavenet_path = join_path(nam_dir, "wavenet.nam");
  char* const wrong_path   = join_path(nam_dir, "wrong_count.nam");
  char* const missing_path = join_path(nam_dir, "missing_hidden.nam");
  check_refused(wavenet_path, SW_ERR_UNSUPPORTED, wavenet);
  check_refused(wrong_path, SW_ERR_BAD_MODEL, wrong_count);
  check_refused(missing_path, SW_ERR_BAD_MODEL, missing_hidden);
  free(missing_path);
  free(wrong_path);
  free(wavenet_path);
  free(nam_dir);
}

int
main(const int argc, char** const argv)
{
  if (argc == 4 && !strcmp(argv[1], "shared")) {
    skip_without_models(argv[2]);
    char* const data_dir = join_path(argv[3], "formats");
    test_shared(argv[2], data_dir);
    free(data_dir);
  } else if (argc == 3 && !strcmp(argv[1], "synth")) {
    char* const data_dir = join_path(argv[2], "formats");
    test_synthesized(data_dir);
    free(data_dir);
  } else {
    fprintf(stderr, "usage: %s shared MODELS_DIR DATA_DIR\n"
                    "       %s synth DATA_DIR\n", argv[0], argv[0]);
    return 2;
  }
  return failures ? 1 : 0;
}
