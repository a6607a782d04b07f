/*
  Tests of the statewave program: spawns it, checks exit statuses, stdout,
  stderr and output files, and compares its numbers with the library's own
  sw_engine_process() / sw_engine_process_frames() on the same input.

  Usage: test_cli CASE STATEWAVE SOURCE_ROOT SHARED_MODELS_DIR WORK_DIR
  Each case works in WORK_DIR/CASE. Exit 0 pass, 1 fail, 77 skip.
*/

/* posix_openpt, grantpt, unlockpt and ptsname, for the progress bar test. */
#define _XOPEN_SOURCE 700

#include <statewave/statewave.h>

#include <cjson/cJSON.h>
#include <sndfile.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

/* A NULL-terminated argument list for run_with_input() and friends. */
#define ARGS(...) ((const char* const[]){__VA_ARGS__, NULL})

#define SKIP_STATUS 77
#define MAX_ARGS 32
#define PATH_SIZE 4096

static const char* statewave_path = NULL;
static const char* source_root    = NULL;
static const char* shared_models  = NULL;
static char        work_dir[PATH_SIZE];
static unsigned    failures = 0;

/* ------------------------------------------------------------------------ */
/* Checks and paths                                                         */
/* ------------------------------------------------------------------------ */

__attribute__((format(printf, 2, 3))) static bool
check(bool ok, const char* format, ...)
{
  if (!ok) {
    va_list args;
    va_start(args, format);
    fputs("FAIL: ", stdout);
    vprintf(format, args);
    fputc('\n', stdout);
    va_end(args);
    ++failures;
  }
  return ok;
}

/** WORK_DIR/CASE/name; each call gets its own buffer, valid until exit. */
static const char*
work_path(const char* name)
{
  enum { MAX_PATHS = 256 };
  static char     buffers[MAX_PATHS][PATH_SIZE];
  static unsigned used = 0;
  if (used == MAX_PATHS) {
    fprintf(stderr, "more than %d paths in one case\n", MAX_PATHS);
    exit(1);
  }

  char* const path = buffers[used++];
  const int   size = snprintf(path, PATH_SIZE, "%s/%s", work_dir, name);
  if (size < 0 || size >= PATH_SIZE) {
    fprintf(stderr, "path too long: %s/%s\n", work_dir, name);
    exit(1);
  }
  return path;
}

static bool
make_dirs(const char* path)
{
  char copy[PATH_SIZE];
  snprintf(copy, sizeof(copy), "%s", path);
  for (char* p = copy + 1; *p; ++p) {
    if (*p == '/') {
      *p = '\0';
      if (mkdir(copy, 0755) && errno != EEXIST) {
        return false;
      }
      *p = '/';
    }
  }
  return !mkdir(copy, 0755) || errno == EEXIST;
}

static bool
write_text(const char* path, const char* text)
{
  FILE* const file = fopen(path, "wb");
  if (!file) {
    return false;
  }
  const size_t length = strlen(text);
  const bool   ok     = fwrite(text, 1, length, file) == length;
  return !fclose(file) && ok;
}

static bool
contains(const char* haystack, const char* needle)
{
  return haystack && strstr(haystack, needle);
}

static size_t
count_lines(const char* text)
{
  size_t lines = 0;
  for (const char* p = text; *p; ++p) {
    lines += (*p == '\n');
  }
  return lines;
}

/** The same float, or both NaN: what "%.9g" must round-trip. */
static bool
same_float(float a, float b)
{
  return (isnan(a) && isnan(b)) || !memcmp(&a, &b, sizeof(a));
}

/* ------------------------------------------------------------------------ */
/* Running the program                                                      */
/* ------------------------------------------------------------------------ */

typedef struct {
  int   status; /**< Exit status, or 128 + signal. */
  char* out;
  char* err;
} RunResult;

static char*
read_all(const char* path, size_t* size)
{
  FILE* const file = fopen(path, "rb");
  if (!file) {
    return NULL;
  }
  size_t capacity = 4096;
  size_t length   = 0;
  char*  data     = (char*)malloc(capacity + 1);
  while (data) {
    length += fread(data + length, 1, capacity - length, file);
    if (length < capacity) {
      break;
    }
    capacity *= 2;
    char* const bigger = (char*)realloc(data, capacity + 1);
    if (!bigger) {
      free(data);
      data = NULL;
    }
    data = bigger;
  }
  fclose(file);
  if (data) {
    data[length] = '\0';
  }
  if (size) {
    *size = length;
  }
  return data;
}

static void
run_result_free(RunResult* result)
{
  free(result->out);
  free(result->err);
  result->out = NULL;
  result->err = NULL;
}

static int
wait_status(pid_t pid)
{
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void
print_command(const char* const* args)
{
  fputs("$ statewave", stdout);
  for (size_t i = 0; args[i]; ++i) {
    printf(" %s", args[i]);
  }
  putchar('\n');
}

/**
   Runs statewave with `args` (NULL-terminated, without the program), stdin
   from `stdin_path` (NULL: /dev/null), stdout and stderr into files.
*/
static RunResult
run_with_input(const char* stdin_path, const char* const* args)
{
  static const char* out_path = NULL;
  static const char* err_path = NULL;
  if (!out_path) {
    out_path = work_path("run.stdout");
    err_path = work_path("run.stderr");
  }

  RunResult result = {-1, NULL, NULL};

  char* argv[MAX_ARGS + 2];
  argv[0]  = (char*)statewave_path;
  size_t n = 0;
  for (; args[n] && n < MAX_ARGS; ++n) {
    argv[n + 1] = (char*)args[n];
  }
  argv[n + 1] = NULL;
  print_command(args);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(
    &actions, 0, stdin_path ? stdin_path : "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(
    &actions, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(
    &actions, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

  pid_t     pid = 0;
  const int error =
    posix_spawn(&pid, statewave_path, &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (!check(!error, "cannot run %s: %s", statewave_path, strerror(error))) {
    return result;
  }

  result.status = wait_status(pid);
  result.out    = read_all(out_path, NULL);
  result.err    = read_all(err_path, NULL);
  if (!result.out || !result.err) {
    check(false, "cannot read the output of statewave");
    result.status = -1;
  }
  return result;
}

static void
show_output(const RunResult* result)
{
  printf("exit status %d\n--- stdout\n%.2000s--- stderr\n%.4000s---\n",
         result->status,
         result->out ? result->out : "",
         result->err ? result->err : "");
}

/** Runs and checks the exit status; shows the output when it differs. */
static RunResult
expect_status(int status, const char* stdin_path, const char* const* args)
{
  RunResult result = run_with_input(stdin_path, args);
  if (!check(result.status == status,
             "expected exit status %d, got %d",
             status,
             result.status)) {
    show_output(&result);
  }
  return result;
}

/** Expects `status` with `needle` in stderr; frees the result. */
static void
expect_error(int status, const char* needle, const char* const* args)
{
  RunResult result = expect_status(status, NULL, args);
  if (!check(contains(result.err, needle),
             "expected stderr to contain \"%s\"",
             needle)) {
    show_output(&result);
  }
  if (status == 2) {
    check(result.out && !result.out[0], "expected nothing on stdout");
  }
  run_result_free(&result);
}

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

/** A tiny GuitarML-format model written by the test. */
typedef struct {
  const char* unit_type; /**< "LSTM" or "GRU". */
  unsigned    input_size;
  unsigned    hidden;
  bool        skip;
  float       weight_scale; /**< 0: every weight and bias zero. */
  unsigned    outputs;      /**< 0 or 1: one output. */
  float       lin_bias;     /**< Every output's bias. */
  uint64_t    seed;
  const char* metadata; /**< Raw JSON object text, or NULL. */
} TinyModel;

static float
random_weight(uint64_t* state, float scale)
{
  // xorshift64: the same weights on every machine.
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  const double unit = (double)(*state >> 11) / 9007199254740992.0;
  return (float)((2.0 * unit - 1.0) * (double)scale);
}

static void
write_matrix(FILE*     file,
             unsigned  rows,
             unsigned  cols,
             uint64_t* state,
             float     scale)
{
  fputc('[', file);
  for (unsigned r = 0; r < rows; ++r) {
    fputs(r ? ", [" : "[", file);
    for (unsigned c = 0; c < cols; ++c) {
      fprintf(file, c ? ", %.9g" : "%.9g", (double)random_weight(state, scale));
    }
    fputc(']', file);
  }
  fputc(']', file);
}

static void
write_vector(FILE* file, unsigned size, uint64_t* state, float scale)
{
  fputc('[', file);
  for (unsigned i = 0; i < size; ++i) {
    fprintf(file, i ? ", %.9g" : "%.9g", (double)random_weight(state, scale));
  }
  fputc(']', file);
}

static bool
write_model(const char* path, const TinyModel* model)
{
  FILE* const file = fopen(path, "w");
  if (!check(file != NULL, "cannot write %s", path)) {
    return false;
  }

  const unsigned gates   = strcmp(model->unit_type, "GRU") ? 4U : 3U;
  const unsigned outputs = model->outputs ? model->outputs : 1U;
  const unsigned rows    = gates * model->hidden;
  uint64_t       state   = model->seed | 1U;
  const float    scale   = model->weight_scale;

  fprintf(file,
          "{\"model_data\": {\"model\": \"SimpleRNN\", \"input_size\": %u, "
          "\"skip\": %d, \"output_size\": %u, \"unit_type\": \"%s\", "
          "\"num_layers\": 1, \"hidden_size\": %u, \"bias_fl\": true},\n"
          " \"state_dict\": {\n  \"rec.weight_ih_l0\": ",
          model->input_size,
          model->skip ? 1 : 0,
          outputs,
          model->unit_type,
          model->hidden);
  write_matrix(file, rows, model->input_size, &state, scale);
  fputs(",\n  \"rec.weight_hh_l0\": ", file);
  write_matrix(file, rows, model->hidden, &state, scale);
  fputs(",\n  \"rec.bias_ih_l0\": ", file);
  write_vector(file, rows, &state, scale);
  fputs(",\n  \"rec.bias_hh_l0\": ", file);
  write_vector(file, rows, &state, scale);
  fputs(",\n  \"lin.weight\": ", file);
  write_matrix(file, outputs, model->hidden, &state, scale);
  fputs(",\n  \"lin.bias\": [", file);
  for (unsigned o = 0; o < outputs; ++o) {
    fprintf(file, o ? ", %.9g" : "%.9g", (double)model->lin_bias);
  }
  fputs("]}", file);
  if (model->metadata) {
    fprintf(file, ",\n \"metadata\": %s", model->metadata);
  }
  fputs("}\n", file);
  return check(!fclose(file), "cannot write %s", path);
}

/* Models most cases use. */

static const char*
knob_model(void)
{
  static const TinyModel model = {
    .unit_type    = "LSTM",
    .input_size   = 2,
    .hidden       = 5,
    .skip         = true,
    .weight_scale = 0.6f,
    .lin_bias     = 0.01f,
    .seed         = 42,
    .metadata     = "{\"name\": \"tiny test drive\", \"samplerate\": 48000, "
                    "\"knobs\": [{\"name\": \"drive\", \"min\": 0, \"max\": 1, "
                    "\"default\": 0.5}]}"};
  const char* const path = work_path("knob_model.json");
  write_model(path, &model);
  return path;
}

static const char*
plain_model(void)
{
  static const TinyModel model = {.unit_type    = "GRU",
                                  .input_size   = 1,
                                  .hidden       = 4,
                                  .weight_scale = 0.8f,
                                  .lin_bias     = -0.02f,
                                  .seed         = 7};
  const char* const      path  = work_path("plain_model.json");
  write_model(path, &model);
  return path;
}

/** GRU with 3 inputs (2 unnamed knobs) and 3 outputs. */
static const char*
wide_model(void)
{
  static const TinyModel model = {.unit_type    = "GRU",
                                  .input_size   = 3,
                                  .hidden       = 6,
                                  .outputs      = 3,
                                  .weight_scale = 0.7f,
                                  .lin_bias     = 0.1f,
                                  .seed         = 1234};
  const char* const      path  = work_path("wide_model.json");
  write_model(path, &model);
  return path;
}

/** Skip model with zero weights: y = x + 0.5 exactly. */
static const char*
offset_model(void)
{
  static const TinyModel model = {.unit_type  = "LSTM",
                                  .input_size = 1,
                                  .hidden     = 2,
                                  .skip       = true,
                                  .lin_bias   = 0.5f,
                                  .seed       = 1};
  const char* const      path  = work_path("offset_model.json");
  write_model(path, &model);
  return path;
}

static SwModel*
load_model(const char* path)
{
  SwError  err   = {SW_SUCCESS, ""};
  SwModel* model = sw_model_load(path, &err);
  check(model != NULL, "the library cannot load %s: %s", path, err.message);
  return model;
}

/* ------------------------------------------------------------------------ */
/* Audio files                                                              */
/* ------------------------------------------------------------------------ */

static float
test_signal(sf_count_t frame, int channel)
{
  const double t = (double)frame / 48000.0;
  return (float)(0.6 * sin(2.0 * M_PI * (220.0 + 110.0 * channel) * t) +
                 0.05 * sin(2.0 * M_PI * 3000.0 * t));
}

static bool
write_wav(const char* path,
          int         format,
          int         channels,
          sf_count_t  frames,
          float       value)
{
  SF_INFO info        = {0};
  info.samplerate     = 48000;
  info.channels       = channels;
  info.format         = format;
  SNDFILE* const file = sf_open(path, SFM_WRITE, &info);
  if (!check(file != NULL, "cannot write %s: %s", path, sf_strerror(NULL))) {
    return false;
  }

  bool ok = true;
  for (sf_count_t f = 0; f < frames && ok; ++f) {
    float frame[8];
    for (int c = 0; c < channels; ++c) {
      frame[c] = isnan(value) ? test_signal(f, c) : value;
    }
    ok = sf_writef_float(file, frame, 1) == 1;
  }
  return check(!sf_close(file) && ok, "cannot write %s", path);
}

/** The whole file as interleaved floats; NULL on failure. */
static float*
read_wav(const char* path, SF_INFO* info)
{
  memset(info, 0, sizeof(*info));
  SNDFILE* const file = sf_open(path, SFM_READ, info);
  if (!check(file != NULL, "cannot read %s: %s", path, sf_strerror(NULL))) {
    return NULL;
  }
  float* const data =
    (float*)calloc((size_t)(info->frames * info->channels) + 1, sizeof(float));
  if (data && sf_readf_float(file, data, info->frames) != info->frames) {
    check(false, "short read from %s", path);
    free(data);
    sf_close(file);
    return NULL;
  }
  sf_close(file);
  return data;
}

/* ------------------------------------------------------------------------ */
/* Cases                                                                    */
/* ------------------------------------------------------------------------ */

static void
test_help(void)
{
  static const char* const top_level[][2] = {
    {"--help", NULL}, {"-h", NULL}, {"help", NULL}};
  for (size_t i = 0; i < 3; ++i) {
    RunResult result = expect_status(0, NULL, top_level[i]);
    check(contains(result.out, "process") && contains(result.out, "stream") &&
            contains(result.out, "info") && contains(result.out, "backends") &&
            contains(result.out, "bench") && contains(result.out, "Usage:"),
          "%s lists the commands on stdout",
          top_level[i][0]);
    check(!result.err || !result.err[0],
          "%s prints nothing on stderr",
          top_level[i][0]);
    run_result_free(&result);
  }

  static const char* const version[] = {"--version", NULL};
  RunResult                result    = expect_status(0, NULL, version);
  check(
    contains(result.out, sw_version()), "--version prints %s", sw_version());
  run_result_free(&result);

  static const char* const commands[] = {
    "process", "stream", "info", "convert", "backends", "bench"};
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); ++i) {
    char usage[64];
    snprintf(usage, sizeof(usage), "Usage: statewave %s", commands[i]);

    const char* const help[] = {commands[i], "--help", NULL};
    result                   = expect_status(0, NULL, help);
    check(
      contains(result.out, usage), "%s --help prints its usage", commands[i]);
    run_result_free(&result);

    const char* const help_command[] = {"help", commands[i], NULL};
    result                           = expect_status(0, NULL, help_command);
    check(contains(result.out, usage), "help %s prints its usage", commands[i]);
    run_result_free(&result);
  }

  // The engine options, where an engine runs.
  static const char* const engine_commands[] = {"process", "stream", "bench"};
  for (size_t i = 0; i < 3; ++i) {
    const char* const help[] = {engine_commands[i], "--help", NULL};
    result                   = expect_status(0, NULL, help);
    check(contains(result.out, "--backend NAME") &&
            contains(result.out, "auto, cpu, cpu-ref, cudnn or fused") &&
            contains(result.out, "--pipelined"),
          "%s --help has --backend and --pipelined",
          engine_commands[i]);
    run_result_free(&result);
  }
}

static void
test_usage_errors(void)
{
  const char* const model = knob_model();
  const char* const plain = plain_model();
  const char* const in    = work_path("in.wav");
  const char* const out   = work_path("out.wav");
  write_wav(in, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, 100, NAN);

  static const char* const none[] = {NULL};
  expect_error(2, "missing command", none);
  expect_error(2, "frobnicate", ARGS("frobnicate"));
  expect_error(2, "--frobnicate", ARGS("--frobnicate"));
  expect_error(2, "nosuch", ARGS("help", "nosuch"));

  // process
  expect_error(2, "--model", ARGS("process", in, out));
  expect_error(2, "missing IN and OUT", ARGS("process", "--model", model));
  expect_error(2, "missing OUT", ARGS("process", "-m", model, in));
  expect_error(2, "'extra'", ARGS("process", "-m", model, in, out, "extra"));
  expect_error(2, "needs a value", ARGS("process", in, out, "--model"));
  expect_error(2, "--bogus", ARGS("process", "--bogus", "-m", model, in, out));
  expect_error(2, "-q", ARGS("process", "-q", "-m", model, in, out));
  static const char* const bad_blocks[] = {
    "0", "65537", "abc", "-5", "12x", "", "99999999999999999999"};
  for (size_t i = 0; i < sizeof(bad_blocks) / sizeof(bad_blocks[0]); ++i) {
    expect_error(
      2,
      "1..65536",
      ARGS("process", "-m", model, "--block", bad_blocks[i], in, out));
  }
  expect_error(
    2, "--subtype", ARGS("process", "-m", model, "--subtype", "mp3", in, out));
  expect_error(
    2, "vorbis", ARGS("process", "-m", model, "--subtype", "vorbis", in, out));
  expect_error(
    2, "1=abc", ARGS("process", "-m", model, "--param", "1=abc", in, out));
  expect_error(2,
               "expected I=V",
               ARGS("process", "-m", model, "--param", "drive", in, out));
  expect_error(
    2, "=0.5", ARGS("process", "-m", model, "--param", "=0.5", in, out));
  expect_error(
    2, "'2'", ARGS("process", "-m", model, "--param", "2=0.5", in, out));
  expect_error(
    2, "'0'", ARGS("process", "-m", model, "--param", "0=0.5", in, out));
  expect_error(
    2, "'tone'", ARGS("process", "-m", model, "-p", "tone=0.5", in, out));
  expect_error(
    2, "no knobs", ARGS("process", "-m", plain, "-p", "1=0.5", in, out));
  expect_error(2, "same file", ARGS("process", "-m", model, in, in));

  // stream
  expect_error(2, "--model", ARGS("stream"));
  expect_error(2, "'extra'", ARGS("stream", "--model", model, "extra"));
  expect_error(2, "1..65536", ARGS("stream", "--model", model, "--block", "0"));
  expect_error(2, "--json", ARGS("stream", "--model", model, "--json"));

  // info
  expect_error(2, "missing FILE", ARGS("info"));
  expect_error(2, "unexpected argument", ARGS("info", model, model));
  expect_error(2, "takes no value", ARGS("info", "--json=yes", model));
  expect_error(2, "-x", ARGS("info", "-x", model));

  // The bad output must not have been written by any of these.
  check(access(out, F_OK) != 0, "no output file after usage errors");
}

static void
test_bad_files(void)
{
  const char* const model   = knob_model();
  const char* const missing = work_path("no-such-model.json");
  const char* const text    = work_path("not-a-model.txt");
  const char* const empty   = work_path("empty.json");
  const char* const broken  = work_path("broken.json");
  const char* const no_dict = work_path("no_state_dict.json");
  const char* const in      = work_path("in.wav");
  const char* const out     = work_path("out.wav");
  write_text(text, "hello, this is not a model\n");
  write_text(empty, "");
  write_text(broken, "{\"model_data\": {\"unit_type\": \"LSTM\",");
  write_text(no_dict,
             "{\"model_data\": {\"model\": \"SimpleRNN\", \"input_size\": 1, "
             "\"skip\": 0, \"output_size\": 1, \"unit_type\": \"LSTM\", "
             "\"num_layers\": 1, \"hidden_size\": 2, \"bias_fl\": true}}\n");
  write_wav(in, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, 100, NAN);

  const char* const bad_models[] = {missing, text, empty, broken, no_dict};
  for (size_t i = 0; i < sizeof(bad_models) / sizeof(bad_models[0]); ++i) {
    const char* const path = bad_models[i];
    expect_error(1, path, ARGS("info", path));
    expect_error(1, path, ARGS("info", "--json", path));
    expect_error(1, path, ARGS("stream", "--model", path));
    expect_error(1, path, ARGS("process", "--model", path, in, out));
  }

  // Audio files that are missing, not audio, or cannot be written.
  const char* const no_audio = work_path("no-such-input.wav");
  expect_error(1, no_audio, ARGS("process", "-m", model, no_audio, out));
  expect_error(1, text, ARGS("process", "-m", model, text, out));
  const char* const bad_out = work_path("no-such-dir/out.wav");
  expect_error(1, bad_out, ARGS("process", "-m", model, in, bad_out));
  check(access(out, F_OK) != 0, "no output file after failures");
}

static void
test_info_text(void)
{
  const char* const        model      = knob_model();
  const char* const        args[]     = {"info", model, NULL};
  RunResult                result     = expect_status(0, NULL, args);
  static const char* const expected[] = {"format:",
                                         "input width:   2",
                                         "drive",
                                         "output width:  1",
                                         "LSTM",
                                         "Dense",
                                         "skip:          yes",
                                         "sample rate:   48000 Hz",
                                         "state size:    10 floats",
                                         "tiny test drive",
                                         "reset"};
  for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); ++i) {
    const bool want = strcmp(expected[i], "reset") != 0; // LSTM: no GRU reset.
    if (!check(contains(result.out, expected[i]) == want,
               "info %s \"%s\"",
               want ? "shows" : "does not show",
               expected[i])) {
      show_output(&result);
    }
  }
  check(contains(result.out, model), "info shows the path");
  run_result_free(&result);

  const char* const plain        = plain_model();
  const char* const plain_args[] = {"info", plain, NULL};
  result                         = expect_status(0, NULL, plain_args);
  check(contains(result.out, "GRU") && contains(result.out, "reset after"),
        "info shows a GRU layer and its reset variant");
  check(contains(result.out, "0 knobs"), "info says the GRU model has 0 knobs");
  run_result_free(&result);
}

static double
json_number(const cJSON* object, const char* key)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(object, key);
  check(cJSON_IsNumber(item), "JSON has number \"%s\"", key);
  return cJSON_IsNumber(item) ? item->valuedouble : -1.0;
}

static const char*
json_string(const cJSON* object, const char* key)
{
  const cJSON* const item = cJSON_GetObjectItemCaseSensitive(object, key);
  check(cJSON_IsString(item), "JSON has string \"%s\"", key);
  return cJSON_IsString(item) ? item->valuestring : "";
}

/** Checks `info --json` of `path` against the library's own description. */
static void
check_info_json(const char* path, size_t expected_params)
{
  const char* const args[] = {"info", "--json", path, NULL};
  RunResult         result = expect_status(0, NULL, args);
  cJSON* const      root   = cJSON_Parse(result.out ? result.out : "");
  SwModel* const    model  = load_model(path);
  if (!check(cJSON_IsObject(root), "info --json prints one JSON object") ||
      !model) {
    show_output(&result);
    goto done;
  }

  SwModelInfo info;
  sw_model_info(model, &info);
  check(!strcmp(json_string(root, "format"), info.format), "format");
  check(contains(json_string(root, "path"), path), "path");
  check(json_number(root, "input_width") == info.input_width, "input_width");
  check(json_number(root, "output_width") == info.output_width, "output_width");
  check(json_number(root, "params") == (double)info.num_params, "params");
  if (expected_params) {
    check(info.num_params == expected_params,
          "%s has %zu params; expected %zu (PyTorch counts both biases)",
          path,
          info.num_params,
          expected_params);
  }
  check(json_number(root, "state_size") == (double)info.state_size,
        "state_size");
  check(json_number(root, "input_gain_db") == (double)info.input_gain_db,
        "input_gain_db");
  check(json_number(root, "output_gain_db") == (double)info.output_gain_db,
        "output_gain_db");
  check(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(root, "skip")) &&
          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "skip")) ==
            info.skip,
        "skip");

  const cJSON* const rate =
    cJSON_GetObjectItemCaseSensitive(root, "sample_rate");
  check(info.sample_rate > 0.0
          ? (cJSON_IsNumber(rate) && rate->valuedouble == info.sample_rate)
          : cJSON_IsNull(rate),
        "sample_rate is the model's, or null when unknown");

  const cJSON* const knobs = cJSON_GetObjectItemCaseSensitive(root, "knobs");
  check(cJSON_IsArray(knobs) &&
          (uint32_t)cJSON_GetArraySize(knobs) == info.num_knobs,
        "knobs has one entry per knob");
  for (uint32_t k = 0; k < info.num_knobs && cJSON_IsArray(knobs); ++k) {
    const cJSON* const item = cJSON_GetArrayItem(knobs, (int)k);
    SwKnobSpec         knob;
    sw_model_knob(model, k, &knob);
    check(json_number(item, "index") == k + 1.0, "knob index");
    check(json_number(item, "min") == (double)knob.min, "knob min");
    check(json_number(item, "max") == (double)knob.max, "knob max");
    check(json_number(item, "default") == (double)knob.default_value,
          "knob default");
    const cJSON* const name = cJSON_GetObjectItemCaseSensitive(item, "name");
    check(knob.name
            ? (cJSON_IsString(name) && !strcmp(name->valuestring, knob.name))
            : cJSON_IsNull(name),
          "knob name");
  }

  const cJSON* const layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
  check(cJSON_IsArray(layers) &&
          (uint32_t)cJSON_GetArraySize(layers) == info.num_layers,
        "layers has one entry per layer");
  double layer_params = 0.0;
  for (uint32_t l = 0; l < info.num_layers && cJSON_IsArray(layers); ++l) {
    const cJSON* const item = cJSON_GetArrayItem(layers, (int)l);
    SwLayerInfo        layer;
    sw_model_layer(model, l, &layer);
    static const char* const types[] = {"LSTM", "GRU", "SimpleRNN", "Dense"};
    check(!strcmp(json_string(item, "type"), types[layer.type]),
          "layer %u type",
          l);
    check(json_number(item, "input_width") == layer.input_width,
          "layer %u input_width",
          l);
    check(json_number(item, "units") == layer.units, "layer %u units", l);
    check(json_number(item, "state_size") == (double)layer.state_size,
          "layer %u state_size",
          l);
    check(!strcmp(json_string(item, "activation"),
                  sw_activation_name(layer.activation)),
          "layer %u activation",
          l);
    const bool gated =
      layer.type == SW_LAYER_LSTM || layer.type == SW_LAYER_GRU;
    check((cJSON_GetObjectItemCaseSensitive(item, "recurrent_activation") !=
           NULL) == gated,
          "layer %u recurrent_activation only for LSTM and GRU",
          l);
    check((cJSON_GetObjectItemCaseSensitive(item, "gru_reset") != NULL) ==
            (layer.type == SW_LAYER_GRU),
          "layer %u gru_reset only for GRU",
          l);
    layer_params += json_number(item, "params");
  }
  check(layer_params == (double)info.num_params,
        "the layers' params (%g) add up to the model's (%zu)",
        layer_params,
        info.num_params);

  const cJSON* const metadata =
    cJSON_GetObjectItemCaseSensitive(root, "metadata");
  check(cJSON_IsObject(metadata) &&
          (uint32_t)cJSON_GetArraySize(metadata) <= info.num_metadata,
        "metadata is an object of the model's entries");
  for (uint32_t m = 0; m < info.num_metadata && cJSON_IsObject(metadata); ++m) {
    SwMetaEntry entry;
    sw_model_metadata(model, m, &entry);
    const cJSON* const value =
      cJSON_GetObjectItemCaseSensitive(metadata, entry.key);
    check(cJSON_IsString(value), "metadata \"%s\" is there", entry.key);
  }

done:
  cJSON_Delete(root);
  sw_model_free(model);
  run_result_free(&result);
}

static void
test_info_json(void)
{
  // LSTM, 2 inputs, 5 units: 4*5*2 + 4*5*5 + 2*4*5, then Dense 5 + 1.
  const char* const knobbed = knob_model();
  check_info_json(knobbed, 40 + 100 + 40 + 6);
  // GRU, 1 input, 4 units: 3*4*1 + 3*4*4 + 2*3*4, then Dense 4 + 1.
  check_info_json(plain_model(), 12 + 48 + 24 + 5);
  // GRU, 3 inputs, 6 units: 3*6*3 + 3*6*6 + 2*3*6, then Dense 6 -> 3: 18 + 3.
  check_info_json(wide_model(), 54 + 108 + 36 + 21);

  // Fields the test model sets itself.
  const char* const  args[] = {"info", "--json", knobbed, NULL};
  RunResult          result = expect_status(0, NULL, args);
  cJSON* const       root   = cJSON_Parse(result.out ? result.out : "");
  const cJSON* const meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
  const cJSON* const name = cJSON_GetObjectItemCaseSensitive(meta, "name");
  check(cJSON_IsString(name) && !strcmp(name->valuestring, "tiny test drive"),
        "metadata.name is the file's");
  check(json_number(root, "sample_rate") == 48000.0,
        "sample_rate is the file's");
  const cJSON* const knob =
    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "knobs"), 0);
  check(!strcmp(json_string(knob, "name"), "drive"), "knob 1 is named drive");
  check(json_number(knob, "default") == 0.5, "knob 1 defaults to 0.5");
  cJSON_Delete(root);
  run_result_free(&result);
}

/* stream ------------------------------------------------------------------ */

/** Parses CSV `text` of `width` numbers a line; returns the frame count. */
static size_t
parse_csv(const char* text, uint32_t width, float* values, size_t max_frames)
{
  size_t      frames = 0;
  const char* line   = text;
  while (*line && frames < max_frames) {
    const char* const end = strchr(line, '\n');
    if (!check(
          end != NULL, "output line %zu ends with a newline", frames + 1)) {
      break;
    }
    const char* p = line;
    for (uint32_t c = 0; c < width; ++c) {
      char* number_end           = NULL;
      values[frames * width + c] = strtof(p, &number_end);
      const char expected        = (c + 1 < width) ? ',' : '\n';
      if (!check(number_end != p && *number_end == expected,
                 "output line %zu has %u comma-separated numbers: %.*s",
                 frames + 1,
                 width,
                 (int)(end - line),
                 line)) {
        return frames;
      }
      p = number_end + 1;
    }
    ++frames;
    line = end + 1;
  }
  return frames;
}

/**
   Runs `stream` on `csv_path` with several block sizes and checks every
   output line against sw_engine_process_frames() on `in` [frames][width].
*/
static void
check_stream(const char*  model_path,
             const char*  csv_path,
             const float* in,
             size_t       frames)
{
  SwModel* const model = load_model(model_path);
  if (!model) {
    return;
  }
  SwModelInfo info;
  sw_model_info(model, &info);
  const size_t outputs = frames * info.output_width;

  // The library's answer for the same frames, in one call.
  SwEngineConfig config    = sw_engine_config_default();
  config.max_block         = (uint32_t)frames;
  config.knob_smoothing_ms = 0.0f;
  SwError         err      = {SW_SUCCESS, ""};
  SwEngine* const engine   = sw_engine_new(model, &config, &err);
  float* const    expected = (float*)calloc(outputs, sizeof(float));
  float* const    actual   = (float*)calloc(outputs, sizeof(float));
  if (!check(engine && expected && actual, "engine: %s", err.message)) {
    goto done;
  }
  check(sw_engine_process_frames(engine, in, expected, (uint32_t)frames) ==
          SW_SUCCESS,
        "sw_engine_process_frames");

  static const char* const blocks[] = {"1", "7", "64", "65536"};
  for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); ++b) {
    RunResult result = expect_status(
      0, csv_path, ARGS("stream", "--model", model_path, "--block", blocks[b]));
    const char* const text = result.out ? result.out : "";
    check(count_lines(text) == frames,
          "--block %s: %zu output lines for %zu frames",
          blocks[b],
          count_lines(text),
          frames);
    const size_t got    = parse_csv(text, info.output_width, actual, frames);
    size_t       differ = 0;
    for (size_t i = 0; i < got * info.output_width; ++i) {
      if (!same_float(actual[i], expected[i]) && differ++ < 5) {
        printf("frame %zu column %zu: statewave %.9g, library %.9g\n",
               i / info.output_width,
               i % info.output_width,
               (double)actual[i],
               (double)expected[i]);
      }
    }
    check(differ == 0,
          "--block %s: %zu numbers differ from the library's",
          blocks[b],
          differ);

    // A NaN in the state resets it; say so when the library counted one.
    check((sw_engine_nonfinite_resets(engine) > 0) ==
            contains(result.err, "non-finite"),
          "stream warns about non-finite resets exactly when there are some");
    run_result_free(&result);
  }

done:
  sw_engine_free(engine);
  sw_model_free(model);
  free(expected);
  free(actual);
}

static void
test_stream_values(void)
{
  // Input lines with every accepted form; the knob column moves too.
  enum { RANDOM_FRAMES = 300, MAX_FRAMES = 400 };
  float* const      in = (float*)calloc((size_t)MAX_FRAMES * 2, sizeof(float));
  size_t            frames   = 0;
  const char* const csv_path = work_path("in.csv");
  FILE* const       csv      = fopen(csv_path, "w");
  if (!check(csv && in, "cannot write in.csv")) {
    free(in);
    return;
  }

  fputs("# audio, drive\n\n   \n", csv);
  const char* const special_lines[]     = {"  0.5 , 0.25 ",
                                           "\t-0.125,\t1",
                                           "1e-3,0.5\r",
                                           "NaN,0.5",
                                           "0.25,0.5",
                                           "INF,0",
                                           "0.1,0.5",
                                           "-inf,0",
                                           "0.2,0.75",
                                           "nan,nan",
                                           "-0.3,0.5"};
  const float       special_values[][2] = {{0.5f, 0.25f},
                                           {-0.125f, 1.0f},
                                           {1e-3f, 0.5f},
                                           {NAN, 0.5f},
                                           {0.25f, 0.5f},
                                           {INFINITY, 0.0f},
                                           {0.1f, 0.5f},
                                           {-INFINITY, 0.0f},
                                           {0.2f, 0.75f},
                                           {NAN, NAN},
                                           {-0.3f, 0.5f}};
  for (size_t i = 0; i < sizeof(special_lines) / sizeof(special_lines[0]);
       ++i) {
    fprintf(csv, "%s\n", special_lines[i]);
    in[frames * 2]     = special_values[i][0];
    in[frames * 2 + 1] = special_values[i][1];
    ++frames;
    if (i == 4) {
      fputs("# a comment between frames\n", csv);
    }
  }
  uint64_t state = 99;
  for (size_t i = 0; i < RANDOM_FRAMES; ++i) {
    in[frames * 2]     = random_weight(&state, 1.0f);
    in[frames * 2 + 1] = 0.5f + 0.5f * random_weight(&state, 1.0f);
    // The last line has no newline: it must still count.
    fprintf(csv,
            (i + 1 < RANDOM_FRAMES) ? "%.9g,%.9g\n" : "%.9g,%.9g",
            (double)in[frames * 2],
            (double)in[frames * 2 + 1]);
    ++frames;
  }
  fclose(csv);

  check_stream(knob_model(), csv_path, in, frames);
  free(in);

  // An empty input is no frames and no error.
  const char* const empty = work_path("empty.csv");
  write_text(empty, "");
  RunResult result =
    expect_status(0, empty, ARGS("stream", "-m", knob_model()));
  check(result.out && !result.out[0], "empty stdin gives empty stdout");
  run_result_free(&result);
}

static void
test_stream_wide(void)
{
  // 3 columns in, 3 out; the values are what strtof makes of the text.
  enum { FRAMES = 200, WIDTH = 3 };
  float             in[FRAMES * WIDTH];
  const char* const csv_path = work_path("wide.csv");
  FILE* const       csv      = fopen(csv_path, "w");
  if (!check(csv != NULL, "cannot write %s", csv_path)) {
    return;
  }
  uint64_t state = 5;
  for (size_t f = 0; f < FRAMES; ++f) {
    for (size_t c = 0; c < WIDTH; ++c) {
      char number[32];
      snprintf(number,
               sizeof(number),
               "%.17g",
               2.0 * (double)random_weight(&state, 1.0f) / 3.0);
      in[f * WIDTH + c] = strtof(number, NULL);
      fprintf(csv, c ? " ,%s" : "%s", number);
    }
    fputc('\n', csv);
  }
  fclose(csv);

  check_stream(wide_model(), csv_path, in, FRAMES);
}

static void
expect_stream_error(const char* model,
                    const char* input,
                    const char* needle,
                    size_t      lines_before)
{
  const char* const path = work_path("bad.csv");
  write_text(path, input);
  const char* const args[] = {
    "stream", "--model", model, "--block", "64", NULL};
  RunResult result = expect_status(1, path, args);
  if (!check(contains(result.err, needle), "stderr names \"%s\"", needle)) {
    show_output(&result);
  }
  check(count_lines(result.out ? result.out : "") == lines_before,
        "the %zu frames before the bad line are written",
        lines_before);
  run_result_free(&result);
}

static void
test_stream_errors(void)
{
  const char* const model = knob_model();
  expect_stream_error(
    model,
    "0.1,0.2\n0.3,abc\n0.5,0.5\n",
    "stdin line 2: expected 2 comma-separated numbers, found \"abc\"",
    1);
  expect_stream_error(
    model,
    "0.1\n",
    "stdin line 1: expected 2 comma-separated numbers, found 1",
    0);
  expect_stream_error(
    model,
    "# c\n\n0.1,0.2,0.3\n",
    "stdin line 3: expected 2 comma-separated numbers, found 3",
    0);
  expect_stream_error(model, "0.1,0.2\n0.1,0.2\n0.1,\n", "stdin line 3", 2);
  expect_stream_error(model, "0.1,0.2\n0.1 0.2\n", "stdin line 2", 1);
  expect_stream_error(model, "0.1,0.2\n,0.2\n", "stdin line 2", 1);
  expect_stream_error(model, "0.1,0.2\n0.4,0.2x", "stdin line 2", 1);
}

/** Reads one line from `fd` into `line` within `timeout_ms`; false on timeout.
 */
static bool
read_line_within(int fd, char* line, size_t size, int timeout_ms)
{
  size_t length = 0;
  while (length + 1 < size) {
    struct pollfd poll_fd = {fd, POLLIN, 0};
    if (poll(&poll_fd, 1, timeout_ms) <= 0) {
      return false;
    }
    const ssize_t got = read(fd, line + length, 1);
    if (got <= 0) {
      return false;
    }
    if (line[length++] == '\n') {
      break;
    }
  }
  line[length] = '\0';
  return length > 0 && line[length - 1] == '\n';
}

static void
test_stream_live(void)
{
  const char* const model = knob_model();
  int               to_child[2];
  int               from_child[2];
  if (!check(
        !pipe(to_child) && !pipe(from_child), "pipe: %s", strerror(errno))) {
    return;
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
  posix_spawn_file_actions_addclose(&actions, to_child[1]);
  posix_spawn_file_actions_addclose(&actions, from_child[0]);

  char* const argv[] = {(char*)statewave_path,
                        "stream",
                        "--model",
                        (char*)model,
                        "--block",
                        "64",
                        NULL};
  print_command((const char* const*)argv + 1);
  pid_t     pid = 0;
  const int error =
    posix_spawn(&pid, statewave_path, &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(to_child[0]);
  close(from_child[1]);
  if (!check(!error, "cannot run statewave: %s", strerror(error))) {
    close(to_child[1]);
    close(from_child[0]);
    return;
  }

  // Each answer must come back while stdin is still open: a block of 64 is
  // never waited for.
  static const char* const lines[] = {
    "0.5,0.5\n", "-0.25,0.1\n# skip\n", "0.125,0.9\n"};
  bool live = true;
  for (size_t i = 0; i < 3 && live; ++i) {
    const size_t length = strlen(lines[i]);
    live = check(write(to_child[1], lines[i], length) == (ssize_t)length,
                 "write to stream");
    char answer[256];
    live = live &&
           check(read_line_within(from_child[0], answer, sizeof(answer), 10000),
                 "stream answers line %zu within 10 s while stdin is open",
                 i + 1);
    if (live) {
      printf("live answer %zu: %s", i + 1, answer);
    }
  }

  close(to_child[1]);
  if (!live) {
    kill(pid, SIGKILL); // Our own child, stuck.
  }
  char rest[64];
  check(!live || read(from_child[0], rest, sizeof(rest)) == 0,
        "no more output after EOF");
  close(from_child[0]);
  const int status = wait_status(pid);
  check(!live || status == 0, "stream exits 0 at EOF, got %d", status);
}

/* process ----------------------------------------------------------------- */

/** Runs `args`, expecting success, and reads the file written. */
static float*
process_to(const char* const* args, const char* out, SF_INFO* info)
{
  RunResult result = expect_status(0, NULL, args);
  run_result_free(&result);
  return read_wav(out, info);
}

static void
test_process_values(void)
{
  const char* const model_path = knob_model();
  const char* const in         = work_path("in.wav");
  const char* const out        = work_path("out.wav");
  enum { FRAMES = 3000, CHANNELS = 2 };
  write_wav(in, SF_FORMAT_WAV | SF_FORMAT_FLOAT, CHANNELS, FRAMES, NAN);

  SwModel* const model = load_model(model_path);
  SF_INFO        in_info;
  float* const   input = read_wav(in, &in_info);
  float* const   expected =
    (float*)calloc((size_t)FRAMES * CHANNELS, sizeof(float));
  float* planar = (float*)calloc((size_t)FRAMES * CHANNELS, sizeof(float));
  if (!model || !input || !expected || !planar) {
    goto done;
  }

  // The library's answer: one stream per channel, knob 1 at 0.25.
  for (size_t f = 0; f < FRAMES; ++f) {
    for (size_t c = 0; c < CHANNELS; ++c) {
      planar[c * FRAMES + f] = input[f * CHANNELS + c];
    }
  }
  SwEngineConfig config    = sw_engine_config_default();
  config.sample_rate       = 48000.0;
  config.streams           = CHANNELS;
  config.max_block         = FRAMES;
  config.knob_smoothing_ms = 0.0f;
  SwError         err      = {SW_SUCCESS, ""};
  SwEngine* const engine   = sw_engine_new(model, &config, &err);
  if (!check(engine != NULL, "engine: %s", err.message)) {
    goto done;
  }
  const float* ins[CHANNELS];
  float*       outs[CHANNELS];
  for (size_t c = 0; c < CHANNELS; ++c) {
    ins[c]  = planar + c * FRAMES;
    outs[c] = planar + c * FRAMES;
  }
  sw_engine_set_knob(engine, 0, 0.25f);
  check(sw_engine_process(engine, ins, outs, FRAMES) == SW_SUCCESS,
        "sw_engine_process");
  sw_engine_free(engine);
  for (size_t f = 0; f < FRAMES; ++f) {
    for (size_t c = 0; c < CHANNELS; ++c) {
      expected[f * CHANNELS + c] = planar[c * FRAMES + f];
    }
  }

  // The knob by index and by name, in blocks that split the file unevenly.
  static const char* const variants[][4] = {
    {"--block", "17", "--param", "1=0.25"},
    {"--block", "512", "--param", "drive=0.25"},
    {"-b", "1", "-p", "DRIVE=0.25"},
  };
  for (size_t v = 0; v < 3; ++v) {
    remove(out);
    const char* const args[] = {"process",
                                "--model",
                                model_path,
                                variants[v][0],
                                variants[v][1],
                                variants[v][2],
                                variants[v][3],
                                in,
                                out,
                                NULL};
    SF_INFO           out_info;
    float* const      output = process_to(args, out, &out_info);
    if (!output) {
      continue;
    }
    check(out_info.frames == FRAMES && out_info.channels == CHANNELS &&
            out_info.samplerate == 48000 &&
            out_info.format == (SF_FORMAT_WAV | SF_FORMAT_FLOAT),
          "out.wav is a 2-channel 48 kHz float WAV of %d frames",
          FRAMES);
    size_t differ = 0;
    for (size_t i = 0;
         i < (size_t)FRAMES * CHANNELS && out_info.frames == FRAMES;
         ++i) {
      if (!same_float(output[i], expected[i]) && differ++ < 5) {
        printf("sample %zu: statewave %.9g, library %.9g\n",
               i,
               (double)output[i],
               (double)expected[i]);
      }
    }
    check(differ == 0,
          "%s %s: %zu samples differ from sw_engine_process",
          variants[v][2],
          variants[v][3],
          differ);
    free(output);
  }

  // The default knob value is the model's (0.5), so a run without --param
  // must differ from the run at 0.25.
  remove(out);
  const char* const args[] = {"process", "--model", model_path, in, out, NULL};
  SF_INFO           out_info;
  float* const      output = process_to(args, out, &out_info);
  if (output) {
    check(memcmp(output, expected, sizeof(float) * FRAMES * CHANNELS) != 0,
          "the knob value changes the output");
    free(output);
  }

done:
  sw_model_free(model);
  free(input);
  free(expected);
  free(planar);
}

static void
test_process_formats(void)
{
  // y = x + 0.5 exactly, so values and clipping can be checked directly.
  const char* const model = offset_model();
  const char* const in16  = work_path("in16.wav");
  const char* const in_f  = work_path("in_float.wav");
  enum { FRAMES = 1000 };
  write_wav(in16, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, FRAMES, 0.25f);
  write_wav(in_f, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 2, FRAMES, 0.25f);

  typedef struct {
    const char* in;
    const char* out_name;
    const char* subtype; /* NULL: the default */
    int         format;
  } FormatCase;
  const FormatCase cases[] = {
    {in16, "same.wav", NULL, SF_FORMAT_WAV | SF_FORMAT_PCM_16},
    {in16, "float.wav", "float", SF_FORMAT_WAV | SF_FORMAT_FLOAT},
    {in16, "pcm24.wav", "pcm24", SF_FORMAT_WAV | SF_FORMAT_PCM_24},
    {in16, "out.aiff", NULL, SF_FORMAT_AIFF | SF_FORMAT_PCM_16},
    {in16, "out.AIF", NULL, SF_FORMAT_AIFF | SF_FORMAT_PCM_16},
    {in16, "out.flac", NULL, SF_FORMAT_FLAC | SF_FORMAT_PCM_16},
    {in_f, "out.flac", NULL, SF_FORMAT_FLAC | SF_FORMAT_PCM_24},
    {in_f, "out.aiff", NULL, SF_FORMAT_AIFF | SF_FORMAT_FLOAT},
    {in_f, "out.ogg", NULL, SF_FORMAT_OGG | SF_FORMAT_VORBIS},
    {in_f, "unknown.data", NULL, SF_FORMAT_WAV | SF_FORMAT_FLOAT},
    {in16, "double.wav", "double", SF_FORMAT_WAV | SF_FORMAT_DOUBLE},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
    const FormatCase* const format = &cases[i];
    const char* const       out    = work_path(format->out_name);
    remove(out);
    const char* const args[] = {"process",
                                "-m",
                                model,
                                format->subtype ? "--subtype" : format->in,
                                format->subtype ? format->subtype : out,
                                format->subtype ? format->in : NULL,
                                format->subtype ? out : NULL,
                                NULL};
    SF_INFO           out_info;
    float* const      output = process_to(args, out, &out_info);
    if (!output) {
      continue;
    }
    check(out_info.format == format->format,
          "%s from %s: format 0x%x, expected 0x%x",
          format->out_name,
          format->in,
          (unsigned)out_info.format,
          (unsigned)format->format);
    check(out_info.frames == FRAMES && out_info.samplerate == 48000,
          "%s keeps the frames and rate",
          format->out_name);
    const double tolerance =
      (out_info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_VORBIS ? 0.05 : 1e-4;
    check(fabs((double)output[out_info.channels * (FRAMES / 2)] - 0.75) <
            tolerance,
          "%s holds x + 0.5 = 0.75, got %g",
          format->out_name,
          (double)output[out_info.channels * (FRAMES / 2)]);
    free(output);
  }

  // Integer output clips instead of wrapping around: 0.75 + 0.5 > 1.
  const char* const loud = work_path("loud16.wav");
  const char* const out  = work_path("clipped.wav");
  write_wav(loud, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, FRAMES, 0.75f);
  const char* const args[] = {"process", "-m", model, loud, out, NULL};
  SF_INFO           out_info;
  float* const      output = process_to(args, out, &out_info);
  if (output) {
    float lowest = 1.0f;
    for (size_t f = 0; f < FRAMES; ++f) {
      lowest = fminf(lowest, output[f]);
    }
    check(lowest > 0.99f,
          "16-bit output clips at full scale (lowest %g)",
          (double)lowest);
    free(output);
  }
}

static void
test_process_messages(void)
{
  // The knob model says it was trained at 48 kHz; a 44.1 kHz file must warn
  // with both rates.
  const char* const model = knob_model();
  const char* const in    = work_path("in44.wav");
  const char* const out   = work_path("out44.wav");
  SF_INFO           info  = {0};
  info.samplerate         = 44100;
  info.channels           = 1;
  info.format             = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* const file     = sf_open(in, SFM_WRITE, &info);
  if (!check(file != NULL, "cannot write %s", in)) {
    return;
  }
  const float silence[64] = {0};
  sf_writef_float(file, silence, 64);
  sf_close(file);

  const char* const args[] = {"process", "-m", model, in, out, NULL};
  RunResult         result = expect_status(0, NULL, args);
  check(contains(result.err, "48000") && contains(result.err, "44100") &&
          contains(result.err, "resampl"),
        "a rate mismatch warns with both rates and no resampling");
  check(!contains(result.err, "processing ") &&
          !contains(result.err, "real-time"),
        "no progress or summary when stderr is not a terminal");
  run_result_free(&result);

  // --verbose adds the summary; a knob outside its range warns.
  const char* const verbose[] = {
    "process", "-v", "-m", model, "-p", "1=3", in, out, NULL};
  result = expect_status(0, NULL, verbose);
  check(contains(result.err, "64 frames") &&
          contains(result.err, "real-time factor"),
        "--verbose prints a summary");
  check(contains(result.err, "outside"), "a knob value out of range warns");
  run_result_free(&result);

  // Only output column 0 becomes audio; a wider model says so. The 44.1 kHz
  // file matches the model's default rate: no rate warning then.
  result = expect_status(0, NULL, ARGS("process", "-m", wide_model(), in, out));
  check(contains(result.err, "3 outputs") &&
          contains(result.err, "only output column 0"),
        "a model with 3 outputs warns that only column 0 is written");
  check(!contains(result.err, "resampl"), "no rate warning at 44.1 kHz");
  run_result_free(&result);
}

static void
test_process_progress(void)
{
  const char* const model = plain_model();
  const char* const in    = work_path("long.wav");
  const char* const out   = work_path("long-out.wav");
  write_wav(in, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, 48000, NAN);

  // stderr on a pseudo-terminal: the progress bar and summary appear.
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) || unlockpt(master)) {
    printf("SKIP: no pseudo-terminals here\n");
    if (master >= 0) {
      close(master);
    }
    return;
  }
  const char* const slave_name = ptsname(master);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(
    &actions, 2, slave_name, O_RDWR | O_NOCTTY, 0);
  posix_spawn_file_actions_addclose(&actions, master);
  char* const argv[] = {(char*)statewave_path,
                        "process",
                        "-m",
                        (char*)model,
                        "-b",
                        "256",
                        (char*)in,
                        (char*)out,
                        NULL};
  print_command((const char* const*)argv + 1);
  pid_t     pid = 0;
  const int error =
    posix_spawn(&pid, statewave_path, &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (!check(!error, "cannot run statewave: %s", strerror(error))) {
    close(master);
    return;
  }

  char   text[65536];
  size_t length = 0;
  for (;;) {
    struct pollfd poll_fd = {master, POLLIN, 0};
    if (poll(&poll_fd, 1, 20000) <= 0) {
      break;
    }
    const ssize_t got = read(master, text + length, sizeof(text) - 1 - length);
    if (got <= 0) {
      break; // EIO once the child has closed the terminal.
    }
    length += (size_t)got;
  }
  text[length] = '\0';
  close(master);
  const int status = wait_status(pid);
  check(status == 0, "process with a terminal exits 0, got %d", status);
  check(contains(text, "100%") && contains(text, "real-time factor"),
        "a terminal gets a progress bar and a summary: %s",
        text);
}

/* Files from ../shared/models ------------------------------------------------
 */

static void
test_shared_models(void)
{
  char dir_path[PATH_SIZE];
  snprintf(dir_path, sizeof(dir_path), "%s/guitarml-json", shared_models);
  DIR* const dir = opendir(dir_path);
  if (!dir) {
    printf("SKIP: %s is absent\n", dir_path);
    exit(SKIP_STATUS);
  }

  const char* const in = work_path("in.wav");
  write_wav(in, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, 2000, NAN);

  struct dirent* entry = NULL;
  unsigned       seen  = 0;
  while ((entry = readdir(dir))) {
    const size_t length = strlen(entry->d_name);
    if (length < 6 || strcmp(entry->d_name + length - 5, ".json")) {
      continue;
    }
    char      path[PATH_SIZE];
    const int size =
      snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
    if (!check(
          size > 0 && size < PATH_SIZE, "path too long: %s", entry->d_name)) {
      continue;
    }
    ++seen;

    if (!strncmp(entry->d_name, "broken", 6)) {
      expect_error(1, path, ARGS("info", path));
      continue;
    }

    check_info_json(path, 0);

    const char* const out = work_path("out.wav");
    remove(out);
    const char* const args[] = {"process", "-m", path, in, out, NULL};
    RunResult         result = expect_status(0, NULL, args);
    run_result_free(&result);
    SF_INFO      info;
    float* const output = read_wav(out, &info);
    if (output) {
      bool finite = true;
      for (sf_count_t f = 0; f < info.frames; ++f) {
        finite = finite && isfinite(output[f]);
      }
      check(
        info.frames == 2000 && finite, "%s gives 2000 finite samples", path);
      free(output);
    }
  }
  closedir(dir);
  check(seen > 0, "%s holds models", dir_path);
}

/* info --verify: the AIDA-X file against its own input_batch/output_batch;
   a file without such a pair fails with exit 1 and says so. */
static void
test_info_verify(void)
{
  char aidax[PATH_SIZE];
  char centaur[PATH_SIZE];
  snprintf(aidax, sizeof(aidax),
           "%s/rtneural-json/lstm12_aidax_with_reference.json", shared_models);
  snprintf(centaur, sizeof(centaur), "%s/rtneural-json/gru8_centaur.json",
           shared_models);
  if (access(aidax, R_OK) || access(centaur, R_OK)) {
    printf("SKIP: %s or %s is absent\n", aidax, centaur);
    exit(SKIP_STATUS);
  }

  RunResult text = expect_status(0, NULL, ARGS("info", "--verify", aidax));
  check(contains(text.out, "verify:        max abs error") &&
          contains(text.out, "over 2048 frames") && contains(text.out, ": ok"),
        "info --verify prints the error and the frames compared: %s",
        text.out ? text.out : "");
  run_result_free(&text);

  RunResult json =
    expect_status(0, NULL, ARGS("info", "--json", "--verify", aidax));
  cJSON* const root   = json.out ? cJSON_Parse(json.out) : NULL;
  const cJSON* verify = cJSON_GetObjectItemCaseSensitive(root, "verify");
  const cJSON* error  = cJSON_GetObjectItemCaseSensitive(verify, "max_abs_error");
  const cJSON* frames = cJSON_GetObjectItemCaseSensitive(verify, "frames");
  check(cJSON_IsNumber(error) && error->valuedouble <= 1e-5 &&
          cJSON_IsNumber(frames) && frames->valuedouble == 2048.0 &&
          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(verify, "passed")),
        "info --json --verify has a verify object with the error (<= 1e-5) "
        "and 2048 frames");
  cJSON_Delete(root);
  run_result_free(&json);

  expect_error(1, "no reference input/output pair",
               ARGS("info", "--verify", centaur));
}

/* The bundled default preset ---------------------------------------------- */

/** The whole raw little-endian float32 file; NULL when it cannot be read. */
static float*
read_f32(const char* path, size_t* count)
{
  size_t               size  = 0;
  unsigned char* const bytes = (unsigned char*)read_all(path, &size);
  float* const         data  = (float*)calloc(size / 4 + 1, sizeof(float));
  if (!bytes || !data || size % 4) {
    free(bytes);
    free(data);
    return NULL;
  }
  for (size_t i = 0; i < size / 4; ++i) {
    const uint32_t bits =
      (uint32_t)bytes[4 * i] | ((uint32_t)bytes[4 * i + 1] << 8) |
      ((uint32_t)bytes[4 * i + 2] << 16) | ((uint32_t)bytes[4 * i + 3] << 24);
    memcpy(&data[i], &bits, sizeof(float));
  }
  free(bytes);
  *count = size / 4;
  return data;
}

static void
test_default_preset(void)
{
  char model[PATH_SIZE];
  char demo[PATH_SIZE];
  char reference[PATH_SIZE];
  snprintf(
    model, sizeof(model), "%s/presets/default-overdrive.json", source_root);
  snprintf(demo, sizeof(demo), "%s/examples/demo.wav", source_root);
  snprintf(reference,
           sizeof(reference),
           "%s/tests/data/default/demo_ref.f32",
           source_root);
  if (access(model, R_OK) || access(demo, R_OK) || access(reference, R_OK)) {
    printf("SKIP: the default preset, demo or reference is absent\n");
    exit(SKIP_STATUS);
  }

  // Float output, so the comparison is with the network, not 16-bit steps.
  const char* const out    = work_path("demo-out.wav");
  RunResult         result = expect_status(
    0,
    NULL,
    ARGS("process", "--model", model, "--subtype", "float", demo, out));
  run_result_free(&result);

  SF_INFO      info;
  size_t       count    = 0;
  float* const output   = read_wav(out, &info);
  float* const expected = read_f32(reference, &count);
  if (!check(output && expected, "cannot read %s or %s", out, reference)) {
    free(output);
    free(expected);
    return;
  }

  check(info.channels == 1 && (size_t)info.frames == count,
        "%s has %zu frames like the reference, got %lld x %d channels",
        out,
        count,
        (long long)info.frames,
        info.channels);
  double worst = 0.0;
  size_t where = 0;
  for (size_t i = 0; i < count && i < (size_t)info.frames; ++i) {
    const double error = fabs((double)output[i] - (double)expected[i]);
    if (!(error <= worst)) { // NaN counts as the worst.
      worst = error;
      where = i;
    }
  }
  check(worst <= 1e-5,
        "max abs error vs PyTorch %g at frame %zu; expected <= 1e-5",
        worst,
        where);
  printf("max abs error vs PyTorch: %g\n", worst);
  free(output);
  free(expected);
}

/* ------------------------------------------------------------------------ */
/* convert                                                                  */
/* ------------------------------------------------------------------------ */

/** Frames through a fresh engine (knob columns as given). */
static bool
run_model_frames(const SwModel* model, const float* in, float* out,
                 uint32_t frames)
{
  SwEngineConfig  config = sw_engine_config_default();
  SwEngine* const engine = sw_engine_new(model, &config, NULL);
  if (!engine) {
    return false;
  }
  const bool ok = !sw_engine_process_frames(engine, in, out, frames);
  sw_engine_free(engine);
  return ok;
}

/** `converted` gives bit-identical output to `original` on two columns. */
static void
check_same_output(const char* original, const char* converted)
{
  enum { FRAMES = 1024 };
  SwModel* const a = load_model(original);
  SwModel* const b = load_model(converted);
  if (a && b) {
    static float in[FRAMES * 2];
    static float out_a[FRAMES];
    static float out_b[FRAMES];
    for (uint32_t t = 0; t < FRAMES; ++t) {
      in[2U * t]      = test_signal(t, 0);
      in[2U * t + 1U] = (float)t / (float)FRAMES;
    }
    check(run_model_frames(a, in, out_a, FRAMES) &&
            run_model_frames(b, in, out_b, FRAMES) &&
            !memcmp(out_a, out_b, sizeof(out_a)),
          "%s does not give bit-identical output to %s", converted,
          original);
  }
  sw_model_free(a);
  sw_model_free(b);
}

static void
test_convert(void)
{
  const char* const model = knob_model();
  char              aidax[PATH_SIZE];
  char              guitarml[PATH_SIZE];
  char              back[PATH_SIZE];
  snprintf(aidax, sizeof(aidax), "%s", work_path("converted.aidax"));
  snprintf(guitarml, sizeof(guitarml), "%s",
           work_path("converted.guitarml.json"));
  snprintf(back, sizeof(back), "%s", work_path("back.json"));

  /* .aidax: RTNeural/AIDA-X JSON by default. */
  const char* const to_aidax[] = {"convert", model, aidax, NULL};
  RunResult         result     = expect_status(0, NULL, to_aidax);
  check(result.out && !result.out[0], "expected nothing on stdout");
  run_result_free(&result);
  check_same_output(model, aidax);
  const char* const info[] = {"info", aidax, NULL};
  result                   = expect_status(0, NULL, info);
  check(contains(result.out, "format:        rtneural-json") &&
          contains(result.out, "sample rate:   48000 Hz") &&
          contains(result.out, "name: tiny test drive"),
        "info on the converted file lacks format, rate or metadata");
  run_result_free(&result);

  /* --to guitarml, and back to RTNeural from there. */
  const char* const to_guitarml[] = {"convert", "--to", "guitarml", aidax,
                                     guitarml, NULL};
  result = expect_status(0, NULL, to_guitarml);
  run_result_free(&result);
  check_same_output(model, guitarml);
  const char* const to_back[] = {"convert", "-t", "rtneural", guitarml, back,
                                 NULL};
  result = expect_status(0, NULL, to_back);
  run_result_free(&result);
  check_same_output(model, back);

  /* Usage errors: exit 2. */
  const char* const no_out[] = {"convert", model, NULL};
  expect_error(2, "missing OUT", no_out);
  const char* const unknown_ext[] = {"convert", model,
                                     work_path("model.bin"), NULL};
  expect_error(2, "cannot tell the format from", unknown_ext);
  const char* const bad_to[] = {"convert", "--to", "onnx", model, aidax,
                                NULL};
  expect_error(2, "unknown format 'onnx' for --to", bad_to);

  /* Failures: exit 1, naming the file and why; nothing written. */
  char refused[PATH_SIZE];
  char conv1d[PATH_SIZE];
  snprintf(refused, sizeof(refused), "%s", work_path("refused.json"));
  snprintf(conv1d, sizeof(conv1d), "%s/tests/data/formats/rtneural/%s",
           source_root, "conv1d_gru.json");
  const char* const not_guitarml[] = {"convert", "--to", "guitarml", conv1d,
                                      refused, NULL};
  expect_error(1, "layer 0 is Conv1D, not LSTM or GRU", not_guitarml);
  check(access(refused, F_OK) != 0, "a refused conversion wrote %s",
        refused);
  char missing[PATH_SIZE];
  snprintf(missing, sizeof(missing), "%s",
           work_path("no-such-folder/out.json"));
  const char* const no_folder[] = {"convert", model, missing, NULL};
  expect_error(1, "cannot write: No such file or directory", no_folder);
  const char* const no_folder_path[] = {"convert", model, missing, NULL};
  expect_error(1, missing, no_folder_path);
  const char* const bad_in[] = {"convert", work_path("absent.json"), aidax,
                                NULL};
  expect_error(1, "absent.json: cannot open", bad_in);
}

/* --arch FILE: a Keras weights-only file with its architecture spec, the
   same for every sub-command that loads a model. */
static void
test_keras_arch(void)
{
  char weights[PATH_SIZE], arch[PATH_SIZE], input[PATH_SIZE];
  char reference[PATH_SIZE];
  snprintf(weights, sizeof(weights), "%s/tests/data/keras/weights_only.h5",
           source_root);
  snprintf(arch, sizeof(arch), "%s/tests/data/keras/weights_only.arch.json",
           source_root);
  snprintf(input, sizeof(input), "%s/tests/data/keras/weights_only.in.csv",
           source_root);
  snprintf(reference, sizeof(reference),
           "%s/tests/data/keras/weights_only.ref.csv", source_root);

  static const char* const commands[] = {"process", "stream", "info",
                                         "convert"};
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); ++i) {
    const char* const help[] = {commands[i], "--help", NULL};
    RunResult         result = expect_status(0, NULL, help);
    check(contains(result.out, "--arch FILE"), "%s --help lacks --arch",
          commands[i]);
    run_result_free(&result);
  }

  /* Without --arch: refused, pointing at the option. */
  const char* const refused[] = {"info", weights, NULL};
  expect_error(1, "name an architecture with --arch FILE (see README)",
               refused);

  const char* const info[] = {"info", "--arch", arch, weights, NULL};
  RunResult         result = expect_status(0, NULL, info);
  check(contains(result.out, "layer 0:     GRU, input 1, 4 units") &&
          contains(result.out, "format:        keras-h5"),
        "info --arch lacks the GRU layer");
  run_result_free(&result);

  /* stream --arch against Keras's own output. */
  const char* const stream[] = {"stream", "--arch", arch, "-m", weights,
                                NULL};
  result = expect_status(0, input, stream);
  size_t      rows = 0;
  float       worst = 0.0f;
  FILE* const expected = fopen(reference, "r");
  check(expected != NULL, "cannot open %s", reference);
  const char* line = result.out;
  float       want = 0.0f;
  while (expected && line && *line && fscanf(expected, "%f", &want) == 1) {
    const float got = strtof(line, NULL);
    const float d   = fabsf(got - want);
    worst           = d > worst || d != d ? d : worst;
    ++rows;
    line = strchr(line, '\n');
    line = line ? line + 1 : NULL;
  }
  if (expected) {
    fclose(expected);
  }
  printf("stream --arch: %zu frames, max |statewave - keras| = %.3g\n", rows,
         (double)worst);
  check(rows == 96U && worst <= 1e-5f, "stream --arch: %zu frames, error %g",
        rows, (double)worst);
  run_result_free(&result);

  /* convert --arch writes a file that loads on its own. */
  char converted[PATH_SIZE];
  snprintf(converted, sizeof(converted), "%s", work_path("arch.aidax"));
  const char* const convert[] = {"convert", "--arch", arch, weights,
                                 converted, NULL};
  result = expect_status(0, NULL, convert);
  run_result_free(&result);
  const char* const info_converted[] = {"info", converted, NULL};
  result = expect_status(0, NULL, info_converted);
  check(contains(result.out, "layer 0:     GRU, input 1, 4 units"),
        "the converted weights-only model lacks its GRU");
  run_result_free(&result);

  /* A wrong spec: exit 1 naming the file, the spec and the layer. */
  char wrong[PATH_SIZE];
  snprintf(wrong, sizeof(wrong), "%s", work_path("wrong.arch.json"));
  FILE* const file = fopen(wrong, "w");
  if (check(file != NULL, "cannot write %s", wrong)) {
    fputs("{\"input_width\": 1, \"layers\": [{\"class_name\": \"GRU\", "
          "\"name\": \"rnn\", \"config\": {\"units\": 4}}]}\n",
          file);
    fclose(file);
  }
  const char* const bad[] = {"process", "--arch", wrong, "-m", weights,
                             work_path("in.wav"), work_path("out.wav"), NULL};
  expect_error(1, "layer \"rnn\" (from ", bad);
  const char* const no_value[] = {"info", weights, "--arch", NULL};
  expect_error(2, "option '--arch' needs a value", no_value);
}

/* backends, --backend, --pipelined, bench ---------------------------------- */

static size_t
count_occurrences(const char* haystack, const char* needle)
{
  size_t count = 0;
  for (const char* p = haystack ? strstr(haystack, needle) : NULL; p;
       p = strstr(p + 1, needle)) {
    ++count;
  }
  return count;
}

static void
test_backends(void)
{
  SwBackendInfo infos[SW_BACKEND_KIND_COUNT];
  for (int k = 0; k < SW_BACKEND_KIND_COUNT; ++k) {
    check(sw_backend_info((SwBackendKind)k, &infos[k]) == SW_SUCCESS,
          "sw_backend_info(%d)",
          k);
  }

  // Text: one line per kind, "NAME built yes|no usable yes|no DETAIL".
  RunResult   result = expect_status(0, NULL, ARGS("backends"));
  const char* line   = result.out ? result.out : "";
  check(count_lines(line) == SW_BACKEND_KIND_COUNT,
        "backends prints %d lines, got %zu",
        SW_BACKEND_KIND_COUNT,
        count_lines(line));
  for (int k = 0; k < SW_BACKEND_KIND_COUNT && *line; ++k) {
    char name[16]   = "";
    char built[4]   = "";
    char usable[4]  = "";
    int  detail_at  = 0;
    const int found = sscanf(
      line, "%15s built %3s usable %3s %n", name, built, usable, &detail_at);
    const char* const end = strchr(line, '\n');
    if (!check(found == 3 && end, "backends line %d: %.80s", k + 1, line)) {
      break;
    }
    check(!strcmp(name, infos[k].name) &&
            !strcmp(built, infos[k].built ? "yes" : "no") &&
            !strcmp(usable, infos[k].usable ? "yes" : "no") &&
            !strncmp(line + detail_at,
                     infos[k].detail,
                     (size_t)(end - line - detail_at)) &&
            strlen(infos[k].detail) == (size_t)(end - line - detail_at),
          "backends line %d is the library's %s: %.*s",
          k + 1,
          infos[k].name,
          (int)(end - line),
          line);
    line = end + 1;
  }
  check(infos[SW_BACKEND_CPU].usable, "the cpu backend is usable");
  check(!result.err[0], "backends prints nothing on stderr");
  run_result_free(&result);

  // JSON: the same facts as an array of objects.
  result            = expect_status(0, NULL, ARGS("backends", "--json"));
  cJSON* const root = cJSON_Parse(result.out ? result.out : "");
  if (check(cJSON_IsArray(root) &&
              cJSON_GetArraySize(root) == SW_BACKEND_KIND_COUNT,
            "backends --json prints an array of %d objects",
            SW_BACKEND_KIND_COUNT)) {
    for (int k = 0; k < SW_BACKEND_KIND_COUNT; ++k) {
      const cJSON* const item = cJSON_GetArrayItem(root, k);
      const cJSON* const built =
        cJSON_GetObjectItemCaseSensitive(item, "built");
      const cJSON* const usable =
        cJSON_GetObjectItemCaseSensitive(item, "usable");
      check(!strcmp(json_string(item, "name"), infos[k].name) &&
              cJSON_IsBool(built) &&
              cJSON_IsTrue(built) == infos[k].built &&
              cJSON_IsBool(usable) &&
              cJSON_IsTrue(usable) == infos[k].usable &&
              !strcmp(json_string(item, "detail"), infos[k].detail),
            "backends --json entry %d is the library's %s",
            k,
            infos[k].name);
    }
  } else {
    show_output(&result);
  }
  cJSON_Delete(root);
  run_result_free(&result);

  expect_error(2, "unexpected argument 'cpu'", ARGS("backends", "cpu"));
  expect_error(2, "--frobnicate", ARGS("backends", "--frobnicate"));
}

/** Runs `process` on `in` into `out` and reads it back; NULL on failure. */
static float*
process_file_with(const char* const* args, const char* out, SF_INFO* info)
{
  remove(out);
  return process_to(args, out, info);
}

/** Whether two runs' audio is bit-identical; prints the first differences. */
static bool
same_audio(const float*   a,
           const SF_INFO* a_info,
           const float*   b,
           const SF_INFO* b_info,
           const char*    what)
{
  if (!check(a && b && a_info->frames == b_info->frames &&
               a_info->channels == b_info->channels,
             "%s: %lld frames x %d channels, expected %lld x %d",
             what,
             (long long)a_info->frames,
             a_info->channels,
             (long long)b_info->frames,
             b_info->channels)) {
    return false;
  }
  size_t       differ  = 0;
  const size_t samples = (size_t)(a_info->frames * a_info->channels);
  for (size_t i = 0; i < samples; ++i) {
    if (!same_float(a[i], b[i]) && differ++ < 5) {
      printf("%s: sample %zu is %.9g, expected %.9g\n",
             what,
             i,
             (double)a[i],
             (double)b[i]);
    }
  }
  return check(differ == 0, "%s: %zu samples differ", what, differ);
}

/** The largest difference of two equally long runs, or INFINITY. */
static float
audio_difference(const float*   a,
                 const SF_INFO* a_info,
                 const float*   b,
                 const SF_INFO* b_info)
{
  if (!a || !b || a_info->frames != b_info->frames ||
      a_info->channels != b_info->channels) {
    return INFINITY;
  }
  float worst = 0.0f;
  for (sf_count_t i = 0; i < a_info->frames * a_info->channels; ++i) {
    const float d = fabsf(a[i] - b[i]);
    worst         = (d > worst || d != d) ? d : worst;
  }
  return worst;
}

/** Writes `frames` frames of the knob model's input (with a NaN line). */
static const char*
knob_csv(size_t frames)
{
  const char* const path  = work_path("frames.csv");
  FILE* const       file  = fopen(path, "w");
  uint64_t          state = 2024;
  if (!check(file != NULL, "cannot write %s", path)) {
    return path;
  }
  for (size_t f = 0; f < frames; ++f) {
    if (f == frames / 3) {
      fputs("nan,0.5\n", file); // A reset, counted and warned about.
      continue;
    }
    fprintf(file,
            "%.9g,%.9g\n",
            (double)random_weight(&state, 1.0f),
            (double)(0.5f + 0.5f * random_weight(&state, 1.0f)));
  }
  fclose(file);
  return path;
}

static void
test_backend_option(void)
{
  const char* const model = knob_model();
  const char* const in    = work_path("in.wav");
  const char* const out   = work_path("out.wav");
  enum { FRAMES = 2000, CHANNELS = 2 };
  write_wav(in, SF_FORMAT_WAV | SF_FORMAT_FLOAT, CHANNELS, FRAMES, NAN);
  const char* const csv = knob_csv(300);

  SF_INFO      base_info;
  float* const base =
    process_file_with(ARGS("process", "-m", model, in, out), out, &base_info);
  RunResult    base_stream = expect_status(0, csv, ARGS("stream", "-m", model));

  static const char* const names[] = {"auto", "cpu", "cudnn", "fused"};
  for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); ++n) {
    SwBackendKind kind = SW_BACKEND_AUTO;
    SwBackendInfo info;
    check(sw_backend_parse(names[n], &kind) == SW_SUCCESS &&
            sw_backend_info(kind, &info) == SW_SUCCESS,
          "the library knows backend %s",
          names[n]);
    const bool gpu = kind == SW_BACKEND_CUDNN || kind == SW_BACKEND_FUSED;

    // The note an engine asked for this backend gets, as the library says.
    char           note[1024] = "";
    SwModel* const library    = load_model(model);
    SwEngineConfig config     = sw_engine_config_default();
    config.backend            = kind;
    config.streams            = CHANNELS;
    SwError         err       = {SW_SUCCESS, ""};
    SwEngine* const engine =
      library ? sw_engine_new(library, &config, &err) : NULL;
    if (check(engine != NULL, "engine on %s: %s", names[n], err.message)) {
      const char* const text = sw_engine_backend_note(engine);
      snprintf(note, sizeof(note), "%s", text ? text : "");
    }
    sw_engine_free(engine);
    sw_model_free(library);

    SF_INFO      got_info;
    float* const got = process_file_with(
      ARGS("process", "--backend", names[n], "-m", model, in, out),
      out,
      &got_info);
    RunResult result = expect_status(
      0, csv, ARGS("stream", "-m", model, "--backend", names[n]));
    if (gpu && info.usable) {
      // A GPU computes the same function, not the same bits.
      const float worst = audio_difference(got, &got_info, base, &base_info);
      printf("process --backend %s: max |gpu - cpu| = %g\n",
             names[n],
             (double)worst);
      check(worst <= 1e-4f, "--backend %s within 1e-4 of the cpu", names[n]);
    } else {
      // The CPU, asked for or fallen back to: the same bits.
      char what[64];
      snprintf(what, sizeof(what), "process --backend %s", names[n]);
      same_audio(got, &got_info, base, &base_info, what);
      check(result.out && base_stream.out &&
              !strcmp(result.out, base_stream.out),
            "stream --backend %s prints what the default does",
            names[n]);
    }
    if (gpu && !info.usable) {
      // The fallback is said once, on stderr, in the library's words.
      check(note[0] && count_occurrences(result.err, note) == 1,
            "stream --backend %s says once: %s",
            names[n],
            note);
      if (!check(contains(result.err, "statewave: "),
                 "the note is a statewave message")) {
        show_output(&result);
      }
    } else {
      check(!contains(result.err, "backend") &&
              !contains(result.err, "auto chose"),
            "stream --backend %s prints no backend note without -v",
            names[n]);
    }
    free(got);
    run_result_free(&result);
  }

  // -v shows auto's choice, once.
  RunResult verbose =
    expect_status(0, csv, ARGS("stream", "-v", "-m", model, "--backend", "auto"));
  check(count_occurrences(verbose.err, "auto chose") == 1,
        "stream -v says once what auto chose");
  run_result_free(&verbose);

  // Names are exact; a bad one lists the good ones.
  expect_error(2,
               "--backend 'tpu': expected auto, cpu, cpu-ref, cudnn or fused",
               ARGS("stream", "-m", model, "--backend", "tpu"));
  expect_error(2,
               "--backend 'CPU': expected auto, cpu, cpu-ref, cudnn or fused",
               ARGS("process", "--backend", "CPU", "-m", model, in, out));
  expect_error(2,
               "option '--backend' needs a value",
               ARGS("stream", "-m", model, "--backend"));
  expect_error(2,
               "option '--pipelined=yes' takes no value",
               ARGS("stream", "-m", model, "--pipelined=yes"));

  free(base);
  run_result_free(&base_stream);
}

static void
test_pipelined(void)
{
  // process: every block size, even one longer than the file, gives the
  // synchronous output, aligned and of the same length.
  const char* const model = knob_model();
  const char* const in    = work_path("in.wav");
  const char* const out   = work_path("out.wav");
  enum { FRAMES = 3000, CHANNELS = 2 };
  write_wav(in, SF_FORMAT_WAV | SF_FORMAT_FLOAT, CHANNELS, FRAMES, NAN);

  SF_INFO      sync_info;
  float* const sync = process_file_with(
    ARGS("process", "-m", model, "-p", "1=0.3", in, out), out, &sync_info);
  static const char* const blocks[] = {"1", "17", "512", "4096"};
  for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); ++b) {
    SF_INFO      info;
    float* const got = process_file_with(ARGS("process",
                                              "--pipelined",
                                              "-b",
                                              blocks[b],
                                              "-m",
                                              model,
                                              "-p",
                                              "1=0.3",
                                              in,
                                              out),
                                         out,
                                         &info);
    char         what[64];
    snprintf(what, sizeof(what), "process --pipelined --block %s", blocks[b]);
    same_audio(got, &info, sync, &sync_info, what);
    free(got);
  }
  free(sync);

  // An empty file stays empty.
  const char* const empty = work_path("empty.wav");
  write_wav(empty, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, 0, 0.0f);
  SF_INFO      empty_info;
  float* const nothing = process_file_with(
    ARGS("process", "--pipelined", "-m", model, empty, out), out, &empty_info);
  check(nothing && empty_info.frames == 0,
        "process --pipelined on an empty file writes no frames");
  free(nothing);

  // stream: one line out per line in, the same lines and warnings.
  enum { LINES = 500 };
  const char* const csv  = knob_csv(LINES);
  RunResult         base = expect_status(0, csv, ARGS("stream", "-m", model));
  check(count_lines(base.out) == LINES, "stream prints %d lines", LINES);
  static const char* const stream_blocks[] = {"1", "7", "64", "65536"};
  for (size_t b = 0; b < sizeof(stream_blocks) / sizeof(stream_blocks[0]);
       ++b) {
    RunResult result = expect_status(
      0,
      csv,
      ARGS("stream", "--pipelined", "-b", stream_blocks[b], "-m", model));
    if (!check(result.out && base.out && !strcmp(result.out, base.out) &&
                 !strcmp(result.err, base.err),
               "stream --pipelined --block %s prints what stream does",
               stream_blocks[b])) {
      show_output(&result);
    }
    run_result_free(&result);
  }
  run_result_free(&base);

  // No input, no output; a bad line still lets the lines before it out.
  const char* const none = work_path("none.csv");
  write_text(none, "");
  RunResult result =
    expect_status(0, none, ARGS("stream", "--pipelined", "-m", model));
  check(result.out && !result.out[0], "stream --pipelined: no lines, no output");
  run_result_free(&result);
  const char* const bad = work_path("bad.csv");
  write_text(bad, "0.1,0.2\n0.3,0.4\n0.5,x\n0.6,0.7\n");
  result = expect_status(1, bad, ARGS("stream", "--pipelined", "-m", model));
  check(count_lines(result.out ? result.out : "") == 2 &&
          contains(result.err, "stdin line 3"),
        "stream --pipelined writes the 2 lines before the bad line 3");
  run_result_free(&result);
}

/* bench ------------------------------------------------------------------- */

/** Most lines one bench run prints in these tests. */
#define MAX_BENCH_LINES 64

/** a and b agree to `relative` (the JSON keeps 6 significant digits). */
static bool
close_to(double a, double b, double relative)
{
  return fabs(a - b) <= relative * fmax(fabs(a), fabs(b));
}

/** The kernel sets the cpu backend may report. */
static bool
known_kernels(const char* name)
{
  static const char* const sets[] = {
    "avx512", "avx512vl", "avx2", "sse2", "neon", "generic", "cpu-ref"};
  for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); ++i) {
    if (!strcmp(name, sets[i])) {
      return true;
    }
  }
  return false;
}

/**
   Checks one measurement line of bench --json: the figures are there,
   positive and finite, and agree with each other; for cpu, within 1e-5 of
   cpu-ref (`checked`: the reference check ran; search steps skip it).
*/
static void
check_measurement(const cJSON* m, bool checked, const char* what)
{
  const double p50      = json_number(m, "p50_us");
  const double p99      = json_number(m, "p99_us");
  const double max      = json_number(m, "max_us");
  const double block_us = json_number(m, "block_us");
  const double block    = json_number(m, "block");
  const double streams  = json_number(m, "streams");
  const double rate     = json_number(m, "rate");
  const double ns       = json_number(m, "ns_per_sample");
  const double rtf      = json_number(m, "realtime_factor");
  check(p50 > 0.0 && p50 <= p99 && p99 <= max && isfinite(max),
        "%s: 0 < p50 %g <= p99 %g <= max %g",
        what,
        p50,
        p99,
        max);
  check(block >= 1.0 && streams >= 1.0 && rate >= 1.0 &&
          close_to(block_us, 1e6 * block / rate, 1e-5),
        "%s: block_us %g is block %g at %g Hz",
        what,
        block_us,
        block,
        rate);
  check(ns > 0.0 && isfinite(ns) && close_to(ns, 1e3 * p50 / (block * streams), 1e-4),
        "%s: ns_per_sample %g is p50 over block x streams",
        what,
        ns);
  check(rtf > 0.0 && isfinite(rtf) && close_to(rtf, block_us / p50, 1e-4) &&
          close_to(rtf, 1e9 / (ns * streams * rate), 1e-4),
        "%s: realtime_factor %g is 1 / (ns_per_sample x streams x rate)",
        what,
        rtf);
  const cJSON* const holds = cJSON_GetObjectItemCaseSensitive(m, "realtime");
  const cJSON* const cut   = cJSON_GetObjectItemCaseSensitive(m, "cut_short");
  check(cJSON_IsBool(holds) && cJSON_IsBool(cut) &&
          cJSON_IsTrue(holds) == (!cJSON_IsTrue(cut) && p99 < block_us),
        "%s: realtime is p99 below the block, not cut short",
        what);
  check(json_number(m, "blocks") >= 0.0 && json_number(m, "wall_s") > 0.0 &&
          json_number(m, "warmup_calls") == 16.0,
        "%s: blocks, wall_s and warmup_calls",
        what);

  const char* const backend = json_string(m, "backend");
  json_string(m, "backend_asked");
  json_string(m, "model");
  json_string(m, "layers");
  json_string(m, "cpu");
  json_string(m, "date");
  json_string(m, "statewave");
  check(json_number(m, "cores") >= 1.0, "%s: cores", what);
  const cJSON* const load = cJSON_GetObjectItemCaseSensitive(m, "load_average");
  check(cJSON_IsArray(load) && cJSON_GetArraySize(load) == 3,
        "%s: load_average has 3 values",
        what);

  const cJSON* const kernels = cJSON_GetObjectItemCaseSensitive(m, "kernels");
  if (!strcmp(backend, "cpu")) {
    check(cJSON_IsString(kernels) && known_kernels(kernels->valuestring),
          "%s: cpu names its kernel set",
          what);
  } else if (!strcmp(backend, "cpu-ref")) {
    check(cJSON_IsString(kernels) && !strcmp(kernels->valuestring, "scalar"),
          "%s: cpu-ref's kernels are scalar",
          what);
  }

  const cJSON* const error = cJSON_GetObjectItemCaseSensitive(m, "max_abs_error");
  if (!checked) {
    check(cJSON_IsNull(error), "%s: max_abs_error is null (not checked)", what);
  } else if (!strcmp(backend, "cpu-ref")) {
    check(cJSON_IsNumber(error) && error->valuedouble == 0.0,
          "%s: max_abs_error of cpu-ref itself is 0",
          what);
  } else {
    const double e = json_number(m, "max_abs_error");
    check(e >= 0.0 && e <= 1e-5 && json_number(m, "error_frames") > 0.0,
          "%s: %s within 1e-5 of cpu-ref (%g) over some frames",
          what,
          backend,
          e);
  }

  // The heap the engine took (glibc's mallinfo2): more than nothing, and a
  // stream more at least its state.
  const double engine = json_number(m, "engine_bytes");
  check(engine > 0.0, "%s: engine_bytes %g", what, engine);
  const cJSON* const per_stream =
    cJSON_GetObjectItemCaseSensitive(m, "engine_bytes_per_stream");
  const char* const asked = json_string(m, "backend_asked");
  if (checked && (!strcmp(asked, "cpu") || !strcmp(asked, "cpu-ref"))) {
    check(cJSON_IsNumber(per_stream) && per_stream->valuedouble > 0.0,
          "%s: engine_bytes_per_stream on the cpu",
          what);
  }
  check(json_number(m, "weights_bytes") == 4.0 * json_number(m, "params"),
        "%s: weights_bytes is 4 bytes a parameter",
        what);
}

/**
   Runs bench --json and parses its lines into `lines` (each must be one
   JSON object); returns how many, 0 after messages on failure.
*/
static int
bench_lines(const char* const* args, cJSON** lines)
{
  RunResult result = expect_status(0, NULL, args);
  int       count  = 0;
  bool      ok     = result.status == 0 && result.out;
  for (const char* line = result.out; ok && line && *line;) {
    const char* const end = strchr(line, '\n');
    if (!check(end != NULL, "bench --json: every line ends")) {
      ok = false;
      break;
    }
    char* const text = strndup(line, (size_t)(end - line));
    cJSON* const item = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!check(cJSON_IsObject(item) && count < MAX_BENCH_LINES,
               "bench --json line %d is one JSON object",
               count + 1)) {
      cJSON_Delete(item);
      ok = false;
      break;
    }
    lines[count++] = item;
    line           = end + 1;
  }
  if (!ok || !count) {
    check(count > 0, "bench --json printed lines");
    show_output(&result);
    for (int i = 0; i < count; ++i) {
      cJSON_Delete(lines[i]);
    }
    count = 0;
  }
  run_result_free(&result);
  return count;
}

static void
free_lines(cJSON** lines, int count)
{
  for (int i = 0; i < count; ++i) {
    cJSON_Delete(lines[i]);
  }
}

/** Checks a search's lines: its steps, then its answer. */
static void
check_search(cJSON** lines, int count, const char* over)
{
  if (!check(count >= 2, "--max-%s: steps and an answer", over)) {
    return;
  }
  const cJSON* const answer = lines[count - 1];
  check(!strcmp(json_string(answer, "search"), over) &&
          json_number(answer, "steps") == count - 1,
        "the last line answers the search over %s after %d steps",
        over,
        count - 1);
  const char* const stop = json_string(answer, "stopped_by");
  check(!strcmp(stop, "failed") || !strcmp(stop, "cap") ||
          !strcmp(stop, "time"),
        "stopped_by is failed, cap or time: %s",
        stop);

  double largest = 0.0;
  double failing = INFINITY;
  for (int i = 0; i + 1 < count; ++i) {
    const cJSON* const step = lines[i];
    check(!strcmp(json_string(step, "search"), over), "step %d names the search", i);
    check_measurement(step, false, "search step");
    const double size = json_number(step, over);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(step, "realtime"))) {
      largest = (size > largest) ? size : largest;
    } else {
      failing = (size < failing) ? size : failing;
    }
  }
  check(json_number(answer, "largest") == largest,
        "largest is the largest step that holds (%g)",
        largest);
  const cJSON* const smallest =
    cJSON_GetObjectItemCaseSensitive(answer, "smallest_failing");
  check(isinf(failing) ? cJSON_IsNull(smallest)
                       : (cJSON_IsNumber(smallest) &&
                          smallest->valuedouble == failing),
        "smallest_failing is the smallest step that fails");
  const cJSON* const result = cJSON_GetObjectItemCaseSensitive(answer, "result");
  check(largest > 0.0 ? (cJSON_IsObject(result) &&
                         json_number(result, over) == largest)
                      : cJSON_IsNull(result),
        "result is the largest that holds, or null");
}

static void
test_bench(void)
{
  // Text, one measurement: every figure, on the CPU asked for.
  RunResult result = expect_status(
    0, NULL, ARGS("bench", "--lstm", "4", "--seconds", "0.05", "--backend", "cpu"));
  static const char* const lines[] = {"machine:",
                                      "cpu backend:       SIMD kernels: ",
                                      "backend:           cpu (asked cpu), kernels ",
                                      "layers:            LSTM 4 > Dense 1",
                                      "streams:           1",
                                      "block:             128 frames at 48000 Hz",
                                      "measured:          19 blocks",
                                      "block latency:     p50 ",
                                      "time a sample:     ",
                                      "real-time factor:  ",
                                      "real time:         ",
                                      "vs cpu-ref:        ",
                                      "over 4480 frames of stream 0",
                                      "engine memory:     "};
  for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); ++i) {
    if (!check(contains(result.out, lines[i]), "bench prints \"%s\"", lines[i])) {
      show_output(&result);
    }
  }
  run_result_free(&result);

  // Text, several: a table with a row each.
  result = expect_status(0,
                         NULL,
                         ARGS("bench",
                              "--lstm",
                              "4",
                              "--streams",
                              "2,1",
                              "--seconds",
                              "0.02",
                              "--backend",
                              "cpu,cpu-ref"));
  check(contains(result.out, "ns/sample") && contains(result.out, "RT factor") &&
          contains(result.out, "max |err|") && contains(result.out, "x 1 str") &&
          count_occurrences(result.out, "\nLSTM 4 > Dense 1 ") == 4 &&
          contains(result.out, " cpu-ref  scalar        2   128 "),
        "bench --streams 2,1 --backend cpu,cpu-ref prints a table of 4 rows");
  run_result_free(&result);

  // JSON of a synthetic model: one line, the settings and the figures.
  cJSON* out[MAX_BENCH_LINES];
  int    count = bench_lines(ARGS("bench",
                               "--gru",
                               "4",
                               "--layers",
                               "2",
                               "--inputs",
                               "2",
                               "--streams",
                               "3",
                               "--block",
                               "32",
                               "--seconds",
                               "0.05",
                               "--backend",
                               "cpu",
                               "--pipelined",
                               "--json"),
                          out);
  if (check(count == 1, "bench --json of one measurement prints 1 line")) {
    const cJSON* const m = out[0];
    check_measurement(m, true, "gru");
    check(!strcmp(json_string(m, "backend_asked"), "cpu") &&
            !strcmp(json_string(m, "backend"), "cpu"),
          "backend asked and used: cpu");
    check(!strcmp(json_string(m, "model"), "GRU 4 > GRU 4 > Dense 1") &&
            !strcmp(json_string(m, "layers"), "GRU 4 > GRU 4 > Dense 1") &&
            json_number(m, "inputs") == 2.0 && json_number(m, "units") == 4.0 &&
            cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m, "path")),
          "model: 2 GRU layers of 4 and a Dense head, 2 inputs, no file");
    check(json_number(m, "block") == 32.0 && json_number(m, "rate") == 48000.0 &&
            json_number(m, "seconds") == 0.05 &&
            !strcmp(json_string(m, "streaming"), "pipelined") &&
            json_number(m, "latency_frames") == 32.0,
          "settings: block 32 at 48 kHz, 0.05 s, pipelined with 32 frames");
    check(json_number(m, "streams") == 3.0 && json_number(m, "blocks") == 75.0,
          "3 streams, 75 blocks of 32 frames in 0.05 s");
    // 16 + 75 calls of 32 frames, less the 32 frames of latency.
    check(json_number(m, "error_frames") == 91.0 * 32.0 - 32.0 &&
            json_number(m, "error_streams") == 2.0,
          "the check compares streams 0 and 2 over every frame out");
    check(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m, "gpu")) &&
            cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m, "cost_vs_one_stream")),
          "no gpu, and no 1-stream row to compare with");
    check(json_number(m, "engine_bytes_per_stream") >= 2.0 * 4.0 * 4.0,
          "a stream more takes at least its state (2 layers of 4 floats)");
  }
  free_lines(out, count);

#if defined(__x86_64__)
  // A forced kernel set is the one reported.
  setenv("STATEWAVE_CPU_KERNELS", "sse2", 1);
  count = bench_lines(
    ARGS("bench", "--lstm", "8", "--seconds", "0.02", "--backend", "cpu", "--json"),
    out);
  unsetenv("STATEWAVE_CPU_KERNELS");
  if (count == 1) {
    check(!strcmp(json_string(out[0], "kernels"), "sse2"),
          "STATEWAVE_CPU_KERNELS=sse2: kernels sse2");
    check_measurement(out[0], true, "sse2");
  }
  free_lines(out, count);

  // The compact mode: FP16 weights on an AVX2 CPU, said in kernels and weights.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) {
    count = bench_lines(ARGS("bench", "--lstm", "8", "--seconds", "0.02",
                             "--backend", "cpu", "--weights", "fp16", "--json"),
                        out);
    if (count == 1) {
      check(!strcmp(json_string(out[0], "weights"), "fp16") &&
              strstr(json_string(out[0], "kernels"), "+fp16") != NULL,
            "--weights fp16: weights fp16, kernels +fp16");
      check(json_number(out[0], "max_abs_error") > 0.0 &&
              json_number(out[0], "max_abs_error") <= 1e-3,
            "--weights fp16: within 1e-3 of cpu-ref");
    }
    free_lines(out, count);
  }
#endif

  // The bfloat16 compact mode, which every kernel set takes.
  count = bench_lines(ARGS("bench", "--lstm", "8", "--seconds", "0.02",
                           "--backend", "cpu", "--weights", "bf16", "--json"),
                      out);
  check(count == 1, "--weights bf16: %d lines", count);
  if (count == 1) {
    check(!strcmp(json_string(out[0], "weights"), "bf16") &&
            strstr(json_string(out[0], "kernels"), "+bf16") != NULL,
          "--weights bf16: weights bf16, kernels +bf16");
    check(json_number(out[0], "max_abs_error") > 0.0 &&
            json_number(out[0], "max_abs_error") <= 1e-2,
          "--weights bf16: within 1e-2 of cpu-ref");
  }
  free_lines(out, count);

  // --backend all: cpu and cpu-ref (and a usable GPU backend), each at
  // every stream count, the cost against 1 stream where there is one.
  count = bench_lines(ARGS("bench",
                           "--rnn",
                           "6",
                           "--streams",
                           "1,2",
                           "--block",
                           "16,64",
                           "--seconds",
                           "0.02",
                           "--backend",
                           "all",
                           "--json"),
                      out);
  int seen_cpu = 0;
  int seen_ref = 0;
  for (int i = 0; i < count; ++i) {
    check_measurement(out[i], true, "all");
    const char* const asked = json_string(out[i], "backend_asked");
    seen_cpu += !strcmp(asked, "cpu");
    seen_ref += !strcmp(asked, "cpu-ref");
    const double cost = json_number(out[i], "cost_vs_one_stream");
    check(json_number(out[i], "streams") == 1.0 ? cost == 1.0
                                                : (cost > 0.0 && isfinite(cost)),
          "cost_vs_one_stream is 1 for 1 stream, else positive");
  }
  check(seen_cpu == 4 && seen_ref == 4 && count >= 8 && count % 4 == 0,
        "--backend all: 4 rows (2 blocks x 2 stream counts) per backend");
  free_lines(out, count);

  // A model file: its path is the model.
  const char* const model = knob_model();
  count = bench_lines(ARGS("bench", "-m", model, "--seconds", "0.02", "--json"), out);
  if (count == 1) {
    check_measurement(out[0], true, "file");
    check(!strcmp(json_string(out[0], "model"), model) &&
            !strcmp(json_string(out[0], "path"), model) &&
            !strcmp(json_string(out[0], "layers"), "LSTM 5 > Dense 1") &&
            cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(out[0], "units")),
          "model: the file's path and layers, no units");
  }
  free_lines(out, count);

  // Searches: bounded, and their answer is their steps'.
  count = bench_lines(ARGS("bench",
                           "--lstm",
                           "8",
                           "--block",
                           "64",
                           "--seconds",
                           "0.02",
                           "--backend",
                           "cpu",
                           "--max-streams",
                           "--json"),
                      out);
  check_search(out, count, "streams");
  free_lines(out, count);
  count = bench_lines(ARGS("bench",
                           "--rnn",
                           "4",
                           "--block",
                           "64",
                           "--seconds",
                           "0.02",
                           "--backend",
                           "cpu",
                           "--max-units",
                           "--json"),
                      out);
  check_search(out, count, "units");
  free_lines(out, count);
  result = expect_status(
    0,
    NULL,
    ARGS("bench", "--lstm", "4", "--seconds", "0.02", "--max-streams"));
  check(contains(result.out, "  streams 1 (") &&
          contains(result.out, "largest streams:"),
        "bench --max-streams prints its steps and the largest");
  run_result_free(&result);

  // Usage errors name the option and what was expected.
  expect_error(2,
               "--lstm and --gru: expected one of",
               ARGS("bench", "--lstm", "4", "--gru", "4"));
  expect_error(2,
               "--model and --rnn: expected one of",
               ARGS("bench", "-m", model, "--rnn", "4"));
  expect_error(2,
               "--layers applies to --lstm",
               ARGS("bench", "-m", model, "--layers", "2"));
  expect_error(2,
               "--layers applies to --lstm, --gru and --rnn, not to the "
               "standard set",
               ARGS("bench", "--layers", "2"));
  expect_error(2,
               "--max-units needs a synthetic model",
               ARGS("bench", "-m", model, "--max-units"));
  expect_error(2,
               "--max-streams needs one model",
               ARGS("bench", "--max-streams"));
  expect_error(2,
               "--max-streams: expected one --streams, one --block and one "
               "--backend",
               ARGS("bench", "--lstm", "4", "--max-streams", "--streams", "1,2"));
  expect_error(2,
               "expected one --streams, one --block and one --backend",
               ARGS("bench", "--lstm", "4", "--max-units", "--backend", "all"));
  expect_error(2,
               "expected one search",
               ARGS("bench", "--lstm", "4", "--max-units", "--max-streams"));
  expect_error(2,
               "--lstm '0': expected an integer in 1..4096",
               ARGS("bench", "--lstm", "0"));
  expect_error(2,
               "--streams '0': expected an integer in 1..65536",
               ARGS("bench", "--lstm", "4", "--streams", "0"));
  expect_error(2,
               "--streams 'x': expected an integer in 1..65536, or a "
               "comma-separated list",
               ARGS("bench", "--lstm", "4", "--streams", "2,x"));
  expect_error(2,
               "--streams '': expected an integer",
               ARGS("bench", "--lstm", "4", "--streams", "2,"));
  expect_error(2,
               "--block '0': expected an integer in 1..65536",
               ARGS("bench", "--lstm", "4", "--block", "128,0"));
  expect_error(2,
               "expected at most 16 values",
               ARGS("bench",
                    "--lstm",
                    "4",
                    "--streams",
                    "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"));
  expect_error(2,
               "--seconds '0': expected a number above 0",
               ARGS("bench", "--lstm", "4", "--seconds", "0"));
  expect_error(2,
               "--weights 'fp8': expected fp32, fp16 or bf16",
               ARGS("bench", "--lstm", "4", "--weights", "fp8"));
  expect_error(2,
               "--seconds 'soon'",
               ARGS("bench", "--lstm", "4", "--seconds", "soon"));
  expect_error(2,
               "--rate '0': expected an integer in 1..768000",
               ARGS("bench", "--lstm", "4", "--rate", "0"));
  expect_error(2,
               "frames a call; expected at most",
               ARGS("bench", "--lstm", "4", "--streams", "65536", "-b", "512"));
  expect_error(2,
               "frames a call; expected at most",
               ARGS("bench", "--streams", "1,65536", "-b", "64,512"));
  expect_error(2,
               "--arch applies to --model",
               ARGS("bench", "--lstm", "4", "--arch", model));
  expect_error(2,
               "--backend 'gpu': expected auto, cpu, cpu-ref, cudnn or fused, "
               "a comma-separated list of them, or all",
               ARGS("bench", "--lstm", "4", "--backend", "gpu"));
  expect_error(2,
               "--backend 'tpu': expected auto",
               ARGS("bench", "--lstm", "4", "--backend", "cpu,tpu"));
  expect_error(2, "--frobnicate", ARGS("bench", "--frobnicate"));
  expect_error(2, "unexpected argument 'x'", ARGS("bench", "--lstm", "4", "x"));
  expect_error(1, "no-such.json", ARGS("bench", "-m", work_path("no-such.json")));
}

/**
   bench with no model: the standard set of issue 8 on the cpu, each model
   once and LSTM 40 and LSTM 128 also at 2, 8 and 64 streams, every row
   within 1e-5 of cpu-ref.
*/
static void
test_bench_set(void)
{
  static const struct {
    const char* model;
    double      streams;
  } expected[] = {
    {"LSTM 40 > Dense 1", 1},  {"LSTM 40 > Dense 1", 2},
    {"LSTM 40 > Dense 1", 8},  {"LSTM 40 > Dense 1", 64},
    {"GRU 40 > Dense 1", 1},   {"LSTM 16 > Dense 1", 1},
    {"LSTM 128 > Dense 1", 1}, {"LSTM 128 > Dense 1", 2},
    {"LSTM 128 > Dense 1", 8}, {"LSTM 128 > Dense 1", 64},
    {"LSTM 64 > LSTM 64 > Dense 1", 1},
  };
  const int rows = (int)(sizeof(expected) / sizeof(expected[0]));

  cJSON*    out[MAX_BENCH_LINES];
  const int count = bench_lines(ARGS("bench", "--seconds", "0.01", "--json"), out);
  if (check(count == rows, "the standard set is %d rows, got %d", rows, count)) {
    for (int i = 0; i < rows; ++i) {
      char what[64];
      snprintf(what, sizeof(what), "row %d", i + 1);
      check_measurement(out[i], true, what);
      check(!strcmp(json_string(out[i], "model"), expected[i].model) &&
              json_number(out[i], "streams") == expected[i].streams &&
              json_number(out[i], "block") == 128.0 &&
              !strcmp(json_string(out[i], "backend_asked"), "cpu"),
            "row %d: %s at %g streams on the cpu",
            i + 1,
            expected[i].model,
            expected[i].streams);
      const double cost = json_number(out[i], "cost_vs_one_stream");
      check(cost > 0.0 && isfinite(cost), "row %d: cost_vs_one_stream", i + 1);
    }
  }
  free_lines(out, count);

  // --streams replaces the stream counts of every model; text is a table.
  RunResult result = expect_status(
    0, NULL, ARGS("bench", "--seconds", "0.005", "--streams", "3"));
  check(count_lines(result.out ? result.out : "") > 5 &&
          count_occurrences(result.out, "   3   128 ") == 5 &&
          contains(result.out, "\nLSTM 64 > LSTM 64 > Dense 1 "),
        "bench --streams 3: the 5 models at 3 streams");
  run_result_free(&result);
}

/* ------------------------------------------------------------------------ */

typedef struct {
  const char* name;
  void (*run)(void);
} TestCase;

static const TestCase cases[] = {
  {"help", test_help},
  {"usage_errors", test_usage_errors},
  {"bad_files", test_bad_files},
  {"info_text", test_info_text},
  {"info_json", test_info_json},
  {"stream_values", test_stream_values},
  {"stream_wide", test_stream_wide},
  {"stream_errors", test_stream_errors},
  {"stream_live", test_stream_live},
  {"process_values", test_process_values},
  {"process_formats", test_process_formats},
  {"process_messages", test_process_messages},
  {"process_progress", test_process_progress},
  {"shared_models", test_shared_models},
  {"info_verify", test_info_verify},
  {"default_preset", test_default_preset},
  {"convert", test_convert},
  {"keras_arch", test_keras_arch},
  {"backends", test_backends},
  {"backend_option", test_backend_option},
  {"pipelined", test_pipelined},
  {"bench", test_bench},
  {"bench_set", test_bench_set},
};

int
main(int argc, char** argv)
{
  if (argc != 6) {
    fprintf(stderr,
            "usage: %s CASE STATEWAVE SOURCE_ROOT SHARED_MODELS_DIR WORK_DIR\n",
            argv[0]);
    return 1;
  }

  // Absolute, so the test does not depend on its working directory.
  char* const program = realpath(argv[2], NULL);
  if (!program) {
    fprintf(stderr, "cannot find %s: %s\n", argv[2], strerror(errno));
    return 1;
  }
  statewave_path = program;
  source_root    = argv[3];
  shared_models  = argv[4];
  snprintf(work_dir, sizeof(work_dir), "%s/%s", argv[5], argv[1]);
  if (!make_dirs(work_dir)) {
    fprintf(stderr, "cannot make %s: %s\n", work_dir, strerror(errno));
    return 1;
  }
  signal(SIGPIPE, SIG_IGN); // A dead child shows up as a failed write.

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
    if (!strcmp(cases[i].name, argv[1])) {
      cases[i].run();
      printf("%s: %u failure%s\n", argv[1], failures, failures == 1 ? "" : "s");
      return failures ? 1 : 0;
    }
  }

  fprintf(stderr, "unknown case '%s'\n", argv[1]);
  return 1;
}
