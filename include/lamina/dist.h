/* Lamina distributed training: the communicator that data-parallel training
 * runs over.  Built with MPI (make MPI=1, Open MPI's mpicc) it wraps
 * MPI_COMM_WORLD of a job started by mpirun or srun; otherwise, and in a
 * process started without a launcher, it is the single-process
 * communicator, whose operations do nothing.  The library never exits: a
 * peer that does not answer within the timeout is an error (LAM_ERR_IO)
 * returned to the caller, which ends the job (lam_comm_abort, the CLI's
 * choice).
 *
 * Sums are deterministic and identical on every rank: with two ranks IEEE
 * addition is commutative, so any algorithm agrees; with more, the sum is
 * taken in rank order (an MPI operation declared non-commutative), so that
 * every rank applies the same update and repeated runs give the same bits. */
#ifndef LAMINA_DIST_H
#define LAMINA_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "lamina/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lam_comm lam_comm;

/* Whether this build has MPI, and its library's version ("Open MPI v4.1.4";
 * "" without MPI). */
bool lam_dist_compiled(void);
const char *lam_dist_mpi_version(void);

/* Start the communicator of this process.  With MPI compiled in and a
 * launcher's environment present (mpirun, srun: OMPI_COMM_WORLD_SIZE,
 * PMIX_RANK, PMI_SIZE), MPI is initialised (MPI_THREAD_FUNNELED: only the
 * calling thread talks to MPI; OpenMP threads compute) and *out is
 * MPI_COMM_WORLD; otherwise *out is the single-process communicator.
 * Call once, before anything else of this header; release with
 * lam_dist_finalize.  argc/argv may be NULL.
 * Errors: LAM_ERR_IO (MPI_Init failed), LAM_ERR_NOMEM. */
lam_status lam_dist_init(int *argc, char ***argv, lam_comm **out);
/* Finalise MPI (when lam_dist_init started it) and free the communicator;
 * NULL is a no-op. */
void lam_dist_finalize(lam_comm *c);

int lam_comm_rank(const lam_comm *c); /* 0 for NULL */
int lam_comm_size(const lam_comm *c); /* 1 for NULL */

/* Seconds a rank waits for the others in any operation before it gives up
 * with LAM_ERR_IO naming the operation (default 300; <= 0: forever). */
void lam_comm_set_timeout(lam_comm *c, double seconds);
double lam_comm_timeout(const lam_comm *c);

/* Seconds this rank has spent waiting for communication to complete since
 * the communicator started (for the share of a step spent waiting). */
double lam_comm_wait_seconds(const lam_comm *c);

/* Root's n bytes into every rank's buf. */
lam_status lam_comm_bcast(lam_comm *c, void *buf, size_t n, int root);

/* In-place sums over the ranks: every rank ends with the same values. */
lam_status lam_comm_sum_f32(lam_comm *c, float *buf, size_t n);
lam_status lam_comm_sum_f64(lam_comm *c, double *buf, size_t n);
lam_status lam_comm_sum_i64(lam_comm *c, int64_t *buf, size_t n);
/* In-place maximum of n int32 over the ranks (agreeing on a flag). */
lam_status lam_comm_max_i32(lam_comm *c, int32_t *buf, size_t n);

/* A non-blocking in-place float sum (a gradient bucket): started now, it
 * progresses while the caller computes and calls lam_comm_test; the values
 * are ready once lam_comm_test says done or lam_comm_wait returns.  *req is
 * a handle (at most LAM_COMM_MAX_REQS outstanding). */
#define LAM_COMM_MAX_REQS 256
lam_status lam_comm_isum_f32(lam_comm *c, float *buf, size_t n, int *req);
lam_status lam_comm_test(lam_comm *c, int req, bool *done);
lam_status lam_comm_wait(lam_comm *c, int req);

/* End the whole job with exit code `code` (MPI_Abort): for the command
 * after a peer failed; without MPI it returns and the caller exits. */
void lam_comm_abort(lam_comm *c, int code);

#ifdef __cplusplus
}
#endif
#endif
