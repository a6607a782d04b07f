/*
  The statewave program: a table of sub-commands, each in its own
  cmd_<name>.c with its own options; the live host's parts are in live/.
*/

#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const CliCommand commands[] = {
  {"process",
   "run an audio file through a model into another audio file",
   cmd_process,
   cmd_process_usage},
  {"stream",
   "run CSV frames from stdin through a model to CSV on stdout",
   cmd_stream,
   cmd_stream_usage},
  {"info", "describe a model file", cmd_info, cmd_info_usage},
  {"convert",
   "write a model as RTNeural/AIDA-X or GuitarML JSON",
   cmd_convert,
   cmd_convert_usage},
  {"backends",
   "list the backends: built, usable here, and why not",
   cmd_backends,
   cmd_backends_usage},
  {"bench",
   "time engines: ns a sample, real-time factor, error vs cpu-ref",
   cmd_bench,
   cmd_bench_usage},
  {"presets",
   "list the presets (name, id, ESR, knobs, description)",
   cmd_presets,
   cmd_presets_usage},
  {"run",
   "play live through an audio device, switching presets",
   cmd_run,
   cmd_run_usage},
  {"devices",
   "list the audio host APIs and devices run can use",
   cmd_devices,
   cmd_devices_usage},
};

#define NUM_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const CliCommand*
cli_command(const char* name)
{
  for (size_t i = 0; i < NUM_COMMANDS; ++i) {
    if (!strcmp(commands[i].name, name)) {
      return &commands[i];
    }
  }
  return NULL;
}

static void
print_usage(FILE* stream)
{
  fputs("Usage: statewave COMMAND [OPTION]... [ARGUMENT]...\n"
        "       statewave help [COMMAND]\n"
        "       statewave --help | --version\n"
        "\n"
        "Run trained recurrent networks (LSTM, GRU, SimpleRNN + Dense) step\n"
        "by step over audio and time series.\n"
        "\n"
        "Commands:\n",
        stream);
  for (size_t i = 0; i < NUM_COMMANDS; ++i) {
    fprintf(stream, "  %-9s %s\n", commands[i].name, commands[i].summary);
  }
  fputs("\n"
        "Run 'statewave COMMAND --help' for the options of a command.\n"
        "Exit status: 0 on success, 1 on a bad file or a runtime error,\n"
        "2 on bad usage.\n",
        stream);
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int
top_level_usage_error(const char* format, ...)
{
  va_list args;
  va_start(args, format);
  fputs("statewave: ", stderr);
  vfprintf(stderr, format, args);
  fputs("\n\n", stderr);
  va_end(args);

  print_usage(stderr);
  return CLI_EXIT_USAGE;
}

int
main(int argc, char** argv)
{
  sw_set_log(cli_log, NULL);

  if (argc < 2) {
    return top_level_usage_error("missing command");
  }

  const char* const first = argv[1];
  if (!strcmp(first, "--help") || !strcmp(first, "-h")) {
    print_usage(stdout);
    return CLI_EXIT_SUCCESS;
  }

  if (!strcmp(first, "--version") || !strcmp(first, "-V")) {
    printf("statewave %s\n", sw_version());
    return CLI_EXIT_SUCCESS;
  }

  if (!strcmp(first, "help")) {
    if (argc > 3) {
      return top_level_usage_error("help takes at most one command");
    }
    if (argc == 3) {
      const CliCommand* const command = cli_command(argv[2]);
      if (!command) {
        return top_level_usage_error("unknown command '%s'", argv[2]);
      }
      command->usage(stdout);
    } else {
      print_usage(stdout);
    }
    return CLI_EXIT_SUCCESS;
  }

  if (first[0] == '-') {
    return top_level_usage_error("unknown option '%s'", first);
  }

  const CliCommand* const command = cli_command(first);
  if (!command) {
    return top_level_usage_error("unknown command '%s'", first);
  }

  return command->run(argc - 1, argv + 1);
}
