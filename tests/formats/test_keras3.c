/*
  Keras 3 .keras files written by real Keras (tools/make_keras3_refs.py):

  test_keras3 DATA_DIR
    every row of DATA_DIR/MANIFEST.tsv: "match" files load through
    sw_model_load as format "keras3" and their output on <name>.in.csv
    matches Keras's own <name>.ref.csv within 1e-5 (max abs; printed per
    file); "unsupported" files are refused as unsupported naming the layer;
    "bad-model" files (a zip without model.weights.h5, a broken config.json)
    are refused as bad models naming the file and the member.
    hard_sigmoid by version: lstm_hard_sigmoid_stateful.keras (Keras 3:
    x/6 + 0.5) and lstm_hard_sigmoid_as_keras2.keras (the same archive
    saying keras_version 2.15.0: 0.2x + 0.5) each match their own
    reference and differ from the other's, so a reader that ignored the
    version would fail here.
*/

#include "formats_support.h"

#include <statewave/statewave.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float tolerance = 1e-5f;
/* The two hard_sigmoid slopes move the output by far more than rounding. */
static const float slope_difference = 1e-3f;
static int         failures         = 0;

#define CHECK(cond, ...)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "FAIL: " __VA_ARGS__);                                 \
      fputc('\n', stderr);                                                   \
      ++failures;                                                            \
    }                                                                        \
  } while (0)

/* Load <stem>.keras from `dir` and run it on <stem>.in.csv; NULL on
   failure. <stem>.ref.csv is loaded into *reference. */
static float*
output_of(const char* const dir, const char* const stem,
          CsvTable* const reference, size_t* const values)
{
  char     file[300];
  char     why[256];
  CsvTable input = {0, 0, NULL};
  snprintf(file, sizeof(file), "%s/%s.in.csv", dir, stem);
  const bool have_input = csv_load(file, &input, why, sizeof(why));
  CHECK(have_input, "%s: %s", file, why);
  snprintf(file, sizeof(file), "%s/%s.ref.csv", dir, stem);
  const bool have_reference = csv_load(file, reference, why, sizeof(why));
  CHECK(have_reference, "%s: %s", file, why);

  snprintf(file, sizeof(file), "%s/%s.keras", dir, stem);
  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_load(file, &err);
  CHECK(model != NULL, "%s did not load: %s", file, err.message);
  float* output = NULL;
  if (model && have_input && have_reference) {
    SwModelInfo info;
    sw_model_info(model, &info);
    CHECK(!strcmp(info.format, "keras3"), "%s: format \"%s\"", stem,
          info.format);
    const bool fits = info.input_width == input.cols &&
                      info.output_width == reference->cols &&
                      input.rows == reference->rows;
    CHECK(fits, "%s: widths %u -> %u, data %zu -> %zu columns", stem,
          (unsigned)info.input_width, (unsigned)info.output_width, input.cols,
          reference->cols);
    if (fits) {
      output  = formats_run_csv(model, &input, 64, why, sizeof(why));
      CHECK(output != NULL, "%s: %s", stem, why);
      *values = reference->rows * reference->cols;
    }
  }
  sw_model_free(model);
  csv_free(&input);
  return output;
}

static void
check_match(const char* const dir, const char* const stem)
{
  CsvTable     reference = {0, 0, NULL};
  size_t       values    = 0;
  float* const output    = output_of(dir, stem, &reference, &values);
  if (output) {
    const float error = formats_max_difference(output, reference.values, values);
    printf("%-40s max |statewave - keras| = %.3g over %zu values\n", stem,
           (double)error, values);
    CHECK(error <= tolerance, "%s: error %.3g exceeds %.1g", stem,
          (double)error, (double)tolerance);
  }
  free(output);
  csv_free(&reference);
}

/* The output of <stem>.keras must differ from <other>.ref.csv. */
static void
check_differs(const char* const dir, const char* const stem,
              const char* const other)
{
  CsvTable     reference = {0, 0, NULL};
  CsvTable     twin      = {0, 0, NULL};
  size_t       values    = 0;
  char         file[300];
  char         why[256];
  float* const output    = output_of(dir, stem, &reference, &values);
  snprintf(file, sizeof(file), "%s/%s.ref.csv", dir, other);
  const bool have_twin = csv_load(file, &twin, why, sizeof(why));
  CHECK(have_twin, "%s: %s", file, why);
  if (output && have_twin) {
    CHECK(twin.rows * twin.cols == values, "%s: size differs", file);
    if (twin.rows * twin.cols == values) {
      const float apart = formats_max_difference(output, twin.values, values);
      printf("%-40s differs from %s's reference by %.3g\n", stem, other,
             (double)apart);
      CHECK(apart > slope_difference,
            "%s: output equals %s's reference (%.3g): the hard_sigmoid "
            "version test cannot fail",
            stem, other, (double)apart);
    }
  }
  free(output);
  csv_free(&twin);
  csv_free(&reference);
}

/* `path` must be refused with `status` and a message containing the path
   and `needle`. */
static void
check_refused(const char* const path, const SwStatus status,
              const char* const needle)
{
  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_load(path, &err);
  CHECK(model == NULL, "%s loaded; expected a refusal mentioning \"%s\"",
        path, needle);
  sw_model_free(model);
  if (model) {
    return;
  }
  printf("%s\n  refused: %s\n", path, err.message);
  CHECK(err.status == status, "%s: status %s, expected %s", path,
        sw_strerror(err.status), sw_strerror(status));
  CHECK(strstr(err.message, path) != NULL,
        "the message \"%s\" does not name the file", err.message);
  CHECK(strstr(err.message, needle) != NULL,
        "the message \"%s\" does not mention \"%s\"", err.message, needle);
}

static void
check_manifest(const char* const dir)
{
  char* const manifest = join_path(dir, "MANIFEST.tsv");
  size_t      length   = 0;
  char* const text     = read_file(manifest, &length);
  size_t      rows     = 0;
  CHECK(text != NULL, "cannot read %s", manifest);
  for (char* line = text; line && *line;) {
    char* const end = strchr(line, '\n');
    if (end) {
      *end = '\0';
    }
    char name[200], expect[40];
    if (line[0] != '#' &&
        sscanf(line, "%199[^\t]\t%39[^\t]", name, expect) == 2) {
      ++rows;
      char* const  path = join_path(dir, name);
      const size_t n    = strlen(name);
      char         stem[200];
      snprintf(stem, sizeof(stem), "%.*s", n > 6U ? (int)(n - 6U) : 0, name);
      if (!strcmp(expect, "match")) {
        check_match(dir, stem);
      } else if (!strcmp(expect, "unsupported")) {
        check_refused(path, SW_ERR_UNSUPPORTED, "layer");
      } else if (!strcmp(expect, "bad-model")) {
        check_refused(path, SW_ERR_BAD_MODEL,
                      strstr(name, "no_weights") ? "model.weights.h5"
                                                 : "config.json");
      } else {
        CHECK(false, "%s: unknown expectation \"%s\"", manifest, expect);
      }
      free(path);
    }
    line = end ? end + 1 : NULL;
  }
  CHECK(rows >= 10, "%s lists %zu files; expected the whole set", manifest,
        rows);
  free(text);
  free(manifest);

  check_differs(dir, "lstm_hard_sigmoid_stateful",
                "lstm_hard_sigmoid_as_keras2");
  check_differs(dir, "lstm_hard_sigmoid_as_keras2",
                "lstm_hard_sigmoid_stateful");
}

int
main(const int argc, char** const argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
    return 2;
  }
  check_manifest(argv[1]);
  printf("keras3: %d failure(s)\n", failures);
  return failures ? 1 : 0;
}
