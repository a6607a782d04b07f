/*
  statewave bench: times one engine configuration, block by block, and
  reports the block latency (host in -> host out of sw_engine_process) and
  whether the configuration keeps up in real time. --max-streams and
  --max-units search for the largest configuration that does.

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

#define DEFAULT_BLOCK 128U
#define DEFAULT_RATE 48000U
#define DEFAULT_SECONDS 5.0
#define MAX_RATE 768000U
#define MAX_SECONDS 600.0
#define MAX_LAYERS 16U
#define MAX_INPUTS 64U

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
  OPT_MAX_STREAMS,
  OPT_MAX_UNITS,
};

void
cmd_bench_usage(FILE* stream)
{
  fputs(
    "Usage: statewave bench (--model FILE | --lstm U | --gru U | --rnn U)\n"
    "                       [OPTION]...\n"
    "\n"
    "Time an engine block by block: after 16 warm-up calls, each call of\n"
    "sw_engine_process on --block frames of every stream is timed from host\n"
    "input to host output, over --seconds of a deterministic noise signal.\n"
    "Prints the backend used, the model, the block latency's median (p50),\n"
    "99th percentile and maximum, the median real-time factor (block time\n"
    "over block duration) and whether real time holds: the p99 is below the\n"
    "block duration and the measurement finished within its time bound.\n"
    "\n"
    "Model (one of):\n"
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
    "orthogonal, unit_forget_bias) drawn from a fixed seed.\n"
    "\n"
    "Engine:\n"
    "  -b, --block N        frames per call, 1..65536 (default 128)\n"
    "      --streams N      independent streams, 1..65536 (default 1)\n"
    "      --rate HZ        sample rate, 1..768000 (default 48000)\n",
    stream);
  cli_engine_usage(stream, 23);
  fputs(
    "\n"
    "Measurement:\n"
    "      --seconds S      audio per measurement, above 0 and at most 600\n"
    "                       (default 5)\n"
    "      --max-streams    find the largest stream count that holds real\n"
    "                       time, from --streams up: doubling, then\n"
    "                       bisection to within 1/32 (at most 65536)\n"
    "      --max-units      the same over the hidden size of a synthetic\n"
    "                       model, from its U up, at --streams (at most\n"
    "                       4096)\n"
    "  -j, --json           print one JSON object: the machine (CPU model,\n"
    "                       cores, the GPU backend's device and versions),\n"
    "                       backend, model, settings, result and search\n"
    "  -v, --verbose        also print library information (and, with\n"
    "                       --json, each search step on stderr)\n"
    "  -h, --help           print this help and exit\n"
    "\n"
    "A step that takes longer than 10 s (or twice its audio) is cut short\n"
    "and does not hold; a search goes no higher after one.\n"
    "\n"
    "Exit status: 0 on success (whether or not real time holds), 1 on a bad\n"
    "file or a runtime error, 2 on bad usage.\n",
    stream);
}

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct {
  const char*      model_option; /**< "--model", "--lstm" ...; NULL: none. */
  const char*      model_path;   /**< --model FILE; NULL: synthetic. */
  const char*      arch_path;
  SwLayerType      cell;         /**< Of a synthetic model. */
  uint32_t         units;
  uint32_t         layers;
  uint32_t         inputs;
  bool             layers_given;
  bool             inputs_given;
  uint32_t         streams;
  uint32_t         block;
  uint32_t         rate;
  double           seconds;
  SearchKind       search;
  bool             json;
  CliEngineOptions engine;
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
  if (!options->model_option) {
    return cli_usage_error(
      command, "missing a model: expected --model FILE, --lstm U, --gru U "
               "or --rnn U");
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
  if (options->search == SEARCH_UNITS && options->model_path) {
    return cli_usage_error(
      command, "--max-units needs a synthetic model: --lstm, --gru or --rnn");
  }

  const uint64_t call_frames = (uint64_t)options->streams * options->block;
  if (call_frames > MAX_CALL_FRAMES) {
    return cli_usage_error(command,
                           "--streams %u of --block %u is %llu frames a "
                           "call; expected at most %u",
                           options->streams,
                           options->block,
                           (unsigned long long)call_frames,
                           MAX_CALL_FRAMES);
  }

  const double blocks =
    ceil(options->seconds * options->rate / options->block);
  if (blocks > MAX_TIMED_BLOCKS) {
    return cli_usage_error(command,
                           "--seconds %g at --rate %u in --block %u is %.0f "
                           "blocks; expected at most %u",
                           options->seconds,
                           options->rate,
                           options->block,
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
      status = cli_parse_block(command, optarg, &options->block);
      break;
    case OPT_STREAMS:
      status = parse_count(
        command, "--streams", optarg, 1U, MAX_STREAMS, &options->streams);
      break;
    case OPT_RATE:
      status =
        parse_count(command, "--rate", optarg, 1U, MAX_RATE, &options->rate);
      break;
    case CLI_OPT_BACKEND:
    case CLI_OPT_PIPELINED:
      status = cli_engine_option(command, opt, optarg, &options->engine);
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
  return check_options(command, options);
}

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

static double
seconds_now(void)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

/** The synthetic model with `units` per recurrent layer; NULL after a
    message. */
static SwModel*
build_model(const BenchOptions* options, uint32_t units)
{
  SwLayerSpec layers[MAX_LAYERS + 1U];
  for (uint32_t l = 0; l < options->layers; ++l) {
    layers[l] = sw_layer_spec(options->cell, units);
  }
  layers[options->layers] = sw_layer_spec(SW_LAYER_DENSE, 1U);

  SwModelSpec spec;
  memset(&spec, 0, sizeof(spec));
  spec.input_width = options->inputs;
  spec.num_layers  = options->layers + 1U;
  spec.layers      = layers;
  spec.sample_rate = options->rate;

  SwError        err   = {SW_SUCCESS, ""};
  SwModel* const model = sw_model_build(&spec, MODEL_SEED, &err);
  if (!model) {
    cli_error("%s %u: cannot build the model: %s",
              options->model_option,
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
  uint32_t units;   /**< Of a synthetic model; 0 for a file. */
  uint32_t streams;
  uint32_t blocks;  /**< Timed. */
  bool     cut_short;
  bool     holds;
  double   p50_us;
  double   p99_us;
  double   max_us;
  double   rtf;     /**< p50 over the block duration. */
  double   build_s; /**< Building the synthetic model. */
  double   wall_s;  /**< The whole step: build, engine, warm-up, timing. */
  char     backend[16];
  char     note[1024];
  uint32_t fallbacks;
  uint32_t latency;
  char     model[256];
  uint32_t inputs;
  size_t   params;
  uint64_t macs_per_frame;
} Measurement;

/** What every measurement of one run shares. */
typedef struct {
  const BenchOptions* options;
  float*              noise;    /**< NOISE_FRAMES + block frames. */
  double*             times;    /**< One per call, warm-up included. */
  uint32_t            blocks;   /**< Timed blocks asked for. */
  double              block_us; /**< Duration of one block of audio. */
  double              limit_s;  /**< Of one step. */
} Bench;

static bool
bench_init(Bench* bench, const BenchOptions* options)
{
  bench->options  = options;
  bench->block_us = 1e6 * options->block / options->rate;
  bench->blocks =
    (uint32_t)ceil(options->seconds * options->rate / options->block);
  bench->limit_s = fmax(STEP_LIMIT_SECONDS, 2.0 * options->seconds);
  bench->noise =
    (float*)malloc(((size_t)NOISE_FRAMES + options->block) * sizeof(float));
  bench->times = (double*)malloc(((size_t)WARMUP_BLOCKS + bench->blocks) *
                                 sizeof(double));
  if (!bench->noise || !bench->times) {
    return false;
  }

  // Uniform noise in [-0.5, 0.5) from a linear congruential generator.
  uint32_t state = 12345U;
  for (size_t i = 0; i < (size_t)NOISE_FRAMES + options->block; ++i) {
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

/** Points every stream at its place in the noise table for block `b`. */
static void
set_inputs(const Bench* bench, const float** in, uint32_t streams, uint64_t b)
{
  const uint64_t block = bench->options->block;
  for (uint32_t s = 0; s < streams; ++s) {
    in[s] = bench->noise + ((uint64_t)s * 7919U + b * block) % NOISE_FRAMES;
  }
}

/** Makes the engine, quietly unless -v: its note is part of the report,
    and a search makes many. NULL after a message. */
static SwEngine*
make_engine(const Bench* bench, const SwModel* model, uint32_t streams)
{
  const BenchOptions* const options = bench->options;
  SwEngineConfig            config  = cli_engine_config(&options->engine);
  config.sample_rate                = options->rate;
  config.streams                    = streams;
  config.max_block                  = options->block;
  config.knob_smoothing_ms          = 0.0f;

  if (!cli_verbose()) {
    sw_set_log(NULL, NULL);
  }
  SwError         err    = {SW_SUCCESS, ""};
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  sw_set_log(cli_log, NULL);
  if (!engine) {
    cli_library_error(&err);
  }
  return engine;
}

/**
   Times `model` on `streams` streams into `m`; the step began at `start`
   (before the model was built). Returns an exit status.
*/
static int
measure(const Bench*   bench,
        const SwModel* model,
        uint32_t       streams,
        double         start,
        Measurement*   m)
{
  const uint32_t block  = bench->options->block;
  SwEngine*      engine = make_engine(bench, model, streams);
  const float**  in     = (const float**)calloc(streams, sizeof(float*));
  float**        out    = (float**)calloc(streams, sizeof(float*));
  float* const   output = (float*)calloc((size_t)streams * block,
                                       sizeof(float));
  int            result = CLI_EXIT_FAILURE;
  if (!engine) {
    goto done;
  }
  if (!in || !out || !output) {
    cli_error("out of memory for %u streams of %u frames", streams, block);
    goto done;
  }
  for (uint32_t s = 0; s < streams; ++s) {
    out[s] = output + (size_t)s * block;
  }

  const uint32_t calls = WARMUP_BLOCKS + bench->blocks;
  uint32_t       made  = 0;
  while (made < calls) {
    set_inputs(bench, in, streams, made);
    const double   t0     = seconds_now();
    const SwStatus status = sw_engine_process(engine, in, out, block);
    const double   t1     = seconds_now();
    if (status) {
      cli_error("processing failed on %u streams: %s",
                streams,
                sw_strerror(status));
      goto done;
    }
    bench->times[made++] = t1 - t0;
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
  m->p50_us  = 1e6 * percentile(times, count, 0.50);
  m->p99_us  = 1e6 * percentile(times, count, 0.99);
  m->max_us  = 1e6 * times[count - 1U];
  m->streams = streams;
  m->rtf     = m->p50_us / bench->block_us;
  m->holds   = !m->cut_short && m->p99_us < bench->block_us;
  snprintf(m->backend, sizeof(m->backend), "%s", sw_engine_backend_name(engine));
  const char* const note = sw_engine_backend_note(engine);
  snprintf(m->note, sizeof(m->note), "%s", note ? note : "");
  m->fallbacks = sw_engine_fallback_count(engine);
  m->latency   = sw_engine_latency(engine);

  SwModelInfo info;
  sw_model_info(model, &info);
  describe_model(model, m->model, sizeof(m->model));
  m->inputs         = info.input_width;
  m->params         = info.num_params;
  m->macs_per_frame = info.macs_per_frame;
  result            = CLI_EXIT_SUCCESS;

done:
  sw_engine_free(engine);
  free(in);
  free(out);
  free(output);
  m->wall_s = seconds_now() - start;
  return result;
}

/**
   One step: `model`, or when NULL the synthetic model of `units` built for
   it, on `streams` streams (`units` is 0 for a model file). Returns an
   exit status.
*/
static int
run_step(const Bench*   bench,
         const SwModel* model,
         uint32_t       units,
         uint32_t       streams,
         Measurement*   m)
{
  memset(m, 0, sizeof(*m));
  m->units           = units;
  const double start = seconds_now();
  SwModel* const built = model ? NULL : build_model(bench->options, units);
  if (!model && !built) {
    return CLI_EXIT_FAILURE;
  }
  m->build_s       = built ? seconds_now() - start : 0.0;
  const int result = measure(bench, model ? model : built, streams, start, m);
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

static void
print_step(FILE* stream, const BenchOptions* options, const Measurement* m)
{
  fprintf(stream,
          "  %s %u (%s): p50 %.1f us, p99 %.1f us, max %.1f us, real-time "
          "factor %.4f: %s\n",
          search_over(options),
          (options->search == SEARCH_UNITS) ? m->units : m->streams,
          m->backend,
          m->p50_us,
          m->p99_us,
          m->max_us,
          m->rtf,
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

/** Runs the search of `options->search`; returns an exit status. */
static int
run_search(const Bench* bench, const SwModel* model, Search* search)
{
  const BenchOptions* const options = bench->options;
  const bool                units   = options->search == SEARCH_UNITS;
  const uint32_t            stream_cap = MAX_CALL_FRAMES / options->block;
  search->cap  = units ? MAX_UNITS
                       : (stream_cap < MAX_STREAMS ? stream_cap : MAX_STREAMS);
  search->best = -1;
  FILE* const progress =
    options->json ? (cli_verbose() ? stderr : NULL) : stdout;

  uint32_t x = units ? options->units : options->streams;
  while (search->num_steps < MAX_STEPS) {
    Measurement* const m = &search->steps[search->num_steps];
    const int          result =
      units ? run_step(bench, NULL, x, options->streams, m)
            : run_step(bench, model, options->units, x, m);
    if (result) {
      return result;
    }
    ++search->num_steps;
    if (progress) {
      print_step(progress, options, m);
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
  char gpu[256]; /**< The GPU backend's device and versions; "": CPU. */
} Machine;

static void
machine_describe(Machine* machine, const char* backend)
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

  machine->gpu[0]    = '\0';
  SwBackendKind kind = SW_BACKEND_CPU;
  SwBackendInfo info;
  if (sw_backend_parse(backend, &kind) == SW_SUCCESS &&
      kind != SW_BACKEND_CPU && sw_backend_info(kind, &info) == SW_SUCCESS) {
    snprintf(machine->gpu, sizeof(machine->gpu), "%s", info.detail);
  }
}

static const char*
backend_kind_name(SwBackendKind kind)
{
  static const char* const names[SW_BACKEND_KIND_COUNT] = {
    "auto", "cpu", "cudnn", "fused"};
  return names[kind];
}

static const char*
streaming_name(const BenchOptions* options)
{
  return (options->engine.streaming == SW_STREAMING_PIPELINED)
           ? "pipelined"
           : "synchronous";
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

/** The text report of `m`, the result or a search's last step. */
static void
print_text(const Bench*       bench,
           const Measurement* m,
           const Machine*     machine)
{
  const BenchOptions* const options = bench->options;
  printf("%-18s %s, %ld cores\n", "machine:", machine->cpu, machine->cores);
  if (machine->gpu[0]) {
    printf("%-18s %s\n", "gpu:", machine->gpu);
  }
  printf("%-18s %s (asked %s)\n",
         "backend:",
         m->backend,
         backend_kind_name(options->engine.backend));
  if (m->note[0]) {
    printf("%-18s %s\n", "note:", m->note);
  }
  printf("%-18s %s: %u input%s, %zu parameters, %llu multiply-adds a frame\n",
         "model:",
         options->model_path ? options->model_path : "synthetic",
         m->inputs,
         (m->inputs == 1) ? "" : "s",
         m->params,
         (unsigned long long)m->macs_per_frame);
  printf("%-18s %s\n", "layers:", m->model);
  printf("%-18s %u\n", "streams:", m->streams);
  printf("%-18s %u frames at %u Hz = %.1f us, %s",
         "block:",
         options->block,
         options->rate,
         bench->block_us,
         streaming_name(options));
  if (m->latency) {
    printf(" (%u frames of latency)", m->latency);
  }
  printf("\n%-18s %u blocks (%.3f s of audio) after %u warm-up calls%s\n",
         "measured:",
         m->blocks,
         m->blocks * bench->block_us * 1e-6,
         WARMUP_BLOCKS,
         m->cut_short ? ", cut short: the step took too long" : "");
  printf("%-18s p50 %.1f us, p99 %.1f us, max %.1f us (host in -> host "
         "out)\n",
         "block latency:",
         m->p50_us,
         m->p99_us,
         m->max_us);
  printf("%-18s %.4f (median)\n", "real-time factor:", m->rtf);
  printf("%-18s %s (p99 %s %.1f us%s)\n",
         "real time:",
         m->holds ? "holds" : "fails",
         (m->p99_us < bench->block_us) ? "<" : ">=",
         bench->block_us,
         m->cut_short ? ", cut short" : "");
}

/** Adds `m`'s figures to `item`; false when out of memory. */
static bool
add_measurement(cJSON* item, const Measurement* m)
{
  return item &&
         (m->units ? cJSON_AddNumberToObject(item, "units", m->units)
                   : cJSON_AddNullToObject(item, "units")) &&
         cJSON_AddNumberToObject(item, "streams", m->streams) &&
         cJSON_AddStringToObject(item, "backend", m->backend) &&
         cJSON_AddNumberToObject(item, "blocks", m->blocks) &&
         cJSON_AddBoolToObject(item, "cut_short", m->cut_short) &&
         cJSON_AddNumberToObject(item, "p50_us", m->p50_us) &&
         cJSON_AddNumberToObject(item, "p99_us", m->p99_us) &&
         cJSON_AddNumberToObject(item, "max_us", m->max_us) &&
         cJSON_AddNumberToObject(item, "rtf_median", m->rtf) &&
         cJSON_AddBoolToObject(item, "realtime", m->holds) &&
         cJSON_AddNumberToObject(item, "build_s", m->build_s) &&
         cJSON_AddNumberToObject(item, "wall_s", m->wall_s);
}

static bool
add_search(cJSON* root, const BenchOptions* options, const Search* search)
{
  static const char* const stops[] = {
    [STOP_FAILED] = "failed", [STOP_CAP] = "cap", [STOP_TIME] = "time"};
  cJSON* const object = cJSON_AddObjectToObject(root, "search");
  cJSON* const steps  = object ? cJSON_AddArrayToObject(object, "steps") : NULL;
  bool         ok =
    steps && cJSON_AddStringToObject(object, "over", search_over(options)) &&
    cJSON_AddNumberToObject(object, "cap", search->cap) &&
    cJSON_AddNumberToObject(object, "largest", search->largest) &&
    (search->failing
       ? cJSON_AddNumberToObject(object, "smallest_failing", search->failing)
       : cJSON_AddNullToObject(object, "smallest_failing")) &&
    cJSON_AddStringToObject(object, "stopped_by", stops[search->stop]);
  for (uint32_t s = 0; ok && s < search->num_steps; ++s) {
    cJSON* const step = cJSON_CreateObject();
    if (!step || !cJSON_AddItemToArray(steps, step)) {
      cJSON_Delete(step); // Not attached: the array did not take it.
      return false;
    }
    ok = add_measurement(step, &search->steps[s]);
  }
  return ok;
}

/** The JSON report; `result` may be NULL (a search where none holds),
    `shown` the step the backend and model are described from. NULL when
    out of memory. */
static cJSON*
report_json(const Bench*       bench,
            const Measurement* result,
            const Measurement* shown,
            const Search*      search,
            const Machine*     machine)
{
  const BenchOptions* const options = bench->options;
  char                      date[32];
  const time_t              now = time(NULL);
  struct tm                 utc;
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &utc));

  cJSON* const root = cJSON_CreateObject();
  cJSON* const hardware =
    root ? cJSON_AddObjectToObject(root, "machine") : NULL;
  cJSON* const backend =
    hardware ? cJSON_AddObjectToObject(root, "backend") : NULL;
  cJSON* const model = backend ? cJSON_AddObjectToObject(root, "model") : NULL;
  bool         ok =
    model && cJSON_AddStringToObject(hardware, "cpu", machine->cpu) &&
    cJSON_AddNumberToObject(hardware, "cores", (double)machine->cores) &&
    (machine->gpu[0] ? cJSON_AddStringToObject(hardware, "gpu", machine->gpu)
                     : cJSON_AddNullToObject(hardware, "gpu")) &&
    cJSON_AddStringToObject(root, "statewave", sw_version()) &&
    cJSON_AddStringToObject(root, "date", date) &&
    cJSON_AddStringToObject(
      backend, "asked", backend_kind_name(options->engine.backend)) &&
    cJSON_AddStringToObject(backend, "used", shown->backend) &&
    (shown->note[0] ? cJSON_AddStringToObject(backend, "note", shown->note)
                    : cJSON_AddNullToObject(backend, "note")) &&
    cJSON_AddNumberToObject(backend, "fallbacks", shown->fallbacks) &&
    cJSON_AddStringToObject(model, "layers", shown->model) &&
    (options->model_path
       ? cJSON_AddStringToObject(model, "path", options->model_path)
       : cJSON_AddNullToObject(model, "path")) &&
    cJSON_AddNumberToObject(model, "inputs", shown->inputs) &&
    cJSON_AddNumberToObject(model, "params", (double)shown->params) &&
    cJSON_AddNumberToObject(
      model, "macs_per_frame", (double)shown->macs_per_frame) &&
    cJSON_AddNumberToObject(root, "block", options->block) &&
    cJSON_AddNumberToObject(root, "rate", options->rate) &&
    cJSON_AddNumberToObject(root, "block_us", bench->block_us) &&
    cJSON_AddNumberToObject(root, "seconds", options->seconds) &&
    cJSON_AddNumberToObject(root, "warmup_calls", WARMUP_BLOCKS) &&
    cJSON_AddStringToObject(root, "streaming", streaming_name(options)) &&
    cJSON_AddNumberToObject(root, "latency_frames", shown->latency) &&
    (result ? add_measurement(cJSON_AddObjectToObject(root, "result"), result)
            : cJSON_AddNullToObject(root, "result") != NULL) &&
    (search ? add_search(root, options, search)
            : cJSON_AddNullToObject(root, "search") != NULL);
  if (!ok) {
    cJSON_Delete(root);
    return NULL;
  }
  return root;
}

/** Prints the report of `result` (NULL: none holds) and `search` (NULL: a
    single measurement); returns an exit status. */
static int
report(const Bench* bench, const Measurement* result, const Search* search)
{
  // Where none holds, the backend and model are the last step's.
  const Measurement* const shown =
    result ? result : &search->steps[search->num_steps - 1U];
  Machine machine;
  machine_describe(&machine, shown->backend);

  if (!bench->options->json) {
    if (search) {
      print_search(bench->options, search);
    }
    print_text(bench, shown, &machine);
    return CLI_EXIT_SUCCESS;
  }

  cJSON* const root = report_json(bench, result, shown, search, &machine);
  char* const  text = root ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (!text) {
    cli_error("out of memory writing the report");
    return CLI_EXIT_FAILURE;
  }
  puts(text);
  cJSON_free(text);
  return CLI_EXIT_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Command                                                                  */
/* ------------------------------------------------------------------------ */

int
cmd_bench(int argc, char** argv)
{
  BenchOptions options;
  memset(&options, 0, sizeof(options));
  options.layers  = 1U;
  options.inputs  = 1U;
  options.streams = 1U;
  options.block   = DEFAULT_BLOCK;
  options.rate    = DEFAULT_RATE;
  options.seconds = DEFAULT_SECONDS;
  options.engine  = cli_engine_options_default();

  int result = parse_options(argc, argv, &options);
  if (result) {
    return (result < 0) ? CLI_EXIT_SUCCESS : result;
  }

  Bench    bench;
  SwModel* model  = NULL;
  Search*  search = NULL;
  result          = CLI_EXIT_FAILURE;
  if (!bench_init(&bench, &options)) {
    cli_error("out of memory for %u timed blocks", bench.blocks);
    goto done;
  }

  // A file, or a synthetic model whose size does not change, is made once.
  if (options.model_path) {
    model = cli_load_model(options.model_path);
  } else if (options.search != SEARCH_UNITS) {
    model = build_model(&options, options.units);
  }
  if (options.search != SEARCH_UNITS && !model) {
    goto done;
  }

  if (options.search == SEARCH_NONE) {
    Measurement m;
    result = run_step(&bench, model, options.units, options.streams, &m);
    if (!result) {
      result = report(&bench, &m, NULL);
    }
    goto done;
  }

  search = (Search*)calloc(1, sizeof(Search));
  if (!search) {
    cli_error("out of memory");
    goto done;
  }
  result = run_search(&bench, model, search);
  if (!result) {
    result = report(
      &bench, (search->best >= 0) ? &search->steps[search->best] : NULL, search);
  }

done:
  free(search);
  sw_model_free(model);
  bench_free(&bench);
  return result;
}
