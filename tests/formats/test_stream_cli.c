/*
  `statewave stream --model MODEL < IN.csv` prints the same output as
  PyTorch's reference REF.csv, within 1e-5 (max abs): the command-line path
  (CSV parsing, knob columns as given, printing) loses nothing.

  Usage: test_stream_cli STATEWAVE_EXE MODEL IN.csv REF.csv
*/

#include "formats_support.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const float tolerance = 1e-5f;

/* Run `exe stream --model model` with stdin from `in_path`; the whole
   stdout, zero-terminated, or NULL. *status gets the wait status. */
static char*
run_stream(const char* const exe, const char* const model,
           const char* const in_path, size_t* const length, int* const status)
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
    const int in_fd = open(in_path, O_RDONLY);
    if (in_fd < 0 || dup2(in_fd, STDIN_FILENO) < 0 ||
        dup2(pipe_fds[1], STDOUT_FILENO) < 0) {
      _exit(126);
    }
    close(in_fd);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    char* const args[] = {(char*)exe, (char*)"stream", (char*)"--model",
                          (char*)model, NULL};
    execv(exe, args);
    _exit(127);
  }
  close(pipe_fds[1]);

  size_t capacity = 65536;
  size_t used     = 0;
  char*  text     = (char*)malloc(capacity + 1U);
  for (;;) {
    if (text && used == capacity) {
      capacity *= 2U;
      char* const grown = (char*)realloc(text, capacity + 1U);
      if (!grown) {
        free(text);
        text = NULL;
      } else {
        text = grown;
      }
    }
    char         sink[4096];
    char* const  into = text ? text + used : sink;
    const size_t room = text ? capacity - used : sizeof(sink);
    const ssize_t got = read(pipe_fds[0], into, room);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      break;
    }
    used += text ? (size_t)got : 0U;
  }
  close(pipe_fds[0]);
  while (waitpid(child, status, 0) < 0 && errno == EINTR) {
  }
  if (text) {
    text[used] = '\0';
    *length    = used;
  }
  return text;
}

int
main(const int argc, char** const argv)
{
  if (argc != 5) {
    fprintf(stderr, "usage: %s STATEWAVE_EXE MODEL IN.csv REF.csv\n",
            argv[0]);
    return 2;
  }
  const char* const exe      = argv[1];
  const char* const model    = argv[2];
  const char* const in_path  = argv[3];
  const char* const ref_path = argv[4];

  struct stat info;
  if (stat(model, &info) != 0) {
    printf("SKIP: the shared model %s is not here: this test reads real "
           "models from ../shared/models/\n", model);
    return FORMATS_EXIT_SKIP;
  }

  char     why[256];
  CsvTable reference = {0, 0, NULL};
  if (!csv_load(ref_path, &reference, why, sizeof(why))) {
    fprintf(stderr, "FAIL: reference %s: %s\n", ref_path, why);
    return 1;
  }

  size_t      length = 0;
  int         status = 0;
  char* const text   = run_stream(exe, model, in_path, &length, &status);
  if (!text) {
    fprintf(stderr, "FAIL: could not run %s\n", exe);
    csv_free(&reference);
    return 1;
  }
  int failures = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "FAIL: `%s stream --model %s < %s` ended with %s %d\n",
            exe, model, in_path,
            WIFEXITED(status) ? "exit status" : "signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    ++failures;
  }

  CsvTable output = {0, 0, NULL};
  if (!csv_parse(text, length, &output, why, sizeof(why))) {
    fprintf(stderr, "FAIL: the command's output is not CSV numbers: %s\n",
            why);
    ++failures;
  } else if (output.rows != reference.rows || output.cols != reference.cols) {
    fprintf(stderr, "FAIL: the command printed %zu rows x %zu columns, the "
            "reference has %zu x %zu\n", output.rows, output.cols,
            reference.rows, reference.cols);
    ++failures;
  } else {
    float  worst    = 0.0f;
    size_t worst_at = 0;
    bool   finite   = true;
    for (size_t i = 0; i < output.rows * output.cols; ++i) {
      const float error = fabsf(output.values[i] - reference.values[i]);
      finite            = finite && isfinite(output.values[i]);
      if (error > worst) {
        worst    = error;
        worst_at = i;
      }
    }
    if (!finite || worst > tolerance) {
      fprintf(stderr, "FAIL: max |stream - PyTorch| = %.3g at value %zu "
              "(got %.9g, expected %.9g)%s\n", (double)worst, worst_at,
              (double)output.values[worst_at],
              (double)reference.values[worst_at],
              finite ? "" : "; the output has non-finite values");
      ++failures;
    } else {
      printf("statewave stream on %s: %zu frames, max abs error vs PyTorch "
             "%.3g\n", model, output.rows, (double)worst);
    }
  }

  csv_free(&output);
  free(text);
  csv_free(&reference);
  return failures ? 1 : 0;
}
