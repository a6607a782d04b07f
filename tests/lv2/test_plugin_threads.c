/*
  The plugin on real threads, as a host such as jalv runs it: an audio
  thread calling run() every cycle (patch:Set of models, transport jumps,
  reset triggers, bypass), a worker thread doing the plugin's work
  (loads, frees) and handing responses back to the audio thread through
  lock-free rings, and a state thread calling save() and restore() while
  the plugin runs (state:threadSafeRestore, its loads scheduled on the same
  worker). Made for ThreadSanitizer (the `threads` suite of a
  b_sanitize=thread build), which reports any access the threads make
  without ordering; in every build it checks that nothing crashes, the
  output stays finite, the worker's loads arrive and are played, and
  save() always names a model the test asked for.

  usage: test_plugin_threads BUNDLE_DIR MODEL_A MODEL_B
  (BUNDLE_DIR: the built statewave.lv2, loaded directly with dlopen.)
*/

#define _GNU_SOURCE /* dlopen's RTLD_*, nanosleep under -std=c17 */

#include "ports.h"

#include <lv2/atom/forge.h>
#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/patch/patch.h>
#include <lv2/state/state.h>
#include <lv2/time/time.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RATE 48000.0
#define BLOCK 64U
#define CYCLES 6000U       /* audio cycles (8 s of audio at 48 kHz) */
#define SWITCH_EVERY 150U  /* cycles between patch:Set of the model */
#define MESSAGE_MAX 8192U
#define SLOTS 16U

static atomic_int failures = 0; /* CHECK runs on several threads */

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                     \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

static void
pause_us(const long us)
{
  const struct timespec t = {0, us * 1000L};
  nanosleep(&t, NULL);
}

/* ------------------------------------------------------------- rings ---- */

/* One writer thread, one reader thread: fixed slots, C11 atomics. */
typedef struct {
  struct {
    uint32_t size;
    _Alignas(8) uint8_t data[MESSAGE_MAX];
  } slots[SLOTS];
  atomic_uint written;
  atomic_uint read;
} Ring;

static bool
ring_push(Ring* const ring, const uint32_t size, const void* const data)
{
  const unsigned w = atomic_load_explicit(&ring->written, memory_order_relaxed);
  const unsigned r = atomic_load_explicit(&ring->read, memory_order_acquire);
  if (w - r == SLOTS || size > MESSAGE_MAX) {
    return false;
  }
  ring->slots[w % SLOTS].size = size;
  memcpy(ring->slots[w % SLOTS].data, data, size);
  atomic_store_explicit(&ring->written, w + 1U, memory_order_release);
  return true;
}

/* The next message (valid until the next pop), or NULL. */
static const void*
ring_front(Ring* const ring, uint32_t* const size)
{
  const unsigned r = atomic_load_explicit(&ring->read, memory_order_relaxed);
  const unsigned w = atomic_load_explicit(&ring->written, memory_order_acquire);
  if (r == w) {
    return NULL;
  }
  *size = ring->slots[r % SLOTS].size;
  return ring->slots[r % SLOTS].data;
}

static void
ring_pop(Ring* const ring)
{
  atomic_fetch_add_explicit(&ring->read, 1U, memory_order_release);
}

/* -------------------------------------------------------------- host ---- */

#define MAX_URIDS 128U

typedef struct {
  /* URID map and log: used from every thread, so behind a mutex. */
  pthread_mutex_t lock;
  char*           uris[MAX_URIDS];
  uint32_t        num_uris;
  unsigned        loads_logged;
  unsigned        errors_logged;

  const LV2_Descriptor*       descriptor;
  LV2_Handle                  handle;
  const LV2_Worker_Interface* worker;
  const LV2_State_Interface*  state;

  /* audio -> worker, state thread -> worker, worker -> audio */
  Ring  requests;
  Ring  state_requests;
  Ring  responses;
  sem_t work_waiting;

  atomic_bool stop_worker;
  atomic_bool stop_state;
  atomic_uint cycles_done;
  atomic_uint saves;
  atomic_uint restores;

  float                controls[PORT_AUDIO];
  float                in[BLOCK];
  float                out[BLOCK];
  _Alignas(8) uint8_t  control_buf[MESSAGE_MAX];
  _Alignas(8) uint8_t  notify_buf[MESSAGE_MAX];

  const char* models[2];
  bool        output_finite;
  unsigned    sets_sent;
} Host;

static Host host;

static LV2_URID
map_uri(LV2_URID_Map_Handle handle, const char* uri)
{
  Host* const h = (Host*)handle;
  pthread_mutex_lock(&h->lock);
  LV2_URID id = 0;
  for (uint32_t i = 0; i < h->num_uris && !id; ++i) {
    id = strcmp(h->uris[i], uri) ? 0U : i + 1U;
  }
  if (!id && h->num_uris < MAX_URIDS) {
    h->uris[h->num_uris] = strdup(uri);
    id                   = ++h->num_uris;
  }
  pthread_mutex_unlock(&h->lock);
  return id;
}

static LV2_URID_Map map = {&host, map_uri};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 0)))
#endif
static int
log_vprintf(LV2_Log_Handle handle, LV2_URID type, const char* fmt, va_list ap)
{
  (void)type;
  Host* const h = (Host*)handle;
  char        text[2048];
  const int   n = vsnprintf(text, sizeof(text), fmt, ap);
  pthread_mutex_lock(&h->lock);
  h->loads_logged += strstr(text, "statewave: loaded") != NULL;
  h->errors_logged += strstr(text, "running model is kept") != NULL;
  pthread_mutex_unlock(&h->lock);
  return n;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
log_printf(LV2_Log_Handle handle, LV2_URID type, const char* fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  const int n = log_vprintf(handle, type, fmt, ap);
  va_end(ap);
  return n;
}

static LV2_Log_Log log_feature = {&host, log_printf, log_vprintf};

/* work:schedule for run() and for restore(): each its own ring, one
   writer each; the worker thread reads both. */
static LV2_Worker_Status
schedule_from_audio(LV2_Worker_Schedule_Handle handle, uint32_t size,
                    const void* data)
{
  Host* const h = (Host*)handle;
  if (!ring_push(&h->requests, size, data)) {
    return LV2_WORKER_ERR_NO_SPACE;
  }
  sem_post(&h->work_waiting);
  return LV2_WORKER_SUCCESS;
}

static LV2_Worker_Status
schedule_from_state(LV2_Worker_Schedule_Handle handle, uint32_t size,
                    const void* data)
{
  Host* const h = (Host*)handle;
  if (!ring_push(&h->state_requests, size, data)) {
    return LV2_WORKER_ERR_NO_SPACE;
  }
  sem_post(&h->work_waiting);
  return LV2_WORKER_SUCCESS;
}

static LV2_Worker_Schedule audio_schedule = {&host, schedule_from_audio};
static LV2_Worker_Schedule state_schedule = {&host, schedule_from_state};

static LV2_Worker_Status
respond(LV2_Worker_Respond_Handle handle, uint32_t size, const void* data)
{
  return ring_push(&((Host*)handle)->responses, size, data)
           ? LV2_WORKER_SUCCESS
           : LV2_WORKER_ERR_NO_SPACE;
}

/* Do the work waiting in `ring`; how many messages there were. */
static unsigned
do_requests(Host* const h, Ring* const ring)
{
  uint32_t    size = 0;
  unsigned    done = 0;
  const void* data;
  while ((data = ring_front(ring, &size))) {
    h->worker->work(h->handle, respond, h, size, data);
    ring_pop(ring);
    ++done;
  }
  return done;
}

static void*
worker_thread(void* const arg)
{
  Host* const h = (Host*)arg;
  for (;;) {
    sem_wait(&h->work_waiting);
    do_requests(h, &h->requests);
    do_requests(h, &h->state_requests);
    if (atomic_load(&h->stop_worker)) {
      return NULL;
    }
  }
}

/* The responses, as the audio thread takes them before each run(); how
   many there were. */
static unsigned
deliver_responses(Host* const h)
{
  uint32_t    size = 0;
  unsigned    done = 0;
  const void* data;
  while ((data = ring_front(&h->responses, &size))) {
    h->worker->work_response(h->handle, size, data);
    ring_pop(&h->responses);
    ++done;
  }
  return done;
}

/* ------------------------------------------------------------- audio ---- */

typedef struct {
  LV2_URID patch_Set, patch_property, patch_value, sw_model, atom_Path;
  LV2_URID time_Position, time_speed, time_frame, atom_Chunk;
} Urids;

static Urids urids;

static void*
audio_thread(void* const arg)
{
  Host* const     h = (Host*)arg;
  LV2_Atom_Forge  forge;
  lv2_atom_forge_init(&forge, &map);
  int64_t transport = 0;
  for (uint32_t cycle = 0; cycle < CYCLES; ++cycle) {
    deliver_responses(h);

    lv2_atom_forge_set_buffer(&forge, h->control_buf, sizeof(h->control_buf));
    LV2_Atom_Forge_Frame sequence;
    lv2_atom_forge_sequence_head(&forge, &sequence, 0);
    if (cycle % SWITCH_EVERY == 10U) {
      /* A model, the other model, or a file that does not exist. */
      const unsigned which = (cycle / SWITCH_EVERY) % 3U;
      const char* const path =
        which < 2U ? h->models[which] : "/nonexistent/statewave-model.json";
      LV2_Atom_Forge_Frame object;
      lv2_atom_forge_frame_time(&forge, 5);
      lv2_atom_forge_object(&forge, &object, 0, urids.patch_Set);
      lv2_atom_forge_key(&forge, urids.patch_property);
      lv2_atom_forge_urid(&forge, urids.sw_model);
      lv2_atom_forge_key(&forge, urids.patch_value);
      lv2_atom_forge_path(&forge, path, (uint32_t)strlen(path));
      lv2_atom_forge_pop(&forge, &object);
      ++h->sets_sent;
    }
    /* The transport rolls, and jumps now and then. */
    transport += cycle % 97U == 0U ? 100000 : (int64_t)BLOCK;
    LV2_Atom_Forge_Frame position;
    lv2_atom_forge_frame_time(&forge, 0);
    lv2_atom_forge_object(&forge, &position, 0, urids.time_Position);
    lv2_atom_forge_key(&forge, urids.time_speed);
    lv2_atom_forge_float(&forge, 1.0f);
    lv2_atom_forge_key(&forge, urids.time_frame);
    lv2_atom_forge_long(&forge, transport);
    lv2_atom_forge_pop(&forge, &position);
    lv2_atom_forge_pop(&forge, &sequence);

    LV2_Atom* const notify = (LV2_Atom*)h->notify_buf;
    notify->type           = urids.atom_Chunk;
    notify->size = (uint32_t)(sizeof(h->notify_buf) - sizeof(LV2_Atom));
    h->controls[PORT_RESET]   = cycle % 211U < 3U ? 1.0f : 0.0f;
    h->controls[PORT_ENABLED] = cycle % 1000U < 100U ? 0.0f : 1.0f;
    for (uint32_t t = 0; t < BLOCK; ++t) {
      h->in[t] = 0.5f * sinf(0.0288f * (float)(cycle * BLOCK + t));
    }
    h->descriptor->run(h->handle, BLOCK);
    for (uint32_t t = 0; t < BLOCK; ++t) {
      h->output_finite = h->output_finite && isfinite(h->out[t]);
    }
    atomic_store(&h->cycles_done, cycle + 1U);
    if (cycle % 8U == 0U) {
      pause_us(200); /* let the other threads interleave */
    }
  }
  return NULL;
}

/* ------------------------------------------------------------- state ---- */

typedef struct {
  char     path[4096];
  uint32_t type;
} Saved;

static LV2_State_Status
store(LV2_State_Handle handle, uint32_t key, const void* value, size_t size,
      uint32_t type, uint32_t flags)
{
  (void)flags;
  Saved* const saved = (Saved*)handle;
  if (key == urids.sw_model && size <= sizeof(saved->path)) {
    memcpy(saved->path, value, size);
    saved->type = type;
  }
  return LV2_STATE_SUCCESS;
}

static const void*
retrieve(LV2_State_Handle handle, uint32_t key, size_t* size, uint32_t* type,
         uint32_t* flags)
{
  const char* const path = (const char*)handle;
  if (key != urids.sw_model) {
    return NULL;
  }
  *size  = strlen(path) + 1U;
  *type  = urids.atom_Path;
  *flags = LV2_STATE_IS_POD;
  return path;
}

static bool
saved_path_is_known(const Host* const h, const char* const path,
                    const char* const default_model)
{
  return !strcmp(path, h->models[0]) || !strcmp(path, h->models[1]) ||
         !strcmp(path, default_model);
}

static char default_model[4200];

static void*
state_thread(void* const arg)
{
  Host* const h = (Host*)arg;
  const LV2_Feature  schedule_feature = {LV2_WORKER__schedule,
                                         &state_schedule};
  const LV2_Feature* features[]       = {&schedule_feature, NULL};
  unsigned           round            = 0;
  while (!atomic_load(&h->stop_state)) {
    Saved saved;
    memset(&saved, 0, sizeof(saved));
    h->state->save(h->handle, store, &saved, LV2_STATE_IS_POD, features);
    CHECK(saved.type == urids.atom_Path &&
            saved_path_is_known(h, saved.path, default_model),
          "save() stored \"%s\" while the plugin ran", saved.path);
    atomic_fetch_add(&h->saves, 1U);
    if (round % 4U == 3U) {
      h->state->restore(h->handle, retrieve, (void*)h->models[round % 8U / 4U],
                        0, features);
      atomic_fetch_add(&h->restores, 1U);
    }
    ++round;
    pause_us(3000);
  }
  return NULL;
}

/* -------------------------------------------------------------- main ---- */

int
main(int argc, char** argv)
{
  if (argc != 4) {
    fprintf(stderr, "usage: %s BUNDLE_DIR MODEL_A MODEL_B\n", argv[0]);
    return 2;
  }
  const char* const bundle = argv[1];
  pthread_mutex_init(&host.lock, NULL);
  sem_init(&host.work_waiting, 0, 0);
  host.models[0]     = argv[2];
  host.models[1]     = argv[3];
  host.output_finite = true;

  char library[4200];
  snprintf(library, sizeof(library), "%s/statewave_lv2.so", bundle);
  snprintf(default_model, sizeof(default_model), "%s/default-overdrive.json",
           bundle);
  void* const module = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!module) {
    fprintf(stderr, "FAIL: dlopen %s: %s\n", library, dlerror());
    return 1;
  }
  void* const             symbol        = dlsym(module, "lv2_descriptor");
  LV2_Descriptor_Function descriptor_of = NULL;
  memcpy(&descriptor_of, &symbol, sizeof(symbol)); /* object -> function */
  host.descriptor = descriptor_of ? descriptor_of(0) : NULL;
  if (!host.descriptor) {
    fprintf(stderr, "FAIL: no lv2_descriptor in %s\n", library);
    return 1;
  }

  urids = (Urids){
    map_uri(&host, LV2_PATCH__Set),      map_uri(&host, LV2_PATCH__property),
    map_uri(&host, LV2_PATCH__value),    map_uri(&host, SW_LV2_MODEL_URI),
    map_uri(&host, LV2_ATOM__Path),      map_uri(&host, LV2_TIME__Position),
    map_uri(&host, LV2_TIME__speed),     map_uri(&host, LV2_TIME__frame),
    map_uri(&host, LV2_ATOM__Chunk)};
  int32_t block = (int32_t)BLOCK;
  const LV2_Options_Option options[] = {
    {LV2_OPTIONS_INSTANCE, 0, map_uri(&host, LV2_BUF_SIZE__maxBlockLength),
     sizeof(int32_t), map_uri(&host, LV2_ATOM__Int), &block},
    {LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL},
  };
  const LV2_Feature map_feature      = {LV2_URID__map, &map};
  const LV2_Feature log_feature_     = {LV2_LOG__log, &log_feature};
  const LV2_Feature options_feature  = {LV2_OPTIONS__options, (void*)options};
  const LV2_Feature schedule_feature = {LV2_WORKER__schedule, &audio_schedule};
  const LV2_Feature* features[] = {&map_feature, &log_feature_,
                                   &options_feature, &schedule_feature, NULL};
  char bundle_path[4200];
  snprintf(bundle_path, sizeof(bundle_path), "%s/", bundle);
  host.handle = host.descriptor->instantiate(host.descriptor, RATE,
                                             bundle_path, features);
  if (!host.handle) {
    fprintf(stderr, "FAIL: cannot instantiate the mono plugin\n");
    return 1;
  }
  host.worker = (const LV2_Worker_Interface*)host.descriptor->extension_data(
    LV2_WORKER__interface);
  host.state = (const LV2_State_Interface*)host.descriptor->extension_data(
    LV2_STATE__interface);
  for (size_t i = 0; i < SW_LV2_NUM_CONTROLS; ++i) {
    host.controls[sw_lv2_controls[i].index] = sw_lv2_controls[i].def;
  }
  for (uint32_t port = 0; port < PORT_AUDIO; ++port) {
    host.descriptor->connect_port(host.handle, port,
                                  port == PORT_CONTROL  ? (void*)host.control_buf
                                  : port == PORT_NOTIFY ? (void*)host.notify_buf
                                                        : (void*)&host.controls[port]);
  }
  host.descriptor->connect_port(host.handle, PORT_AUDIO, host.in);
  host.descriptor->connect_port(host.handle, PORT_AUDIO + 1U, host.out);
  host.descriptor->activate(host.handle);

  pthread_t worker, audio, state;
  pthread_create(&worker, NULL, worker_thread, &host);
  pthread_create(&state, NULL, state_thread, &host);
  pthread_create(&audio, NULL, audio_thread, &host);
  pthread_join(audio, NULL);
  atomic_store(&host.stop_state, true);
  pthread_join(state, NULL);

  /* The audio and state threads have stopped. The worker stops after the
     work it has; then this thread delivers the responses and does the work
     they bring (frees, a newer load replacing one not yet taken), in turn,
     until none is left, as a host's last cycles and its worker would: every
     model loaded ends up in the plugin, which frees it, or freed. */
  atomic_store(&host.stop_worker, true);
  sem_post(&host.work_waiting);
  pthread_join(worker, NULL);
  while (deliver_responses(&host) + do_requests(&host, &host.requests) +
         do_requests(&host, &host.state_requests)) {
  }

  Saved last;
  memset(&last, 0, sizeof(last));
  host.state->save(host.handle, store, &last, LV2_STATE_IS_POD, NULL);
  host.descriptor->deactivate(host.handle);
  host.descriptor->cleanup(host.handle);

  printf("%u cycles of %u frames, %u patch:Set sent, %u loads and %u refusals "
         "logged, %u saves and %u restores while running; plays %s\n",
         atomic_load(&host.cycles_done), BLOCK, host.sets_sent,
         host.loads_logged, host.errors_logged, atomic_load(&host.saves),
         atomic_load(&host.restores), last.path);
  CHECK(host.output_finite, "the output was not always finite");
  CHECK(atomic_load(&host.cycles_done) == CYCLES, "the audio thread stopped "
        "early");
  CHECK(host.loads_logged >= host.sets_sent / 3U,
        "%u loads logged for %u patch:Set (two in three name a model)",
        host.loads_logged, host.sets_sent);
  CHECK(host.errors_logged >= 1, "the missing file was never refused");
  CHECK(atomic_load(&host.saves) > 10 && atomic_load(&host.restores) > 2,
        "the state thread did not run alongside (%u saves, %u restores)",
        atomic_load(&host.saves), atomic_load(&host.restores));
  CHECK(saved_path_is_known(&host, last.path, default_model),
        "at the end the plugin plays \"%s\"", last.path);

  for (uint32_t i = 0; i < host.num_uris; ++i) {
    free(host.uris[i]);
  }
  dlclose(module);
  sem_destroy(&host.work_waiting);
  pthread_mutex_destroy(&host.lock);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
