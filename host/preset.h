/*
  Presets: small JSON files (presets/<id>.preset) naming a model file beside
  them, gains, mix, knob positions and a description:

    {"name": "Default Overdrive", "description": "...",
     "model": "default-overdrive.json", "input_gain_db": 0,
     "output_gain_db": 0, "mix": 1, "knobs": [0.5]}

  Only name and model are required. Knob positions are 0..1 across each
  knob's range (as SwProcessor and the LV2 plugin take them).
*/

#ifndef STATEWAVE_PRESET_H
#define STATEWAVE_PRESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRESET_MAX_KNOBS 8U

typedef struct {
  char     id[128]; /* the file name without ".preset" */
  char     name[128];
  char     description[512];
  char     path[4096];       /* the preset file */
  char     model_path[4096]; /* the model, resolved beside the preset */
  float    input_gain_db;
  float    output_gain_db;
  float    mix;
  uint32_t num_knobs;
  float    knobs[PRESET_MAX_KNOBS];
} Preset;

/* Where presets are looked up: $STATEWAVE_PRESETS, else the installed
   folder (<datadir>/statewave/presets) when it exists, else the source
   tree's presets/ (an uninstalled build). */
const char*
preset_dir(void);

/* Read a preset file. On failure returns false and writes a message naming
   the file and the field into `err`. */
bool
preset_read(const char* path, Preset* preset, char* err, size_t err_size);

/* Every readable preset in `dir`, sorted by name; *count of them in a
   malloc'ed array (free() it). Unreadable files are reported in `err` (the
   first one) but do not stop the listing. False when `dir` cannot be read. */
bool
preset_list(const char* dir, Preset** presets, size_t* count, char* err,
            size_t err_size);

/* The preset in `dir` whose id or name is `key` (case-insensitive). On
   failure the message lists the presets there. */
bool
preset_find(const char* dir, const char* key, Preset* preset, char* err,
            size_t err_size);

#endif
