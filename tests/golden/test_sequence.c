/*
  Golden test of the sequence API flags against their Keras definitions:
  for every seq_* spec case in the manifest (a small LSTM or GRU stack with
  a Dense head, batch 3), each run (return_sequences, return_state,
  go_backwards, initial_state) goes through sw_model_run_sequence() and its
  outputs and final states must be within 1e-5 of the Keras call loop
  computed in numpy. The call must also leave its inputs alone and write no
  more than [B][T or 1][O] outputs and [B][state_size] states.

  Usage: test_sequence <golden data dir> [case ...]
*/

#include "golden_support.h"

#include <statewave/statewave.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Floats past the end of each output buffer that must stay untouched. */
#define GUARD_FLOATS 64U
#define GUARD_VALUE 12345.5f

typedef struct {
  const char*  name;
  bool         return_sequences;
  bool         return_state;
  bool         go_backwards;
  float*       initial_state;  /* [B][state_size] or NULL */
  float*       expected;       /* [B][T or 1][O] */
  float*       expected_state; /* [B][state_size] or NULL */
} SequenceRun;

static bool
json_flag(const cJSON* const run, const char* const key, bool* const value)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(run, key);
  if (!cJSON_IsBool(item)) {
    fprintf(stderr, "run: %s missing or not a boolean\n", key);
    return false;
  }
  *value = cJSON_IsTrue(item);
  return true;
}

/* An optional array: NULL for JSON null, else exactly `count` floats. */
static bool
json_optional_floats(const cJSON* const run, const char* const key,
                     const size_t count, float** const values)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(run, key);
  *values = NULL;
  if (!item || cJSON_IsNull(item)) {
    return true;
  }
  char message[SPEC_JSON_MESSAGE_SIZE];
  *values = spec_json_floats(item, count, key, message, sizeof(message));
  if (!*values) {
    fprintf(stderr, "run: %s\n", message);
  }
  return *values != NULL;
}

static void
free_run(SequenceRun* const run)
{
  free(run->initial_state);
  free(run->expected);
  free(run->expected_state);
}

static bool
read_run(const cJSON* const item, const SpecJson* const file,
         SequenceRun* const run)
{
  memset(run, 0, sizeof(*run));
  const cJSON* const name = cJSON_GetObjectItemCaseSensitive(item, "name");
  if (!cJSON_IsString(name) ||
      !json_flag(item, "return_sequences", &run->return_sequences) ||
      !json_flag(item, "return_state", &run->return_state) ||
      !json_flag(item, "go_backwards", &run->go_backwards)) {
    fprintf(stderr, "run: malformed\n");
    return false;
  }
  run->name                 = name->valuestring;
  const size_t states       = (size_t)file->batch * file->state_size;
  const size_t output_steps = run->return_sequences ? file->steps : 1U;
  const size_t outputs = (size_t)file->batch * output_steps * file->output_width;
  if (!json_optional_floats(item, "initial_state", states,
                            &run->initial_state) ||
      !json_optional_floats(item, "expected", outputs, &run->expected) ||
      !json_optional_floats(item, "expected_state", states,
                            &run->expected_state) ||
      !run->expected || (run->return_state && !run->expected_state)) {
    fprintf(stderr, "run %s: expected outputs or states missing\n", run->name);
    free_run(run);
    return false;
  }
  return true;
}

static bool
guard_intact(const float* const guard)
{
  for (size_t i = 0; i < GUARD_FLOATS; ++i) {
    if (memcmp(&guard[i], &(float){GUARD_VALUE}, sizeof(float)) != 0) {
      return false;
    }
  }
  return true;
}

static bool
check_run(const char* const case_name, const SwModel* const model,
          const SpecJson* const file, const SequenceRun* const run)
{
  const size_t output_steps = run->return_sequences ? file->steps : 1U;
  const size_t outputs = (size_t)file->batch * output_steps * file->output_width;
  const size_t states  = (size_t)file->batch * file->state_size;
  const size_t inputs  =
    (size_t)file->batch * file->steps * file->spec.input_width;

  float* const out         = (float*)malloc((outputs + GUARD_FLOATS) * sizeof(float));
  float* const final_state = (float*)malloc((states + GUARD_FLOATS) * sizeof(float));
  float* const input_copy  = (float*)malloc(inputs * sizeof(float));
  float* const initial_copy =
    (float*)malloc((states ? states : 1U) * sizeof(float));
  bool ok = false;
  if (!out || !final_state || !input_copy || !initial_copy) {
    fprintf(stderr, "out of memory\n");
    goto done;
  }
  for (size_t i = 0; i < outputs + GUARD_FLOATS; ++i) {
    out[i] = GUARD_VALUE;
  }
  for (size_t i = 0; i < states + GUARD_FLOATS; ++i) {
    final_state[i] = GUARD_VALUE;
  }
  memcpy(input_copy, file->input, inputs * sizeof(float));
  if (run->initial_state) {
    memcpy(initial_copy, run->initial_state, states * sizeof(float));
  }

  SwSequenceOptions options;
  memset(&options, 0, sizeof(options));
  options.batch            = file->batch;
  options.steps            = file->steps;
  options.return_sequences = run->return_sequences;
  options.return_state     = run->return_state;
  options.go_backwards     = run->go_backwards;
  options.initial_state    = run->initial_state;

  char label[128];
  snprintf(label, sizeof(label),
           "%s %s (seq=%d state=%d back=%d init=%d)", case_name, run->name,
           (int)run->return_sequences, (int)run->return_state,
           (int)run->go_backwards, run->initial_state != NULL);

  SwError        err;
  const SwStatus status =
    sw_model_run_sequence(model, &options, input_copy, out,
                          run->return_state ? final_state : NULL, &err);
  if (status != SW_SUCCESS) {
    fprintf(stderr, "%s: sw_model_run_sequence: %s: %s\n", label,
            sw_strerror(status), err.message);
    goto done;
  }
  ok = true;
  if (golden_peak(run->expected, outputs) < GOLDEN_MIN_SIGNAL) {
    fprintf(stderr, "%s: reference output is trivially small\n", label);
    ok = false;
  }
  const GoldenDiff out_diff = golden_compare(out, run->expected, outputs);
  char out_label[160];
  snprintf(out_label, sizeof(out_label), "%s output", label);
  ok = golden_report(out_label, &out_diff) && ok;
  if (!guard_intact(out + outputs)) {
    fprintf(stderr, "%s: wrote past [B][%zu][O] outputs\n", label,
            output_steps);
    ok = false;
  }
  if (run->return_state) {
    const GoldenDiff state_diff =
      golden_compare(final_state, run->expected_state, states);
    char state_label[160];
    snprintf(state_label, sizeof(state_label), "%s state", label);
    ok = golden_report(state_label, &state_diff) && ok;
    if (!guard_intact(final_state + states)) {
      fprintf(stderr, "%s: wrote past [B][state_size] final states\n", label);
      ok = false;
    }
  }
  if (memcmp(input_copy, file->input, inputs * sizeof(float)) != 0) {
    fprintf(stderr, "%s: the call changed its input\n", label);
    ok = false;
  }
  if (run->initial_state &&
      memcmp(initial_copy, run->initial_state, states * sizeof(float)) != 0) {
    fprintf(stderr, "%s: the call changed its initial_state\n", label);
    ok = false;
  }

done:
  free(initial_copy);
  free(input_copy);
  free(final_state);
  free(out);
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
  const bool loaded = spec_json_load(path, &file, message, sizeof(message));
  free(path);
  if (!loaded) {
    fprintf(stderr, "%s\n", message);
    return false;
  }
  const cJSON* const runs = cJSON_GetObjectItemCaseSensitive(file.root, "runs");
  if (!file.input || !file.steps || !cJSON_IsArray(runs) ||
      cJSON_GetArraySize(runs) < 1) {
    fprintf(stderr, "%s: needs steps, input and runs\n", name);
    spec_json_free(&file);
    return false;
  }

  SwError        err;
  SwModel* const model = sw_model_build(&file.spec, 1U, &err);
  if (!model) {
    fprintf(stderr, "%s: sw_model_build: %s: %s\n", name,
            sw_strerror(err.status), err.message);
    spec_json_free(&file);
    return false;
  }
  SwModelInfo info;
  sw_model_info(model, &info);
  bool ok = true;
  if (info.state_size != file.state_size ||
      info.output_width != file.output_width) {
    fprintf(stderr,
            "%s: model info state_size %zu output_width %u; expected %zu, "
            "%u\n",
            name, info.state_size, info.output_width, file.state_size,
            file.output_width);
    ok = false;
  }

  const cJSON* item = NULL;
  cJSON_ArrayForEach(item, runs)
  {
    SequenceRun run;
    if (!read_run(item, &file, &run)) {
      ok = false;
      continue;
    }
    ok = check_run(name, model, &file, &run) && ok;
    free_run(&run);
  }
  sw_model_free(model);
  spec_json_free(&file);
  return ok;
}

int
main(int argc, char** argv)
{
  return golden_main(argc, argv, "sequence_cases", "golden sequence", run_case);
}
