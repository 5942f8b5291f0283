/* Tests of the HTML run report (lam_run_report_html).  Real run folders
 * made by the lamina binary ($LAMINA, default build/lamina): classification
 * with a validation part and class names full of HTML, regression, a run of
 * two [stage] sections, a tiny language model; each report checked as a
 * document (balanced tags, every section, one polyline point per logged
 * epoch, a K x K heat map, escaped strings, nothing external, the same
 * bytes twice, no temporary file left).  Run summaries written here for
 * what runs do not make (100 and 151 classes, a language model with no
 * test part, hostile strings, a summary with nothing but its format); the
 * failures (no results.json, malformed JSON, another format or version,
 * values of the wrong type, a report that cannot be written), metrics.csv
 * missing, empty, with another header or with junk rows; and every
 * allocation failing in turn.  Fixtures live in a mkdtemp folder. */
#include "test.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lamina/lamina.h"

static const char *lamina;

/* ---- helpers --------------------------------------------------------------------- */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static const char *mkdir_run(const char *name)
{
    const char *p = t_tpath(name);
    mkdir(p, 0777);
    return p;
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    size_t k = strlen(needle);
    for (const char *p = s; (p = strstr(p, needle)); p += k) n++;
    return n;
}

/* `lamina ARGS` with output to files in t_tmpdir; its exit code (128 + N: signal N). */
static int run(const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s/out.txt' 2>&1 </dev/null", lamina, args, t_tmpdir);
    int st = system(cmd);
    int rc = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (rc != 0) {
        char *out = t_slurp(t_tpath("out.txt"), NULL);
        fprintf(stderr, "  lamina %s: exit code %d\n%s\n", args, rc, out ? out : "");
        free(out);
    }
    return rc;
}

/* The elements the report writes are balanced: every start tag but the void
 * ones (and "/>") has its end tag, in order; <style> holds no tag. */
static bool balanced(const char *h, char *why, size_t n)
{
    static const char *const void_tags[] = {"meta", "br", "hr", "img", "link", "input", "col", "wbr"};
    char stack[256][24];
    int depth = 0;
    for (const char *p = strchr(h, '<'); p; p = strchr(p + 1, '<')) {
        if (!strncmp(p, "<!DOCTYPE", 9)) continue;
        bool close = p[1] == '/';
        const char *q = p + 1 + close;
        char name[24];
        size_t k = 0;
        while ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || (*q >= 'A' && *q <= 'Z')) {
            if (k + 1 < sizeof name) name[k++] = *q;
            q++;
        }
        name[k] = 0;
        if (!k) return snprintf(why, n, "a '<' that starts no tag at byte %ld", (long)(p - h)), false;
        const char *gt = strchr(q, '>');
        if (!gt) return snprintf(why, n, "an unterminated tag <%s", name), false;
        if (close) {
            if (!depth || strcmp(stack[depth - 1], name))
                return snprintf(why, n, "</%s> closes <%s> at byte %ld", name, depth ? stack[depth - 1] : "(none)",
                                (long)(p - h)),
                       false;
            depth--;
            continue;
        }
        if (gt[-1] == '/') continue;
        bool v = false;
        for (size_t i = 0; i < sizeof void_tags / sizeof *void_tags; i++) v |= !strcmp(name, void_tags[i]);
        if (v) continue;
        if (depth == 256) return snprintf(why, n, "nesting too deep"), false;
        snprintf(stack[depth++], sizeof stack[0], "%s", name);
        if (!strcmp(name, "style")) { /* CSS has '>' but no tags */
            const char *end = strstr(gt, "</style>");
            if (!end) return snprintf(why, n, "<style> never closed"), false;
            p = end - 1;
        }
    }
    if (depth) return snprintf(why, n, "<%s> never closed", stack[depth - 1]), false;
    return true;
}

/* In the chart with id `chart`: the points of the polylines of `series`,
 * and how many polylines; -1 when the chart is absent. */
static int chart_points(const char *h, const char *chart, const char *series, int *lines)
{
    char id[64], ds[64];
    snprintf(id, sizeof id, "id=\"%s\"", chart);
    snprintf(ds, sizeof ds, "data-series=\"%s\" points=\"", series);
    const char *p = strstr(h, id), *end = p ? strstr(p, "</svg>") : NULL;
    *lines = 0;
    if (!p || !end) return -1;
    int pts = 0;
    for (const char *q = strstr(p, ds); q && q < end; q = strstr(q + 1, ds)) {
        ++*lines;
        const char *v = q + strlen(ds), *e = strchr(v, '"');
        if (e > v) pts++;
        for (; v < e; v++) pts += *v == ' ';
    }
    return pts;
}

/* data rows of a metrics.csv */
static int log_rows(const char *dir)
{
    char p[600];
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    char *t = t_slurp(p, NULL);
    int n = t ? count(t, "\n") - 1 : -1;
    free(t);
    return n;
}

static const char *const sections[] = {"id=\"reproduce\"", "id=\"curves\"", "id=\"evaluation\"",
                                       "id=\"model\"",     "id=\"data\"",   "id=\"training\""};

/* Make the report of dir and check what every report must be; returns it
 * (malloc) or NULL. */
static char *report_of(const char *dir)
{
    lam_status s = lam_run_report_html(dir);
    CHECK_MSG(s == LAM_OK, "%s: %s: %s", dir, lam_status_str(s), lam_last_error());
    if (s != LAM_OK) return NULL;
    char p[600], why[160];
    snprintf(p, sizeof p, "%s/report.html", dir);
    size_t len = 0;
    char *h = t_slurp(p, &len);
    CHECK(h != NULL && strlen(h) == len); /* no NUL in it */
    if (!h) return NULL;
    CHECK(!strncmp(h, "<!DOCTYPE html>\n<html lang=\"en\">", 31));
    CHECK_MSG(balanced(h, why, sizeof why), "%s: %s", dir, why);
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) CHECK_MSG(strstr(h, sections[i]), "%s", sections[i]);
    /* self-contained: no script, nothing fetched */
    CHECK(!strstr(h, "<script") && !strstr(h, "src=") && !strstr(h, "http:") && !strstr(h, "https:") &&
          !strstr(h, "url(http") && !strstr(h, "@import"));
    CHECK(t_count_files(dir, ".tmp.") == 0);
    /* the same bytes again */
    CHECK_OK(lam_run_report_html(dir));
    size_t len2 = 0;
    char *h2 = t_slurp(p, &len2);
    CHECK(h2 && len2 == len && !memcmp(h, h2, len));
    free(h2);
    return h;
}

/* ---- real runs ---------------------------------------------------------------------- */

static uint32_t lcg;
static double urand(void)
{
    lcg = lcg * 1664525u + 1013904223u;
    return (double)(lcg >> 8) / (double)(1u << 24);
}

/* three classes whose names need escaping (quoted CSV fields) */
static void write_class_data(void)
{
    static const char *const name[3] = {"\"<b>ant</b>\"", "\"bee & co\"", "\"cat \"\"c\"\"\""};
    static const double centre[3][4] = {{0, 0, 0, 0}, {3, 3, 0, 0}, {0, 3, 3, 3}};
    FILE *f = fopen(t_tpath("cls.csv"), "wb");
    if (!f) return;
    fputs("f0,f1,f2,f3,label\n", f);
    lcg = 7;
    for (int i = 0; i < 240; i++) {
        int c = i % 3;
        for (int j = 0; j < 4; j++) fprintf(f, "%.4f,", centre[c][j] + urand());
        fprintf(f, "%s\n", name[c]);
    }
    fclose(f);
    f = fopen(t_tpath("reg.csv"), "wb");
    if (!f) return;
    fputs("a,b,c,y\n", f);
    for (int i = 0; i < 200; i++) {
        double x[3] = {urand(), urand(), urand()};
        fprintf(f, "%.4f,%.4f,%.4f,%.4f\n", x[0], x[1], x[2], 2 * x[0] - x[1] + 0.5 * x[2]);
    }
    fclose(f);
    f = fopen(t_tpath("corpus.txt"), "wb");
    if (!f) return;
    for (int i = 0; i < 40; i++) fputs("the quick brown fox jumps over the lazy dog. ", f);
    fclose(f);
}

static const char *train_run(const char *name, const char *model_text, const char *extra)
{
    char cfg[4096], cfg_name[64];
    snprintf(cfg, sizeof cfg, model_text, t_tmpdir);
    snprintf(cfg_name, sizeof cfg_name, "%s.cfg", name);
    write_text(t_tpath(cfg_name), cfg);
    const char *dir = t_tpath(name);
    int rc = run("train '%s' --out '%s' --quiet %s", t_tpath(cfg_name), dir, extra);
    CHECK_MSG(rc == 0, "lamina train %s: exit code %d", name, rc);
    return rc == 0 ? dir : NULL;
}

static const char *const cls_model =
    "[net]\ninput = 4\nseed = 1\n[data]\npath = %s/cls.csv\ntest_split = 0.25\n"
    "[dense]\nname = fc1\nunits = 8\nactivation = relu\n[dense]\nname = out\nunits = 3\n"
    "[train]\noptimizer = adam\nlr = 0.02\nbatch = 16\nepochs = 6\nvalidation_split = 0.2\n";

static char cls_dir[600], stages_dir[600]; /* kept for the tests that follow */

static void test_classification_with_validation(void)
{
    write_class_data();
    const char *dir = train_run("run_cls", cls_model, "");
    if (!dir) return;
    snprintf(cls_dir, sizeof cls_dir, "%s", dir);
    char *h = report_of(dir);
    if (!h) return;
    int epochs = log_rows(dir), lines;
    CHECK(epochs == 6);
    CHECK(chart_points(h, "chart-loss", "training", &lines) == epochs && lines == 1);
    CHECK(chart_points(h, "chart-loss", "validation", &lines) == epochs && lines == 1);
    CHECK(chart_points(h, "chart-accuracy", "training", &lines) == epochs);
    CHECK(chart_points(h, "chart-accuracy", "validation", &lines) == epochs);
    CHECK(chart_points(h, "chart-lr", "learning rate", &lines) == epochs);
    CHECK(chart_points(h, "chart-seconds", "training time", &lines) == epochs);
    /* a 3 x 3 heat map with the counts in it, and the per-class table */
    CHECK(strstr(h, "id=\"confusion-matrix\" data-classes=\"3\""));
    CHECK(count(h, "<rect class=\"cm\"") == 9 && count(h, "<title>true ") == 9);
    CHECK(count(h, "<text class=\"cv") == 9);
    CHECK(strstr(h, "id=\"per-class\"") && strstr(h, "macro average") && strstr(h, "weighted average"));
    CHECK(strstr(h, "id=\"baselines\"") && strstr(h, "Test accuracy") && strstr(h, "Macro F1"));
    /* class names from the data, escaped everywhere */
    CHECK(!strstr(h, "<b>ant") && !strstr(h, "cat \"c\""));
    CHECK(count(h, "&lt;b&gt;ant&lt;/b&gt;") >= 4 && strstr(h, "bee &amp; co") && strstr(h, "cat &quot;c&quot;"));
    CHECK(strstr(h, "--out") && strstr(h, "<pre class=\"cmd\"><code>"));
    free(h);
}

static void test_regression(void)
{
    const char *dir = train_run("run_reg", "[net]\ninput = 3\nseed = 1\n[data]\npath = %s/reg.csv\ntest_split = 0.2\n"
                                           "[dense]\nunits = 1\n[train]\nloss = mse\noptimizer = adam\nlr = 0.05\n"
                                           "batch = 16\nepochs = 5\n",
                                "");
    if (!dir) return;
    char *h = report_of(dir);
    if (!h) return;
    int lines;
    CHECK(chart_points(h, "chart-loss", "training", &lines) == 5);
    CHECK(chart_points(h, "chart-loss", "validation", &lines) == 0);
    CHECK(!strstr(h, "id=\"chart-accuracy\"")); /* no accuracy in regression */
    CHECK(!strstr(h, "confusion-matrix") && !strstr(h, "id=\"per-class\""));
    CHECK(strstr(h, "id=\"regression\"") && strstr(h, "Test MSE") && strstr(h, "R\xc2\xb2") &&
          strstr(h, "mean absolute error"));
    free(h);
}

/* two [stage] sections: two segments per curve, boundaries marked, a stages table */
static void test_two_stages(void)
{
    const char *dir = train_run("run_stages",
                                "[net]\ninput = 4\nseed = 1\n[data]\npath = %s/cls.csv\ntest_split = 0.25\n"
                                "[dense]\nname = fc1\nunits = 8\nactivation = relu\n[dense]\nname = out\nunits = 3\n"
                                "[train]\noptimizer = sgd\nlr = 0.05\nbatch = 16\nepochs = 3\n"
                                "[stage]\nname = head only\ntrain = out\nepochs = 3\n"
                                "[stage]\nname = all <layers>\ntrain = all\nepochs = 4\n",
                                "");
    if (!dir) return;
    snprintf(stages_dir, sizeof stages_dir, "%s", dir);
    char *h = report_of(dir);
    if (!h) return;
    int lines;
    CHECK(log_rows(dir) == 7);
    CHECK(chart_points(h, "chart-loss", "training", &lines) == 7 && lines == 2);
    CHECK(chart_points(h, "chart-lr", "learning rate", &lines) == 7 && lines == 2);
    CHECK(count(h, "<g class=\"stage\">") == 8); /* two marks in each of four charts */
    CHECK(strstr(h, "all &lt;layers&gt;") && !strstr(h, "all <layers>"));
    CHECK(strstr(h, "id=\"stages\"") && strstr(h, "head only") && strstr(h, "epoch (all stages, in order)"));
    free(h);
}

static void test_language_model(void)
{
    const char *dir = train_run("run_lm",
                                "[net]\ninput = 16\nseed = 0\n[data]\nformat = corpus\npath = %s/corpus.txt\n"
                                "tokenizer = char\ntest_split = 0.2\nstride = 4\n[embedding]\nunits = 8\n"
                                "[lstm]\nunits = 16\n[dense]\nunits = vocab\n[train]\nloss = cross_entropy\n"
                                "optimizer = adam\nlr = 0.01\nbatch = 16\nepochs = 2\n",
                                "");
    if (!dir) return;
    char *h = report_of(dir);
    if (!h) return;
    int lines;
    CHECK(chart_points(h, "chart-loss", "training", &lines) == 2);
    CHECK(strstr(h, "Test perplexity") && strstr(h, "id=\"language-model\"") && strstr(h, "Tokens / second"));
    CHECK(strstr(h, "Next-token accuracy") && !strstr(h, "confusion-matrix"));
    free(h);
}

/* ---- summaries written here ----------------------------------------------------------- */

static const char *fixture(const char *name, const char *json, const char *csv)
{
    const char *dir = mkdir_run(name);
    char p[600];
    snprintf(p, sizeof p, "%s/results.json", dir);
    write_text(p, json);
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    if (csv) write_text(p, csv);
    else remove(p);
    return dir;
}

/* K classes named "c<k>&", a diagonal confusion matrix */
static char *many_classes(int K)
{
    size_t cap = (size_t)K * K * 4 + (size_t)K * 128 + 512, k = 0;
    char *j = malloc(cap);
    k += (size_t)snprintf(j + k, cap - k,
                          "{\"format\":\"lamina-run\",\"version\":1,\"results\":{\"task\":\"classification\","
                          "\"n\":%d,\"accuracy\":1,\"macro_f1\":1,\"classes\":[",
                          K * 3);
    for (int c = 0; c < K; c++)
        k += (size_t)snprintf(j + k, cap - k, "%s{\"name\":\"c%d&\",\"precision\":1,\"recall\":1,\"f1\":1,\"support\":3}",
                              c ? "," : "", c);
    k += (size_t)snprintf(j + k, cap - k, "],\"confusion\":[");
    for (int r = 0; r < K; r++) {
        k += (size_t)snprintf(j + k, cap - k, "%s[", r ? "," : "");
        for (int c = 0; c < K; c++) k += (size_t)snprintf(j + k, cap - k, "%s%d", c ? "," : "", r == c ? 3 : 0);
        k += (size_t)snprintf(j + k, cap - k, "]");
    }
    snprintf(j + k, cap - k, "]}}");
    return j;
}

static void test_many_classes(void)
{
    char *j = many_classes(100);
    char *h = report_of(fixture("k100", j, NULL));
    free(j);
    if (h) {
        CHECK(count(h, "<rect class=\"cm\"") == 100 * 100 && count(h, "<title>true ") == 100 * 100);
        CHECK(count(h, "<text class=\"cv") == 0); /* no room for the counts: the tooltips have them */
        CHECK(count(h, ">c99&amp;</text>") == 2);  /* both axes */
        CHECK(strstr(h, "No curves: the run folder has no per-epoch log"));
    }
    free(h);
    j = many_classes(151);
    h = report_of(fixture("k151", j, NULL));
    free(j);
    if (h) {
        CHECK(!strstr(h, "confusion-matrix") && strstr(h, "151 classes: too many to draw"));
        CHECK(count(h, "<td class=\"name\">c") == 151);
    }
    free(h);
}

/* strings that must not become markup; a NUL and a control character in a name */
static void test_hostile_strings(void)
{
    const char *j =
        "{\"format\":\"lamina-run\",\"version\":1,\"command\":\"lamina train '</code><script>alert(1)</script>' & x\","
        "\"time\":\"<i>now</i>\",\"run_dir\":\"a\\\"b\",\"model\":{\"model_file\":\"m<1>&amp;.cfg\",\"layers\":"
        "[{\"name\":\"<x>\",\"op\":\"in&put\",\"shape\":[2,3],\"params\":0}]},\"data\":{\"path\":\"'p'<q>\"},"
        "\"results\":{\"task\":\"classification\",\"classes\":[{\"name\":\"a\\u0000b\\u0007\"},{\"name\":\"</title>\"}],"
        "\"confusion\":[[1,0],[0,1]]},\"baselines\":{\"majority\":{\"class\":\"<u>\",\"accuracy\":0.5}}}";
    char *h = report_of(fixture("hostile", j, NULL));
    if (!h) return;
    CHECK(!strstr(h, "<script") && !strstr(h, "<i>") && !strstr(h, "<x>") && !strstr(h, "<u>") && !strstr(h, "<q>"));
    CHECK(strstr(h, "&lt;/code&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39; &amp; x"));
    CHECK(strstr(h, "m&lt;1&gt;&amp;amp;.cfg") && strstr(h, "a&quot;b") && strstr(h, "in&amp;put"));
    CHECK(strstr(h, "a\xef\xbf\xbd" "b\xef\xbf\xbd")); /* NUL and BEL replaced */
    CHECK(count(h, "&lt;/title&gt;") >= 3 && strstr(h, "2 \xc3\x97 3"));
    free(h);
}

/* a summary with nothing but its format: every section says what is missing */
static void test_minimal_summary(void)
{
    char *h = report_of(fixture("minimal", "{\"format\":\"lamina-run\",\"version\":1,\"future_key\":[1,{}]}", NULL));
    if (!h) return;
    CHECK(strstr(h, "The command line was not recorded") && strstr(h, "No evaluation was recorded") &&
          strstr(h, "The model was not recorded") && strstr(h, "The data was not recorded") &&
          strstr(h, "The training was not recorded"));
    free(h);
    /* a language model trained on all its text: results null, the training loss instead */
    h = report_of(fixture("lm_no_test",
                          "{\"format\":\"lamina-run\",\"version\":1,\"model\":{\"tokens\":true,\"loss\":\"cross_entropy\"},"
                          "\"data\":{\"format\":\"corpus\",\"tokens_per_sample\":16},\"training\":{\"epochs_run\":0,"
                          "\"steps\":30,\"final_loss_last10\":1.5,\"tokens_per_second\":4810.2},\"results\":null}",
                          "stage,epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n"
                          "1,1,3.328115,0.181201,nan,nan,0.001,14.7070\n"));
    if (!h) return;
    CHECK(strstr(h, "Training perplexity") && strstr(h, ">4.482<") && strstr(h, "trained on all of its text"));
    CHECK(strstr(h, "Optimiser steps") && strstr(h, "id=\"one-epoch\"") && !strstr(h, "<svg class=\"chart\""));
    free(h);
    /* classes without a confusion matrix: the table alone */
    h = report_of(fixture("no_confusion",
                          "{\"format\":\"lamina-run\",\"version\":1,\"results\":{\"task\":\"classification\","
                          "\"classes\":[{\"name\":\"a\",\"support\":2},{\"name\":\"b\",\"support\":1}]}}",
                          NULL));
    CHECK(h && strstr(h, "id=\"per-class\"") && !strstr(h, "confusion-matrix") && strstr(h, "Not recorded."));
    free(h);
}

/* ---- failures ---------------------------------------------------------------------------- */

/* the report of dir fails with want, the message holding `needle`, and an
 * existing report.html is left as it was */
static void check_fails(const char *dir, lam_status want, const char *needle)
{
    char p[600];
    snprintf(p, sizeof p, "%s/report.html", dir);
    write_text(p, "old");
    lam_status s = lam_run_report_html(dir);
    CHECK_MSG(s == want, "%s: %s, want %s (%s)", dir, lam_status_str(s), lam_status_str(want), lam_last_error());
    CHECK_MSG(strstr(lam_last_error(), needle), "message \"%s\" has no \"%s\"", lam_last_error(), needle);
    char *h = t_slurp(p, NULL);
    CHECK(h && !strcmp(h, "old"));
    free(h);
    CHECK(t_count_files(dir, ".tmp.") == 0);
}

static void test_failures(void)
{
    CHECK(lam_run_report_html(NULL) == LAM_ERR_ARG);
    CHECK(lam_run_report_html("") == LAM_ERR_ARG);
    const char *empty = mkdir_run("empty");
    CHECK(lam_run_report_html(empty) == LAM_ERR_IO);
    CHECK(strstr(lam_last_error(), "results.json") && strstr(lam_last_error(), "No such file"));
    CHECK(t_count_files(empty, "report") == 0);
    CHECK(lam_run_report_html(t_tpath("no/such/folder")) == LAM_ERR_IO);
    mkdir(t_tpath("empty/results.json"), 0777); /* a folder by that name */
    CHECK(lam_run_report_html(empty) == LAM_ERR_IO && strstr(lam_last_error(), "not a regular file"));

    static const struct {
        const char *json;
        lam_status want;
        const char *needle;
    } bad[] = {
        {"{", LAM_ERR_FORMAT, "malformed JSON"},
        {"", LAM_ERR_FORMAT, "malformed JSON"},
        {"{\"format\":\"lamina-run\",\"version\":1} x", LAM_ERR_FORMAT, "malformed JSON"},
        {"[]", LAM_ERR_FORMAT, "not a run summary"},
        {"{\"version\":1}", LAM_ERR_FORMAT, "no key \"format\""},
        {"{\"format\":\"lamina-checkpoint\",\"version\":1}", LAM_ERR_FORMAT, "\"format\": \"lamina-run\""},
        {"{\"format\":7,\"version\":1}", LAM_ERR_FORMAT, "\"format\" is not a string"},
        {"{\"format\":\"lamina-run\"}", LAM_ERR_FORMAT, "\"version\""},
        {"{\"format\":\"lamina-run\",\"version\":\"1\"}", LAM_ERR_FORMAT, "\"version\""},
        {"{\"format\":\"lamina-run\",\"version\":2}", LAM_ERR_UNSUPPORTED, "version 2"},
        {"{\"format\":\"lamina-run\",\"version\":1,\"model\":[]}", LAM_ERR_FORMAT, "\"model\" is an array"},
        {"{\"format\":\"lamina-run\",\"version\":1,\"results\":[]}", LAM_ERR_FORMAT, "\"results\" is an array"},
        {"{\"format\":\"lamina-run\",\"version\":1,\"command\":5}", LAM_ERR_FORMAT, "\"command\" is the number 5"},
        {"{\"format\":\"lamina-run\",\"version\":1,\"peak_rss_mib\":\"x\"}", LAM_ERR_FORMAT, "\"peak_rss_mib\" is a string"},
        {"{\"format\":\"lamina-run\",\"version\":1,\"training\":{\"epochs_run\":\"12\"}}", LAM_ERR_FORMAT,
         "\"training.epochs_run\" is a string"},
        {"{\"format\":\"lamina-run\",\"version\":1,\"training\":{\"epochs_run\":1.5}}", LAM_ERR_FORMAT,
         "\"training.epochs_run\" is the number 1.5"},
        {"{\"format\":\"lamina-run\",\"version\":1,\"training\":{\"stages\":[{\"name\":5},{}]}}", LAM_ERR_FORMAT,
         "\"training.stages[0].name\""},
        {"{\"format\":\"lamina-run\",\"version\":1,\"results\":{\"task\":\"classification\",\"accuracy\":\"high\"}}",
         LAM_ERR_FORMAT, "\"results.accuracy\" is a string"},
        {"{\"format\":\"lamina-run\",\"version\":1,\"results\":{\"task\":\"classification\",\"classes\":[{\"name\":\"a\"}],"
         "\"confusion\":[[1,2]]}}",
         LAM_ERR_FORMAT, "\"results.confusion[0]\""},
        {"{\"format\":\"lamina-run\",\"version\":1,\"results\":{\"task\":\"classification\",\"classes\":[{\"name\":\"a\"},"
         "{\"name\":\"b\"}],\"confusion\":[[1,2],[3,-1]]}}",
         LAM_ERR_FORMAT, "\"results.confusion[1][1]\" is the number -1"},
        {"{\"format\":\"lamina-run\",\"version\":1,\"results\":{\"task\":\"classification\",\"classes\":[{\"name\":\"a\"}],"
         "\"confusion\":[[1],[2]]}}",
         LAM_ERR_FORMAT, "2 rows but"},
        {"{\"format\":\"lamina-run\",\"version\":1,\"results\":{\"task\":\"classification\",\"classes\":[{\"nome\":\"a\"}],"
         "\"confusion\":[[1]]}}",
         LAM_ERR_FORMAT, "\"results.classes[0]\" has no \"name\""},
        {"{\"format\":\"lamina-run\",\"version\":1,\"results\":{\"task\":\"classification\",\"classes\":[7]}}",
         LAM_ERR_FORMAT, "\"results.classes[0]\" is the number 7"},
        {"{\"format\":\"lamina-run\",\"version\":1,\"model\":{\"layers\":[3]}}", LAM_ERR_FORMAT,
         "\"model.layers[0]\" is the number 3"},
        {"{\"format\":\"lamina-run\",\"version\":1,\"model\":{\"layers\":[{\"name\":\"x\",\"shape\":[1,\"2\"]}]}}",
         LAM_ERR_FORMAT, "\"model.layers[0].shape[1]\" is a string"},
        {"{\"format\":\"lamina-run\",\"version\":1,\"model\":{\"memory\":{\"scratch\":1e300}}}", LAM_ERR_FORMAT,
         "\"model.memory.scratch\""},
        {"{\"format\":\"lamina-run\",\"version\":1,\"data\":{\"train\":true}}", LAM_ERR_FORMAT,
         "\"data.train\" is a boolean"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *dir = fixture("bad", bad[i].json, "stage,epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n");
        check_fails(dir, bad[i].want, bad[i].needle);
        CHECK_MSG(strstr(lam_last_error(), "results.json"), "case %zu: %s", i, lam_last_error());
    }
    /* present but unreadable metrics.csv; a report.html that cannot be replaced */
    const char *dir = fixture("unwritable", "{\"format\":\"lamina-run\",\"version\":1}", NULL);
    mkdir(t_tpath("unwritable/metrics.csv"), 0777);
    check_fails(dir, LAM_ERR_IO, "metrics.csv");
    rmdir(t_tpath("unwritable/metrics.csv"));
    remove(t_tpath("unwritable/report.html"));
    mkdir(t_tpath("unwritable/report.html"), 0777);
    CHECK(lam_run_report_html(dir) == LAM_ERR_IO && strstr(lam_last_error(), "report.html"));
    CHECK(t_count_files(dir, ".tmp.") == 0);
}

/* metrics.csv missing, empty, of another kind, with junk rows, one row, CRLF */
static void test_metrics_log_variants(void)
{
    if (!cls_dir[0]) return;
    char p[700];
    snprintf(p, sizeof p, "%s/results.json", cls_dir);
    char *json = t_slurp(p, NULL);
    if (!json) return;
    static const char *const head = "stage,epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n";
    char csv[1024];
    int lines;
    char *h = report_of(fixture("log_none", json, NULL));
    CHECK(h && strstr(h, "no per-epoch log (metrics.csv)") && !strstr(h, "<svg class=\"chart\""));
    free(h);
    h = report_of(fixture("log_header_only", json, head));
    CHECK(h && strstr(h, "metrics.csv holds no epochs"));
    free(h);
    h = report_of(fixture("log_other", json, "epoch,loss\n1,0.5\n"));
    CHECK(h && strstr(h, "metrics.csv was not read: the first line is &#39;epoch,loss&#39;"));
    free(h);
    snprintf(csv, sizeof csv,
             "%s1,1,1.0,0.5,nan,nan,0.01,0.1\n1,2,0.5,0.7,nan,nan,0.01,0.1\ngarbage\n"
             "1,3,abc,0.7,nan,nan,0.01,0.1\n\n1,3,0.25,0.9,nan,nan,0.01,0.1\n1,4,0.2",
             head);
    h = report_of(fixture("log_junk", json, csv));
    if (h) {
        CHECK(strstr(h, "3 rows of metrics.csv could not be read and are left out (line 4: 1 fields, expected 8)"));
        CHECK(chart_points(h, "chart-loss", "training", &lines) == 3 && lines == 1);
        CHECK(chart_points(h, "chart-loss", "validation", &lines) == 0);
    }
    free(h);
    snprintf(csv, sizeof csv, "%s1,1,1.0,0.5,nan,nan,0.01,0.1\n", head);
    h = report_of(fixture("log_one", json, csv));
    CHECK(h && strstr(h, "id=\"one-epoch\"") && !strstr(h, "<svg class=\"chart\""));
    free(h);
    snprintf(csv, sizeof csv,
             "stage,epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\r\n1,1,1.0,0.5,1.1,0.4,0.01,0.1\r\n"
             "1,2,0.5,0.7,-nan,inf,0.01,0.1\r\n1,3,0.25,0.9,0.9,0.6,0.01,0.1\r\n");
    h = report_of(fixture("log_crlf", json, csv));
    if (h) {
        CHECK(chart_points(h, "chart-loss", "training", &lines) == 3 && lines == 1);
        CHECK(chart_points(h, "chart-loss", "validation", &lines) == 2 && lines == 2); /* a gap at the NaN */
        CHECK(chart_points(h, "chart-accuracy", "validation", &lines) == 2 && lines == 2); /* and at the infinity */
    }
    free(h);
    /* 10,000 epochs: every third drawn, the last one kept */
    size_t cap = 10000 * 48 + 128, k = 0;
    char *big = malloc(cap);
    k += (size_t)snprintf(big + k, cap - k, "%s", head);
    for (int i = 1; i <= 10000; i++)
        k += (size_t)snprintf(big + k, cap - k, "1,%d,%g,0.5,nan,nan,0.01,0.1\n", i, 1.0 / i);
    h = report_of(fixture("log_long", json, big));
    CHECK(h && chart_points(h, "chart-loss", "training", &lines) == 3334 && lines == 1);
    free(h);
    free(big);
    free(json);
}

/* ---- allocation failures ------------------------------------------------------------------ */

static void sweep(const char *dir)
{
    char p[700];
    snprintf(p, sizeof p, "%s/report.html", dir);
    CHECK_OK(lam_run_report_html(dir));
    size_t n0 = 0;
    char *good = t_slurp(p, &n0);
    write_text(p, "before");
    uint64_t base = t_live_bytes();
    bool done = false;
    int k;
    for (k = 1; k < 2000 && !done; k++) {
        lam_alloc_fail_after((uint64_t)k);
        lam_status s = lam_run_report_html(dir);
        lam_alloc_fail_after(0);
        CHECK_MSG(s == LAM_OK || s == LAM_ERR_NOMEM, "%s k=%d: %s %s", dir, k, lam_status_str(s), lam_last_error());
        CHECK_MSG(t_live_bytes() == base, "%s k=%d: %lld bytes leaked", dir, k, (long long)(t_live_bytes() - base));
        CHECK(t_count_files(dir, ".tmp.") == 0);
        size_t n = 0;
        char *now = t_slurp(p, &n);
        if (s == LAM_OK) {
            done = true;
            CHECK(now && good && n == n0 && !memcmp(now, good, n));
        } else {
            CHECK(now && !strcmp(now, "before"));
        }
        free(now);
    }
    CHECK_MSG(done && k > 10, "%s: %d allocations", dir, k);
    free(good);
}

static void test_allocation_failures(void)
{
    if (cls_dir[0]) sweep(cls_dir);
    if (stages_dir[0]) sweep(stages_dir);
}

int main(void)
{
    lamina = getenv("LAMINA") ? getenv("LAMINA") : "build/lamina";
    if (!t_mkdtemp("/tmp/lamina_test_report_XXXXXX")) return 1;
    RUN(test_classification_with_validation);
    RUN(test_regression);
    RUN(test_two_stages);
    RUN(test_language_model);
    RUN(test_many_classes);
    RUN(test_hostile_strings);
    RUN(test_minimal_summary);
    RUN(test_failures);
    RUN(test_metrics_log_variants);
    RUN(test_allocation_failures);
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
