/*
  The terminal while `statewave run` plays: stdin in raw mode (keys act at
  once, nothing echoed; Ctrl-C still raises SIGINT) and one status line on
  stderr, redrawn in place. The saved terminal settings come back on
  terminal_restore(), at exit, and whatever path the program ends by
  (Ctrl-C, SIGTERM: the program's main loop returns normally).
*/

#ifndef STATEWAVE_LIVE_TERMINAL_H
#define STATEWAVE_LIVE_TERMINAL_H

#include <stdbool.h>
#include <stddef.h>

/* Put stdin (a terminal) in raw mode; false when it is not a terminal. */
bool
terminal_raw_begin(void);

/* Give stdin its saved settings back (safe to call more than once, and
   from a signal handler). */
void
terminal_restore(void);

/* Whether stderr shows a status line (it is a terminal). */
bool
status_line_enabled(void);

/* Draw `text` as the status line (replacing the last one). */
void
status_line_draw(const char* text);

/* Take the status line away so that a message can be printed (the next
   draw brings it back). */
void
status_line_clear(void);

#endif
