/* Fuzz target for the preset reader (host/preset.c: preset_read), fed the
   bytes as a preset file: written to a private file, read back by path, as
   `statewave run --preset` and `statewave presets` read them.

   Checked on every input: a refusal names the file and says what was
   expected; an accepted preset has a name and a model beside the preset
   file, gains within -60..60 dB, a mix and knob positions within 0..1, at
   most PRESET_MAX_KNOBS knobs, and every string terminated within its
   field. Seeds: presets/ (the shipped presets, read in place) and
   corpus/preset/ (edge cases). */

#include "fuzz_harness.h"
#include "preset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char folder[64];
static char file[128];

static void
remove_folder(void)
{
  unlink(file);
  rmdir(folder);
}

static void
make_folder(void)
{
  if (folder[0]) {
    return;
  }
  snprintf(folder, sizeof(folder), "/tmp/statewave-fuzz-preset-XXXXXX");
  if (!mkdtemp(folder)) {
    perror("fuzz: mkdtemp");
    abort();
  }
  snprintf(file, sizeof(file), "%s/fuzz.preset", folder);
  atexit(remove_folder);
}

static void
require(const bool ok, const char* const what, const char* const detail)
{
  if (!ok) {
    fprintf(stderr, "fuzz: %s: %s\n", what, detail);
    abort();
  }
}

static bool
terminated(const char* const text, const size_t size)
{
  return memchr(text, '\0', size) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t* const data, const size_t size)
{
  make_folder();
  FILE* const out = fopen(file, "wb");
  require(out && fwrite(data, 1, size, out) == size && fclose(out) == 0,
          "cannot write", file);

  Preset preset;
  char   err[1024];
  memset(err, 0, sizeof(err));
  const bool ok = preset_read(file, &preset, err, sizeof(err));
  require(terminated(err, sizeof(err)), "the message is not terminated", "");
  if (!ok) {
    require(strncmp(err, file, strlen(file)) == 0,
            "a refusal does not name the file", err);
    require(strstr(err, "expected") || strstr(err, "not a preset"),
            "a refusal does not say what was expected", err);
    return 0;
  }
  require(terminated(preset.name, sizeof(preset.name)) &&
            terminated(preset.description, sizeof(preset.description)) &&
            terminated(preset.id, sizeof(preset.id)) &&
            terminated(preset.path, sizeof(preset.path)) &&
            terminated(preset.model_path, sizeof(preset.model_path)),
          "a string is not terminated within its field", file);
  require(preset.name[0] != '\0', "accepted without a name", file);
  require(!strcmp(preset.id, "fuzz"), "the id is not the file's name",
          preset.id);
  /* The preset's path is absolute, so its model's is too (beside it, or
     absolute as written). */
  require(preset.model_path[0] == '/', "the model path is not absolute",
          preset.model_path);
  require(preset.input_gain_db >= -60.0f && preset.input_gain_db <= 60.0f &&
            preset.output_gain_db >= -60.0f &&
            preset.output_gain_db <= 60.0f,
          "a gain out of -60..60 dB", preset.name);
  require(preset.mix >= 0.0f && preset.mix <= 1.0f, "mix out of 0..1",
          preset.name);
  require(preset.num_knobs <= PRESET_MAX_KNOBS, "too many knobs", preset.name);
  for (uint32_t k = 0; k < preset.num_knobs; ++k) {
    require(preset.knobs[k] >= 0.0f && preset.knobs[k] <= 1.0f,
            "a knob position out of 0..1", preset.name);
  }
  return 0;
}
