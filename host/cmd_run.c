/*
  statewave run: live duplex processing through the audio backend
  (PortAudio), each channel an independent stream of one engine, with
  presets and models switched while it plays.

  Threads, as in jalv:
    audio    the device's callback: live_process() on the LiveState, which
             holds everything it touches (live/live_state.h);
    loader   loads model files into warmed engines (live/loader.h);
    main     this file's loop: keys or line commands from stdin, load
             results (offered to the audio thread over the command ring),
             events from the audio thread (engines to free, swaps done),
             the status line, signals and the --seconds deadline.
  The audio thread and the main loop talk only through the LiveState's
  lock-free rings and atomics.
*/

#define _DEFAULT_SOURCE /* strcasecmp, strncasecmp */

#include "cli.h"
#include "live/audio_backend.h"
#include "live/live_commands.h"
#include "live/live_model.h"
#include "live/live_state.h"
#include "live/loader.h"
#include "live/terminal.h"
#include "preset.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHANNELS 64U
/* The processor's and engines' block when the device chooses its own (the
   processor splits longer callbacks). */
#define DEVICE_BLOCK_MAX 1024U
#define CROSSFADE_MS 20.0f
#define SMOOTHING_MS 20.0f
/* No callback for this long: the device or server has gone. */
#define STALL_SECONDS 3.0
/* The main loop's longest sleep (status line, events, deadline). */
#define TICK_MS 50

void
cmd_run_usage(FILE* stream)
{
  fputs(
    "Usage: statewave run (--model FILE | --preset NAME) [OPTION]...\n"
    "\n"
    "Play live: the audio device's inputs run through the model to its\n"
    "outputs, each channel an independent stream. Presets and models are\n"
    "switched while it plays (loaded on a worker thread, crossfaded in).\n"
    "\n"
    "Options:\n"
    "  -m, --model FILE      model file to start with\n"
    "  -P, --preset NAME     preset to start with (id or name; see README)\n"
    "      --host-api NAME   jack, alsa, oss or a host API's name (default:\n"
    "                        JACK when a JACK server runs, else PortAudio's\n"
    "                        default)\n"
    "  -d, --device NAME     device name (or a part of one) or index, as\n"
    "                        'statewave devices' lists them (default: the\n"
    "                        host API's default input and output)\n"
    "  -r, --rate HZ         sample rate (default: the model's training\n"
    "                        rate when the file says it and the device takes\n"
    "                        it, else the device's rate, with a warning)\n"
    "  -b, --block N         frames per callback, 1..65536 (default: the\n"
    "                        device's own, e.g. JACK's period)\n"
    "  -c, --channels N      channels in and out, 1..64 (default 1)\n"
    "      --backend NAME    where the model runs: auto, cpu, cpu-ref, cudnn or\n"
    "                        fused (default auto)\n"
    "  -s, --seconds S       stop after S seconds (default: run until quit,\n"
    "                        Ctrl-C or SIGTERM)\n"
    "  -j, --json            at the end, print a JSON summary on stdout\n"
    "  -v, --verbose         also print what the audio library said and\n"
    "                        library information\n"
    "  -h, --help            print this help and exit\n"
    "\n"
    "On a terminal: a status line (input and output peaks, DSP load, xruns,\n"
    "preset, backend) and keys: n/p or the arrows next/previous preset,\n"
    "b or space bypass, r reset, q quit. Otherwise stdin takes one command\n"
    "a line: preset NAME, model PATH, bypass on|off, reset, param I=V\n"
    "(knob I, 1-based or by name, to the value V), quit; each is answered\n"
    "on stderr with 'statewave: ok: ...' or 'statewave: refused: ...'.\n"
    "A file that fails to load keeps the playing model.\n"
    "\n"
    "Exit status: 0 after quit, --seconds, Ctrl-C or SIGTERM; 1 on a bad\n"
    "file, a missing preset, device or server, or an audio failure;\n"
    "2 on bad usage.\n",
    stream);
}

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

#define OPT_HOST_API 0x200

typedef struct {
  const char*      model_path;
  const char*      preset_name;
  const char*      host_api;
  const char*      device;
  double           rate;
  uint32_t         block;
  uint32_t         channels;
  double           seconds; /* 0: no limit */
  bool             json;
  CliEngineOptions engine;
} RunOptions;

static int
parse_options(int argc, char** argv, RunOptions* options)
{
  static const struct option long_options[] = {
    {"model", required_argument, NULL, 'm'},
    {"preset", required_argument, NULL, 'P'},
    {"host-api", required_argument, NULL, OPT_HOST_API},
    {"device", required_argument, NULL, 'd'},
    {"rate", required_argument, NULL, 'r'},
    {"block", required_argument, NULL, 'b'},
    {"channels", required_argument, NULL, 'c'},
    {"backend", required_argument, NULL, CLI_OPT_BACKEND},
    {"seconds", required_argument, NULL, 's'},
    {"json", no_argument, NULL, 'j'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };

  const CliCommand* const command = cli_command("run");
  cli_reset_getopt();
  int opt = 0;
  while ((opt = getopt_long(argc, argv, ":m:P:d:r:b:c:s:jvh", long_options,
                            NULL)) != -1) {
    switch (opt) {
    case 'm':
      options->model_path = optarg;
      break;
    case 'P':
      options->preset_name = optarg;
      break;
    case OPT_HOST_API:
      options->host_api = optarg;
      break;
    case 'd':
      options->device = optarg;
      break;
    case 'r':
      if (!cli_parse_double(optarg, &options->rate) ||
          !(options->rate >= 1000.0 && options->rate <= 768000.0)) {
        return cli_usage_error(
          command, "--rate '%s': expected a rate in 1000..768000 Hz", optarg);
      }
      break;
    case 'b':
      if (cli_parse_block(command, optarg, &options->block)) {
        return CLI_EXIT_USAGE;
      }
      break;
    case 'c':
      if (!cli_parse_uint(optarg, 1U, MAX_CHANNELS, &options->channels)) {
        return cli_usage_error(command,
                               "--channels '%s': expected an integer in 1..%u",
                               optarg, MAX_CHANNELS);
      }
      break;
    case CLI_OPT_BACKEND:
      if (cli_engine_option(command, opt, optarg, &options->engine)) {
        return CLI_EXIT_USAGE;
      }
      break;
    case 's':
      if (!cli_parse_double(optarg, &options->seconds) ||
          !(options->seconds > 0.0 && options->seconds <= 1.0e7)) {
        return cli_usage_error(
          command, "--seconds '%s': expected a number of seconds above 0",
          optarg);
      }
      break;
    case 'j':
      options->json = true;
      break;
    case 'v':
      cli_set_verbose(true);
      break;
    case 'h':
      cmd_run_usage(stdout);
      return -1;
    default:
      return cli_option_error(command, opt, argv);
    }
  }
  if (optind < argc) {
    return cli_usage_error(command, "unexpected argument '%s'", argv[optind]);
  }
  if (!options->model_path == !options->preset_name) {
    return cli_usage_error(command, options->model_path
                                      ? "give --model or --preset, not both"
                                      : "missing --model FILE or --preset "
                                        "NAME");
  }
  return CLI_EXIT_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Signals                                                                  */
/* ------------------------------------------------------------------------ */

static volatile sig_atomic_t stop_signal = 0;
static int                   signal_pipe[2] = {-1, -1};

static void
on_signal(int signo)
{
  stop_signal = signo;
  if (signal_pipe[1] >= 0) {
    const int  saved = errno;
    const char byte  = 1;
    (void)!write(signal_pipe[1], &byte, 1);
    errno = saved;
  }
}

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void
block_stop_signals(sigset_t* const old)
{
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); ++i) {
    sigaddset(&set, stop_signals[i]);
  }
  pthread_sigmask(SIG_BLOCK, &set, old);
}

static bool
install_signal_handlers(void)
{
  if (pipe(signal_pipe) != 0) {
    return false;
  }
  for (int i = 0; i < 2; ++i) {
    fcntl(signal_pipe[i], F_SETFL, fcntl(signal_pipe[i], F_GETFL) | O_NONBLOCK);
    fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
  }
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); ++i) {
    sigaction(stop_signals[i], &action, NULL);
  }
  return true;
}

static void
remove_signal_handlers(void)
{
  for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); ++i) {
    signal(stop_signals[i], SIG_DFL);
  }
  for (int i = 0; i < 2; ++i) {
    if (signal_pipe[i] >= 0) {
      close(signal_pipe[i]);
      signal_pipe[i] = -1;
    }
  }
}

/* ------------------------------------------------------------------------ */
/* The session                                                              */
/* ------------------------------------------------------------------------ */

typedef enum {
  END_RUNNING = 0,
  END_QUIT,
  END_SECONDS,
  END_SIGNAL,
  END_ERROR,
} EndReason;

typedef struct {
  const RunOptions* options;
  AudioBackend*     audio;
  AudioOpened       opened;
  LiveState*        live;
  Loader*           loader;
  LiveEngineConfig  engine_config;

  /* The model playing (its PLAYING event came last); owned through the
     processor until it comes back retired. */
  LiveModel* playing;
  /* The preset list for next/previous, and where the last preset asked
     for is in it (-1: none). */
  Preset* presets;
  size_t  num_presets;
  int     preset_cursor;

  float    knobs[SW_PROCESSOR_MAX_KNOBS]; /* positions; NaN: never set */
  bool     enabled;
  uint64_t next_load_id;
  uint64_t commands;
  uint64_t refused;
  uint64_t load_failures;

  bool   raw_keys;    /* stdin is a terminal in raw mode */
  bool   stdin_open;  /* line commands may still come */
  char   line[8192];
  size_t line_length;
  bool   line_too_long;

  bool      status_line;
  double    started; /* monotonic seconds at the stream's start */
  double    stopped;
  uint64_t  last_callbacks;
  double    last_callback_change;
  EndReason end;
} Run;

static double
now_seconds(void)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
say(Run* const run, const char* const format, ...)
{
  if (run->status_line) {
    status_line_clear();
  }
  va_list args;
  va_start(args, format);
  fputs("statewave: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  fflush(stderr);
}

/* How messages name what a model came from. */
static const char*
model_label(const LiveModel* const live)
{
  return live ? live->request.label : "nothing";
}

/* Warn when `live` was trained at another rate than the stream runs. */
static void
warn_rate(Run* const run, const LiveModel* const live)
{
  if (live->trained_rate > 0.0 &&
      fabs(live->trained_rate - run->opened.rate) > 0.5) {
    say(run,
        "warning: %s was trained at %g Hz but the stream runs at %g Hz; no "
        "resampling is done, so the model may sound different",
        live->request.path, live->trained_rate, run->opened.rate);
  }
}

static void
note_backend(Run* const run, const LiveModel* const live)
{
  const SwBackendKind asked = run->options->engine.backend;
  SwBackendKind       running = SW_BACKEND_CPU;
  sw_backend_parse(live->backend, &running);
  if (live->backend_note[0] &&
      (cli_verbose() || (asked != SW_BACKEND_AUTO && asked != running))) {
    say(run, "%s", live->backend_note);
  }
}

static void
refuse(Run* const run, const char* const text, const char* const why)
{
  ++run->refused;
  say(run, "refused: %s: %s", text, why);
}

/* Load the file for `request` on the loader thread. */
static void
request_load(Run* const run, LiveModelRequest* const request)
{
  if (!loader_request(run->loader, ++run->next_load_id, request)) {
    refuse(run, request->origin, "out of memory");
    return;
  }
  say(run, "loading %s", request->label);
}

static void
fill_preset_request(LiveModelRequest* const request, const Preset* const preset,
                    const char* const origin)
{
  memset(request, 0, sizeof(*request));
  snprintf(request->path, sizeof(request->path), "%s", preset->model_path);
  snprintf(request->label, sizeof(request->label), "preset \"%s\" (%s)",
           preset->name, preset->model_path);
  snprintf(request->origin, sizeof(request->origin), "%s", origin);
  snprintf(request->preset_id, sizeof(request->preset_id), "%s", preset->id);
  snprintf(request->preset_name, sizeof(request->preset_name), "%s",
           preset->name);
  request->is_preset      = true;
  request->has_gains      = true;
  request->input_gain_db  = preset->input_gain_db;
  request->output_gain_db = preset->output_gain_db;
  request->mix            = preset->mix;
  request->num_knobs      = preset->num_knobs < SW_PROCESSOR_MAX_KNOBS
                              ? preset->num_knobs
                              : SW_PROCESSOR_MAX_KNOBS;
  for (uint32_t k = 0; k < request->num_knobs; ++k) {
    request->knobs[k] = preset->knobs[k];
  }
}

static void
fill_model_request(const Run* const run, LiveModelRequest* const request,
                   const char* const path, const char* const origin)
{
  memset(request, 0, sizeof(*request));
  snprintf(request->path, sizeof(request->path), "%s", path);
  snprintf(request->label, sizeof(request->label), "%s", path);
  snprintf(request->origin, sizeof(request->origin), "%s", origin);
  for (uint32_t k = 0; k < SW_PROCESSOR_MAX_KNOBS; ++k) {
    request->current_knobs[k] = run->knobs[k];
  }
}

/* Read the preset folder again (presets may come and go while playing). */
static void
refresh_presets(Run* const run)
{
  Preset* list  = NULL;
  size_t  count = 0;
  char    err[1024];
  if (preset_list(preset_dir(), &list, &count, err, sizeof(err))) {
    /* Keep the cursor on the same preset. */
    const char* const id = (run->preset_cursor >= 0 &&
                            (size_t)run->preset_cursor < run->num_presets)
                             ? run->presets[run->preset_cursor].id
                             : NULL;
    int cursor = -1;
    for (size_t i = 0; id && i < count; ++i) {
      if (!strcmp(list[i].id, id)) {
        cursor = (int)i;
      }
    }
    free(run->presets);
    run->presets       = list;
    run->num_presets   = count;
    run->preset_cursor = cursor;
  }
}

static void
do_preset(Run* const run, const LiveAction* const action)
{
  Preset preset;
  char   err[4096];
  if (!preset_find(preset_dir(), action->arg, &preset, err, sizeof(err))) {
    refuse(run, action->text, err);
    return;
  }
  refresh_presets(run);
  for (size_t i = 0; i < run->num_presets; ++i) {
    if (!strcmp(run->presets[i].id, preset.id)) {
      run->preset_cursor = (int)i;
    }
  }
  LiveModelRequest request;
  fill_preset_request(&request, &preset, action->text);
  request_load(run, &request);
}

static void
do_step_preset(Run* const run, const LiveAction* const action, const int step)
{
  refresh_presets(run);
  if (!run->num_presets) {
    char why[4200];
    snprintf(why, sizeof(why), "no presets in %s", preset_dir());
    refuse(run, action->text, why);
    return;
  }
  const int n = (int)run->num_presets;
  int       next;
  if (run->preset_cursor < 0) {
    next = step > 0 ? 0 : n - 1;
  } else {
    next = ((run->preset_cursor + step) % n + n) % n;
  }
  run->preset_cursor = next;
  LiveModelRequest request;
  fill_preset_request(&request, &run->presets[next], action->text);
  request_load(run, &request);
}

/* "I=V": knob I (1-based or a name) of the playing model to value V. */
static void
do_param(Run* const run, const LiveAction* const action)
{
  const char* const equals = strrchr(action->arg, '=');
  float             value  = 0.0f;
  if (!equals || equals == action->arg || !cli_parse_float(equals + 1, &value) ||
      !isfinite(value)) {
    refuse(run, action->text, "expected I=V, a knob index or name and a number");
    return;
  }
  const LiveModel* const live = run->playing;
  if (!live || !live->num_model_knobs) {
    char why[4200];
    snprintf(why, sizeof(why), "the playing model %s has no knobs",
             live ? live->request.path : "(none)");
    refuse(run, action->text, why);
    return;
  }
  char key[256];
  snprintf(key, sizeof(key), "%.*s", (int)(equals - action->arg), action->arg);
  int64_t index = -1;
  uint32_t number = 0;
  if (cli_parse_uint(key, 1U, live->num_model_knobs, &number)) {
    index = (int64_t)number - 1;
  }
  for (uint32_t k = 0; index < 0 && k < live->num_model_knobs; ++k) {
    SwKnobSpec spec;
    if (sw_model_knob(live->model, k, &spec) == SW_SUCCESS && spec.name &&
        !strcasecmp(spec.name, key)) {
      index = k;
    }
  }
  float position = 0.0f;
  if (index < 0 ||
      !live_model_knob_position(live, (uint32_t)index, value, &position)) {
    char why[4500];
    snprintf(why, sizeof(why),
             "the playing model %s has no knob '%s'; expected 1..%u or a "
             "knob name",
             live->request.path, key,
             live->num_model_knobs < SW_PROCESSOR_MAX_KNOBS
               ? live->num_model_knobs
               : SW_PROCESSOR_MAX_KNOBS);
    refuse(run, action->text, why);
    return;
  }
  if (!live_send_knob(run->live, (uint32_t)index, position)) {
    refuse(run, action->text, "the audio thread's command queue is full");
    return;
  }
  run->knobs[index] = position;
  SwKnobSpec spec;
  sw_model_knob(live->model, (uint32_t)index, &spec);
  const bool clamped = value < spec.min || value > spec.max;
  say(run, "ok: %s: knob %u (%s) at %g%s", action->text, (unsigned)index + 1U,
      spec.name ? spec.name : "unnamed",
      (double)(spec.min + position * (spec.max - spec.min)),
      clamped ? ", clamped to its range" : "");
}

static void
do_action(Run* const run, const LiveAction* const action)
{
  ++run->commands;
  switch (action->type) {
  case LIVE_ACTION_PRESET:
    do_preset(run, action);
    break;
  case LIVE_ACTION_NEXT_PRESET:
    do_step_preset(run, action, 1);
    break;
  case LIVE_ACTION_PREV_PRESET:
    do_step_preset(run, action, -1);
    break;
  case LIVE_ACTION_MODEL: {
    LiveModelRequest request;
    fill_model_request(run, &request, action->arg, action->text);
    request_load(run, &request);
    break;
  }
  case LIVE_ACTION_BYPASS_ON:
  case LIVE_ACTION_BYPASS_OFF:
  case LIVE_ACTION_BYPASS_TOGGLE: {
    const bool enabled =
      action->type == LIVE_ACTION_BYPASS_TOGGLE
        ? !run->enabled
        : action->type == LIVE_ACTION_BYPASS_OFF;
    if (!live_send_enabled(run->live, enabled)) {
      refuse(run, action->text, "the audio thread's command queue is full");
      break;
    }
    run->enabled = enabled;
    if (action->type == LIVE_ACTION_BYPASS_TOGGLE) {
      say(run, "ok: %s: bypass %s", action->text, enabled ? "off" : "on");
    } else {
      say(run, "ok: %s", action->text);
    }
    break;
  }
  case LIVE_ACTION_RESET:
    if (!live_send_reset(run->live)) {
      refuse(run, action->text, "the audio thread's command queue is full");
      break;
    }
    say(run, "ok: %s: the state of every stream is reset", action->text);
    break;
  case LIVE_ACTION_PARAM:
    do_param(run, action);
    break;
  case LIVE_ACTION_QUIT:
    say(run, "ok: %s", action->text);
    run->end = END_QUIT;
    break;
  case LIVE_ACTION_INVALID:
    refuse(run, action->text, action->arg);
    break;
  case LIVE_ACTION_NONE:
    --run->commands;
    break;
  }
}

/* ------------------------------------------------------------------------ */
/* Inputs to the main loop                                                  */
/* ------------------------------------------------------------------------ */

static void
read_stdin(Run* const run)
{
  char      bytes[4096];
  const ssize_t n = read(STDIN_FILENO, bytes, sizeof(bytes));
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    run->stdin_open = false; /* no more commands; keep playing */
    return;
  }
  if (n < 0) {
    return;
  }
  if (run->raw_keys) {
    LiveAction   actions[16];
    const size_t count =
      live_parse_keys(bytes, (size_t)n, actions, sizeof(actions) / sizeof(actions[0]));
    for (size_t i = 0; i < count && run->end == END_RUNNING; ++i) {
      do_action(run, &actions[i]);
    }
    return;
  }
  for (ssize_t i = 0; i < n && run->end == END_RUNNING; ++i) {
    const char c = bytes[i];
    if (c != '\n') {
      if (run->line_length + 1U < sizeof(run->line)) {
        run->line[run->line_length++] = c;
      } else {
        run->line_too_long = true;
      }
      continue;
    }
    run->line[run->line_length] = '\0';
    if (run->line_too_long) {
      ++run->commands;
      refuse(run, "(a line)", "longer than 8 KiB: ignored");
    } else {
      LiveAction action;
      if (live_parse_line(run->line, &action)) {
        do_action(run, &action);
      }
    }
    run->line_length   = 0;
    run->line_too_long = false;
  }
}

static void
take_load_results(Run* const run)
{
  LoadResult result;
  while (loader_take_result(run->loader, &result)) {
    if (!result.model) {
      ++run->load_failures;
      char why[6000];
      snprintf(why, sizeof(why), "%s; still playing %s", result.error,
               model_label(run->playing));
      refuse(run, result.request.origin, why);
      continue;
    }
    if (!live_send_offer(run->live, result.model->engine, result.model,
                         &result.model->settings)) {
      refuse(run, result.request.origin,
             "the audio thread's command queue is full");
      live_model_free(result.model);
    }
  }
}

static void
take_events(Run* const run)
{
  LiveEvent event;
  while (live_next_event(run->live, &event)) {
    LiveModel* const live = (LiveModel*)event.tag;
    switch (event.type) {
    case LIVE_EVENT_PLAYING:
      run->playing = live;
      for (uint32_t k = 0; k < live->settings.num_knobs; ++k) {
        run->knobs[k] = live->settings.knobs[k];
      }
      say(run, "ok: %s: playing %s on %s", live->request.origin,
          live->request.label, live->backend);
      warn_rate(run, live);
      note_backend(run, live);
      break;
    case LIVE_EVENT_RETIRED:
      live_model_free(live);
      break;
    case LIVE_EVENT_DROPPED:
      say(run, "note: %s: %s was replaced by a later command before it played",
          live->request.origin, live->request.label);
      live_model_free(live);
      break;
    }
  }
}

static void
format_peak(char* const out, const size_t size, const float peak)
{
  enum { WIDTH = 10 };
  const double db = peak > 0.0f ? 20.0 * log10((double)peak) : -HUGE_VAL;
  char         bar[WIDTH + 1];
  const int    filled = db <= -60.0 ? 0 : (db >= 0.0 ? WIDTH : (int)((db + 60.0) / 6.0));
  for (int i = 0; i < WIDTH; ++i) {
    bar[i] = i < filled ? '#' : '.';
  }
  bar[WIDTH] = '\0';
  if (db <= -100.0) {
    snprintf(out, size, " -inf dB [%s]", bar);
  } else {
    snprintf(out, size, "%5.1f dB [%s]%s", db, bar, db >= 0.0 ? "!" : "");
  }
}

static void
draw_status(Run* const run, const LiveStats* const stats)
{
  char in[64];
  char out[64];
  format_peak(in, sizeof(in), stats->peak_in);
  format_peak(out, sizeof(out), stats->peak_out);
  const LiveModel* const live = run->playing;
  char                   text[512];
  snprintf(text, sizeof(text),
           "in %s  out %s  DSP %3.0f%% (max %3.0f%%)  xruns %llu  %.60s  %s%s",
           in, out, 100.0 * (double)stats->load,
           100.0 * (double)stats->max_load, (unsigned long long)stats->xruns,
           live ? (live->request.is_preset ? live->request.preset_name
                                           : live->request.path)
                : "-",
           live ? live->backend : "-", run->enabled ? "" : "  BYPASS");
  status_line_draw(text);
}

/* ------------------------------------------------------------------------ */
/* Start and end                                                            */
/* ------------------------------------------------------------------------ */

static void
on_audio(void* const user, const float* const* const in,
         float* const* const out, const uint32_t frames, const uint32_t status)
{
  live_process((LiveState*)user, in, out, frames,
               status ? LIVE_STATUS_XRUN : 0U);
}

static void
say_start(Run* const run, const LiveModel* const live)
{
  const AudioOpened* const o = &run->opened;
  char rate_why[256];
  if (run->options->rate > 0.0) {
    snprintf(rate_why, sizeof(rate_why), "as asked with --rate");
  } else if (live->trained_rate > 0.0 && !o->rate_fallback) {
    snprintf(rate_why, sizeof(rate_why), "the model's training rate");
  } else if (live->trained_rate > 0.0) {
    snprintf(rate_why, sizeof(rate_why),
             "the device's rate: it cannot run at the model's %g Hz",
             live->trained_rate);
  } else {
    snprintf(rate_why, sizeof(rate_why),
             "the device's rate; the model does not say its training rate");
  }
  char block[64];
  if (o->block) {
    snprintf(block, sizeof(block), "%u-frame blocks", o->block);
  } else {
    snprintf(block, sizeof(block), "the device's block size");
  }
  const char* const out_dev =
    strcmp(o->input_device, o->output_device) ? o->output_device : "";
  say(run, "playing %s on %s through %s (%s): %s%s%s, %g Hz (%s), %s, %u "
      "channel%s, latency in %.1f ms, out %.1f ms",
      live->request.label, live->backend, o->host_api, o->host_api_id,
      o->input_device, out_dev[0] ? " -> " : "", out_dev, o->rate, rate_why,
      block, run->engine_config.channels,
      run->engine_config.channels == 1 ? "" : "s", 1000.0 * o->input_latency,
      1000.0 * o->output_latency);
  if (o->rate_fallback) {
    say(run,
        "warning: %s was trained at %g Hz but %s runs at %g Hz%s; no "
        "resampling is done, so the model may sound different",
        live->request.path, live->trained_rate, o->host_api, o->rate,
        !strcmp(o->host_api_id, "jack") ? " (JACK runs at its server's rate)"
                                         : "");
  } else {
    warn_rate(run, live);
  }
  note_backend(run, live);
  if (run->raw_keys) {
    say(run, "keys: %s", LIVE_KEYS_HELP);
  } else if (run->stdin_open) {
    say(run, "commands on stdin, one a line: %s", LIVE_COMMANDS_HELP);
  }
}

static void
print_summary(Run* const run, const LiveStats* const stats)
{
  const double seconds = run->stopped - run->started;
  const double audio_ns =
    1.0e9 * (double)stats->frames / run->opened.rate;
  const double mean_load =
    audio_ns > 0.0 ? (double)stats->busy_ns / audio_ns : 0.0;
  const uint64_t switches = stats->swaps;
  static const char* const ends[] = {"running", "quit", "seconds", "signal",
                                     "error"};
  const LiveModel* const live = run->playing;

  if (!run->options->json) {
    say(run,
        "%.2f s: %llu callbacks, %llu frames, %llu xrun%s, DSP load max "
        "%.1f %% (mean %.1f %%), %llu preset switch%s",
        seconds, (unsigned long long)stats->callbacks,
        (unsigned long long)stats->frames, (unsigned long long)stats->xruns,
        stats->xruns == 1 ? "" : "s", 100.0 * (double)stats->max_load,
        100.0 * mean_load, (unsigned long long)switches,
        switches == 1 ? "" : "es");
    return;
  }
  cJSON* const o  = cJSON_CreateObject();
  bool         ok = o != NULL;
  ok = ok && cJSON_AddNumberToObject(o, "callbacks", (double)stats->callbacks);
  ok = ok && cJSON_AddNumberToObject(o, "xruns", (double)stats->xruns);
  ok = ok && cJSON_AddNumberToObject(o, "max_dsp_load", (double)stats->max_load);
  ok = ok && cJSON_AddNumberToObject(o, "mean_dsp_load", mean_load);
  ok = ok && cJSON_AddNumberToObject(o, "preset_switches", (double)switches);
  ok = ok && cJSON_AddNumberToObject(o, "frames", (double)stats->frames);
  ok = ok && cJSON_AddNumberToObject(o, "seconds", seconds);
  ok = ok && cJSON_AddNumberToObject(o, "sample_rate", run->opened.rate);
  ok = ok && (run->opened.block
                ? cJSON_AddNumberToObject(o, "block", run->opened.block) != NULL
                : cJSON_AddNullToObject(o, "block") != NULL);
  ok = ok && cJSON_AddNumberToObject(o, "max_callback_frames",
                                     stats->max_frames);
  ok = ok && cJSON_AddNumberToObject(o, "channels",
                                     run->engine_config.channels);
  ok = ok && cJSON_AddStringToObject(o, "host_api", run->opened.host_api);
  ok = ok && cJSON_AddStringToObject(o, "input_device",
                                     run->opened.input_device);
  ok = ok && cJSON_AddStringToObject(o, "output_device",
                                     run->opened.output_device);
  ok = ok && cJSON_AddStringToObject(o, "backend", live ? live->backend : "");
  ok = ok && (live && live->request.is_preset
                ? cJSON_AddStringToObject(o, "preset",
                                          live->request.preset_name) != NULL
                : cJSON_AddNullToObject(o, "preset") != NULL);
  ok = ok && cJSON_AddStringToObject(o, "model",
                                     live ? live->request.path : "");
  ok = ok && cJSON_AddBoolToObject(o, "bypassed", !run->enabled);
  ok = ok && cJSON_AddNumberToObject(o, "input_peak",
                                     (double)stats->run_peak_in);
  ok = ok && cJSON_AddNumberToObject(o, "output_peak",
                                     (double)stats->run_peak_out);
  ok = ok && cJSON_AddNumberToObject(o, "commands", (double)run->commands);
  ok = ok && cJSON_AddNumberToObject(o, "refused", (double)run->refused);
  ok = ok && cJSON_AddNumberToObject(o, "load_failures",
                                     (double)run->load_failures);
  ok = ok && cJSON_AddStringToObject(o, "end", ends[run->end]);
  char* const text = ok ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (text) {
    puts(text);
    fflush(stdout);
    cJSON_free(text);
  } else {
    cli_error("out of memory writing the summary");
  }
}

/* The main loop: until quit, --seconds, a signal or an audio failure. */
static void
main_loop(Run* const run)
{
  const double deadline =
    run->options->seconds > 0.0 ? run->started + run->options->seconds : 0.0;
  double next_draw = 0.0;
  while (run->end == END_RUNNING) {
    struct pollfd fds[3];
    nfds_t        count = 0;
    fds[count++]        = (struct pollfd){signal_pipe[0], POLLIN, 0};
    fds[count++] = (struct pollfd){loader_wake_fd(run->loader), POLLIN, 0};
    if (run->stdin_open) {
      fds[count++] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
    }
    int timeout = TICK_MS;
    if (deadline > 0.0) {
      const double left = deadline - now_seconds();
      if (left < (double)TICK_MS / 1000.0) {
        timeout = left > 0.0 ? (int)ceil(left * 1000.0) : 0;
      }
    }
    const int ready = poll(fds, count, timeout);
    if (stop_signal) {
      say(run, "stopping on %s", stop_signal == SIGINT    ? "SIGINT"
                                 : stop_signal == SIGTERM ? "SIGTERM"
                                                          : "SIGHUP");
      run->end = END_SIGNAL;
      break;
    }
    if (ready > 0 && run->stdin_open && count == 3 &&
        (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      read_stdin(run);
    }
    take_load_results(run);
    take_events(run);
    if (run->end != END_RUNNING) {
      break;
    }

    const double now = now_seconds();
    if (deadline > 0.0 && now >= deadline) {
      run->end = END_SECONDS;
      break;
    }
    LiveStats stats;
    memset(&stats, 0, sizeof(stats));
    if (run->status_line && now >= next_draw) {
      live_read_stats(run->live, &stats);
      draw_status(run, &stats);
      next_draw = now + 0.1;
    } else {
      stats.callbacks = atomic_load_explicit(&run->live->callbacks,
                                             memory_order_relaxed);
    }
    if (stats.callbacks != run->last_callbacks) {
      run->last_callbacks       = stats.callbacks;
      run->last_callback_change = now;
    } else if (!audio_backend_running(run->audio)) {
      say(run, "error: the audio stream stopped by itself (the device or "
          "the JACK server went away)");
      run->end = END_ERROR;
    } else if (now - run->last_callback_change > STALL_SECONDS) {
      say(run, "error: the audio stream stopped: no callback for %.1f s "
          "(the device or the server went away?)",
          now - run->last_callback_change);
      run->end = END_ERROR;
    }
  }
}

/* Everything after the options: returns an exit status. */
static int
run_session(Run* const run, SwModel* model, const LiveModelRequest* first)
{
  const RunOptions* const options = run->options;
  char                    err[4096];
  SwModelInfo             info;
  sw_model_info(model, &info);

  run->audio = audio_backend_new("statewave", err, sizeof(err));
  if (!run->audio) {
    sw_model_free(model);
    cli_error("%s", err);
    return CLI_EXIT_FAILURE;
  }
  if (cli_verbose()) {
    fprintf(stderr, "statewave: %s\n", audio_backend_version());
  }

  const AudioOpenOptions open_options = {
    options->host_api, options->device,  options->rate,
    info.sample_rate,  options->block,   options->channels,
  };
  const AudioStatus opened = audio_backend_open(
    run->audio, &open_options, &run->opened, err, sizeof(err));
  if (cli_verbose() && audio_backend_noise(run->audio)[0]) {
    fprintf(stderr, "statewave: the audio library said:\n%s",
            audio_backend_noise(run->audio));
  }
  if (opened != AUDIO_OK) {
    sw_model_free(model);
    cli_error("%s", err);
    return CLI_EXIT_FAILURE;
  }

  run->engine_config.sample_rate = run->opened.rate;
  run->engine_config.channels    = options->channels;
  run->engine_config.max_block   = options->block ? options->block
                                                  : DEVICE_BLOCK_MAX;
  run->engine_config.backend     = options->engine.backend;

  const LiveConfig live_config = {run->opened.rate, options->channels,
                                  run->engine_config.max_block, CROSSFADE_MS,
                                  SMOOTHING_MS};
  run->live = live_state_new(&live_config, err, sizeof(err));
  if (!run->live) {
    sw_model_free(model);
    cli_error("%s", err);
    return CLI_EXIT_FAILURE;
  }
  LiveModel* const first_model =
    live_model_load(first, model, &run->engine_config, err, sizeof(err));
  if (!first_model) {
    cli_error("%s", err);
    return CLI_EXIT_FAILURE;
  }
  if (!live_state_install(run->live, first_model->engine, first_model,
                          &first_model->settings)) {
    live_model_free(first_model);
    cli_error("the processor refused the first engine");
    return CLI_EXIT_FAILURE;
  }
  run->playing = first_model;
  for (uint32_t k = 0; k < first_model->settings.num_knobs; ++k) {
    run->knobs[k] = first_model->settings.knobs[k];
  }

  run->loader = loader_new(&run->engine_config, err, sizeof(err));
  if (!run->loader) {
    cli_error("%s", err);
    return CLI_EXIT_FAILURE;
  }

  run->stdin_open  = true;
  run->raw_keys    = terminal_raw_begin();
  run->status_line = run->raw_keys && status_line_enabled();

  if (audio_backend_start(run->audio, on_audio, run->live, err,
                          sizeof(err)) != AUDIO_OK) {
    terminal_restore();
    cli_error("%s", err);
    return CLI_EXIT_FAILURE;
  }
  run->started              = now_seconds();
  run->last_callback_change = run->started;
  say_start(run, first_model);

  /* Signals reach this thread only (every other one started with them
     blocked). */
  sigset_t unblock;
  sigemptyset(&unblock);
  for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); ++i) {
    sigaddset(&unblock, stop_signals[i]);
  }
  pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);

  main_loop(run);

  audio_backend_stop(run->audio);
  run->stopped = now_seconds();
  if (run->status_line) {
    status_line_clear();
  }
  terminal_restore();
  take_events(run);
  return run->end == END_ERROR ? CLI_EXIT_FAILURE : CLI_EXIT_SUCCESS;
}

/* What an abandoned stream's callback may still be using (see
   teardown()): kept here, reachable, until the process exits. */
static LiveState* left_to_exit = NULL;

static void
teardown(Run* const run)
{
  loader_free(run->loader);
  run->loader = NULL;
  if (run->audio) {
    /* A stream that ended by itself (the server went away) was not
       stopped: its audio thread may still be inside a callback using the
       live state and its engines, and nothing says when it has left. They
       stay, like the stream, until the process exits. */
    if (audio_backend_abandoned(run->audio)) {
      left_to_exit = run->live;
      run->live    = NULL;
    }
    audio_backend_free(run->audio); /* closes the stream */
    run->audio = NULL;
  }
  if (run->live) {
    SwEngine* engine = NULL;
    void*     tag    = NULL;
    while (live_state_release(run->live, &engine, &tag)) {
      live_model_free((LiveModel*)tag);
    }
    live_state_free(run->live);
    run->live = NULL;
  }
  free(run->presets);
  run->presets = NULL;
}

int
cmd_run(int argc, char** argv)
{
  RunOptions options;
  memset(&options, 0, sizeof(options));
  options.channels = 1U;
  options.engine   = cli_engine_options_default();
  int result       = parse_options(argc, argv, &options);
  if (result) {
    return result < 0 ? CLI_EXIT_SUCCESS : result;
  }

  Run run;
  memset(&run, 0, sizeof(run));
  run.options       = &options;
  run.preset_cursor = -1;
  run.enabled       = true;
  for (uint32_t k = 0; k < SW_PROCESSOR_MAX_KNOBS; ++k) {
    run.knobs[k] = NAN;
  }

  /* The first model, before any audio device is touched. */
  LiveModelRequest first;
  if (options.preset_name) {
    Preset preset;
    char   err[4096];
    if (!preset_find(preset_dir(), options.preset_name, &preset, err,
                     sizeof(err))) {
      cli_error("--preset %s: %s", options.preset_name, err);
      return CLI_EXIT_FAILURE;
    }
    fill_preset_request(&first, &preset, "--preset");
    refresh_presets(&run);
    for (size_t i = 0; i < run.num_presets; ++i) {
      if (!strcmp(run.presets[i].id, preset.id)) {
        run.preset_cursor = (int)i;
      }
    }
  } else {
    fill_model_request(&run, &first, options.model_path, "--model");
    refresh_presets(&run);
  }
  SwModel* const model = cli_load_model(first.path);
  if (!model) {
    free(run.presets);
    return CLI_EXIT_FAILURE;
  }

  if (!install_signal_handlers()) {
    sw_model_free(model);
    free(run.presets);
    cli_error("cannot make a pipe for signals: %s", strerror(errno));
    return CLI_EXIT_FAILURE;
  }
  /* Threads started from here on (the audio library's, the loader) take
     no stop signal; the main loop unblocks them once running. */
  sigset_t old_mask;
  block_stop_signals(&old_mask);

  result = run_session(&run, model, &first);

  LiveStats stats;
  memset(&stats, 0, sizeof(stats));
  const bool ran = run.started > 0.0;
  if (run.live) {
    live_read_stats(run.live, &stats);
  }
  if (ran) {
    print_summary(&run, &stats);
  }
  teardown(&run);
  remove_signal_handlers();
  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
  return result;
}
