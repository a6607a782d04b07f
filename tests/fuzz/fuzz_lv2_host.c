#define _GNU_SOURCE /* strdup under -std=c17 */

#include "fuzz_lv2_host.h"

#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/patch/patch.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_URIDS 256U

/* Defined by the plugin (plugin.c, compiled into the target). */
const LV2_Descriptor*
lv2_descriptor(uint32_t index);

static char*    uris[MAX_URIDS];
static uint32_t num_uris = 0;

static LV2_URID
map_uri(LV2_URID_Map_Handle handle, const char* uri)
{
  (void)handle;
  for (uint32_t i = 0; i < num_uris; ++i) {
    if (!strcmp(uris[i], uri)) {
      return i + 1U;
    }
  }
  if (num_uris == MAX_URIDS) {
    abort(); /* the plugin maps a fixed set: this would be a leak */
  }
  uris[num_uris] = strdup(uri);
  return ++num_uris;
}

static LV2_URID_Map map = {NULL, map_uri};

LV2_URID
fuzz_lv2_urid(const char* const uri)
{
  return map_uri(NULL, uri);
}

static volatile size_t log_sink;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 0)))
#endif
static int
log_vprintf(LV2_Log_Handle handle, LV2_URID type, const char* fmt, va_list ap)
{
  (void)handle;
  (void)type;
  char      text[2048];
  const int n = vsnprintf(text, sizeof(text), fmt, ap);
  log_sink += n > 0 ? (size_t)n : 0U;
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

static LV2_Log_Log log_feature = {NULL, log_printf, log_vprintf};

/* Worker: fixed queues, as a host's ring buffers. */
static LV2_Worker_Status
enqueue(FuzzLv2Queue* const queue, const uint32_t size, const void* const data)
{
  if (queue->count == FUZZ_LV2_QUEUE || size > FUZZ_LV2_MESSAGE_MAX) {
    return LV2_WORKER_ERR_NO_SPACE;
  }
  queue->items[queue->count].size = size;
  memcpy(queue->items[queue->count].data, data, size);
  ++queue->count;
  return LV2_WORKER_SUCCESS;
}

static LV2_Worker_Status
schedule_work(LV2_Worker_Schedule_Handle handle, uint32_t size,
              const void* data)
{
  return enqueue(&((FuzzLv2Plugin*)handle)->requests, size, data);
}

static LV2_Worker_Status
respond(LV2_Worker_Respond_Handle handle, uint32_t size, const void* data)
{
  return enqueue(&((FuzzLv2Plugin*)handle)->responses, size, data);
}

static bool
dequeue(FuzzLv2Queue* const queue, FuzzLv2Message* const out)
{
  if (!queue->count) {
    return false;
  }
  *out = queue->items[0];
  memmove(&queue->items[0], &queue->items[1],
          (queue->count - 1U) * sizeof(FuzzLv2Message));
  --queue->count;
  return true;
}

void
fuzz_lv2_do_work(FuzzLv2Plugin* const p)
{
  static FuzzLv2Message message;
  while (p->requests.count || p->responses.count) {
    while (dequeue(&p->requests, &message)) {
      p->worker->work(p->handle, respond, p, message.size, message.data);
    }
    while (dequeue(&p->responses, &message)) {
      p->worker->work_response(p->handle, message.size, message.data);
    }
  }
}

/* state:mapPath over the session folder, FUZZ_LV2_FOLDER. */
static char*
abstract_path(LV2_State_Map_Path_Handle handle, const char* absolute)
{
  (void)handle;
  const size_t n = strlen(FUZZ_LV2_FOLDER);
  if (!strncmp(absolute, FUZZ_LV2_FOLDER, n) && absolute[n] == '/') {
    return strdup(absolute + n + 1U);
  }
  return strdup(absolute);
}

static char*
absolute_path(LV2_State_Map_Path_Handle handle, const char* abstract)
{
  (void)handle;
  if (abstract[0] == '/') {
    return strdup(abstract);
  }
  const size_t length = strlen(FUZZ_LV2_FOLDER) + strlen(abstract) + 2U;
  char* const  path   = (char*)malloc(length);
  if (path) {
    snprintf(path, length, "%s/%s", FUZZ_LV2_FOLDER, abstract);
  }
  return path;
}

static void
free_path(LV2_State_Free_Path_Handle handle, char* path)
{
  (void)handle;
  free(path);
}

static LV2_State_Map_Path  map_path  = {NULL, abstract_path, absolute_path};
static LV2_State_Free_Path free_path_ = {NULL, free_path};
static const LV2_Feature   map_path_feature  = {LV2_STATE__mapPath, &map_path};
static const LV2_Feature   free_path_feature = {LV2_STATE__freePath,
                                                &free_path_};

const LV2_Feature*
fuzz_lv2_map_path_feature(void)
{
  return &map_path_feature;
}

const LV2_Feature*
fuzz_lv2_free_path_feature(void)
{
  return &free_path_feature;
}

void
fuzz_lv2_plugin_init(FuzzLv2Plugin* const p, const bool stereo,
                     const bool with_worker)
{
  memset(p, 0, sizeof(*p));
  p->descriptor = lv2_descriptor(stereo ? 1U : 0U);
  p->channels   = stereo ? 2U : 1U;

  static int32_t            block = (int32_t)FUZZ_LV2_BLOCK;
  const LV2_Options_Option options[] = {
    {LV2_OPTIONS_INSTANCE, 0, map_uri(NULL, LV2_BUF_SIZE__maxBlockLength),
     sizeof(int32_t), map_uri(NULL, LV2_ATOM__Int), &block},
    {LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL},
  };
  p->schedule = (LV2_Worker_Schedule){p, schedule_work};
  const LV2_Feature map_feature      = {LV2_URID__map, &map};
  const LV2_Feature log_feature_     = {LV2_LOG__log, &log_feature};
  const LV2_Feature options_feature  = {LV2_OPTIONS__options,
                                        (void*)options};
  const LV2_Feature schedule_feature = {LV2_WORKER__schedule, &p->schedule};
  const LV2_Feature* features[] = {&map_feature, &log_feature_,
                                   &options_feature,
                                   with_worker ? &schedule_feature : NULL,
                                   NULL};
  p->handle = p->descriptor->instantiate(p->descriptor, 48000.0,
                                         FUZZ_LV2_FOLDER, features);
  if (!p->handle) {
    fprintf(stderr, "fuzz: cannot instantiate the plugin from %s\n",
            FUZZ_LV2_FOLDER);
    abort();
  }
  p->worker = (const LV2_Worker_Interface*)p->descriptor->extension_data(
    LV2_WORKER__interface);
  p->state = (const LV2_State_Interface*)p->descriptor->extension_data(
    LV2_STATE__interface);

  for (size_t i = 0; i < SW_LV2_NUM_CONTROLS; ++i) {
    p->controls[sw_lv2_controls[i].index] = sw_lv2_controls[i].def;
  }
  for (uint32_t port = 0; port < PORT_AUDIO; ++port) {
    p->descriptor->connect_port(
      p->handle, port,
      port == PORT_CONTROL  ? (void*)p->control_buf
      : port == PORT_NOTIFY ? (void*)p->notify_buf
                            : (void*)&p->controls[port]);
  }
  for (uint32_t c = 0; c < p->channels; ++c) {
    p->descriptor->connect_port(p->handle, PORT_AUDIO + c, p->in[c]);
    p->descriptor->connect_port(p->handle, PORT_AUDIO + p->channels + c,
                                p->out[c]);
  }
  lv2_atom_forge_init(&p->forge, &map);
  p->descriptor->activate(p->handle);
  p->activated = true;
}

void
fuzz_lv2_plugin_cleanup(FuzzLv2Plugin* const p)
{
  if (p->activated) {
    p->descriptor->deactivate(p->handle);
  }
  /* The worker runs dry first, as a host stops its worker: models handed
     to it to free are freed there, loads finished are delivered (and
     freed by cleanup()). */
  fuzz_lv2_do_work(p);
  p->descriptor->cleanup(p->handle);
}

LV2_Atom_Forge*
fuzz_lv2_events(FuzzLv2Plugin* const p)
{
  if (!p->sequence_open) {
    lv2_atom_forge_set_buffer(&p->forge, p->control_buf,
                              sizeof(p->control_buf));
    lv2_atom_forge_sequence_head(&p->forge, &p->sequence, 0);
    p->sequence_open = true;
  }
  return &p->forge;
}

void
fuzz_lv2_run(FuzzLv2Plugin* const p, const uint32_t frames)
{
  (void)fuzz_lv2_events(p);
  lv2_atom_forge_pop(&p->forge, &p->sequence);
  p->sequence_open = false;

  LV2_Atom* const notify = (LV2_Atom*)p->notify_buf;
  notify->type           = map_uri(NULL, LV2_ATOM__Chunk);
  notify->size = (uint32_t)(sizeof(p->notify_buf) - sizeof(LV2_Atom));
  for (uint32_t c = 0; c < p->channels; ++c) {
    for (uint32_t t = frames; t < FUZZ_LV2_BLOCK; ++t) {
      p->out[c][t] = 0.0f;
    }
  }
  p->descriptor->run(p->handle, frames);

  for (uint32_t c = 0; c < p->channels; ++c) {
    for (uint32_t t = 0; t < frames; ++t) {
      if (!isfinite(p->out[c][t])) {
        fprintf(stderr, "fuzz: run() wrote %g at frame %u of channel %u\n",
                (double)p->out[c][t], t, c);
        abort();
      }
    }
  }
  /* The notify port holds a sequence within its buffer. */
  const LV2_Atom_Sequence* const seq = (const LV2_Atom_Sequence*)p->notify_buf;
  if (seq->atom.size > sizeof(p->notify_buf) - sizeof(LV2_Atom)) {
    fprintf(stderr, "fuzz: notify sequence of %u bytes overruns its port\n",
            seq->atom.size);
    abort();
  }
  const LV2_URID status = map_uri(NULL, SW_LV2_STATUS_URI);
  LV2_ATOM_SEQUENCE_FOREACH (seq, ev) {
    const uint8_t* const end =
      (const uint8_t*)LV2_ATOM_BODY_CONST(&seq->atom) + seq->atom.size;
    if ((const uint8_t*)LV2_ATOM_BODY_CONST(&ev->body) + ev->body.size > end) {
      fprintf(stderr, "fuzz: a notify event overruns its sequence\n");
      abort();
    }
    const LV2_Atom_URID* property = NULL;
    const LV2_Atom*      value    = NULL;
    lv2_atom_object_get((const LV2_Atom_Object*)&ev->body,
                        map_uri(NULL, LV2_PATCH__property), &property,
                        map_uri(NULL, LV2_PATCH__value), &value, 0);
    if (property && value && property->body == status) {
      const char* const text = (const char*)LV2_ATOM_BODY_CONST(value);
      if (value->size == 0 || text[value->size - 1U] != '\0' ||
          value->size > sizeof(p->status)) {
        fprintf(stderr, "fuzz: a notified status is not a terminated "
                "string\n");
        abort();
      }
      memcpy(p->status, text, value->size);
    }
  }
}

typedef struct {
  char     path[4096];
  uint32_t type;
  bool     stored;
} Saved;

static LV2_State_Status
store(LV2_State_Handle handle, uint32_t key, const void* value, size_t size,
      uint32_t type, uint32_t flags)
{
  (void)flags;
  Saved* const saved = (Saved*)handle;
  if (key != map_uri(NULL, SW_LV2_MODEL_URI)) {
    return LV2_STATE_SUCCESS;
  }
  const char* const text = (const char*)value;
  if (size == 0 || size > sizeof(saved->path) || text[size - 1] != '\0' ||
      strlen(text) + 1U != size) {
    fprintf(stderr, "fuzz: save() stored a model path of %zu bytes that is "
            "not one NUL-terminated string\n", size);
    abort();
  }
  memcpy(saved->path, text, size);
  saved->type   = type;
  saved->stored = true;
  return LV2_STATE_SUCCESS;
}

void
fuzz_lv2_save(FuzzLv2Plugin* const p, const bool with_map_path,
              char* const path, const size_t size)
{
  Saved              saved;
  const LV2_Feature* features[] = {with_map_path ? &map_path_feature : NULL,
                                   &free_path_feature, NULL};
  memset(&saved, 0, sizeof(saved));
  const LV2_State_Status status =
    p->state->save(p->handle, store, &saved, LV2_STATE_IS_POD, features);
  if (status != LV2_STATE_SUCCESS) {
    fprintf(stderr, "fuzz: save() failed (%d)\n", (int)status);
    abort();
  }
  if (saved.stored && saved.type != map_uri(NULL, LV2_ATOM__Path)) {
    fprintf(stderr, "fuzz: save() stored the model as type %u\n", saved.type);
    abort();
  }
  snprintf(path, size, "%s", saved.stored ? saved.path : "");
}
