/*
  Absurd sizes in a model file are refused before anything is allocated
  for them: each format's reader gets a real small model (from
  tests/fuzz/corpus/) with its hidden size rewritten to 10^9 (an LSTM of
  10^9 units would need 16·10^18 bytes of weights), under an allocation
  cap of 256 MiB (alloc_cap.h). The load must fail, naming the file and
  the field that is wrong, with no request above the cap — not even one
  that the cap turned away and the reader then reported as out of memory.
  The same file with its true size loads, so the edit is what is refused.

  The binary formats keep their structure: in the Keras .h5 file the
  architecture is a JSON attribute of fixed length, so the longer number is
  paid for by dropping spaces elsewhere in that JSON; in the .keras archive
  config.json is stored uncompressed and its CRC-32 is written again.

    test_absurd_sizes CORPUS_DIR
*/

#define _GNU_SOURCE /* memmem */

#include "alloc_cap.h"

#include <statewave/statewave.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

static char*
read_file(const char* const path, size_t* const size)
{
  FILE* const f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "FAIL: cannot open %s\n", path);
    exit(1);
  }
  fseek(f, 0, SEEK_END);
  const long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char* const data = (char*)malloc((size_t)n + 1U);
  if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "FAIL: cannot read %s\n", path);
    exit(1);
  }
  fclose(f);
  data[n] = '\0';
  *size   = (size_t)n;
  return data;
}

/* The first run of digits after `key` in text[0..size): where it starts and
   how long it is; false when there is none. */
static bool
find_number(const char* const text, const size_t size, const char* const key,
            size_t* const start, size_t* const length)
{
  const size_t key_length = strlen(key);
  for (size_t i = 0; i + key_length <= size; ++i) {
    if (memcmp(text + i, key, key_length) != 0) {
      continue;
    }
    size_t d = i + key_length;
    while (d < size && (text[d] < '0' || text[d] > '9')) {
      ++d;
    }
    size_t e = d;
    while (e < size && text[e] >= '0' && text[e] <= '9') {
      ++e;
    }
    if (e > d) {
      *start  = d;
      *length = e - d;
      return true;
    }
    return false;
  }
  return false;
}

#define ABSURD "1000000000"

/* Replace the number after `key` in the JSON text[0..size) by ABSURD,
   keeping the text's length: spaces after ':' and ',' (outside strings)
   pay for the longer number, trailing spaces fill up. False when the key
   is missing or there are not enough spaces. */
static bool
inflate_in_place(char* const text, const size_t size, const char* const key)
{
  size_t start = 0, length = 0;
  if (!find_number(text, size, key, &start, &length)) {
    return false;
  }
  char* const out = (char*)malloc(size + sizeof(ABSURD));
  size_t      n   = 0;
  memcpy(out, text, start);
  n = start;
  memcpy(out + n, ABSURD, strlen(ABSURD));
  n += strlen(ABSURD);
  memcpy(out + n, text + start + length, size - start - length);
  n += size - start - length;
  /* Drop spaces after ':' or ',' outside strings until it fits. */
  size_t excess    = n > size ? n - size : 0;
  bool   in_string = false;
  size_t w         = 0;
  for (size_t r = 0; r < n; ++r) {
    const char c = out[r];
    if (c == '"' && (r == 0 || out[r - 1] != '\\')) {
      in_string = !in_string;
    }
    if (excess && !in_string && c == ' ' && w > 0 &&
        (out[w - 1] == ':' || out[w - 1] == ',')) {
      --excess;
      continue;
    }
    out[w++] = c;
  }
  const bool fits = excess == 0;
  if (fits) {
    memcpy(text, out, w);
    memset(text + w, ' ', size - w);
  }
  free(out);
  return fits;
}

/* The JSON object starting at text[start] (a '{'): its length. */
static size_t
json_object_length(const char* const text, const size_t size,
                   const size_t start)
{
  int  depth     = 0;
  bool in_string = false;
  for (size_t i = start; i < size; ++i) {
    const char c = text[i];
    if (c == '"' && text[i - 1] != '\\') {
      in_string = !in_string;
    } else if (!in_string && c == '{') {
      ++depth;
    } else if (!in_string && c == '}' && --depth == 0) {
      return i + 1U - start;
    }
  }
  return 0;
}

static uint32_t
crc32_of(const uint8_t* const data, const size_t size)
{
  uint32_t crc = 0xFFFFFFFFU;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int b = 0; b < 8; ++b) {
      crc = (crc >> 1U) ^ (0xEDB88320U & (0U - (crc & 1U)));
    }
  }
  return ~crc;
}

static uint32_t
le32(const char* const p)
{
  const uint8_t* const u = (const uint8_t*)p;
  return (uint32_t)u[0] | (uint32_t)u[1] << 8U | (uint32_t)u[2] << 16U |
         (uint32_t)u[3] << 24U;
}

static void
put_le32(char* const p, const uint32_t v)
{
  for (int i = 0; i < 4; ++i) {
    p[i] = (char)(v >> (8U * (unsigned)i));
  }
}

/* The Keras .h5 file: its model_config attribute, the first JSON object. */
static bool
edit_h5(char* const data, const size_t size, const char* const key)
{
  static const char head[] = "{\"class_name\"";
  const char* const begin   = memmem(data, size, head, sizeof(head) - 1U);
  if (!begin) {
    return false;
  }
  const size_t start  = (size_t)(begin - data);
  const size_t length = json_object_length(data, size, start);
  return length && inflate_in_place(data + start, length, key);
}

/* The .keras archive: config.json (stored), then its CRC-32 in the local
   header and in the central directory. */
static bool
edit_keras3(char* const data, const size_t size, const char* const key)
{
  static const char name[] = "config.json";
  const size_t      name_length = sizeof(name) - 1U;
  uint32_t          crc = 0;
  bool              done = false;
  for (size_t i = 0; i + 46U < size; ++i) {
    if (!memcmp(data + i, "PK\x03\x04", 4) &&
        (uint16_t)le32(data + i + 26) == name_length &&
        !memcmp(data + i + 30, name, name_length)) {
      const uint16_t extra = (uint16_t)le32(data + i + 28);
      const uint32_t stored = le32(data + i + 18);
      char* const    body   = data + i + 30U + name_length + extra;
      if (le32(data + i + 8) != 0U /* method 0: stored */ ||
          !inflate_in_place(body, stored, key)) {
        return false;
      }
      crc = crc32_of((const uint8_t*)body, stored);
      put_le32(data + i + 14, crc);
      done = true;
    } else if (done && !memcmp(data + i, "PK\x01\x02", 4) &&
               (uint16_t)le32(data + i + 28) == name_length &&
               !memcmp(data + i + 46, name, name_length)) {
      put_le32(data + i + 16, crc);
      return true;
    }
  }
  return false;
}

/* A text format: no length to keep. */
static bool
edit_text(char** const data, size_t* const size, const char* const key)
{
  size_t start = 0, length = 0;
  if (!find_number(*data, *size, key, &start, &length)) {
    return false;
  }
  char* const out = (char*)malloc(*size + sizeof(ABSURD));
  memcpy(out, *data, start);
  memcpy(out + start, ABSURD, strlen(ABSURD));
  memcpy(out + start + strlen(ABSURD), *data + start + length,
         *size - start - length);
  *size = *size - length + strlen(ABSURD);
  free(*data);
  *data = out;
  return true;
}

typedef enum { TEXT, H5, KERAS3 } Kind;

typedef struct {
  const char* format;
  const char* file; /* in CORPUS_DIR */
  Kind        kind;
  const char* key;   /* the size rewritten */
  const char* field; /* what the refusal must name */
} Case;

static void
check_case(const char* const corpus, const Case* const c)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", corpus, c->file);
  size_t size = 0;
  char*  data = read_file(path, &size);

  /* The true file loads. */
  SwError        err;
  SwModel* const good = sw_model_load_memory(data, size, c->file, &err);
  if (!good) {
    printf("FAIL: %s: the unedited %s does not load: %s\n", c->format,
           c->file, err.message);
    ++failures;
  }
  sw_model_free(good);

  const bool edited = c->kind == H5       ? edit_h5(data, size, c->key)
                      : c->kind == KERAS3 ? edit_keras3(data, size, c->key)
                                          : edit_text(&data, &size, c->key);
  if (!edited) {
    printf("FAIL: %s: cannot rewrite %s in %s\n", c->format, c->key, c->file);
    ++failures;
    free(data);
    return;
  }
  char name[256];
  snprintf(name, sizeof(name), "absurd-%s", c->file);
  size_t largest = 0;
  (void)alloc_cap_take_refusals(&largest);
  SwModel* const model = sw_model_load_memory(data, size, name, &err);
  const unsigned long refused = alloc_cap_take_refusals(&largest);
  const bool names = strstr(err.message, name) && strstr(err.message, c->field);
  printf("%s: %s %s -> %s: %s\n", model || refused || !names ? "FAIL" : "ok",
         c->format, c->key, model ? "LOADED" : "refused",
         model ? "" : err.message);
  if (model) {
    ++failures;
  } else if (!names) {
    printf("FAIL: %s: the refusal does not name the file and \"%s\"\n",
           c->format, c->field);
    ++failures;
  }
  if (refused) {
    printf("FAIL: %s: %lu request(s) above the cap (the largest %zu bytes) "
           "before the refusal\n",
           c->format, refused, largest);
    ++failures;
  }
  sw_model_free(model);
  free(data);
}

int
main(int argc, char** argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  if (!alloc_cap_ready()) {
    return 1;
  }
  static const Case cases[] = {
    {"GuitarML JSON", "guitarml/lstm_h8_l2_i2.json", TEXT, "\"hidden_size\"",
     "hidden_size"},
    {"RTNeural JSON", "rtneural/lstm_knob_skip_gains_acts.json", TEXT,
     "\"shape\"", "shape"},
    {"NAM", "nam/lstm2x4.nam", TEXT, "\"hidden_size\"", "hidden_size"},
    {"Keras .h5", "keras_h5/lstm_sigmoid.h5", H5, "\"units\"", "units"},
    {"Keras 3 .keras", "keras3/lstm_sigmoid.keras", KERAS3, "\"units\"",
     "units"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
    check_case(argv[1], &cases[i]);
  }
  if (failures) {
    printf("%d check(s) failed\n", failures);
    return 1;
  }
  printf("all checks passed\n");
  return 0;
}
