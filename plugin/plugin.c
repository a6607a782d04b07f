/* The Statewave LV2 plugins (mono and stereo): ports, instantiate, run. */

#include "plugin.h"

#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2_util.h>
#include <lv2/options/options.h>
#include <lv2/state/state.h>

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Block size when the host does not say (the processor splits longer ones). */
#define DEFAULT_MAX_BLOCK 4096U
#define LARGEST_MAX_BLOCK 16384U

const char*
plugin_model_path(const Plugin* const self)
{
  return self->path;
}

void
plugin_publish_model_path(Plugin* const self)
{
  if (self->shared_path_stale &&
      !atomic_flag_test_and_set_explicit(&self->shared_path_lock,
                                         memory_order_acquire)) {
    memcpy(self->shared_path, self->path, strlen(self->path) + 1U);
    atomic_flag_clear_explicit(&self->shared_path_lock, memory_order_release);
    self->shared_path_stale = false;
  }
}

void
plugin_set_model_path(Plugin* const self, const char* const path)
{
  const size_t length = strlen(path);
  const size_t n = length < SW_LV2_PATH_MAX - 1U ? length : SW_LV2_PATH_MAX - 1U;
  memcpy(self->path, path, n);
  self->path[n]           = '\0';
  self->shared_path_stale = true;
  plugin_publish_model_path(self);
}

void
plugin_copy_model_path(Plugin* const self, char* const out, const size_t size)
{
  while (atomic_flag_test_and_set_explicit(&self->shared_path_lock,
                                           memory_order_acquire)) {
    sched_yield(); /* the audio thread is copying 4 KiB at most */
  }
  snprintf(out, size, "%s", self->shared_path);
  atomic_flag_clear_explicit(&self->shared_path_lock, memory_order_release);
}

static float
control(const Plugin* const self, const PortIndex port, const float fallback)
{
  const float* const value = self->controls[port];
  return value && isfinite(*value) ? *value : fallback;
}

static int32_t
backend_port(const Plugin* const self)
{
  const float value = control(self, PORT_BACKEND, 0.0f);
  return value >= 1.5f ? BACKEND_PORT_GPU
                       : (value >= 0.5f ? BACKEND_PORT_CPU : BACKEND_PORT_AUTO);
}

LoadRequest
plugin_load_request(const Plugin* const self)
{
  LoadRequest request;
  memset(&request, 0, sizeof(request));
  request.sample_rate = self->sample_rate;
  request.channels    = self->channels;
  request.max_block   = self->max_block;
  request.backend     = backend_port(self);
  for (uint32_t k = 0; k < SW_LV2_KNOBS; ++k) {
    const float v   = control(self, (PortIndex)(PORT_KNOB1 + k), 0.5f);
    request.knobs[k] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
  }
  return request;
}

void
plugin_install_now(Plugin* const self, LoadedModel* const loaded)
{
  SwEngine* engine = NULL;
  void*     tag    = NULL;
  while (sw_processor_release(self->processor, &engine, &tag)) {
    loaded_model_free((LoadedModel*)tag);
  }
  loaded_model_free(self->waiting);
  self->waiting = NULL;
  for (uint32_t i = 0; i < self->num_doomed; ++i) {
    loaded_model_free(self->doomed[i]);
  }
  self->num_doomed = 0;
  if (loaded && sw_processor_offer(self->processor, loaded->engine, loaded)) {
    plugin_set_model_path(self, loaded->path);
    atomic_store_explicit(&self->backend_asked, loaded->backend,
                          memory_order_relaxed);
  } else {
    loaded_model_free(loaded);
    plugin_set_model_path(self, "");
  }
  self->notify_model = true;
}

static void
cleanup(LV2_Handle instance)
{
  Plugin* const self = (Plugin*)instance;
  plugin_install_now(self, NULL);
  sw_processor_free(self->processor);
  free(self);
}

static uint32_t
block_length_option(const Plugin* const self, const LV2_Options_Option* options)
{
  if (!options) {
    return DEFAULT_MAX_BLOCK;
  }
  const LV2_URID max_key =
    self->map->map(self->map->handle, LV2_BUF_SIZE__maxBlockLength);
  const LV2_URID nominal_key =
    self->map->map(self->map->handle, LV2_BUF_SIZE__nominalBlockLength);
  const LV2_URID atom_Int = self->uris.atom_Int;
  int32_t        max = 0, nominal = 0;
  for (; options && options->key; ++options) {
    if (options->type != atom_Int || options->size != sizeof(int32_t)) {
      continue;
    }
    if (options->key == max_key) {
      max = *(const int32_t*)options->value;
    } else if (options->key == nominal_key) {
      nominal = *(const int32_t*)options->value;
    }
  }
  const int32_t block = max > 0 ? max : (nominal > 0 ? nominal : 0);
  if (block <= 0) {
    return DEFAULT_MAX_BLOCK;
  }
  return (uint32_t)block > LARGEST_MAX_BLOCK ? LARGEST_MAX_BLOCK
                                             : (uint32_t)block;
}

static LV2_Handle
instantiate(const LV2_Descriptor* descriptor, const double rate,
            const char* bundle_path, const LV2_Feature* const* features)
{
  Plugin* const self = (Plugin*)calloc(1, sizeof(Plugin));
  if (!self) {
    return NULL;
  }
  LV2_Log_Log*               log     = NULL;
  const LV2_Options_Option* options = NULL;
  /* Without urid:map (lv2apply, lv2bench) the plugin plays its default
     model with the control ports only: no atom messages, state or
     options can be understood. */
  lv2_features_query(features, LV2_URID__map, &self->map, false, LV2_LOG__log,
                     &log, false, LV2_WORKER__schedule, &self->schedule, false,
                     LV2_OPTIONS__options, &options, false, NULL);
  lv2_log_logger_init(&self->logger, self->map, log);
  if (self->map) {
    sw_lv2_map_uris(self->map, &self->uris);
    lv2_atom_forge_init(&self->forge, self->map);
  } else {
    self->schedule = NULL;
    options        = NULL;
  }

  self->channels =
    strcmp(descriptor->URI, SW_LV2_STEREO_URI) == 0 ? 2U : 1U;
  self->sample_rate = rate;
  self->max_block   = block_length_option(self, options);
  snprintf(self->bundle_path, sizeof(self->bundle_path), "%s", bundle_path);
  atomic_flag_clear(&self->shared_path_lock);

  SwProcessorConfig config = sw_processor_config_default();
  config.sample_rate       = rate;
  config.channels          = self->channels;
  config.max_block         = self->max_block;
  SwError err;
  self->processor = sw_processor_new(&config, &err);
  if (!self->processor) {
    lv2_log_error(&self->logger, "statewave: %s\n", err.message);
    free(self);
    return NULL;
  }

  /* The bundled default model, so the plugin sounds as soon as it is
     inserted (hosts with state:loadDefaultState restore the same file). */
  char path[SW_LV2_PATH_MAX];
  snprintf(path, sizeof(path), "%s%s%s", bundle_path,
           bundle_path[0] && bundle_path[strlen(bundle_path) - 1] == '/' ? ""
                                                                         : "/",
           SW_LV2_DEFAULT_MODEL);
  char               message[SW_LV2_STATUS_MAX];
  const LoadRequest request = plugin_load_request(self);
  LoadedModel* const loaded =
    loaded_model_load(path, &request, &self->logger, message, sizeof(message));
  if (!loaded) {
    lv2_log_error(&self->logger, "statewave: default model: %s\n", message);
  }
  plugin_install_now(self, loaded);
  return (LV2_Handle)self;
}

static void
connect_port(LV2_Handle instance, const uint32_t port, void* data)
{
  Plugin* const self = (Plugin*)instance;
  if (port == PORT_CONTROL) {
    self->control = (const LV2_Atom_Sequence*)data;
  } else if (port == PORT_NOTIFY) {
    self->notify = (LV2_Atom_Sequence*)data;
  } else if (port < PORT_AUDIO) {
    self->controls[port] = (const float*)data;
    self->outputs[port]  = (float*)data;
  } else if (port < PORT_AUDIO + self->channels) {
    self->in[port - PORT_AUDIO] = (const float*)data;
  } else if (port < PORT_AUDIO + 2U * self->channels) {
    self->out[port - PORT_AUDIO - self->channels] = (float*)data;
  }
}

static void
activate(LV2_Handle instance)
{
  Plugin* const self = (Plugin*)instance;
  sw_processor_reset(self->processor);
  transport_clear(&self->transport);
  self->activated = true;
}

static void
deactivate(LV2_Handle instance)
{
  ((Plugin*)instance)->activated = false;
}

/* Write patch:Set <property> <value> to the notify port at `offset`. */
static void
notify_set(Plugin* const self, const uint32_t offset, const LV2_URID property,
           const LV2_URID type, const char* const value)
{
  LV2_Atom_Forge* const forge  = &self->forge;
  const uint32_t        length = (uint32_t)strlen(value);
  /* Room for the event header, the object and the string, or nothing. */
  if (!forge->buf || forge->offset + length + 128U > forge->size) {
    return;
  }
  LV2_Atom_Forge_Frame frame;
  lv2_atom_forge_frame_time(forge, offset);
  lv2_atom_forge_object(forge, &frame, 0, self->uris.patch_Set);
  lv2_atom_forge_key(forge, self->uris.patch_property);
  lv2_atom_forge_urid(forge, property);
  lv2_atom_forge_key(forge, self->uris.patch_value);
  lv2_atom_forge_typed_string(forge, type, value, length);
  lv2_atom_forge_pop(forge, &frame);
}

static void
send_notifications(Plugin* const self, const uint32_t offset)
{
  if (self->notify_model) {
    self->notify_model = false;
    notify_set(self, offset, self->uris.sw_model, self->uris.atom_Path,
               plugin_model_path(self));
  }
  if (self->notify_status) {
    self->notify_status = false;
    notify_set(self, offset, self->uris.sw_status, self->uris.atom_String,
               self->status);
  }
}

/* Set the status text sent on the notify port (and the model, so a UI
   shows what still plays). [audio thread] */
static void
report(Plugin* const self, const char* const text, const size_t size)
{
  memcpy(self->status, text,
         size < SW_LV2_STATUS_MAX ? size : SW_LV2_STATUS_MAX);
  self->status[SW_LV2_STATUS_MAX - 1U] = '\0';
  self->notify_status = true;
  self->notify_model  = true;
}

static void
handle_patch_set(Plugin* const self, const LV2_Atom_Object* const obj)
{
  const LV2_Atom_URID* property = NULL;
  const LV2_Atom*      value    = NULL;
  lv2_atom_object_get(obj, self->uris.patch_property, &property,
                      self->uris.patch_value, &value, 0);
  if (!property || property->atom.type != self->uris.atom_URID ||
      property->body != self->uris.sw_model) {
    return;
  }
  static const char bad_value[] =
    "patch:Set of the model needs an atom:Path (or atom:String) value";
  static const char empty_path[] =
    "patch:Set of the model needs a path; the value is empty";
  static const char long_path[] =
    "cannot load a model: its path is longer than 4095 bytes";
  static const char no_worker[] =
    "cannot load a model: the host gave the plugin no worker";
  static const char worker_full[] =
    "cannot load a model: the host's worker queue is full; set it again";
  if (!value || (value->type != self->uris.atom_Path &&
                 value->type != self->uris.atom_String)) {
    report(self, bad_value, sizeof(bad_value));
    return;
  }
  const char* const path   = (const char*)LV2_ATOM_BODY_CONST(value);
  const uint32_t    length = (uint32_t)strnlen(path, value->size);
  if (length == 0) {
    report(self, empty_path, sizeof(empty_path));
  } else if (length >= SW_LV2_PATH_MAX) {
    report(self, long_path, sizeof(long_path));
  } else if (!self->schedule) {
    report(self, no_worker, sizeof(no_worker));
  } else if (!plugin_schedule_load(self, self->schedule, path, length)) {
    report(self, worker_full, sizeof(worker_full));
  }
}

static void
handle_patch_get(Plugin* const self, const LV2_Atom_Object* const obj)
{
  const LV2_Atom_URID* property = NULL;
  lv2_atom_object_get(obj, self->uris.patch_property, &property, 0);
  if (!property) {
    self->notify_model  = true;
    self->notify_status = self->status[0] != '\0';
  } else if (property->atom.type == self->uris.atom_URID) {
    if (property->body == self->uris.sw_model) {
      self->notify_model = true;
    } else if (property->body == self->uris.sw_status) {
      self->notify_status = true;
    }
  }
}

static void
handle_position(Plugin* const self, const LV2_Atom_Object* const obj,
                const uint32_t offset)
{
  const LV2_Atom* speed = NULL;
  const LV2_Atom* frame = NULL;
  lv2_atom_object_get(obj, self->uris.time_speed, &speed,
                      self->uris.time_frame, &frame, 0);
  const bool has_speed = speed && speed->type == self->uris.atom_Float;
  const bool has_frame = frame && frame->type == self->uris.atom_Long;
  if (transport_position(&self->transport, has_speed,
                         has_speed ? (double)((const LV2_Atom_Float*)speed)->body : 0.0,
                         has_frame,
                         has_frame ? ((const LV2_Atom_Long*)frame)->body : 0,
                         offset)) {
    sw_processor_reset(self->processor);
  }
}

static void
process_span(Plugin* const self, const uint32_t from, const uint32_t to)
{
  if (to <= from) {
    return;
  }
  const float* in[2];
  float*       out[2];
  for (uint32_t c = 0; c < self->channels; ++c) {
    in[c]  = self->in[c] + from;
    out[c] = self->out[c] + from;
  }
  (void)sw_processor_process(self->processor, in, out, to - from);
}

static void
read_controls(Plugin* const self)
{
  SwProcessor* const p = self->processor;
  sw_processor_set_input_gain_db(p, control(self, PORT_INPUT_GAIN, 0.0f));
  sw_processor_set_output_gain_db(p, control(self, PORT_OUTPUT_GAIN, 0.0f));
  sw_processor_set_mix(p, control(self, PORT_MIX, 1.0f));
  sw_processor_set_enabled(p, control(self, PORT_ENABLED, 1.0f) > 0.5f);
  for (uint32_t k = 0; k < SW_LV2_KNOBS; ++k) {
    (void)sw_processor_set_knob(p, k,
                                control(self, (PortIndex)(PORT_KNOB1 + k), 0.5f));
  }
  const bool reset = control(self, PORT_RESET, 0.0f) > 0.5f;
  if (reset && self->reset_armed) {
    sw_processor_reset(p);
  }
  self->reset_armed = !reset;

  const int32_t backend = backend_port(self);
  if (backend !=
      atomic_load_explicit(&self->backend_asked, memory_order_relaxed)) {
    const char* const path = plugin_model_path(self);
    atomic_store_explicit(&self->backend_asked, backend, memory_order_relaxed);
    if (path[0]) {
      (void)plugin_schedule_load(self, self->schedule, path,
                                 (uint32_t)strlen(path));
    }
  }
}

static void
write_outputs(Plugin* const self)
{
  void* tag = NULL;
  (void)sw_processor_engine(self->processor, &tag);
  const LoadedModel* const playing = (const LoadedModel*)tag;
  if (self->outputs[PORT_LATENCY]) {
    *self->outputs[PORT_LATENCY] = (float)sw_processor_latency(self->processor);
  }
  if (self->outputs[PORT_MODEL_INPUTS]) {
    *self->outputs[PORT_MODEL_INPUTS] =
      playing ? (float)playing->input_width : 0.0f;
  }
  if (self->outputs[PORT_GPU_ACTIVE]) {
    *self->outputs[PORT_GPU_ACTIVE] = playing && playing->on_gpu ? 1.0f : 0.0f;
  }
}

static void
run(LV2_Handle instance, const uint32_t frames)
{
  Plugin* const self = (Plugin*)instance;

  LV2_Atom_Forge_Frame notify_frame;
  const bool           messages = self->map != NULL;
  if (messages && self->notify) {
    lv2_atom_forge_set_buffer(&self->forge, (uint8_t*)self->notify,
                              self->notify->atom.size);
    lv2_atom_forge_sequence_head(&self->forge, &notify_frame, 0);
  } else {
    lv2_atom_forge_set_buffer(&self->forge, NULL, 0);
  }

  read_controls(self);
  plugin_swap_models(self);

  uint32_t done = 0;
  if (messages && self->control) {
    LV2_ATOM_SEQUENCE_FOREACH (self->control, ev) {
      const int64_t  time = ev->time.frames;
      const uint32_t at =
        time < 0 ? 0U : (time > (int64_t)frames ? frames : (uint32_t)time);
      if (ev->body.type != self->uris.atom_Object &&
          ev->body.type != self->uris.atom_Blank) {
        continue;
      }
      /* Events apply at their frame: play up to it first. */
      process_span(self, done, at);
      done = at > done ? at : done;
      const LV2_Atom_Object* const obj = (const LV2_Atom_Object*)&ev->body;
      if (obj->body.otype == self->uris.patch_Set) {
        handle_patch_set(self, obj);
      } else if (obj->body.otype == self->uris.patch_Get) {
        handle_patch_get(self, obj);
      } else if (obj->body.otype == self->uris.time_Position) {
        handle_position(self, obj, done);
      }
    }
  }
  process_span(self, done, frames);
  transport_advance(&self->transport, frames);

  plugin_swap_models(self);
  send_notifications(self, frames ? frames - 1U : 0U);
  write_outputs(self);
  if (messages && self->notify) {
    lv2_atom_forge_pop(&self->forge, &notify_frame);
  }
}

static const void*
extension_data(const char* uri)
{
  static const LV2_Worker_Interface worker = {plugin_work, plugin_work_response,
                                              NULL};
  if (!strcmp(uri, LV2_WORKER__interface)) {
    return &worker;
  }
  if (!strcmp(uri, LV2_STATE__interface)) {
    return plugin_state_interface();
  }
  return NULL;
}

static const LV2_Descriptor descriptors[] = {
  {SW_LV2_MONO_URI, instantiate, connect_port, activate, run, deactivate,
   cleanup, extension_data},
  {SW_LV2_STEREO_URI, instantiate, connect_port, activate, run, deactivate,
   cleanup, extension_data},
};

LV2_SYMBOL_EXPORT const LV2_Descriptor*
lv2_descriptor(const uint32_t index)
{
  return index < sizeof(descriptors) / sizeof(descriptors[0])
           ? &descriptors[index]
           : NULL;
}
