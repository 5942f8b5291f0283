/* Internal glue between fit.c and checkpoint.c. */
#ifndef LAMINA_TRAIN_INTERNAL_H
#define LAMINA_TRAIN_INTERNAL_H

#include "lamina/train.h"

/* Load parameters, optimiser state and training state from a checkpoint into
 * an already built model (same model text) and optimiser, for exact resume. */
lam_status lam_checkpoint_resume_(const char *path, lam_model *m, lam_optim *o, lam_train_state *ts);

/* Add the layers of the model file's layer sections to m->g after m->x and
 * set m->out (layers.c). */
lam_status lam_model_build_layers_(lam_model *m);

#endif
