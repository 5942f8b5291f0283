/* Lamina: a deep-learning framework in C11.  The umbrella header. */
#ifndef LAMINA_LAMINA_H
#define LAMINA_LAMINA_H

#define LAMINA_VERSION "0.1.0"

#include "lamina/base.h"
#include "lamina/config.h"
#include "lamina/data.h"
#include "lamina/dist.h"
#include "lamina/graph.h"
#include "lamina/io.h"
#include "lamina/nn.h"
#include "lamina/optim.h"
#include "lamina/tensor.h"
#include "lamina/text.h"
#include "lamina/npy.h"
#include "lamina/train.h"

#endif
