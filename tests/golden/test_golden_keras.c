/*
  Golden test of Keras semantics: every keras_* spec case in the manifest
  (Keras 2 and Keras 3 hard_sigmoid, GRU reset_after=False, SimpleRNN,
  plain-Keras LSTM activations, every Dense activation; references from the
  Keras formulas in numpy float64, Keras layout) is built with
  sw_model_build() from canonical weights and run through an engine and
  through sw_model_run_sequence(). Both must stay within 1e-5 at every step.

  Usage: test_golden_keras <golden data dir> [case ...]
*/

#include "golden_support.h"

#include <statewave/statewave.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An odd block size, so blocks straddle the cases' step counts unevenly. */
#define BLOCK_FRAMES 96U

static bool
run_engine(const SwModel* const model, const SwBackendKind backend,
           const SpecJson* const file, float* const out,
           char* const backend_name, const size_t backend_name_size)
{
  SwEngine* const engine = golden_engine(model, backend, 1U, BLOCK_FRAMES);
  if (!engine) {
    return false;
  }
  snprintf(backend_name, backend_name_size, "%s",
           sw_engine_backend_name(engine));
  const uint32_t in_width  = file->spec.input_width;
  const uint32_t out_width = file->output_width;
  bool           ok        = true;
  for (uint32_t t = 0; t < file->steps && ok; t += BLOCK_FRAMES) {
    const uint32_t n =
      file->steps - t < BLOCK_FRAMES ? file->steps - t : BLOCK_FRAMES;
    const SwStatus status = sw_engine_process_frames(
      engine, file->input + (size_t)t * in_width,
      out + (size_t)t * out_width, n);
    if (status != SW_SUCCESS) {
      fprintf(stderr, "sw_engine_process_frames at frame %u: %s\n", t,
              sw_strerror(status));
      ok = false;
    }
  }
  sw_engine_free(engine);
  return ok;
}

static bool
run_case(const char* const dir, const char* const name)
{
  char* const path = golden_path(dir, name, ".spec.json");
  if (!path) {
    return false;
  }
  char     message[SPEC_JSON_MESSAGE_SIZE];
  SpecJson file;
  if (!spec_json_load(path, &file, message, sizeof(message))) {
    fprintf(stderr, "%s\n", message);
    free(path);
    return false;
  }
  free(path);

  bool         ok    = false;
  SwModel*     model = NULL;
  const size_t count = (size_t)file.steps * file.output_width;
  float* const out   = (float*)calloc(count ? count : 1U, sizeof(float));
  if (!out || !file.input || !file.expected || file.batch != 1U ||
      file.steps == 0U) {
    fprintf(stderr, "%s: needs steps, input and expected for one stream\n",
            name);
    goto done;
  }
  if (golden_peak(file.expected, count) < GOLDEN_MIN_SIGNAL) {
    fprintf(stderr, "%s: reference output is trivially small\n", name);
    goto done;
  }

  SwError err;
  model = sw_model_build(&file.spec, 1U, &err);
  if (!model) {
    fprintf(stderr, "%s: sw_model_build: %s: %s\n", name,
            sw_strerror(err.status), err.message);
    goto done;
  }
  SwModelInfo info;
  sw_model_info(model, &info);
  if (info.input_width != file.spec.input_width ||
      info.output_width != file.output_width ||
      info.state_size != file.state_size) {
    fprintf(stderr,
            "%s: model info input_width %u output_width %u state_size %zu; "
            "expected %u, %u, %zu\n",
            name, info.input_width, info.output_width, info.state_size,
            file.spec.input_width, file.output_width, file.state_size);
    goto done;
  }

  ok = true;
  char                first_backend[32] = "";
  const SwBackendKind backends[] = {SW_BACKEND_CPU, SW_BACKEND_AUTO};
  for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); ++b) {
    char backend_name[32];
    memset(out, 0, count * sizeof(float));
    if (!run_engine(model, backends[b], &file, out, backend_name,
                    sizeof(backend_name))) {
      ok = false;
      continue;
    }
    if (b > 0 && !strcmp(backend_name, first_backend)) {
      continue; /* auto chose the CPU: already checked */
    }
    snprintf(first_backend, sizeof(first_backend), "%s", backend_name);
    char label[96];
    snprintf(label, sizeof(label), "%s engine %s", name, backend_name);
    const GoldenDiff diff = golden_compare(out, file.expected, count);
    ok = golden_report(label, &diff) && ok;
  }

  /* The same call as one Keras sequence of batch 1. */
  memset(out, 0, count * sizeof(float));
  SwSequenceOptions options;
  memset(&options, 0, sizeof(options));
  options.batch            = 1U;
  options.steps            = file.steps;
  options.return_sequences = true;
  if (sw_model_run_sequence(model, &options, file.input, out, NULL, &err) !=
      SW_SUCCESS) {
    fprintf(stderr, "%s: sw_model_run_sequence: %s: %s\n", name,
            sw_strerror(err.status), err.message);
    ok = false;
  } else {
    char label[96];
    snprintf(label, sizeof(label), "%s sequence", name);
    const GoldenDiff diff = golden_compare(out, file.expected, count);
    ok = golden_report(label, &diff) && ok;
  }

done:
  sw_model_free(model);
  free(out);
  spec_json_free(&file);
  return ok;
}

int
main(int argc, char** argv)
{
  return golden_main(argc, argv, "keras_cases", "golden keras", run_case);
}
