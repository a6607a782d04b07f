/* Helpers shared by the golden tests: data paths, the manifest written by
   tools/make_golden.py, and comparison against a reference. */

#ifndef STATEWAVE_TESTS_GOLDEN_SUPPORT_H
#define STATEWAVE_TESTS_GOLDEN_SUPPORT_H

#include "spec_json.h"

#include <statewave/statewave.h>

#include <stdbool.h>
#include <stddef.h>

/** The requirement: max abs error against every golden reference. */
#define GOLDEN_TOLERANCE 1e-5

/** A reference smaller than this everywhere could not catch a wrong engine. */
#define GOLDEN_MIN_SIGNAL 1e-2

/** "dir/name suffix" in a new string (the caller frees it), or NULL. */
char*
golden_path(const char* dir, const char* name, const char* suffix);

/** dir/manifest.json, parsed; NULL after printing why. */
cJSON*
golden_manifest(const char* dir);

/**
   Whether case `name` runs: every case when no names follow the data
   directory on the command line (argv[2..]), else only the named ones.
*/
bool
golden_selected(int argc, char** argv, const char* name);

/** Where and how far `got` departs from `expected`. */
typedef struct {
  double max_error; /**< Infinite when `got` holds a non-finite value. */
  size_t where;     /**< Index of the largest error. */
  double got;
  double expected;
} GoldenDiff;

GoldenDiff
golden_compare(const float* got, const float* expected, size_t count);

/** Largest |values[i]|. */
double
golden_peak(const float* values, size_t count);

/** Print "<label>: max abs error E at index I (expected X, got Y)" and
    return whether E is within GOLDEN_TOLERANCE. */
bool
golden_report(const char* label, const GoldenDiff* diff);

/** An engine for `model` with one stream per sequence, or NULL after
    printing why. */
SwEngine*
golden_engine(const SwModel* model, SwBackendKind backend, uint32_t streams,
              uint32_t max_block);

/**
   The main() of a test whose cases are the names listed under
   `manifest_key` in the manifest: runs each selected one with `run_case`,
   prints "<label>: N cases run, M failed" and returns the exit status
   (1 when a case failed or none ran).
*/
int
golden_main(int argc, char** argv, const char* manifest_key,
            const char* label, bool (*run_case)(const char* dir,
                                                const char* name));

#endif /* STATEWAVE_TESTS_GOLDEN_SUPPORT_H */
