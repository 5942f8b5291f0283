/* Exact resume after kill -9, and clean stops on SIGINT / SIGTERM.
 *
 * The kill harness trains a model once without interruption with the
 * lamina command ($LAMINA, default build/lamina), then, trial after trial,
 * starts `lamina train ... --checkpoint-every K`, kills it with SIGKILL at a
 * moment drawn from a seeded RNG -- half of the kills at a random time of
 * the run, half right after a checkpoint's temporary file appears (an
 * inotify watch on the run folder, then a random delay of up to 1.5 ms, so
 * that the kill lands while the file is written or fsynced) -- checks that
 * the checkpoint on disk is readable (lam_checkpoint_load), resumes with
 * --resume, and repeats until the run completes.  The final weights must
 * equal the uninterrupted run's bit for bit (every tensor of
 * model.safetensors), and so must the metrics log (but for its seconds
 * column).  A kill counts as "during a checkpoint write" when it left a
 * temporary file behind (created, never renamed into place).  Each segment
 * runs with 1 or 2 threads at random: results do not depend on the count.
 *
 * Two models: configs/digits_mlp.cfg (SGD with momentum, a cosine schedule
 * per epoch, shuffled batches, 4 epochs) and a character LSTM on a
 * generated corpus (Adam, dropout, two micro-batches per step, warm-up and
 * cosine per step, --steps).  The signal tests send SIGTERM and SIGINT to a
 * running `lamina train`: exit code 3, a readable checkpoint, and a resume
 * that ends bitwise equal to an uninterrupted run.  A library test stops
 * lam_fit through should_stop at random steps of a run with early stopping
 * on a validation set, resumes each time in a fresh model, and must match
 * the uninterrupted run's weights and epoch logs exactly.
 *
 * Knobs: LAMINA_KILL_TRIALS (trials per model, default 4; the long run in
 * docs/reliability.md used 200), LAMINA_KILL_SEED (default 1).  Figures are
 * printed as "# kill/resume ..." lines. */
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lamina/lamina.h"

static const char *lamina;
static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double urand(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

static void sleep_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {}
}

static const char *tpath(const char *fmt, ...)
{
    static char bufs[16][320];
    static int k;
    k = (k + 1) % 16;
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    snprintf(bufs[k], sizeof bufs[k], "%s/%s", t_tmpdir, name);
    return bufs[k];
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- running lamina ---------------------------------------------------------------- */

#define MAX_ARGS 32
typedef struct cmdline {
    int n;
    char *v[MAX_ARGS + 1];
    char store[MAX_ARGS][400];
} cmdline;

static void arg(cmdline *c, const char *fmt, ...)
{
    if (c->n == 0) { /* argv[0] */
        snprintf(c->store[0], sizeof c->store[0], "%s", lamina);
        c->v[c->n++] = c->store[0];
    }
    if (c->n >= MAX_ARGS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->store[c->n], sizeof c->store[c->n], fmt, ap);
    va_end(ap);
    c->v[c->n] = c->store[c->n];
    c->v[++c->n] = NULL;
}

/* Start lamina with stdout and stderr appended to `log`; with pipe_out,
 * stdout goes to a pipe whose reading end is returned there instead. */
static pid_t spawn(const cmdline *c, const char *log, int *pipe_out)
{
    int pfd[2] = {-1, -1};
    if (pipe_out && pipe(pfd) != 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        /* the dispositions a test runner may have set would be inherited */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (pipe_out) {
            dup2(pfd[1], 1);
            close(pfd[0]);
            close(pfd[1]);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        execv(lamina, c->v);
        _exit(127);
    }
    if (pipe_out) {
        close(pfd[1]);
        *pipe_out = pfd[0];
    }
    return pid;
}

/* Wait up to timeout_s for pid: 1 when it ended (status in *st), 0 when it
 * still runs. */
static int wait_for(pid_t pid, double timeout_s, int *st)
{
    double end = t_now() + timeout_s;
    for (;;) {
        pid_t r = waitpid(pid, st, WNOHANG);
        if (r == pid) return 1;
        if (r < 0 && errno != EINTR) return 1;
        if (t_now() >= end) return 0;
        sleep_us(100);
    }
}

static void kill_and_reap(pid_t pid)
{
    int st;
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
}

/* Run to the end (at most 120 s); the exit code, or 128 + N for signal N. */
static int run_to_end(const cmdline *c, const char *log, double *seconds)
{
    double t0 = t_now();
    pid_t pid = spawn(c, log, NULL);
    if (pid < 0) return -1;
    int st = 0;
    if (!wait_for(pid, 120, &st)) {
        kill_and_reap(pid);
        return -1;
    }
    if (seconds) *seconds = t_now() - t0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The last lines lamina wrote to the log, for a failure's context. */
static void show_log(const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f) return;
    static char ring[60][256];
    long n = 0;
    while (fgets(ring[n % 60], sizeof ring[0], f)) n++;
    fclose(f);
    fprintf(stderr, "  the end of %s:\n", log);
    for (long i = n > 60 ? n - 60 : 0; i < n; i++) fprintf(stderr, "    | %s", ring[i % 60]);
}

/* ---- what a run leaves --------------------------------------------------------------- */

/* Temporary files of unfinished safetensors writes in dir; those not in
 * `seen` are added to it and counted as new. */
typedef struct seen_set {
    int n;
    char name[512][256];
} seen_set;

static int temporaries(const char *dir, seen_set *seen, int *fresh)
{
    DIR *d = opendir(dir);
    int all = 0;
    if (fresh) *fresh = 0;
    if (!d) return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, ".safetensors.tmp.")) continue;
        all++;
        if (!seen) continue;
        bool known = false;
        for (int i = 0; i < seen->n && !known; i++) known = !strcmp(seen->name[i], de->d_name);
        if (!known && seen->n < 512) {
            snprintf(seen->name[seen->n++], sizeof seen->name[0], "%s", de->d_name);
            if (fresh) ++*fresh;
        }
    }
    closedir(d);
    return all;
}

static bool checkpoint_readable(const char *path, uint64_t *step, char *why, size_t n)
{
    lam_model *m = NULL;
    lam_train_state ts;
    lam_status s = lam_checkpoint_load(path, &m, &ts);
    if (s != LAM_OK) {
        snprintf(why, n, "%s", lam_last_error());
        return false;
    }
    *step = ts.step;
    lam_model_free(m);
    return true;
}

/* Every tensor of a and b: same names, dtypes, shapes and bytes. */
static bool same_tensors(const char *a, const char *b, char *why, size_t n)
{
    lam_safetensors *x = NULL, *y = NULL;
    bool same = false;
    if (lam_safetensors_open(a, &x) != LAM_OK || lam_safetensors_open(b, &y) != LAM_OK) {
        snprintf(why, n, "cannot open: %s", lam_last_error());
        goto out;
    }
    if (lam_safetensors_count(x) != lam_safetensors_count(y)) {
        snprintf(why, n, "%zu tensors against %zu", lam_safetensors_count(x), lam_safetensors_count(y));
        goto out;
    }
    for (size_t i = 0; i < lam_safetensors_count(x); i++) {
        const lam_st_tensor *t = lam_safetensors_at(x, i), *u = lam_safetensors_find(y, t->name);
        if (!u || u->dtype != t->dtype || !lam_shape_eq(&u->shape, &t->shape) || u->nbytes != t->nbytes ||
            memcmp(u->data, t->data, t->nbytes) != 0) {
            snprintf(why, n, "tensor %s differs", t->name);
            goto out;
        }
    }
    same = true;
out:
    lam_safetensors_close(x);
    lam_safetensors_close(y);
    return same;
}

static bool same_file(const char *a, const char *b)
{
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    bool same = f && g;
    while (same) {
        int c = fgetc(f), d = fgetc(g);
        if (c != d) same = false;
        if (c == EOF) break;
    }
    if (f) fclose(f);
    if (g) fclose(g);
    return same;
}

/* The metrics logs agree but for their last column (seconds). */
static bool same_log(const char *a, const char *b)
{
    FILE *f = fopen(a, "r"), *g = fopen(b, "r");
    bool same = f && g;
    char la[512], lb[512];
    while (same) {
        char *p = fgets(la, sizeof la, f), *q = fgets(lb, sizeof lb, g);
        if (!p || !q) {
            same = !p && !q;
            break;
        }
        char *ca = strrchr(la, ','), *cb = strrchr(lb, ',');
        if (ca) *ca = 0;
        if (cb) *cb = 0;
        same = !strcmp(la, lb);
    }
    if (f) fclose(f);
    if (g) fclose(g);
    return same;
}

/* ---- the kill harness ------------------------------------------------------------------ */

typedef struct workload {
    const char *name;
    const char *cfg;
    const char *extra[6]; /* options every run gets, NULL-terminated */
    int every;            /* --checkpoint-every */
} workload;

typedef struct figures {
    int trials, exact, exact_log, same_file, kills, kills_in_write, kills_before_ckpt, readable, max_kills;
    double seconds;
} figures;

static void base_args(cmdline *c, const workload *w, const char *out)
{
    arg(c, "train");
    arg(c, "%s", w->cfg);
    for (int i = 0; w->extra[i]; i++) arg(c, "%s", w->extra[i]);
    arg(c, "--quiet");
    arg(c, "--out");
    arg(c, "%s", out);
}

/* One segment: start lamina and SIGKILL it per `mode` (0: at time `at`
 * seconds; 1: `skip` checkpoint temporaries after start, then after
 * delay_us).  Returns 1 when killed, 0 when it ended by itself (*rc). */
static int segment(const cmdline *c, const char *dir, const char *log, int mode, double at, int skip, long delay_us,
                   int *rc)
{
    int ino = -1;
    if (mode == 1) {
        ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (ino < 0 || inotify_add_watch(ino, dir, IN_CREATE) < 0) mode = 0; /* no inotify: a random time */
    }
    double t0 = t_now();
    pid_t pid = spawn(c, log, NULL);
    int st = 0, created = 0;
    *rc = -1;
    for (;;) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            *rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            if (ino >= 0) close(ino);
            return 0;
        }
        if (mode == 0 && t_now() - t0 >= at) break;
        if (mode == 1) {
            struct pollfd pf = {ino, POLLIN, 0};
            if (poll(&pf, 1, 1) > 0) {
                _Alignas(struct inotify_event) char buf[4096];
                ssize_t len = read(ino, buf, sizeof buf);
                bool hit = false;
                for (char *p = buf; len > 0 && p < buf + len;) {
                    struct inotify_event *ev = (struct inotify_event *)p;
                    if (ev->len && strstr(ev->name, "checkpoint.safetensors.tmp.") && created++ >= skip) hit = true;
                    p += sizeof *ev + ev->len;
                }
                if (hit) {
                    if (delay_us) sleep_us(delay_us);
                    break;
                }
            }
            if (t_now() - t0 > 120) break; /* a hang: kill, the checks below fail */
        } else {
            sleep_us(100);
        }
    }
    kill_and_reap(pid);
    if (ino >= 0) close(ino);
    return 1;
}

static void kill_trials(const workload *w, int trials, figures *fg)
{
    memset(fg, 0, sizeof *fg);
    double t_start = t_now();
    char ref[320], ref_model[400], ref_log[400], why[512];
    snprintf(ref, sizeof ref, "%s", tpath("%s_ref", w->name));
    snprintf(ref_model, sizeof ref_model, "%s/model.safetensors", ref);
    snprintf(ref_log, sizeof ref_log, "%s/metrics.csv", ref);
    char log[320];
    snprintf(log, sizeof log, "%s", tpath("%s.log", w->name));
    /* the uninterrupted run, without and with mid-epoch checkpoints */
    cmdline c = {0};
    base_args(&c, w, ref);
    arg(&c, "--threads");
    arg(&c, "1");
    int rc = run_to_end(&c, log, NULL);
    CHECK_MSG(rc == 0, "%s: the uninterrupted run exited with %d", w->name, rc);
    if (rc != 0) {
        show_log(log);
        return;
    }
    char ck_dir[320], ck_model[400];
    snprintf(ck_dir, sizeof ck_dir, "%s", tpath("%s_ref_ck", w->name));
    snprintf(ck_model, sizeof ck_model, "%s/model.safetensors", ck_dir);
    memset(&c, 0, sizeof c);
    base_args(&c, w, ck_dir);
    arg(&c, "--checkpoint-every");
    arg(&c, "%d", w->every);
    arg(&c, "--threads");
    arg(&c, "2");
    double t_run = 0;
    rc = run_to_end(&c, log, &t_run);
    CHECK_MSG(rc == 0 && same_tensors(ref_model, ck_model, why, sizeof why),
              "%s: checkpointing every %d steps changed the result (exit %d): %s", w->name, w->every, rc, why);
    if (t_run <= 0) t_run = 0.5;

    for (int t = 0; t < trials; t++) {
        char dir[320], ckpt[400], model[400];
        snprintf(dir, sizeof dir, "%s", tpath("%s_%d", w->name, t));
        snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", dir);
        snprintf(model, sizeof model, "%s/model.safetensors", dir);
        mkdir(dir, 0755);
        seen_set *seen = calloc(1, sizeof *seen);
        int planned = 1 + (int)(rnd() % 4), kills = 0;
        uint64_t last_step = 0;
        bool done = false, ok = true;
        for (int seg = 0; !done && ok && seg < 64; seg++) {
            cmdline a = {0};
            base_args(&a, w, dir);
            arg(&a, "--checkpoint-every");
            arg(&a, "%d", w->every);
            arg(&a, "--threads");
            arg(&a, "%d", 1 + (int)(rnd() % 2));
            if (exists(ckpt)) {
                arg(&a, "--resume");
                arg(&a, "%s", ckpt);
            }
            if (kills >= planned) {
                rc = run_to_end(&a, log, NULL);
                CHECK_MSG(rc == 0, "%s trial %d: the last segment exited with %d", w->name, t, rc);
                ok = rc == 0;
                done = true;
                break;
            }
            int mode = (int)(rnd() % 2), skip = (int)(rnd() % 4);
            double at = urand() * 1.2 * t_run;
            long delay = (long)(rnd() % 1500);
            if (!segment(&a, dir, log, mode, at, skip, delay, &rc)) {
                CHECK_MSG(rc == 0, "%s trial %d: a segment exited with %d", w->name, t, rc);
                ok = rc == 0;
                done = true;
                break;
            }
            kills++;
            fg->kills++;
            int fresh;
            temporaries(dir, seen, &fresh);
            if (fresh) fg->kills_in_write++;
            if (!exists(ckpt)) {
                fg->kills_before_ckpt++;
                continue;
            }
            uint64_t step = 0;
            bool readable = checkpoint_readable(ckpt, &step, why, sizeof why);
            CHECK_MSG(readable, "%s trial %d: after kill %d the checkpoint is unreadable: %s", w->name, t, kills, why);
            CHECK_MSG(step >= last_step, "%s trial %d: the checkpoint went back from step %llu to %llu", w->name, t,
                      (unsigned long long)last_step, (unsigned long long)step);
            fg->readable += readable;
            last_step = step;
            ok = readable;
        }
        if (kills > fg->max_kills) fg->max_kills = kills;
        fg->trials++;
        if (done && ok) {
            bool exact = same_tensors(ref_model, model, why, sizeof why);
            CHECK_MSG(exact, "%s trial %d (%d kills): the weights differ from the uninterrupted run's: %s", w->name, t,
                      kills, why);
            fg->exact += exact;
            char lg[400];
            snprintf(lg, sizeof lg, "%s/metrics.csv", dir);
            bool exact_log = same_log(ref_log, lg);
            CHECK_MSG(exact_log, "%s trial %d: metrics.csv differs from the uninterrupted run's", w->name, t);
            fg->exact_log += exact_log;
            int left = temporaries(dir, NULL, NULL);
            CHECK_MSG(left == 0, "%s trial %d: %d temporary files left after completion", w->name, t, left);
            fg->same_file += same_file(ref_model, model);
        }
        if (!(done && ok)) show_log(log);
        free(seen);
    }
    fg->seconds = t_now() - t_start;
    printf("# kill/resume %s: %d trials, %d SIGKILLs (%d during a checkpoint write, %d before the first "
           "checkpoint; up to %d in one trial), %d checkpoints read back after kills, all readable; "
           "%d/%d bit-exact weights (%d/%d byte-identical model files), %d/%d identical metrics logs; %.1f s\n",
           w->name, fg->trials, fg->kills, fg->kills_in_write, fg->kills_before_ckpt, fg->max_kills, fg->readable,
           fg->exact, fg->trials, fg->same_file, fg->trials, fg->exact_log, fg->trials, fg->seconds);
    fflush(stdout);
}

static int trials_per_model(void)
{
    const char *v = getenv("LAMINA_KILL_TRIALS");
    int n = v ? atoi(v) : 4;
    return n < 1 ? 1 : n;
}

static void test_kill_resume_digits(void)
{
    workload w = {"digits_mlp", "configs/digits_mlp.cfg", {"--epochs", "4", NULL}, 13};
    figures fg;
    kill_trials(&w, trials_per_model(), &fg);
    CHECK(fg.exact == fg.trials);
}

static const char *write_corpus(void)
{
    static const char *const words[] = {"the", "licence", "software", "free", "copy", "source", "code", "may",
                                        "and", "of", "to", "program", "any", "work", "you", "under"};
    const char *p = tpath("corpus.txt");
    FILE *f = fopen(p, "w");
    if (!f) return p;
    uint64_t saved = rng_state;
    rng_state = 7;
    for (int i = 0; i < 700; i++) fprintf(f, "%s%s", words[rnd() % 16], i % 11 == 10 ? ".\n" : " ");
    fclose(f);
    rng_state = saved;
    return p;
}

static void test_kill_resume_char(void)
{
    static char cfg_path[320];
    const char *corpus = write_corpus();
    snprintf(cfg_path, sizeof cfg_path, "%s", tpath("char.cfg"));
    FILE *f = fopen(cfg_path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fprintf(f,
            "# a tiny character model: Adam, dropout, 2 micro-batches per step, warm-up + cosine per step\n"
            "[net]\ninput = 16\nseed = 3\n"
            "[data]\nformat = corpus\npath = %s\ntokenizer = byte\nstride = 8\ntest_split = 0.1\n"
            "[embedding]\nunits = 8\n"
            "[lstm]\nunits = 24\n"
            "[dropout]\nrate = 0.1\n"
            "[dense]\nunits = vocab\n"
            "[train]\nloss = cross_entropy\noptimizer = adam\nlr = 0.01\nbatch = 8\naccumulate = 2\nsteps = 90\n"
            "schedule = warmup_cosine\nwarmup = 10\nschedule_per_step = true\n",
            corpus);
    fclose(f);
    workload w = {"char_lstm", cfg_path, {NULL}, 7};
    figures fg;
    kill_trials(&w, trials_per_model(), &fg);
    CHECK(fg.exact == fg.trials);
}

/* ---- signals ---------------------------------------------------------------------------- */

/* Read the child's stdout until a line holds `what` (true) or it closes. */
static bool read_until(int fd, const char *what)
{
    char buf[8192];
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, buf + n, sizeof buf - 1 - n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        n += (size_t)k;
        buf[n] = 0;
        if (strstr(buf, what)) return true;
        if (n > sizeof buf / 2) { /* keep the tail */
            memmove(buf, buf + n - 256, 256);
            n = 256;
        }
    }
}

/* SIGTERM right after training starts, SIGINT after the first epoch's
 * checkpoint: exit code 3 each time, a readable checkpoint, and a resume
 * that ends bitwise equal to the uninterrupted run. */
static const char *signame(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "?"; }

static void test_signals(void)
{
    const char *cfg = "configs/digits_mlp.cfg", *epochs = "30";
    char log[320], ref[320], why[512], ref_model[400];
    snprintf(log, sizeof log, "%s", tpath("signals.log"));
    snprintf(ref, sizeof ref, "%s", tpath("signals_ref"));
    snprintf(ref_model, sizeof ref_model, "%s/model.safetensors", ref);
    cmdline c = {0};
    arg(&c, "train"), arg(&c, "%s", cfg), arg(&c, "--epochs"), arg(&c, "%s", epochs), arg(&c, "--quiet");
    arg(&c, "--out"), arg(&c, "%s", ref);
    int rc = run_to_end(&c, log, NULL);
    CHECK_MSG(rc == 0, "uninterrupted run: exit %d", rc);
    for (int k = 0; k < 2; k++) {
        int sig = k == 0 ? SIGTERM : SIGINT;
        char dir[320], ckpt[400], model[400], lg[400], ref_lg[400];
        snprintf(dir, sizeof dir, "%s", tpath("signal_%d", k));
        snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", dir);
        snprintf(model, sizeof model, "%s/model.safetensors", dir);
        snprintf(lg, sizeof lg, "%s/metrics.csv", dir);
        snprintf(ref_lg, sizeof ref_lg, "%s/metrics.csv", ref);
        mkdir(dir, 0755);
        cmdline a = {0};
        arg(&a, "train"), arg(&a, "%s", cfg), arg(&a, "--epochs"), arg(&a, "%s", epochs), arg(&a, "--quiet");
        arg(&a, "--out"), arg(&a, "%s", dir);
        int ino = inotify_init1(IN_CLOEXEC);
        if (ino >= 0) inotify_add_watch(ino, dir, IN_MOVED_TO);
        int out = -1;
        pid_t pid = spawn(&a, log, &out);
        CHECK(pid > 0);
        if (pid <= 0) return;
        bool started = read_until(out, "training:");
        CHECK_MSG(started, "no 'training:' line");
        if (sig == SIGINT && ino >= 0) { /* the first epoch's checkpoint renamed into place */
            _Alignas(struct inotify_event) char buf[4096];
            struct pollfd pf = {ino, POLLIN, 0};
            if (poll(&pf, 1, 20000) > 0 && read(ino, buf, sizeof buf) > 0) sleep_us((long)(rnd() % 2000));
        }
        kill(pid, sig);
        int st = 0;
        if (!wait_for(pid, 60, &st)) {
            kill_and_reap(pid);
            CHECK_MSG(0, "%s: lamina did not stop", signame(sig));
        }
        close(out);
        if (ino >= 0) close(ino);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 3, "%s: want exit code 3, got %s %d", signame(sig),
                  WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        uint64_t step = 0;
        CHECK_MSG(checkpoint_readable(ckpt, &step, why, sizeof why), "%s: checkpoint: %s", signame(sig), why);
        CHECK_MSG(step >= 1 && step < 30 * 45, "%s: stopped at step %llu", signame(sig), (unsigned long long)step);
        CHECK_MSG(!exists(model), "%s: an interrupted run wrote model.safetensors", signame(sig));
        printf("# signals: %s stopped lamina train after step %llu, exit code 3\n", signame(sig),
               (unsigned long long)step);
        arg(&a, "--resume"), arg(&a, "%s", ckpt);
        rc = run_to_end(&a, log, NULL);
        CHECK_MSG(rc == 0, "%s: the resume exited with %d", signame(sig), rc);
        CHECK_MSG(same_tensors(ref_model, model, why, sizeof why), "%s: resumed weights: %s", signame(sig), why);
        CHECK_MSG(same_log(ref_lg, lg), "%s: the metrics log differs from the uninterrupted run's", signame(sig));
    }
    if (t_failed_checks_) show_log(log);
}

/* ---- the library: should_stop, mid-epoch checkpoints, early stopping -------------------- */

typedef struct stopper {
    int64_t steps, stop_at; /* stop after this run's stop_at-th step (0: never) */
    int n_logs;
    lam_epoch_log logs[64];
} stopper;

static bool stop_hook(void *user)
{
    stopper *s = user;
    return s->stop_at > 0 && ++s->steps >= s->stop_at;
}

static bool log_hook(const lam_epoch_log *e, void *user)
{
    stopper *s = user;
    if (s->n_logs < 64) s->logs[s->n_logs++] = *e;
    return true;
}

/* A run with a validation set and early stopping (its best weights are part
 * of the state), dropout and periodic checkpoints, stopped by should_stop at
 * random steps and resumed each time in a fresh model: the same weights, the
 * same epoch logs, the same early stop as the uninterrupted run. */
static void test_should_stop(void)
{
    const char *cfg = tpath("patience.cfg");
    FILE *f = fopen(cfg, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("[net]\ninput = 64\nseed = 5\n"
          "[data]\npath = data/digits.csv.gz\nlabel = last\ntest_split = 0.2\nscale = standard\n"
          "[dense]\nunits = 32\nactivation = relu\n[dropout]\nrate = 0.2\n[dense]\nunits = 10\n"
          "[train]\noptimizer = sgd\nlr = 0.02\nmomentum = 0.9\nbatch = 32\nepochs = 40\npatience = 3\n"
          "validation_split = 0.25\n",
          f);
    fclose(f);
    const char *ck = tpath("should_stop.safetensors");
    lam_fit_result ref = {0}, r = {0};
    stopper sref = {0}, sint = {0};
    float *ref_params = NULL;
    size_t np = 0;
    int stops = 0, runs = 0;
    for (int pass = 0; pass < 2; pass++) {
        bool resume = false, done = false;
        while (!done && runs < 200) {
            lam_model *m = NULL;
            lam_dataset *tr = NULL, *va = NULL, *te = NULL;
            CHECK_OK(lam_model_load(cfg, NULL, &m));
            if (!m) return;
            CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
            stopper *sp = pass ? &sint : &sref;
            sp->steps = 0;
            sp->stop_at = pass ? 1 + (int64_t)(rnd() % 70) : 0;
            lam_fit_hooks hk = {.on_epoch = log_hook, .should_stop = stop_hook, .user = sp};
            if (pass) {
                hk.checkpoint_path = ck;
                hk.checkpoint_every = 11;
                hk.resume_path = resume ? ck : NULL;
            }
            lam_status s = lam_fit(m, tr, va, &hk, pass ? &r : &ref);
            CHECK_OK(s);
            runs += pass;
            if (s != LAM_OK) done = true;
            else if (!pass) {
                np = lam_graph_param_total(m->g);
                ref_params = malloc(np * sizeof(float));
                memcpy(ref_params, lam_graph_params(m->g), np * sizeof(float));
                done = true;
            } else if (r.interrupted) {
                stops++;
                resume = true;
                CHECK(!r.stopped_early && r.stopped_by_hook);
            } else {
                done = true;
                CHECK_MSG(np == lam_graph_param_total(m->g) &&
                              !memcmp(ref_params, lam_graph_params(m->g), np * sizeof(float)),
                          "after %d stops the weights differ from the uninterrupted run's", stops);
            }
            lam_dataset_free(tr);
            lam_dataset_free(va);
            lam_dataset_free(te);
            lam_model_free(m);
        }
    }
    CHECK_MSG(ref.stopped_early && ref.best_epoch < ref.epochs_run,
              "the run should stop early with best weights from an earlier epoch (best %d of %d)", ref.best_epoch,
              ref.epochs_run);
    CHECK(r.stopped_early == ref.stopped_early && r.best_epoch == ref.best_epoch && r.epochs_run == ref.epochs_run);
    CHECK_MSG(sint.n_logs == sref.n_logs, "%d epoch logs against %d", sint.n_logs, sref.n_logs);
    for (int i = 0; i < sref.n_logs && i < sint.n_logs; i++) {
        const lam_epoch_log *a = &sref.logs[i], *b = &sint.logs[i];
        CHECK_MSG(a->epoch == b->epoch && a->train_loss == b->train_loss && a->train_acc == b->train_acc &&
                      a->val_loss == b->val_loss && a->improved == b->improved,
                  "epoch %d: loss %.9g / %.9g, acc %.9g / %.9g", a->epoch, a->train_loss, b->train_loss,
                  a->train_acc, b->train_acc);
    }
    printf("# should_stop: %d stops and resumes over %llu steps, early stop after epoch %d restoring epoch %d's "
           "weights: weights, epoch logs and early stop as uninterrupted\n",
           stops, (unsigned long long)ref.total_steps, ref.epochs_run, ref.best_epoch);
    free(ref_params);
}

int main(void)
{
    if (!(lamina = t_lamina_binary("test_kill_resume"))) return 1;
    const char *seed = getenv("LAMINA_KILL_SEED");
    rng_state = seed ? strtoull(seed, NULL, 10) : 1;
    if (!t_mkdtemp("/tmp/lamina_test_kill_XXXXXX")) return 1;
    RUN(test_should_stop);
    RUN(test_signals);
    RUN(test_kill_resume_digits);
    RUN(test_kill_resume_char);
    if (t_failed_ == 0) t_rm_tree(t_tmpdir);
    if (t_failed_) fprintf(stderr, "fixtures kept in %s\n", t_tmpdir);
    TEST_MAIN_END;
}
