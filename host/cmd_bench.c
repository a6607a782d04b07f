/*
  statewave bench: times engines block by block and reports, for each model,
  backend, stream count and block size, the wall time per sample, the
  real-time factor, the block latency (host in -> host out of
  sw_engine_process), the largest difference from the scalar reference
  (cpu-ref) on the same input, and the heap bytes the engine holds. With no
  model it runs the standard set of issue 8 (seeded random weights).
  --max-streams and --max-units search for the largest configuration that
  holds real time.

  A benchmark, not a test: what it prints depends on the machine, and
  nothing here is checked against a threshold.
*/

#include "cli.h"

#include <cjson/cJSON.h>

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__GLIBC__)
#  include <malloc.h>
#endif

#define DEFAULT_BLOCK 128U
#define DEFAULT_RATE 48000U
#define DEFAULT_SECONDS 5.0
#define MAX_RATE 768000U
#define MAX_SECONDS 600.0
#define MAX_LAYERS 16U
#define MAX_INPUTS 64U

/* Most values in a --streams or --block list. */
#define MAX_LIST 16U

/* Search caps, and the most frames one engine call may hold (all streams),
   which bounds the buffers a --max-streams search allocates. */
#define MAX_STREAMS 65536U
#define MAX_UNITS 4096U
#define MAX_CALL_FRAMES (1U << 24U)

/* Timed blocks of one measurement at most (their times are kept). */
#define MAX_TIMED_BLOCKS (1U << 22U)

/* Untimed calls first: caches, page faults, a GPU's first launches. */
#define WARMUP_BLOCKS 16U

/* A step (model build, engine, warm-up, timing) may take this long, or
   twice its audio if that is longer; past it the measurement is cut short
   and a search goes no higher. */
#define STEP_LIMIT_SECONDS 10.0

/* The search's bisection stops within 1/32 of the largest that holds. */
#define SEARCH_RESOLUTION 32U

/* Synthetic models: the same weights on every run and machine. */
#define MODEL_SEED 1U

/* The input signal: one table of noise that every stream reads from its own
   offset, moving one block per call, so making the input costs nothing. */
#define NOISE_FRAMES (1U << 16U)

/* The reference check: the output of the first and the last stream is kept
   for at most this many frames each (2^21 floats, 8 MiB a stream; 43.7 s at
   48 kHz), and cpu-ref is run over them for at most REF_LIMIT_SECONDS. */
#define REF_MAX_FRAMES (1U << 21U)
#define REF_LIMIT_SECONDS 10.0

typedef enum {
  SEARCH_NONE = 0,
  SEARCH_STREAMS,
  SEARCH_UNITS,
} SearchKind;

/* getopt_long values of the long-only options. */
enum {
  OPT_LSTM = 0x200,
  OPT_GRU,
  OPT_RNN,
  OPT_LAYERS,
  OPT_INPUTS,
  OPT_STREAMS,
  OPT_RATE,
  OPT_SECONDS,
  OPT_WEIGHTS,
  OPT_MAX_STREAMS,
  OPT_MAX_UNITS,
};

void
cmd_bench_usage(FILE* stream)
{
  fputs(
    "Usage: statewave bench [--model FILE | --lstm U | --gru U | --rnn U]\n"
    "                       [OPTION]...\n"
    "\n"
    "Time engines block by block: after 16 warm-up calls, each call of\n"
    "sw_engine_process on --block frames of every stream is timed from host\n"
    "input to host output, over --seconds of a deterministic noise signal.\n"
    "For each model, backend, block size and stream count it prints the\n"
    "wall time per sample of one stream (median block time over block x\n"
    "streams), the real-time factor (audio seconds of every stream per wall\n"
    "second, median block), the cost against one stream, the block\n"
    "latency's median (p50), 99th percentile and maximum, the largest\n"
    "difference from cpu-ref (the scalar reference) on the same input, and\n"
    "the heap bytes the engine holds. A single measurement is described in\n"
    "full; several make a table.\n"
    "\n"
    "Model (one of; none: the standard set):\n"
    "  -m, --model FILE     a model file\n"
    "      --lstm U         a synthetic model of LSTM layers of U units\n"
    "      --gru U          ... GRU layers (1..4096 units)\n"
    "      --rnn U          ... SimpleRNN layers\n"
    "      --layers N       recurrent layers of a synthetic model, 1..16\n"
    "                       (default 1); a Dense head to 1 output follows\n"
    "      --inputs I       input width of a synthetic model, 1..64 (default\n"
    "                       1: mono audio; the others are knobs)\n"
    "      --arch FILE      the architecture of a Keras weights-only .h5\n"
    "                       --model (model.save_weights): a JSON spec\n"
    "Synthetic weights are the Keras initializers (glorot_uniform,\n"
    "orthogonal, unit_forget_bias) drawn from a fixed seed. The standard\n"
    "set: LSTM 40, GRU 40, LSTM 16, LSTM 128 and 2 x LSTM 64, each with a\n"
    "Dense head to 1 output, at 1 stream, and LSTM 40 and LSTM 128 also at\n"
    "2, 8 and 64 streams (--streams replaces these counts).\n"
    "\n"
    "Engine:\n"
    "  -b, --block N[,N]... frames per call, 1..65536 (default 128)\n"
    "      --streams N[,N]... independent streams, 1..65536 (default 1)\n"
    "      --rate HZ        sample rate, 1..768000 (default 48000)\n"
    "      --backend NAME   where the model runs:\n"
    "                       auto, cpu, cpu-ref, cudnn or fused,\n"
    "                       a comma-separated list of them, or all: cpu,\n"
    "                       cpu-ref and the GPU backends usable here\n"
    "                       (default: cpu for the standard set, else auto);\n"
    "                       a GPU backend that cannot run here falls back\n"
    "                       to the cpu with a note\n"
    "      --pipelined      pipelined streaming: each engine call starts its\n"
    "                       block and returns the one before (one block of\n"
    "                       latency), so a GPU computes while the host goes\n"
    "                       on\n"
    "      --weights F      fp32 (default), fp16 or bf16: the cpu backend's\n"
    "                       compact modes, LSTM and GRU weights as halves\n"
    "                       (F16C, AVX-512 or NEON) or bfloat16 (any CPU);\n"
    "                       max |err| shows what it costs\n"
    "\n",
    stream);
  fputs(
    "Measurement:\n"
    "      --seconds S      audio per measurement, above 0 and at most 600\n"
    "                       (default 5)\n"
    "      --max-streams    find the largest stream count that holds real\n"
    "                       time, from --streams up: doubling, then\n"
    "                       bisection to within 1/32 (at most 65536)\n"
    "      --max-units      the same over the hidden size of a synthetic\n"
    "                       model, from its U up, at --streams (at most\n"
    "                       4096)\n"
    "  -j, --json           print one JSON object per line: one per\n"
    "                       measurement (model, backend, streams, block,\n"
    "                       ns_per_sample, realtime_factor, max_abs_error\n"
    "                       and more), and a search's answer last\n"
    "  -v, --verbose        also print library information (and, with\n"
    "                       --json, each search step on stderr)\n"
    "  -h, --help           print this help and exit\n"
    "\n"
    "The reference check keeps the output of the first and the last stream\n"
    "(at most 2^21 frames each) and runs cpu-ref on the same input after the\n"
    "timing, for at most 10 s; searches skip it. A step that takes longer\n"
    "than 10 s (or twice its audio) is cut short and does not hold; a search\n"
    "goes no higher after one.\n"
    "\n"
    "Exit status: 0 on success (whether or not real time holds), 1 on a bad\n"
    "file or a runtime error, 2 on bad usage.\n",
    stream);
}

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct {
  const char*     model_option; /**< "--model", "--lstm" ...; NULL: none. */
  const char*     model_path;   /**< --model FILE; NULL: synthetic. */
  const char*     arch_path;
  SwLayerType     cell;         /**< Of a synthetic model. */
  uint32_t        units;
  uint32_t        layers;
  uint32_t        inputs;
  bool            layers_given;
  bool            inputs_given;
  uint32_t        streams[MAX_LIST]; /**< Ascending, no repeats. */
  uint32_t        num_streams;
  bool            streams_given;
  uint32_t        blocks[MAX_LIST];  /**< Ascending, no repeats. */
  uint32_t        num_blocks;
  uint32_t        rate;
  double          seconds;
  SearchKind      search;
  bool            json;
  SwBackendKind   backends[SW_BACKEND_KIND_COUNT]; /**< In the order run. */
  uint32_t        num_backends;
  const char*     backend_text; /**< --backend as given; NULL: default. */
  SwStreamingMode streaming;
  SwWeightFormat  weights; /**< --weights */
} BenchOptions;

/** A number option's value in min..max, or a usage error naming it. */
static int
parse_count(const CliCommand* command,
            const char*       option,
            const char*       text,
            uint32_t          min,
            uint32_t          max,
            uint32_t*         value)
{
  if (!cli_parse_uint(text, min, max, value)) {
    return cli_usage_error(command,
                           "%s '%s': expected an integer in %u..%u",
                           option,
                           text,
                           min,
                           max);
  }
  return CLI_EXIT_SUCCESS;
}

static int
compare_uint32(const void* a, const void* b)
{
  const uint32_t x = *(const uint32_t*)a;
  const uint32_t y = *(const uint32_t*)b;
  return (x > y) - (x < y);
}

/**
   A comma-separated list of integers in min..max into `values` (sorted, no
   repeats), or a usage error naming the option and the item.
*/
static int
parse_list(const CliCommand* command,
           const char*       option,
           const char*       text,
           uint32_t          min,
           uint32_t          max,
           uint32_t*         values,
           uint32_t*         count)
{
  char copy[512];
  if (snprintf(copy, sizeof(copy), "%s", text) >= (int)sizeof(copy)) {
    return cli_usage_error(command, "%s: the list is too long", option);
  }
  uint32_t n    = 0;
  char*    item = copy;
  for (;;) {
    char* const comma = strchr(item, ',');
    if (comma) {
      *comma = '\0';
    }
    if (n == MAX_LIST) {
      return cli_usage_error(
        command, "%s '%s': expected at most %u values", option, text, MAX_LIST);
    }
    if (!cli_parse_uint(item, min, max, &values[n])) {
      return cli_usage_error(command,
                             "%s '%s': expected an integer in %u..%u, or a "
                             "comma-separated list of them",
                             option,
                             item,
                             min,
                             max);
    }
    ++n;
    if (!comma) {
      break;
    }
    item = comma + 1;
  }
  qsort(values, n, sizeof(uint32_t), compare_uint32);
  uint32_t kept = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (!kept || values[i] != values[kept - 1U]) {
      values[kept++] = values[i];
    }
  }
  *count = kept;
  return CLI_EXIT_SUCCESS;
}

/** Adds `kind` to the backends to run unless it is there already. */
static void
add_backend(BenchOptions* options, SwBackendKind kind)
{
  for (uint32_t i = 0; i < options->num_backends; ++i) {
    if (options->backends[i] == kind) {
      return;
    }
  }
  options->backends[options->num_backends++] = kind;
}

/** cpu, cpu-ref, and the GPU backends that can run here. */
static void
add_all_backends(BenchOptions* options)
{
  static const SwBackendKind kinds[] = {
    SW_BACKEND_CPU, SW_BACKEND_CPU_REF, SW_BACKEND_CUDNN, SW_BACKEND_FUSED};
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); ++i) {
    SwBackendInfo info;
    const bool    gpu = kinds[i] == SW_BACKEND_CUDNN || kinds[i] == SW_BACKEND_FUSED;
    if (!gpu ||
        (sw_backend_info(kinds[i], &info) == SW_SUCCESS && info.usable)) {
      add_backend(options, kinds[i]);
    } else if (cli_verbose()) {
      cli_warning("--backend all: skipping %s: %s", info.name, info.detail);
    }
  }
}

/** --backend: names, a comma-separated list, or all. Resolved after the
    options are read (all probes the GPU backends, -v may come later). */
static int
resolve_backends(const CliCommand* command, BenchOptions* options)
{
  if (!options->backend_text) {
    add_backend(options,
                options->model_option ? SW_BACKEND_AUTO : SW_BACKEND_CPU);
    return CLI_EXIT_SUCCESS;
  }
  char copy[256];
  if (snprintf(copy, sizeof(copy), "%s", options->backend_text) >=
      (int)sizeof(copy)) {
    return cli_usage_error(command, "--backend: the list is too long");
  }
  char* item = copy;
  for (;;) {
    char* const comma = strchr(item, ',');
    if (comma) {
      *comma = '\0';
    }
    SwBackendKind kind = SW_BACKEND_AUTO;
    if (!strcmp(item, "all")) {
      add_all_backends(options);
    } else if (sw_backend_parse(item, &kind) == SW_SUCCESS) {
      add_backend(options, kind);
    } else {
      return cli_usage_error(command,
                             "--backend '%s': expected auto, cpu, cpu-ref, "
                             "cudnn or fused, a comma-separated list of "
                             "them, or all",
                             item);
    }
    if (!comma) {
      break;
    }
    item = comma + 1;
  }
  return CLI_EXIT_SUCCESS;
}

/** Takes `option` as the run's one model; a usage error if there is one. */
static int
claim_model(const CliCommand* command,
            const char*       option,
            BenchOptions*     options)
{
  if (options->model_option) {
    return cli_usage_error(command,
                           "%s and %s: expected one of --model, --lstm, "
                           "--gru and --rnn",
                           options->model_option,
                           option);
  }
  options->model_option = option;
  return CLI_EXIT_SUCCESS;
}

/** --lstm, --gru or --rnn U. */
static int
take_cell(const CliCommand* command,
          const char*       option,
          SwLayerType       cell,
          const char*       text,
          BenchOptions*     options)
{
  options->cell = cell;
  return claim_model(command, option, options) ||
                 parse_count(command, option, text, 1U, MAX_UNITS,
                             &options->units)
           ? CLI_EXIT_USAGE
           : CLI_EXIT_SUCCESS;
}

/** Checks the options together; returns an exit status. */
static int
check_options(const CliCommand* command, const BenchOptions* options)
{
  if (!options->model_option &&
      (options->layers_given || options->inputs_given)) {
    return cli_usage_error(command,
                           "%s applies to --lstm, --gru and --rnn, not to "
                           "the standard set",
                           options->layers_given ? "--layers" : "--inputs");
  }
  if (options->model_path &&
      (options->layers_given || options->inputs_given)) {
    return cli_usage_error(command,
                           "%s applies to --lstm, --gru and --rnn, not to "
                           "--model",
                           options->layers_given ? "--layers" : "--inputs");
  }
  if (options->arch_path && !options->model_path) {
    return cli_usage_error(command, "--arch applies to --model FILE");
  }
  if (options->search) {
    const char* const search = (options->search == SEARCH_UNITS)
                                 ? "--max-units"
                                 : "--max-streams";
    if (!options->model_option) {
      return cli_usage_error(command,
                             "%s needs one model: --model FILE, --lstm U, "
                             "--gru U or --rnn U",
                             search);
    }
    if (options->search == SEARCH_UNITS && options->model_path) {
      return cli_usage_error(
        command, "--max-units needs a synthetic model: --lstm, --gru or --rnn");
    }
    if (options->num_streams > 1U || options->num_blocks > 1U ||
        options->num_backends > 1U) {
      return cli_usage_error(command,
                             "%s: expected one --streams, one --block and "
                             "one --backend",
                             search);
    }
  }

  // The largest call, and the most blocks: the largest and smallest values.
  const uint32_t streams = options->streams[options->num_streams - 1U];
  const uint32_t largest = options->blocks[options->num_blocks - 1U];
  const uint32_t block   = options->blocks[0];
  const uint64_t call_frames = (uint64_t)streams * largest;
  if (call_frames > MAX_CALL_FRAMES) {
    return cli_usage_error(command,
                           "--streams %u of --block %u is %llu frames a "
                           "call; expected at most %u",
                           streams,
                           largest,
                           (unsigned long long)call_frames,
                           MAX_CALL_FRAMES);
  }

  const double blocks = ceil(options->seconds * options->rate / block);
  if (blocks > MAX_TIMED_BLOCKS) {
    return cli_usage_error(command,
                           "--seconds %g at --rate %u in --block %u is %.0f "
                           "blocks; expected at most %u",
                           options->seconds,
                           options->rate,
                           block,
                           blocks,
                           MAX_TIMED_BLOCKS);
  }
  return CLI_EXIT_SUCCESS;
}

/** Fills `options`; returns 0, -1 after --help, or an exit status. */
static int
parse_options(int argc, char** argv, BenchOptions* options)
{
  static const struct option long_options[] = {
    {"model", required_argument, NULL, 'm'},
    {"lstm", required_argument, NULL, OPT_LSTM},
    {"gru", required_argument, NULL, OPT_GRU},
    {"rnn", required_argument, NULL, OPT_RNN},
    {"layers", required_argument, NULL, OPT_LAYERS},
    {"inputs", required_argument, NULL, OPT_INPUTS},
    {"arch", required_argument, NULL, CLI_OPT_ARCH},
    {"block", required_argument, NULL, 'b'},
    {"streams", required_argument, NULL, OPT_STREAMS},
    {"rate", required_argument, NULL, OPT_RATE},
    CLI_ENGINE_LONG_OPTIONS,
    {"seconds", required_argument, NULL, OPT_SECONDS},
    {"weights", required_argument, NULL, OPT_WEIGHTS},
    {"max-streams", no_argument, NULL, OPT_MAX_STREAMS},
    {"max-units", no_argument, NULL, OPT_MAX_UNITS},
    {"json", no_argument, NULL, 'j'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };

  const CliCommand* const command = cli_command("bench");
  cli_reset_getopt();
  int opt    = 0;
  int status = CLI_EXIT_SUCCESS;
  while (!status && (opt = getopt_long(
                       argc, argv, ":m:b:jvh", long_options, NULL)) != -1) {
    switch (opt) {
    case 'm':
      options->model_path = optarg;
      status              = claim_model(command, "--model", options);
      break;
    case OPT_LSTM:
      status = take_cell(command, "--lstm", SW_LAYER_LSTM, optarg, options);
      break;
    case OPT_GRU:
      status = take_cell(command, "--gru", SW_LAYER_GRU, optarg, options);
      break;
    case OPT_RNN:
      status =
        take_cell(command, "--rnn", SW_LAYER_SIMPLE_RNN, optarg, options);
      break;
    case OPT_LAYERS:
      options->layers_given = true;
      status                = parse_count(
        command, "--layers", optarg, 1U, MAX_LAYERS, &options->layers);
      break;
    case OPT_INPUTS:
      options->inputs_given = true;
      status                = parse_count(
        command, "--inputs", optarg, 1U, MAX_INPUTS, &options->inputs);
      break;
    case CLI_OPT_ARCH:
      options->arch_path = optarg;
      cli_set_arch(optarg);
      break;
    case 'b':
      status = parse_list(command,
                          "--block",
                          optarg,
                          1U,
                          CLI_MAX_BLOCK,
                          options->blocks,
                          &options->num_blocks);
      break;
    case OPT_STREAMS:
      options->streams_given = true;
      status                 = parse_list(command,
                          "--streams",
                          optarg,
                          1U,
                          MAX_STREAMS,
                          options->streams,
                          &options->num_streams);
      break;
    case OPT_RATE:
      status =
        parse_count(command, "--rate", optarg, 1U, MAX_RATE, &options->rate);
      break;
    case CLI_OPT_BACKEND:
      options->backend_text = optarg;
      break;
    case CLI_OPT_PIPELINED:
      options->streaming = SW_STREAMING_PIPELINED;
      break;
    case OPT_WEIGHTS:
      if (!strcmp(optarg, "fp32")) {
        options->weights = SW_WEIGHTS_FP32;
      } else if (!strcmp(optarg, "fp16")) {
        options->weights = SW_WEIGHTS_FP16;
      } else if (!strcmp(optarg, "bf16")) {
        options->weights = SW_WEIGHTS_BF16;
      } else {
        status = cli_usage_error(command,
                                 "--weights '%s': expected fp32, fp16 or bf16",
                                 optarg);
      }
      break;
    case OPT_SECONDS:
      if (!cli_parse_double(optarg, &options->seconds) ||
          !(options->seconds > 0.0) || options->seconds > MAX_SECONDS) {
        status = cli_usage_error(
          command,
          "--seconds '%s': expected a number above 0 and at most %g",
          optarg,
          MAX_SECONDS);
      }
      break;
    case OPT_MAX_STREAMS:
    case OPT_MAX_UNITS: {
      const SearchKind search =
        (opt == OPT_MAX_STREAMS) ? SEARCH_STREAMS : SEARCH_UNITS;
      if (options->search && options->search != search) {
        status = cli_usage_error(
          command, "--max-streams and --max-units: expected one search");
      }
      options->search = search;
      break;
    }
    case 'j':
      options->json = true;
      break;
    case 'v':
      cli_set_verbose(true);
      break;
    case 'h':
      cmd_bench_usage(stdout);
      return -1;
    default:
      return cli_option_error(command, opt, argv);
    }
  }
  if (status) {
    return status;
  }

  if (optind < argc) {
    return cli_usage_error(
      command, "unexpected argument '%s'", argv[optind]);
  }
  status = resolve_backends(command, options);
  return status ? status : check_options(command, options);
}

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

/** One model to measure, and the stream counts to measure it at. */
typedef struct {
  const char*     path;   /**< A model file; NULL: synthetic. */
  SwLayerType     cell;   /**< Of a synthetic model. */
  uint32_t        units;
  uint32_t        layers;
  uint32_t        inputs;
  const uint32_t* streams;
  uint32_t        num_streams;
} Subject;

/* The standard set of issue 8, each with a Dense head to 1 output. */
static const uint32_t one_stream[]   = {1U};
static const uint32_t many_streams[] = {1U, 2U, 8U, 64U};
static const Subject  standard_set[] = {
  {NULL, SW_LAYER_LSTM, 40U, 1U, 1U, many_streams, 4U},
  {NULL, SW_LAYER_GRU, 40U, 1U, 1U, one_stream, 1U},
  {NULL, SW_LAYER_LSTM, 16U, 1U, 1U, one_stream, 1U},
  {NULL, SW_LAYER_LSTM, 128U, 1U, 1U, many_streams, 4U},
  {NULL, SW_LAYER_LSTM, 64U, 2U, 1U, one_stream, 1U},
};
#define STANDARD_SET_SIZE (sizeof(standard_set) / sizeof(standard_set[0]))

static double
seconds_now(void)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

/** The synthetic model of `subject` with `units` per recurrent layer; NULL
    after a message. */
static SwModel*
build_model(const Subject* subject, uint32_t units, uint32_t rate)
{
  SwLayerSpec layers[MAX_LAYERS + 1U];
  for (uint32_t l = 0; l < subject->layers; ++l) {
    layers[l] = sw_layer_spec(subject->cell, units);
  }
  layers[subject->layers] = sw_layer_spec(SW_LAYER_DENSE, 1U);

  SwModelSpec spec;
  memset(&spec, 0, sizeof(spec));
  spec.input_width = subject->inputs;
  spec.num_layers  = subject->layers + 1U;
  spec.layers      = layers;
  spec.sample_rate = rate;

  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_build(&spec, MODEL_SEED, &err);
  if (!model) {
    cli_error("%s %u: cannot build the model: %s",
              sw_layer_type_name(subject->cell),
              units,
              err.message);
  }
  return model;
}

/** "LSTM 40 > Dense 1" (and a windowed model's window). */
static void
describe_model(const SwModel* model, char* text, size_t size)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  size_t used = 0;
  text[0]     = '\0';
  for (uint32_t l = 0; l < info.num_layers && used < size; ++l) {
    SwLayerInfo layer;
    if (sw_model_layer(model, l, &layer) == SW_SUCCESS) {
      const int n = snprintf(text + used,
                             size - used,
                             "%s%s %u",
                             l ? " > " : "",
                             sw_layer_type_name(layer.type),
                             layer.units);
      used += (n > 0) ? (size_t)n : 0U;
    }
  }
  if (info.window && used < size) {
    snprintf(text + used, size - used, ", window %u", info.window);
  }
}

/* ------------------------------------------------------------------------ */
/* Measurement                                                              */
/* ------------------------------------------------------------------------ */

/** One timed configuration. */
typedef struct {
  uint32_t      units;   /**< Of a synthetic model; 0 for a file. */
  uint32_t      streams;
  uint32_t      block;
  SwBackendKind asked;
  uint32_t      blocks;  /**< Timed. */
  bool          cut_short;
  bool          holds;
  double        block_us;      /**< Duration of one block of audio. */
  double        p50_us;
  double        p99_us;
  double        max_us;
  double        ns_per_sample; /**< p50 / (block * streams). */
  double        realtime_factor; /**< Block duration / p50. */
  double        cost_vs_one;   /**< p50 / p50 of 1 stream; NAN: none. */
  bool          error_checked;
  double        max_abs_error;
  uint64_t      error_frames;  /**< Compared, per checked stream. */
  uint32_t      error_streams; /**< Streams compared: 1 or 2. */
  long long     engine_bytes;  /**< Heap held by the engine; -1: unknown. */
  long long     stream_bytes;  /**< One stream more; -1: not measured. */
  double        build_s; /**< Building the synthetic model. */
  double        wall_s;  /**< The whole step: build, engine, warm-up, timing. */
  double        load[3]; /**< Load average before; -1: unknown. */
  char          backend[16];
  char          kernels[24]; /**< cpu: the kernel set (+fp16); "": none. */
  const char*   weights;     /**< the weights it ran: "fp32", "fp16", "bf16" */
  char          note[1024];
  uint32_t      fallbacks;
  uint32_t      latency;
  char          name[256];  /**< The file, or the layers of a synthetic. */
  char          model[256]; /**< The layers. */
  const char*   path;
  uint32_t      inputs;
  size_t        params;
  uint64_t      macs_per_frame;
} Measurement;

/** What every measurement of one run shares. */
typedef struct {
  const BenchOptions* options;
  float*              noise;    /**< NOISE_FRAMES + largest block frames. */
  double*             times;    /**< One per call, warm-up included. */
  uint32_t            max_blocks; /**< Timed blocks of the smallest block. */
  double              limit_s;  /**< Of one step. */
} Bench;

static uint32_t
timed_blocks(const BenchOptions* options, uint32_t block)
{
  return (uint32_t)ceil(options->seconds * options->rate / block);
}

static bool
bench_init(Bench* bench, const BenchOptions* options)
{
  const uint32_t largest = options->blocks[options->num_blocks - 1U];
  bench->options         = options;
  bench->max_blocks      = timed_blocks(options, options->blocks[0]);
  bench->limit_s         = fmax(STEP_LIMIT_SECONDS, 2.0 * options->seconds);
  bench->noise =
    (float*)malloc(((size_t)NOISE_FRAMES + largest) * sizeof(float));
  bench->times = (double*)malloc(((size_t)WARMUP_BLOCKS + bench->max_blocks) *
                                 sizeof(double));
  if (!bench->noise || !bench->times) {
    return false;
  }

  // Uniform noise in [-0.5, 0.5) from a linear congruential generator.
  uint32_t state = 12345U;
  for (size_t i = 0; i < (size_t)NOISE_FRAMES + largest; ++i) {
    state           = state * 1664525U + 1013904223U;
    bench->noise[i] = (float)(state >> 8) / 16777216.0f - 0.5f;
  }
  return true;
}

static void
bench_free(Bench* bench)
{
  free(bench->noise);
  free(bench->times);
}

static int
compare_doubles(const void* a, const void* b)
{
  const double x = *(const double*)a;
  const double y = *(const double*)b;
  return (x > y) - (x < y);
}

/** Nearest-rank percentile `p` (0..1] of `count` sorted values. */
static double
percentile(const double* sorted, uint32_t count, double p)
{
  const double rank  = ceil(p * count);
  const size_t index = (rank < 1.0) ? 0U : (size_t)rank - 1U;
  return sorted[index < count ? index : count - 1U];
}

/** Stream `s`'s input for call `b`: its place in the noise table. */
static const float*
stream_input(const Bench* bench, uint32_t block, uint32_t s, uint64_t b)
{
  return bench->noise + ((uint64_t)s * 7919U + b * block) % NOISE_FRAMES;
}

/** The 1, 5 and 15 minute load averages, or -1 each. */
static void
read_load(double load[3])
{
  load[0] = load[1] = load[2] = -1.0;
  FILE* const file = fopen("/proc/loadavg", "r");
  if (file) {
    if (fscanf(file, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) {
      load[0] = load[1] = load[2] = -1.0;
    }
    fclose(file);
  }
}

/** Heap bytes in use (malloc's chunks, headers included; mmapped blocks),
    or -1 where the C library does not say. */
static long long
heap_in_use(void)
{
#if defined(__GLIBC__) &&                                                    \
  (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 info = mallinfo2();
  return (long long)(info.uordblks + info.hblkhd);
#else
  return -1;
#endif
}

/** Makes an engine, quietly unless -v: its note is part of the report,
    and a search makes many. `bytes` gets the heap it took (-1: unknown).
    NULL after a message. */
static SwEngine*
make_engine(const Bench*    bench,
            const SwModel*  model,
            SwBackendKind   backend,
            SwStreamingMode streaming,
            uint32_t        block,
            uint32_t        streams,
            long long*      bytes)
{
  SwEngineConfig config    = sw_engine_config_default();
  config.backend           = backend;
  config.streaming         = streaming;
  config.sample_rate       = bench->options->rate;
  config.streams           = streams;
  config.max_block         = block;
  config.knob_smoothing_ms = 0.0f;
  config.weights           = bench->options->weights;

  if (!cli_verbose()) {
    sw_set_log(NULL, NULL);
  }
  SwError         err    = {SW_SUCCESS, ""};
  const long long before = heap_in_use();
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  const long long after  = heap_in_use();
  sw_set_log(cli_log, NULL);
  if (!engine) {
    cli_library_error(&err);
  }
  if (bytes) {
    *bytes = (before >= 0 && after >= before) ? after - before : -1;
  }
  return engine;
}

/* stream_bytes() compares engines of 1 and 1 + STREAM_BYTES_SPAN streams:
   malloc's rounding, spread over several streams, stays below a byte. */
#define STREAM_BYTES_SPAN 8U

/** The heap one more stream takes on a cpu backend: (an engine of 9
    streams less one of 1) / 8, the one of 1 made first so one-time set-up
    is in neither. -1 when unknown. */
static long long
stream_bytes(const Bench*   bench,
             const SwModel* model,
             SwBackendKind  backend,
             uint32_t       block)
{
  const uint32_t counts[2] = {1U, 1U + STREAM_BYTES_SPAN};
  long long      bytes[2]  = {-1, -1};
  for (uint32_t i = 0; i < 2U; ++i) {
    SwEngine* const engine = make_engine(bench,
                                         model,
                                         backend,
                                         bench->options->streaming,
                                         block,
                                         counts[i],
                                         &bytes[i]);
    if (!engine) {
      return -1;
    }
    sw_engine_free(engine);
  }
  if (bytes[0] < 0 || bytes[1] < bytes[0]) {
    return -1;
  }
  return (bytes[1] - bytes[0] + STREAM_BYTES_SPAN / 2U) / STREAM_BYTES_SPAN;
}

/** The streams whose output is checked against cpu-ref: the first and the
    last. Returns how many (1 or 2). */
static uint32_t
checked_streams(uint32_t streams, uint32_t index[2])
{
  index[0] = 0;
  index[1] = streams - 1U;
  return (streams > 1U) ? 2U : 1U;
}

/**
   Runs cpu-ref over the input the engine was given, from a fresh state,
   and compares it with the `recorded` frames of `kept` (the checked
   streams' output, `capacity` frames each, `latency` frames late). Fills
   m's error figures. Returns an exit status.
*/
static int
check_against_reference(const Bench*   bench,
                        const SwModel* model,
                        uint32_t       streams,
                        const float*   kept,
                        uint64_t       capacity,
                        uint64_t       recorded,
                        Measurement*   m)
{
  uint32_t       index[2];
  const uint32_t count = checked_streams(streams, index);
  const uint32_t block = m->block;
  SwEngine* const reference = make_engine(
    bench, model, SW_BACKEND_CPU_REF, SW_STREAMING_SYNC, block, count, NULL);
  float* const output = (float*)calloc((size_t)count * block, sizeof(float));
  if (!reference || !output) {
    sw_engine_free(reference);
    free(output);
    if (reference) {
      cli_error("out of memory for the reference check");
    }
    return CLI_EXIT_FAILURE;
  }

  const double start    = seconds_now();
  double       largest  = 0.0;
  uint64_t     compared = 0;
  for (uint64_t b = 0; (uint64_t)b * block + m->latency < recorded; ++b) {
    const float* in[2];
    float*       out[2];
    for (uint32_t c = 0; c < count; ++c) {
      in[c]  = stream_input(bench, block, index[c], b);
      out[c] = output + (size_t)c * block;
    }
    if (sw_engine_process(reference, in, out, block) != SW_SUCCESS) {
      cli_error("cpu-ref failed on the reference check");
      sw_engine_free(reference);
      free(output);
      return CLI_EXIT_FAILURE;
    }
    // Reference frame u is the engine's frame u + latency.
    for (uint32_t i = 0; i < block; ++i) {
      const uint64_t t = b * block + i + m->latency;
      if (t >= recorded) {
        break;
      }
      for (uint32_t c = 0; c < count; ++c) {
        const double d = fabs((double)out[c][i] - (double)kept[c * capacity + t]);
        largest        = (d > largest || isnan(d)) ? d : largest;
      }
      ++compared;
    }
    if (seconds_now() - start > REF_LIMIT_SECONDS) {
      break;
    }
  }
  sw_engine_free(reference);
  free(output);
  m->error_checked = true;
  m->max_abs_error = largest;
  m->error_frames  = compared;
  m->error_streams = count;
  return CLI_EXIT_SUCCESS;
}

/** Fills the model's description into `m`. */
static void
describe_subject(const Subject* subject, const SwModel* model, Measurement* m)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  describe_model(model, m->model, sizeof(m->model));
  snprintf(m->name, sizeof(m->name), "%s", subject->path ? subject->path : m->model);
  m->path           = subject->path;
  m->inputs         = info.input_width;
  m->params         = info.num_params;
  m->macs_per_frame = info.macs_per_frame;
}

/**
   Times `model` on `backend`, `streams` streams of `block` frames into `m`;
   the step began at `start` (before the model was built). With `check`,
   also the reference check and the heap a stream takes. Returns an exit
   status.
*/
static int
measure(const Bench*   bench,
        const SwModel* model,
        SwBackendKind  backend,
        uint32_t       block,
        uint32_t       streams,
        bool           check,
        double         start,
        Measurement*   m)
{
  const BenchOptions* const options = bench->options;
  m->asked                          = backend;
  m->block                          = block;
  m->streams                        = streams;
  m->block_us                       = 1e6 * block / options->rate;
  m->stream_bytes                   = -1;
  m->engine_bytes                   = -1;
  m->cost_vs_one                    = (double)NAN;
  read_load(m->load);

  // The heap a stream takes, from engines made before the timed one (which
  // also keeps one-time set-up out of the timed engine's figure).
  if (check &&
      (backend == SW_BACKEND_CPU || backend == SW_BACKEND_CPU_REF)) {
    m->stream_bytes = stream_bytes(bench, model, backend, block);
  }

  SwEngine* engine = make_engine(
    bench, model, backend, options->streaming, block, streams, &m->engine_bytes);
  const float** in     = (const float**)calloc(streams, sizeof(float*));
  float**       out    = (float**)calloc(streams, sizeof(float*));
  float* const  output = (float*)calloc((size_t)streams * block, sizeof(float));
  float*        kept   = NULL;
  uint32_t      index[2];
  const uint32_t num_checked = checked_streams(streams, index);
  const uint32_t calls       = WARMUP_BLOCKS + timed_blocks(options, block);
  const uint64_t all_frames  = (uint64_t)calls * block;
  const uint64_t capacity =
    (all_frames < REF_MAX_FRAMES) ? all_frames : REF_MAX_FRAMES;
  int result = CLI_EXIT_FAILURE;
  if (!engine) {
    goto done;
  }
  snprintf(m->backend, sizeof(m->backend), "%s", sw_engine_backend_name(engine));
  const bool reference = check && strcmp(m->backend, "cpu-ref") != 0;
  if (reference) {
    kept = (float*)malloc((size_t)num_checked * capacity * sizeof(float));
  }
  if (!in || !out || !output || (reference && !kept)) {
    cli_error("out of memory for %u streams of %u frames", streams, block);
    goto done;
  }
  for (uint32_t s = 0; s < streams; ++s) {
    out[s] = output + (size_t)s * block;
  }

  uint32_t made = 0;
  while (made < calls) {
    for (uint32_t s = 0; s < streams; ++s) {
      in[s] = stream_input(bench, block, s, made);
    }
    const double   t0     = seconds_now();
    const SwStatus status = sw_engine_process(engine, in, out, block);
    const double   t1     = seconds_now();
    if (status) {
      cli_error("processing failed on %u streams: %s",
                streams,
                sw_strerror(status));
      goto done;
    }
    bench->times[made] = t1 - t0;
    const uint64_t at  = (uint64_t)made * block;
    if (kept && at < capacity) {
      const uint64_t n = (capacity - at < block) ? capacity - at : block;
      for (uint32_t c = 0; c < num_checked; ++c) {
        memcpy(kept + c * capacity + at, out[index[c]], n * sizeof(float));
      }
    }
    ++made;
    if (t1 - start > bench->limit_s) {
      break;
    }
  }

  // The timed calls; a step cut short in its warm-up has only those.
  m->cut_short         = made < calls;
  m->blocks            = (made > WARMUP_BLOCKS) ? made - WARMUP_BLOCKS : 0U;
  double* const  times = bench->times + (m->blocks ? WARMUP_BLOCKS : 0U);
  const uint32_t count = m->blocks ? m->blocks : made;
  qsort(times, count, sizeof(double), compare_doubles);
  m->p50_us          = 1e6 * percentile(times, count, 0.50);
  m->p99_us          = 1e6 * percentile(times, count, 0.99);
  m->max_us          = 1e6 * times[count - 1U];
  m->ns_per_sample   = 1e3 * m->p50_us / ((double)block * streams);
  m->realtime_factor = m->block_us / m->p50_us;
  m->holds           = !m->cut_short && m->p99_us < m->block_us;
  const char* const note = sw_engine_backend_note(engine);
  snprintf(m->note, sizeof(m->note), "%s", note ? note : "");
  m->fallbacks = sw_engine_fallback_count(engine);
  m->latency   = sw_engine_latency(engine);
  const SwWeightFormat weights = sw_engine_weights(engine);
  m->weights = weights == SW_WEIGHTS_FP16   ? "fp16"
               : weights == SW_WEIGHTS_BF16 ? "bf16"
                                            : "fp32";
  /* The set this engine runs (it depends on the model and the streams):
     "avx2" and, in a compact mode, "avx2+fp16" or "avx2+bf16". */
  const char* const kernels = sw_engine_cpu_kernels(engine);
  if (kernels) {
    const bool compact = weights != SW_WEIGHTS_FP32;
    snprintf(m->kernels, sizeof(m->kernels), "%.*s%s%s",
             (int)strcspn(kernels, "-"), kernels, compact ? "+" : "",
             compact ? m->weights : "");
  }
  sw_engine_free(engine);
  engine = NULL;

  if (reference) {
    const uint64_t recorded =
      ((uint64_t)made * block < capacity) ? (uint64_t)made * block : capacity;
    result =
      check_against_reference(bench, model, streams, kept, capacity, recorded, m);
  } else {
    // cpu-ref is the reference: nothing to compare.
    m->error_checked = check;
    m->max_abs_error = 0.0;
    result           = CLI_EXIT_SUCCESS;
  }

done:
  sw_engine_free(engine);
  free(in);
  free(out);
  free(output);
  free(kept);
  m->wall_s = seconds_now() - start;
  return result;
}

/**
   One step: `model`, or when NULL the synthetic model of `units` built for
   it, on `streams` streams. Returns an exit status.
*/
static int
run_step(const Bench*   bench,
         const Subject* subject,
         const SwModel* model,
         SwBackendKind  backend,
         uint32_t       block,
         uint32_t       units,
         uint32_t       streams,
         bool           check,
         Measurement*   m)
{
  memset(m, 0, sizeof(*m));
  m->units           = subject->path ? 0U : units;
  const double start = seconds_now();
  SwModel* const built =
    model ? NULL : build_model(subject, units, bench->options->rate);
  if (!model && !built) {
    return CLI_EXIT_FAILURE;
  }
  m->build_s = built ? seconds_now() - start : 0.0;
  describe_subject(subject, model ? model : built, m);
  const int result = measure(
    bench, model ? model : built, backend, block, streams, check, start, m);
  sw_model_free(built);
  return result;
}

/* ------------------------------------------------------------------------ */
/* Search                                                                   */
/* ------------------------------------------------------------------------ */

/* Doubling from 1 to 65536 and bisecting back takes at most 17 + 16. */
#define MAX_STEPS 40U

typedef enum {
  STOP_FAILED = 0, /**< The next size measured fails. */
  STOP_CAP,        /**< The search's cap holds. */
  STOP_TIME,       /**< A step took too long (or a build would). */
} SearchStop;

typedef struct {
  Measurement steps[MAX_STEPS];
  uint32_t    num_steps;
  uint32_t    cap;
  uint32_t    largest; /**< That holds; 0: none. */
  uint32_t    failing; /**< Smallest measured that fails; 0: none. */
  SearchStop  stop;
  int         best;    /**< Step of `largest`; -1: none. */
} Search;

static const char*
search_over(const BenchOptions* options)
{
  return (options->search == SEARCH_UNITS) ? "units" : "streams";
}

static const char* const search_stops[] = {
  [STOP_FAILED] = "failed", [STOP_CAP] = "cap", [STOP_TIME] = "time"};

static void
print_step(FILE* stream, const BenchOptions* options, const Measurement* m)
{
  fprintf(stream,
          "  %s %u (%s): p50 %.1f us, p99 %.1f us, max %.1f us, %.1f ns a "
          "sample, real-time factor %.2f: %s\n",
          search_over(options),
          (options->search == SEARCH_UNITS) ? m->units : m->streams,
          m->backend,
          m->p50_us,
          m->p99_us,
          m->max_us,
          m->ns_per_sample,
          m->realtime_factor,
          m->holds ? "holds" : (m->cut_short ? "cut short" : "fails"));
  fflush(stream);
}

/** Whether the search must stop before a step of `next`: the last step
    took too long, or the model `next` units would (building it costs about
    the cube of its size, for the orthogonal initializer). */
static bool
out_of_time(const Bench* bench, const Measurement* last, uint32_t next)
{
  if (last->wall_s > bench->limit_s) {
    return true;
  }
  if (bench->options->search != SEARCH_UNITS) {
    return false;
  }
  const double growth = (double)next / last->units;
  return last->build_s * growth * growth * growth > bench->limit_s;
}

static void print_json_line(cJSON* line);
static cJSON* measurement_json(const Bench* bench, const Measurement* m);

/** Runs the search of `options->search`; returns an exit status. */
static int
run_search(const Bench*   bench,
           const Subject* subject,
           const SwModel* model,
           Search*        search)
{
  const BenchOptions* const options = bench->options;
  const bool                units   = options->search == SEARCH_UNITS;
  const uint32_t            block   = options->blocks[0];
  const uint32_t            stream_cap = MAX_CALL_FRAMES / block;
  search->cap  = units ? MAX_UNITS
                       : (stream_cap < MAX_STREAMS ? stream_cap : MAX_STREAMS);
  search->best = -1;
  FILE* const progress =
    options->json ? (cli_verbose() ? stderr : NULL) : stdout;

  uint32_t x = units ? subject->units : options->streams[0];
  while (search->num_steps < MAX_STEPS) {
    Measurement* const m = &search->steps[search->num_steps];
    const int          result =
      units ? run_step(bench, subject, NULL, options->backends[0], block, x,
                       options->streams[0], false, m)
            : run_step(bench, subject, model, options->backends[0], block,
                       subject->units, x, false, m);
    if (result) {
      return result;
    }
    ++search->num_steps;
    if (progress) {
      print_step(progress, options, m);
    }
    if (options->json) {
      cJSON* const line = measurement_json(bench, m);
      if (line && !cJSON_AddStringToObject(line, "search", search_over(options))) {
        cJSON_Delete(line);
        print_json_line(NULL);
      } else {
        print_json_line(line);
      }
    }

    if (m->holds) {
      search->largest = x;
      search->best    = (int)search->num_steps - 1;
    } else {
      search->failing = x;
    }

    if (!search->failing) {
      // Doubling, up to the cap, while the steps stay within their bound.
      const uint32_t next = (x > search->cap / 2U) ? search->cap : 2U * x;
      if (x == search->cap) {
        search->stop = STOP_CAP;
        break;
      }
      if (out_of_time(bench, m, next)) {
        search->stop = STOP_TIME;
        break;
      }
      x = next;
      continue;
    }

    // Bisecting between the largest that holds and the smallest that fails.
    const uint32_t gap       = search->failing - search->largest;
    const uint32_t tolerance = search->largest / SEARCH_RESOLUTION;
    if (gap <= (tolerance > 1U ? tolerance : 1U)) {
      search->stop = STOP_FAILED;
      break;
    }
    x = search->largest + gap / 2U;
  }
  return CLI_EXIT_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Report                                                                   */
/* ------------------------------------------------------------------------ */

/** What the report says about the machine. */
typedef struct {
  char cpu[256]; /**< /proc/cpuinfo's model name, or "unknown". */
  long cores;
  char gpu[256]; /**< The GPU backend's device and versions; "": none. */
  char cpu_detail[256]; /**< The cpu backend's kernels, as backends says. */
} Machine;

static bool
is_gpu(SwBackendKind kind)
{
  return kind == SW_BACKEND_CUDNN || kind == SW_BACKEND_FUSED;
}

static void
machine_describe(Machine* machine, const BenchOptions* options)
{
  snprintf(machine->cpu, sizeof(machine->cpu), "unknown");
  FILE* const file = fopen("/proc/cpuinfo", "r");
  char        line[512];
  while (file && fgets(line, sizeof(line), file)) {
    const char* const colon = strchr(line, ':');
    if (colon && !strncmp(line, "model name", 10)) {
      const char* const value = colon + 1 + strspn(colon + 1, " \t");
      snprintf(machine->cpu,
               sizeof(machine->cpu),
               "%.*s",
               (int)strcspn(value, "\n"),
               value);
      break;
    }
  }
  if (file) {
    fclose(file);
  }
  machine->cores = sysconf(_SC_NPROCESSORS_ONLN);

  SwBackendInfo info;
  machine->cpu_detail[0] = '\0';
  if (sw_backend_info(SW_BACKEND_CPU, &info) == SW_SUCCESS) {
    snprintf(machine->cpu_detail, sizeof(machine->cpu_detail), "%s", info.detail);
  }
  machine->gpu[0] = '\0';
  for (uint32_t i = 0; i < options->num_backends && !machine->gpu[0]; ++i) {
    // The device of a GPU backend asked for (auto may pick either).
    const SwBackendKind kind = options->backends[i];
    const SwBackendKind probe =
      (kind == SW_BACKEND_AUTO) ? SW_BACKEND_FUSED : kind;
    if (is_gpu(probe) && sw_backend_info(probe, &info) == SW_SUCCESS &&
        info.usable) {
      snprintf(machine->gpu, sizeof(machine->gpu), "%s", info.detail);
    }
  }
}

static const char*
backend_kind_name(SwBackendKind kind)
{
  SwBackendInfo info;
  return (sw_backend_info(kind, &info) == SW_SUCCESS) ? info.name : "?";
}

static const char*
streaming_name(const BenchOptions* options)
{
  return (options->streaming == SW_STREAMING_PIPELINED) ? "pipelined"
                                                        : "synchronous";
}

/* --- Text ---------------------------------------------------------------- */

static void
print_machine(const Machine* machine, const Measurement* first)
{
  printf("%-18s %s, %ld cores", "machine:", machine->cpu, machine->cores);
  if (first && first->load[0] >= 0.0) {
    printf(", load average %.2f %.2f %.2f",
           first->load[0],
           first->load[1],
           first->load[2]);
  }
  printf("\n%-18s %s\n", "cpu backend:", machine->cpu_detail);
  if (machine->gpu[0]) {
    printf("%-18s %s\n", "gpu:", machine->gpu);
  }
}

static void
print_error(const Measurement* m)
{
  if (!m->error_checked) {
    printf("not checked");
  } else if (!m->error_frames) {
    printf("0 (cpu-ref is the reference)");
  } else {
    printf("%.3g over %llu frames of stream%s",
           m->max_abs_error,
           (unsigned long long)m->error_frames,
           (m->error_streams > 1U) ? "s 0 and " : " 0");
    if (m->error_streams > 1U) {
      printf("%u", m->streams - 1U);
    }
  }
}

/** The full text report of one measurement. */
static void
print_detail(const Bench* bench, const Measurement* m, const Machine* machine)
{
  const BenchOptions* const options = bench->options;
  print_machine(machine, m);
  printf("%-18s %s (asked %s)", "backend:", m->backend, backend_kind_name(m->asked));
  if (m->kernels[0]) {
    printf(", kernels %s", m->kernels);
  }
  printf("\n");
  if (m->note[0]) {
    printf("%-18s %s\n", "note:", m->note);
  }
  printf("%-18s %s: %u input%s, %zu parameters, %llu multiply-adds a frame\n",
         "model:",
         m->path ? m->path : "synthetic",
         m->inputs,
         (m->inputs == 1) ? "" : "s",
         m->params,
         (unsigned long long)m->macs_per_frame);
  printf("%-18s %s\n", "layers:", m->model);
  printf("%-18s %u\n", "streams:", m->streams);
  printf("%-18s %u frames at %u Hz = %.1f us, %s",
         "block:",
         m->block,
         options->rate,
         m->block_us,
         streaming_name(options));
  if (m->latency) {
    printf(" (%u frames of latency)", m->latency);
  }
  printf("\n%-18s %u blocks (%.3f s of audio) after %u warm-up calls%s\n",
         "measured:",
         m->blocks,
         m->blocks * m->block_us * 1e-6,
         WARMUP_BLOCKS,
         m->cut_short ? ", cut short: the step took too long" : "");
  printf("%-18s p50 %.1f us, p99 %.1f us, max %.1f us (host in -> host "
         "out)\n",
         "block latency:",
         m->p50_us,
         m->p99_us,
         m->max_us);
  printf("%-18s %.1f ns (median block time / (%u frames x %u stream%s))\n",
         "time a sample:",
         m->ns_per_sample,
         m->block,
         m->streams,
         (m->streams == 1U) ? "" : "s");
  printf("%-18s %.2f (audio seconds of every stream per wall second, median "
         "block)\n",
         "real-time factor:",
         m->realtime_factor);
  printf("%-18s %s (p99 %s %.1f us%s)\n",
         "real time:",
         m->holds ? "holds" : "fails",
         (m->p99_us < m->block_us) ? "<" : ">=",
         m->block_us,
         m->cut_short ? ", cut short" : "");
  printf("%-18s ", "vs cpu-ref:");
  print_error(m);
  printf("\n%-18s ", "engine memory:");
  if (m->engine_bytes >= 0) {
    printf("%lld bytes of heap for %u stream%s",
           m->engine_bytes,
           m->streams,
           (m->streams == 1U) ? "" : "s");
    if (m->stream_bytes >= 0) {
      printf(", %lld a stream more", m->stream_bytes);
    }
    printf(" (canonical weights: %zu bytes, in the model)\n",
           m->params * sizeof(float));
  } else {
    printf("unknown here\n");
  }
}

static void
print_table_header(const Bench* bench, const Machine* machine, const Measurement* first)
{
  const BenchOptions* const options = bench->options;
  print_machine(machine, first);
  printf("%-18s %u Hz, %g s of noise a row after %u warm-up calls, %s; "
         "times are host in -> host out\n\n",
         "settings:",
         options->rate,
         options->seconds,
         WARMUP_BLOCKS,
         streaming_name(options));
  printf("%-28s %-8s %-7s %7s %5s %10s %7s %10s %9s %9s %10s %10s\n",
         "model",
         "backend",
         "kernels",
         "streams",
         "block",
         "ns/sample",
         "x 1 str",
         "RT factor",
         "p50 us",
         "p99 us",
         "max |err|",
         "engine B");
}

static void
print_row(const Measurement* m)
{
  char cost[16];
  char error[16];
  char bytes[24];
  if (isnan(m->cost_vs_one)) {
    snprintf(cost, sizeof(cost), "-");
  } else {
    snprintf(cost, sizeof(cost), "%.2f", m->cost_vs_one);
  }
  if (!m->error_checked) {
    snprintf(error, sizeof(error), "-");
  } else {
    snprintf(error, sizeof(error), "%.2e", m->max_abs_error);
  }
  if (m->engine_bytes < 0) {
    snprintf(bytes, sizeof(bytes), "-");
  } else {
    snprintf(bytes, sizeof(bytes), "%lld", m->engine_bytes);
  }
  printf("%-28s %-8s %-7s %7u %5u %10.1f %7s %10.2f %9.1f %9.1f %10s %10s%s\n",
         m->name,
         m->backend,
         m->kernels[0] ? m->kernels : "-",
         m->streams,
         m->block,
         m->ns_per_sample,
         cost,
         m->realtime_factor,
         m->p50_us,
         m->p99_us,
         error,
         bytes,
         m->cut_short ? " (cut short)" : "");
  fflush(stdout);
}

static void
print_table_footer(void)
{
  printf("\nns/sample: median block time / (block x streams). x 1 str: "
         "median block time over that of 1\nstream (same model, backend and "
         "block). RT factor: audio seconds of every stream per wall\nsecond "
         "(block duration / median block time). max |err|: largest "
         "|output - cpu-ref| on\nthe same input, streams 0 and N-1. engine "
         "B: heap bytes sw_engine_new took.\n");
}

static void
print_search(const BenchOptions* options, const Search* search)
{
  static const char* const stops[] = {
    [STOP_FAILED] = "bisected to within 1/32",
    [STOP_CAP]    = "the search's cap",
    [STOP_TIME]   = "stopped: a step took, or would take, too long",
  };
  char label[32];
  snprintf(label, sizeof(label), "largest %s:", search_over(options));
  if (search->largest) {
    printf("%-18s %u in real time", label, search->largest);
  } else {
    printf("%-18s none in real time", label);
  }
  if (search->failing) {
    printf(" (%u fails; %s)\n", search->failing, stops[search->stop]);
  } else {
    printf(" (%s)\n", stops[search->stop]);
  }
}

/* --- JSON ---------------------------------------------------------------- */

/** `value` to 6 significant digits, so the JSON shows what was measured
    and no more. */
static double
rounded(double value)
{
  char text[32];
  snprintf(text, sizeof(text), "%.6g", value);
  return strtod(text, NULL);
}

static cJSON*
add_number_or_null(cJSON* object, const char* key, bool known, double value)
{
  return known ? cJSON_AddNumberToObject(object, key, rounded(value))
               : cJSON_AddNullToObject(object, key);
}

static cJSON*
add_measured(cJSON* object, const char* key, double value)
{
  return cJSON_AddNumberToObject(object, key, rounded(value));
}

static cJSON*
add_string_or_null(cJSON* object, const char* key, const char* value)
{
  return (value && value[0]) ? cJSON_AddStringToObject(object, key, value)
                             : cJSON_AddNullToObject(object, key);
}

static Machine json_machine;

/** One measurement as a flat JSON object; NULL when out of memory. */
static cJSON*
measurement_json(const Bench* bench, const Measurement* m)
{
  const BenchOptions* const options = bench->options;
  const Machine* const      machine = &json_machine;
  char                      date[32];
  const time_t              now = time(NULL);
  struct tm                 utc;
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &utc));

  cJSON* const o = cJSON_CreateObject();
  bool         ok;
  ok =
    o && cJSON_AddStringToObject(o, "model", m->name) &&
    cJSON_AddStringToObject(o, "backend", m->backend) &&
    cJSON_AddNumberToObject(o, "streams", m->streams) &&
    cJSON_AddNumberToObject(o, "block", m->block) &&
    add_measured(o, "ns_per_sample", m->ns_per_sample) &&
    add_measured(o, "realtime_factor", m->realtime_factor) &&
    add_number_or_null(o, "max_abs_error", m->error_checked, m->max_abs_error) &&
    add_number_or_null(o, "cost_vs_one_stream", !isnan(m->cost_vs_one), m->cost_vs_one) &&
    add_measured(o, "p50_us", m->p50_us) &&
    add_measured(o, "p99_us", m->p99_us) &&
    add_measured(o, "max_us", m->max_us) &&
    add_measured(o, "block_us", m->block_us) &&
    cJSON_AddBoolToObject(o, "realtime", m->holds) &&
    cJSON_AddBoolToObject(o, "cut_short", m->cut_short) &&
    cJSON_AddNumberToObject(o, "blocks", m->blocks) &&
    cJSON_AddNumberToObject(o, "warmup_calls", WARMUP_BLOCKS) &&
    add_number_or_null(o, "error_frames", m->error_checked, (double)m->error_frames) &&
    add_number_or_null(o, "error_streams", m->error_checked && m->error_frames, m->error_streams) &&
    add_number_or_null(o, "engine_bytes", m->engine_bytes >= 0, (double)m->engine_bytes) &&
    add_number_or_null(o, "engine_bytes_per_stream", m->stream_bytes >= 0, (double)m->stream_bytes) &&
    cJSON_AddNumberToObject(o, "weights_bytes", (double)(m->params * sizeof(float))) &&
    cJSON_AddStringToObject(o, "backend_asked", backend_kind_name(m->asked)) &&
    add_string_or_null(o, "kernels", m->kernels) &&
    cJSON_AddStringToObject(o, "weights", m->weights ? m->weights : "fp32") &&
    add_string_or_null(o, "note", m->note) &&
    cJSON_AddNumberToObject(o, "fallbacks", m->fallbacks) &&
    cJSON_AddStringToObject(o, "layers", m->model) &&
    add_string_or_null(o, "path", m->path) &&
    add_number_or_null(o, "units", m->units != 0U, m->units) &&
    cJSON_AddNumberToObject(o, "inputs", m->inputs) &&
    cJSON_AddNumberToObject(o, "params", (double)m->params) &&
    cJSON_AddNumberToObject(o, "macs_per_frame", (double)m->macs_per_frame) &&
    cJSON_AddNumberToObject(o, "rate", options->rate) &&
    cJSON_AddNumberToObject(o, "seconds", options->seconds) &&
    cJSON_AddStringToObject(o, "streaming", streaming_name(options)) &&
    cJSON_AddNumberToObject(o, "latency_frames", m->latency) &&
    add_measured(o, "build_s", m->build_s) &&
    add_measured(o, "wall_s", m->wall_s) &&
    cJSON_AddStringToObject(o, "cpu", machine->cpu) &&
    cJSON_AddNumberToObject(o, "cores", (double)machine->cores) &&
    add_string_or_null(o,
                       "gpu",
                       (!strcmp(m->backend, "cudnn") || !strcmp(m->backend, "fused"))
                         ? machine->gpu
                         : NULL) &&
    cJSON_AddStringToObject(o, "statewave", sw_version()) &&
    cJSON_AddStringToObject(o, "date", date);
  cJSON* const load = ok ? cJSON_AddArrayToObject(o, "load_average") : NULL;
  ok                = load != NULL;
  for (int i = 0; ok && i < 3; ++i) {
    cJSON* const value = (m->load[i] >= 0.0) ? cJSON_CreateNumber(rounded(m->load[i]))
                                             : cJSON_CreateNull();
    ok = value && cJSON_AddItemToArray(load, value);
    if (!ok) {
      cJSON_Delete(value);
    }
  }
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

static bool json_failed = false;

/** Prints `line` on one line and frees it; NULL: out of memory. */
static void
print_json_line(cJSON* line)
{
  char* const text = line ? cJSON_PrintUnformatted(line) : NULL;
  cJSON_Delete(line);
  if (!text) {
    json_failed = true;
    return;
  }
  puts(text);
  fflush(stdout);
  cJSON_free(text);
}

/** The search's answer: one line. */
static void
print_search_json(const Bench* bench, const Search* search)
{
  const BenchOptions* const options = bench->options;
  const Measurement* const  shown =
    (search->best >= 0) ? &search->steps[search->best]
                        : &search->steps[search->num_steps - 1U];
  cJSON* const o = cJSON_CreateObject();
  cJSON* const result =
    (o && search->best >= 0) ? measurement_json(bench, shown) : NULL;
  const bool ok =
    o && cJSON_AddStringToObject(o, "model", shown->name) &&
    cJSON_AddStringToObject(o, "backend", shown->backend) &&
    cJSON_AddStringToObject(o, "backend_asked", backend_kind_name(shown->asked)) &&
    cJSON_AddNumberToObject(o, "block", shown->block) &&
    cJSON_AddStringToObject(o, "search", search_over(options)) &&
    cJSON_AddNumberToObject(o, "cap", search->cap) &&
    cJSON_AddNumberToObject(o, "largest", search->largest) &&
    add_number_or_null(o, "smallest_failing", search->failing != 0U, search->failing) &&
    cJSON_AddStringToObject(o, "stopped_by", search_stops[search->stop]) &&
    cJSON_AddNumberToObject(o, "steps", search->num_steps) &&
    (result ? cJSON_AddItemToObject(o, "result", result)
            : (search->best < 0 && cJSON_AddNullToObject(o, "result")));
  if (!ok) {
    if (result && !cJSON_GetObjectItem(o, "result")) {
      cJSON_Delete(result);
    }
    cJSON_Delete(o);
    print_json_line(NULL);
    return;
  }
  print_json_line(o);
}

/* ------------------------------------------------------------------------ */
/* Command                                                                  */
/* ------------------------------------------------------------------------ */

/** Measures every backend, block and stream count of `subject`; prints
    each row as it is done (or, for a single row, the full report). */
static int
run_subject(const Bench*    bench,
            const Subject*  subject,
            const Machine*  machine,
            bool            single,
            bool*           header_printed)
{
  const BenchOptions* const options = bench->options;
  SwModel* const            model =
    subject->path ? cli_load_model(subject->path)
                  : build_model(subject, subject->units, options->rate);
  if (!model) {
    return CLI_EXIT_FAILURE;
  }
  int result = CLI_EXIT_SUCCESS;
  for (uint32_t b = 0; !result && b < options->num_backends; ++b) {
    for (uint32_t k = 0; !result && k < options->num_blocks; ++k) {
      double one_stream_us = (double)NAN;
      for (uint32_t s = 0; !result && s < subject->num_streams; ++s) {
        Measurement m;
        result = run_step(bench,
                          subject,
                          model,
                          options->backends[b],
                          options->blocks[k],
                          subject->units,
                          subject->streams[s],
                          true,
                          &m);
        if (result) {
          break;
        }
        if (m.streams == 1U) {
          one_stream_us = m.p50_us;
        }
        m.cost_vs_one = isnan(one_stream_us) ? (double)NAN : m.p50_us / one_stream_us;
        if (m.asked != SW_BACKEND_AUTO && m.note[0] &&
            strcmp(m.backend, backend_kind_name(m.asked)) != 0) {
          cli_warning("asked for %s, running on %s: %s",
                      backend_kind_name(m.asked),
                      m.backend,
                      m.note);
        }
        if (options->json) {
          print_json_line(measurement_json(bench, &m));
        } else if (single) {
          print_detail(bench, &m, machine);
        } else {
          if (!*header_printed) {
            print_table_header(bench, machine, &m);
            *header_printed = true;
          }
          print_row(&m);
        }
      }
    }
  }
  sw_model_free(model);
  return result;
}

/** Runs and reports the search of `options->search` over `subject`;
    returns an exit status. */
static int
search_command(const Bench* bench, const Subject* subject)
{
  const BenchOptions* const options = bench->options;
  // A file, or a synthetic model whose size does not change, is made once.
  SwModel* model = NULL;
  if (options->model_path) {
    model = cli_load_model(options->model_path);
  } else if (options->search != SEARCH_UNITS) {
    model = build_model(subject, options->units, options->rate);
  }
  if (options->search != SEARCH_UNITS && !model) {
    return CLI_EXIT_FAILURE;
  }
  Search* const search = (Search*)calloc(1, sizeof(Search));
  if (!search) {
    cli_error("out of memory");
    sw_model_free(model);
    return CLI_EXIT_FAILURE;
  }
  const int result = run_search(bench, subject, model, search);
  sw_model_free(model);
  if (!result) {
    if (options->json) {
      print_search_json(bench, search);
    } else {
      print_search(options, search);
      print_detail(bench,
                   (search->best >= 0) ? &search->steps[search->best]
                                       : &search->steps[search->num_steps - 1U],
                   &json_machine);
    }
  }
  free(search);
  return result;
}

int
cmd_bench(int argc, char** argv)
{
  BenchOptions options;
  memset(&options, 0, sizeof(options));
  options.layers      = 1U;
  options.inputs      = 1U;
  options.streams[0]  = 1U;
  options.num_streams = 1U;
  options.blocks[0]   = DEFAULT_BLOCK;
  options.num_blocks  = 1U;
  options.rate        = DEFAULT_RATE;
  options.seconds     = DEFAULT_SECONDS;
  options.streaming   = SW_STREAMING_SYNC;

  int result = parse_options(argc, argv, &options);
  if (result) {
    return (result < 0) ? CLI_EXIT_SUCCESS : result;
  }

  // The models: the one named, or the standard set.
  Subject  subjects[STANDARD_SET_SIZE];
  uint32_t num_subjects = 0;
  if (options.model_option) {
    const Subject one = {options.model_path,
                         options.cell,
                         options.units,
                         options.layers,
                         options.inputs,
                         options.streams,
                         options.num_streams};
    subjects[num_subjects++] = one;
  } else {
    for (size_t i = 0; i < STANDARD_SET_SIZE; ++i) {
      subjects[num_subjects] = standard_set[i];
      if (options.streams_given) {
        subjects[num_subjects].streams     = options.streams;
        subjects[num_subjects].num_streams = options.num_streams;
      }
      ++num_subjects;
    }
  }
  uint32_t rows = 0;
  for (uint32_t i = 0; i < num_subjects; ++i) {
    rows += subjects[i].num_streams * options.num_backends * options.num_blocks;
  }

  Bench bench;
  result = CLI_EXIT_FAILURE;
  if (!bench_init(&bench, &options)) {
    cli_error("out of memory for %u timed blocks", bench.max_blocks);
    goto done;
  }
  machine_describe(&json_machine, &options);

  if (options.search == SEARCH_NONE) {
    bool header_printed = false;
    result              = CLI_EXIT_SUCCESS;
    for (uint32_t i = 0; !result && i < num_subjects; ++i) {
      result = run_subject(
        &bench, &subjects[i], &json_machine, rows == 1U, &header_printed);
    }
    if (!result && header_printed) {
      print_table_footer();
    }
    goto done;
  }

  result = search_command(&bench, &subjects[0]);

done:
  bench_free(&bench);
  if (!result && json_failed) {
    cli_error("out of memory writing the report");
    result = CLI_EXIT_FAILURE;
  }
  return result;
}
