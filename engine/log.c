#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static SwLogFunc log_func = NULL;
static void*     log_user = NULL;

void
sw_set_log(const SwLogFunc func, void* const user)
{
  log_func = func;
  log_user = user;
}

void
sw_log(const SwLogLevel level, const char* const fmt, ...)
{
  if (!log_func) {
    return;
  }
  char message[1024];
  va_list args;
  va_start(args, fmt);
  vsnprintf(message, sizeof(message), fmt, args);
  va_end(args);
  log_func(log_user, level, message);
}
