/*
  The public header on its own compiles without a single warning at the
  strictest settings (the build adds -Werror and extra warnings for this
  file), so users can include it in code built with -Werror.
*/

#include <statewave/statewave.h>

/* Checked at compile time: the documented sizes and values the ABI relies on. */
_Static_assert(SW_SUCCESS == 0, "SW_SUCCESS must be 0 so `if (status)` works");
_Static_assert(SW_ACT_DEFAULT == 0, "a zeroed spec must mean defaults");
_Static_assert(SW_GRU_RESET_AFTER == 0, "a zeroed spec must mean reset_after");
_Static_assert(SW_BACKEND_AUTO == 0, "a zeroed config must mean auto");
_Static_assert(sizeof(((SwError*)0)->message) == SW_ERROR_MESSAGE_SIZE,
               "SwError.message holds SW_ERROR_MESSAGE_SIZE bytes");

int
main(void)
{
  return 0;
}
