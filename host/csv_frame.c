/* See csv_frame.h. */

#include "csv_frame.h"

#include "cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The numbers of one frame; false with the reason in `why`. */
static bool
parse_numbers(const char* line, size_t length, uint32_t width, float* row,
              char* why, size_t why_size)
{
  if (strlen(line) != length) {
    snprintf(why, why_size,
             "expected %u comma-separated numbers, found a zero byte", width);
    return false;
  }

  const char* field = line;
  uint32_t    count = 0;
  for (;;) {
    float       value = 0.0f;
    const char* end   = NULL;
    if (!cli_scan_float(field, &value, &end) || (*end != ',' && *end)) {
      while (*field == ' ' || *field == '\t') {
        ++field;
      }
      const size_t field_length = strcspn(field, ",");
      snprintf(why, why_size,
               "expected %u comma-separated numbers, found \"%.*s\" as "
               "number %u",
               width, (int)(field_length > 40 ? 40 : field_length), field,
               count + 1U);
      return false;
    }

    if (count < width) {
      row[count] = value;
    }
    ++count;

    if (!*end) {
      break;
    }
    field = end + 1;
  }

  if (count != width) {
    snprintf(why, why_size, "expected %u comma-separated numbers, found %u",
             width, count);
    return false;
  }
  return true;
}

CsvLine
csv_frame_parse(char* line, size_t length, uint32_t width, float* row,
                char* why, size_t why_size)
{
  if (length > 0 && line[length - 1] == '\r') {
    line[--length] = '\0'; // Files from Windows.
  }

  size_t first = 0;
  while (first < length && (line[first] == ' ' || line[first] == '\t')) {
    ++first;
  }
  if (first == length || line[first] == '#') {
    return CSV_SKIP;
  }
  return parse_numbers(line, length, width, row, why, why_size) ? CSV_FRAME
                                                                : CSV_INVALID;
}
