/* Stands in for libFuzzer where it is not available (gcc builds): feeds
   every file under the folders and files named on the command line to
   LLVMFuzzerTestOneInput once, so the seed corpus and the regression inputs
   run in every build. A crash or a sanitizer report fails the test; a
   missing or unreadable path fails it too, so a moved corpus is noticed. */

#include "fuzz_harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The loader refuses files above 512 MiB; corpus files are kilobytes. */
#define REPLAY_MAX_FILE_SIZE (64L * 1024L * 1024L)

static int
replay_file(const char* const path, size_t* const replayed)
{
  FILE* const file = fopen(path, "rb");
  if (!file) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 1;
  }
  long size = -1;
  if (fseek(file, 0, SEEK_END) == 0) {
    size = ftell(file);
  }
  if (size < 0 || size > REPLAY_MAX_FILE_SIZE || fseek(file, 0, SEEK_SET)) {
    fclose(file);
    fprintf(stderr, "replay: cannot read %s (size %ld)\n", path, size);
    return 1;
  }
  /* An exact-size heap copy, as libFuzzer gives, so a read past the end
     lands outside the allocation (visible to AddressSanitizer/valgrind). */
  uint8_t* const data = (uint8_t*)malloc(size > 0 ? (size_t)size : 1U);
  if (!data) {
    fclose(file);
    fprintf(stderr, "replay: out of memory for %s\n", path);
    return 1;
  }
  const size_t got = fread(data, 1, (size_t)size, file);
  fclose(file);
  if (got != (size_t)size) {
    free(data);
    fprintf(stderr, "replay: short read of %s\n", path);
    return 1;
  }
  printf("replay: %s (%ld bytes)\n", path, size);
  fflush(stdout); /* the last name printed is the input that crashed */
  LLVMFuzzerTestOneInput(data, got);
  free(data);
  ++*replayed;
  return 0;
}

static int
replay_path(const char* const path, size_t* const replayed)
{
  struct stat info;
  if (stat(path, &info)) {
    fprintf(stderr, "replay: no such file or folder: %s\n", path);
    return 1;
  }
  if (!S_ISDIR(info.st_mode)) {
    return replay_file(path, replayed);
  }
  DIR* const dir = opendir(path);
  if (!dir) {
    fprintf(stderr, "replay: cannot list %s\n", path);
    return 1;
  }
  int failures = 0;
  for (const struct dirent* entry = readdir(dir); entry;
       entry = readdir(dir)) {
    if (entry->d_name[0] == '.') {
      continue; /* ., .. and hidden files */
    }
    const size_t length = strlen(path) + strlen(entry->d_name) + 2U;
    char* const  child  = (char*)malloc(length);
    if (!child) {
      failures = 1;
      break;
    }
    snprintf(child, length, "%s/%s", path, entry->d_name);
    failures |= replay_path(child, replayed);
    free(child);
  }
  closedir(dir);
  return failures;
}

int
main(const int argc, char** const argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE_OR_FOLDER...\n", argv[0]);
    return 2;
  }
  size_t replayed = 0;
  int    failures = 0;
  for (int i = 1; i < argc; ++i) {
    failures |= replay_path(argv[i], &replayed);
  }
  printf("replay: %zu inputs replayed\n", replayed);
  if (replayed == 0) {
    fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  return failures;
}
