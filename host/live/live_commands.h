/*
  What a player asks of `statewave run`: keys on a terminal, or line
  commands on stdin when it is a pipe. Both become LiveActions, carried
  out by the program's main loop.

  Line commands (one per line; blank lines and '#' comments are skipped):
    preset NAME     switch to a preset (its id or name)
    model PATH      switch to a model file (gains and mix stay)
    bypass on|off   bypass (the input plays) or process
    reset           reset the state of every stream
    param I=V       set knob I (1-based index or name) to the value V
    quit            stop
  Keys: n or Right/Down next preset, p or Left/Up previous preset,
  b or Space bypass on/off, r reset, q quit.
*/

#ifndef STATEWAVE_LIVE_COMMANDS_H
#define STATEWAVE_LIVE_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  LIVE_ACTION_NONE = 0,
  LIVE_ACTION_PRESET,      /* arg: NAME */
  LIVE_ACTION_NEXT_PRESET,
  LIVE_ACTION_PREV_PRESET,
  LIVE_ACTION_MODEL,       /* arg: PATH */
  LIVE_ACTION_BYPASS_ON,
  LIVE_ACTION_BYPASS_OFF,
  LIVE_ACTION_BYPASS_TOGGLE,
  LIVE_ACTION_RESET,
  LIVE_ACTION_PARAM,       /* arg: I=V */
  LIVE_ACTION_QUIT,
  LIVE_ACTION_INVALID,     /* arg: why */
} LiveActionType;

typedef struct {
  LiveActionType type;
  char           text[512]; /* the command as typed, for messages */
  char           arg[4096];
} LiveAction;

/* Parse one line command (without its newline). False for a blank line or
   a comment. */
bool
live_parse_line(const char* line, LiveAction* action);

/* Parse the keys in `bytes` (raw terminal input) into at most `max`
   actions; returns how many. Unknown keys are ignored. */
size_t
live_parse_keys(const char* bytes, size_t size, LiveAction* actions,
                size_t max);

/* One line naming every line command, for messages. */
extern const char* const LIVE_COMMANDS_HELP;

/* One line naming every key, for the start message. */
extern const char* const LIVE_KEYS_HELP;

#endif
