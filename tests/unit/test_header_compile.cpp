// The public header compiles as C++ without warnings (extern "C", bool,
// designated types), so C++ plugins and hosts can include it directly.

#include <statewave/statewave.h>

static_assert(SW_SUCCESS == 0, "SW_SUCCESS must be 0");
static_assert(sizeof(SwError::message) == SW_ERROR_MESSAGE_SIZE,
              "SwError.message holds SW_ERROR_MESSAGE_SIZE bytes");

int
main()
{
  return 0;
}
