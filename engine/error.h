/* Filling SwError and logging (private). */

#ifndef SW_ERROR_H
#define SW_ERROR_H

#include "statewave/statewave.h"

#if defined(__GNUC__)
#  define SW_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#  define SW_PRINTF(fmt, args)
#endif

/* Fill `err` (may be NULL) and return `status`. */
SwStatus
sw_error_set(SwError* err, SwStatus status, const char* fmt, ...)
  SW_PRINTF(3, 4);

/* Prefix an existing message, e.g. with the file name. */
void
sw_error_prefix(SwError* err, const char* fmt, ...) SW_PRINTF(2, 3);

/* Send a message to the log callback. Never call from [RT-safe] code. */
void
sw_log(SwLogLevel level, const char* fmt, ...) SW_PRINTF(2, 3);

#endif
