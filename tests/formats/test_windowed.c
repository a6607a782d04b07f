/*
  Windowed models (SwModelSpec.window): each output frame is one stateless
  Keras call on the last W input frames, zeros before the first.

  test_windowed spec FILE
    tests/data/formats/windowed_small.spec.json (tools/make_windowed_refs.py:
    strided 'same', dilated 'valid' and strided 'causal' Conv1D, GRU, LSTM
    last-only, Dense) built with sw_model_build: the engine's output in odd
    blocks matches tf.keras's within 1e-5 and is bit-identical to one call
    and to sw_model_run_sequence; after a reset the stream starts over.

  test_windowed shared MODELS_DIR DATA_DIR
    ../shared/models/keras-h5/conv_lstm36_windowed.h5 (GuitarLSTM) through
    sw_model_load and sw_engine_process matches tf.keras on GuitarLSTM's
    windows (conv_lstm36_windowed.in.csv / .ref.csv) within 1e-5; the
    model reports window 180 and latency 0. Exits 77 without MODELS_DIR.
*/

#include "formats_support.h"
#include "spec_json.h"

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

static float
max_abs_diff(const float* const a, const float* const b, const size_t n)
{
  float worst = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    const float d = fabsf(a[i] - b[i]);
    worst         = d > worst || d != d ? d : worst;
  }
  return worst;
}

/* Run `frames` frames through a fresh one-stream CPU engine in blocks of
   `block`; false on error. */
static bool
run_frames(const SwModel* const model, const float* const in,
           float* const out, const uint32_t frames, const uint32_t block)
{
  SwEngineConfig config    = sw_engine_config_default();
  config.backend           = SW_BACKEND_CPU;
  config.max_block         = block;
  config.knob_smoothing_ms = 0.0f;
  SwError         err;
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  CHECK(engine != NULL, "sw_engine_new: %s", err.message);
  if (!engine) {
    return false;
  }
  SwModelInfo info;
  sw_model_info(model, &info);
  bool ok = true;
  for (uint32_t t = 0; t < frames && ok; t += block) {
    const uint32_t n = frames - t < block ? frames - t : block;
    ok = sw_engine_process_frames(engine, in + (size_t)t * info.input_width,
                                  out + (size_t)t * info.output_width,
                                  n) == SW_SUCCESS;
  }
  CHECK(ok, "sw_engine_process_frames failed");
  sw_engine_free(engine);
  return ok;
}

static void
check_spec(const char* const path)
{
  SpecJson file;
  char     message[SPEC_JSON_MESSAGE_SIZE];
  if (!spec_json_load(path, &file, message, sizeof(message))) {
    CHECK(false, "%s", message);
    return;
  }
  SwError        err;
  SwModel* const model = sw_model_build(&file.spec, 0, &err);
  CHECK(model != NULL, "%s: sw_model_build: %s", path, err.message);
  const uint32_t T = file.steps;
  const uint32_t O = file.output_width;
  float* const   odd    = (float*)calloc((size_t)T * O, sizeof(float));
  float* const   whole  = (float*)calloc((size_t)T * O, sizeof(float));
  float* const   seq    = (float*)calloc((size_t)T * O, sizeof(float));
  if (model && odd && whole && seq && file.expected &&
      run_frames(model, file.input, odd, T, 7U) &&
      run_frames(model, file.input, whole, T, T)) {
    const float error = max_abs_diff(odd, file.expected, (size_t)T * O);
    printf("windowed_small: %u frames, window %u: max abs error %.3g\n", T,
           file.spec.window, (double)error);
    CHECK(error <= tolerance, "%s: max abs error %g > %g", path,
          (double)error, (double)tolerance);
    CHECK(memcmp(odd, whole, (size_t)T * O * sizeof(float)) == 0,
          "%s: blocks of 7 and one call differ", path);

    SwSequenceOptions options = {1U, T, true, false, false, NULL};
    CHECK(sw_model_run_sequence(model, &options, file.input, seq, NULL,
                                &err) == SW_SUCCESS,
          "sw_model_run_sequence: %s", err.message);
    CHECK(memcmp(odd, seq, (size_t)T * O * sizeof(float)) == 0,
          "%s: sw_model_run_sequence differs from the engine", path);

    /* A reset empties the window: the stream then starts as a new one. */
    SwEngineConfig config    = sw_engine_config_default();
    config.knob_smoothing_ms = 0.0f;
    SwEngine* const engine   = sw_engine_new(model, &config, &err);
    CHECK(engine != NULL, "sw_engine_new: %s", err.message);
    if (engine) {
      sw_engine_process_frames(engine, file.input, seq, T);
      sw_engine_reset(engine, -1);
      sw_engine_process_frames(engine, file.input, seq, T);
      CHECK(memcmp(odd, seq, (size_t)T * O * sizeof(float)) == 0,
            "%s: output after a reset differs from a new stream", path);
      SwLayerInfo layer;
      sw_model_layer(model, 0, &layer);
      CHECK(layer.state_size ==
              (size_t)file.spec.window * file.spec.input_width,
            "layer 0 state_size %zu; expected the window", layer.state_size);
      CHECK(sw_engine_latency(engine) == 0, "latency %u; expected 0",
            sw_engine_latency(engine));
      sw_engine_free(engine);
    }
  }
  free(odd);
  free(whole);
  free(seq);
  sw_model_free(model);
  spec_json_free(&file);
}

static void
check_shared(const char* const models_dir, const char* const data_dir)
{
  skip_without_models(models_dir);
  char* const dir   = join_path(models_dir, "keras-h5");
  char* const path  = join_path(dir, "conv_lstm36_windowed.h5");
  char* const fdir  = join_path(data_dir, "formats");
  char* const in_p  = join_path(fdir, "conv_lstm36_windowed.in.csv");
  char* const ref_p = join_path(fdir, "conv_lstm36_windowed.ref.csv");
  CsvTable    in = {0, 0, NULL}, ref = {0, 0, NULL};
  char        why[256];
  SwError     err;
  SwModel* const model = sw_model_load(path, &err);
  CHECK(model != NULL, "%s: %s", path, err.message);
  const bool have = csv_load(in_p, &in, why, sizeof(why)) &&
                    csv_load(ref_p, &ref, why, sizeof(why));
  CHECK(have, "%s", why);
  if (model && have) {
    SwModelInfo info;
    sw_model_info(model, &info);
    CHECK(info.window == 180U && info.state_size == 180U,
          "window %u, state %zu; expected 180 and 180", info.window,
          info.state_size);
    CHECK(in.rows == ref.rows && in.cols == 1U && ref.cols == 1U,
          "%zu x %zu input, %zu x %zu reference; expected N x 1 each",
          in.rows, in.cols, ref.rows, ref.cols);
    SwEngineConfig config  = sw_engine_config_default();
    config.max_block       = 100; /* not a divisor of the window */
    SwEngine* const engine = sw_engine_new(model, &config, &err);
    CHECK(engine != NULL, "sw_engine_new: %s", err.message);
    float* const out = (float*)calloc(in.rows + 1U, sizeof(float));
    if (engine && out && in.rows == ref.rows) {
      const float* ins[1]  = {in.values};
      float*       outs[1] = {out};
      CHECK(sw_engine_process(engine, ins, outs, (uint32_t)in.rows) ==
              SW_SUCCESS,
            "sw_engine_process failed");
      const float error = max_abs_diff(out, ref.values, in.rows);
      printf("conv_lstm36_windowed.h5: %zu frames, window %u, %llu "
             "multiply-adds per frame: max abs error %.3g\n",
             in.rows, info.window, (unsigned long long)info.macs_per_frame,
             (double)error);
      CHECK(error <= tolerance, "%s: max abs error %g > %g", path,
            (double)error, (double)tolerance);
      CHECK(sw_engine_latency(engine) == 0, "latency %u; expected 0",
            sw_engine_latency(engine));
    }
    free(out);
    sw_engine_free(engine);
  }
  csv_free(&in);
  csv_free(&ref);
  sw_model_free(model);
  free(in_p);
  free(ref_p);
  free(fdir);
  free(path);
  free(dir);
}

int
main(const int argc, char** const argv)
{
  if (argc == 3 && !strcmp(argv[1], "spec")) {
    check_spec(argv[2]);
  } else if (argc == 4 && !strcmp(argv[1], "shared")) {
    check_shared(argv[2], argv[3]);
  } else {
    fprintf(stderr,
            "usage: %s spec FILE | shared MODELS_DIR DATA_DIR\n", argv[0]);
    return 2;
  }
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("PASS\n");
  return 0;
}
