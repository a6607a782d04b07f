/*
  Helpers for the formats tests: reading whole files, CSV frames, listing
  the shared model folder, and the skip rule when that folder is absent.
*/

#ifndef STATEWAVE_FORMATS_SUPPORT_H
#define STATEWAVE_FORMATS_SUPPORT_H

#include <statewave/statewave.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit status meson reads as "skipped". */
#define FORMATS_EXIT_SKIP 77

/* Rows of numbers; every row has `cols` values. */
typedef struct {
  size_t rows;
  size_t cols;
  float* values; /* [rows][cols] */
} CsvTable;

/*
  Parse CSV text: one row per line, numbers separated by commas and/or
  spaces; empty lines and lines starting with '#' are skipped. On error
  returns false and writes a reason naming the line into `why`.
*/
bool
csv_parse(const char* text, size_t length, CsvTable* table, char* why,
          size_t why_size);

/* csv_parse of a whole file. */
bool
csv_load(const char* path, CsvTable* table, char* why, size_t why_size);

void
csv_free(CsvTable* table);

/* The whole file, zero-terminated (NULL on error); `length` excludes the
   terminator. */
char*
read_file(const char* path, size_t* length);

/* Write `length` bytes to `path`; false on error. */
bool
write_file(const char* path, const void* data, size_t length);

/* Sorted names of the files in `dir` ending in `suffix` (malloc'd array of
   malloc'd strings; *count set). NULL when the folder cannot be read. */
char**
list_files(const char* dir, const char* suffix, size_t* count);

void
free_list(char** names, size_t count);

/* Exit 77 with a message when the shared models folder is missing. */
void
skip_without_models(const char* models_dir);

/* `dir` + "/" + `name` into a malloc'd string. */
char*
join_path(const char* dir, const char* name);

/*
  The model's output on `input` (one frame of the model's input width per
  row), one CPU stream, in calls of `block` frames so the state must carry
  across calls. NULL with a reason in `why` on failure; the caller frees.
*/
float*
formats_run_csv(const SwModel* model, const CsvTable* input, uint32_t block,
                char* why, size_t why_size);

/* Largest |a[i] - b[i]|; NaN when either side holds one, so that a
   "<= tolerance" check fails. */
float
formats_max_difference(const float* a, const float* b, size_t n);

#endif
