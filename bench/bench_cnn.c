/* bench_cnn: Lamina's side of the two CNN workloads of ../shared/peers/
 * (fashion_cnn.py and cifar_cnn.py), through the public API only.
 *
 * fashion: the workload of fashion_cnn.py
 *   data   Fashion-MNIST from /usr/share/datasets/fashion-mnist (--data DIR),
 *          read by the model machinery ([data] format = fashion_mnist,
 *          lam_model_prepare_data): 60,000 train / 10,000 test, 1x28x28 in
 *          [0, 1] (x/255), no other scaling, no augmentation.
 *   model  configs/fashion_cnn.cfg's network: Conv32 3x3 ReLU, MaxPool 2,
 *          Conv64 3x3 ReLU, MaxPool 2, Dense64 ReLU, Dense10; PyTorch-default
 *          init (U(+-1/sqrt(fan_in))) drawn from Lamina's RNG, seed 0.  The model
 *          text is built here (not read from configs/fashion_cnn.cfg, which may
 *          gain a schedule and augmentation for accuracy work).
 *   train  softmax cross-entropy, Adam lr 1e-3 (0.9/0.999, eps 1e-8), constant
 *          lr, batch 32 (1875 steps/epoch), reshuffled every epoch by Lamina's
 *          loader (seed 0; not torch.randperm's order), 2 epochs (--epochs).
 *   timed  each epoch's training loop inside lam_fit (batch gathering,
 *          forward, backward, optimiser step): lam_epoch_log.seconds.
 *   eval   after each epoch, from the on_epoch hook: lam_evaluate on all
 *          10,000 test images (batches of 32), timed separately and not
 *          part of the epoch time.
 *   Prints one line per epoch (seconds, images/s, test accuracy), then a JSON
 *   line: {"bench": "fashion_cnn", "threads", "epochs": [{"epoch", "train_s",
 *   "images_per_s", "train_loss", "train_acc", "test_acc", "eval_s",
 *   "others_cores"}, ...],
 *   "lamina_epoch_s": {"median","min","max","n"}, "steal_pct", "loadavg"}.
 *
 * cifar: the workload of cifar_cnn.py
 *   data   one fixed batch of 64: x[64, 3, 32, 32] ~ N(0, 1) and labels
 *          uniform in 0..9, drawn from lam_rng seeded 0 (not torch's numbers).
 *   model  configs/cifar_cnn.cfg's network: Conv32 3x3 same-pad ReLU, MaxPool 2,
 *          Conv64 3x3 same-pad ReLU, MaxPool 2, Dense128 ReLU, Dense10;
 *          PyTorch-default init; no augmentation, no input scaling.
 *   train  softmax cross-entropy, plain SGD lr 0.001 (no momentum, no weight
 *          decay), batch 64, the same batch every step.
 *   timed  each full step, as the peer times it: lam_graph_zero_grad,
 *          lam_graph_forward (which includes the loss), lam_graph_backward,
 *          lam_optim_step (an optimiser over the trainable parameters built as
 *          lam_fit builds it); 3 warm-up steps, then 20 timed steps.  The batch
 *          is copied into the input and label nodes before every step,
 *          outside the timed region, so that every step starts from the
 *          same inputs whatever the memory planner does (before 69caae1 it
 *          could hand the label buffer to a gradient); PyTorch's step reads
 *          the same tensors.
 *   Reports images/s = 64 / median step time, and the median time of each
 *   phase.  JSON line: {"bench": "cifar_cnn", "threads", "step_s":
 *   {"median","min","max","n"}, "images_per_s", "images_per_s_range",
 *   "final_loss", "phase_ms": {"zero_grad","forward","backward","optim"},
 *   "steal_pct", "loadavg", "others_cores"}.  others_cores (both modes) =
 *   average number of cores busy with other work while timing (/proc/stat
 *   busy time minus this process's CPU time, per second): 0 on a quiet machine.
 *
 * usage: bench_cnn fashion [--threads N] [--epochs E] [--data DIR] [--seed S] [--eval-last] [--profile]
 *        bench_cnn cifar [--threads N] [--steps S] [--warmup W] [--profile]
 * --threads calls lam_set_threads (default: all cores).  --eval-last evaluates
 * after the last epoch only (a diagnostic: test_acc is null for the others).
 * --profile turns on the graph's per-op timing and prints it to stderr at the
 * end (fashion: training and evaluation forwards together; cifar: warm-up
 * and timed steps). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lamina/lamina.h"

#define MAX_EPOCHS 100
#define MAX_STEPS 10000

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* median, min, max of v[0..n) (n >= 1; v is not changed) */
static void stats(const double *v, int n, double *med, double *mn, double *mx)
{
    double *tmp = malloc(sizeof(double) * (size_t)n);
    if (!tmp) {
        *med = *mn = *mx = NAN;
        return;
    }
    memcpy(tmp, v, sizeof(double) * (size_t)n);
    qsort(tmp, (size_t)n, sizeof tmp[0], cmp_double);
    *med = n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
    *mn = tmp[0];
    *mx = tmp[n - 1];
    free(tmp);
}

static int die(const char *what, lam_status s)
{
    fprintf(stderr, "bench_cnn: %s: %s: %s\n", what, lam_status_str(s), lam_last_error());
    return 1;
}

/* /proc/stat's first line: user nice system idle iowait irq softirq steal. */
static int cpu_stat(unsigned long long v[8])
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return 0;
    int k = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7]);
    fclose(f);
    return k == 8;
}

static double steal_pct(const unsigned long long a[8], const unsigned long long b[8])
{
    unsigned long long tot = 0;
    for (int k = 0; k < 8; k++) tot += b[k] - a[k];
    return 100.0 * (double)(b[7] - a[7]) / (double)(tot ? tot : 1);
}

/* A snapshot for measuring other work on the machine over an interval:
 * wall clock, the machine's busy CPU time (/proc/stat: user, nice, system,
 * irq, softirq) and this process's CPU time. */
typedef struct machine_snap {
    double wall, busy_s, self_s;
    int ok;
} machine_snap;

static machine_snap machine_now(void)
{
    machine_snap m = {now_s(), 0, 0, 0};
    unsigned long long v[8];
    struct rusage ru;
    long hz = sysconf(_SC_CLK_TCK);
    if (cpu_stat(v) && hz > 0 && getrusage(RUSAGE_SELF, &ru) == 0) {
        m.busy_s = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / (double)hz;
        m.self_s = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
                   1e-6 * (double)ru.ru_stime.tv_usec;
        m.ok = 1;
    }
    return m;
}

/* Average number of cores busy with other work between a and b (NAN if unknown). */
static double others_cores(const machine_snap *a, const machine_snap *b)
{
    if (!a->ok || !b->ok || b->wall <= a->wall) return NAN;
    double o = ((b->busy_s - a->busy_s) - (b->self_s - a->self_s)) / (b->wall - a->wall);
    return o > 0 ? o : 0;
}

/* 1-minute load average, NAN if unknown */
static double loadavg(void)
{
    double l = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = NAN;
        fclose(f);
    }
    return l;
}

/* --profile: the graph's per-op times, to stderr */
static void print_profile(const lam_graph *g)
{
    static char rep[32768];
    lam_graph_profile_report(g, rep, sizeof rep);
    fprintf(stderr, "per-op wall time (lam_graph_set_profiling):\n%s", rep);
}

static lam_status model_from_text(const char *text, const char *name, lam_model **m)
{
    lam_cfg *cfg;
    lam_status s = lam_cfg_parse(text, strlen(text), name, &cfg);
    if (s != LAM_OK) return s;
    return lam_model_from_cfg(cfg, NULL, m);
}

/* ==== fashion ====================================================================== */

/* configs/fashion_cnn.cfg's network and training, with a constant lr and no
 * augmentation spelled out; %d = seed, %s = [data] path line, %d = epochs,
 * %d = seed (initial weights and batch order). */
static const char *const FASHION_FMT =
    "# fashion_cnn workload (../shared/peers/fashion_cnn.py)\n"
    "[net]\n"
    "input = 1, 28, 28\n"
    "seed = %d\n"
    "[data]\n"
    "format = fashion_mnist\n"
    "scale = none\n"
    "%s"
    "[conv2d]\n"
    "name = conv1\n"
    "filters = 32\n"
    "kernel = 3\n"
    "activation = relu\n"
    "init = torch_default\n"
    "[maxpool]\n"
    "size = 2\n"
    "[conv2d]\n"
    "name = conv2\n"
    "filters = 64\n"
    "kernel = 3\n"
    "activation = relu\n"
    "init = torch_default\n"
    "[maxpool]\n"
    "size = 2\n"
    "[dense]\n"
    "name = fc1\n"
    "units = 64\n"
    "activation = relu\n"
    "init = torch_default\n"
    "[dense]\n"
    "name = out\n"
    "units = 10\n"
    "init = torch_default\n"
    "[train]\n"
    "loss = cross_entropy\n"
    "optimizer = adam\n"
    "lr = 0.001\n"
    "beta1 = 0.9\n"
    "beta2 = 0.999\n"
    "eps = 1e-8\n"
    "weight_decay = 0\n"
    "schedule = constant\n"
    "batch = 32\n"
    "epochs = %d\n"
    "shuffle = true\n"
    "seed = %d\n";

typedef struct fashion_epoch {
    double train_s, train_loss, train_acc, test_acc, eval_s;
    double others; /* cores busy with other work during the epoch's training */
} fashion_epoch;

typedef struct fashion_ctx {
    lam_model *m;
    const lam_dataset *test;
    int64_t ntrain;
    int n;
    fashion_epoch ep[MAX_EPOCHS];
    lam_status eval_status;
    bool eval_last_only; /* --eval-last: evaluate after the last epoch only (diagnostic) */
    machine_snap snap; /* taken when the epoch's training loop began (about) */
} fashion_ctx;

static bool fashion_on_epoch(const lam_epoch_log *e, void *user)
{
    fashion_ctx *c = user;
    if (c->n >= MAX_EPOCHS) return false;
    fashion_epoch *f = &c->ep[c->n++];
    f->train_s = e->seconds;
    f->train_loss = e->train_loss;
    f->train_acc = e->train_acc;
    machine_snap end = machine_now();
    f->others = others_cores(&c->snap, &end);
    /* evaluation between epochs: lam_fit takes the epoch time before this
     * hook and starts the next epoch's clock after it */
    double t0 = now_s();
    lam_metrics mt;
    f->test_acc = NAN;
    if (c->eval_last_only && e->epoch < e->epochs) {
        f->eval_s = 0;
        printf("fashion_cnn epoch %d/%d: %.2f s, %.1f images/s, train loss %.4f, train acc %.4f (no evaluation; "
               "other work %.2f cores)\n",
               e->epoch, e->epochs, f->train_s, (double)c->ntrain / f->train_s, f->train_loss, f->train_acc, f->others);
        fflush(stdout);
        c->snap = machine_now();
        return true;
    }
    lam_status s = lam_evaluate(c->m, c->test, &mt);
    f->eval_s = now_s() - t0;
    if (s != LAM_OK) {
        c->eval_status = s;
        fprintf(stderr, "bench_cnn: evaluate: %s: %s\n", lam_status_str(s), lam_last_error());
        return false;
    }
    f->test_acc = mt.accuracy;
    lam_metrics_free(&mt);
    printf("fashion_cnn epoch %d/%d: %.2f s, %.1f images/s, train loss %.4f, train acc %.4f, test acc %.4f "
           "(eval %.2f s, not timed; other work %.2f cores)\n",
           e->epoch, e->epochs, f->train_s, (double)c->ntrain / f->train_s, f->train_loss, f->train_acc,
           f->test_acc, f->eval_s, f->others);
    fflush(stdout);
    c->snap = machine_now(); /* the next epoch starts right after this hook */
    return true;
}

static int run_fashion(int threads, int epochs, const char *dir, bool eval_last, bool profile, int seed)
{
    char pathline[1200] = "", text[4096];
    if (dir) snprintf(pathline, sizeof pathline, "path = %s\n", dir);
    snprintf(text, sizeof text, FASHION_FMT, seed, pathline, epochs, seed);
    lam_model *m;
    lam_status s = model_from_text(text, "bench_cnn_fashion.cfg", &m);
    if (s != LAM_OK) return die("model", s);
    double t0 = now_s();
    lam_dataset *train = NULL, *test = NULL;
    if ((s = lam_model_prepare_data(m, &train, NULL, &test, NULL)) != LAM_OK) {
        lam_model_free(m);
        return die(dir ? dir : LAM_FASHION_MNIST_DIR, s);
    }
    double t_load = now_s() - t0;
    if (train->n != 60000 || test->n != 10000 || train->nfeat != 784)
        fprintf(stderr, "bench_cnn: warning: expected 60000 train / 10000 test images of 784, got %lld / %lld of %lld\n",
                (long long)train->n, (long long)test->n, (long long)train->nfeat);
    printf("fashion_cnn: %d thread%s, %lld train / %lld test images (loaded in %.2f s), %.1f MFLOP/image forward\n",
           threads, threads == 1 ? "" : "s", (long long)train->n, (long long)test->n, t_load,
           1e-6 * lam_graph_flops_per_sample(m->g));
    fflush(stdout);

    static fashion_ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.test = test;
    c.ntrain = train->n;
    c.eval_last_only = eval_last;
    lam_fit_hooks hk = {0};
    hk.on_epoch = fashion_on_epoch;
    hk.user = &c;
    lam_fit_result fr;
    unsigned long long st0[8] = {0}, st1[8] = {0};
    int have_stat = cpu_stat(st0);
    double la0 = loadavg();
    int rc = 0;
    c.snap = machine_now();
    if (profile) lam_graph_set_profiling(m->g, true);
    s = lam_fit(m, train, NULL, &hk, &fr);
    if (profile) print_profile(m->g);
    double la1 = loadavg();
    have_stat = have_stat && cpu_stat(st1);
    if (s != LAM_OK) {
        rc = die("fit", s);
        goto done;
    }
    if (c.eval_status != LAM_OK || c.n == 0) {
        rc = 1;
        goto done;
    }
    double ts[MAX_EPOCHS], med, mn, mx;
    for (int i = 0; i < c.n; i++) ts[i] = c.ep[i].train_s;
    stats(ts, c.n, &med, &mn, &mx);
    char js[8192];
    size_t jl = (size_t)snprintf(js, sizeof js, "{\"bench\": \"fashion_cnn\", \"threads\": %d, \"epochs\": [", threads);
    for (int i = 0; i < c.n && jl < sizeof js; i++) {
        char acc[32] = "null"; /* no evaluation after this epoch (--eval-last) */
        if (isfinite(c.ep[i].test_acc)) snprintf(acc, sizeof acc, "%.4f", c.ep[i].test_acc);
        jl += (size_t)snprintf(js + jl, sizeof js - jl,
                               "%s{\"epoch\": %d, \"train_s\": %.3f, \"images_per_s\": %.1f, \"train_loss\": %.4f, "
                               "\"train_acc\": %.4f, \"test_acc\": %s, \"eval_s\": %.3f, \"others_cores\": %.2f}",
                               i ? ", " : "", i + 1, c.ep[i].train_s, (double)c.ntrain / c.ep[i].train_s,
                               c.ep[i].train_loss, c.ep[i].train_acc, acc, c.ep[i].eval_s,
                               isfinite(c.ep[i].others) ? c.ep[i].others : -1.0);
    }
    if (jl < sizeof js)
        jl += (size_t)snprintf(js + jl, sizeof js - jl,
                               "], \"lamina_epoch_s\": {\"median\": %.4f, \"min\": %.4f, \"max\": %.4f, \"n\": %d}, "
                               "\"lamina_train_s\": %.3f, \"load_s\": %.3f",
                               med, mn, mx, c.n, fr.seconds, t_load);
    if (have_stat && jl < sizeof js)
        jl += (size_t)snprintf(js + jl, sizeof js - jl, ", \"steal_pct\": %.1f", steal_pct(st0, st1));
    if (isfinite(la0) && isfinite(la1) && jl < sizeof js)
        jl += (size_t)snprintf(js + jl, sizeof js - jl, ", \"loadavg\": [%.2f, %.2f]", la0, la1);
    if (jl < sizeof js) snprintf(js + jl, sizeof js - jl, "}");
    printf("%s\n", js);
done:
    lam_dataset_free(train);
    lam_dataset_free(test);
    lam_model_free(m);
    return rc;
}

/* ==== cifar ======================================================================== */

/* configs/cifar_cnn.cfg's network and optimiser, without [augment] and
 * without data scaling (the batch is synthetic). */
static const char *const CIFAR_TEXT =
    "# cifar_cnn workload (../shared/peers/cifar_cnn.py), synthetic data\n"
    "[net]\n"
    "input = 3, 32, 32\n"
    "seed = 0\n"
    "[conv2d]\n"
    "name = conv1\n"
    "filters = 32\n"
    "kernel = 3\n"
    "padding = same\n"
    "activation = relu\n"
    "init = torch_default\n"
    "[maxpool]\n"
    "size = 2\n"
    "[conv2d]\n"
    "name = conv2\n"
    "filters = 64\n"
    "kernel = 3\n"
    "padding = same\n"
    "activation = relu\n"
    "init = torch_default\n"
    "[maxpool]\n"
    "size = 2\n"
    "[dense]\n"
    "name = fc1\n"
    "units = 128\n"
    "activation = relu\n"
    "init = torch_default\n"
    "[dense]\n"
    "name = out\n"
    "units = 10\n"
    "init = torch_default\n"
    "[train]\n"
    "loss = cross_entropy\n"
    "optimizer = sgd\n"
    "lr = 0.001\n"
    "momentum = 0\n"
    "weight_decay = 0\n"
    "batch = 64\n";

#define CIFAR_B 64

/* The optimiser lam_fit makes: one span per trainable parameter, one group
 * per layer (+ group 0 for layer-less ones), all with the [train] settings. */
static lam_status make_optim(lam_model *m, lam_optim **out)
{
    lam_graph *g = m->g;
    size_t np = lam_graph_param_count(g);
    int ngroups = lam_graph_layer_count(g) + 1;
    lam_param_span *spans = calloc(np ? np : 1, sizeof *spans);
    lam_param_group *groups = calloc((size_t)ngroups, sizeof *groups);
    lam_status s = LAM_ERR_NOMEM;
    if (spans && groups) {
        size_t ns = 0;
        for (size_t i = 0; i < np; i++) {
            const lam_param_info *p = lam_graph_param_at(g, i);
            if (!p->trainable) continue;
            spans[ns++] = (lam_param_span){p->name, p->offset, p->numel, p->layer + 1};
        }
        for (int i = 0; i < ngroups; i++) groups[i] = m->train.group;
        s = lam_optim_create(m->train.optimizer, lam_graph_param_total(g), spans, ns, groups, ngroups, out);
    }
    free(spans);
    free(groups);
    return s;
}

static int run_cifar(int threads, int warmup, int steps, bool profile)
{
    lam_model *m;
    lam_status s = model_from_text(CIFAR_TEXT, "bench_cnn_cifar.cfg", &m);
    if (s != LAM_OK) return die("model", s);
    int rc = 0;
    lam_optim *opt = NULL;
    float *bx = NULL;
    int32_t by[CIFAR_B];
    double *t_step = NULL, *t_ph[4] = {NULL, NULL, NULL, NULL};
    if ((s = lam_model_compile(m, CIFAR_B)) != LAM_OK) {
        rc = die("compile", s);
        goto done;
    }
    if ((s = make_optim(m, &opt)) != LAM_OK) {
        rc = die("optimizer", s);
        goto done;
    }
    size_t nx = (size_t)CIFAR_B * (size_t)lam_shape_numel(&m->sample);
    bx = malloc(sizeof(float) * nx);
    t_step = malloc(sizeof(double) * (size_t)steps);
    for (int k = 0; k < 4; k++) t_ph[k] = malloc(sizeof(double) * (size_t)steps);
    if (!bx || !t_step || !t_ph[0] || !t_ph[1] || !t_ph[2] || !t_ph[3]) {
        fprintf(stderr, "bench_cnn: out of memory\n");
        rc = 1;
        goto done;
    }
    lam_rng rng;
    lam_rng_seed(&rng, 0);
    for (size_t i = 0; i < nx; i++) bx[i] = lam_rng_normal(&rng);
    for (int i = 0; i < CIFAR_B; i++) by[i] = (int32_t)lam_rng_below(&rng, 10);
    lam_graph *g = m->g;
    float *xin = lam_node_data(m->x);
    int32_t *lin = lam_node_labels(m->target);
    printf("cifar_cnn: %d thread%s, batch %d of 3x32x32 N(0,1), %.1f MFLOP/image forward, %zu parameters\n", threads,
           threads == 1 ? "" : "s", CIFAR_B, 1e-6 * lam_graph_flops_per_sample(g), lam_graph_param_total(g));
    fflush(stdout);

    unsigned long long st0[8] = {0}, st1[8] = {0};
    int have_stat = cpu_stat(st0);
    double la0 = loadavg();
    machine_snap m0 = machine_now();
    float loss = NAN;
    if (profile) lam_graph_set_profiling(g, true);
    for (int step = 0; step < warmup + steps; step++) {
        memcpy(xin, bx, sizeof(float) * nx);
        memcpy(lin, by, sizeof by);
        double t0 = now_s();
        lam_graph_zero_grad(g);
        double t1 = now_s();
        if ((s = lam_graph_forward(g, CIFAR_B, true)) != LAM_OK) break;
        double t2 = now_s();
        if ((s = lam_graph_backward(g, m->loss)) != LAM_OK) break;
        double t3 = now_s();
        if ((s = lam_optim_step(opt, lam_graph_params(g), lam_graph_grads(g), 1.0f)) != LAM_OK) break;
        double t4 = now_s();
        loss = lam_node_data(m->loss)[0];
        if (step >= warmup) {
            int i = step - warmup;
            t_step[i] = t4 - t0;
            t_ph[0][i] = t1 - t0, t_ph[1][i] = t2 - t1, t_ph[2][i] = t3 - t2, t_ph[3][i] = t4 - t3;
        }
    }
    machine_snap m1 = machine_now();
    if (profile) print_profile(g);
    double la1 = loadavg();
    have_stat = have_stat && cpu_stat(st1);
    if (s != LAM_OK) {
        rc = die("step", s);
        goto done;
    }
    double med, mn, mx, ph[4], d1, d2;
    stats(t_step, steps, &med, &mn, &mx);
    for (int k = 0; k < 4; k++) stats(t_ph[k], steps, &ph[k], &d1, &d2);
    printf("cifar_cnn, %d thread%s: %.1f images/s (step median %.2f ms, min %.2f, max %.2f; zero_grad %.2f, "
           "forward %.2f, backward %.2f, optim %.2f ms), final loss %.4f\n",
           threads, threads == 1 ? "" : "s", CIFAR_B / med, 1e3 * med, 1e3 * mn, 1e3 * mx, 1e3 * ph[0], 1e3 * ph[1],
           1e3 * ph[2], 1e3 * ph[3], (double)loss);
    printf("{\"bench\": \"cifar_cnn\", \"threads\": %d, \"step_s\": {\"median\": %.6f, \"min\": %.6f, \"max\": %.6f, "
           "\"n\": %d}, \"images_per_s\": %.1f, \"images_per_s_range\": [%.1f, %.1f], \"final_loss\": %.4f, "
           "\"phase_ms\": {\"zero_grad\": %.3f, \"forward\": %.3f, \"backward\": %.3f, \"optim\": %.3f}",
           threads, med, mn, mx, steps, CIFAR_B / med, CIFAR_B / mx, CIFAR_B / mn, (double)loss, 1e3 * ph[0],
           1e3 * ph[1], 1e3 * ph[2], 1e3 * ph[3]);
    if (have_stat) printf(", \"steal_pct\": %.1f", steal_pct(st0, st1));
    if (isfinite(la0) && isfinite(la1)) printf(", \"loadavg\": [%.2f, %.2f]", la0, la1);
    double oc = others_cores(&m0, &m1);
    if (isfinite(oc)) printf(", \"others_cores\": %.2f", oc);
    printf("}\n");
done:
    free(bx);
    free(t_step);
    for (int k = 0; k < 4; k++) free(t_ph[k]);
    lam_optim_free(opt);
    lam_model_free(m);
    return rc;
}

/* ==== main ========================================================================= */

static int usage(void)
{
    fprintf(stderr, "usage: bench_cnn fashion [--threads N] [--epochs E] [--data DIR] [--seed S] [--eval-last] [--profile]\n"
                    "       bench_cnn cifar [--threads N] [--steps S] [--warmup W] [--profile]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage();
    const char *mode = argv[1];
    bool fashion = !strcmp(mode, "fashion"), cifar = !strcmp(mode, "cifar");
    if (!fashion && !cifar) return usage();
    int threads = 0, epochs = 2, steps = 20, warmup = 3, seed = 0;
    const char *dir = NULL;
    bool eval_last = false, profile = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (fashion && !strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoi(argv[++i]);
        else if (fashion && !strcmp(argv[i], "--data") && i + 1 < argc) dir = argv[++i];
        else if (fashion && !strcmp(argv[i], "--seed") && i + 1 < argc) seed = atoi(argv[++i]);
        else if (fashion && !strcmp(argv[i], "--eval-last")) eval_last = true;
        else if (!strcmp(argv[i], "--profile")) profile = true;
        else if (cifar && !strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (cifar && !strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
        else return usage();
    }
    if (epochs < 1 || epochs > MAX_EPOCHS || steps < 1 || steps > MAX_STEPS || warmup < 0) {
        fprintf(stderr, "bench_cnn: bad --epochs, --steps or --warmup\n");
        return 2;
    }
    lam_set_threads(threads);
    threads = lam_get_threads();
    return fashion ? run_fashion(threads, epochs, dir, eval_last, profile, seed)
                   : run_cifar(threads, warmup, steps, profile);
}
