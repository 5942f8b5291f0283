/* Data-parallel training over Open MPI, as a user runs it: `mpirun -np N
 * lamina train ...` against one process.
 *
 *  - equivalence: an MLP (the digits, SGD with momentum), a CNN (the digits
 *    as 1x8x8 images, SGD with momentum) and a small GPT (a generated
 *    corpus, AdamW) trained K steps on 1 rank and on 2 and 3 ranks end with
 *    the same weights to 1e-6 relative (the global batches are the same;
 *    only the order of the gradient additions differs), and two runs on the
 *    same number of ranks give the same bits.  (Adam turns a gradient that
 *    is zero but for rounding into a whole step of either sign: a CNN on raw
 *    pixel counts, whose blank borders give such gradients, drifts 1e-4
 *    apart in two Adam steps, SGD keeps 1e-7 after eight);
 *  - faults: a rank killed (SIGKILL) or hung (SIGSTOP) mid-training makes
 *    the job exit non-zero within the timeout (--timeout), and a restart
 *    with --resume ends with the uninterrupted run's weights, bit for bit
 *    on the same number of ranks.
 *
 * Needs a lamina built with MPI=1 ($LAMINA; `lamina --version` says "MPI")
 * and mpirun; without them the test says so and is skipped.  As root,
 * Open MPI needs OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM), which the test sets. */
#include "test.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lamina/io.h"
#include "lamina/train.h"

static const char *lamina;

/* t_tpath of a formatted name */
static const char *tpath(const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return t_tpath(name);
}

/* Run a shell command line; its exit code (128 + N for signal N). */
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define MPIRUN "mpirun --oversubscribe --bind-to none -np"

/* Train `cfg` for `steps` steps on `np` ranks (0: a plain process) into run
 * folder `out`; extra options after.  Returns the exit code. */
static int train(int np, const char *cfg, const char *out, int steps, const char *extra)
{
    char pre[64] = "";
    if (np > 0) snprintf(pre, sizeof pre, MPIRUN " %d ", np);
    return sh("%s'%s' train '%s' --out '%s' --quiet --threads 1 --steps %d %s >'%s.log' 2>&1", pre, lamina, cfg, out,
              steps, extra ? extra : "", out);
}

/* ||a - b|| / ||a|| over every F32 tensor of two model files (NAN when they
 * do not hold the same tensors); *same: every tensor bit for bit. */
static double rel_diff(const char *a, const char *b, bool *same)
{
    lam_safetensors *x = NULL, *y = NULL;
    double num = 0, den = 0;
    *same = false;
    if (lam_safetensors_open(a, &x) != LAM_OK || lam_safetensors_open(b, &y) != LAM_OK ||
        lam_safetensors_count(x) != lam_safetensors_count(y)) {
        lam_safetensors_close(x);
        lam_safetensors_close(y);
        return NAN;
    }
    bool eq = true;
    for (size_t i = 0; i < lam_safetensors_count(x); i++) {
        const lam_st_tensor *t = lam_safetensors_at(x, i), *u = lam_safetensors_find(y, t->name);
        if (!u || u->nbytes != t->nbytes || t->dtype != LAM_DTYPE_F32) {
            eq = false;
            num = NAN;
            break;
        }
        eq &= !memcmp(t->data, u->data, t->nbytes);
        const float *p = t->data, *q = u->data;
        for (size_t k = 0; k < t->nbytes / 4; k++) {
            num += ((double)p[k] - q[k]) * ((double)p[k] - q[k]);
            den += (double)p[k] * p[k];
        }
    }
    lam_safetensors_close(x);
    lam_safetensors_close(y);
    *same = eq;
    return den > 0 ? sqrt(num / den) : num;
}

static const char *model_path(const char *dir)
{
    static char p[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/model.safetensors", dir);
    return p[k];
}

static void show_log(const char *dir)
{
    char p[600];
    snprintf(p, sizeof p, "%s.log", dir);
    size_t n;
    char *text = t_slurp(p, &n);
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        printf("    | %s\n", line);
    }
    free(text);
}

/* The number after "key": in run folder dir's results.json (NAN: not there). */
static double json_number(const char *dir, const char *key)
{
    char p[600], k[64];
    snprintf(p, sizeof p, "%s/results.json", dir);
    snprintf(k, sizeof k, "\"%s\":", key);
    size_t n;
    char *text = t_slurp(p, &n), *at = text ? strstr(text, k) : NULL;
    double v = at ? strtod(at + strlen(k), NULL) : NAN;
    free(text);
    return v;
}

/* 1 rank against 2 and 3 for one model; two 2-rank runs bit for bit. */
static void equivalence(const char *name, const char *cfg, int steps)
{
    const char *one = tpath("%s_1", name);
    CHECK_MSG(train(0, cfg, one, steps, NULL) == 0, "%s: one process failed", name);
    for (int np = 2; np <= 3; np++) {
        const char *d = tpath("%s_%d", name, np);
        int rc = train(np, cfg, d, steps, NULL);
        if (rc != 0) show_log(d);
        CHECK_MSG(rc == 0, "%s: mpirun -np %d exited %d", name, np, rc);
        bool same;
        double r = rel_diff(model_path(one), model_path(d), &same);
        CHECK_MSG(r <= 1e-6, "%s: %d ranks against 1: relative difference %.3g", name, np, r);
        printf("# %s: %d steps, %d ranks against 1: weights %.3g apart (relative)\n", name, steps, np, r);
        /* rank 0's summary: the number of ranks and the waiting, a share of the timed steps */
        double ranks = json_number(d, "ranks"), wait = json_number(d, "comm_wait_seconds"),
               share = json_number(d, "comm_wait_share");
        CHECK_MSG(ranks == np, "%s: results.json says %g ranks, not %d", name, ranks, np);
        CHECK_MSG(wait >= 0 && share >= 0 && share < 1, "%s: %d ranks: comm_wait_seconds %g, comm_wait_share %g", name,
                  np, wait, share);
    }
    const char *again = tpath("%s_2b", name);
    CHECK(train(2, cfg, again, steps, NULL) == 0);
    bool same;
    rel_diff(model_path(tpath("%s_2", name)), model_path(again), &same);
    CHECK_MSG(same, "%s: two runs on 2 ranks differ", name);
}

static const char *cnn_cfg(void)
{
    return t_write_file("cnn.cfg", "[net]\ninput = 1, 8, 8\nseed = 4\n[data]\npath = data/digits.csv.gz\nscale = none\n"
                                 "[conv2d]\nfilters = 8\nkernel = 3\npadding = same\nactivation = relu\n"
                                 "[maxpool]\nsize = 2\n[conv2d]\nfilters = 12\nkernel = 3\nactivation = relu\n"
                                 "[flatten]\n[dense]\nunits = 10\n"
                                 "[train]\noptimizer = sgd\nmomentum = 0.9\nlr = 0.02\nbatch = 24\n");
}

static const char *gpt_cfg(void)
{
    static char text[40000];
    size_t k = 0;
    for (int i = 0; k + 64 < sizeof text / 2; i++)
        k += (size_t)snprintf(text + k, sizeof text / 2 - k, "the %s %s %d. ", i % 3 ? "cat" : "dog",
                              i % 5 ? "sat on the mat" : "ran", i % 7);
    const char *corpus = t_write_file("corpus.txt", text);
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "[net]\ninput = 32\nseed = 2\n[data]\nformat = corpus\npath = %s\ntokenizer = byte\nstride = 3\n"
             "[embedding]\nunits = 32\ninit_std = 0.02\nposition = learned\n"
             "[transformer]\nheads = 4\nrepeat = 2\nactivation = gelu\ndropout = 0\n[layernorm]\n"
             "[dense]\nunits = vocab\ninit = normal\ninit_std = 0.02\n"
             "[train]\nloss = cross_entropy\noptimizer = adamw\nlr = 0.003\nweight_decay = 0.1\nbatch = 12\n",
             corpus);
    return t_write_file("gpt.cfg", cfg);
}

static void test_equivalence(void)
{
    equivalence("mlp", "configs/digits_mlp.cfg", 12);
    equivalence("cnn", cnn_cfg(), 8);
    equivalence("gpt", gpt_cfg(), 4);
}

/* BatchNorm: with sync_batchnorm the statistics are the global batch's and
 * 2 and 3 ranks give one process's weights (and running statistics); by
 * default each rank normalises with its own rows, which is another model. */
static void test_batchnorm(void)
{
    const char *bn = "[net]\ninput = 1, 8, 8\nseed = 6\n[data]\npath = data/digits.csv.gz\nscale = none\n"
                     "[conv2d]\nfilters = 8\nkernel = 3\npadding = same\nbias = false\n[batchnorm]\n[activation]\nactivation = relu\n"
                     "[maxpool]\nsize = 2\n[flatten]\n[dense]\nunits = 10\n"
                     "[train]\noptimizer = sgd\nmomentum = 0.9\nlr = 0.02\nbatch = 24\n";
    char text[1024];
    snprintf(text, sizeof text, "%ssync_batchnorm = true\n", bn);
    equivalence("bn_sync", t_write_file("bn_sync.cfg", text), 8);
    const char *plain = t_write_file("bn.cfg", bn), *one = tpath("bn_1"), *two = tpath("bn_2");
    CHECK(train(0, plain, one, 8, NULL) == 0 && train(2, plain, two, 8, NULL) == 0);
    bool same;
    double r = rel_diff(model_path(one), model_path(two), &same);
    CHECK_MSG(r > 1e-5, "per-rank statistics gave one process's weights (%.3g apart)", r);
    printf("# batchnorm with per-rank statistics: 2 ranks and 1 are %.3g apart (relative), as expected\n", r);
    /* synchronised statistics need a row of every batch on every rank */
    const char *small = tpath("bn_small");
    CHECK(train(3, t_write_file("bn_small.cfg", text), small, 8, "--batch 2") != 0);
    char log[600];
    snprintf(log, sizeof log, "%s.log", small);
    size_t n;
    char *buf = t_slurp(log, &n);
    CHECK_MSG(buf && strstr(buf, "sync_batchnorm on 3 ranks needs every batch to give each rank a row"), "%s",
              buf ? buf : "(no log)");
    free(buf);
}

/* The pid of rank `rank` among the children of mpirun `parent` (its
 * environment holds OMPI_COMM_WORLD_RANK=rank); 0 if none yet. */
static pid_t rank_pid(pid_t parent, int rank)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    char p[64], want[48];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    pid_t found = 0;
    while (d && !found && (e = readdir(d))) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0) continue;
        snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(p, "r");
        int ppid = 0;
        if (f) {
            if (fscanf(f, "%*d (%*[^)]) %*c %d", &ppid) != 1) ppid = 0;
            fclose(f);
        }
        if (ppid != parent) continue;
        snprintf(p, sizeof p, "/proc/%d/environ", (int)pid);
        f = fopen(p, "r");
        static char env[1 << 16];
        size_t n = f ? fread(env, 1, sizeof env - 1, f) : 0;
        if (f) fclose(f);
        for (size_t i = 0; i < n; i += strlen(env + i) + 1) {
            env[n] = 0;
            if (!strcmp(env + i, want)) found = pid;
        }
    }
    if (d) closedir(d);
    return found;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Start mpirun -np 2 training in the background; kill rank 1 with `sig`
 * once the first checkpoint exists; the job must end non-zero within the
 * timeout (plus the time mpirun takes to tear down).  Then a resume from
 * the checkpoint must end where an uninterrupted 2-rank run ends. */
static void fault(int sig, const char *what)
{
    /* no schedule: the run killed with a large --epochs and its resume with
     * a small one follow the same learning rates */
    const char *cfg = t_write_file("fault.cfg", "[net]\ninput = 64\nseed = 5\n[data]\npath = data/digits.csv.gz\n"
                                              "[dense]\nunits = 64\nactivation = relu\n[dense]\nunits = 10\n"
                                              "[train]\noptimizer = adam\nlr = 0.002\nbatch = 16\n");
    const char *dir = tpath("fault_%s", what);
    char ck[600], cmd[2048];
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", dir);
    double timeout = 4;
    snprintf(cmd, sizeof cmd,
             "exec " MPIRUN " 2 '%s' train '%s' --out '%s' --quiet --threads 1 --epochs 400 --checkpoint-every 20 "
             "--timeout %g >'%s.log' 2>&1",
             lamina, cfg, dir, timeout, dir);
    pid_t job = fork();
    if (job == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    double t0 = now_s();
    while (access(ck, F_OK) != 0 && now_s() - t0 < 60) usleep(20000);
    pid_t victim = 0;
    while (!victim && now_s() - t0 < 60) {
        victim = rank_pid(job, 1);
        if (!victim) usleep(20000);
    }
    CHECK_MSG(victim > 0, "%s: no rank 1 found under mpirun %d", what, (int)job);
    double t1 = now_s();
    if (victim > 0) kill(victim, sig);
    int st = 0;
    pid_t r = 0;
    while ((r = waitpid(job, &st, WNOHANG)) == 0 && now_s() - t1 < timeout + 30) usleep(20000);
    double took = now_s() - t1;
    if (r == 0) {
        kill(job, SIGKILL);
        waitpid(job, &st, 0);
    }
    bool nonzero = r == job && (!WIFEXITED(st) || WEXITSTATUS(st) != 0);
    if (!nonzero || took > timeout + 20) show_log(dir);
    CHECK_MSG(r == job && nonzero, "%s: the job did not end with an error (status %d)", what, st);
    CHECK_MSG(took <= timeout + 20, "%s: the job took %.1f s to end (timeout %g s)", what, took, timeout);
    printf("# %s rank 1: the job ended with an error %.1f s later (--timeout %g)\n", what, took, timeout);
    if (sig == SIGSTOP && victim > 0) kill(victim, SIGKILL); /* should be gone with the job; make sure */
    /* the checkpoint is whole; a restart continues from it, two epochs
     * further, to where an uninterrupted 2-rank run of as many epochs ends */
    lam_model *m = NULL;
    lam_train_state ts;
    CHECK_MSG(lam_checkpoint_load(ck, &m, &ts) == LAM_OK, "%s: the checkpoint does not load: %s", what,
              lam_last_error());
    lam_model_free(m);
    int epochs = ts.epoch + 2;
    const char *whole = tpath("whole_%s", what);
    CHECK(sh(MPIRUN " 2 '%s' train '%s' --out '%s' --quiet --threads 1 --epochs %d --checkpoint-every 20 "
             "--timeout %g >'%s.log' 2>&1",
             lamina, cfg, whole, epochs, timeout, whole) == 0);
    int rc = sh(MPIRUN " 2 '%s' train '%s' --out '%s' --quiet --threads 1 --epochs %d --checkpoint-every 20 "
                "--timeout %g --resume '%s' >'%s.log' 2>&1",
                lamina, cfg, dir, epochs, timeout, ck, dir);
    if (rc != 0) show_log(dir);
    CHECK_MSG(rc == 0, "%s: the resume exited %d", what, rc);
    bool same;
    double d = rel_diff(model_path(whole), model_path(dir), &same);
    CHECK_MSG(same, "%s: resumed after step %llu, the weights differ from the uninterrupted run's by %.3g", what,
              (unsigned long long)ts.step, d);
    printf("# %s rank 1 after step %llu: resumed on 2 ranks to epoch %d, weights %s the uninterrupted run's\n", what,
           (unsigned long long)ts.step, epochs, same ? "bitwise equal to" : "different from");
    /* the checkpoint holds no per-rank state: 3 ranks resume it too */
    const char *three = tpath("fault3_%s", what);
    CHECK(sh("cp -r '%s' '%s'", dir, three) == 0);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", three);
    rc = sh(MPIRUN " 3 '%s' train '%s' --out '%s' --quiet --threads 1 --epochs %d --checkpoint-every 20 "
            "--timeout %g --resume '%s' >'%s.log' 2>&1",
            lamina, cfg, three, epochs + 1, timeout, ck, three);
    CHECK_MSG(rc == 0, "%s: the resume on 3 ranks exited %d", what, rc);
}

static void test_faults(void)
{
    fault(SIGKILL, "killed");
    fault(SIGSTOP, "hung");
}

int main(void)
{
    if (!(lamina = t_lamina_binary("test_mpi"))) return 1;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s' --version 2>/dev/null | grep -q '(MPI: '", lamina);
    if (system(cmd) != 0) {
        /* started by a launcher, a build without MPI refuses to run N
         * independent copies that would write the same files */
        snprintf(cmd, sizeof cmd,
                 "OMPI_COMM_WORLD_SIZE=2 '%s' train configs/digits_mlp.cfg --out /nonexistent/x 2>&1 | "
                 "grep -q 'built without MPI but started as one of 2 processes'",
                 lamina);
        bool refused = system(cmd) == 0;
        printf("%s test_mpi_refused_without_mpi\n", refused ? "ok" : "FAIL");
        printf("skip test_mpi: %s is built without MPI (make MPI=1, with Debian's libopenmpi-dev)\n", lamina);
        return refused ? 0 : 1;
    }
    if (system("command -v mpirun >/dev/null 2>&1") != 0) {
        printf("skip test_mpi: mpirun is not installed (Debian: openmpi-bin)\n");
        return 0;
    }
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    if (!t_mkdtemp("/tmp/lamina_test_mpi_XXXXXX")) return 1;
    RUN(test_equivalence);
    RUN(test_batchnorm);
    RUN(test_faults);
    if (t_failed_ == 0) t_rm_tree(t_tmpdir);
    else fprintf(stderr, "fixtures kept in %s\n", t_tmpdir);
    TEST_MAIN_END;
}
