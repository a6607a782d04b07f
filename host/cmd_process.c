/*
  statewave process: an audio file through a model into another audio file,
  via libsndfile. Each channel is an independent stream of one engine.
*/

#include "cli.h"
#include "preset.h"

#include <sndfile.h>

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BLOCK 512U

void
cmd_process_usage(FILE* stream)
{
  fputs(
    "Usage: statewave process (--model FILE | --preset NAME) [OPTION]... IN "
    "OUT\n"
    "\n"
    "Run the audio file IN through a model and write the audio file OUT.\n"
    "Each channel is an independent stream; OUT has IN's sample rate and\n"
    "channels. Input column 0 of the model is the audio, the other columns\n"
    "are knobs (set with --param, else their defaults); output column 0 is\n"
    "the audio written.\n"
    "\n"
    "Options:\n"
    "  -m, --model FILE     model file\n"
    "  -P, --preset NAME    a preset (id or name): its model, input and "
    "output\n"
    "                       gains, dry/wet mix and knob positions, applied "
    "as\n"
    "                       'statewave run' plays them (--param then sets "
    "a\n"
    "                       knob to a value in its range)\n"
    "  -b, --block N        frames per processing call, 1..65536 (default "
    "512)\n"
    "  -p, --param I=V      set knob I (1-based index or name) to the number "
    "V;\n"
    "                       may be repeated\n"
    "  -s, --subtype TYPE   OUT's sample format: pcm16, pcm24, pcm32, float,\n"
    "                       double or vorbis (default: IN's when OUT's "
    "format\n"
    "                       takes it, else float for WAV and AIFF, pcm24 for\n"
    "                       FLAC, vorbis for Ogg)\n"
    "      --arch FILE      the architecture of a Keras weights-only .h5 model\n"
    "                       (model.save_weights): a JSON spec, see README\n",
    stream);
  cli_engine_usage(stream, 23);
  fputs(
    "  -v, --verbose        also print library information, the backend's\n"
    "                       note and a summary\n"
    "  -h, --help           print this help and exit\n"
    "\n"
    "OUT's format follows its extension: .wav, .flac, .aiff or .aif, .ogg;\n"
    "any other extension keeps IN's format. Integer formats clip at full\n"
    "scale. A model trained at another sample rate runs as is: nothing is\n"
    "resampled. Progress is shown on stderr when it is a terminal. With\n"
    "--pipelined, OUT is still aligned with IN: the block of latency is\n"
    "cut from its start and pushed out at the end with silence.\n"
    "\n"
    "Exit status: 0 on success, 1 on a bad file or a runtime error,\n"
    "2 on bad usage.\n",
    stream);
}

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct {
  const char*      model_path;
  const char*      preset_name;
  const char*      in_path;
  const char*      out_path;
  uint32_t         block;
  int              subtype;    /**< SF_FORMAT_* subtype, 0: choose one. */
  uint32_t         num_params; /**< --param arguments, "I=V" as typed. */
  char**           params;
  CliEngineOptions engine;
} ProcessOptions;

typedef struct {
  const char* name;
  int         subtype;
} SubtypeName;

static const SubtypeName subtype_names[] = {
  {"pcm16", SF_FORMAT_PCM_16},
  {"pcm24", SF_FORMAT_PCM_24},
  {"pcm32", SF_FORMAT_PCM_32},
  {"float", SF_FORMAT_FLOAT},
  {"double", SF_FORMAT_DOUBLE},
  {"vorbis", SF_FORMAT_VORBIS},
};

static int
subtype_from_name(const char* name)
{
  for (size_t i = 0; i < sizeof(subtype_names) / sizeof(subtype_names[0]);
       ++i) {
    if (!strcasecmp(name, subtype_names[i].name)) {
      return subtype_names[i].subtype;
    }
  }
  return 0;
}

static const char*
subtype_name(int subtype)
{
  for (size_t i = 0; i < sizeof(subtype_names) / sizeof(subtype_names[0]);
       ++i) {
    if (subtype == subtype_names[i].subtype) {
      return subtype_names[i].name;
    }
  }
  return "another";
}

/** Fills `options`; returns CLI_EXIT_SUCCESS or the status to exit with. */
static int
parse_options(int argc, char** argv, ProcessOptions* options)
{
  static const struct option long_options[] = {
    {"model", required_argument, NULL, 'm'},
    {"preset", required_argument, NULL, 'P'},
    {"block", required_argument, NULL, 'b'},
    {"param", required_argument, NULL, 'p'},
    {"subtype", required_argument, NULL, 's'},
    {"arch", required_argument, NULL, CLI_OPT_ARCH},
    CLI_ENGINE_LONG_OPTIONS,
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };

  const CliCommand* const command = cli_command("process");
  cli_reset_getopt();
  int opt = 0;
  while ((opt = getopt_long(argc, argv, ":m:P:b:p:s:vh", long_options, NULL)) !=
         -1) {
    switch (opt) {
    case 'm':
      options->model_path = optarg;
      break;
    case 'P':
      options->preset_name = optarg;
      break;
    case 'b':
      if (cli_parse_block(command, optarg, &options->block)) {
        return CLI_EXIT_USAGE;
      }
      break;
    case 'p':
      options->params[options->num_params++] = optarg;
      break;
    case 's':
      options->subtype = subtype_from_name(optarg);
      if (!options->subtype) {
        return cli_usage_error(command,
                               "--subtype '%s': expected pcm16, pcm24, pcm32, "
                               "float, double or vorbis",
                               optarg);
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
      cmd_process_usage(stdout);
      return -1;
    default:
      return cli_option_error(command, opt, argv);
    }
  }

  if (options->model_path && options->preset_name) {
    return cli_usage_error(command, "give --model or --preset, not both");
  }
  if (!options->model_path && !options->preset_name) {
    return cli_usage_error(command, "missing --model FILE or --preset NAME");
  }
  if (argc - optind < 2) {
    return cli_usage_error(
      command, "missing %s", (argc - optind == 1) ? "OUT" : "IN and OUT");
  }
  if (argc - optind > 2) {
    return cli_usage_error(
      command, "unexpected argument '%s'", argv[optind + 2]);
  }

  options->in_path  = argv[optind];
  options->out_path = argv[optind + 1];
  return CLI_EXIT_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Knobs                                                                    */
/* ------------------------------------------------------------------------ */

static bool
is_index(const char* text, size_t length)
{
  if (length == 0) {
    return false;
  }
  for (size_t i = 0; i < length; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return false;
    }
  }
  return true;
}

/** The 0-based knob that `key` ("2" or "drive") names, or -1. */
static int64_t
find_knob(const SwModel* model, const char* key, size_t key_length)
{
  SwModelInfo info;
  sw_model_info(model, &info);

  if (is_index(key, key_length)) {
    // Up to 10 digits fit in uint64 without overflow.
    if (key_length > 10) {
      return -1;
    }
    uint64_t number = 0;
    for (size_t i = 0; i < key_length; ++i) {
      number = number * 10U + (uint64_t)(key[i] - '0');
    }
    return (number >= 1 && number <= info.num_knobs) ? (int64_t)(number - 1)
                                                     : -1;
  }

  for (uint32_t k = 0; k < info.num_knobs; ++k) {
    SwKnobSpec knob;
    if (sw_model_knob(model, k, &knob) == SW_SUCCESS && knob.name &&
        strlen(knob.name) == key_length &&
        !strncasecmp(knob.name, key, key_length)) {
      return k;
    }
  }
  return -1;
}

static void
print_knob_list(const SwModel* model, uint32_t num_knobs)
{
  fputs("statewave: the model's knobs are:", stderr);
  for (uint32_t k = 0; k < num_knobs; ++k) {
    SwKnobSpec knob;
    if (sw_model_knob(model, k, &knob) == SW_SUCCESS) {
      fprintf(stderr,
              "%s %u (%s, %g..%g)",
              k ? "," : "",
              k + 1U,
              knob.name ? knob.name : "unnamed",
              (double)knob.min,
              (double)knob.max);
    }
  }
  fputc('\n', stderr);
}

/** Applies every --param to `engine`, or with a preset to `processor` as
    the knob's position in its range; returns an exit status. */
static int
apply_params(const ProcessOptions* options,
             const SwModel*        model,
             SwEngine*             engine,
             SwProcessor*          processor)
{
  const CliCommand* const command = cli_command("process");
  SwModelInfo             info;
  sw_model_info(model, &info);

  for (uint32_t p = 0; p < options->num_params; ++p) {
    const char* const param  = options->params[p];
    const char* const equals = strrchr(param, '=');
    float             value  = 0.0f;
    if (!equals || equals == param || !cli_parse_float(equals + 1, &value) ||
        !isfinite(value)) {
      return cli_usage_error(
        command,
        "--param '%s': expected I=V, a knob index or name and a number",
        param);
    }

    if (info.num_knobs == 0) {
      return cli_usage_error(
        command,
        "--param '%s': the model %s has no knobs (input width %u)",
        param,
        options->model_path,
        info.input_width);
    }

    const size_t  key_length = (size_t)(equals - param);
    const int64_t index      = find_knob(model, param, key_length);
    if (index < 0) {
      print_knob_list(model, info.num_knobs);
      return cli_usage_error(command,
                             "--param '%s': the model has no knob '%.*s'; "
                             "expected 1..%u or a knob name",
                             param,
                             (int)key_length,
                             param,
                             info.num_knobs);
    }

    SwKnobSpec knob;
    if (sw_model_knob(model, (uint32_t)index, &knob) == SW_SUCCESS &&
        (value < knob.min || value > knob.max)) {
      cli_warning("--param '%s': %g is outside the knob's range %g..%g; "
                  "the engine clamps it",
                  param,
                  (double)value,
                  (double)knob.min,
                  (double)knob.max);
    }

    SwStatus status = SW_SUCCESS;
    if (processor) {
      // As `statewave run` sets a knob: its position across the range.
      const float span     = knob.max - knob.min;
      float       position = span > 0.0f ? (value - knob.min) / span : 0.0f;
      position = position < 0.0f ? 0.0f : (position > 1.0f ? 1.0f : position);
      status   = sw_processor_set_knob(processor, (uint32_t)index, position);
    } else {
      status = sw_engine_set_knob(engine, (uint32_t)index, value);
    }
    if (status) {
      cli_error("--param '%s': %s", param, sw_strerror(status));
      return CLI_EXIT_FAILURE;
    }
  }
  return CLI_EXIT_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

/** The SF_FORMAT_* major format that OUT's extension names, or 0. */
static int
major_format_from_path(const char* path)
{
  const char* const slash = strrchr(path, '/');
  const char* const dot   = strrchr(slash ? slash : path, '.');
  if (!dot) {
    return 0;
  }

  const char* const extension = dot + 1;
  if (!strcasecmp(extension, "wav")) {
    return SF_FORMAT_WAV;
  }
  if (!strcasecmp(extension, "flac")) {
    return SF_FORMAT_FLAC;
  }
  if (!strcasecmp(extension, "aiff") || !strcasecmp(extension, "aif")) {
    return SF_FORMAT_AIFF;
  }
  if (!strcasecmp(extension, "ogg")) {
    return SF_FORMAT_OGG;
  }
  return 0;
}

static bool
format_is_valid(int format, const SF_INFO* in_info)
{
  SF_INFO info    = {0};
  info.samplerate = in_info->samplerate;
  info.channels   = in_info->channels;
  info.format     = format;
  return sf_format_check(&info) == SF_TRUE;
}

/** The whole SF_FORMAT_* for OUT, or 0 after printing why there is none. */
static int
choose_output_format(const ProcessOptions* options, const SF_INFO* in_info)
{
  int major = major_format_from_path(options->out_path);
  if (!major) {
    major = in_info->format & SF_FORMAT_TYPEMASK;
  }

  if (options->subtype) {
    if (!format_is_valid(major | options->subtype, in_info)) {
      cli_usage_error(cli_command("process"),
                      "--subtype %s: %s cannot hold that sample format",
                      subtype_name(options->subtype),
                      options->out_path);
      return 0;
    }
    return major | options->subtype;
  }

  const int in_subtype = in_info->format & SF_FORMAT_SUBMASK;
  if (format_is_valid(major | in_subtype, in_info)) {
    return major | in_subtype;
  }

  int fallback = SF_FORMAT_FLOAT;
  if (major == SF_FORMAT_FLAC) {
    fallback = SF_FORMAT_PCM_24;
  } else if (major == SF_FORMAT_OGG) {
    fallback = SF_FORMAT_VORBIS;
  }
  if (!format_is_valid(major | fallback, in_info)) {
    cli_error("%s: cannot write this format with %d channels at %d Hz",
              options->out_path,
              in_info->channels,
              in_info->samplerate);
    return 0;
  }
  return major | fallback;
}

static bool
same_file(const char* a, const char* b)
{
  struct stat a_stat;
  struct stat b_stat;
  return !stat(a, &a_stat) && !stat(b, &b_stat) &&
         a_stat.st_dev == b_stat.st_dev && a_stat.st_ino == b_stat.st_ino;
}

static bool
is_integer_subtype(int format)
{
  const int subtype = format & SF_FORMAT_SUBMASK;
  return subtype != SF_FORMAT_FLOAT && subtype != SF_FORMAT_DOUBLE &&
         subtype != SF_FORMAT_VORBIS;
}

/* ------------------------------------------------------------------------ */
/* Processing                                                               */
/* ------------------------------------------------------------------------ */

static double
seconds_now(void)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

typedef struct {
  bool       shown;
  int        last_percent;
  sf_count_t total_frames; /**< <= 0 when libsndfile does not know. */
} Progress;

static void
progress_update(Progress* progress, const char* name, sf_count_t done)
{
  if (!progress->shown) {
    return;
  }

  if (progress->total_frames <= 0) {
    fprintf(stderr, "\rprocessing %s: %lld frames", name, (long long)done);
    return;
  }

  const int percent = (int)((100 * done) / progress->total_frames);
  if (percent == progress->last_percent) {
    return;
  }
  progress->last_percent = percent;

  enum { WIDTH = 40 };
  char      bar[WIDTH + 1];
  const int filled = (percent * WIDTH) / 100;
  for (int i = 0; i < WIDTH; ++i) {
    bar[i] = (i < filled) ? '#' : '.';
  }
  bar[WIDTH] = '\0';
  fprintf(stderr, "\rprocessing %s [%s] %3d%%", name, bar, percent);
}

static void
progress_end(const Progress* progress)
{
  if (progress->shown) {
    fputc('\n', stderr);
  }
}

/** Buffers for one block: interleaved file frames and one row per channel. */
typedef struct {
  float*  interleaved;
  float*  planar;
  float** channels;
} Buffers;

static bool
buffers_init(Buffers* buffers, uint32_t channels, uint32_t block)
{
  const size_t samples = (size_t)channels * block;
  buffers->interleaved = (float*)calloc(samples, sizeof(float));
  buffers->planar      = (float*)calloc(samples, sizeof(float));
  buffers->channels    = (float**)calloc(channels, sizeof(float*));
  if (!buffers->interleaved || !buffers->planar || !buffers->channels) {
    return false;
  }
  for (uint32_t c = 0; c < channels; ++c) {
    buffers->channels[c] = buffers->planar + (size_t)c * block;
  }
  return true;
}

static void
buffers_free(Buffers* buffers)
{
  free(buffers->interleaved);
  free(buffers->planar);
  free(buffers->channels);
}

/** Streams IN through the engine (or the processor playing it) into OUT;
    returns an exit status. */
static int
process_file(const ProcessOptions* options,
             SwEngine*             engine,
             SwProcessor*          processor,
             SNDFILE*              in,
             const SF_INFO*        in_info,
             SNDFILE*              out,
             sf_count_t*           frames_done)
{
  const uint32_t channels = (uint32_t)in_info->channels;
  Buffers        buffers  = {NULL, NULL, NULL};
  if (!buffers_init(&buffers, channels, options->block)) {
    buffers_free(&buffers);
    cli_error(
      "out of memory for %u channels of %u frames", channels, options->block);
    return CLI_EXIT_FAILURE;
  }

  // A pipelined engine answers `latency` frames late: its first outputs come
  // before IN's first frame and are dropped, and as many frames of silence
  // after IN's end push its last frames out.
  const uint32_t latency    = processor ? sw_processor_latency(processor)
                                        : sw_engine_latency(engine);
  sf_count_t     to_drop    = latency;
  sf_count_t     to_flush   = latency;
  bool           input_done = false;
  sf_count_t     frames_fed = 0;

  Progress progress = {isatty(STDERR_FILENO) == 1, -1, in_info->frames};
  int      result   = CLI_EXIT_SUCCESS;
  *frames_done      = 0;
  for (;;) {
    sf_count_t frames = 0;
    if (!input_done) {
      frames =
        sf_readf_float(in, buffers.interleaved, (sf_count_t)options->block);
      input_done = frames <= 0;
    }
    if (input_done) {
      if (to_flush == 0) {
        break;
      }
      frames = (to_flush < options->block) ? to_flush : options->block;
      to_flush -= frames;
      memset(buffers.interleaved,
             0,
             (size_t)frames * channels * sizeof(float));
    }

    for (sf_count_t f = 0; f < frames; ++f) {
      for (uint32_t c = 0; c < channels; ++c) {
        buffers.channels[c][f] = buffers.interleaved[f * channels + c];
      }
    }

    // In place: the engine and the processor allow `in` and `out` to alias.
    const SwStatus status =
      processor ? sw_processor_process(processor,
                                       (const float* const*)buffers.channels,
                                       buffers.channels,
                                       (uint32_t)frames)
                : sw_engine_process(engine,
                                    (const float* const*)buffers.channels,
                                    buffers.channels,
                                    (uint32_t)frames);
    if (status) {
      cli_error("%s: processing failed at frame %lld: %s",
                options->in_path,
                (long long)frames_fed,
                sw_strerror(status));
      result = CLI_EXIT_FAILURE;
      break;
    }
    frames_fed += frames;

    const sf_count_t dropped = (to_drop < frames) ? to_drop : frames;
    to_drop -= dropped;
    const sf_count_t kept = frames - dropped;
    for (sf_count_t f = 0; f < kept; ++f) {
      for (uint32_t c = 0; c < channels; ++c) {
        buffers.interleaved[f * channels + c] =
          buffers.channels[c][dropped + f];
      }
    }

    if (sf_writef_float(out, buffers.interleaved, kept) != kept) {
      cli_error("%s: cannot write: %s", options->out_path, sf_strerror(out));
      result = CLI_EXIT_FAILURE;
      break;
    }

    *frames_done += kept;
    progress_update(&progress, options->in_path, *frames_done);
  }
  progress_end(&progress);

  if (result == CLI_EXIT_SUCCESS && sf_error(in) != SF_ERR_NO_ERROR) {
    cli_error("%s: cannot read: %s", options->in_path, sf_strerror(in));
    result = CLI_EXIT_FAILURE;
  }

  buffers_free(&buffers);
  return result;
}

/**
   The processor a preset plays through: its input and output gains, mix
   and knob positions (the preset's, else each knob's default), exact from
   the first frame (no ramps), around `engine`. NULL after an error.
*/
static SwProcessor*
make_processor(const Preset*  preset,
               const SwModel* model,
               SwEngine*      engine,
               const SF_INFO* in_info,
               uint32_t       block)
{
  SwProcessorConfig config = sw_processor_config_default();
  config.sample_rate       = (double)in_info->samplerate;
  config.channels          = (uint32_t)in_info->channels;
  config.max_block         = block;
  config.crossfade_ms      = 0.0f;
  config.smoothing_ms      = 0.0f;
  SwError      err         = {SW_SUCCESS, ""};
  SwProcessor* processor   = sw_processor_new(&config, &err);
  if (!processor) {
    cli_library_error(&err);
    return NULL;
  }

  SwModelInfo info;
  sw_model_info(model, &info);
  for (uint32_t k = 0; k < info.num_knobs && k < SW_PROCESSOR_MAX_KNOBS; ++k) {
    SwKnobSpec spec;
    float      position = 0.5f;
    if (sw_model_knob(model, k, &spec) == SW_SUCCESS && spec.max > spec.min) {
      position = (spec.default_value - spec.min) / (spec.max - spec.min);
    }
    if (k < preset->num_knobs) {
      position = preset->knobs[k];
    }
    (void)sw_processor_set_knob(processor, k, position);
  }
  sw_processor_set_input_gain_db(processor, preset->input_gain_db);
  sw_processor_set_output_gain_db(processor, preset->output_gain_db);
  sw_processor_set_mix(processor, preset->mix);
  if (!sw_processor_offer(processor, engine, NULL)) {
    cli_error("%s: the processor refused the engine", preset->path);
    sw_processor_free(processor);
    return NULL;
  }
  if (preset->num_knobs > info.num_knobs) {
    cli_warning("%s has %u knob position%s but %s has %u knob%s; the rest "
                "are ignored",
                preset->path,
                preset->num_knobs,
                preset->num_knobs == 1 ? "" : "s",
                preset->model_path,
                info.num_knobs,
                info.num_knobs == 1 ? "" : "s");
  }
  return processor;
}

static void
warn_about_model(const ProcessOptions* options,
                 const SwModelInfo*    info,
                 const SF_INFO*        in_info)
{
  if (info->sample_rate > 0.0 &&
      fabs(info->sample_rate - (double)in_info->samplerate) > 0.5) {
    cli_warning("%s was trained at %g Hz but %s is %d Hz; no resampling is "
                "done, so the model may sound wrong",
                options->model_path,
                info->sample_rate,
                options->in_path,
                in_info->samplerate);
  }

  if (info->output_width > 1) {
    cli_warning("%s has %u outputs; only output column 0 is written to %s",
                options->model_path,
                info->output_width,
                options->out_path);
  }
}

static void
print_summary(const ProcessOptions* options,
              const SF_INFO*        in_info,
              sf_count_t            frames,
              double                elapsed)
{
  const double audio_seconds = (double)frames / (double)in_info->samplerate;
  fprintf(stderr,
          "statewave: %s -> %s: %lld frames x %d channel%s, %.3f s of audio "
          "in %.3f s, real-time factor %.4f\n",
          options->in_path,
          options->out_path,
          (long long)frames,
          in_info->channels,
          (in_info->channels == 1) ? "" : "s",
          audio_seconds,
          elapsed,
          (audio_seconds > 0.0) ? elapsed / audio_seconds : 0.0);
}

int
cmd_process(int argc, char** argv)
{
  ProcessOptions options = {
    NULL, NULL, NULL, NULL, DEFAULT_BLOCK, 0, 0, NULL, cli_engine_options_default()};
  options.params         = (char**)calloc((size_t)argc, sizeof(char*));
  if (!options.params) {
    cli_error("out of memory");
    return CLI_EXIT_FAILURE;
  }

  SwModel*     model     = NULL;
  SwEngine*    engine    = NULL;
  SwProcessor* processor = NULL;
  Preset*      preset    = NULL;
  SNDFILE*     in        = NULL;
  SNDFILE*  out    = NULL;
  SF_INFO   in_info;
  memset(&in_info, 0, sizeof(in_info));

  int result = parse_options(argc, argv, &options);
  if (result) {
    result = (result < 0) ? CLI_EXIT_SUCCESS : result; // -1: --help
    goto done;
  }

  result = CLI_EXIT_FAILURE;
  if (options.preset_name) {
    char err_text[4096];
    if (!(preset = (Preset*)calloc(1, sizeof(Preset)))) {
      cli_error("out of memory");
      goto done;
    }
    if (!preset_find(preset_dir(), options.preset_name, preset, err_text,
                     sizeof(err_text))) {
      cli_error("--preset %s: %s", options.preset_name, err_text);
      goto done;
    }
    options.model_path = preset->model_path;
  }
  if (!(model = cli_load_model(options.model_path))) {
    goto done;
  }

  SwModelInfo info;
  sw_model_info(model, &info);
  if (info.input_width < 1 || info.output_width < 1) {
    cli_error("%s: the model has input width %u and output width %u; "
              "expected at least 1 of each for audio",
              options.model_path,
              info.input_width,
              info.output_width);
    goto done;
  }

  if (!(in = sf_open(options.in_path, SFM_READ, &in_info))) {
    cli_error(
      "%s: cannot open as audio: %s", options.in_path, sf_strerror(NULL));
    goto done;
  }

  if (same_file(options.in_path, options.out_path)) {
    result = cli_usage_error(cli_command("process"),
                             "IN and OUT are the same file (%s); nothing "
                             "is processed in place",
                             options.out_path);
    goto done;
  }

  SF_INFO out_info;
  memset(&out_info, 0, sizeof(out_info));
  out_info.samplerate = in_info.samplerate;
  out_info.channels   = in_info.channels;
  out_info.format     = choose_output_format(&options, &in_info);
  if (!out_info.format) {
    result = options.subtype ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
    goto done;
  }

  SwEngineConfig config    = cli_engine_config(&options.engine);
  config.sample_rate       = (double)in_info.samplerate;
  config.streams           = (uint32_t)in_info.channels;
  config.max_block         = options.block;
  config.knob_smoothing_ms = 0.0f; // --param values hold from frame 0.
  SwError err              = {SW_SUCCESS, ""};
  if (!(engine = sw_engine_new(model, &config, &err))) {
    cli_library_error(&err);
    goto done;
  }

  if (preset && !(processor = make_processor(preset, model, engine, &in_info,
                                             options.block))) {
    goto done;
  }

  if ((result = apply_params(&options, model, engine, processor))) {
    goto done;
  }
  result = CLI_EXIT_FAILURE;

  warn_about_model(&options, &info, &in_info);

  if (!(out = sf_open(options.out_path, SFM_WRITE, &out_info))) {
    cli_error(
      "%s: cannot open for writing: %s", options.out_path, sf_strerror(NULL));
    goto done;
  }
  if (is_integer_subtype(out_info.format)) {
    sf_command(out, SFC_SET_CLIPPING, NULL, SF_TRUE);
  }

  const double start       = seconds_now();
  sf_count_t   frames_done = 0;
  result = process_file(
    &options, engine, processor, in, &in_info, out, &frames_done);
  const double elapsed = seconds_now() - start;

  const int close_status = sf_close(out);
  out                    = NULL;
  if (result == CLI_EXIT_SUCCESS && close_status) {
    cli_error("%s: cannot finish writing: %s",
              options.out_path,
              sf_error_number(close_status));
    result = CLI_EXIT_FAILURE;
  }
  if (result != CLI_EXIT_SUCCESS) {
    unlink(options.out_path); // Never leave a truncated file behind.
    goto done;
  }

  cli_report_engine(engine, options.engine.backend);

  if (cli_verbose() || isatty(STDERR_FILENO)) {
    print_summary(&options, &in_info, frames_done, elapsed);
  }

done:
  if (out) {
    sf_close(out);
    unlink(options.out_path);
  }
  if (in) {
    sf_close(in);
  }
  if (processor) {
    SwEngine* held = NULL;
    while (sw_processor_release(processor, &held, NULL)) {
    }
    sw_processor_free(processor);
  }
  sw_engine_free(engine);
  sw_model_free(model);
  free(preset);
  free(options.params);
  return result;
}
