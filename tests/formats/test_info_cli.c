/*
  `statewave info MODEL` succeeds and prints every given line fragment
  (e.g. "loudness: -37.8406868" for a NAM file's metadata).

  Usage: test_info_cli STATEWAVE_EXE MODEL TEXT...
  Exits 77 (skipped) when MODEL does not exist, so tests on files from
  ../shared/models skip where that folder is absent.
*/

#include "formats_support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run `exe info model`; its whole stdout, zero-terminated, or NULL.
   *status gets the wait status. */
static char*
run_info(const char* const exe, const char* const model, int* const status)
{
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    perror("pipe");
    return NULL;
  }
  const pid_t child = fork();
  if (child < 0) {
    perror("fork");
    return NULL;
  }
  if (child == 0) {
    if (dup2(pipe_fds[1], STDOUT_FILENO) < 0) {
      _exit(126);
    }
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    char* const args[] = {(char*)exe, (char*)"info", (char*)model, NULL};
    execv(exe, args);
    _exit(127);
  }
  close(pipe_fds[1]);

  size_t capacity = 16384;
  size_t used     = 0;
  char*  text     = (char*)malloc(capacity + 1U);
  while (text) {
    if (used == capacity) {
      capacity *= 2U;
      char* const grown = (char*)realloc(text, capacity + 1U);
      if (!grown) {
        free(text);
        text = NULL;
        break;
      }
      text = grown;
    }
    const ssize_t got = read(pipe_fds[0], text + used, capacity - used);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      break;
    }
    used += (size_t)got;
  }
  close(pipe_fds[0]);
  while (waitpid(child, status, 0) < 0 && errno == EINTR) {
  }
  if (text) {
    text[used] = '\0';
  }
  return text;
}

int
main(const int argc, char** const argv)
{
  if (argc < 4) {
    fprintf(stderr, "usage: %s STATEWAVE_EXE MODEL TEXT...\n", argv[0]);
    return 2;
  }
  struct stat model_stat;
  if (stat(argv[2], &model_stat) != 0) {
    printf("SKIP: %s is absent (../shared/models not present?)\n", argv[2]);
    return FORMATS_EXIT_SKIP;
  }
  int         status = 0;
  char* const text   = run_info(argv[1], argv[2], &status);
  if (!text) {
    fprintf(stderr, "FAIL: could not run %s info %s\n", argv[1], argv[2]);
    return 1;
  }
  int failures = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "FAIL: statewave info %s exited with status %d\n",
            argv[2], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    ++failures;
  }
  for (int i = 3; i < argc; ++i) {
    if (!strstr(text, argv[i])) {
      fprintf(stderr, "FAIL: statewave info %s does not print \"%s\"\n",
              argv[2], argv[i]);
      ++failures;
    }
  }
  if (failures) {
    fprintf(stderr, "its output was:\n%s", text);
  } else {
    printf("statewave info %s shows all %d expected lines\n", argv[2],
           argc - 3);
  }
  free(text);
  return failures ? 1 : 0;
}
