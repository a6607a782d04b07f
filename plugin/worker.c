/* Model loading on the LV2 worker: the audio thread asks for a load, the
   worker loads, uploads and warms the model, the audio thread takes it in
   work_response and hands it to the processor, which crossfades; the model
   it replaces comes back to the worker to be freed. */

#include "plugin.h"

#include <stdio.h>
#include <string.h>

typedef enum {
  MSG_LOAD,   /* audio thread -> worker: LoadMessage */
  MSG_FREE,   /* audio thread -> worker: PointerMessage */
  MSG_LOADED, /* worker -> audio thread: PointerMessage + text */
  MSG_FAILED, /* worker -> audio thread: text */
} MessageType;

typedef struct {
  uint32_t    type;
  LoadRequest request;
  char        path[]; /* NUL-terminated */
} LoadMessage;

typedef struct {
  uint32_t     type;
  LoadedModel* loaded;
} PointerMessage;

typedef struct {
  PointerMessage head;
  char           text[SW_LV2_STATUS_MAX];
} ReplyMessage;

bool
plugin_schedule_load(const Plugin* const             self,
                     const LV2_Worker_Schedule* const schedule,
                     const char* const path, const uint32_t length)
{
  if (!schedule || length == 0 || length >= SW_LV2_PATH_MAX) {
    return false;
  }
  /* Sized for the longest path: the host copies only `size` bytes. */
  union {
    LoadMessage message;
    char        bytes[sizeof(LoadMessage) + SW_LV2_PATH_MAX];
  } buffer;
  buffer.message.type    = MSG_LOAD;
  buffer.message.request = plugin_load_request(self);
  memcpy(buffer.message.path, path, length);
  buffer.message.path[length] = '\0';
  return schedule->schedule_work(schedule->handle,
                                       (uint32_t)sizeof(LoadMessage) +
                                         length + 1U,
                                       &buffer) == LV2_WORKER_SUCCESS;
}

/* Hand `loaded` to the worker to be freed; while the worker's queue is
   full it waits in `doomed` (freeing on the audio thread is never an
   option). */
static void
schedule_free(Plugin* const self, LoadedModel* const loaded)
{
  const PointerMessage message = {MSG_FREE, loaded};
  if (self->schedule->schedule_work(self->schedule->handle, sizeof(message),
                                    &message) != LV2_WORKER_SUCCESS &&
      self->num_doomed < SW_LV2_DOOMED_MAX) {
    self->doomed[self->num_doomed++] = loaded;
  }
}

static uint32_t
reply_size(const ReplyMessage* const reply)
{
  return (uint32_t)(sizeof(PointerMessage) + strlen(reply->text) + 1U);
}

LV2_Worker_Status
plugin_work(LV2_Handle instance, LV2_Worker_Respond_Function respond,
            LV2_Worker_Respond_Handle handle, const uint32_t size,
            const void* const data)
{
  Plugin* const self = (Plugin*)instance;
  if (size < sizeof(uint32_t)) {
    return LV2_WORKER_ERR_UNKNOWN;
  }
  const uint32_t type = *(const uint32_t*)data;
  if (type == MSG_FREE && size == sizeof(PointerMessage)) {
    loaded_model_free(((const PointerMessage*)data)->loaded);
    return LV2_WORKER_SUCCESS;
  }
  if (type != MSG_LOAD || size <= sizeof(LoadMessage)) {
    return LV2_WORKER_ERR_UNKNOWN;
  }
  const LoadMessage* const message = (const LoadMessage*)data;
  ReplyMessage             reply;
  memset(&reply, 0, sizeof(reply.head));
  reply.head.loaded = loaded_model_load(message->path, &message->request,
                                        &self->logger, reply.text,
                                        sizeof(reply.text));
  if (reply.head.loaded) {
    reply.head.type = MSG_LOADED;
    lv2_log_note(&self->logger, "statewave: %s\n", reply.text);
  } else {
    reply.head.type = MSG_FAILED;
    lv2_log_error(&self->logger,
                  "statewave: %s (the running model is kept)\n", reply.text);
  }
  if (respond(handle, reply_size(&reply), &reply) != LV2_WORKER_SUCCESS) {
    loaded_model_free(reply.head.loaded);
    return LV2_WORKER_ERR_NO_SPACE;
  }
  return LV2_WORKER_SUCCESS;
}

static void
set_status(Plugin* const self, const char* const text, const size_t length)
{
  const size_t n =
    length < SW_LV2_STATUS_MAX - 1U ? length : SW_LV2_STATUS_MAX - 1U;
  memcpy(self->status, text, n);
  self->status[n]     = '\0';
  self->notify_status = true;
}

LV2_Worker_Status
plugin_work_response(LV2_Handle instance, const uint32_t size,
                     const void* const data)
{
  Plugin* const self = (Plugin*)instance;
  /* A reply is the pointer message and a NUL-terminated text. */
  if (size <= sizeof(PointerMessage) || size > sizeof(ReplyMessage)) {
    return LV2_WORKER_ERR_UNKNOWN;
  }
  const ReplyMessage* const reply = (const ReplyMessage*)data;
  const size_t text_length = size - sizeof(PointerMessage) - 1U;
  set_status(self, reply->text, text_length);
  if (reply->head.type == MSG_LOADED) {
    /* A newer load replaces one the processor has not taken yet. */
    if (self->waiting) {
      schedule_free(self, self->waiting);
    }
    self->waiting = reply->head.loaded;
  } else {
    /* The running model stays: tell the UI its path again. */
    self->notify_model = true;
  }
  return LV2_WORKER_SUCCESS;
}

void
plugin_swap_models(Plugin* const self)
{
  plugin_publish_model_path(self);
  if (self->schedule) {
    const uint32_t pending = self->num_doomed;
    self->num_doomed       = 0;
    for (uint32_t i = 0; i < pending; ++i) {
      schedule_free(self, self->doomed[i]);
    }
  }
  if (self->waiting &&
      sw_processor_offer(self->processor, self->waiting->engine,
                         self->waiting)) {
    plugin_set_model_path(self, self->waiting->path);
    self->waiting      = NULL;
    self->notify_model = true;
  }
  SwEngine* engine = NULL;
  void*     tag    = NULL;
  if (self->schedule &&
      sw_processor_retired(self->processor, &engine, &tag)) {
    schedule_free(self, (LoadedModel*)tag);
  }
}
