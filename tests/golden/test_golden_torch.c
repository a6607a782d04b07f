/*
  Golden test against PyTorch: every GuitarML model in the manifest
  (nn.LSTM / nn.GRU + nn.Linear, written by tools/make_golden.py) is loaded
  with sw_model_load() and run free, from zero state, over the 20000-frame
  input in blocks through an engine. The output must stay within 1e-5 of
  torch's float32 output at every step.

  Usage: test_golden_torch <golden data dir> [case ...]
*/

#include "golden_support.h"

#include <statewave/statewave.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Engine block size; 20000 is not a multiple, so a short block ends. */
#define BLOCK_FRAMES 256U

typedef struct {
  const char* name;
  const char* unit_type;
  uint32_t    hidden;
  uint32_t    layers;
  uint32_t    input_width;
  bool        skip;
} TorchCase;

typedef struct {
  const float* columns; /* input.f32: [steps][num_columns] */
  uint32_t     num_columns;
  uint32_t     steps;
} SharedInput;

static float*
read_f32_file(const char* const path, const size_t count)
{
  FILE* const file = fopen(path, "rb");
  if (!file) {
    fprintf(stderr, "%s: cannot open\n", path);
    return NULL;
  }
  float* const values = (float*)malloc(count * sizeof(float));
  size_t       got    = 0;
  if (values) {
    got = fread(values, sizeof(float), count, file);
  }
  /* The file must hold exactly `count` floats: one more byte is an error. */
  const bool longer = fgetc(file) != EOF;
  fclose(file);
  if (!values || got != count || longer) {
    fprintf(stderr, "%s: expected exactly %zu float32 values\n", path, count);
    free(values);
    return NULL;
  }
  return values;
}

static bool
read_case(const cJSON* const item, TorchCase* const test_case)
{
  const cJSON* const name = cJSON_GetObjectItemCaseSensitive(item, "name");
  const cJSON* const unit = cJSON_GetObjectItemCaseSensitive(item, "unit_type");
  const cJSON* const hidden =
    cJSON_GetObjectItemCaseSensitive(item, "hidden_size");
  const cJSON* const layers =
    cJSON_GetObjectItemCaseSensitive(item, "num_layers");
  const cJSON* const width =
    cJSON_GetObjectItemCaseSensitive(item, "input_width");
  const cJSON* const skip = cJSON_GetObjectItemCaseSensitive(item, "skip");
  if (!cJSON_IsString(name) || !cJSON_IsString(unit) ||
      !cJSON_IsNumber(hidden) || !cJSON_IsNumber(layers) ||
      !cJSON_IsNumber(width) || !cJSON_IsBool(skip) ||
      width->valuedouble < 1.0 || width->valuedouble > 3.0) {
    fprintf(stderr, "manifest: malformed torch case\n");
    return false;
  }
  test_case->name        = name->valuestring;
  test_case->unit_type   = unit->valuestring;
  test_case->hidden      = (uint32_t)hidden->valuedouble;
  test_case->layers      = (uint32_t)layers->valuedouble;
  test_case->input_width = (uint32_t)width->valuedouble;
  test_case->skip        = cJSON_IsTrue(skip);
  return true;
}

/* The model must be what the file says, or the comparison means nothing. */
static bool
check_model_info(const TorchCase* const test_case, const SwModel* const model)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  if (info.input_width != test_case->input_width ||
      info.output_width != 1U || info.skip != test_case->skip) {
    fprintf(stderr,
            "%s: model info input_width %u output_width %u skip %d; "
            "expected %u, 1, %d\n",
            test_case->name, info.input_width, info.output_width,
            (int)info.skip, test_case->input_width, (int)test_case->skip);
    return false;
  }
  return true;
}

/* Sanity of the reference: not zero, and the network (not only the skip)
   moves it. */
static bool
check_reference(const TorchCase* const test_case, const float* const expected,
                const SharedInput* const input)
{
  double net_peak = 0.0;
  for (uint32_t t = 0; t < input->steps; ++t) {
    const double skip_part =
      test_case->skip ? (double)input->columns[(size_t)t * input->num_columns]
                      : 0.0;
    net_peak = fmax(net_peak, fabs((double)expected[t] - skip_part));
  }
  if (golden_peak(expected, input->steps) < GOLDEN_MIN_SIGNAL ||
      net_peak < GOLDEN_MIN_SIGNAL) {
    fprintf(stderr, "%s: reference output is trivially small\n",
            test_case->name);
    return false;
  }
  return true;
}

/* Run `frames` [steps][width] through a fresh engine in blocks. */
static bool
run_engine(const SwModel* const model, const SwBackendKind backend,
           const float* const frames, const uint32_t width,
           const uint32_t steps, float* const out, char* const backend_name,
           const size_t backend_name_size)
{
  SwEngine* const engine = golden_engine(model, backend, 1U, BLOCK_FRAMES);
  if (!engine) {
    return false;
  }
  snprintf(backend_name, backend_name_size, "%s",
           sw_engine_backend_name(engine));
  bool ok = true;
  for (uint32_t t = 0; t < steps && ok; t += BLOCK_FRAMES) {
    const uint32_t n = steps - t < BLOCK_FRAMES ? steps - t : BLOCK_FRAMES;
    const SwStatus status = sw_engine_process_frames(
      engine, frames + (size_t)t * width, out + t, n);
    if (status != SW_SUCCESS) {
      fprintf(stderr, "sw_engine_process_frames at frame %u: %s\n", t,
              sw_strerror(status));
      ok = false;
    }
  }
  if (ok && sw_engine_nonfinite_resets(engine) != 0U) {
    fprintf(stderr, "engine reset a stream for a non-finite state\n");
    ok = false;
  }
  sw_engine_free(engine);
  return ok;
}

/* The planar sw_engine_process() path, for models with no knob column
   (knob columns there are smoothed knob values, not input). */
static bool
run_engine_planar(const SwModel* const model, const float* const audio,
                  const uint32_t steps, float* const out)
{
  SwEngine* const engine =
    golden_engine(model, SW_BACKEND_CPU, 1U, BLOCK_FRAMES);
  if (!engine) {
    return false;
  }
  bool ok = true;
  for (uint32_t t = 0; t < steps && ok; t += BLOCK_FRAMES) {
    const uint32_t     n     = steps - t < BLOCK_FRAMES ? steps - t : BLOCK_FRAMES;
    const float* const in[1] = {audio + t};
    float* const       dst[1] = {out + t};
    ok = sw_engine_process(engine, in, dst, n) == SW_SUCCESS;
  }
  sw_engine_free(engine);
  return ok;
}

static bool
run_case(const char* const dir, const TorchCase* const test_case,
         const SharedInput* const input)
{
  const uint32_t steps  = input->steps;
  const uint32_t width  = test_case->input_width;
  char* const    path   = golden_path(dir, test_case->name, ".json");
  char* const    f32    = golden_path(dir, test_case->name, ".out.f32");
  float* const   frames = (float*)malloc((size_t)steps * width * sizeof(float));
  float* const   audio  = (float*)malloc((size_t)steps * sizeof(float));
  float* const   out    = (float*)malloc((size_t)steps * sizeof(float));
  float*         expected = NULL;
  SwModel*       model    = NULL;
  bool           ok       = false;
  if (!path || !f32 || !frames || !audio || !out) {
    fprintf(stderr, "out of memory\n");
    goto done;
  }
  expected = read_f32_file(f32, steps);
  if (!expected || !check_reference(test_case, expected, input)) {
    goto done;
  }

  SwError err;
  model = sw_model_load(path, &err);
  if (!model) {
    fprintf(stderr, "%s: sw_model_load: %s: %s\n", test_case->name,
            sw_strerror(err.status), err.message);
    goto done;
  }
  if (!check_model_info(test_case, model)) {
    goto done;
  }

  /* The case's input: the first `width` columns of the shared input. */
  for (uint32_t t = 0; t < steps; ++t) {
    for (uint32_t c = 0; c < width; ++c) {
      frames[(size_t)t * width + c] =
        input->columns[(size_t)t * input->num_columns + c];
    }
    audio[t] = input->columns[(size_t)t * input->num_columns];
  }

  ok = true;
  char first_backend[32] = "";
  const SwBackendKind backends[] = {SW_BACKEND_CPU, SW_BACKEND_AUTO};
  for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); ++b) {
    char backend_name[32];
    memset(out, 0, (size_t)steps * sizeof(float));
    if (!run_engine(model, backends[b], frames, width, steps, out,
                    backend_name, sizeof(backend_name))) {
      ok = false;
      continue;
    }
    if (b > 0 && !strcmp(backend_name, first_backend)) {
      continue; /* auto chose the CPU: already checked */
    }
    snprintf(first_backend, sizeof(first_backend), "%s", backend_name);
    char label[128];
    snprintf(label, sizeof(label), "%s (%s H=%u L=%u I=%u) %s", test_case->name,
             test_case->unit_type, test_case->hidden, test_case->layers, width,
             backend_name);
    const GoldenDiff diff = golden_compare(out, expected, steps);
    ok = golden_report(label, &diff) && ok;
  }

  if (width == 1U) {
    memset(out, 0, (size_t)steps * sizeof(float));
    if (!run_engine_planar(model, audio, steps, out)) {
      fprintf(stderr, "%s: sw_engine_process failed\n", test_case->name);
      ok = false;
    } else {
      char label[128];
      snprintf(label, sizeof(label), "%s cpu, sw_engine_process",
               test_case->name);
      const GoldenDiff diff = golden_compare(out, expected, steps);
      ok = golden_report(label, &diff) && ok;
    }
  }

done:
  sw_model_free(model);
  free(expected);
  free(out);
  free(audio);
  free(frames);
  free(f32);
  free(path);
  return ok;
}

int
main(int argc, char** argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: %s <golden data dir> [case ...]\n", argv[0]);
    return 2;
  }
  const char* const dir      = argv[1];
  cJSON* const      manifest = golden_manifest(dir);
  if (!manifest) {
    return 1;
  }
  const cJSON* const steps =
    cJSON_GetObjectItemCaseSensitive(manifest, "steps");
  const cJSON* const columns =
    cJSON_GetObjectItemCaseSensitive(manifest, "input_columns");
  const cJSON* const cases =
    cJSON_GetObjectItemCaseSensitive(manifest, "torch_cases");
  if (!cJSON_IsNumber(steps) || !cJSON_IsNumber(columns) ||
      !cJSON_IsArray(cases) || steps->valuedouble < 1.0 ||
      columns->valuedouble < 3.0) {
    fprintf(stderr, "manifest: steps, input_columns or torch_cases missing\n");
    cJSON_Delete(manifest);
    return 1;
  }

  SharedInput input;
  input.steps       = (uint32_t)steps->valuedouble;
  input.num_columns = (uint32_t)columns->valuedouble;
  char* const  input_path = golden_path(dir, "input", ".f32");
  float* const columns_data =
    input_path
      ? read_f32_file(input_path, (size_t)input.steps * input.num_columns)
      : NULL;
  free(input_path);
  if (!columns_data) {
    cJSON_Delete(manifest);
    return 1;
  }
  input.columns = columns_data;

  unsigned     run    = 0;
  unsigned     failed = 0;
  const cJSON* item   = NULL;
  cJSON_ArrayForEach(item, cases)
  {
    TorchCase test_case;
    if (!read_case(item, &test_case)) {
      ++failed;
      continue;
    }
    if (!golden_selected(argc, argv, test_case.name)) {
      continue;
    }
    ++run;
    if (!run_case(dir, &test_case, &input)) {
      printf("%s: FAILED\n", test_case.name);
      ++failed;
    }
  }
  free(columns_data);
  cJSON_Delete(manifest);

  printf("golden torch: %u cases run, %u failed (tolerance %g)\n", run, failed,
         GOLDEN_TOLERANCE);
  if (run == 0U) {
    fprintf(stderr, "no case ran\n");
    return 1;
  }
  return failed ? 1 : 0;
}
