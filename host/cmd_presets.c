/*
  statewave presets: the presets found in the presets folder, one line each
  (name first), or a JSON array.
*/

#include "cli.h"
#include "preset.h"

#include <cjson/cJSON.h>

#include <getopt.h>
#include <math.h>
#include <stdlib.h>

void
cmd_presets_usage(FILE* stream)
{
  fputs(
    "Usage: statewave presets [OPTION]...\n"
    "\n"
    "List the presets: name, id (what --preset also takes), the model's\n"
    "training sample rate and error-to-signal ratio, knob positions, and\n"
    "the description. Presets are read from $STATEWAVE_PRESETS, else the\n"
    "installed presets folder, else the source tree's presets/.\n"
    "\n"
    "Options:\n"
    "  -j, --json      print a JSON array of objects {name, id, description,\n"
    "                  model, input_gain_db, output_gain_db, mix, knobs,\n"
    "                  sample_rate, esr} instead of text\n"
    "  -h, --help      print this help and exit\n"
    "\n"
    "Exit status: 0 on success, 1 when the folder or a model cannot be\n"
    "read, 2 on bad usage.\n",
    stream);
}

static int
parse_options(int argc, char** argv, bool* json)
{
  static const struct option long_options[] = {
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const CliCommand* const command = cli_command("presets");
  cli_reset_getopt();
  int opt = 0;
  while ((opt = getopt_long(argc, argv, ":jh", long_options, NULL)) != -1) {
    switch (opt) {
    case 'j': *json = true; break;
    case 'h': cmd_presets_usage(stdout); return -1;
    default: return cli_option_error(command, opt, argv);
    }
  }
  if (optind < argc) {
    return cli_usage_error(command, "unexpected argument '%s'", argv[optind]);
  }
  return CLI_EXIT_SUCCESS;
}

/* The model's training rate and recorded ESR (NaN when it states none). */
typedef struct {
  double sample_rate;
  double esr;
} ModelFacts;

static bool
model_facts(const Preset* preset, ModelFacts* facts)
{
  SwError        err;
  SwModel* const model = sw_model_load(preset->model_path, &err);
  if (!model) {
    cli_error("preset %s: %s", preset->path, err.message);
    return false;
  }
  SwModelInfo info;
  sw_model_info(model, &info);
  facts->sample_rate    = info.sample_rate;
  const char* const esr = sw_model_meta_get(model, "esr");
  facts->esr            = esr ? strtod(esr, NULL) : (double)NAN;
  sw_model_free(model);
  return true;
}

static bool
print_json(const Preset* presets, const ModelFacts* facts, size_t count)
{
  cJSON* const array = cJSON_CreateArray();
  bool         ok    = array != NULL;
  for (size_t i = 0; ok && i < count; ++i) {
    const Preset* const p    = &presets[i];
    cJSON* const        item = cJSON_CreateObject();
    cJSON* const        knobs =
      cJSON_CreateFloatArray(p->knobs, (int)p->num_knobs);
    ok = item && knobs && cJSON_AddItemToArray(array, item) &&
         cJSON_AddStringToObject(item, "name", p->name) &&
         cJSON_AddStringToObject(item, "id", p->id) &&
         cJSON_AddStringToObject(item, "description", p->description) &&
         cJSON_AddStringToObject(item, "model", p->model_path) &&
         cJSON_AddNumberToObject(item, "input_gain_db", (double)p->input_gain_db) &&
         cJSON_AddNumberToObject(item, "output_gain_db", (double)p->output_gain_db) &&
         cJSON_AddNumberToObject(item, "mix", (double)p->mix) &&
         cJSON_AddItemToObject(item, "knobs", knobs) &&
         cJSON_AddNumberToObject(item, "sample_rate", facts[i].sample_rate) &&
         (isnan(facts[i].esr) ? cJSON_AddNullToObject(item, "esr") != NULL
                              : cJSON_AddNumberToObject(item, "esr", facts[i].esr) != NULL);
  }
  char* const text = ok ? cJSON_PrintUnformatted(array) : NULL;
  if (text) {
    puts(text);
    free(text);
  }
  cJSON_Delete(array);
  return text != NULL;
}

static void
print_text(const Preset* presets, const ModelFacts* facts, size_t count)
{
  for (size_t i = 0; i < count; ++i) {
    const Preset* const p = &presets[i];
    printf("%-20s  id %-16s  %6.0f Hz  ESR %s", p->name, p->id,
           facts[i].sample_rate, isnan(facts[i].esr) ? "?" : "");
    if (!isnan(facts[i].esr)) {
      printf("%.4g", facts[i].esr);
    }
    for (uint32_t k = 0; k < p->num_knobs; ++k) {
      printf("%s%.2f", k ? "," : "  knobs ", (double)p->knobs[k]);
    }
    printf("\n    %s\n", p->description);
  }
}

int
cmd_presets(int argc, char** argv)
{
  bool json   = false;
  int  status = parse_options(argc, argv, &json);
  if (status) {
    return status < 0 ? CLI_EXIT_SUCCESS : status;
  }
  const char* const dir = preset_dir();
  Preset*           presets = NULL;
  size_t            count   = 0;
  char              err[1024];
  if (!preset_list(dir, &presets, &count, err, sizeof(err))) {
    cli_error("%s", err);
    return CLI_EXIT_FAILURE;
  }
  if (err[0]) {
    cli_warning("%s", err);
  }
  ModelFacts* const facts = (ModelFacts*)calloc(count ? count : 1, sizeof(ModelFacts));
  bool              ok    = facts != NULL;
  for (size_t i = 0; ok && i < count; ++i) {
    ok = model_facts(&presets[i], &facts[i]);
  }
  if (ok && json) {
    ok = print_json(presets, facts, count);
  } else if (ok) {
    print_text(presets, facts, count);
  }
  free(facts);
  free(presets);
  return ok ? CLI_EXIT_SUCCESS : CLI_EXIT_FAILURE;
}
