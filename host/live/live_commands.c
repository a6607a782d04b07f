/* Line commands and keys of `statewave run` (see live_commands.h). */

#define _DEFAULT_SOURCE /* strcasecmp */

#include "live_commands.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char* const LIVE_COMMANDS_HELP =
  "preset NAME, model PATH, bypass on|off, reset, param I=V or quit";

const char* const LIVE_KEYS_HELP =
  "n/p or arrows: next/previous preset, b or space: bypass, r: reset, "
  "q: quit";

static void
set(LiveAction* const action, const LiveActionType type, const char* const arg)
{
  action->type = type;
  snprintf(action->arg, sizeof(action->arg), "%s", arg ? arg : "");
}

bool
live_parse_line(const char* const line, LiveAction* const action)
{
  memset(action, 0, sizeof(*action));
  /* Trim spaces (and a CR from a CRLF line) at both ends. */
  const char* start = line;
  while (isspace((unsigned char)*start)) {
    ++start;
  }
  size_t length = strlen(start);
  while (length && isspace((unsigned char)start[length - 1U])) {
    --length;
  }
  if (!length || start[0] == '#') {
    return false;
  }
  snprintf(action->text, sizeof(action->text), "%.*s", (int)length, start);

  /* The command word, then the rest as one argument (paths may hold
     spaces). */
  char word[32];
  size_t w = 0;
  while (w < length && !isspace((unsigned char)start[w])) {
    ++w;
  }
  snprintf(word, sizeof(word), "%.*s", (int)(w < 31U ? w : 31U), start);
  const char* rest = start + w;
  while (rest < start + length && isspace((unsigned char)*rest)) {
    ++rest;
  }
  char arg[4096];
  snprintf(arg, sizeof(arg), "%.*s", (int)(start + length - rest), rest);
  const bool has_arg = arg[0] != '\0';

  if (!strcasecmp(word, "preset") && has_arg) {
    set(action, LIVE_ACTION_PRESET, arg);
  } else if (!strcasecmp(word, "model") && has_arg) {
    set(action, LIVE_ACTION_MODEL, arg);
  } else if (!strcasecmp(word, "bypass") &&
             (!strcasecmp(arg, "on") || !strcasecmp(arg, "off"))) {
    set(action,
        strcasecmp(arg, "on") ? LIVE_ACTION_BYPASS_OFF : LIVE_ACTION_BYPASS_ON,
        NULL);
  } else if (!strcasecmp(word, "reset") && !has_arg) {
    set(action, LIVE_ACTION_RESET, NULL);
  } else if (!strcasecmp(word, "param") && has_arg) {
    set(action, LIVE_ACTION_PARAM, arg);
  } else if (!strcasecmp(word, "quit") && !has_arg) {
    set(action, LIVE_ACTION_QUIT, NULL);
  } else if (!strcasecmp(word, "preset") || !strcasecmp(word, "model") ||
             !strcasecmp(word, "param")) {
    char why[128];
    snprintf(why, sizeof(why), "'%s' needs %s", word,
             !strcasecmp(word, "preset")  ? "a preset NAME"
             : !strcasecmp(word, "model") ? "a model file PATH"
                                          : "I=V");
    set(action, LIVE_ACTION_INVALID, why);
  } else if (!strcasecmp(word, "bypass")) {
    set(action, LIVE_ACTION_INVALID, "'bypass' takes on or off");
  } else if (!strcasecmp(word, "reset") || !strcasecmp(word, "quit")) {
    char why[64];
    snprintf(why, sizeof(why), "'%s' takes no argument", word);
    set(action, LIVE_ACTION_INVALID, why);
  } else {
    char why[256];
    snprintf(why, sizeof(why), "unknown command; expected %s",
             LIVE_COMMANDS_HELP);
    set(action, LIVE_ACTION_INVALID, why);
  }
  return true;
}

size_t
live_parse_keys(const char* const bytes, const size_t size,
                LiveAction* const actions, const size_t max)
{
  size_t n = 0;
  for (size_t i = 0; i < size && n < max; ++i) {
    LiveActionType type = LIVE_ACTION_NONE;
    const char     c    = bytes[i];
    if (c == '\033' && i + 2U < size && bytes[i + 1U] == '[') {
      /* Arrow keys: ESC [ A (up), B (down), C (right), D (left). */
      const char arrow = bytes[i + 2U];
      type = (arrow == 'B' || arrow == 'C')   ? LIVE_ACTION_NEXT_PRESET
             : (arrow == 'A' || arrow == 'D') ? LIVE_ACTION_PREV_PRESET
                                              : LIVE_ACTION_NONE;
      i += 2U;
    } else {
      switch (c) {
      case 'n':
      case 'N': type = LIVE_ACTION_NEXT_PRESET; break;
      case 'p':
      case 'P': type = LIVE_ACTION_PREV_PRESET; break;
      case 'b':
      case 'B':
      case ' ': type = LIVE_ACTION_BYPASS_TOGGLE; break;
      case 'r':
      case 'R': type = LIVE_ACTION_RESET; break;
      case 'q':
      case 'Q': type = LIVE_ACTION_QUIT; break;
      default: break;
      }
    }
    if (type != LIVE_ACTION_NONE) {
      memset(&actions[n], 0, sizeof(actions[n]));
      actions[n].type = type;
      snprintf(actions[n].text, sizeof(actions[n].text), "key '%s'",
               c == '\033' ? "arrow" : (c == ' ' ? "space" : (char[2]){c, 0}));
      ++n;
    }
  }
  return n;
}
