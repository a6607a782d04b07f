/* A minimal in-process LV2 host for the plugin's fuzz targets: the plugin
   (plugin/, compiled into the target) instantiated through its
   descriptor with urid:map, log:log, options and, when asked, a worker
   whose queue the target drains by hand. Every message the plugin logs is
   formatted (so a bad format argument shows under the sanitizers) and
   dropped. Audio output is checked after every run(): a non-finite sample
   aborts, since the plugin promises finite output whatever it is fed. */

#ifndef STATEWAVE_FUZZ_LV2_HOST_H
#define STATEWAVE_FUZZ_LV2_HOST_H

#include "ports.h"

#include <lv2/atom/forge.h>
#include <lv2/core/lv2.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <stdbool.h>
#include <stdint.h>

#define FUZZ_LV2_BLOCK 64U
#define FUZZ_LV2_QUEUE 16U
#define FUZZ_LV2_MESSAGE_MAX 8192U
#define FUZZ_LV2_SEQUENCE_BYTES 8192U

typedef struct {
  uint32_t size;
  _Alignas(8) uint8_t data[FUZZ_LV2_MESSAGE_MAX];
} FuzzLv2Message;

typedef struct {
  FuzzLv2Message items[FUZZ_LV2_QUEUE];
  uint32_t       count;
} FuzzLv2Queue;

typedef struct {
  const LV2_Descriptor*       descriptor;
  LV2_Handle                  handle;
  const LV2_Worker_Interface* worker;
  const LV2_State_Interface*  state;
  uint32_t                    channels;
  bool                        activated;
  float                       controls[PORT_AUDIO];
  float                       in[2][FUZZ_LV2_BLOCK];
  float                       out[2][FUZZ_LV2_BLOCK];
  _Alignas(8) uint8_t         control_buf[FUZZ_LV2_SEQUENCE_BYTES];
  _Alignas(8) uint8_t         notify_buf[FUZZ_LV2_SEQUENCE_BYTES];
  LV2_Atom_Forge              forge; /* writes control_buf */
  LV2_Atom_Forge_Frame        sequence;
  bool                        sequence_open;
  LV2_Worker_Schedule         schedule;
  FuzzLv2Queue                requests;
  FuzzLv2Queue                responses;
  char                        status[1024]; /* the last status notified */
} FuzzLv2Plugin;

/* The URID of `uri` in the host's map (one per process: URIDs stay the
   same across inputs). */
LV2_URID
fuzz_lv2_urid(const char* uri);

/* Instantiate the mono (or stereo) plugin at 48 kHz with blocks of at most
   FUZZ_LV2_BLOCK frames; with_worker: provide work:schedule. Its bundle
   folder, which is also the session folder and the current folder, is
   FUZZ_LV2_FOLDER: a folder of small real models, one of them the
   plugin's default model in this build. Ports are connected, controls at their defaults, the
   input silent; the plugin is activated. Aborts when it cannot be made. */
void
fuzz_lv2_plugin_init(FuzzLv2Plugin* plugin, bool stereo, bool with_worker);

void
fuzz_lv2_plugin_cleanup(FuzzLv2Plugin* plugin);

/* The forge positioned for the next event of the control sequence. */
LV2_Atom_Forge*
fuzz_lv2_events(FuzzLv2Plugin* plugin);

/* run() `frames` frames with the events written so far; aborts on a
   non-finite output sample or a notify sequence that overruns its port.
   A status the plugin notifies (patch:Set of its status property) is kept
   in `status`; one that is not a terminated string aborts. */
void
fuzz_lv2_run(FuzzLv2Plugin* plugin, uint32_t frames);

/* Do the queued work and deliver the responses, until none is left. */
void
fuzz_lv2_do_work(FuzzLv2Plugin* plugin);

/* The model path the plugin saves with state:save (through `map_path`
   when not NULL) into `path` ("" when it saves none); aborts when the
   stored value is not a NUL-terminated atom:Path. */
void
fuzz_lv2_save(FuzzLv2Plugin* plugin, bool map_path, char* path, size_t size);

/* The state:mapPath / freePath features of the session folder
   (FUZZ_LV2_FOLDER): relative paths are made absolute under it, absolute
   paths kept. */
const LV2_Feature*
fuzz_lv2_map_path_feature(void);
const LV2_Feature*
fuzz_lv2_free_path_feature(void);

#endif
