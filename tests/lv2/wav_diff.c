/* wav_diff A B TOLERANCE: the largest sample difference between two audio
   files of the same shape; exit 0 when it is within TOLERANCE, 1 when not,
   2 when the files cannot be compared. */

#include <sndfile.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char** argv)
{
  if (argc != 4) {
    fprintf(stderr, "usage: wav_diff A B TOLERANCE\n");
    return 2;
  }
  SF_INFO ia = {0}, ib = {0};
  SNDFILE* a = sf_open(argv[1], SFM_READ, &ia);
  SNDFILE* b = sf_open(argv[2], SFM_READ, &ib);
  if (!a || !b) {
    fprintf(stderr, "wav_diff: cannot open %s\n", a ? argv[2] : argv[1]);
    return 2;
  }
  if (ia.frames != ib.frames || ia.channels != ib.channels ||
      ia.samplerate != ib.samplerate) {
    fprintf(stderr, "wav_diff: shapes differ: %lld x %d @ %d vs %lld x %d @ %d\n",
            (long long)ia.frames, ia.channels, ia.samplerate,
            (long long)ib.frames, ib.channels, ib.samplerate);
    return 2;
  }
  double worst = 0.0;
  float  xa[4096], xb[4096];
  sf_count_t n;
  while ((n = sf_read_float(a, xa, 4096)) > 0) {
    if (sf_read_float(b, xb, n) != n) {
      return 2;
    }
    for (sf_count_t i = 0; i < n; ++i) {
      const double d = fabs((double)xa[i] - (double)xb[i]);
      worst = isnan(d) ? (double)INFINITY : (d > worst ? d : worst);
    }
  }
  sf_close(a);
  sf_close(b);
  const double tolerance = atof(argv[3]);
  printf("largest difference %.3g over %lld frames x %d channels (tolerance %g)\n",
         worst, (long long)ia.frames, ia.channels, tolerance);
  return worst <= tolerance ? 0 : 1;
}
