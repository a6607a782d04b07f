/* The fused kernel's work, as phases: each phase is run by every thread of
   a stream's thread group with its own `tid`, and phases are separated by
   a barrier. The same code is compiled by nvcc for the kernel and by the C
   compiler for the host executor the tests run on machines without a GPU
   (one "thread" after another, a phase at a time), so the CI checks the
   kernel's arithmetic against the CPU backend (private). */

#ifndef SW_FUSED_STEP_H
#define SW_FUSED_STEP_H

#include "activation.h"
#include "fused_plan.h"

#ifdef __CUDACC__
#  define SW_FUSED_FN __device__ static inline
#  define SW_FUSED_SET_FLAG(word) atomicOr((word), 1U)
#else
#  define SW_FUSED_FN static inline
#  define SW_FUSED_SET_FLAG(word) (*(word) |= 1U)
#endif

/* Phases of one frame. */
enum {
  SW_PHASE_LOAD_STATE = 0, /* state_io -> state (once per block) */
  SW_PHASE_STORE_STATE,    /* state -> state_io and state_copy */
  SW_PHASE_LOAD_INPUT,     /* frame t -> x; flags a non-finite input */
  SW_PHASE_RESET_FRAME,    /* initial state, zero outputs for frame t */
  SW_PHASE_OUTPUT,         /* the last layer's output -> out, frame t */
  SW_PHASE_GATES,          /* a layer's pre-activations (all types) */
  SW_PHASE_GRU_RESET_H,    /* GRU reset-before: r * h */
  SW_PHASE_GRU_CANDIDATE,  /* GRU reset-before: R_n (r * h) + bR_n */
  SW_PHASE_UPDATE,         /* new h (and c); flags non-finite state */
  SW_PHASE_CONV_SHIFT,     /* Conv1D history moves on one frame */
};

/* Flag words: [0..1] non-finite input, [2..3] non-finite state, by frame
   parity, so a flag can be cleared a frame before it is set again. */
#define SW_FUSED_FLAG_INPUT(t) ((t) & 1U)
#define SW_FUSED_FLAG_STATE(t) (2U + ((t) & 1U))

/* Everything one stream's phases touch. */
typedef struct {
  const SwFusedPlan* plan;
  const float*       weights;
  const float*       in;         /* [frames][input_width] */
  float*             out;        /* [frames][output_width] */
  float*             state_io;   /* [state_size], kept between blocks */
  float*             state_copy; /* [state_size], downloaded with out */
  float*             x;
  float*             state;
  float*             scratch;
  float*             dense[2];
  unsigned*          flags;
  unsigned*          resets; /* this stream's count for the block */
} SwFusedStream;

/* Carve the work vectors out of `work` (sw_fused_work_floats floats). */
SW_FUSED_FN void
sw_fused_bind_work(SwFusedStream* const s, float* const work)
{
  const SwFusedPlan* const p = s->plan;
  s->x        = work;
  s->state    = s->x + p->input_width;
  s->scratch  = s->state + p->state_size;
  s->dense[0] = s->scratch + p->scratch_size;
  s->dense[1] = s->dense[0] + p->dense_size;
  s->flags    = (unsigned*)(s->dense[1] + p->dense_size);
}

SW_FUSED_FN const float*
sw_fused_source(const SwFusedStream* const s, const uint32_t src,
                const uint32_t offset)
{
  switch (src) {
  case SW_FUSED_SRC_STATE:
    return s->state + offset;
  case SW_FUSED_SRC_DENSE0:
    return s->dense[0];
  case SW_FUSED_SRC_DENSE1:
    return s->dense[1];
  default:
    return s->x;
  }
}

/* Row `row` of a transposed [cols][rows] matrix times v, summed in column
   order from 0 as the CPU's dot_row does. */
SW_FUSED_FN float
sw_fused_dot(const float* const wt, const uint32_t rows, const uint32_t row,
             const uint32_t cols, const float* const v)
{
  float sum = 0.0f;
  for (uint32_t k = 0; k < cols; ++k) {
    sum += wt[(size_t)k * rows + row] * v[k];
  }
  return sum;
}

SW_FUSED_FN bool
sw_fused_finite(const float v)
{
  return isfinite(v);
}

SW_FUSED_FN float
sw_fused_act(const uint32_t act, const float v)
{
  return sw_activate((SwActivation)act, v);
}

/* Every stateful layer back to its initial state. */
SW_FUSED_FN void
sw_fused_reset_state(const SwFusedStream* const s, const uint32_t tid,
                     const uint32_t nthreads)
{
  const SwFusedPlan* const p = s->plan;
  for (uint32_t l = 0; l < p->num_layers; ++l) {
    const SwFusedLayer* const L = &p->layers[l];
    float* const              h = s->state + L->state;
    if (L->type == SW_LAYER_CONV1D) {
      for (uint32_t i = tid; i < L->history; i += nthreads) {
        h[i] = 0.0f;
      }
      continue;
    }
    if (L->type == SW_LAYER_DENSE) {
      continue;
    }
    for (uint32_t j = tid; j < L->units; j += nthreads) {
      h[j] = L->initial_h == SW_FUSED_NONE ? 0.0f : s->weights[L->initial_h + j];
      if (L->type == SW_LAYER_LSTM) {
        h[L->units + j] = L->initial_c == SW_FUSED_NONE
                            ? 0.0f
                            : s->weights[L->initial_c + j];
      }
    }
  }
}

SW_FUSED_FN void
sw_fused_gates(const SwFusedStream* const s, const SwFusedLayer* const L,
               const uint32_t tid, const uint32_t nthreads)
{
  const float* const w    = s->weights;
  const float* const x    = sw_fused_source(s, L->src, L->src_offset);
  const float* const h    = s->state + L->state;
  const uint32_t     rows = L->rows;
  const uint32_t     I    = L->input_width;
  const uint32_t     U    = L->units;
  float* const       a    = s->scratch;

  switch (L->type) {
  case SW_LAYER_LSTM:
  case SW_LAYER_SIMPLE_RNN:
    for (uint32_t r = tid; r < rows; r += nthreads) {
      a[r] = w[L->bias + r] + w[L->rbias + r] +
             sw_fused_dot(w + L->w, rows, r, I, x) +
             sw_fused_dot(w + L->r, rows, r, U, h);
    }
    break;
  case SW_LAYER_GRU: {
    /* xa = W x + bW for every gate; ha = R h + bR, for the candidate only
       after r*h is known in the reset-before form. */
    float* const   ha       = a + rows;
    const uint32_t rec_rows = L->reset_after ? rows : 2U * U;
    for (uint32_t r = tid; r < rows; r += nthreads) {
      a[r] = w[L->bias + r] + sw_fused_dot(w + L->w, rows, r, I, x);
      if (r < rec_rows) {
        ha[r] = w[L->rbias + r] + sw_fused_dot(w + L->r, rows, r, U, h);
      }
    }
    break;
  }
  case SW_LAYER_DENSE: {
    float* const y = s->dense[L->dst];
    for (uint32_t r = tid; r < U; r += nthreads) {
      y[r] = sw_fused_act(L->activation,
                          w[L->bias + r] + sw_fused_dot(w + L->w, U, r, I, x));
    }
    break;
  }
  case SW_LAYER_CONV1D: {
    /* Tap k reads x[t - (K-1-k) d], at history frame k*d; the newest tap
       is x itself. Summed from the bias in tap, then channel order, as on
       the CPU. The shifted history goes to scratch for CONV_SHIFT. */
    float* const       y    = s->dense[L->dst];
    const float* const hist = s->state + L->state;
    const uint32_t     K    = L->kernel_size;
    for (uint32_t u = tid; u < U; u += nthreads) {
      float sum = w[L->bias + u];
      for (uint32_t k = 0; k < K; ++k) {
        const float* const frame =
          k + 1U == K ? x : hist + (size_t)k * L->dilation * I;
        for (uint32_t c = 0; c < I; ++c) {
          sum += w[L->w + (size_t)(k * I + c) * U + u] * frame[c];
        }
      }
      y[u] = sw_fused_act(L->activation, sum);
    }
    for (uint32_t i = tid; i < L->history; i += nthreads) {
      const uint32_t kept = L->history - I;
      a[i] = i < kept ? hist[i + I] : x[i - kept];
    }
    break;
  }
  default:
    break;
  }
}

SW_FUSED_FN void
sw_fused_gru_reset_h(const SwFusedStream* const s, const SwFusedLayer* const L,
                     const uint32_t tid, const uint32_t nthreads)
{
  const uint32_t     U  = L->units;
  const float* const xa = s->scratch;
  const float* const ha = xa + L->rows;
  float* const       rh = s->scratch + 2U * L->rows;
  const float* const h  = s->state + L->state;
  for (uint32_t j = tid; j < U; j += nthreads) {
    rh[j] = sw_fused_act(L->recurrent_activation, xa[j] + ha[j]) * h[j];
  }
}

SW_FUSED_FN void
sw_fused_gru_candidate(const SwFusedStream* const s,
                       const SwFusedLayer* const L, const uint32_t tid,
                       const uint32_t nthreads)
{
  const float* const w  = s->weights;
  const uint32_t     U  = L->units;
  float* const       ha = s->scratch + L->rows;
  const float* const rh = s->scratch + 2U * L->rows;
  for (uint32_t j = tid; j < U; j += nthreads) {
    const uint32_t r = 2U * U + j;
    ha[r] = w[L->rbias + r] + sw_fused_dot(w + L->r, L->rows, r, U, rh);
  }
}

SW_FUSED_FN void
sw_fused_update(const SwFusedStream* const s, const SwFusedLayer* const L,
                unsigned* const bad_state, const uint32_t tid,
                const uint32_t nthreads)
{
  const uint32_t     U   = L->units;
  const uint32_t     ra  = L->recurrent_activation;
  const uint32_t     act = L->activation;
  const float* const a   = s->scratch;
  float* const       h   = s->state + L->state;
  bool               ok  = true;

  switch (L->type) {
  case SW_LAYER_LSTM: {
    float* const c = h + U;
    for (uint32_t j = tid; j < U; j += nthreads) {
      const float i_gate = sw_fused_act(ra, a[j]);
      const float f_gate = sw_fused_act(ra, a[U + j]);
      const float g_cand = sw_fused_act(act, a[2U * U + j]);
      const float o_gate = sw_fused_act(ra, a[3U * U + j]);
      c[j]               = f_gate * c[j] + i_gate * g_cand;
      h[j]               = o_gate * sw_fused_act(act, c[j]);
      ok                 = ok && sw_fused_finite(c[j]) && sw_fused_finite(h[j]);
    }
    break;
  }
  case SW_LAYER_GRU: {
    const float* const ha = a + L->rows;
    for (uint32_t j = tid; j < U; j += nthreads) {
      const float z_gate = sw_fused_act(ra, a[U + j] + ha[U + j]);
      if (L->reset_after) {
        const float r_gate = sw_fused_act(ra, a[j] + ha[j]);
        const float n_cand =
          sw_fused_act(act, a[2U * U + j] + r_gate * ha[2U * U + j]);
        h[j] = (1.0f - z_gate) * n_cand + z_gate * h[j];
      } else {
        const float n_cand = sw_fused_act(act, a[2U * U + j] + ha[2U * U + j]);
        h[j]               = z_gate * h[j] + (1.0f - z_gate) * n_cand;
      }
      ok = ok && sw_fused_finite(h[j]);
    }
    break;
  }
  case SW_LAYER_SIMPLE_RNN:
    for (uint32_t j = tid; j < U; j += nthreads) {
      h[j] = sw_fused_act(act, a[j]);
      ok   = ok && sw_fused_finite(h[j]);
    }
    break;
  default:
    break;
  }
  if (!ok) {
    SW_FUSED_SET_FLAG(bad_state);
  }
}

SW_FUSED_FN void
sw_fused_conv_shift(const SwFusedStream* const s, const SwFusedLayer* const L,
                    unsigned* const bad_state, const uint32_t tid,
                    const uint32_t nthreads)
{
  float* const hist = s->state + L->state;
  bool         ok   = true;
  for (uint32_t i = tid; i < L->history; i += nthreads) {
    hist[i] = s->scratch[i];
    ok      = ok && sw_fused_finite(hist[i]);
  }
  if (!ok) {
    SW_FUSED_SET_FLAG(bad_state);
  }
}

/* The phases a layer needs each frame, in order; returns how many. */
SW_FUSED_FN uint32_t
sw_fused_layer_phases(const SwFusedLayer* const L, uint32_t phases[4])
{
  switch (L->type) {
  case SW_LAYER_GRU:
    if (!L->reset_after) {
      phases[0] = SW_PHASE_GATES;
      phases[1] = SW_PHASE_GRU_RESET_H;
      phases[2] = SW_PHASE_GRU_CANDIDATE;
      phases[3] = SW_PHASE_UPDATE;
      return 4U;
    }
    phases[0] = SW_PHASE_GATES;
    phases[1] = SW_PHASE_UPDATE;
    return 2U;
  case SW_LAYER_LSTM:
  case SW_LAYER_SIMPLE_RNN:
    phases[0] = SW_PHASE_GATES;
    phases[1] = SW_PHASE_UPDATE;
    return 2U;
  case SW_LAYER_CONV1D:
    phases[0] = SW_PHASE_GATES;
    phases[1] = SW_PHASE_CONV_SHIFT;
    return L->history ? 2U : 1U;
  default: /* Dense */
    phases[0] = SW_PHASE_GATES;
    return 1U;
  }
}

/* Run phase `phase` (of layer `layer`, at frame `t`) as thread `tid` of
   `nthreads`. */
SW_FUSED_FN void
sw_fused_phase(const SwFusedStream* const s, const uint32_t phase,
               const uint32_t layer, const uint32_t t, const uint32_t tid,
               const uint32_t nthreads)
{
  const SwFusedPlan* const  p = s->plan;
  const SwFusedLayer* const L = &p->layers[layer];
  const uint32_t            I = p->input_width;
  const uint32_t            O = p->output_width;

  switch (phase) {
  case SW_PHASE_LOAD_STATE:
    for (uint32_t i = tid; i < p->state_size; i += nthreads) {
      s->state[i] = s->state_io[i];
    }
    for (uint32_t i = tid; i < SW_FUSED_FLAG_WORDS; i += nthreads) {
      s->flags[i] = 0U;
    }
    if (tid == 0) {
      *s->resets = 0U;
    }
    break;
  case SW_PHASE_STORE_STATE:
    for (uint32_t i = tid; i < p->state_size; i += nthreads) {
      s->state_io[i]   = s->state[i];
      s->state_copy[i] = s->state[i];
    }
    break;
  case SW_PHASE_LOAD_INPUT: {
    /* The flags of the other parity were last read a frame ago. */
    if (tid == 0) {
      s->flags[SW_FUSED_FLAG_INPUT(t + 1U)] = 0U;
      s->flags[SW_FUSED_FLAG_STATE(t + 1U)] = 0U;
    }
    bool ok = true;
    for (uint32_t k = tid; k < I; k += nthreads) {
      s->x[k] = s->in[(size_t)t * I + k];
      ok      = ok && sw_fused_finite(s->x[k]);
    }
    if (!ok) {
      SW_FUSED_SET_FLAG(&s->flags[SW_FUSED_FLAG_INPUT(t)]);
    }
    break;
  }
  case SW_PHASE_RESET_FRAME:
    sw_fused_reset_state(s, tid, nthreads);
    for (uint32_t o = tid; o < O; o += nthreads) {
      s->out[(size_t)t * O + o] = 0.0f;
    }
    if (tid == 0) {
      ++*s->resets;
    }
    break;
  case SW_PHASE_OUTPUT: {
    const float* const y = sw_fused_source(s, p->out_src, p->out_offset);
    for (uint32_t o = tid; o < O; o += nthreads) {
      s->out[(size_t)t * O + o] = y[o];
    }
    break;
  }
  case SW_PHASE_GATES:
    sw_fused_gates(s, L, tid, nthreads);
    break;
  case SW_PHASE_GRU_RESET_H:
    sw_fused_gru_reset_h(s, L, tid, nthreads);
    break;
  case SW_PHASE_GRU_CANDIDATE:
    sw_fused_gru_candidate(s, L, tid, nthreads);
    break;
  case SW_PHASE_UPDATE:
    sw_fused_update(s, L, &s->flags[SW_FUSED_FLAG_STATE(t)], tid, nthreads);
    break;
  case SW_PHASE_CONV_SHIFT:
    sw_fused_conv_shift(s, L, &s->flags[SW_FUSED_FLAG_STATE(t)], tid,
                        nthreads);
    break;
  default:
    break;
  }
}

/* A flag as every thread sees it after a barrier. */
SW_FUSED_FN unsigned
sw_fused_flag(const SwFusedStream* const s, const uint32_t word)
{
  return ((volatile const unsigned*)s->flags)[word];
}

/* One block of `frames` frames of one stream: the control flow every
   executor shares. RUN(phase, layer, t) runs a phase on all threads;
   BARRIER() waits for all of them. Decisions read flags after a barrier,
   so every thread takes the same path. */
#define SW_FUSED_DRIVE(s, frames, RUN, BARRIER)                              \
  do {                                                                       \
    RUN(SW_PHASE_LOAD_STATE, 0U, 0U);                                        \
    BARRIER();                                                               \
    for (uint32_t t_ = 0; t_ < (frames); ++t_) {                             \
      RUN(SW_PHASE_LOAD_INPUT, 0U, t_);                                      \
      BARRIER();                                                             \
      if (sw_fused_flag((s), SW_FUSED_FLAG_INPUT(t_))) {                     \
        RUN(SW_PHASE_RESET_FRAME, 0U, t_);                                   \
        BARRIER();                                                           \
        continue;                                                            \
      }                                                                      \
      for (uint32_t l_ = 0; l_ < (s)->plan->num_layers; ++l_) {              \
        uint32_t       ph_[4];                                               \
        const uint32_t n_ =                                                  \
          sw_fused_layer_phases(&(s)->plan->layers[l_], ph_);                \
        for (uint32_t i_ = 0; i_ < n_; ++i_) {                               \
          RUN(ph_[i_], l_, t_);                                              \
          BARRIER();                                                         \
        }                                                                    \
      }                                                                      \
      RUN(sw_fused_flag((s), SW_FUSED_FLAG_STATE(t_)) ? SW_PHASE_RESET_FRAME \
                                                      : SW_PHASE_OUTPUT,     \
          0U, t_);                                                           \
      BARRIER();                                                             \
    }                                                                        \
    RUN(SW_PHASE_STORE_STATE, 0U, 0U);                                       \
  } while (0)

#endif
