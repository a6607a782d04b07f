#define _DEFAULT_SOURCE /* strcasecmp, realpath */

#include "preset.h"

#include <cjson/cJSON.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define PRESET_SUFFIX ".preset"
#define MAX_PRESET_BYTES (1U << 20U)

static bool
is_dir(const char* path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char*
preset_dir(void)
{
  const char* const env = getenv("STATEWAVE_PRESETS");
  if (env && env[0]) {
    return env;
  }
  return is_dir(STATEWAVE_PRESETS_INSTALLED) ? STATEWAVE_PRESETS_INSTALLED
                                             : STATEWAVE_PRESETS_SOURCE;
}

static char*
read_text(const char* path, char* err, size_t err_size)
{
  FILE* f = fopen(path, "rb");
  if (!f) {
    snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  char* text = (char*)malloc(MAX_PRESET_BYTES + 1U);
  const size_t n = text ? fread(text, 1, MAX_PRESET_BYTES + 1U, f) : 0;
  fclose(f);
  if (!text || n > MAX_PRESET_BYTES) {
    snprintf(err, err_size, "%s: %s", path,
             text ? "larger than 1 MiB: not a preset" : "out of memory");
    free(text);
    return NULL;
  }
  text[n] = '\0';
  return text;
}

static bool
fail(char* err, size_t err_size, const char* path, const char* field,
     const char* expected)
{
  snprintf(err, err_size, "%s: \"%s\": expected %s", path, field, expected);
  return false;
}

static bool
number(const cJSON* root, const char* key, float fallback, float lo, float hi,
       float* out, const char* path, char* err, size_t err_size)
{
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!item) {
    *out = fallback;
    return true;
  }
  if (!cJSON_IsNumber(item) || !(item->valuedouble >= (double)lo) ||
      !(item->valuedouble <= (double)hi)) {
    char expected[64];
    snprintf(expected, sizeof(expected), "a number in %g..%g", (double)lo,
             (double)hi);
    return fail(err, err_size, path, key, expected);
  }
  *out = (float)item->valuedouble;
  return true;
}

static bool
string(const cJSON* root, const char* key, bool required, char* out,
       size_t out_size, const char* path, char* err, size_t err_size)
{
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!item && !required) {
    out[0] = '\0';
    return true;
  }
  if (!cJSON_IsString(item) || !item->valuestring[0] ||
      strlen(item->valuestring) >= out_size) {
    return fail(err, err_size, path, key, "a non-empty string");
  }
  snprintf(out, out_size, "%s", item->valuestring);
  return true;
}

static void
file_id(const char* path, char* id, size_t size)
{
  const char* base = strrchr(path, '/');
  base             = base ? base + 1 : path;
  snprintf(id, size, "%s", base);
  const size_t n = strlen(id), m = strlen(PRESET_SUFFIX);
  if (n > m && strcmp(id + n - m, PRESET_SUFFIX) == 0) {
    id[n - m] = '\0';
  }
}

static bool
parse(const cJSON* root, const char* path, Preset* p, char* err,
      size_t err_size)
{
  char model[1024];
  if (!cJSON_IsObject(root)) {
    snprintf(err, err_size, "%s: not a JSON object: not a preset", path);
    return false;
  }
  if (!string(root, "name", true, p->name, sizeof(p->name), path, err,
              err_size) ||
      !string(root, "description", false, p->description,
              sizeof(p->description), path, err, err_size) ||
      !string(root, "model", true, model, sizeof(model), path, err,
              err_size) ||
      !number(root, "input_gain_db", 0.0f, -60.0f, 60.0f, &p->input_gain_db,
              path, err, err_size) ||
      !number(root, "output_gain_db", 0.0f, -60.0f, 60.0f,
              &p->output_gain_db, path, err, err_size) ||
      !number(root, "mix", 1.0f, 0.0f, 1.0f, &p->mix, path, err, err_size)) {
    return false;
  }
  const cJSON* knobs = cJSON_GetObjectItemCaseSensitive(root, "knobs");
  if (knobs) {
    if (!cJSON_IsArray(knobs) ||
        cJSON_GetArraySize(knobs) > (int)PRESET_MAX_KNOBS) {
      return fail(err, err_size, path, "knobs",
                  "an array of at most 8 positions in 0..1");
    }
    const cJSON* knob = NULL;
    cJSON_ArrayForEach(knob, knobs)
    {
      if (!cJSON_IsNumber(knob) || !(knob->valuedouble >= 0.0) ||
          !(knob->valuedouble <= 1.0)) {
        return fail(err, err_size, path, "knobs",
                    "an array of at most 8 positions in 0..1");
      }
      p->knobs[p->num_knobs++] = (float)knob->valuedouble;
    }
  }
  /* The model lives beside the preset. */
  const char* slash = strrchr(path, '/');
  if (model[0] == '/') {
    snprintf(p->model_path, sizeof(p->model_path), "%s", model);
  } else if (slash) {
    snprintf(p->model_path, sizeof(p->model_path), "%.*s/%s",
             (int)(slash - path), path, model);
  } else {
    snprintf(p->model_path, sizeof(p->model_path), "%s", model);
  }
  return true;
}

bool
preset_read(const char* path, Preset* p, char* err, size_t err_size)
{
  memset(p, 0, sizeof(*p));
  snprintf(p->path, sizeof(p->path), "%s", path);
  file_id(path, p->id, sizeof(p->id));
  char* const text = read_text(path, err, err_size);
  if (!text) {
    return false;
  }
  cJSON* const root = cJSON_Parse(text);
  free(text);
  if (!root) {
    snprintf(err, err_size, "%s: not valid JSON: not a preset", path);
    return false;
  }
  const bool ok = parse(root, path, p, err, err_size);
  cJSON_Delete(root);
  return ok;
}

static int
by_name(const void* a, const void* b)
{
  return strcasecmp(((const Preset*)a)->name, ((const Preset*)b)->name);
}

bool
preset_list(const char* dir, Preset** presets, size_t* count, char* err,
            size_t err_size)
{
  *presets = NULL;
  *count   = 0;
  err[0]   = '\0';
  DIR* d   = opendir(dir);
  if (!d) {
    snprintf(err, err_size, "%s: cannot read the presets folder: %s", dir,
             strerror(errno));
    return false;
  }
  size_t         cap = 0;
  struct dirent* entry;
  while ((entry = readdir(d))) {
    const size_t n = strlen(entry->d_name), m = strlen(PRESET_SUFFIX);
    if (n <= m || strcmp(entry->d_name + n - m, PRESET_SUFFIX) != 0) {
      continue;
    }
    if (*count == cap) {
      cap           = cap ? 2U * cap : 16U;
      Preset* grown = (Preset*)realloc(*presets, cap * sizeof(Preset));
      if (!grown) {
        break;
      }
      *presets = grown;
    }
    char path[4096];
    char why[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
    if (preset_read(path, &(*presets)[*count], why, sizeof(why))) {
      ++*count;
    } else if (!err[0]) {
      snprintf(err, err_size, "%s", why);
    }
  }
  closedir(d);
  if (*count) {
    qsort(*presets, *count, sizeof(Preset), by_name);
  }
  return true;
}

bool
preset_find(const char* dir, const char* key, Preset* preset, char* err,
            size_t err_size)
{
  Preset* all   = NULL;
  size_t  count = 0;
  if (!preset_list(dir, &all, &count, err, err_size)) {
    return false;
  }
  for (size_t i = 0; i < count; ++i) {
    if (!strcasecmp(all[i].id, key) || !strcasecmp(all[i].name, key)) {
      *preset = all[i];
      free(all);
      return true;
    }
  }
  int used = snprintf(err, err_size, "no preset \"%s\" in %s; there are:", key,
                      dir);
  for (size_t i = 0; i < count && used > 0 && (size_t)used < err_size; ++i) {
    used += snprintf(err + used, err_size - (size_t)used, "%s \"%s\" (%s)",
                     i ? "," : "", all[i].name, all[i].id);
  }
  if (!count && used > 0 && (size_t)used < err_size) {
    snprintf(err + used, err_size - (size_t)used, " none");
  }
  free(all);
  return false;
}
