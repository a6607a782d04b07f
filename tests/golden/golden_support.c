/* Helpers shared by the golden tests; see golden_support.h. */

#include "golden_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char*
golden_path(const char* const dir, const char* const name,
            const char* const suffix)
{
  const size_t size   = strlen(dir) + strlen(name) + strlen(suffix) + 2U;
  char* const  result = (char*)malloc(size);
  if (result) {
    snprintf(result, size, "%s/%s%s", dir, name, suffix);
  }
  return result;
}

cJSON*
golden_manifest(const char* const dir)
{
  char* const path = golden_path(dir, "manifest", ".json");
  if (!path) {
    fprintf(stderr, "out of memory\n");
    return NULL;
  }
  char         message[SPEC_JSON_MESSAGE_SIZE];
  cJSON* const manifest =
    spec_json_read_document(path, message, sizeof(message));
  if (!manifest) {
    fprintf(stderr, "%s\n", message);
  }
  free(path);
  return manifest;
}

bool
golden_selected(const int argc, char** const argv, const char* const name)
{
  if (argc <= 2) {
    return true;
  }
  for (int i = 2; i < argc; ++i) {
    if (!strcmp(argv[i], name)) {
      return true;
    }
  }
  return false;
}

GoldenDiff
golden_compare(const float* const got, const float* const expected,
               const size_t count)
{
  GoldenDiff diff = {0.0, 0U, 0.0, 0.0};
  if (count) {
    diff.got      = (double)got[0];
    diff.expected = (double)expected[0];
  }
  for (size_t i = 0; i < count; ++i) {
    const double error = isfinite(got[i])
                           ? fabs((double)got[i] - (double)expected[i])
                           : (double)INFINITY;
    if (error > diff.max_error) {
      diff.max_error = error;
      diff.where     = i;
      diff.got       = (double)got[i];
      diff.expected  = (double)expected[i];
    }
  }
  return diff;
}

double
golden_peak(const float* const values, const size_t count)
{
  double peak = 0.0;
  for (size_t i = 0; i < count; ++i) {
    peak = fmax(peak, fabs((double)values[i]));
  }
  return peak;
}

bool
golden_report(const char* const label, const GoldenDiff* const diff)
{
  const bool ok = diff->max_error <= GOLDEN_TOLERANCE;
  printf("%-58s max abs error %.3e at %zu (expected %.7f, got %.7f)%s\n",
         label, diff->max_error, diff->where, diff->expected, diff->got,
         ok ? "" : "  FAIL");
  return ok;
}

SwEngine*
golden_engine(const SwModel* const model, const SwBackendKind backend,
              const uint32_t streams, const uint32_t max_block)
{
  SwEngineConfig config    = sw_engine_config_default();
  config.streams           = streams;
  config.max_block         = max_block;
  config.backend           = backend;
  config.knob_smoothing_ms = 0.0f; /* knob columns are part of the input */
  SwError         err;
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  if (!engine) {
    fprintf(stderr, "sw_engine_new: %s: %s\n", sw_strerror(err.status),
            err.message);
  }
  return engine;
}

int
golden_main(int argc, char** argv, const char* manifest_key,
            const char* label, bool (*run_case)(const char* dir,
                                                const char* name))
{
  if (argc < 2) {
    fprintf(stderr, "usage: %s <golden data dir> [case ...]\n", argv[0]);
    return 2;
  }
  cJSON* const manifest = golden_manifest(argv[1]);
  if (!manifest) {
    return 1;
  }
  const cJSON* const cases =
    cJSON_GetObjectItemCaseSensitive(manifest, manifest_key);
  unsigned     run    = 0;
  unsigned     failed = 0;
  const cJSON* item   = NULL;
  cJSON_ArrayForEach(item, cases)
  {
    if (!cJSON_IsString(item)) {
      ++failed;
      continue;
    }
    if (!golden_selected(argc, argv, item->valuestring)) {
      continue;
    }
    ++run;
    if (!run_case(argv[1], item->valuestring)) {
      printf("%s: FAILED\n", item->valuestring);
      ++failed;
    }
  }
  cJSON_Delete(manifest);
  printf("%s: %u cases run, %u failed (tolerance %g)\n", label, run, failed,
         GOLDEN_TOLERANCE);
  if (run == 0U) {
    fprintf(stderr, "no case ran\n");
    return 1;
  }
  return failed ? 1 : 0;
}
