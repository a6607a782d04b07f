/* Fuzz target for the LV2 plugin's state restore (plugin/state.c), driven
   through the plugin's state interface as a host restoring a session does:
   retrieve() hands back the fuzzed bytes as the saved model path.

   Input: one byte of choices, then the value (all the remaining bytes, as
   stored: the NUL may be missing, early or doubled).
     bit 0     the stereo plugin (else mono)
     bit 1     restore while activated (else deactivated around it)
     bit 2     the host gives a worker (work:schedule, threadSafeRestore)
     bit 3     the host gives state:mapPath (paths relative to the session)
     bits 4-5  the value's type: atom:Path, atom:String, atom:Int, none (0)
     bit 6     nothing saved: retrieve() returns NULL
     bit 7     the backend port moved to CPU before the restore

   After the restore the plugin plays, its worker runs and it plays the
   crossfade out; then save() must store the model that plays. Checked:
   output finite (fuzz_lv2_host.c), the status a state status, a path too
   long for the plugin refused, a model always playing, and that model
   either the one playing before or the one the value names, exactly
   (never a truncated or altered path). Seeds:
   corpus/lv2_state/ (values as hosts store them). */

#define _GNU_SOURCE /* strndup */

#include "fuzz_harness.h"
#include "fuzz_lv2_host.h"
#include "plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const uint8_t* value;
  size_t         size;
  uint32_t       type;
  LV2_URID       key;
} Saved;

static const void*
retrieve(LV2_State_Handle handle, uint32_t key, size_t* size, uint32_t* type,
         uint32_t* flags)
{
  const Saved* const saved = (const Saved*)handle;
  if (key != saved->key || !saved->value) {
    return NULL;
  }
  *size  = saved->size;
  *type  = saved->type;
  *flags = LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE;
  return saved->value;
}

/* The path a host's restore asks for: the value up to its first NUL,
   through mapPath when given. */
static char*
asked_path(const Saved* const saved, const bool map_path)
{
  char* const value = strndup((const char*)saved->value, saved->size);
  if (!value || !map_path) {
    return value;
  }
  const LV2_State_Map_Path* const mapper =
    (const LV2_State_Map_Path*)fuzz_lv2_map_path_feature()->data;
  char* const absolute = mapper->absolute_path(mapper->handle, value);
  free(value);
  return absolute;
}

int
LLVMFuzzerTestOneInput(const uint8_t* const data, const size_t size)
{
  if (size < 1) {
    return 0;
  }
  const uint8_t choices   = data[0];
  const bool    stereo    = choices & 1U;
  const bool    activated = choices & 2U;
  const bool    worker    = choices & 4U;
  const bool    map_path  = choices & 8U;
  static const char* const types[] = {LV2_ATOM__Path, LV2_ATOM__String,
                                      LV2_ATOM__Int, NULL};
  const char* const type  = types[(choices >> 4U) & 3U];
  const bool    absent    = choices & 64U;
  const bool    cpu       = choices & 128U;

  /* An exact-size copy, so a read past the value is seen. */
  uint8_t* const value = (uint8_t*)malloc(size - 1U ? size - 1U : 1U);
  memcpy(value, data + 1, size - 1U);
  const Saved saved = {absent ? NULL : value, size - 1U,
                       type ? fuzz_lv2_urid(type) : 0U,
                       fuzz_lv2_urid(SW_LV2_MODEL_URI)};

  static FuzzLv2Plugin plugin;
  fuzz_lv2_plugin_init(&plugin, stereo, worker);
  char before[4096];
  fuzz_lv2_save(&plugin, false, before, sizeof(before));

  if (!activated) {
    plugin.descriptor->deactivate(plugin.handle);
  }
  if (cpu) {
    plugin.controls[PORT_BACKEND] = (float)BACKEND_PORT_CPU;
  }
  const LV2_Feature schedule = {LV2_WORKER__schedule, &plugin.schedule};
  const LV2_Feature* features[4];
  size_t             n = 0;
  if (map_path) {
    features[n++] = fuzz_lv2_map_path_feature();
    features[n++] = fuzz_lv2_free_path_feature();
  }
  if (worker) {
    features[n++] = &schedule;
  }
  features[n] = NULL;
  const LV2_State_Status status = plugin.state->restore(
    plugin.handle, retrieve, (LV2_State_Handle)&saved, 0, features);
  if (!activated) {
    plugin.descriptor->activate(plugin.handle);
  }
  if (status != LV2_STATE_SUCCESS && status != LV2_STATE_ERR_UNKNOWN &&
      status != LV2_STATE_ERR_BAD_TYPE && status != LV2_STATE_ERR_NO_SPACE) {
    fprintf(stderr, "fuzz: restore() returned %d\n", (int)status);
    abort();
  }

  /* A path longer than the plugin holds is refused, never cut short. */
  if (status == LV2_STATE_SUCCESS && !absent) {
    char* const asked = asked_path(&saved, map_path);
    if (asked && strlen(asked) >= SW_LV2_PATH_MAX) {
      fprintf(stderr, "fuzz: restore() accepted a path of %zu bytes\n",
              strlen(asked));
      abort();
    }
    free(asked);
  }

  /* Play, let the worker load, play the crossfade out (960 frames). */
  for (int round = 0; round < 2; ++round) {
    for (uint32_t b = 0; b < 18U; ++b) {
      fuzz_lv2_run(&plugin, FUZZ_LV2_BLOCK);
    }
    fuzz_lv2_do_work(&plugin);
  }

  char after[4096];
  fuzz_lv2_save(&plugin, false, after, sizeof(after));
  if (!after[0]) {
    fprintf(stderr, "fuzz: after the restore no model plays\n");
    abort();
  }
  if (strcmp(after, before) != 0) {
    char* const asked = absent ? NULL : asked_path(&saved, map_path);
    if (!asked || strcmp(after, asked) != 0) {
      fprintf(stderr, "fuzz: the restore asked for \"%s\" but \"%s\" plays\n",
              asked ? asked : "(nothing)", after);
      abort();
    }
    free(asked);
  }

  fuzz_lv2_plugin_cleanup(&plugin);
  free(value);
  return 0;
}
