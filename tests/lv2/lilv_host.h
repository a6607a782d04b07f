/* A minimal LV2 host on lilv for the tests: URID map, a worker the test
   drives by hand, options, log capture, event input and notify parsing,
   state save and restore. Blocks of at most HOST_MAX_BLOCK frames. */

#ifndef SW_TEST_LILV_HOST_H
#define SW_TEST_LILV_HOST_H

#include "ports.h"

#include <lilv/lilv.h>
#include <lv2/atom/forge.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <stdbool.h>
#include <stdint.h>

#define HOST_MAX_BLOCK 256U
#define HOST_QUEUE 64U
#define HOST_MESSAGE_MAX 8192U

typedef struct {
  uint32_t size;
  uint8_t  data[HOST_MESSAGE_MAX];
} HostMessage;

typedef struct {
  HostMessage items[HOST_QUEUE];
  uint32_t    count;
} HostQueue;

typedef struct HostWorld HostWorld;

typedef struct {
  HostWorld*               world;
  const LilvPlugin*        plugin;
  LilvInstance*            instance;
  const void*              worker; /* LV2_Worker_Interface */
  uint32_t                 channels;
  float                    controls[PORT_AUDIO];
  float                    in[2][HOST_MAX_BLOCK];
  float                    out[2][HOST_MAX_BLOCK];
  _Alignas(8) uint8_t      control_buf[HOST_MESSAGE_MAX];
  _Alignas(8) uint8_t      notify_buf[HOST_MESSAGE_MAX];
  LV2_Atom_Forge           forge;
  LV2_Atom_Forge_Frame     sequence;
  HostQueue                requests;
  HostQueue                responses;
  bool                     worker_enabled;
  LV2_Worker_Schedule      schedule;
  /* Calls that allocated, locked or opened in run() and work_response()
     (rt interposer). */
  unsigned long            rt_violations;
  /* What the notify port said last. */
  char                     model_path[4096];
  char                     status[1024];
  uint32_t                 notifications;
} HostPlugin;

/* Load every bundle on LV2_PATH; NULL (with a message) when the plugins
   are not found. */
HostWorld*
host_world_new(double sample_rate);

void
host_world_free(HostWorld* world);

LV2_URID_Map*
host_world_map(HostWorld* world);

/* Everything logged through log:log since the last call (cleared). */
const char*
host_world_take_log(HostWorld* world);

/* Instantiate `uri` (mono or stereo), connect every port, set the controls
   to their defaults and activate. with_worker: provide work:schedule. */
HostPlugin*
host_plugin_new(HostWorld* world, const char* uri, bool with_worker);

void
host_plugin_free(HostPlugin* plugin);

/* Events for the next run, at frame `offset` (in increasing order). */
void
host_send_model(HostPlugin* plugin, uint32_t offset, const char* path);
void
host_send_get(HostPlugin* plugin, uint32_t offset);
void
host_send_position(HostPlugin* plugin, uint32_t offset, float speed,
                   int64_t frame);

/* Run `frames` (<= HOST_MAX_BLOCK) frames: in[c] -> out[c], then read the
   notify port. Work the plugin schedules is queued, not done. */
void
host_run(HostPlugin* plugin, const float* const* in, float* const* out,
         uint32_t frames);

/* Do the queued work (loads, frees) and deliver the responses, as a
   host's worker thread and its next cycle would. */
void
host_do_work(HostPlugin* plugin);

/* Save the state into `dir` (state.ttl); false on failure. */
bool
host_save_state(HostPlugin* plugin, const char* dir);

/* Restore the state saved in `dir` into `plugin`; while `activated` the
   plugin gets a worker to load on (state:threadSafeRestore). */
bool
host_restore_state(HostPlugin* plugin, const char* dir);

#endif
