/*
  Option parsing, number parsing and message printing shared by the
  sub-commands of the statewave program.
*/

#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool verbose_output = false;

void
cli_set_verbose(bool verbose)
{
  verbose_output = verbose;
}

bool
cli_verbose(void)
{
  return verbose_output;
}

void
cli_log(void* user, SwLogLevel level, const char* message)
{
  (void)user;

  const char* label = "";
  switch (level) {
  case SW_LOG_ERROR:
    label = "error: ";
    break;
  case SW_LOG_WARNING:
    label = "warning: ";
    break;
  case SW_LOG_INFO:
    label = "";
    break;
  case SW_LOG_DEBUG:
    label = "debug: ";
    break;
  }

  if (level <= SW_LOG_WARNING || verbose_output) {
    fprintf(stderr, "statewave: %s%s\n", label, message);
  }
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
static void
print_message(const char* label, const char* format, va_list args)
{
  fprintf(stderr, "statewave: %s", label);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
}

void
cli_error(const char* format, ...)
{
  va_list args;
  va_start(args, format);
  print_message("", format, args);
  va_end(args);
}

void
cli_warning(const char* format, ...)
{
  va_list args;
  va_start(args, format);
  print_message("warning: ", format, args);
  va_end(args);
}

int
cli_usage_error(const CliCommand* command, const char* format, ...)
{
  va_list args;
  va_start(args, format);
  fprintf(stderr, "statewave %s: ", command->name);
  vfprintf(stderr, format, args);
  fputs("\n\n", stderr);
  va_end(args);

  command->usage(stderr);
  return CLI_EXIT_USAGE;
}

int
cli_library_error(const SwError* err)
{
  if (err->message[0]) {
    fprintf(stderr, "statewave: %s\n", err->message);
  } else {
    // The library promises a message; still say something useful without it.
    fprintf(stderr, "statewave: %s\n", sw_strerror(err->status));
  }
  return CLI_EXIT_FAILURE;
}

int
cli_option_error(const CliCommand* command, int result, char** argv)
{
  // getopt has already moved optind past the element that failed.
  const char* arg = (optind > 0) ? argv[optind - 1] : "";
  if (result == ':') {
    return cli_usage_error(command, "option '%s' needs a value", arg);
  }

  if (strncmp(arg, "--", 2) == 0) {
    // A known long option with a value it does not take sets optopt.
    return optopt ? cli_usage_error(command, "option '%s' takes no value", arg)
                  : cli_usage_error(command, "unknown option '%s'", arg);
  }

  return cli_usage_error(command, "unknown option '-%c'", optopt);
}

void
cli_reset_getopt(void)
{
#if defined(__GLIBC__)
  optind = 0; // 0 also clears glibc's internal scanning state.
#else
  optind = 1;
#endif
  opterr = 0; // We print our own messages, naming the sub-command.
}

bool
cli_parse_uint(const char* text, uint32_t min, uint32_t max, uint32_t* value)
{
  // strtoul accepts a sign and spaces; only plain digits make sense here.
  if (!isdigit((unsigned char)text[0])) {
    return false;
  }

  errno                      = 0;
  char*               end    = NULL;
  const unsigned long parsed = strtoul(text, &end, 10);
  if (errno || *end || parsed < min || parsed > max) {
    return false;
  }

  *value = (uint32_t)parsed;
  return true;
}

bool
cli_scan_float(const char* text, float* value, const char** end)
{
  // strtof skips leading spaces and takes nan, inf and infinity in any case.
  char* number_end = NULL;
  *value           = strtof(text, &number_end);
  if (number_end == text) {
    return false;
  }

  while (*number_end == ' ' || *number_end == '\t') {
    ++number_end;
  }

  *end = number_end;
  return true;
}

bool
cli_parse_float(const char* text, float* value)
{
  const char* end = NULL;
  return cli_scan_float(text, value, &end) && *end == '\0';
}

/* One --arch per run: the program loads one model per invocation. */
static const char* arch_file = NULL;

void
cli_set_arch(const char* arch_path)
{
  arch_file = arch_path;
}

SwModel*
cli_load_model(const char* path)
{
  SwError  err   = {SW_SUCCESS, ""};
  SwModel* model = arch_file ? sw_model_load_keras_weights(path, arch_file,
                                                           &err)
                             : sw_model_load(path, &err);
  if (!model) {
    if (!err.message[0]) {
      // Name the file even if the library left the message empty.
      cli_error("%s: %s", path, sw_strerror(err.status));
    } else {
      cli_library_error(&err);
    }
  }
  return model;
}


size_t
cli_layer_params(const SwLayerInfo* layer)
{
  const size_t rows   = (size_t)layer->gates * layer->units;
  size_t       params = rows * layer->input_width * layer->kernel_size;
  if (layer->recurrent_kernel) {
    params += rows * layer->units;
  }
  if (layer->use_bias) {
    params += rows;
    if (layer->recurrent_bias) {
      params += rows;
    }
  }
  return params;
}
