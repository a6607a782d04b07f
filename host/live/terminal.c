/* Raw keys and the status line (see terminal.h). */

#include "terminal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static volatile sig_atomic_t raw_active = 0;
static bool                  line_shown = false;

void
terminal_restore(void)
{
  if (raw_active) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    raw_active = 0;
  }
}

bool
terminal_raw_begin(void)
{
  if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved) != 0) {
    return false;
  }
  struct termios raw = saved;
  raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO); /* ISIG stays: Ctrl-C works */
  raw.c_cc[VMIN]  = 0;
  raw.c_cc[VTIME] = 0;
  if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) != 0) {
    return false;
  }
  raw_active = 1;
  static bool registered = false;
  if (!registered) {
    registered = atexit(terminal_restore) == 0;
  }
  return true;
}

bool
status_line_enabled(void)
{
  return isatty(STDERR_FILENO) == 1;
}

void
status_line_draw(const char* const text)
{
  /* Carriage return, the text, then erase to the end of the line. */
  fprintf(stderr, "\r%s\033[K", text);
  fflush(stderr);
  line_shown = true;
}

void
status_line_clear(void)
{
  if (line_shown) {
    fputs("\r\033[K", stderr);
    line_shown = false;
  }
}
