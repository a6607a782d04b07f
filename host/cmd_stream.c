/*
  statewave stream: CSV frames on stdin through a model to CSV on stdout.

  stdin is read with read(2) and split into lines here, not with stdio, so
  every complete line that has arrived is processed and its output flushed
  before the program blocks for more input. That keeps it live in a pipe.
*/

#include "cli.h"
#include "csv_frame.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_BLOCK 64U

/* Enough for any sane frame; a longer line is an error, not unbounded memory.
 */
#define MAX_LINE_BYTES ((size_t)64 * 1024 * 1024)
#define INITIAL_BUFFER_BYTES ((size_t)64 * 1024)

void
cmd_stream_usage(FILE* stream)
{
  fputs(
    "Usage: statewave stream --model FILE [OPTION]...\n"
    "\n"
    "Read frames from stdin, one per line: the model's input width of\n"
    "comma-separated numbers (column 0 the audio or first series, then the\n"
    "knobs, taken as given). Write one line per frame to stdout: the model's\n"
    "output width of comma-separated numbers with 9 significant digits, so\n"
    "floats round-trip exactly. Each line is processed and written as soon\n"
    "as it arrives, so this works live in a pipe.\n"
    "\n"
    "Numbers may have spaces around them; nan, inf and -inf are accepted in\n"
    "any case. Empty lines and lines starting with '#' are skipped. A\n"
    "malformed line stops the program with exit status 1 and a message\n"
    "naming its line number; the frames before it have been written.\n"
    "\n"
    "Options:\n"
    "  -m, --model FILE   model file (required)\n"
    "  -b, --block N      most frames per processing call, 1..65536 "
    "(default 64)\n"
    "      --arch FILE    the architecture of a Keras weights-only .h5\n"
    "                     model (model.save_weights): a JSON spec, see README\n",
    stream);
  cli_engine_usage(stream, 21);
  fputs(
    "  -v, --verbose      also print library information and the backend's\n"
    "                     note\n"
    "  -h, --help         print this help and exit\n"
    "\n"
    "With --pipelined the output lines stay aligned with the input lines,\n"
    "but each comes --block lines later: at the end of the input, frames of\n"
    "zeros (knob columns at the last line's values) push the last ones out.\n"
    "\n"
    "Exit status: 0 on success, 1 on a bad file, a malformed line or a\n"
    "runtime error, 2 on bad usage.\n",
    stream);
}

typedef struct {
  const char*      model_path;
  uint32_t         block;
  CliEngineOptions engine;
} StreamOptions;

/** Fills `options`; returns 0, -1 after --help, or an exit status. */
static int
parse_options(int argc, char** argv, StreamOptions* options)
{
  static const struct option long_options[] = {
    {"model", required_argument, NULL, 'm'},
    {"block", required_argument, NULL, 'b'},
    {"arch", required_argument, NULL, CLI_OPT_ARCH},
    CLI_ENGINE_LONG_OPTIONS,
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };

  const CliCommand* const command = cli_command("stream");
  cli_reset_getopt();
  int opt = 0;
  while ((opt = getopt_long(argc, argv, ":m:b:vh", long_options, NULL)) != -1) {
    switch (opt) {
    case 'm':
      options->model_path = optarg;
      break;
    case 'b':
      if (cli_parse_block(command, optarg, &options->block)) {
        return CLI_EXIT_USAGE;
      }
      break;
    case CLI_OPT_ARCH:
      cli_set_arch(optarg);
      break;
    case CLI_OPT_BACKEND:
    case CLI_OPT_PIPELINED:
      if (cli_engine_option(command, opt, optarg, &options->engine)) {
        return CLI_EXIT_USAGE;
      }
      break;
    case 'v':
      cli_set_verbose(true);
      break;
    case 'h':
      cmd_stream_usage(stdout);
      return -1;
    default:
      return cli_option_error(command, opt, argv);
    }
  }

  if (!options->model_path) {
    return cli_usage_error(command, "missing --model FILE");
  }
  if (optind < argc) {
    return cli_usage_error(
      command, "unexpected argument '%s' (frames come on stdin)", argv[optind]);
  }
  return CLI_EXIT_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Frames                                                                   */
/* ------------------------------------------------------------------------ */

/** Frames parsed but not yet processed, and where their outputs go. */
typedef struct {
  SwEngine* engine;
  uint32_t  input_width;
  uint32_t  output_width;
  uint32_t  capacity; /**< Frames per processing call (--block). */
  uint32_t  count;    /**< Frames waiting in `in`. */
  float*    in;       /**< [capacity][input_width] */
  float*    out;      /**< [capacity][output_width] */
  uint64_t  line;     /**< 1-based number of the last line read. */
  /** Outputs still to drop: a pipelined engine's first answers come before
      the first line's. */
  uint32_t     to_drop;
  const float* last_frame; /**< The last line's frame in `in`; NULL: none. */
} Batch;

/** Processes the waiting frames and writes their lines; false on error. */
static bool
batch_flush(Batch* batch)
{
  if (batch->count == 0) {
    return true;
  }

  const SwStatus status = sw_engine_process_frames(
    batch->engine, batch->in, batch->out, batch->count);
  if (status) {
    batch->count = 0; // Reported once; these frames are lost.
    cli_error("stdin line %llu: processing failed: %s",
              (unsigned long long)batch->line,
              sw_strerror(status));
    return false;
  }

  const uint32_t dropped =
    (batch->to_drop < batch->count) ? batch->to_drop : batch->count;
  batch->to_drop -= dropped;
  for (uint32_t f = dropped; f < batch->count; ++f) {
    const float* const row = batch->out + (size_t)f * batch->output_width;
    for (uint32_t c = 0; c < batch->output_width; ++c) {
      // %.9g is the shortest form that always reads back as the same float.
      printf(c ? ",%.9g" : "%.9g", (double)row[c]);
    }
    putchar('\n');
  }
  batch->count = 0;
  return true;
}

/**
   Pipelined: pushes the frames still in the engine out with its latency's
   worth of zero frames, the knob columns held at the last line's values
   (0 where those are not finite, so the push never resets the state).
   Synchronous, or before any line: nothing to do. False on error.
*/
static bool
batch_drain(Batch* batch)
{
  uint32_t left = batch->last_frame ? sw_engine_latency(batch->engine) : 0U;
  if (left == 0) {
    return true;
  }

  // Row 0 becomes the push frame; the last frame may be any row, row 0
  // included, so it is read before anything is written.
  const size_t width = batch->input_width;
  memmove(batch->in, batch->last_frame, width * sizeof(float));
  batch->in[0] = 0.0f;
  for (size_t c = 1; c < width; ++c) {
    batch->in[c] = isfinite(batch->in[c]) ? batch->in[c] : 0.0f;
  }
  for (uint32_t f = 1; f < batch->capacity && f < left; ++f) {
    memcpy(batch->in + f * width, batch->in, width * sizeof(float));
  }

  while (left > 0) {
    batch->count = (left < batch->capacity) ? left : batch->capacity;
    left -= batch->count;
    if (!batch_flush(batch)) {
      return false;
    }
  }
  return true;
}

/** Makes stdout's lines visible to the reader now; false on error. */
static bool
flush_stdout(void)
{
  if (fflush(stdout) || ferror(stdout)) {
    cli_error("cannot write to stdout: %s", strerror(errno));
    return false;
  }
  return true;
}

/** Handles one line (without its newline); false on error. */
static bool
handle_line(Batch* batch, char* line, size_t length)
{
  ++batch->line;
  float* const row = batch->in + (size_t)batch->count * batch->input_width;
  char         why[256];
  switch (csv_frame_parse(line, length, batch->input_width, row, why,
                          sizeof(why))) {
  case CSV_SKIP:
    return true;
  case CSV_INVALID:
    cli_error("stdin line %llu: %s", (unsigned long long)batch->line, why);
    return false;
  case CSV_FRAME:
    break;
  }

  batch->last_frame = row;
  ++batch->count;
  return batch->count < batch->capacity || batch_flush(batch);
}

/* ------------------------------------------------------------------------ */
/* Input                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct {
  char*  data;
  size_t length;   /**< Bytes held. */
  size_t capacity; /**< Bytes allocated, one more kept for a final zero. */
} InputBuffer;

/** Makes room to read more; false (after a message) when a line is too long. */
static bool
input_reserve(InputBuffer* input, uint64_t line)
{
  if (input->length < input->capacity) {
    return true;
  }

  if (input->capacity >= MAX_LINE_BYTES) {
    cli_error("stdin line %llu: longer than %zu bytes",
              (unsigned long long)line,
              MAX_LINE_BYTES);
    return false;
  }

  const size_t capacity =
    input->capacity ? 2 * input->capacity : INITIAL_BUFFER_BYTES;
  char* const data = (char*)realloc(input->data, capacity + 1);
  if (!data) {
    cli_error("out of memory reading stdin line %llu",
              (unsigned long long)line);
    return false;
  }

  input->data     = data;
  input->capacity = capacity;
  return true;
}

/** Reads and processes all of stdin; returns an exit status. */
static int
stream_stdin(Batch* batch)
{
  InputBuffer input  = {NULL, 0, 0};
  int         result = CLI_EXIT_FAILURE;
  bool        eof    = false;

  while (!eof) {
    if (!input_reserve(&input, batch->line + 1)) {
      goto done;
    }

    const ssize_t got = read(
      STDIN_FILENO, input.data + input.length, input.capacity - input.length);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      cli_error("cannot read stdin: %s", strerror(errno));
      goto done;
    }
    eof = (got == 0);
    input.length += (size_t)got;

    size_t start   = 0;
    char*  newline = NULL;
    while ((newline =
              (char*)memchr(input.data + start, '\n', input.length - start))) {
      *newline            = '\0';
      const size_t length = (size_t)(newline - (input.data + start));
      if (!handle_line(batch, input.data + start, length)) {
        goto failed_line;
      }
      start += length + 1;
    }

    if (eof && start < input.length) {
      // A last line without a newline still counts.
      input.data[input.length] = '\0';
      if (!handle_line(batch, input.data + start, input.length - start)) {
        goto failed_line;
      }
      start = input.length;
    }

    // Everything that has arrived is answered before blocking in read().
    if (!batch_flush(batch) || !flush_stdout()) {
      goto done;
    }

    memmove(input.data, input.data + start, input.length - start);
    input.length -= start;
  }

  if (batch_drain(batch) && flush_stdout()) {
    result = CLI_EXIT_SUCCESS;
  }
  goto done;

failed_line:
  // The frames before the bad line are still written.
  if (batch_flush(batch) && batch_drain(batch)) {
    flush_stdout();
  }

done:
  free(input.data);
  return result;
}

int
cmd_stream(int argc, char** argv)
{
  StreamOptions options = {NULL, DEFAULT_BLOCK, cli_engine_options_default()};
  int           result  = parse_options(argc, argv, &options);
  if (result) {
    return (result < 0) ? CLI_EXIT_SUCCESS : result;
  }

  SwModel* const model = cli_load_model(options.model_path);
  if (!model) {
    return CLI_EXIT_FAILURE;
  }

  SwModelInfo info;
  sw_model_info(model, &info);
  if (info.input_width < 1 || info.output_width < 1) {
    cli_error("%s: the model has input width %u and output width %u; "
              "expected at least 1 of each",
              options.model_path,
              info.input_width,
              info.output_width);
    sw_model_free(model);
    return CLI_EXIT_FAILURE;
  }

  SwEngineConfig config    = cli_engine_config(&options.engine);
  config.streams           = 1;
  config.max_block         = options.block;
  config.knob_smoothing_ms = 0.0f; // Knob columns are taken as given.

  SwError   err    = {SW_SUCCESS, ""};
  SwEngine* engine = sw_engine_new(model, &config, &err);
  Batch     batch  = {engine,
                      info.input_width,
                      info.output_width,
                      options.block,
                      0,
                      NULL,
                      NULL,
                      0,
                      engine ? sw_engine_latency(engine) : 0U,
                      NULL};
  result           = CLI_EXIT_FAILURE;
  if (!engine) {
    cli_library_error(&err);
    goto done;
  }

  batch.in =
    (float*)calloc((size_t)options.block * info.input_width, sizeof(float));
  batch.out =
    (float*)calloc((size_t)options.block * info.output_width, sizeof(float));
  if (!batch.in || !batch.out) {
    cli_error("out of memory for %u frames", options.block);
    goto done;
  }

  result = stream_stdin(&batch);
  cli_report_engine(engine, options.engine.backend);

done:
  free(batch.in);
  free(batch.out);
  sw_engine_free(engine);
  sw_model_free(model);
  return result;
}
