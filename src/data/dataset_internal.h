/* Private helpers of the data layer shared by dataset.c and the token readers
 * (text.c): token data sets with any ids stride, copies of name arrays.
 * Not installed. */
#ifndef LAMINA_DATA_DATASET_INTERNAL_H
#define LAMINA_DATA_DATASET_INTERNAL_H

#include "lamina/data.h"

/* A zero-filled token data set as lam_dataset_new_ids, but with ids_stride =
 * `stride` (>= 1): ids_len = (n - 1) * stride + nfeat (+ 1 with next_token),
 * 0 when n = 0.  Errors: LAM_ERR_ARG (sizes out of range), LAM_ERR_NOMEM. */
lam_status lam_dataset_new_ids_strided_(int64_t n, int64_t nfeat, int64_t stride, int32_t vocab,
                                        int32_t nclasses, bool next_token, bool with_lengths,
                                        lam_dataset **out);

/* Deep copy of k strings; NULL on NOMEM (nothing leaked). */
char **lam_names_copy_(const char *const *names, int64_t k);
void lam_names_free_(char **names, int64_t k);

#endif
