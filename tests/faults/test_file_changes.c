/*
  A model file deleted, replaced or rewritten while sw_model_load() reads
  it. The change is made at the worst moments, exactly: this executable
  defines fopen and fopen64 (export_dynamic, so libstatewave's call binds
  to them) and changes the file right before the library's open (after it
  has looked at the file's size) or right after it (before it reads). Each
  load must give the old model, the new one, or a refusal that names the
  file — here the exact outcome is known and checked — and never a crash,
  a half-read model or a read past the buffer (the sanitizer builds run
  this too). An engine made from the old model beforehand plays on,
  unchanged, whatever the loads did.

  The hosts load through the same call: the plugin's worker and the live
  loader keep the playing model when a load fails (plugin_host and
  live_threads show it with files changing under them).

    test_file_changes OLD SMALLER LARGER
  (three different models; SMALLER's file is shorter than OLD's, LARGER's
  longer)
*/

#define _GNU_SOURCE /* RTLD_NEXT */
/* fopen and fopen64 are defined apart: no redirection of one to the
   other. */
#undef _FILE_OFFSET_BITS

#include <statewave/statewave.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures = 0;

/* ------------------------------------------------ changing the file ---- */

typedef enum {
  KEEP,
  DELETE,
  RENAME_SMALLER, /* another file renamed over it (an atomic replace) */
  RENAME_LARGER,
  REWRITE_SMALLER, /* truncated and written again in place */
  REWRITE_LARGER,
  TRUNCATE_HALF,
} Change;

static const char* watched = NULL; /* the file the library will open */
static const char* smaller = NULL;
static const char* larger  = NULL;
static Change      before_open = KEEP;
static Change      after_open  = KEEP;
static char        scratch[4200];

static void
copy_into(const char* const from, const char* const to)
{
  char         buffer[65536];
  const int    in  = open(from, O_RDONLY);
  const int    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ssize_t      n   = 0;
  while (in >= 0 && out >= 0 && (n = read(in, buffer, sizeof(buffer))) > 0) {
    if (write(out, buffer, (size_t)n) != n) {
      break;
    }
  }
  if (in < 0 || out < 0 || n != 0) {
    fprintf(stderr, "FAIL: cannot copy %s to %s\n", from, to);
    exit(1);
  }
  close(in);
  close(out);
}

/* With open/read/write/rename, never fopen: this runs inside fopen. */
static void
change(const Change what)
{
  switch (what) {
  case KEEP: break;
  case DELETE: unlink(watched); break;
  case RENAME_SMALLER:
  case RENAME_LARGER:
    copy_into(what == RENAME_SMALLER ? smaller : larger, scratch);
    rename(scratch, watched);
    break;
  case REWRITE_SMALLER:
  case REWRITE_LARGER:
    copy_into(what == REWRITE_SMALLER ? smaller : larger, watched);
    break;
  case TRUNCATE_HALF: {
    struct stat info;
    if (stat(watched, &info) == 0) {
      (void)!truncate(watched, info.st_size / 2);
    }
    break;
  }
  }
}

typedef FILE* (*FopenFunc)(const char*, const char*);

static FILE*
changing_fopen(const char* const name, const char* const path,
               const char* const mode)
{
  const FopenFunc real = (FopenFunc)(uintptr_t)dlsym(RTLD_NEXT, name);
  const bool      ours = watched && path && !strcmp(path, watched);
  if (ours) {
    change(before_open);
  }
  FILE* const file = real ? real(path, mode) : NULL;
  if (ours) {
    change(after_open);
    before_open = after_open = KEEP;
  }
  return file;
}

FILE*
fopen(const char* path, const char* mode)
{
  return changing_fopen("fopen", path, mode);
}

/* What code built with _FILE_OFFSET_BITS=64 (Meson's default) calls. */
FILE*
fopen64(const char* path, const char* mode)
{
  return changing_fopen("fopen64", path, mode);
}

/* --------------------------------------------------- telling models ---- */

#define FRAMES 512U

/* What a model plays for a fixed input: tells the three apart. */
static void
fingerprint(const SwModel* const model, float* const out)
{
  SwEngineConfig config = sw_engine_config_default();
  config.backend        = SW_BACKEND_CPU;
  config.max_block      = FRAMES;
  SwError         err;
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  float           in[FRAMES];
  for (uint32_t t = 0; t < FRAMES; ++t) {
    in[t] = 0.5f * sinf(0.05f * (float)t);
  }
  const float* in_rows[1]  = {in};
  float*       out_rows[1] = {out};
  if (!engine ||
      sw_engine_process(engine, in_rows, out_rows, FRAMES) != SW_SUCCESS) {
    fprintf(stderr, "FAIL: cannot run a model\n");
    exit(1);
  }
  sw_engine_free(engine);
}

static float prints[3][FRAMES]; /* OLD, SMALLER, LARGER */

typedef enum { GOT_OLD, GOT_SMALLER, GOT_LARGER, REFUSED, GOT_OTHER } Outcome;

static const char* const outcome_names[] = {
  "the old model", "the smaller model", "the larger model",
  "a refusal naming the file", "a model that is none of them"};

static Outcome
outcome_of(const SwModel* const model)
{
  if (!model) {
    return REFUSED;
  }
  float print[FRAMES];
  fingerprint(model, print);
  for (int m = 0; m < 3; ++m) {
    if (!memcmp(print, prints[m], sizeof(print))) {
      return (Outcome)m;
    }
  }
  return GOT_OTHER;
}

static SwModel*
load_or_die(const char* const path)
{
  SwError        err;
  SwModel* const model = sw_model_load(path, &err);
  if (!model) {
    fprintf(stderr, "FAIL: %s\n", err.message);
    exit(1);
  }
  return model;
}

/* ------------------------------------------------------------- cases ---- */

static void
check(const char* const old_path, const char* const title,
      const Change before, const Change after, const Outcome expected,
      const char* const refusal_says)
{
  copy_into(old_path, watched); /* the old model, fresh */
  before_open = before;
  after_open  = after;
  SwError        err;
  err.message[0]       = '\0';
  SwModel* const model = sw_model_load(watched, &err);
  Outcome        got   = outcome_of(model);
  if (got == REFUSED &&
      (!strstr(err.message, watched) ||
       (refusal_says && !strstr(err.message, refusal_says)))) {
    got = GOT_OTHER; /* a refusal that does not say what it should */
  }
  printf("%s: %s: %s%s%s\n", got == expected ? "ok" : "FAIL", title,
         outcome_names[got], model ? "" : ": ", model ? "" : err.message);
  if (got != expected) {
    printf("FAIL: %s: expected %s\n", title, outcome_names[expected]);
    ++failures;
  }
  sw_model_free(model);
}

int
main(int argc, char** argv)
{
  if (argc != 4) {
    fprintf(stderr, "usage: %s OLD SMALLER LARGER\n", argv[0]);
    return 2;
  }
  char folder[] = "/tmp/statewave-file-changes-XXXXXX";
  if (!mkdtemp(folder)) {
    perror("mkdtemp");
    return 1;
  }
  char path[4200];
  snprintf(path, sizeof(path), "%s/model.json", folder);
  snprintf(scratch, sizeof(scratch), "%s/next.json", folder);
  watched = path;
  smaller = argv[2];
  larger  = argv[3];
  struct stat a, b, c;
  if (stat(argv[1], &a) || stat(smaller, &b) || stat(larger, &c) ||
      !(b.st_size < a.st_size && c.st_size > a.st_size)) {
    fprintf(stderr, "FAIL: SMALLER must be shorter and LARGER longer than "
            "OLD\n");
    return 2;
  }
  for (int m = 0; m < 3; ++m) {
    SwModel* const model = load_or_die(argv[1 + m]);
    fingerprint(model, prints[m]);
    sw_model_free(model);
  }

  /* An engine made beforehand plays on through all of it. */
  SwModel* const playing = load_or_die(argv[1]);

  check(argv[1], "deleted after its size is read, before it is opened",
        DELETE, KEEP, REFUSED, "cannot open");
  check(argv[1], "deleted after it is opened", KEEP, DELETE, GOT_OLD, NULL);
  check(argv[1], "replaced by a shorter file before it is opened",
        RENAME_SMALLER, KEEP, GOT_SMALLER, NULL);
  check(argv[1], "replaced by a longer file before it is opened",
        RENAME_LARGER, KEEP, REFUSED, NULL);
  check(argv[1], "replaced by rename after it is opened", KEEP,
        RENAME_LARGER, GOT_OLD, NULL);
  check(argv[1], "rewritten in place, shorter, after it is opened", KEEP,
        REWRITE_SMALLER, GOT_SMALLER, NULL);
  check(argv[1], "rewritten in place, longer, after it is opened", KEEP,
        REWRITE_LARGER, REFUSED, NULL);
  check(argv[1], "truncated to half after it is opened", KEEP, TRUNCATE_HALF,
        REFUSED, NULL);

  float after[FRAMES];
  fingerprint(playing, after);
  if (memcmp(after, prints[0], sizeof(after)) != 0) {
    printf("FAIL: the model loaded beforehand no longer plays the same\n");
    ++failures;
  } else {
    printf("ok: the model loaded beforehand plays as before\n");
  }
  sw_model_free(playing);

  unlink(path);
  unlink(scratch);
  rmdir(folder);
  if (failures) {
    printf("%d check(s) failed\n", failures);
    return 1;
  }
  printf("all checks passed\n");
  return 0;
}
