/*
  The live host's three threads as `statewave run` runs them: an audio
  thread calling live_process() every callback, the loader thread loading
  and warming models, and the main loop (this thread) asking for loads,
  offering what loaded, sending bypass, reset and knob commands, reading
  the events and statistics and freeing what comes back. A fourth thread
  keeps changing one of the files asked for — replaced by rename, deleted,
  half written, in a loop — so loads of it meet the file at any moment.
  Made for ThreadSanitizer (the `threads` suite of a b_sanitize=thread
  build), which reports any access the threads make without ordering; in
  every build it checks that every offer is played or dropped and every
  replaced model handed back, that a load of the changing file gives one
  of its models or a refusal naming it (which changes nothing: the playing
  model plays on), and that the output stays finite.

    test_live_threads MODEL_A MODEL_B
*/

#define _GNU_SOURCE /* nanosleep under -std=c17 */

#include "live_model.h"
#include "live_state.h"
#include "loader.h"

#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHANNELS 2U
#define BLOCK 128U
#define RATE 48000.0
#define ROUNDS 60U

static int failures = 0;

static void
check(const bool ok, const char* const what)
{
  printf("%s: %s\n", ok ? "ok" : "FAIL", what);
  failures += !ok;
}

static void
pause_us(const long us)
{
  const struct timespec t = {0, us * 1000L};
  nanosleep(&t, NULL);
}

typedef struct {
  LiveState*  live;
  atomic_bool stop;
  atomic_uint callbacks;
  bool        finite; /* read after the join */
} Audio;

static void*
audio_thread(void* const arg)
{
  Audio* const audio = (Audio*)arg;
  static float in[CHANNELS][BLOCK];
  static float out[CHANNELS][BLOCK];
  const float* in_rows[CHANNELS]  = {in[0], in[1]};
  float*       out_rows[CHANNELS] = {out[0], out[1]};
  uint64_t     frame              = 0;
  while (!atomic_load(&audio->stop)) {
    for (uint32_t c = 0; c < CHANNELS; ++c) {
      for (uint32_t t = 0; t < BLOCK; ++t) {
        in[c][t] = 0.4f * sinf(0.03f * (float)(frame + t) * (float)(c + 1U));
      }
    }
    live_process(audio->live, in_rows, out_rows, BLOCK, 0U);
    for (uint32_t c = 0; c < CHANNELS; ++c) {
      for (uint32_t t = 0; t < BLOCK; ++t) {
        audio->finite = audio->finite && isfinite(out[c][t]);
      }
    }
    frame += BLOCK;
    if (atomic_fetch_add(&audio->callbacks, 1U) % 4U == 3U) {
      pause_us(300);
    }
  }
  return NULL;
}

typedef struct {
  unsigned asked;
  unsigned load_failures;
  unsigned bad_failures; /* a refusal of a file that does not change, or
                            one that does not name the file */
  unsigned wrong_models; /* a load that gave neither model */
  unsigned offers;
  unsigned playing;
  unsigned retired;
  unsigned dropped;
} Counts;

/* The changing file, and the parameter counts of the two models, which
   tell them apart. */
static const char* changing = NULL;
static uint64_t    params[2];

static uint64_t
params_of(const SwModel* const model)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  return info.num_params;
}

/* The main loop's two jobs, as cmd_run.c does them. */
static void
take_results(LiveState* const live, Loader* const loader, Counts* const n)
{
  LoadResult result;
  while (loader_take_result(loader, &result)) {
    if (!result.model) {
      ++n->load_failures;
      n->bad_failures += strcmp(result.request.path, changing) != 0 ||
                         !strstr(result.error, changing);
      continue;
    }
    const uint64_t p = params_of(result.model->model);
    n->wrong_models += p != params[0] && p != params[1];
    if (live_send_offer(live, result.model->engine, result.model,
                        &result.model->settings)) {
      ++n->offers;
    } else {
      live_model_free(result.model);
    }
  }
}

static void
take_events(LiveState* const live, Counts* const n)
{
  LiveEvent event;
  while (live_next_event(live, &event)) {
    switch (event.type) {
    case LIVE_EVENT_PLAYING: ++n->playing; break;
    case LIVE_EVENT_RETIRED:
      ++n->retired;
      live_model_free((LiveModel*)event.tag);
      break;
    case LIVE_EVENT_DROPPED:
      ++n->dropped;
      live_model_free((LiveModel*)event.tag);
      break;
    }
  }
}

/* The file changer: copies of the two models renamed over the file, the
   file deleted, and the first model half written in place, in turn. */
typedef struct {
  const char* models[2];
  char        scratch[4200];
  atomic_bool stop;
  unsigned    changes;
} Changer;

static void
copy_file(const char* const from, const char* const to, const bool half)
{
  char          buffer[1U << 17];
  const int     in = open(from, O_RDONLY);
  const ssize_t n  = in >= 0 ? read(in, buffer, sizeof(buffer)) : -1;
  const int     out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (n > 0 && out >= 0) {
    (void)!write(out, buffer, half ? (size_t)n / 2U : (size_t)n);
  }
  if (in >= 0) {
    close(in);
  }
  if (out >= 0) {
    close(out);
  }
}

static void*
changer_thread(void* const arg)
{
  Changer* const changer = (Changer*)arg;
  while (!atomic_load(&changer->stop)) {
    switch (changer->changes++ % 4U) {
    case 0:
    case 1:
      copy_file(changer->models[changer->changes % 2U], changer->scratch,
                false);
      rename(changer->scratch, changing);
      break;
    case 2: unlink(changing); break;
    default: copy_file(changer->models[0], changing, true); break;
    }
    pause_us(150);
  }
  return NULL;
}

static void
request(Loader* const loader, const uint64_t id, const char* const path,
        const bool preset)
{
  LiveModelRequest r;
  memset(&r, 0, sizeof(r));
  snprintf(r.path, sizeof(r.path), "%s", path);
  snprintf(r.label, sizeof(r.label), "%s", path);
  snprintf(r.origin, sizeof(r.origin), "model %s", path);
  r.is_preset = preset;
  r.has_gains = preset;
  r.mix       = 1.0f;
  for (uint32_t k = 0; k < SW_PROCESSOR_MAX_KNOBS; ++k) {
    r.current_knobs[k] = NAN;
  }
  if (!loader_request(loader, id, &r)) {
    fprintf(stderr, "FAIL: loader_request\n");
    exit(1);
  }
}

int
main(int argc, char** argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL_A MODEL_B\n", argv[0]);
    return 2;
  }
  char folder[] = "/tmp/statewave-live-threads-XXXXXX";
  if (!mkdtemp(folder)) {
    perror("mkdtemp");
    return 1;
  }
  char changing_path[4200];
  snprintf(changing_path, sizeof(changing_path), "%s/changing.json", folder);
  changing                   = changing_path;
  const char* const paths[3] = {argv[1], argv[2], changing_path};
  Changer           changer;
  memset(&changer, 0, sizeof(changer));
  changer.models[0] = argv[1];
  changer.models[1] = argv[2];
  snprintf(changer.scratch, sizeof(changer.scratch), "%s/next.json", folder);
  const LiveConfig       config  = {RATE, CHANNELS, BLOCK, 20.0f, 20.0f};
  const LiveEngineConfig engines = {RATE, CHANNELS, BLOCK, SW_BACKEND_CPU};
  char                   err[1024];
  LiveState* const       live = live_state_new(&config, err, sizeof(err));
  Loader* const          loader = live ? loader_new(&engines, err, sizeof(err))
                                       : NULL;
  if (!live || !loader) {
    fprintf(stderr, "FAIL: %s\n", err);
    return 1;
  }

  for (int m = 0; m < 2; ++m) {
    SwError        load_err;
    SwModel* const model = sw_model_load(argv[1 + m], &load_err);
    if (!model) {
      fprintf(stderr, "FAIL: %s\n", load_err.message);
      return 1;
    }
    params[m] = params_of(model);
    sw_model_free(model);
  }
  if (params[0] == params[1]) {
    fprintf(stderr, "FAIL: MODEL_A and MODEL_B must differ in size\n");
    return 2;
  }

  /* The first model, installed before the audio runs. */
  Counts counts;
  memset(&counts, 0, sizeof(counts));
  request(loader, 0, paths[0], false);
  LoadResult first;
  while (!loader_take_result(loader, &first)) {
    pause_us(1000);
  }
  if (!first.model ||
      !live_state_install(live, first.model->engine, first.model,
                          &first.model->settings)) {
    fprintf(stderr, "FAIL: the first model: %s\n", first.error);
    return 1;
  }

  Audio audio = {live, false, 0, true};
  pthread_t audio_id, changer_id;
  pthread_create(&audio_id, NULL, audio_thread, &audio);
  pthread_create(&changer_id, NULL, changer_thread, &changer);

  for (uint32_t round = 0; round < ROUNDS; ++round) {
    request(loader, round + 1U, paths[round % 3U], round % 2U == 0U);
    counts.asked += 1U;
    /* Commands while the load runs. */
    (void)live_send_knob(live, 0, (float)(round % 10U) / 10.0f);
    if (round % 7U == 0U) {
      (void)live_send_reset(live);
    }
    if (round % 11U == 5U) {
      (void)live_send_enabled(live, false);
    } else if (round % 11U == 7U) {
      (void)live_send_enabled(live, true);
    }
    struct pollfd wake = {loader_wake_fd(loader), POLLIN, 0};
    (void)poll(&wake, 1, 20);
    take_results(live, loader, &counts);
    take_events(live, &counts);
    LiveStats stats;
    live_read_stats(live, &stats);
  }
  (void)live_send_enabled(live, true);
  /* Every load answered, every offer played or dropped. */
  for (int wait = 0; wait < 500; ++wait) {
    take_results(live, loader, &counts);
    take_events(live, &counts);
    if (!loader_busy(loader) &&
        counts.offers == counts.playing + counts.dropped &&
        counts.retired == counts.playing) {
      break;
    }
    pause_us(10000);
  }
  atomic_store(&audio.stop, true);
  pthread_join(audio_id, NULL);
  atomic_store(&changer.stop, true);
  pthread_join(changer_id, NULL);
  loader_free(loader);
  unlink(changing_path);
  unlink(changer.scratch);
  rmdir(folder);

  LiveStats stats;
  live_read_stats(live, &stats);
  SwEngine* engine = NULL;
  void*     tag    = NULL;
  unsigned  held   = 0;
  while (live_state_release(live, &engine, &tag)) {
    live_model_free((LiveModel*)tag);
    ++held;
  }
  live_state_free(live);

  printf("%u callbacks; %u loads asked: %u failed, %u offered, %u played, "
         "%u dropped, %u retired; %llu swaps; the file changed %u times\n",
         atomic_load(&audio.callbacks), counts.asked, counts.load_failures,
         counts.offers, counts.playing, counts.dropped, counts.retired,
         (unsigned long long)stats.swaps, changer.changes);
  check(audio.finite, "the output stayed finite");
  check(counts.bad_failures == 0,
        "only loads of the changing file failed, each refusal naming it");
  check(counts.wrong_models == 0,
        "every load gave one of the two models, whole");
  check(counts.offers + counts.load_failures == counts.asked,
        "every other load was offered");
  check(counts.offers == counts.playing + counts.dropped &&
          stats.swaps == counts.playing,
        "every offer played or was dropped for a newer one");
  check(counts.retired == counts.playing && held == 1,
        "every replaced model came back, and one plays at the end");
  if (failures) {
    printf("%d check(s) failed\n", failures);
    return 1;
  }
  printf("all checks passed\n");
  return 0;
}
