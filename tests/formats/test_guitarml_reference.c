/*
  Every GuitarML JSON in ../shared/models/guitarml-json/ loads with
  sw_model_load (the broken one fails with SW_ERR_BAD_MODEL and a message
  naming the file and "state_dict"), reports what it is, and its output on
  tests/data/formats/<name>.in.csv matches PyTorch's <name>.ref.csv within
  1e-5 (max abs), knob columns included.

  Usage: test_guitarml_reference MODELS_DIR DATA_DIR
*/

#include "formats_support.h"

#include <statewave/statewave.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float  tolerance   = 1e-5f;
static const char   broken_name[] = "broken_no_state_dict.json";
static int          failures    = 0;

#define CHECK(cond, ...)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "FAIL: " __VA_ARGS__);                                 \
      fputc('\n', stderr);                                                   \
      ++failures;                                                            \
    }                                                                        \
  } while (0)

static void
check_broken(const char* const path)
{
  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_load(path, &err);
  CHECK(model == NULL, "%s loaded, but it has no state_dict", path);
  sw_model_free(model);
  if (model) {
    return;
  }
  CHECK(err.status == SW_ERR_BAD_MODEL, "%s: status %s, expected %s", path,
        sw_strerror(err.status), sw_strerror(SW_ERR_BAD_MODEL));
  CHECK(strstr(err.message, broken_name) != NULL,
        "the message \"%s\" does not name the file", err.message);
  CHECK(strstr(err.message, "state_dict") != NULL,
        "the message \"%s\" does not name the missing \"state_dict\"",
        err.message);
}

/* Run all frames through a one-stream CPU engine; output [rows][out_w]. */
static float*
run_model(const SwModel* const model, const CsvTable* const input,
          const uint32_t output_width)
{
  SwEngineConfig config = sw_engine_config_default();
  config.backend        = SW_BACKEND_CPU;
  config.max_block      = 512;
  SwError         err    = {SW_SUCCESS, ""};
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  if (!engine) {
    CHECK(engine != NULL, "sw_engine_new: %s", err.message);
    return NULL;
  }
  float* const output =
    (float*)calloc(input->rows * output_width, sizeof(float));
  if (output) {
    const SwStatus status = sw_engine_process_frames(
      engine, input->values, output, (uint32_t)input->rows);
    CHECK(status == SW_SUCCESS, "process_frames: %s", sw_strerror(status));
  }
  sw_engine_free(engine);
  return output;
}

static void
check_model(const char* const models_dir, const char* const data_dir,
            const char* const name)
{
  char* const path = join_path(models_dir, name);
  char        stem[256];
  snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(name) - 5U), name);

  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_load(path, &err);
  CHECK(model != NULL, "%s did not load: %s", path, err.message);
  if (!model) {
    free(path);
    return;
  }

  SwModelInfo info;
  sw_model_info(model, &info);
  CHECK(info.format && !strcmp(info.format, "guitarml-json"),
        "%s: format \"%s\", expected guitarml-json", name,
        info.format ? info.format : "(null)");
  CHECK(info.path && !strcmp(info.path, path), "%s: path \"%s\"", name,
        info.path ? info.path : "(null)");
  CHECK(info.output_width == 1 && info.skip && info.num_layers >= 2,
        "%s: output width %u, skip %d, %u layers", name,
        (unsigned)info.output_width, (int)info.skip,
        (unsigned)info.num_layers);
  CHECK(info.num_knobs == info.input_width - 1U, "%s: %u knobs for width %u",
        name, (unsigned)info.num_knobs, (unsigned)info.input_width);

  /* The file name says the cell: lstm* or gru*; PyTorch GRUs reset after. */
  SwLayerInfo first;
  SwLayerInfo last;
  CHECK(sw_model_layer(model, 0, &first) == SW_SUCCESS &&
          sw_model_layer(model, info.num_layers - 1U, &last) == SW_SUCCESS,
        "%s: sw_model_layer", name);
  const bool is_gru = strncmp(name, "gru", 3) == 0;
  CHECK(first.type == (is_gru ? SW_LAYER_GRU : SW_LAYER_LSTM),
        "%s: layer 0 type %d", name, (int)first.type);
  CHECK(!is_gru || first.gru_reset == SW_GRU_RESET_AFTER,
        "%s: a PyTorch GRU must be reset_after", name);
  CHECK(last.type == SW_LAYER_DENSE && last.units == 1,
        "%s: last layer type %d units %u", name, (int)last.type,
        (unsigned)last.units);

  char     in_name[300];
  char     ref_name[300];
  char     why[256];
  CsvTable input     = {0, 0, NULL};
  CsvTable reference = {0, 0, NULL};
  snprintf(in_name, sizeof(in_name), "%s.in.csv", stem);
  snprintf(ref_name, sizeof(ref_name), "%s.ref.csv", stem);
  char* const in_path  = join_path(data_dir, in_name);
  char* const ref_path = join_path(data_dir, ref_name);
  const bool have_in  = csv_load(in_path, &input, why, sizeof(why));
  CHECK(have_in, "%s: no reference input (run tools/make_format_refs.py): "
        "%s", name, why);
  const bool have_ref = have_in && csv_load(ref_path, &reference, why,
                                            sizeof(why));
  CHECK(!have_in || have_ref, "%s: no reference output: %s", name, why);

  if (have_in && have_ref) {
    CHECK(input.cols == info.input_width, "%s: input has %zu columns, the "
          "model %u", name, input.cols, (unsigned)info.input_width);
    CHECK(reference.rows == input.rows && reference.cols == 1,
          "%s: %zu reference rows x %zu for %zu input rows", name,
          reference.rows, reference.cols, input.rows);
    float* const output = input.cols == info.input_width &&
                              reference.rows == input.rows
                            ? run_model(model, &input, info.output_width)
                            : NULL;
    if (output) {
      float  worst    = 0.0f;
      size_t worst_at = 0;
      bool   finite   = true;
      for (size_t t = 0; t < input.rows; ++t) {
        const float error = fabsf(output[t] - reference.values[t]);
        finite            = finite && isfinite(output[t]);
        if (error > worst) {
          worst    = error;
          worst_at = t;
        }
      }
      CHECK(finite && worst <= tolerance,
            "%s: max |output - PyTorch| = %.3g at frame %zu (got %.9g, "
            "expected %.9g), tolerance %g", name, (double)worst, worst_at,
            (double)output[worst_at], (double)reference.values[worst_at],
            (double)tolerance);
      printf("%-28s %zu frames, max abs error vs PyTorch %.3g\n", name,
             input.rows, (double)worst);
      free(output);
    }
  }

  csv_free(&reference);
  csv_free(&input);
  free(ref_path);
  free(in_path);
  sw_model_free(model);
  free(path);
}

int
main(const int argc, char** const argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODELS_DIR DATA_DIR\n", argv[0]);
    return 2;
  }
  skip_without_models(argv[1]);
  char* const guitarml_dir = join_path(argv[1], "guitarml-json");
  char* const data_dir     = join_path(argv[2], "formats");

  size_t       count = 0;
  char** const names = list_files(guitarml_dir, ".json", &count);
  CHECK(names != NULL && count > 1, "no GuitarML models in %s", guitarml_dir);

  size_t checked    = 0;
  bool   saw_broken = false;
  for (size_t i = 0; names && i < count; ++i) {
    if (!strcmp(names[i], broken_name)) {
      char* const path = join_path(guitarml_dir, names[i]);
      check_broken(path);
      free(path);
      saw_broken = true;
    } else {
      check_model(guitarml_dir, data_dir, names[i]);
      ++checked;
    }
  }
  CHECK(saw_broken, "%s is missing from %s", broken_name, guitarml_dir);

  /* The null path and a NULL err must be handled too. */
  SwError err = {SW_SUCCESS, ""};
  CHECK(sw_model_load(NULL, &err) == NULL && err.status == SW_ERR_BAD_ARG,
        "sw_model_load(NULL) must fail with SW_ERR_BAD_ARG (got %s)",
        sw_strerror(err.status));
  char* const broken_path = join_path(guitarml_dir, broken_name);
  CHECK(sw_model_load(broken_path, NULL) == NULL,
        "the broken model loads when err is NULL");
  free(broken_path);

  free_list(names, count);
  free(data_dir);
  free(guitarml_dir);
  if (failures) {
    fprintf(stderr, "guitarml_reference: %d failure(s)\n", failures);
    return 1;
  }
  printf("guitarml_reference: %zu models match PyTorch within %g\n", checked,
         (double)tolerance);
  return 0;
}
