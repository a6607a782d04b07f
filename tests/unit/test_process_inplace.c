/*
  sw_engine_process allows `in` and `out` to alias: processing a buffer in
  place gives the same output as separate buffers, for several streams and
  for calls longer than max_block.
*/

#include "unit_support.h"

#include <stdlib.h>
#include <string.h>

enum { STREAMS = 2, FRAMES = 1500, MAX_BLOCK = 256 };

int
main(void)
{
  SwLayerSpec layers[3] = {sw_layer_spec(SW_LAYER_GRU, 8),
                           sw_layer_spec(SW_LAYER_LSTM, 5),
                           sw_layer_spec(SW_LAYER_DENSE, 1)};
  SwModelSpec spec      = unit_spec(1, 3, layers);
  spec.skip             = true;
  SwModel* const model  = unit_build(&spec, 13);

  float* input[STREAMS];
  float* separate[STREAMS];
  float* in_place[STREAMS];
  for (size_t s = 0; s < STREAMS; ++s) {
    input[s]    = unit_floats(FRAMES);
    separate[s] = unit_floats(FRAMES);
    in_place[s] = unit_floats(FRAMES);
    unit_fill_audio(input[s], FRAMES, 70 + s);
    memcpy(in_place[s], input[s], FRAMES * sizeof(float));
  }

  SwEngine* const a = unit_engine(model, STREAMS, MAX_BLOCK, 0.0f);
  SwEngine* const b = unit_engine(model, STREAMS, MAX_BLOCK, 0.0f);
  /* One call of 1000 frames (split inside the engine), then 500. */
  const uint32_t calls[2] = {1000, 500};
  size_t         at       = 0;
  for (size_t c = 0; c < 2; ++c) {
    const float* in_a[STREAMS];
    float*       out_a[STREAMS];
    const float* in_b[STREAMS];
    float*       out_b[STREAMS];
    for (size_t s = 0; s < STREAMS; ++s) {
      in_a[s]  = input[s] + at;
      out_a[s] = separate[s] + at;
      in_b[s]  = in_place[s] + at;
      out_b[s] = in_place[s] + at;
    }
    EXPECT(sw_engine_process(a, in_a, out_a, calls[c]) == SW_SUCCESS,
           "process (separate buffers)");
    EXPECT(sw_engine_process(b, in_b, out_b, calls[c]) == SW_SUCCESS,
           "process (in place)");
    at += calls[c];
  }
  for (size_t s = 0; s < STREAMS; ++s) {
    unit_expect_identical(separate[s], in_place[s], FRAMES,
                          "in-place vs separate buffers");
    free(in_place[s]);
    free(separate[s]);
    free(input[s]);
  }
  sw_engine_free(b);
  sw_engine_free(a);
  sw_model_free(model);
  return unit_finish("process_inplace");
}
