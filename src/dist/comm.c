/* The communicator of data-parallel training (include/lamina/dist.h): MPI
 * when the build has it (LAM_USE_MPI, make MPI=1) and the process was
 * started by a launcher, else one process.  Every MPI operation is started
 * non-blocking and waited for by polling against a deadline, so that a peer
 * that died or hangs is reported (LAM_ERR_IO) instead of waited for forever. */
#include "lamina/dist.h"

#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef LAM_USE_MPI
#include <mpi.h>
#endif

struct lam_comm {
    int rank, size;
    double timeout;  /* seconds; <= 0: no limit */
    double wait_s;   /* time spent waiting so far */
#ifdef LAM_USE_MPI
    bool mpi;        /* MPI_COMM_WORLD of a launched job */
    bool finalize;   /* lam_dist_init initialised MPI */
    MPI_Comm world;
    MPI_Op sum_f32, sum_f64; /* rank-ordered sums for more than two ranks */
    MPI_Request req[LAM_COMM_MAX_REQS];
    bool used[LAM_COMM_MAX_REQS];
#endif
};

int lam_comm_rank(const lam_comm *c) { return c ? c->rank : 0; }
int lam_comm_size(const lam_comm *c) { return c ? c->size : 1; }
void lam_comm_set_timeout(lam_comm *c, double seconds)
{
    if (c) c->timeout = seconds;
}
double lam_comm_timeout(const lam_comm *c) { return c ? c->timeout : 0; }
double lam_comm_wait_seconds(const lam_comm *c) { return c ? c->wait_s : 0; }

#ifndef LAM_USE_MPI

bool lam_dist_compiled(void) { return false; }
const char *lam_dist_mpi_version(void) { return ""; }

/* Processes in the job a launcher started this one in (1 without one). */
static long launched_size(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && atol(v) > 1) return atol(v);
    }
    return 1;
}

lam_status lam_dist_init(int *argc, char ***argv, lam_comm **out)
{
    (void)argc;
    (void)argv;
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_dist_init: out is NULL");
    *out = NULL;
    long n = launched_size();
    if (n > 1) /* N copies would each train alone, writing the same files */
        return lam_fail(LAM_ERR_UNSUPPORTED,
                        "this lamina was built without MPI but started as one of %ld processes (mpirun or srun); hint: "
                        "build it with make MPI=1 (Debian: apt-get install libopenmpi-dev openmpi-bin)", n);
    lam_comm *c = lam_calloc(1, sizeof *c);
    if (!c) return LAM_ERR_NOMEM;
    c->size = 1;
    c->timeout = 300;
    *out = c;
    return LAM_OK;
}

void lam_dist_finalize(lam_comm *c) { lam_free(c); }
lam_status lam_comm_bcast(lam_comm *c, void *buf, size_t n, int root)
{
    (void)c, (void)buf, (void)n;
    return root == 0 ? LAM_OK : lam_fail(LAM_ERR_ARG, "broadcast from rank %d of 1", root);
}
lam_status lam_comm_sum_f32(lam_comm *c, float *buf, size_t n) { return (void)c, (void)buf, (void)n, LAM_OK; }
lam_status lam_comm_sum_f64(lam_comm *c, double *buf, size_t n) { return (void)c, (void)buf, (void)n, LAM_OK; }
lam_status lam_comm_sum_i64(lam_comm *c, int64_t *buf, size_t n) { return (void)c, (void)buf, (void)n, LAM_OK; }
lam_status lam_comm_max_i32(lam_comm *c, int32_t *buf, size_t n) { return (void)c, (void)buf, (void)n, LAM_OK; }
lam_status lam_comm_isum_f32(lam_comm *c, float *buf, size_t n, int *req)
{
    (void)c, (void)buf, (void)n;
    *req = 0;
    return LAM_OK;
}
lam_status lam_comm_test(lam_comm *c, int req, bool *done)
{
    (void)c, (void)req;
    *done = true;
    return LAM_OK;
}
lam_status lam_comm_wait(lam_comm *c, int req) { return (void)c, (void)req, LAM_OK; }
void lam_comm_abort(lam_comm *c, int code) { (void)c, (void)code; }

#else /* LAM_USE_MPI */

bool lam_dist_compiled(void) { return true; }

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

const char *lam_dist_mpi_version(void)
{
    static char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (!v[0] && MPI_Get_library_version(v, &len) == MPI_SUCCESS) {
        v[strcspn(v, ",\n")] = 0; /* "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4" */
    }
    return v;
}

/* Rank-ordered sums: MPI applies a non-commutative operation in rank order,
 * and its algorithms for one reduce then broadcast the result, so every
 * rank gets the same bits. */
static void sum_f32(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    const float *a = in;
    float *b = inout;
    for (int i = 0; i < *len; i++) b[i] = a[i] + b[i];
}

static void sum_f64(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    const double *a = in;
    double *b = inout;
    for (int i = 0; i < *len; i++) b[i] = a[i] + b[i];
}

/* A launcher's environment: Open MPI's mpirun, PMIx (srun --mpi=pmix), PMI. */
static bool launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return true;
    return false;
}

lam_status lam_dist_init(int *argc, char ***argv, lam_comm **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_dist_init: out is NULL");
    *out = NULL;
    lam_comm *c = lam_calloc(1, sizeof *c);
    if (!c) return LAM_ERR_NOMEM;
    c->size = 1;
    c->timeout = 300;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited && !launched()) { /* a plain process: no MPI */
        *out = c;
        return LAM_OK;
    }
    if (!inited) {
        int provided;
        if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
            lam_free(c);
            return lam_fail(LAM_ERR_IO, "MPI_Init_thread failed");
        }
        c->finalize = true;
    }
    c->mpi = true;
    c->world = MPI_COMM_WORLD;
    MPI_Comm_set_errhandler(c->world, MPI_ERRORS_RETURN); /* errors come back as statuses */
    MPI_Comm_rank(c->world, &c->rank);
    MPI_Comm_size(c->world, &c->size);
    MPI_Op_create(sum_f32, 0, &c->sum_f32);
    MPI_Op_create(sum_f64, 0, &c->sum_f64);
    *out = c;
    return LAM_OK;
}

void lam_dist_finalize(lam_comm *c)
{
    if (!c) return;
    if (c->mpi) {
        MPI_Op_free(&c->sum_f32);
        MPI_Op_free(&c->sum_f64);
        if (c->finalize) MPI_Finalize();
    }
    lam_free(c);
}

static lam_status mpi_fail(const lam_comm *c, int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "error %d", rc);
    return lam_fail(LAM_ERR_IO, "rank %d of %d: %s failed: %s", c->rank, c->size, what, msg);
}

/* Wait for r by polling, until the deadline. */
static lam_status wait_req(lam_comm *c, MPI_Request *r, const char *what)
{
    double t0 = now_s();
    for (long spins = 0;; spins++) {
        int done = 0, rc = MPI_Test(r, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) {
            c->wait_s += now_s() - t0;
            return mpi_fail(c, rc, what);
        }
        if (done) break;
        double t = now_s();
        if (c->timeout > 0 && t - t0 > c->timeout) {
            c->wait_s += t - t0;
            return lam_fail(LAM_ERR_IO,
                            "rank %d of %d: no answer from the other ranks within %.0f s (%s): a rank died or hangs; "
                            "hint: the job is ended, restart it with --resume from the last checkpoint",
                            c->rank, c->size, c->timeout, what);
        }
        if (spins > 1000) sched_yield(); /* leave the core to a rank that shares it */
    }
    c->wait_s += now_s() - t0;
    return LAM_OK;
}

/* MPI counts are int: sizes are cut into chunks below 2^30 elements. */
#define CHUNK ((size_t)1 << 30)

lam_status lam_comm_bcast(lam_comm *c, void *buf, size_t n, int root)
{
    if (!c || !c->mpi || c->size == 1) return LAM_OK;
    for (size_t off = 0; off < n; off += CHUNK) {
        MPI_Request r;
        int cnt = (int)(n - off < CHUNK ? n - off : CHUNK), rc;
        if ((rc = MPI_Ibcast((char *)buf + off, cnt, MPI_BYTE, root, c->world, &r)) != MPI_SUCCESS)
            return mpi_fail(c, rc, "broadcast");
        lam_status s = wait_req(c, &r, "broadcast");
        if (s != LAM_OK) return s;
    }
    return LAM_OK;
}

static lam_status isum(lam_comm *c, void *buf, size_t n, MPI_Datatype t, size_t esize, MPI_Op op, const char *what)
{
    for (size_t off = 0; off < n; off += CHUNK) {
        MPI_Request r;
        int cnt = (int)(n - off < CHUNK ? n - off : CHUNK), rc;
        rc = MPI_Iallreduce(MPI_IN_PLACE, (char *)buf + off * esize, cnt, t, op, c->world, &r);
        if (rc != MPI_SUCCESS) return mpi_fail(c, rc, what);
        lam_status s = wait_req(c, &r, what);
        if (s != LAM_OK) return s;
    }
    return LAM_OK;
}

lam_status lam_comm_sum_f32(lam_comm *c, float *buf, size_t n)
{
    if (!c || !c->mpi || c->size == 1) return LAM_OK;
    return isum(c, buf, n, MPI_FLOAT, sizeof(float), c->size > 2 ? c->sum_f32 : MPI_SUM, "sum of floats");
}

lam_status lam_comm_sum_f64(lam_comm *c, double *buf, size_t n)
{
    if (!c || !c->mpi || c->size == 1) return LAM_OK;
    return isum(c, buf, n, MPI_DOUBLE, sizeof(double), c->size > 2 ? c->sum_f64 : MPI_SUM, "sum of doubles");
}

lam_status lam_comm_sum_i64(lam_comm *c, int64_t *buf, size_t n)
{
    if (!c || !c->mpi || c->size == 1) return LAM_OK;
    return isum(c, buf, n, MPI_INT64_T, sizeof(int64_t), MPI_SUM, "sum of counts"); /* exact in any order */
}

lam_status lam_comm_max_i32(lam_comm *c, int32_t *buf, size_t n)
{
    if (!c || !c->mpi || c->size == 1) return LAM_OK;
    return isum(c, buf, n, MPI_INT32_T, sizeof(int32_t), MPI_MAX, "maximum");
}

lam_status lam_comm_isum_f32(lam_comm *c, float *buf, size_t n, int *req)
{
    *req = -1;
    if (!c || !c->mpi || c->size == 1) {
        *req = 0;
        return LAM_OK;
    }
    if (n > (size_t)INT_MAX) return lam_fail(LAM_ERR_ARG, "lam_comm_isum_f32: %zu floats in one request", n);
    int k = 0;
    while (k < LAM_COMM_MAX_REQS && c->used[k]) k++;
    if (k == LAM_COMM_MAX_REQS) return lam_fail(LAM_ERR_STATE, "lam_comm_isum_f32: %d requests outstanding", k);
    int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, c->size > 2 ? c->sum_f32 : MPI_SUM, c->world,
                            &c->req[k]);
    if (rc != MPI_SUCCESS) return mpi_fail(c, rc, "gradient sum");
    c->used[k] = true;
    *req = k;
    return LAM_OK;
}

lam_status lam_comm_test(lam_comm *c, int req, bool *done)
{
    *done = true;
    if (!c || !c->mpi || c->size == 1) return LAM_OK;
    if (req < 0 || req >= LAM_COMM_MAX_REQS || !c->used[req])
        return lam_fail(LAM_ERR_ARG, "lam_comm_test: no request %d", req);
    int flag = 0, rc = MPI_Test(&c->req[req], &flag, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return mpi_fail(c, rc, "gradient sum");
    *done = flag != 0;
    if (flag) c->used[req] = false;
    return LAM_OK;
}

lam_status lam_comm_wait(lam_comm *c, int req)
{
    if (!c || !c->mpi || c->size == 1) return LAM_OK;
    if (req < 0 || req >= LAM_COMM_MAX_REQS || !c->used[req])
        return lam_fail(LAM_ERR_ARG, "lam_comm_wait: no request %d", req);
    lam_status s = wait_req(c, &c->req[req], "gradient sum");
    c->used[req] = false;
    return s;
}

void lam_comm_abort(lam_comm *c, int code)
{
    if (c && c->mpi) MPI_Abort(c->world, code);
}

#endif /* LAM_USE_MPI */
