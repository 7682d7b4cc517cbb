/* replay.c — runs a libFuzzer target over files, without libFuzzer.
 *
 * Each argument is a file or a folder of files (the seed corpus, crashers);
 * every file is fed once to LLVMFuzzerTestOneInput. ctest runs this in every
 * build, so the corpus is exercised under the sanitizers too. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  uint8_t *buf = NULL;
  long n;

  if (!f) {
    perror(path);
    return 1;
  }
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return 1;
  }
  buf = malloc(n ? (size_t)n : 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(buf);
    return 1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(buf, (size_t)n);
  free(buf);
  return 0;
}

int main(int argc, char **argv)
{
  int files = 0, bad = 0;

  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      return 1;
    }
    if (S_ISDIR(st.st_mode)) {
      DIR *d = opendir(argv[i]);
      struct dirent *de;
      if (!d)
        return 1;
      while ((de = readdir(d))) {
        char path[4096];
        if (de->d_name[0] == '.')
          continue;
        snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
        bad |= run_file(path);
        files++;
      }
      closedir(d);
    } else {
      bad |= run_file(argv[i]);
      files++;
    }
  }
  printf("replayed %d inputs\n", files);
  return bad || files == 0;
}
