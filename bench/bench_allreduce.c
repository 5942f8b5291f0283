/* The cost of summing a gradient over the ranks, through the communicator
 * lam_fit uses (lam_comm_sum_f32): for message sizes from 4 bytes to 64 MiB,
 * the median time of an all-reduce over `reps` repetitions, and the
 * latency-bandwidth fit t(n) = alpha + n / beta (alpha: the 4-byte time;
 * beta: the median of n / (t - alpha) over the sizes of 1 MiB and more),
 * printed as one JSON line per size and a summary line.  The scaling model
 * of docs/distributed.md is built from these figures.
 *
 *   mpirun -np 2 build/mpi/bench/bench_allreduce [reps]
 *
 * In a build without MPI (or one process) it says so and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lamina/lamina.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    lam_comm *c;
    if (lam_dist_init(&argc, &argv, &c) != LAM_OK) {
        fprintf(stderr, "bench_allreduce: %s\n", lam_last_error());
        return 1;
    }
    int P = lam_comm_size(c), rank = lam_comm_rank(c);
    if (P < 2) {
        printf("bench_allreduce: one process (run it under mpirun -np 2 with a build made with MPI=1)\n");
        lam_dist_finalize(c);
        return 0;
    }
    int reps = argc > 1 ? atoi(argv[1]) : 30;
    if (reps < 3) reps = 3;
    size_t max_n = (size_t)16 << 20; /* floats: 64 MiB */
    float *buf = malloc(max_n * sizeof(float));
    double *t = malloc(sizeof(double) * (size_t)reps);
    if (!buf || !t) return 1;
    for (size_t i = 0; i < max_n; i++) buf[i] = (float)(i % 7) * 0.5f;
    double small = 0, bw[16];
    int nbw = 0;
    for (size_t n = 1; n <= max_n; n *= 4) {
        for (int w = 0; w < 3; w++) lam_comm_sum_f32(c, buf, n); /* warm up */
        for (int r = 0; r < reps; r++) {
            double t0 = now_s();
            if (lam_comm_sum_f32(c, buf, n) != LAM_OK) {
                fprintf(stderr, "bench_allreduce: %s\n", lam_last_error());
                return 1;
            }
            t[r] = now_s() - t0;
        }
        qsort(t, (size_t)reps, sizeof *t, cmp);
        double med = t[reps / 2];
        if (n == 1) small = med;
        if (n * sizeof(float) >= ((size_t)1 << 20) && nbw < 16) bw[nbw++] = (double)n * sizeof(float) / (med - small);
        if (rank == 0)
            printf("{\"bench\":\"allreduce\",\"ranks\":%d,\"bytes\":%zu,\"median_s\":%.9f,\"gbytes_per_s\":%.3f}\n", P,
                   n * sizeof(float), med, (double)n * sizeof(float) / med / 1e9);
    }
    qsort(bw, (size_t)nbw, sizeof *bw, cmp);
    if (rank == 0)
        printf("{\"bench\":\"allreduce_fit\",\"ranks\":%d,\"latency_s\":%.9f,\"bandwidth_bytes_per_s\":%.6g}\n", P, small,
               nbw ? bw[nbw / 2] : 0.0);
    free(buf);
    free(t);
    lam_dist_finalize(c);
    return 0;
}
