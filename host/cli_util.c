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

/* The last library message printed at info level or above, so that
   cli_report_engine() does not print a backend note a second time. */
static char last_logged[1024];

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
    if (level <= SW_LOG_INFO) {
      snprintf(last_logged, sizeof(last_logged), "%s", message);
    }
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

int
cli_parse_block(const CliCommand* command, const char* text, uint32_t* block)
{
  if (!cli_parse_uint(text, 1U, CLI_MAX_BLOCK, block)) {
    return cli_usage_error(command,
                           "--block '%s': expected an integer in 1..%u",
                           text,
                           CLI_MAX_BLOCK);
  }
  return CLI_EXIT_SUCCESS;
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

bool
cli_parse_double(const char* text, double* value)
{
  char* end = NULL;
  *value    = strtod(text, &end);
  if (end == text) {
    return false;
  }
  return end[strspn(end, " \t")] == '\0';
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

/* ------------------------------------------------------------------------ */
/* Engines                                                                  */
/* ------------------------------------------------------------------------ */

/* sw_backend_parse()'s names, for help and error messages. */
#define BACKEND_NAMES "auto, cpu, cpu-ref, cudnn or fused"

CliEngineOptions
cli_engine_options_default(void)
{
  const CliEngineOptions options = {SW_BACKEND_AUTO, SW_STREAMING_SYNC};
  return options;
}

int
cli_engine_option(const CliCommand* command,
                  int               opt,
                  const char*       arg,
                  CliEngineOptions* options)
{
  if (opt == CLI_OPT_PIPELINED) {
    options->streaming = SW_STREAMING_PIPELINED;
    return CLI_EXIT_SUCCESS;
  }
  if (sw_backend_parse(arg, &options->backend) != SW_SUCCESS) {
    return cli_usage_error(
      command, "--backend '%s': expected " BACKEND_NAMES, arg);
  }
  return CLI_EXIT_SUCCESS;
}

void
cli_engine_usage(FILE* stream, int column)
{
  static const char* const backend[] = {
    "where the model runs: " BACKEND_NAMES " (default",
    "auto: the fastest usable one, measured); a GPU",
    "backend that cannot run here falls back to the cpu",
    "with a note on stderr ('statewave backends' says",
    "which are built and usable)",
  };
  static const char* const pipelined[] = {
    "pipelined streaming: each engine call starts its",
    "block and returns the one before (one block of",
    "latency), so a GPU computes while the host goes on",
  };
  const struct {
    const char*        option;
    const char* const* lines;
    size_t             count;
  } options[] = {
    {"--backend NAME", backend, sizeof(backend) / sizeof(backend[0])},
    {"--pipelined", pipelined, sizeof(pipelined) / sizeof(pipelined[0])},
  };

  for (size_t o = 0; o < sizeof(options) / sizeof(options[0]); ++o) {
    // Options start at column 6, as the other long-only options do.
    fprintf(stream, "      %-*s", column - 6, options[o].option);
    for (size_t l = 0; l < options[o].count; ++l) {
      fprintf(stream, "%*s%s\n", l ? column : 0, "", options[o].lines[l]);
    }
  }
}

SwEngineConfig
cli_engine_config(const CliEngineOptions* options)
{
  SwEngineConfig config = sw_engine_config_default();
  config.backend        = options->backend;
  config.streaming      = options->streaming;
  return config;
}

void
cli_report_engine(const SwEngine* engine, SwBackendKind asked)
{
  const uint64_t resets = sw_engine_nonfinite_resets(engine);
  if (resets) {
    cli_warning("%llu non-finite reset%s: a stream was reset where its "
                "input or state was not finite, and that frame's output is 0",
                (unsigned long long)resets,
                (resets == 1) ? "" : "s");
  }

  const char* note = sw_engine_backend_note(engine);
  if (!note) {
    return;
  }
  SwBackendKind running = SW_BACKEND_CPU;
  sw_backend_parse(sw_engine_backend_name(engine), &running);
  const bool other_backend = asked != SW_BACKEND_AUTO && asked != running;
  if (!cli_verbose() && !other_backend && !sw_engine_fallback_count(engine)) {
    return;
  }

  // The library logs the note it makes with the engine; a fallback during
  // processing is appended to it ("; ...") without a log message.
  const size_t logged = strlen(last_logged);
  if (logged && !strncmp(note, last_logged, logged)) {
    note += logged;
    note += strspn(note, "; ");
  }
  if (*note) {
    fprintf(stderr, "statewave: %s\n", note);
  }
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
