/*
  wav_align REC REC_CHANNEL REF REF_CHANNEL FROM_SECONDS MAX_LAG

  Finds how many frames channel REC_CHANNEL of REC (1-based; a recording
  of a live program's output) lags channel REF_CHANNEL of REF (what
  `statewave process` makes of the recorded input): the lag in
  -MAX_LAG..MAX_LAG with the smallest sum of squared differences over the
  frames from FROM_SECONDS on, then prints

    lag L frames, largest difference D, rms R (over N frames)

  where D is the largest |rec[t] - ref[t - L]| at that lag and R the RMS of
  the recorded channel there. Exit 0, or 2 when the files cannot be read.
*/

#include <sndfile.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Channel `channel` (1-based) of `path` into a malloc'ed array. */
static float*
read_channel(const char* const path, const int channel, sf_count_t* frames,
             int* rate)
{
  SF_INFO  info = {0};
  SNDFILE* file = sf_open(path, SFM_READ, &info);
  if (!file) {
    fprintf(stderr, "wav_align: cannot open %s: %s\n", path,
            sf_strerror(NULL));
    return NULL;
  }
  if (channel < 1 || channel > info.channels) {
    fprintf(stderr, "wav_align: %s has %d channels, not %d\n", path,
            info.channels, channel);
    sf_close(file);
    return NULL;
  }
  float* const all =
    (float*)malloc((size_t)info.frames * (size_t)info.channels * sizeof(float));
  float* const one = (float*)malloc((size_t)info.frames * sizeof(float) + 1U);
  if (!all || !one ||
      sf_readf_float(file, all, info.frames) != info.frames) {
    fprintf(stderr, "wav_align: cannot read %s\n", path);
    free(all);
    free(one);
    sf_close(file);
    return NULL;
  }
  for (sf_count_t t = 0; t < info.frames; ++t) {
    one[t] = all[t * info.channels + channel - 1];
  }
  free(all);
  sf_close(file);
  *frames = info.frames;
  *rate   = info.samplerate;
  return one;
}

int
main(int argc, char** argv)
{
  if (argc != 7) {
    fprintf(stderr, "usage: wav_align REC REC_CHANNEL REF REF_CHANNEL "
                    "FROM_SECONDS MAX_LAG\n");
    return 2;
  }
  sf_count_t   rec_frames = 0, ref_frames = 0;
  int          rec_rate = 0, ref_rate = 0;
  float* const rec = read_channel(argv[1], atoi(argv[2]), &rec_frames,
                                  &rec_rate);
  float* const ref = read_channel(argv[3], atoi(argv[4]), &ref_frames,
                                  &ref_rate);
  if (!rec || !ref) {
    free(rec);
    free(ref);
    return 2;
  }
  const long max_lag = atol(argv[6]);
  const long from    = (long)(atof(argv[5]) * rec_rate);
  /* Frames t compared: ref[t - lag] exists for every lag. */
  const long first = from > max_lag ? from : max_lag;
  const long last  = (long)(rec_frames < ref_frames ? rec_frames : ref_frames) -
                    max_lag;
  if (last - first < 1000 || rec_rate != ref_rate) {
    fprintf(stderr, "wav_align: too short to compare (%ld frames) or rates "
                    "differ (%d, %d)\n", last - first, rec_rate, ref_rate);
    free(rec);
    free(ref);
    return 2;
  }
  long   best_lag = 0;
  double best_sum = HUGE_VAL;
  for (long lag = -max_lag; lag <= max_lag; ++lag) {
    double sum = 0.0;
    for (long t = first; t < last && sum < best_sum; ++t) {
      const double d = (double)rec[t] - (double)ref[t - lag];
      sum += d * d;
    }
    if (sum < best_sum) {
      best_sum = sum;
      best_lag = lag;
    }
  }
  double largest = 0.0, energy = 0.0;
  for (long t = first; t < last; ++t) {
    const double d = fabs((double)rec[t] - (double)ref[t - best_lag]);
    largest        = isnan(d) ? HUGE_VAL : (d > largest ? d : largest);
    energy += (double)rec[t] * (double)rec[t];
  }
  printf("lag %ld frames, largest difference %.3g, rms %.3g (over %ld "
         "frames)\n",
         best_lag, largest, sqrt(energy / (double)(last - first)),
         last - first);
  free(rec);
  free(ref);
  return 0;
}
