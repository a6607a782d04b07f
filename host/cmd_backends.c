/*
  statewave backends: every backend kind, whether this libstatewave has it
  built, whether it can run here, and the device or the reason why not.
*/

#include "cli.h"

#include <cjson/cJSON.h>

#include <getopt.h>

void
cmd_backends_usage(FILE* stream)
{
  fputs(
    "Usage: statewave backends [OPTION]...\n"
    "\n"
    "List the backends an engine can run on (auto, cpu, cudnn, fused,\n"
    "cpu-ref), one line each: its name, whether it is built into this\n"
    "libstatewave,\n"
    "whether it is usable here (its device and libraries answer), and its\n"
    "device and library versions, or why it cannot run. The GPU backends\n"
    "are built when Meson finds nvcc and the cuDNN headers.\n"
    "\n"
    "Options:\n"
    "  -j, --json      print a JSON array of objects {name, built, usable,\n"
    "                  detail} instead of text\n"
    "  -h, --help      print this help and exit\n"
    "\n"
    "Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.\n",
    stream);
}

/** Fills `json`; returns 0, -1 after --help, or an exit status. */
static int
parse_options(int argc, char** argv, bool* json)
{
  static const struct option long_options[] = {
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };

  const CliCommand* const command = cli_command("backends");
  cli_reset_getopt();
  int opt = 0;
  while ((opt = getopt_long(argc, argv, ":jh", long_options, NULL)) != -1) {
    switch (opt) {
    case 'j':
      *json = true;
      break;
    case 'h':
      cmd_backends_usage(stdout);
      return -1;
    default:
      return cli_option_error(command, opt, argv);
    }
  }

  if (optind < argc) {
    return cli_usage_error(
      command, "unexpected argument '%s'", argv[optind]);
  }
  return CLI_EXIT_SUCCESS;
}

/** One object per backend, or NULL when out of memory. */
static cJSON*
describe(const SwBackendInfo* infos)
{
  cJSON* const array = cJSON_CreateArray();
  bool         ok    = array != NULL;
  for (int k = 0; ok && k < SW_BACKEND_KIND_COUNT; ++k) {
    cJSON* const item = cJSON_CreateObject();
    ok                = item && cJSON_AddItemToArray(array, item);
    if (!ok) {
      cJSON_Delete(item);
      break;
    }
    ok = cJSON_AddStringToObject(item, "name", infos[k].name) &&
         cJSON_AddBoolToObject(item, "built", infos[k].built) &&
         cJSON_AddBoolToObject(item, "usable", infos[k].usable) &&
         cJSON_AddStringToObject(item, "detail", infos[k].detail);
  }
  if (!ok) {
    cJSON_Delete(array);
    return NULL;
  }
  return array;
}

int
cmd_backends(int argc, char** argv)
{
  bool json   = false;
  int  result = parse_options(argc, argv, &json);
  if (result) {
    return (result < 0) ? CLI_EXIT_SUCCESS : result;
  }

  SwBackendInfo infos[SW_BACKEND_KIND_COUNT];
  for (int k = 0; k < SW_BACKEND_KIND_COUNT; ++k) {
    const SwStatus status = sw_backend_info((SwBackendKind)k, &infos[k]);
    if (status) {
      cli_error("backend %d: %s", k, sw_strerror(status));
      return CLI_EXIT_FAILURE;
    }
  }

  if (!json) {
    for (int k = 0; k < SW_BACKEND_KIND_COUNT; ++k) {
      printf("%-7s built %-3s usable %-3s %s\n",
             infos[k].name,
             infos[k].built ? "yes" : "no",
             infos[k].usable ? "yes" : "no",
             infos[k].detail);
    }
    return CLI_EXIT_SUCCESS;
  }

  cJSON* const array = describe(infos);
  char* const  text  = array ? cJSON_Print(array) : NULL;
  cJSON_Delete(array);
  if (!text) {
    cli_error("out of memory describing the backends");
    return CLI_EXIT_FAILURE;
  }
  puts(text);
  cJSON_free(text);
  return CLI_EXIT_SUCCESS;
}
