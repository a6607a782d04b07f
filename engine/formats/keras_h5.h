/* Keras 2 HDF5 models (private): the HDF5 side (keras_h5.c) hands the
   model_config and the per-layer weights to the config side
   (keras_config.c), which maps Keras layers onto canonical layer specs. */

#ifndef SW_KERAS_H5_H
#define SW_KERAS_H5_H

#include "statewave/statewave.h"

#include <cjson/cJSON.h>
#include <hdf5.h>

#include <stddef.h>

/* Deepest weight array a supported layer has (Conv1D kernels are 3-D). */
#define SW_KERAS_MAX_RANK 3U

/* The model_weights group of an open file. */
typedef struct KerasWeights KerasWeights;

/* How many arrays weight_names lists for layer `layer` (0 when the layer
   has no group: layers without weights may have none). */
SwStatus
sw_keras_weight_count(KerasWeights* weights, const char* layer,
                      size_t* count, SwError* err);

/* Weight `index` (in weight_names order) of layer `layer`, which must have
   exactly the shape `dims[0..rank)`: checked before anything is allocated.
   Returns a malloc'd array of finite floats, C order, in *values. `field`
   names the array in messages ("kernel"). */
SwStatus
sw_keras_weight(KerasWeights* weights, const char* layer, size_t index,
                const char* field, size_t rank, const size_t* dims,
                float** values, SwError* err);

/* Whether libhdf5 can be handed the HDF5 image bytes[0..size) safely
   (hdf5_validate.c): its structure walked from the superblock as libhdf5
   walks it, every address, length and count checked against the image.
   SW_ERR_BAD_MODEL ("<path>: damaged HDF5: ... at offset N") or
   SW_ERR_UNSUPPORTED for HDF5 that h5py does not write. Call it before
   sw_hdf5_open_image() on any image; needs no lock. */
SwStatus
sw_hdf5_validate(const char* bytes, size_t size, const char* path,
                 SwError* err);

/* Whether every global heap ID in the HDF5 image `bytes` can be followed
   by libhdf5 without reading out of bounds (hdf5_guard.c); else the offset
   of the first that cannot. */
bool
sw_hdf5_heap_ids_safe(const char* bytes, size_t size, size_t* bad_offset);

/* Build the model described by `config` (the parsed model_config) with the
   weights of `weights`. `keras_version` decides what "hard_sigmoid" means. */
SwModel*
sw_keras_build(const cJSON* config, const char* keras_version,
               const char* backend, KerasWeights* weights, const char* path,
               SwError* err);

/* What a Keras config cannot say but an architecture spec may (keras_arch.c):
   Statewave's input-to-output skip and the training sample rate. */
typedef struct {
  bool   skip;
  double sample_rate; /* 0: unknown */
} KerasModelExtras;

/* sw_keras_build with `extras` (NULL: none). */
SwModel*
sw_keras_build_extras(const cJSON* config, const char* keras_version,
                      const char* backend, KerasWeights* weights,
                      const KerasModelExtras* extras, const char* path,
                      SwError* err);

/* A weights-only Keras file (save_weights: layer groups and layer_names at
   the root, no model_config) in bytes[0..size), built with `config` (a
   model_config translated from the architecture spec at `arch_path`).
   Checked like sw_keras_h5_read before libhdf5 sees it. Messages name
   `weights_path`, the layer and the field, and `arch_path`. An empty
   `keras_version` takes the file's own. */
SwModel*
sw_keras_h5_read_weights_only(const char* bytes, size_t size,
                              const char* weights_path, const cJSON* config,
                              const char* keras_version,
                              const KerasModelExtras* extras,
                              const char* arch_path, SwError* err);

/* ---- shared with the Keras 3 .keras reader (keras3_zip.c) ------------ */

/* A lookup of layer weights other than model_weights/<layer>/weight_names
   (Keras 3 finds a layer's variables by object path): count and weight
   answer as sw_keras_weight_count and sw_keras_weight do. */
typedef struct {
  void* context;
  SwStatus (*count)(void* context, const char* layer, size_t* count,
                    SwError* err);
  SwStatus (*weight)(void* context, const char* layer, size_t index,
                     const char* field, size_t rank, const size_t* dims,
                     float** values, SwError* err);
} KerasWeightLookup;

/* sw_keras_build with the weights of `lookup`. */
SwModel*
sw_keras_build_lookup(const cJSON* config, const char* keras_version,
                      const char* backend, const KerasWeightLookup* lookup,
                      const char* path, SwError* err);

/* The lock every libhdf5 user holds (Debian's libhdf5 is not thread-safe);
   taking it also keeps libhdf5 from printing. */
void
sw_hdf5_lock(void);

void
sw_hdf5_unlock(void);

/* The HDF5 file image bytes[0..size), opened read-only from a copy in
   HDF5's core driver; negative when it cannot be opened. Hold the lock. */
hid_t
sw_hdf5_open_image(const char* bytes, size_t size);

/* Dataset `name` of `group`, which must be a float array of exactly the
   shape dims[0..rank) (checked before anything is allocated) with finite
   values: a malloc'd C-order copy in *values. Messages name `path`,
   `layer` and `field`. */
SwStatus
sw_hdf5_read_weight(hid_t group, const char* name, const char* path,
                    const char* layer, const char* field, size_t rank,
                    const size_t* dims, float** values, SwError* err);

#endif
