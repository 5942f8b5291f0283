/* Internal glue between fit.c and checkpoint.c. */
#ifndef LAMINA_TRAIN_INTERNAL_H
#define LAMINA_TRAIN_INTERNAL_H

#include "lamina/train.h"

/* Return the status of a fallible call when it is not LAM_OK. */
#define TRY(x)                       \
    do {                             \
        lam_status s_ = (x);         \
        if (s_ != LAM_OK) return s_; \
    } while (0)

/* Load parameters, optimiser state and training state from a checkpoint into
 * an already built model (same model text) and optimiser, for exact resume. */
lam_status lam_checkpoint_resume_(const char *path, lam_model *m, lam_optim *o, lam_train_state *ts);

/* Add the layers of the model file's layer sections to m->g after m->x and
 * set m->out (layers.c). */
lam_status lam_model_build_layers_(lam_model *m);
/* Build the layer sections [from, to) of m's model file into g after h;
 * *out = the last node.  Per-layer options are recorded when g is m->g. */
lam_status lam_build_sections_(lam_model *m, lam_graph *g, lam_node *h, int from, int to, lam_node **out);
bool lam_section_is_layer_(const lam_model *m, int i);
bool lam_section_is_learnable_(const lam_model *m, int i); /* dense, conv2d */
/* The layer name section i gets (its `name`, or prefix + count). */
const char *lam_section_layer_name_(lam_model *m, int i, char *buf, size_t n);
/* Attach the target, loss and output marking to m->out (model.c). */
lam_status lam_model_attach_loss_(lam_model *m);
/* Create the optimiser lam_fit uses for m's trainable parameters (fit.c). */
lam_status lam_fit_make_optim_(lam_model *m, lam_optim **out);

#endif
