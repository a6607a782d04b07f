#include "formats_support.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool
is_separator(const char c)
{
  return c == ',' || c == ' ' || c == '\t' || c == '\r';
}

bool
csv_parse(const char* const text, const size_t length, CsvTable* const table,
          char* const why, const size_t why_size)
{
  table->rows   = 0;
  table->cols   = 0;
  table->values = NULL;
  size_t capacity = 0;
  size_t line_no  = 0;

  const char* line = text;
  const char* end  = text + length;
  while (line < end) {
    const char* eol = memchr(line, '\n', (size_t)(end - line));
    if (!eol) {
      eol = end;
    }
    ++line_no;
    const char* p = line;
    while (p < eol && is_separator(*p)) {
      ++p;
    }
    if (p == eol || *p == '#') {
      line = eol + 1;
      continue;
    }
    size_t cols = 0;
    while (p < eol) {
      char         number[64];
      const char*  token_end = p;
      while (token_end < eol && !is_separator(*token_end)) {
        ++token_end;
      }
      const size_t token_length = (size_t)(token_end - p);
      if (token_length == 0 || token_length >= sizeof(number)) {
        snprintf(why, why_size, "line %zu: bad field", line_no);
        free(table->values);
        table->values = NULL;
        return false;
      }
      memcpy(number, p, token_length);
      number[token_length] = '\0';
      char*       parsed_end = NULL;
      const float value      = strtof(number, &parsed_end);
      if (parsed_end != number + token_length) {
        snprintf(why, why_size, "line %zu: \"%s\" is not a number", line_no,
                 number);
        free(table->values);
        table->values = NULL;
        return false;
      }
      if (table->rows * (table->cols ? table->cols : 1U) + cols + 1U >
          capacity) {
        capacity         = capacity ? capacity * 2U : 4096U;
        float* const grown =
          (float*)realloc(table->values, capacity * sizeof(float));
        if (!grown) {
          snprintf(why, why_size, "out of memory");
          free(table->values);
          table->values = NULL;
          return false;
        }
        table->values = grown;
      }
      table->values[table->rows * (table->cols ? table->cols : 0U) + cols] =
        value;
      ++cols;
      p = token_end;
      while (p < eol && is_separator(*p)) {
        ++p;
      }
    }
    if (table->rows == 0) {
      table->cols = cols;
    } else if (cols != table->cols) {
      snprintf(why, why_size, "line %zu has %zu fields, earlier lines %zu",
               line_no, cols, table->cols);
      free(table->values);
      table->values = NULL;
      return false;
    }
    ++table->rows;
    line = eol + 1;
  }
  return true;
}

char*
read_file(const char* const path, size_t* const length)
{
  FILE* const file = fopen(path, "rb");
  if (!file) {
    return NULL;
  }
  size_t capacity = 65536;
  size_t used     = 0;
  char*  data     = (char*)malloc(capacity + 1U);
  while (data) {
    const size_t got = fread(data + used, 1, capacity - used, file);
    used += got;
    if (used < capacity) {
      break;
    }
    capacity *= 2U;
    char* const grown = (char*)realloc(data, capacity + 1U);
    if (!grown) {
      free(data);
      data = NULL;
      break;
    }
    data = grown;
  }
  const bool failed = ferror(file) != 0;
  fclose(file);
  if (!data || failed) {
    free(data);
    return NULL;
  }
  data[used] = '\0';
  *length    = used;
  return data;
}

bool
write_file(const char* const path, const void* const data,
           const size_t length)
{
  FILE* const file = fopen(path, "wb");
  if (!file) {
    return false;
  }
  const bool written = fwrite(data, 1, length, file) == length;
  return fclose(file) == 0 && written;
}

bool
csv_load(const char* const path, CsvTable* const table, char* const why,
         const size_t why_size)
{
  size_t      length = 0;
  char* const text   = read_file(path, &length);
  if (!text) {
    snprintf(why, why_size, "cannot read %s: %s", path, strerror(errno));
    return false;
  }
  const bool parsed = csv_parse(text, length, table, why, why_size);
  free(text);
  return parsed;
}

void
csv_free(CsvTable* const table)
{
  free(table->values);
  table->values = NULL;
  table->rows = table->cols = 0;
}

static int
compare_names(const void* const a, const void* const b)
{
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}

char**
list_files(const char* const dir, const char* const suffix,
           size_t* const count)
{
  DIR* const folder = opendir(dir);
  if (!folder) {
    return NULL;
  }
  size_t  capacity = 16;
  char**  names    = (char**)malloc(capacity * sizeof(char*));
  size_t  found    = 0;
  const size_t suffix_length = strlen(suffix);
  const struct dirent* entry = NULL;
  while (names && (entry = readdir(folder)) != NULL) {
    const size_t name_length = strlen(entry->d_name);
    if (name_length <= suffix_length ||
        strcmp(entry->d_name + name_length - suffix_length, suffix) != 0) {
      continue;
    }
    if (found == capacity) {
      capacity *= 2U;
      char** const grown = (char**)realloc(names, capacity * sizeof(char*));
      if (!grown) {
        break;
      }
      names = grown;
    }
    names[found] = (char*)malloc(name_length + 1U);
    if (names[found]) {
      memcpy(names[found], entry->d_name, name_length + 1U);
      ++found;
    }
  }
  closedir(folder);
  if (names) {
    qsort(names, found, sizeof(char*), compare_names);
  }
  *count = found;
  return names;
}

void
free_list(char** const names, const size_t count)
{
  for (size_t i = 0; names && i < count; ++i) {
    free(names[i]);
  }
  free(names);
}

void
skip_without_models(const char* const models_dir)
{
  struct stat info;
  if (stat(models_dir, &info) != 0 || !S_ISDIR(info.st_mode)) {
    printf("SKIP: the shared model files are not here (%s): these tests "
           "read real models from ../shared/models/\n",
           models_dir);
    exit(FORMATS_EXIT_SKIP);
  }
}

char*
join_path(const char* const dir, const char* const name)
{
  const size_t dir_length  = strlen(dir);
  const size_t name_length = strlen(name);
  char* const  path        = (char*)malloc(dir_length + name_length + 2U);
  if (!path) {
    fputs("out of memory\n", stderr);
    exit(1);
  }
  memcpy(path, dir, dir_length);
  path[dir_length] = '/';
  memcpy(path + dir_length + 1U, name, name_length + 1U);
  return path;
}

float*
formats_run_csv(const SwModel* const model, const CsvTable* const input,
                const uint32_t block, char* const why, const size_t why_size)
{
  SwModelInfo info;
  sw_model_info(model, &info);
  if (input->cols != info.input_width) {
    snprintf(why, why_size, "input has %zu columns; the model takes %u",
             input->cols, (unsigned)info.input_width);
    return NULL;
  }
  SwEngineConfig config = sw_engine_config_default();
  config.backend        = SW_BACKEND_CPU;
  config.max_block      = block;
  SwError         err    = {SW_SUCCESS, ""};
  SwEngine* const engine = sw_engine_new(model, &config, &err);
  if (!engine) {
    snprintf(why, why_size, "sw_engine_new: %s", err.message);
    return NULL;
  }
  float* output =
    (float*)calloc(input->rows * info.output_width + 1U, sizeof(float));
  if (!output) {
    snprintf(why, why_size, "out of memory");
  } else {
    const SwStatus status = sw_engine_process_frames(
      engine, input->values, output, (uint32_t)input->rows);
    if (status != SW_SUCCESS) {
      snprintf(why, why_size, "process_frames: %s", sw_strerror(status));
      free(output);
      output = NULL;
    }
  }
  sw_engine_free(engine);
  return output;
}

float
formats_max_difference(const float* const a, const float* const b,
                       const size_t n)
{
  float worst = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    const float d = fabsf(a[i] - b[i]);
    if (isnan(d)) {
      return d;
    }
    worst = d > worst ? d : worst;
  }
  return worst;
}
