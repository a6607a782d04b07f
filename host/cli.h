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

/** Resets getopt so a sub-command parses its own arguments from the start. */
void
cli_reset_getopt(void);

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
