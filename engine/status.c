#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char*
sw_strerror(const SwStatus status)
{
  switch (status) {
  case SW_SUCCESS:
    return "success";
  case SW_ERR_BAD_ARG:
    return "invalid argument";
  case SW_ERR_NO_MEMORY:
    return "out of memory";
  case SW_ERR_IO:
    return "file could not be read";
  case SW_ERR_BAD_MODEL:
    return "malformed model";
  case SW_ERR_UNSUPPORTED:
    return "unsupported model or feature";
  case SW_ERR_BACKEND:
    return "backend failure";
  }
  return "unknown status";
}

const char*
sw_version(void)
{
  return SW_VERSION;
}

SwStatus
sw_error_set(SwError* const err, const SwStatus status, const char* const fmt,
             ...)
{
  if (err) {
    err->status = status;
    va_list args;
    va_start(args, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, args);
    va_end(args);
  }
  return status;
}

void
sw_error_prefix(SwError* const err, const char* const fmt, ...)
{
  if (!err) {
    return;
  }
  char prefix[SW_ERROR_MESSAGE_SIZE];
  va_list args;
  va_start(args, fmt);
  vsnprintf(prefix, sizeof(prefix), fmt, args);
  va_end(args);

  /* Shift the message right and put the prefix in front, truncating the
     end if the two do not fit. */
  const size_t prefix_len  = strlen(prefix);
  const size_t message_len = strlen(err->message);
  const size_t room        = sizeof(err->message) - 1U;
  const size_t kept_prefix = prefix_len < room ? prefix_len : room;
  const size_t kept_message =
    message_len < room - kept_prefix ? message_len : room - kept_prefix;
  memmove(err->message + kept_prefix, err->message, kept_message);
  memcpy(err->message, prefix, kept_prefix);
  err->message[kept_prefix + kept_message] = '\0';
}
