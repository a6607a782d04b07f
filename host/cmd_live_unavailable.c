/*
  statewave run and statewave devices in a build without PortAudio: they
  say so and how to get them.
*/

#include "cli.h"

static const char* const WHY =
  "this statewave was built without PortAudio, so it has no live audio; "
  "install Debian's portaudio19-dev and configure again (meson setup "
  "--reconfigure BUILD -Dportaudio=enabled)";

void
cmd_run_usage(FILE* stream)
{
  fprintf(stream, "Usage: statewave run (--model FILE | --preset NAME) "
                  "[OPTION]...\n\nNot available: %s.\n", WHY);
}

int
cmd_run(int argc, char** argv)
{
  (void)argc;
  (void)argv;
  cli_error("run: %s", WHY);
  return CLI_EXIT_FAILURE;
}

void
cmd_devices_usage(FILE* stream)
{
  fprintf(stream, "Usage: statewave devices [--json]\n\nNot available: "
                  "%s.\n", WHY);
}

int
cmd_devices(int argc, char** argv)
{
  (void)argc;
  (void)argv;
  cli_error("devices: %s", WHY);
  return CLI_EXIT_FAILURE;
}
