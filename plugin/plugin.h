/* The plugin instance, shared by its parts (plugin.c: ports and run,
   worker.c: model loading, state.c: save and restore). */

#ifndef SW_LV2_PLUGIN_H
#define SW_LV2_PLUGIN_H

#include "loaded_model.h"
#include "ports.h"
#include "transport.h"
#include "uris.h"

#include <statewave/statewave.h>

#include <lv2/atom/forge.h>
#include <lv2/core/lv2.h>
#include <lv2/log/logger.h>
#include <lv2/worker/worker.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SW_LV2_PATH_MAX 4096U
#define SW_LV2_STATUS_MAX 512U
#define SW_LV2_DOOMED_MAX 8U

typedef struct {
  /* Host features */
  LV2_URID_Map*         map;
  LV2_Worker_Schedule*  schedule; /* NULL: models load only in restore */
  LV2_Log_Logger        logger;
  SwLv2Uris             uris;
  LV2_Atom_Forge        forge;

  /* Ports */
  const LV2_Atom_Sequence* control;
  LV2_Atom_Sequence*       notify;
  const float*             controls[PORT_AUDIO]; /* by PortIndex */
  float*                   outputs[PORT_AUDIO];  /* output controls */
  const float*             in[2];
  float*                   out[2];

  /* Fixed at instantiate */
  uint32_t channels;
  uint32_t max_block;
  double   sample_rate;
  char     bundle_path[SW_LV2_PATH_MAX];

  /* Audio thread */
  SwProcessor* processor;
  LoadedModel* waiting; /* loaded, not yet taken by the processor */
  LoadedModel* doomed[SW_LV2_DOOMED_MAX]; /* to free once the worker has room */
  uint32_t     num_doomed;
  Transport    transport;
  bool         activated;
  bool         reset_armed;     /* the reset trigger was seen low */
  atomic_int   backend_asked;   /* backend port value of the last load;
                                   read by restore() on another thread */
  bool         notify_model;    /* send patch:Set model on the next run */
  bool         notify_status;   /* send patch:Set status on the next run */
  char         status[SW_LV2_STATUS_MAX];

  /* The playing model's path: the audio thread's own copy, and the copy
     save() and restore() read on other threads. The audio thread writes
     the shared copy only while holding `shared_path_lock`, which it only
     tries to take (a reader holding it makes it try again next cycle:
     `shared_path_stale`); readers copy it out under the same lock. */
  char         path[SW_LV2_PATH_MAX];
  char         shared_path[SW_LV2_PATH_MAX];
  atomic_flag  shared_path_lock;
  bool         shared_path_stale;
} Plugin;

/* The path of the model being played ("" for none). [audio thread, or not
   running] */
const char*
plugin_model_path(const Plugin* self);

/* Set `path` as the playing model's and publish it for other threads now
   or, if one is reading it, on a later cycle. [audio thread, or not
   running] */
void
plugin_set_model_path(Plugin* self, const char* path);

/* Publish a path that could not be published before. [audio thread] */
void
plugin_publish_model_path(Plugin* self);

/* Copy the playing model's path as last published into `out`. Waits while
   the audio thread writes it (a copy of at most 4 KiB). [any thread but
   the audio thread] */
void
plugin_copy_model_path(Plugin* self, char* out, size_t size);

/* Ask the worker behind `schedule` to load `path` with the ports' settings
   (false when there is no worker or the message does not fit). [audio
   thread, or restore with its own schedule] */
bool
plugin_schedule_load(const Plugin* self, const LV2_Worker_Schedule* schedule,
                     const char* path, uint32_t length);

/* Before and after each block: publish the model path if a reader held it
   back, offer a waiting model to the processor and send a retired one to
   the worker to be freed. [audio thread] */
void
plugin_swap_models(Plugin* self);

/* Install a loaded model while run() cannot be running (instantiate, or a
   restore without a worker): every engine held is freed. */
void
plugin_install_now(Plugin* self, LoadedModel* loaded);

/* The request a load made now would use (ports read as they are). */
LoadRequest
plugin_load_request(const Plugin* self);

/* Worker and state extension interfaces. */
LV2_Worker_Status
plugin_work(LV2_Handle instance, LV2_Worker_Respond_Function respond,
            LV2_Worker_Respond_Handle handle, uint32_t size, const void* data);

LV2_Worker_Status
plugin_work_response(LV2_Handle instance, uint32_t size, const void* data);

const void*
plugin_state_interface(void);

#endif
