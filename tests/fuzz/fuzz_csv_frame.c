/* Fuzz target for the CSV frame parser of `statewave stream`
   (host/csv_frame.c), fed the bytes as stdin: split into lines exactly as
   cmd_stream.c splits them (at '\n', the last line counted without one),
   each line parsed for a model whose input width is one more than the
   commas of the first line (at most 16), as a file made for it has.

   Checked on every line: a frame fills exactly `width` numbers and writes
   nothing past them; a skipped line is blank or a '#' comment; a refusal
   says "expected <width> comma-separated numbers". Seeds: the CSV inputs
   of tests/data/keras3/ (read in place) and corpus/csv_frame/ (nan, inf,
   comments, CRLF, zero bytes). */

#include "csv_frame.h"
#include "fuzz_harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WIDTH 16U

static void
require(const bool ok, const char* const what, const char* const line)
{
  if (!ok) {
    fprintf(stderr, "fuzz: %s: \"%.80s\"\n", what, line);
    abort();
  }
}

static uint32_t
width_of(const uint8_t* const data, const size_t size)
{
  uint32_t width = 1;
  for (size_t i = 0; i < size && data[i] != '\n' && width < MAX_WIDTH; ++i) {
    width += data[i] == ',';
  }
  return width;
}

/* Blank after spaces and tabs, or a comment (what CSV_SKIP means). */
static bool
skippable(const char* const line, size_t length)
{
  if (length > 0 && line[length - 1] == '\r') {
    --length;
  }
  size_t first = 0;
  while (first < length && (line[first] == ' ' || line[first] == '\t')) {
    ++first;
  }
  return first == length || line[first] == '#';
}

static void
check_line(char* const line, const size_t length, const uint32_t width)
{
  /* Two sentinels: a number the parser left unwritten keeps both. */
  static const float sentinels[2] = {-1.25e-3f, 7.5e3f};
  float              rows[2][MAX_WIDTH + 1U];
  char               why[256];
  CsvLine            kinds[2];
  char* const        copy = (char*)malloc(length + 1U);
  for (int pass = 0; pass < 2; ++pass) {
    for (uint32_t c = 0; c <= MAX_WIDTH; ++c) {
      rows[pass][c] = sentinels[pass];
    }
    memcpy(copy, line, length + 1U); /* the parser cuts a "\r" in place */
    why[0]      = '\0';
    kinds[pass] = csv_frame_parse(copy, length, width, rows[pass], why,
                                  sizeof(why));
  }
  require(kinds[0] == kinds[1], "two parses of one line disagree", line);
  const bool skip = skippable(line, length);
  switch (kinds[0]) {
  case CSV_SKIP:
    require(skip, "a line with numbers was skipped", line);
    break;
  case CSV_INVALID: {
    char expected[64];
    snprintf(expected, sizeof(expected),
             "expected %u comma-separated numbers, found ", width);
    require(!skip, "a blank or comment line was refused", line);
    require(memchr(why, '\0', sizeof(why)) &&
              !strncmp(why, expected, strlen(expected)),
            "the refusal does not say what was expected", why);
    break;
  }
  case CSV_FRAME:
    require(!skip, "a blank or comment line gave a frame", line);
    for (uint32_t c = 0; c < width; ++c) {
      require(memcmp(&rows[0][c], &sentinels[0], sizeof(float)) ||
                memcmp(&rows[1][c], &sentinels[1], sizeof(float)),
              "a number of the frame was left unwritten", line);
    }
    for (uint32_t c = width; c <= MAX_WIDTH; ++c) {
      require(!memcmp(&rows[0][c], &sentinels[0], sizeof(float)),
              "the parser wrote past the frame", line);
    }
    break;
  }
  free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t* const data, const size_t size)
{
  const uint32_t width = width_of(data, size);
  char* const    text  = (char*)malloc(size + 1U);
  memcpy(text, data, size);
  text[size] = '\0';

  size_t start = 0;
  char*  newline;
  while ((newline = (char*)memchr(text + start, '\n', size - start))) {
    *newline            = '\0';
    const size_t length = (size_t)(newline - (text + start));
    check_line(text + start, length, width);
    start += length + 1U;
  }
  if (start < size) {
    check_line(text + start, size - start, width); /* no final newline */
  }
  free(text);
  return 0;
}
