/*
  Shared pieces of the statewave program: the sub-command table entry, exit
  codes, option and number parsing, and message printing.

  Every message goes to stderr and starts with "statewave: " so it can be
  told apart from data on stdout (stream writes frames there).
*/

#ifndef STATEWAVE_CLI_H
#define STATEWAVE_CLI_H

#include <statewave/statewave.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses of the program, as documented in its usage text. */
enum {
  CLI_EXIT_SUCCESS = 0,
  CLI_EXIT_FAILURE = 1, /**< A bad file or a runtime error. */
  CLI_EXIT_USAGE   = 2, /**< Bad flags or arguments. */
};

/** One sub-command: `statewave NAME ...`. */
typedef struct {
  const char* name;
  const char* summary; /**< One line for the command list. */
  /** Run with argv[0] = NAME; returns an exit status. */
  int (*run)(int argc, char** argv);
  /** Print the full usage text to `stream`. */
  void (*usage)(FILE* stream);
} CliCommand;

int
cmd_process(int argc, char** argv);
void
cmd_process_usage(FILE* stream);

int
cmd_stream(int argc, char** argv);
void
cmd_stream_usage(FILE* stream);

int
cmd_info(int argc, char** argv);
void
cmd_info_usage(FILE* stream);

int
cmd_convert(int argc, char** argv);
void
cmd_convert_usage(FILE* stream);

int
cmd_backends(int argc, char** argv);
void
cmd_backends_usage(FILE* stream);

int
cmd_bench(int argc, char** argv);
void
cmd_bench_usage(FILE* stream);

int
cmd_presets(int argc, char** argv);
void
cmd_presets_usage(FILE* stream);

/* Live audio (cmd_run.c, cmd_devices.c; cmd_live_unavailable.c in a build
   without PortAudio). */
int
cmd_run(int argc, char** argv);
void
cmd_run_usage(FILE* stream);

int
cmd_devices(int argc, char** argv);
void
cmd_devices_usage(FILE* stream);

/* ------------------------------------------------------------------------ */
/* Messages                                                                 */
/* ------------------------------------------------------------------------ */

/** Library log messages at or above this level are printed (default warning).
 */
void
cli_set_verbose(bool verbose);

bool
cli_verbose(void);

/** The sw_set_log() callback: "statewave: warning: ..." on stderr. */
void
cli_log(void* user, SwLogLevel level, const char* message);

/** "statewave: <message>" on stderr. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void
cli_error(const char* format, ...);

/** "statewave: warning: <message>" on stderr. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void
cli_warning(const char* format, ...);

/**
   A usage error in sub-command `command`: the message, then the command's
   usage, on stderr. Returns CLI_EXIT_USAGE so callers can `return` it.
*/
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int
cli_usage_error(const CliCommand* command, const char* format, ...);

/** Print a library error ("statewave: <message>"); returns CLI_EXIT_FAILURE. */
int
cli_library_error(const SwError* err);

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */
/* ------------------------------------------------------------------------ */

/** The table entry of a sub-command, for usage messages. */
const CliCommand*
cli_command(const char* name);

/**
   Explain a getopt_long() failure for `command`: `result` is '?' or ':' as
   returned with a leading ':' in the short option string. Returns
   CLI_EXIT_USAGE.
*/
int
cli_option_error(const CliCommand* command, int result, char** argv);

/** Parse a whole decimal integer in [min, max]; false if it is not one. */
bool
cli_parse_uint(const char* text, uint32_t min, uint32_t max, uint32_t* value);

/**
   Parse one float at `text`, skipping spaces before and after it; "nan",
   "inf" and "-inf" are accepted in any case. On success `*end` points past
   the trailing spaces. False when no number starts there.
*/
bool
cli_scan_float(const char* text, float* value, const char** end);

/** Parse a whole string as one float (spaces around it allowed). */
bool
cli_parse_float(const char* text, float* value);

/** Parse a whole string as one double (spaces around it allowed). */
bool
cli_parse_double(const char* text, double* value);

/** Resets getopt so a sub-command parses its own arguments from the start. */
void
cli_reset_getopt(void);

/** Largest --block any sub-command takes. */
#define CLI_MAX_BLOCK 65536U

/**
   Parse --block's value `text` into `block` (1..CLI_MAX_BLOCK). Returns
   CLI_EXIT_SUCCESS, or prints a usage error of `command` and returns
   CLI_EXIT_USAGE.
*/
int
cli_parse_block(const CliCommand* command, const char* text, uint32_t* block);

/* ------------------------------------------------------------------------ */
/* Engines                                                                  */
/* ------------------------------------------------------------------------ */

/* getopt_long values of the engine options (no short forms). */
#define CLI_OPT_BACKEND 0x101
#define CLI_OPT_PIPELINED 0x102

/** The long options behind CLI_OPT_BACKEND and CLI_OPT_PIPELINED, for a
    sub-command's struct option table. */
#define CLI_ENGINE_LONG_OPTIONS                            \
  {"backend", required_argument, NULL, CLI_OPT_BACKEND},   \
    {"pipelined", no_argument, NULL, CLI_OPT_PIPELINED}

/** --backend and --pipelined as given. */
typedef struct {
  SwBackendKind   backend;
  SwStreamingMode streaming;
} CliEngineOptions;

/** Auto backend, synchronous streaming. */
CliEngineOptions
cli_engine_options_default(void);

/**
   Take engine option `opt` (CLI_OPT_BACKEND with its value `arg`, or
   CLI_OPT_PIPELINED) into `options`. Returns CLI_EXIT_SUCCESS, or prints a
   usage error of `command` naming the backends and returns CLI_EXIT_USAGE.
*/
int
cli_engine_option(const CliCommand* command,
                  int               opt,
                  const char*       arg,
                  CliEngineOptions* options);

/** Print the help lines of --backend and --pipelined, descriptions starting
    at column `column`. */
void
cli_engine_usage(FILE* stream, int column);

/** sw_engine_config_default() with the backend and streaming mode of
    `options`. */
SwEngineConfig
cli_engine_config(const CliEngineOptions* options);

/**
   After processing: warn about non-finite resets, and print the engine's
   backend note ("statewave: <note>") with -v, when the backend asked for
   (not auto) is not the one running, or after a fallback to the CPU. Parts
   of the note the library has already logged are not printed again.
*/
void
cli_report_engine(const SwEngine* engine, SwBackendKind asked);

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

/**
   getopt_long value of --arch FILE (no short form), which every sub-command
   that loads a model takes: the architecture of a Keras weights-only file.
*/
#define CLI_OPT_ARCH 0x100

/** Remember --arch FILE for cli_load_model (NULL: none). */
void
cli_set_arch(const char* arch_path);

/**
   Load a model, printing the library's message on failure. With --arch
   set, `path` is a Keras weights-only file built with that architecture.
*/
SwModel*
cli_load_model(const char* path);


/** Weights and biases of one layer. */
size_t
cli_layer_params(const SwLayerInfo* layer);

#endif /* STATEWAVE_CLI_H */
