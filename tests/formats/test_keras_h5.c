/*
  Keras 2 HDF5 files written by real Keras (tools/make_keras_refs.py):

  test_keras_h5 reference DATA_DIR
    every row of DATA_DIR/MANIFEST.tsv: "match" files load through
    sw_model_load and their output on <name>.in.csv matches Keras's own
    <name>.ref.csv within 1e-5 (max abs; printed per file); a CuDNN file's
    output differs from its "_misread" twin's reference (the same numbers
    taken in the plain layout), so a reader that ignored the CuDNN layout
    would fail here; "needs-architecture" files are refused as unsupported
    with a message asking for an architecture; "unsupported" files are
    refused as unsupported with a message naming the file.

  test_keras_h5 shared MODELS_DIR
    ../shared/models/keras-h5/: the weights-only GRU file asks for an
    architecture (the windowed GuitarLSTM model loads: test_windowed.c).
    Exits 77 without that folder.
*/

#include "formats_support.h"

#include <statewave/statewave.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float tolerance = 1e-5f;
/* A misread CuDNN layout moves the output by far more than rounding. */
static const float layout_difference = 1e-2f;
static int         failures          = 0;

#define CHECK(cond, ...)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "FAIL: " __VA_ARGS__);                                 \
      fputc('\n', stderr);                                                   \
      ++failures;                                                            \
    }                                                                        \
  } while (0)

/* Load `name` from `dir`, run it on its input; NULL on failure. The
   reference table is loaded into *reference. */
static float*
output_of(const char* const dir, const char* const name,
          CsvTable* const reference, size_t* const values)
{
  char  stem[256];
  char  file[300];
  char  why[256];
  snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(name) - 3U), name);
  CsvTable input = {0, 0, NULL};
  snprintf(file, sizeof(file), "%s/%s.in.csv", dir, stem);
  const bool have_input = csv_load(file, &input, why, sizeof(why));
  CHECK(have_input, "%s: %s", file, why);
  snprintf(file, sizeof(file), "%s/%s.ref.csv", dir, stem);
  const bool have_reference = csv_load(file, reference, why, sizeof(why));
  CHECK(have_reference, "%s: %s", file, why);

  char* const    path  = join_path(dir, name);
  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_load(path, &err);
  CHECK(model != NULL, "%s did not load: %s", name, err.message);
  float* output = NULL;
  if (model && have_input && have_reference) {
    SwModelInfo info;
    sw_model_info(model, &info);
    CHECK(!strcmp(info.format, "keras-h5"), "%s: format \"%s\"", name,
          info.format);
    CHECK(info.input_width == input.cols && info.output_width ==
                                              reference->cols &&
            input.rows == reference->rows,
          "%s: widths %u -> %u, data %zu -> %zu columns", name,
          (unsigned)info.input_width, (unsigned)info.output_width, input.cols,
          reference->cols);
    if (info.input_width == input.cols &&
        info.output_width == reference->cols &&
        input.rows == reference->rows) {
      output  = formats_run_csv(model, &input, 64, why, sizeof(why));
      CHECK(output != NULL, "%s: %s", name, why);
      *values = reference->rows * reference->cols;
    }
  }
  sw_model_free(model);
  free(path);
  csv_free(&input);
  return output;
}

static void
check_match(const char* const dir, const char* const name)
{
  CsvTable     reference = {0, 0, NULL};
  size_t       values    = 0;
  float* const output    = output_of(dir, name, &reference, &values);
  if (output) {
    const float error = formats_max_difference(output, reference.values, values);
    printf("%-40s max |statewave - keras| = %.3g over %zu values\n", name,
           (double)error, values);
    CHECK(error <= tolerance, "%s: error %.3g exceeds %.1g", name,
          (double)error, (double)tolerance);
  }

  /* A CuDNN file against its misread twin's reference. */
  char twin[300];
  snprintf(twin, sizeof(twin), "%s/%.*s_misread.ref.csv", dir,
           (int)(strlen(name) - 3U), name);
  CsvTable misread = {0, 0, NULL};
  char     why[256];
  if (output && !strstr(name, "_misread") &&
      csv_load(twin, &misread, why, sizeof(why))) {
    CHECK(misread.rows * misread.cols == values, "%s: size differs", twin);
    if (misread.rows * misread.cols == values) {
      const float apart = formats_max_difference(output, misread.values, values);
      printf("%-40s differs from the plain-layout reading by %.3g\n", name,
             (double)apart);
      CHECK(apart > layout_difference,
            "%s: output equals the plain-layout reading (%.3g): the CuDNN "
            "layout test cannot fail",
            name, (double)apart);
    }
    csv_free(&misread);
  }
  free(output);
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
  char* const  manifest = join_path(dir, "MANIFEST.tsv");
  size_t       length   = 0;
  char* const  text     = read_file(manifest, &length);
  size_t       rows     = 0;
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
      char* const path = join_path(dir, name);
      if (!strcmp(expect, "match")) {
        check_match(dir, name);
      } else if (!strcmp(expect, "needs-architecture")) {
        check_refused(path, SW_ERR_UNSUPPORTED, "architecture");
      } else if (!strcmp(expect, "unsupported")) {
        check_refused(path, SW_ERR_UNSUPPORTED, "layer");
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
}

static void
check_shared(const char* const models_dir)
{
  skip_without_models(models_dir);
  char* const dir     = join_path(models_dir, "keras-h5");
  char* const weights = join_path(dir, "gru32_weights_only.hdf5");
  check_refused(weights, SW_ERR_UNSUPPORTED, "architecture");
  free(weights);
  free(dir);
}

int
main(const int argc, char** const argv)
{
  if (argc != 3 || (strcmp(argv[1], "reference") && strcmp(argv[1], "shared"))) {
    fprintf(stderr, "usage: %s reference DATA_DIR | shared MODELS_DIR\n",
            argv[0]);
    return 2;
  }
  if (!strcmp(argv[1], "reference")) {
    check_manifest(argv[2]);
  } else {
    check_shared(argv[2]);
  }
  printf("keras_h5 %s: %d failure(s)\n", argv[1], failures);
  return failures ? 1 : 0;
}
