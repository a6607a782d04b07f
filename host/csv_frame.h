/*
  One line of `statewave stream` input made into a frame: the model's input
  width of comma-separated numbers (spaces around them allowed; nan, inf
  and -inf in any case), or a line to skip (blank, or a '#' comment). A
  Windows line end ("\r") is dropped. The parser prints nothing: a
  malformed line's reason is written into `why` for the caller to report
  with its line number.
*/

#ifndef STATEWAVE_CSV_FRAME_H
#define STATEWAVE_CSV_FRAME_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  CSV_FRAME,   /* `row` holds `width` numbers */
  CSV_SKIP,    /* blank or a comment: no frame */
  CSV_INVALID, /* `why` says what was expected and what was found */
} CsvLine;

/* Read `line` (`length` bytes, zero-terminated at `length`, no newline; a
   trailing "\r" is cut in place) into `row` (`width` floats). */
CsvLine
csv_frame_parse(char* line, size_t length, uint32_t width, float* row,
                char* why, size_t why_size);

#endif
