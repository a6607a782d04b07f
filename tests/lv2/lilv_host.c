#define _GNU_SOURCE /* strdup, va_copy under -std=c17 */

#include "lilv_host.h"

#include "rt_interposer.h"

#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/patch/patch.h>
#include <lv2/state/state.h>
#include <lv2/time/time.h>
#include <lv2/worker/worker.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_URIDS 512U
#define LOG_SIZE 65536U

struct HostWorld {
  LilvWorld*      world;
  double          sample_rate;
  char*           uris[MAX_URIDS];
  uint32_t        num_uris;
  LV2_URID_Map    map;
  LV2_URID_Unmap  unmap;
  LV2_Log_Log     log;
  char            log_text[LOG_SIZE];
  size_t          log_length;
  int32_t         block;
  float           rate_f;
  LV2_Options_Option options[4];
};

static LV2_URID
map_uri(LV2_URID_Map_Handle handle, const char* uri)
{
  HostWorld* const w = (HostWorld*)handle;
  for (uint32_t i = 0; i < w->num_uris; ++i) {
    if (!strcmp(w->uris[i], uri)) {
      return i + 1U;
    }
  }
  if (w->num_uris == MAX_URIDS) {
    return 0;
  }
  w->uris[w->num_uris] = strdup(uri);
  return ++w->num_uris;
}

static const char*
unmap_uri(LV2_URID_Unmap_Handle handle, LV2_URID urid)
{
  HostWorld* const w = (HostWorld*)handle;
  return urid >= 1 && urid <= w->num_uris ? w->uris[urid - 1U] : NULL;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 0)))
#endif
static int
log_vprintf(LV2_Log_Handle handle, LV2_URID type, const char* fmt, va_list ap)
{
  (void)type;
  HostWorld* const w    = (HostWorld*)handle;
  const size_t     room = LOG_SIZE - w->log_length;
  va_list          copy;
  va_copy(copy, ap);
  const int n = vsnprintf(w->log_text + w->log_length, room, fmt, ap);
  if (n > 0) {
    fprintf(stderr, "  [plugin log] ");
    vfprintf(stderr, fmt, copy);
    w->log_length += (size_t)n < room ? (size_t)n : room - 1U;
  }
  va_end(copy);
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

HostWorld*
host_world_new(const double sample_rate)
{
  HostWorld* const w = (HostWorld*)calloc(1, sizeof(HostWorld));
  w->world           = lilv_world_new();
  lilv_world_load_all(w->world);
  w->sample_rate  = sample_rate;
  w->map          = (LV2_URID_Map){w, map_uri};
  w->unmap        = (LV2_URID_Unmap){w, unmap_uri};
  w->log          = (LV2_Log_Log){w, log_printf, log_vprintf};
  w->block        = (int32_t)HOST_MAX_BLOCK;
  w->rate_f       = (float)sample_rate;
  const LV2_URID int_type = map_uri(w, LV2_ATOM__Int);
  w->options[0] = (LV2_Options_Option){LV2_OPTIONS_INSTANCE, 0,
                                       map_uri(w, LV2_BUF_SIZE__maxBlockLength),
                                       sizeof(int32_t), int_type, &w->block};
  w->options[1] = (LV2_Options_Option){
    LV2_OPTIONS_INSTANCE, 0, map_uri(w, LV2_BUF_SIZE__nominalBlockLength),
    sizeof(int32_t), int_type, &w->block};
  w->options[2] = (LV2_Options_Option){
    LV2_OPTIONS_INSTANCE, 0,
    map_uri(w, "http://lv2plug.in/ns/ext/parameters#sampleRate"),
    sizeof(float), map_uri(w, LV2_ATOM__Float), &w->rate_f};
  memset(&w->options[3], 0, sizeof(w->options[3]));

  LilvNode* const uri = lilv_new_uri(w->world, SW_LV2_MONO_URI);
  const bool found =
    lilv_plugins_get_by_uri(lilv_world_get_all_plugins(w->world), uri) != NULL;
  lilv_node_free(uri);
  if (!found) {
    fprintf(stderr, "host: <%s> not found on LV2_PATH=%s\n", SW_LV2_MONO_URI,
            getenv("LV2_PATH") ? getenv("LV2_PATH") : "(unset)");
    host_world_free(w);
    return NULL;
  }
  return w;
}

void
host_world_free(HostWorld* const w)
{
  if (!w) {
    return;
  }
  for (uint32_t i = 0; i < w->num_uris; ++i) {
    free(w->uris[i]);
  }
  lilv_world_free(w->world);
  free(w);
}

LV2_URID_Map*
host_world_map(HostWorld* const w)
{
  return &w->map;
}

const char*
host_world_take_log(HostWorld* const w)
{
  static char copy[LOG_SIZE];
  memcpy(copy, w->log_text, w->log_length + 1U);
  w->log_length  = 0;
  w->log_text[0] = '\0';
  return copy;
}

/* Worker: requests and responses are copied into fixed queues (no
   allocation), as a real host's ring buffers. */
static LV2_Worker_Status
enqueue(HostQueue* const q, const uint32_t size, const void* const data)
{
  if (q->count == HOST_QUEUE || size > HOST_MESSAGE_MAX) {
    return LV2_WORKER_ERR_NO_SPACE;
  }
  q->items[q->count].size = size;
  memcpy(q->items[q->count].data, data, size);
  ++q->count;
  return LV2_WORKER_SUCCESS;
}

static LV2_Worker_Status
schedule_work(LV2_Worker_Schedule_Handle handle, uint32_t size,
              const void* data)
{
  return enqueue(&((HostPlugin*)handle)->requests, size, data);
}

static LV2_Worker_Status
respond(LV2_Worker_Respond_Handle handle, uint32_t size, const void* data)
{
  return enqueue(&((HostPlugin*)handle)->responses, size, data);
}

static bool
dequeue(HostQueue* const q, HostMessage* const out)
{
  if (!q->count) {
    return false;
  }
  *out = q->items[0];
  memmove(&q->items[0], &q->items[1], (q->count - 1U) * sizeof(HostMessage));
  --q->count;
  return true;
}

void
host_do_work(HostPlugin* const p)
{
  const LV2_Worker_Interface* const iface =
    (const LV2_Worker_Interface*)p->worker;
  LV2_Handle const handle = lilv_instance_get_handle(p->instance);
  static HostMessage message;
  while (p->requests.count || p->responses.count) {
    while (dequeue(&p->requests, &message)) {
      iface->work(handle, respond, p, message.size, message.data);
    }
    while (dequeue(&p->responses, &message)) {
      /* The audio thread's call in a real host: the same rules as run(). */
      rt_arm();
      iface->work_response(handle, message.size, message.data);
      p->rt_violations += rt_disarm("plugin work_response()");
    }
  }
}

static void
features_for(HostPlugin* const p, const LV2_Feature** const features,
             LV2_Feature* const storage, LV2_Worker_Schedule* const schedule)
{
  HostWorld* const w = p->world;
  size_t           n = 0;
  storage[0]         = (LV2_Feature){LV2_URID__map, &w->map};
  storage[1]         = (LV2_Feature){LV2_URID__unmap, &w->unmap};
  storage[2]         = (LV2_Feature){LV2_LOG__log, &w->log};
  storage[3]         = (LV2_Feature){LV2_OPTIONS__options, w->options};
  storage[4]   = (LV2_Feature){LV2_BUF_SIZE__boundedBlockLength, NULL};
  *schedule    = (LV2_Worker_Schedule){p, schedule_work};
  storage[5]   = (LV2_Feature){LV2_WORKER__schedule, schedule};
  const size_t count = p->worker_enabled ? 6U : 5U;
  for (; n < count; ++n) {
    features[n] = &storage[n];
  }
  features[n] = NULL;
}

static void
begin_sequence(HostPlugin* const p)
{
  if (!p->sequence.ref) {
    lv2_atom_forge_set_buffer(&p->forge, p->control_buf, sizeof(p->control_buf));
    lv2_atom_forge_sequence_head(&p->forge, &p->sequence, 0);
  }
}

HostPlugin*
host_plugin_new(HostWorld* const w, const char* const uri, const bool with_worker)
{
  HostPlugin* const p = (HostPlugin*)calloc(1, sizeof(HostPlugin));
  p->world            = w;
  p->worker_enabled   = with_worker;
  LilvNode* const node = lilv_new_uri(w->world, uri);
  p->plugin = lilv_plugins_get_by_uri(lilv_world_get_all_plugins(w->world), node);
  lilv_node_free(node);
  if (!p->plugin) {
    fprintf(stderr, "host: no plugin <%s>\n", uri);
    free(p);
    return NULL;
  }
  p->channels = strcmp(uri, SW_LV2_STEREO_URI) == 0 ? 2U : 1U;

  const LV2_Feature*  features[8];
  LV2_Feature         storage[8];
  features_for(p, features, storage, &p->schedule);
  p->instance =
    lilv_plugin_instantiate(p->plugin, w->sample_rate, features);
  if (!p->instance) {
    fprintf(stderr, "host: cannot instantiate <%s>\n", uri);
    free(p);
    return NULL;
  }
  p->worker = lilv_instance_get_extension_data(p->instance,
                                               LV2_WORKER__interface);
  lv2_atom_forge_init(&p->forge, &w->map);

  const uint32_t num_ports = lilv_plugin_get_num_ports(p->plugin);
  float          defaults[64];
  lilv_plugin_get_port_ranges_float(p->plugin, NULL, NULL, defaults);
  for (uint32_t i = 0; i < num_ports; ++i) {
    if (i == PORT_CONTROL) {
      lilv_instance_connect_port(p->instance, i, p->control_buf);
    } else if (i == PORT_NOTIFY) {
      lilv_instance_connect_port(p->instance, i, p->notify_buf);
    } else if (i < PORT_AUDIO) {
      p->controls[i] = defaults[i];
      lilv_instance_connect_port(p->instance, i, &p->controls[i]);
    } else if (i < PORT_AUDIO + p->channels) {
      lilv_instance_connect_port(p->instance, i, p->in[i - PORT_AUDIO]);
    } else {
      lilv_instance_connect_port(p->instance, i,
                                 p->out[i - PORT_AUDIO - p->channels]);
    }
  }
  lilv_instance_activate(p->instance);
  return p;
}

void
host_plugin_free(HostPlugin* const p)
{
  if (p) {
    lilv_instance_deactivate(p->instance);
    lilv_instance_free(p->instance);
    free(p);
  }
}

static LV2_URID
urid(HostPlugin* const p, const char* const uri)
{
  return map_uri(p->world, uri);
}

void
host_send_model(HostPlugin* const p, const uint32_t offset,
                const char* const path)
{
  begin_sequence(p);
  LV2_Atom_Forge_Frame frame;
  lv2_atom_forge_frame_time(&p->forge, offset);
  lv2_atom_forge_object(&p->forge, &frame, 0, urid(p, LV2_PATCH__Set));
  lv2_atom_forge_key(&p->forge, urid(p, LV2_PATCH__property));
  lv2_atom_forge_urid(&p->forge, urid(p, SW_LV2_MODEL_URI));
  lv2_atom_forge_key(&p->forge, urid(p, LV2_PATCH__value));
  lv2_atom_forge_path(&p->forge, path, (uint32_t)strlen(path));
  lv2_atom_forge_pop(&p->forge, &frame);
}

void
host_send_get(HostPlugin* const p, const uint32_t offset)
{
  begin_sequence(p);
  LV2_Atom_Forge_Frame frame;
  lv2_atom_forge_frame_time(&p->forge, offset);
  lv2_atom_forge_object(&p->forge, &frame, 0, urid(p, LV2_PATCH__Get));
  lv2_atom_forge_pop(&p->forge, &frame);
}

void
host_send_position(HostPlugin* const p, const uint32_t offset,
                   const float speed, const int64_t frame_number)
{
  begin_sequence(p);
  LV2_Atom_Forge_Frame frame;
  lv2_atom_forge_frame_time(&p->forge, offset);
  lv2_atom_forge_object(&p->forge, &frame, 0, urid(p, LV2_TIME__Position));
  lv2_atom_forge_key(&p->forge, urid(p, LV2_TIME__speed));
  lv2_atom_forge_float(&p->forge, speed);
  lv2_atom_forge_key(&p->forge, urid(p, LV2_TIME__frame));
  lv2_atom_forge_long(&p->forge, frame_number);
  lv2_atom_forge_pop(&p->forge, &frame);
}

static void
read_notify(HostPlugin* const p)
{
  const LV2_Atom_Sequence* const seq = (const LV2_Atom_Sequence*)p->notify_buf;
  const LV2_URID set      = urid(p, LV2_PATCH__Set);
  const LV2_URID property = urid(p, LV2_PATCH__property);
  const LV2_URID value    = urid(p, LV2_PATCH__value);
  const LV2_URID model    = urid(p, SW_LV2_MODEL_URI);
  const LV2_URID status   = urid(p, SW_LV2_STATUS_URI);
  LV2_ATOM_SEQUENCE_FOREACH (seq, ev) {
    const LV2_Atom_Object* const obj = (const LV2_Atom_Object*)&ev->body;
    if (obj->body.otype != set) {
      continue;
    }
    const LV2_Atom_URID* prop = NULL;
    const LV2_Atom*      val  = NULL;
    lv2_atom_object_get(obj, property, &prop, value, &val, 0);
    if (!prop || !val) {
      continue;
    }
    char* const dst  = prop->body == model ? p->model_path
                       : prop->body == status ? p->status
                                              : NULL;
    const size_t cap = prop->body == model ? sizeof(p->model_path)
                                           : sizeof(p->status);
    if (dst) {
      snprintf(dst, cap, "%.*s", (int)val->size,
               (const char*)LV2_ATOM_BODY_CONST(val));
      ++p->notifications;
    }
  }
}

void
host_run(HostPlugin* const p, const float* const* const in,
         float* const* const out, const uint32_t frames)
{
  begin_sequence(p);
  lv2_atom_forge_pop(&p->forge, &p->sequence);
  memset(&p->sequence, 0, sizeof(p->sequence));
  LV2_Atom* const notify = (LV2_Atom*)p->notify_buf;
  notify->type           = urid(p, LV2_ATOM__Chunk);
  notify->size           = (uint32_t)(sizeof(p->notify_buf) - sizeof(LV2_Atom));
  for (uint32_t c = 0; c < p->channels; ++c) {
    memcpy(p->in[c], in[c], frames * sizeof(float));
  }
  rt_arm();
  lilv_instance_run(p->instance, frames);
  p->rt_violations += rt_disarm("plugin run()");
  for (uint32_t c = 0; c < p->channels; ++c) {
    memcpy(out[c], p->out[c], frames * sizeof(float));
  }
  read_notify(p);
}

static const void*
get_port_value(const char* symbol, void* user_data, uint32_t* size,
               uint32_t* type)
{
  HostPlugin* const p = (HostPlugin*)user_data;
  for (size_t i = 0; i < SW_LV2_NUM_CONTROLS; ++i) {
    const ControlPort* const c = &sw_lv2_controls[i];
    if (!strcmp(symbol, c->symbol) && c->kind != CONTROL_LATENCY &&
        c->kind != CONTROL_INTEGER_OUT && c->kind != CONTROL_TOGGLE_OUT) {
      *size = sizeof(float);
      *type = urid(p, LV2_ATOM__Float);
      return &p->controls[c->index];
    }
  }
  *size = 0;
  *type = 0;
  return NULL;
}

static void
set_port_value(const char* symbol, void* user_data, const void* value,
               uint32_t size, uint32_t type)
{
  HostPlugin* const p = (HostPlugin*)user_data;
  if (size != sizeof(float) || type != urid(p, LV2_ATOM__Float)) {
    return;
  }
  for (size_t i = 0; i < SW_LV2_NUM_CONTROLS; ++i) {
    if (!strcmp(symbol, sw_lv2_controls[i].symbol)) {
      p->controls[sw_lv2_controls[i].index] = *(const float*)value;
    }
  }
}

bool
host_save_state(HostPlugin* const p, const char* const dir)
{
  const LV2_Feature*  features[8];
  LV2_Feature         storage[8];
  LV2_Worker_Schedule schedule;
  features_for(p, features, storage, &schedule);
  HostWorld* const w     = p->world;
  LilvState* const state = lilv_state_new_from_instance(
    p->plugin, p->instance, &w->map, NULL, dir, dir, dir, get_port_value, p,
    LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE, features);
  if (!state) {
    return false;
  }
  const int rc =
    lilv_state_save(w->world, &w->map, &w->unmap, state, NULL, dir, "state.ttl");
  lilv_state_free(state);
  return rc == 0;
}

bool
host_restore_state(HostPlugin* const p, const char* const dir)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/state.ttl", dir);
  HostWorld* const w     = p->world;
  LilvState* const state = lilv_state_new_from_file(w->world, &w->map, NULL, path);
  if (!state) {
    return false;
  }
  const LV2_Feature*  features[8];
  LV2_Feature         storage[8];
  LV2_Worker_Schedule schedule;
  features_for(p, features, storage, &schedule);
  lilv_state_restore(state, p->instance, set_port_value, p, 0, features);
  lilv_state_free(state);
  return true;
}
