/* Tests of the image data layer: the IDX reader (every element type, plain
 * and gzip, every malformed header and length, lying sizes that must not
 * allocate), IDX files into data sets, the CIFAR-10/100 reader, the image
 * transforms and lam_augment_batch (identities, exact pixel moves, noise
 * statistics, standardisation, determinism, no allocation), fault injection,
 * and Fashion-MNIST when it is installed.  Fixtures go to a temporary
 * directory. */
#include "lamina/data.h"
#include "test.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

static lam_alloc_stats stats(void)
{
    lam_alloc_stats s;
    lam_alloc_get_stats(&s);
    return s;
}

/* Open file descriptors of this process (Linux), to catch leaks; -1 if unknown. */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

/* ---- IDX fixtures ------------------------------------------------------------ */

static size_t tsize(int type)
{
    return lam_idx_type_size((lam_idx_type)type);
}

/* Put v big-endian as `type` at p. */
static void put_be(unsigned char *p, int type, double v)
{
    uint64_t bits = 0;
    size_t k = tsize(type);
    switch (type) {
    case 0x08: bits = (uint8_t)v; break;
    case 0x09: bits = (uint8_t)(int8_t)v; break;
    case 0x0B: bits = (uint16_t)(int16_t)v; break;
    case 0x0C: bits = (uint32_t)(int32_t)v; break;
    case 0x0D: {
        float f = (float)v;
        uint32_t u;
        memcpy(&u, &f, 4);
        bits = u;
        break;
    }
    case 0x0E: memcpy(&bits, &v, 8); break;
    }
    for (size_t i = 0; i < k; i++) p[i] = (unsigned char)(bits >> (8 * (k - 1 - i)));
}

/* An IDX file image in buf (caller's, big enough); returns its length. */
static size_t make_idx(unsigned char *buf, int type, int ndim, const uint32_t *dims,
                       const double *vals, size_t n)
{
    buf[0] = buf[1] = 0;
    buf[2] = (unsigned char)type;
    buf[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int b = 0; b < 4; b++) buf[4 + 4 * i + b] = (unsigned char)(dims[i] >> (24 - 8 * b));
    size_t off = 4 + 4 * (size_t)ndim, k = tsize(type);
    for (size_t i = 0; i < n; i++) put_be(buf + off + i * k, type, vals[i]);
    return off + n * k;
}

/* Expect lam_idx_read(path) to fail with `want` and a message holding path
 * and `where` (e.g. "byte offset 3"). */
static void expect_idx_fail(const char *path, lam_status want, const char *where)
{
    uint64_t live0 = t_live_bytes();
    lam_idx *m = (lam_idx *)1;
    lam_status st = lam_idx_read(path, &m);
    CHECK_MSG(st == want, "%s: got %s (%s), want %s", path, lam_status_str(st),
              lam_last_error(), lam_status_str(want));
    CHECK(m == NULL);
    CHECK_MSG(t_err_has(path), "message lacks the path: %s", lam_last_error());
    if (where) CHECK_MSG(t_err_has(where), "message lacks \"%s\": %s", where, lam_last_error());
    if (st == LAM_OK) lam_idx_free(m);
    CHECK(t_live_bytes() == live0);
}

/* A header that declares far more data than the file holds must fail before
 * anything of that size is allocated.  Runs first so that the allocation
 * peak is still small. */
static void test_idx_lying_size(void)
{
    unsigned char buf[64];
    double v[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    struct {
        int type, ndim;
        uint32_t dims[4];
    } cases[] = {
        {0x08, 1, {1u << 30}},                /* 1 GiB of bytes */
        {0x0E, 3, {1u << 15, 1u << 15, 2}},   /* exactly 2^31 doubles: 16 GiB */
        {0x0D, 4, {1u << 10, 1u << 10, 1u << 10, 2}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t n = make_idx(buf, cases[c].type, cases[c].ndim, cases[c].dims, v, 2);
        for (int gz = 0; gz < 2; gz++) {
            char name[32];
            snprintf(name, sizeof name, "lying%zu%s", c, gz ? ".gz" : "");
            const char *p = gz ? t_write_gz(name, buf, n) : t_write_bytes(name, buf, n);
            lam_alloc_stats s0 = stats();
            double t0 = t_now();
            expect_idx_fail(p, LAM_ERR_FORMAT, "truncated");
            lam_alloc_stats s1 = stats();
            uint64_t limit = s0.bytes_live + (4u << 20);
            CHECK_MSG(s1.bytes_peak <= (s0.bytes_peak > limit ? s0.bytes_peak : limit),
                      "case %zu gz %d: peak %llu bytes", c, gz,
                      (unsigned long long)s1.bytes_peak);
            CHECK(t_now() - t0 < 1.0);
        }
    }
    /* the same through the data-set path */
    uint32_t d3[3] = {60000, 28, 28}, d1[1] = {60000};
    size_t n = make_idx(buf, 0x08, 3, d3, v, 10);
    const char *ip = t_write_gz("lying_img.gz", buf, n);
    unsigned char lb[64 + 60000];
    double *labs = calloc(60000, sizeof *labs);
    const char *lp = t_write_bytes("lying_lab", lb, make_idx(lb, 0x08, 1, d1, labs, 60000));
    free(labs);
    lam_alloc_stats s0 = stats();
    lam_dataset *ds = (lam_dataset *)1;
    CHECK(lam_dataset_from_idx(ip, lp, NULL, &ds) == LAM_ERR_FORMAT && ds == NULL);
    CHECK(t_err_has(ip) && t_err_has("truncated"));
    lam_alloc_stats s1 = stats();
    uint64_t limit = s0.bytes_live + (4u << 20);
    CHECK(s1.bytes_peak <= (s0.bytes_peak > limit ? s0.bytes_peak : limit));
    CHECK(s1.bytes_live == s0.bytes_live);
}

static void test_idx_dtypes(void)
{
    uint64_t live0 = t_live_bytes();
    static const int types[] = {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E};
    const double vals[6][6] = {
        {0, 1, 127, 128, 254, 255},
        {-128, -1, 0, 1, 100, 127},
        {-32768, -300, -1, 0, 258, 32767},
        {-2147483647.0 - 1, -70000, -1, 0, 65536 + 3, 2147483647},
        {-1.5, 0, 0.25, 3.0e38, -1e-30, 65504.125},
        {-1.5e300, 0, 1.0 / 3.0, 2.5, -4e-310, 1e10},
    };
    uint32_t dims[2] = {2, 3};
    unsigned char buf[128];
    for (int t = 0; t < 6; t++) {
        size_t n = make_idx(buf, types[t], 2, dims, vals[t], 6);
        for (int gz = 0; gz < 2; gz++) {
            char name[32];
            snprintf(name, sizeof name, "dtype%d%s", t, gz ? ".gz" : "");
            const char *p = gz ? t_write_gz(name, buf, n) : t_write_bytes(name, buf, n);
            lam_idx *m = NULL;
            lam_status st = lam_idx_read(p, &m);
            CHECK_MSG(st == LAM_OK, "%s: %s", p, lam_last_error());
            if (!m) continue;
            CHECK((int)m->type == types[t] && m->ndim == 2 && m->dims[0] == 2 && m->dims[1] == 3);
            CHECK(m->dims[2] == 0 && m->numel == 6 && m->gzip == (gz == 1));
            for (int i = 0; i < 6; i++) {
                double got = 0;
                switch (m->type) {
                case LAM_IDX_U8: got = ((uint8_t *)m->data)[i]; break;
                case LAM_IDX_I8: got = ((int8_t *)m->data)[i]; break;
                case LAM_IDX_I16: got = ((int16_t *)m->data)[i]; break;
                case LAM_IDX_I32: got = ((int32_t *)m->data)[i]; break;
                case LAM_IDX_F32: got = ((float *)m->data)[i]; break;
                case LAM_IDX_F64: got = ((double *)m->data)[i]; break;
                }
                double want = types[t] == 0x0D ? (double)(float)vals[t][i] : vals[t][i];
                CHECK_MSG(got == want, "type %s item %d: %.17g != %.17g",
                          lam_idx_type_name(m->type), i, got, want);
            }
            lam_idx_free(m);
        }
    }
    CHECK(strcmp(lam_idx_type_name((lam_idx_type)0x0A), "?") == 0);
    CHECK(lam_idx_type_size((lam_idx_type)0x0A) == 0);
    CHECK(lam_idx_read(NULL, NULL) == LAM_ERR_ARG);
    lam_idx *m = (lam_idx *)1;
    CHECK(lam_idx_read(NULL, &m) == LAM_ERR_ARG && m == NULL);
    lam_idx_free(NULL);
    CHECK(t_live_bytes() == live0);
}

static void test_idx_malformed(void)
{
    unsigned char buf[256], bad[256];
    double v[24];
    for (int i = 0; i < 24; i++) v[i] = i * 10;
    uint32_t dims[3] = {2, 3, 4};
    size_t n = make_idx(buf, 0x08, 3, dims, v, 24); /* 16 + 24 bytes */

    memcpy(bad, buf, n);
    bad[1] = 8;
    expect_idx_fail(t_write_bytes("magic", bad, n), LAM_ERR_FORMAT, "byte offset 0");
    expect_idx_fail(t_write_gz("magic.gz", bad, n), LAM_ERR_FORMAT, "byte offset 0");
    memcpy(bad, buf, n);
    bad[2] = 0x0A;
    expect_idx_fail(t_write_bytes("type", bad, n), LAM_ERR_FORMAT, "byte offset 2");
    bad[2] = 0x07;
    expect_idx_fail(t_write_bytes("type2", bad, n), LAM_ERR_FORMAT, "unknown IDX element type");
    memcpy(bad, buf, n);
    bad[3] = 0;
    expect_idx_fail(t_write_bytes("ndim0", bad, n), LAM_ERR_FORMAT, "byte offset 3");
    bad[3] = 5;
    expect_idx_fail(t_write_bytes("ndim5", bad, n), LAM_ERR_FORMAT, "byte offset 3");
    bad[3] = 255;
    expect_idx_fail(t_write_gz("ndim255.gz", bad, n), LAM_ERR_FORMAT, "byte offset 3");
    /* a zero dimension */
    uint32_t dz[3] = {2, 0, 4};
    size_t nz = make_idx(bad, 0x08, 3, dz, v, 0);
    expect_idx_fail(t_write_bytes("dim0", bad, nz), LAM_ERR_FORMAT, "byte offset 8");
    /* dimensions whose product overflows / exceeds 2^31 elements */
    uint32_t dov[2] = {1u << 31, 1u << 31};
    size_t nov = make_idx(bad, 0x08, 2, dov, v, 4);
    expect_idx_fail(t_write_bytes("overflow", bad, nov), LAM_ERR_FORMAT, "byte offset 8");
    uint32_t dmax[4] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    size_t nmax = make_idx(bad, 0x0E, 4, dmax, v, 1);
    expect_idx_fail(t_write_bytes("overflow4", bad, nmax), LAM_ERR_FORMAT, "byte offset 4");
    uint32_t dbig[2] = {1u << 16, (1u << 15) + 1};
    size_t nbig = make_idx(bad, 0x08, 2, dbig, v, 4);
    expect_idx_fail(t_write_gz("toobig.gz", bad, nbig), LAM_ERR_FORMAT, "byte offset 8");

    /* truncated at several points, plain and gzip: the message names the
     * offset where the data ends */
    size_t cuts[] = {0, 1, 3, 4, 6, 11, 15, 16, 17, 30, n - 1};
    for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
        char name[32], where[48];
        snprintf(where, sizeof where, "byte offset %zu", cuts[c]);
        snprintf(name, sizeof name, "cut%zu", cuts[c]);
        expect_idx_fail(t_write_bytes(name, buf, cuts[c]), LAM_ERR_FORMAT, where);
        snprintf(name, sizeof name, "cut%zu.gz", cuts[c]);
        expect_idx_fail(t_write_gz(name, buf, cuts[c]), LAM_ERR_FORMAT, where);
    }
    /* a multi-byte element cut in the middle */
    uint32_t d1[1] = {3};
    size_t n16 = make_idx(bad, 0x0B, 1, d1, v, 3);
    expect_idx_fail(t_write_bytes("cut16", bad, n16 - 1), LAM_ERR_FORMAT, "byte offset 13");
    expect_idx_fail(t_write_gz("cut16.gz", bad, n16 - 1), LAM_ERR_FORMAT, "byte offset 13");

    /* trailing bytes */
    memcpy(bad, buf, n);
    bad[n] = 7;
    bad[n + 1] = 9;
    char where[48];
    snprintf(where, sizeof where, "byte offset %zu", n);
    expect_idx_fail(t_write_bytes("trail", bad, n + 2), LAM_ERR_FORMAT, where);
    CHECK(t_err_has("2 unexpected bytes"));
    expect_idx_fail(t_write_gz("trail.gz", bad, n + 1), LAM_ERR_FORMAT, where);

    /* corrupt gzip: the compressed stream cut short, and a flipped byte */
    const char *gp = t_write_gz("ok.gz", buf, n);
    FILE *f = fopen(gp, "rb");
    unsigned char gzb[512];
    size_t gn = f ? fread(gzb, 1, sizeof gzb, f) : 0;
    if (f) fclose(f);
    CHECK(gn > 20);
    expect_idx_fail(t_write_bytes("gzcut.gz", gzb, gn - 6), LAM_ERR_FORMAT, "gzip");
    gzb[gn - 6] ^= 0xFF; /* CRC byte of the trailer */
    expect_idx_fail(t_write_bytes("gzcrc.gz", gzb, gn), LAM_ERR_FORMAT, "gzip");

    /* missing file, a directory */
    expect_idx_fail(t_tpath("no_such_file"), LAM_ERR_IO, "cannot open");
    expect_idx_fail(t_tmpdir, LAM_ERR_IO, "directory");
}

/* Through a pipe the size is unknown: the buffer grows as data arrives. */
static void test_idx_pipe(void)
{
    uint64_t live0 = t_live_bytes();
    const char *p = t_tpath("fifo");
    if (mkfifo(p, 0600) != 0) {
        perror("mkfifo");
        CHECK(0);
        return;
    }
    uint32_t dims[3] = {3, 1024, 1100};
    size_t n = 3 * 1024 * 1100, len = 16 + n;
    unsigned char *buf = malloc(len);
    if (!buf) return;
    make_idx(buf, 0x08, 3, dims, NULL, 0);
    for (size_t i = 0; i < n; i++) buf[16 + i] = (unsigned char)(i * 13 + i / 1000);
    for (int c = 0; c < 4; c++) {
        bool gz = c & 1, cut = c & 2;
        size_t wlen = cut ? len - 1 : len;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) { /* the writer */
            if (gz) {
                gzFile g = gzopen(p, "wb1");
                if (g) {
                    gzwrite(g, buf, (unsigned)wlen);
                    gzclose(g);
                }
            } else {
                FILE *f = fopen(p, "wb");
                if (f) {
                    fwrite(buf, 1, wlen, f);
                    fclose(f);
                }
            }
            _exit(0);
        }
        lam_idx *m = NULL;
        lam_status st = lam_idx_read(p, &m);
        int ws;
        waitpid(pid, &ws, 0);
        if (cut) {
            CHECK_MSG(st == LAM_ERR_FORMAT && t_err_has("truncated"), "%s", lam_last_error());
            char where[48];
            snprintf(where, sizeof where, "byte offset %zu", len - 1);
            CHECK_MSG(t_err_has(where), "%s", lam_last_error());
        } else {
            CHECK_MSG(st == LAM_OK, "pipe%s: %s", gz ? " gz" : "", lam_last_error());
            if (m) {
                CHECK(m->numel == (int64_t)n && m->dims[2] == 1100 && m->gzip == gz);
                CHECK(memcmp(m->data, buf + 16, n) == 0);
            }
        }
        lam_idx_free(m);
    }
    free(buf);
    CHECK(t_live_bytes() == live0);
}

/* ---- IDX -> data set ------------------------------------------------------------- */

static lam_dataset *idx_ds(const char *ip, const char *lp, const lam_idx_opts *o)
{
    lam_dataset *ds = NULL;
    lam_status st = lam_dataset_from_idx(ip, lp, o, &ds);
    CHECK_MSG(st == LAM_OK, "%s + %s: %s %s", ip, lp, lam_status_str(st), lam_last_error());
    return ds;
}

static void test_idx_dataset(void)
{
    uint64_t live0 = t_live_bytes();
    unsigned char ib[256], lb[64];
    double pix[30], lab[5] = {3, 0, 1, 3, 2};
    for (int i = 0; i < 30; i++) pix[i] = i * 8;
    uint32_t d3[3] = {5, 2, 3}, d1[1] = {5};
    const char *ip = t_write_gz("ds_img.gz", ib, make_idx(ib, 0x08, 3, d3, pix, 30));
    const char *lp = t_write_bytes("ds_lab", lb, make_idx(lb, 0x08, 1, d1, lab, 5));
    lam_dataset *ds = idx_ds(ip, lp, NULL);
    if (ds) {
        CHECK(ds->n == 5 && ds->nfeat == 6 && ds->nclasses == 4);
        CHECK(ds->task == LAM_TASK_CLASSIFICATION && ds->class_names == NULL);
        CHECK(ds->sample_shape.ndim == 3 && ds->sample_shape.d[0] == 1 &&
              ds->sample_shape.d[1] == 2 && ds->sample_shape.d[2] == 3);
        for (int i = 0; i < 30; i++) CHECK(ds->x[i] == (float)(i * 8) / 255.0f);
        for (int i = 0; i < 5; i++) CHECK(ds->labels[i] == (int32_t)lab[i]);
        CHECK_OK(lam_dataset_check(ds));
    }
    lam_dataset_free(ds);
    /* raw values, given classes and names */
    lam_idx_opts o = lam_idx_opts_defaults();
    const char *names[6] = {"a", "b", "c", "d", "e", "f"};
    o.raw = true;
    o.nclasses = 6;
    o.class_names = names;
    ds = idx_ds(ip, lp, &o);
    if (ds) {
        CHECK(ds->nclasses == 6 && ds->x[29] == 232.0f);
        CHECK(ds->class_names && strcmp(ds->class_names[5], "f") == 0);
    }
    lam_dataset_free(ds);
    /* 4-D images [N, C, H, W] with i16 labels; 2-D [N, F] f32; i32 images */
    uint32_t d4[4] = {5, 3, 1, 2};
    ip = t_write_bytes("ds4_img", ib, make_idx(ib, 0x08, 4, d4, pix, 30));
    lp = t_write_gz("ds4_lab.gz", lb, make_idx(lb, 0x0B, 1, d1, lab, 5));
    ds = idx_ds(ip, lp, NULL);
    if (ds) {
        CHECK(ds->sample_shape.ndim == 3 && ds->sample_shape.d[0] == 3 &&
              ds->sample_shape.d[1] == 1 && ds->sample_shape.d[2] == 2 && ds->nfeat == 6);
        CHECK(ds->labels[3] == 3 && ds->nclasses == 4);
    }
    lam_dataset_free(ds);
    uint32_t d2[2] = {5, 6};
    double fv[30];
    for (int i = 0; i < 30; i++) fv[i] = -1.5 + 0.25 * i;
    ip = t_write_bytes("ds2_img", ib, make_idx(ib, 0x0D, 2, d2, fv, 30));
    lp = t_write_bytes("ds2_lab", lb, make_idx(lb, 0x0C, 1, d1, lab, 5));
    ds = idx_ds(ip, lp, NULL);
    if (ds) {
        CHECK(ds->sample_shape.ndim == 1 && ds->sample_shape.d[0] == 6);
        CHECK(ds->x[0] == -1.5f && ds->x[29] == 5.75f);
    }
    lam_dataset_free(ds);
    double iv[30];
    for (int i = 0; i < 30; i++) iv[i] = i * 1000 - 7000;
    ip = t_write_bytes("ds_i32_img", ib, make_idx(ib, 0x0C, 3, d3, iv, 30));
    ds = idx_ds(ip, lp, NULL);
    if (ds) CHECK(ds->x[0] == -7000.0f && ds->x[29] == 22000.0f);
    lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);
}

/* Expect lam_dataset_from_idx to fail with a message holding `who` (a path)
 * and `where`. */
static void expect_ds_fail(const char *ip, const char *lp, const lam_idx_opts *o,
                           lam_status want, const char *who, const char *where)
{
    uint64_t live0 = t_live_bytes();
    lam_dataset *ds = (lam_dataset *)1;
    lam_status st = lam_dataset_from_idx(ip, lp, o, &ds);
    CHECK_MSG(st == want, "%s + %s: got %s (%s)", ip ? ip : "NULL", lp ? lp : "NULL",
              lam_status_str(st), lam_last_error());
    CHECK(ds == NULL);
    if (who) CHECK_MSG(t_err_has(who), "message lacks %s: %s", who, lam_last_error());
    if (where) CHECK_MSG(t_err_has(where), "message lacks \"%s\": %s", where, lam_last_error());
    if (st == LAM_OK) lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);
}

static void test_idx_dataset_errors(void)
{
    unsigned char ib[256], lb[64];
    double pix[30] = {0}, lab[6] = {3, 0, 1, 3, 2, 1};
    uint32_t d3[3] = {5, 2, 3}, d1[1] = {5}, d6[1] = {6}, d2[2] = {5, 1};
    const char *ip = t_write_bytes("e_img", ib, make_idx(ib, 0x08, 3, d3, pix, 30));
    const char *lp = t_write_bytes("e_lab", lb, make_idx(lb, 0x08, 1, d1, lab, 5));
    /* count mismatch */
    const char *l6 = t_write_bytes("e_lab6", lb, make_idx(lb, 0x08, 1, d6, lab, 6));
    expect_ds_fail(ip, l6, NULL, LAM_ERR_FORMAT, l6, "byte offset 4");
    CHECK(t_err_has("6 labels") && t_err_has("5 images"));
    /* labels out of range when nclasses is given: label 3 of item 0 at byte 8 */
    lam_idx_opts o = lam_idx_opts_defaults();
    o.nclasses = 3;
    expect_ds_fail(ip, lp, &o, LAM_ERR_FORMAT, lp, "byte offset 8");
    CHECK(t_err_has("label 3 of item 0"));
    /* negative i8 label at item 2 -> byte 8 + 2; i32 label at item 4 -> 8 + 16 */
    double neg[5] = {1, 0, -1, 0, 0};
    const char *ln = t_write_gz("e_neg.gz", lb, make_idx(lb, 0x09, 1, d1, neg, 5));
    expect_ds_fail(ip, ln, NULL, LAM_ERR_FORMAT, ln, "byte offset 10");
    double huge[5] = {1, 0, 1, 0, 2000000};
    const char *lh = t_write_bytes("e_huge", lb, make_idx(lb, 0x0C, 1, d1, huge, 5));
    expect_ds_fail(ip, lh, NULL, LAM_ERR_FORMAT, lh, "byte offset 24");
    CHECK(t_err_has("max_classes"));
    /* labels with 2 dimensions, float labels, 1-D images (swapped files) */
    const char *l2 = t_write_bytes("e_lab2", lb, make_idx(lb, 0x08, 2, d2, lab, 5));
    expect_ds_fail(ip, l2, NULL, LAM_ERR_FORMAT, l2, "byte offset 3");
    const char *lf = t_write_bytes("e_labf", lb, make_idx(lb, 0x0D, 1, d1, lab, 5));
    expect_ds_fail(ip, lf, NULL, LAM_ERR_FORMAT, lf, "byte offset 2");
    expect_ds_fail(lp, ip, NULL, LAM_ERR_FORMAT, lp, "swapped");
    /* non-finite float pixel: element 4 of sample 1 -> byte 16 + 4 * 10 */
    double fv[30] = {0};
    fv[10] = NAN;
    const char *fp = t_write_bytes("e_nan", ib, make_idx(ib, 0x0D, 3, d3, fv, 30));
    expect_ds_fail(fp, lp, NULL, LAM_ERR_FORMAT, fp, "byte offset 56");
    fv[10] = 1e300;
    fp = t_write_bytes("e_f64", ib, make_idx(ib, 0x0E, 3, d3, fv, 30));
    expect_ds_fail(fp, lp, NULL, LAM_ERR_FORMAT, fp, "byte offset 96");
    /* errors of either file come through */
    const char *tr = t_write_bytes("e_trunc", ib, make_idx(ib, 0x08, 3, d3, pix, 30) - 1);
    expect_ds_fail(tr, lp, NULL, LAM_ERR_FORMAT, tr, "truncated");
    expect_ds_fail(ip, t_tpath("e_missing"), NULL, LAM_ERR_IO, "e_missing", NULL);
    /* bad arguments */
    expect_ds_fail(NULL, lp, NULL, LAM_ERR_ARG, NULL, NULL);
    o = lam_idx_opts_defaults();
    o.nclasses = -1;
    expect_ds_fail(ip, lp, &o, LAM_ERR_ARG, NULL, NULL);
    o = lam_idx_opts_defaults();
    const char *nm[1] = {"x"};
    o.class_names = nm;
    expect_ds_fail(ip, lp, &o, LAM_ERR_ARG, NULL, NULL);
    CHECK(lam_dataset_from_idx(ip, lp, NULL, NULL) == LAM_ERR_ARG);
}

/* ---- CIFAR ----------------------------------------------------------------------- */

/* Pixel byte of record r, position j (a pattern that differs per record). */
static unsigned char cpix(int r, int j) { return (unsigned char)((j * 7 + r * 31) & 0xFF); }

/* nrec records with labels lab[r] (CIFAR-10) or (coarse[r], lab[r]). */
static size_t make_cifar(unsigned char *buf, int nrec, bool c100, const int *coarse,
                         const int *lab, int r0)
{
    size_t k = 0;
    for (int r = 0; r < nrec; r++) {
        if (c100) buf[k++] = (unsigned char)coarse[r];
        buf[k++] = (unsigned char)lab[r];
        for (int j = 0; j < 3072; j++) buf[k++] = cpix(r0 + r, j);
    }
    return k;
}

static void expect_cifar_fail(const char *const *paths, int np, lam_cifar_variant v,
                              lam_status want, const char *who, const char *where)
{
    uint64_t live0 = t_live_bytes();
    lam_dataset *ds = (lam_dataset *)1;
    lam_status st = lam_cifar_read(paths, np, v, &ds);
    CHECK_MSG(st == want, "got %s (%s), want %s", lam_status_str(st), lam_last_error(),
              lam_status_str(want));
    CHECK(ds == NULL);
    if (who) CHECK_MSG(t_err_has(who), "message lacks %s: %s", who, lam_last_error());
    if (where) CHECK_MSG(t_err_has(where), "message lacks \"%s\": %s", where, lam_last_error());
    if (st == LAM_OK) lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);
}

static void test_cifar(void)
{
    uint64_t live0 = t_live_bytes();
    static unsigned char buf[8 * 3074];
    int lab[5] = {9, 0, 3, 7, 1}, fine[3] = {99, 0, 42}, coarse[3] = {19, 0, 7};
    const char *a = t_write_bytes("c10_a.bin", buf, make_cifar(buf, 3, false, NULL, lab, 0));
    const char *b = t_write_gz("c10_b.bin.gz", buf, make_cifar(buf, 2, false, NULL, lab + 3, 3));
    const char *paths[2] = {a, b};
    lam_dataset *ds = NULL;
    CHECK_OK(lam_cifar_read(paths, 2, LAM_CIFAR_10, &ds));
    if (ds) {
        CHECK(ds->n == 5 && ds->nfeat == 3072 && ds->nclasses == 10);
        CHECK(ds->sample_shape.ndim == 3 && ds->sample_shape.d[0] == 3 &&
              ds->sample_shape.d[1] == 32 && ds->sample_shape.d[2] == 32);
        for (int r = 0; r < 5; r++) {
            CHECK(ds->labels[r] == lab[r]);
            /* channel 2 (blue), row 5, column 17 of record r */
            int j = 2 * 1024 + 5 * 32 + 17;
            CHECK(ds->x[(size_t)r * 3072 + (size_t)j] == (float)cpix(r, j) / 255.0f);
        }
        CHECK(ds->class_names && strcmp(ds->class_names[0], "airplane") == 0 &&
              strcmp(ds->class_names[9], "truck") == 0);
        CHECK_OK(lam_dataset_check(ds));
    }
    lam_dataset_free(ds);
    /* CIFAR-100, fine and coarse */
    const char *c = t_write_gz("c100.bin.gz", buf, make_cifar(buf, 3, true, coarse, fine, 0));
    ds = NULL;
    CHECK_OK(lam_cifar_read(&c, 1, LAM_CIFAR_100_FINE, &ds));
    if (ds) {
        CHECK(ds->n == 3 && ds->nclasses == 100 && ds->labels[0] == 99 && ds->labels[2] == 42);
        CHECK(ds->x[3071] == (float)cpix(0, 3071) / 255.0f);
        CHECK(strcmp(ds->class_names[0], "apple") == 0 && strcmp(ds->class_names[99], "worm") == 0);
    }
    lam_dataset_free(ds);
    ds = NULL;
    CHECK_OK(lam_cifar_read(&c, 1, LAM_CIFAR_100_COARSE, &ds));
    if (ds) {
        CHECK(ds->nclasses == 20 && ds->labels[0] == 19 && ds->labels[2] == 7);
        CHECK(strcmp(ds->class_names[19], "vehicles_2") == 0);
    }
    lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);

    /* a partial record: 2 records and 100 bytes; the offset of the partial one */
    size_t n = make_cifar(buf, 3, false, NULL, lab, 0);
    const char *p = t_write_bytes("c_part.bin", buf, 2 * 3073 + 100);
    expect_cifar_fail(&p, 1, LAM_CIFAR_10, LAM_ERR_FORMAT, p, "byte offset 6146");
    p = t_write_gz("c_part.bin.gz", buf, n - 1);
    expect_cifar_fail(&p, 1, LAM_CIFAR_10, LAM_ERR_FORMAT, p, "byte offset 6146");
    /* the CIFAR-10 file read as CIFAR-100: not whole records */
    expect_cifar_fail(&a, 1, LAM_CIFAR_100_FINE, LAM_ERR_FORMAT, a, "partial record");
    /* bad labels: CIFAR-10 label 10 in record 1; CIFAR-100 fine 100, coarse 20 */
    int badl[3] = {1, 10, 2};
    p = t_write_bytes("c_badlab.bin", buf, make_cifar(buf, 3, false, NULL, badl, 0));
    expect_cifar_fail(&p, 1, LAM_CIFAR_10, LAM_ERR_FORMAT, p, "byte offset 3073");
    const char *pp[2] = {a, p};
    expect_cifar_fail(pp, 2, LAM_CIFAR_10, LAM_ERR_FORMAT, p, "label 10 of record 1");
    int f100[3] = {5, 100, 0}, c20[3] = {1, 2, 20};
    p = t_write_bytes("c_badfine.bin", buf, make_cifar(buf, 3, true, coarse, f100, 0));
    expect_cifar_fail(&p, 1, LAM_CIFAR_100_FINE, LAM_ERR_FORMAT, p, "byte offset 3075");
    p = t_write_gz("c_badcoarse.bin.gz", buf, make_cifar(buf, 3, true, c20, fine, 0));
    expect_cifar_fail(&p, 1, LAM_CIFAR_100_FINE, LAM_ERR_FORMAT, p, "byte offset 6148");
    /* empty file, missing file, bad arguments */
    p = t_write_bytes("c_empty.bin", buf, 0);
    expect_cifar_fail(&p, 1, LAM_CIFAR_10, LAM_ERR_FORMAT, p, "empty");
    p = t_tpath("c_missing.bin");
    expect_cifar_fail(&p, 1, LAM_CIFAR_10, LAM_ERR_IO, p, "cannot open");
    expect_cifar_fail(&a, 0, LAM_CIFAR_10, LAM_ERR_ARG, NULL, NULL);
    expect_cifar_fail(&a, 1, (lam_cifar_variant)7, LAM_ERR_ARG, NULL, NULL);
    const char *np[1] = {NULL};
    expect_cifar_fail(np, 1, LAM_CIFAR_10, LAM_ERR_ARG, NULL, NULL);
    CHECK(lam_cifar_read(&a, 1, LAM_CIFAR_10, NULL) == LAM_ERR_ARG);
}

/* ---- transforms ------------------------------------------------------------------- */

static void fill_ramp(float *x, size_t n, float base)
{
    for (size_t i = 0; i < n; i++) x[i] = base + (float)i;
}

static void test_flip_and_crop_identity(void)
{
    enum { C = 2, H = 3, W = 5, N = C * H * W };
    float x[N], y[N], tmp[N];
    for (int w = 1; w <= W; w++) { /* odd and even widths */
        int n = C * H * w;
        fill_ramp(x, (size_t)n, 1);
        memcpy(y, x, sizeof(float) * (size_t)n);
        lam_image_flip_h(y, C, H, w);
        for (int r = 0; r < C * H; r++)
            for (int i = 0; i < w; i++) CHECK(y[r * w + i] == x[r * w + (w - 1 - i)]);
        lam_image_flip_h(y, C, H, w);
        CHECK(memcmp(x, y, sizeof(float) * (size_t)n) == 0);
    }
    /* crop with pad 0 is the identity and draws nothing */
    lam_rng r, r0;
    lam_rng_seed(&r, 5);
    r0 = r;
    fill_ramp(x, N, 1);
    memcpy(y, x, sizeof y);
    lam_image_random_crop(y, C, H, W, 0, &r, tmp);
    lam_image_random_shift(y, C, H, W, 0, &r, tmp);
    CHECK(memcmp(x, y, sizeof y) == 0);
    CHECK(memcmp(&r, &r0, sizeof r) == 0);
    lam_augment a = lam_augment_defaults();
    a.crop = true;
    a.crop_pad = 0;
    CHECK_OK(lam_augment_batch(&a, y, 1, C, H, W, &r, tmp));
    CHECK(memcmp(x, y, sizeof y) == 0);
    /* random flip: each sample either unchanged or mirrored, both seen */
    int flips = 0;
    for (int t = 0; t < 200; t++) {
        memcpy(y, x, sizeof y);
        lam_image_random_flip(y, C, H, W, &r);
        bool same = memcmp(x, y, sizeof y) == 0;
        if (!same) {
            lam_image_flip_h(y, C, H, W);
            CHECK(memcmp(x, y, sizeof y) == 0);
            flips++;
        }
    }
    CHECK_MSG(flips > 70 && flips < 130, "%d flips of 200", flips);
}

static void test_shift(void)
{
    enum { C = 2, H = 4, W = 5, N = C * H * W };
    float x[N], y[N], z[N], tmp[N];
    fill_ramp(x, N, 1);
    int shifts[][2] = {{0, 0}, {1, -2}, {-3, 4}, {4, 0}, {0, -5}, {-9, 9}, {2, 3}};
    for (size_t s = 0; s < sizeof shifts / sizeof *shifts; s++) {
        int dy = shifts[s][0], dx = shifts[s][1];
        lam_image_shift(x, y, C, H, W, dy, dx);
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    int si = i - dy, sj = j - dx;
                    float want = si >= 0 && si < H && sj >= 0 && sj < W
                                     ? x[(c * H + si) * W + sj]
                                     : 0.0f;
                    CHECK_MSG(y[(c * H + i) * W + j] == want, "shift (%d, %d) at %d,%d,%d", dy,
                              dx, c, i, j);
                }
    }
    /* a concrete pixel: (c=1, y=1, x=2) moves to (1, 2, 0) under (1, -2) */
    lam_image_shift(x, y, C, H, W, 1, -2);
    CHECK(y[(1 * H + 2) * W + 0] == x[(1 * H + 1) * W + 2]);
    CHECK(y[(1 * H + 0) * W + 0] == 0 && y[(0 * H + 1) * W + 4] == 0);
    /* random shift and crop equal a fixed shift drawn as documented */
    lam_rng r;
    lam_rng_seed(&r, 11);
    int seen[7][7] = {{0}};
    for (int t = 0; t < 1000; t++) {
        lam_rng rc = r;
        int dy = (int)lam_rng_below(&rc, 5) - 2, dx = (int)lam_rng_below(&rc, 5) - 2;
        memcpy(y, x, sizeof y);
        lam_image_random_shift(y, C, H, W, 2, &r, tmp);
        lam_image_shift(x, z, C, H, W, dy, dx);
        CHECK(memcmp(y, z, sizeof y) == 0);
        CHECK(memcmp(&r, &rc, sizeof r) == 0);
        rc = r;
        int oy = (int)lam_rng_below(&rc, 7), ox = (int)lam_rng_below(&rc, 7);
        memcpy(y, x, sizeof y);
        lam_image_random_crop(y, C, H, W, 3, &r, tmp);
        lam_image_shift(x, z, C, H, W, 3 - oy, 3 - ox);
        CHECK(memcmp(y, z, sizeof y) == 0);
        seen[oy][ox]++;
    }
    int covered = 0;
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 7; j++) covered += seen[i][j] > 0;
    CHECK_MSG(covered == 49, "crop offsets covered: %d of 49", covered);
}

static void test_noise_and_scale(void)
{
    enum { N = 200000 };
    float *x = calloc(N, sizeof *x);
    if (!x) return;
    lam_rng r;
    lam_rng_seed(&r, 3);
    lam_image_add_noise(x, N, 0.3f, &r);
    double s = 0, ss = 0;
    for (int i = 0; i < N; i++) s += x[i];
    double m = s / N;
    for (int i = 0; i < N; i++) ss += (x[i] - m) * (x[i] - m);
    double sd = sqrt(ss / N);
    CHECK_NEAR(m, 0.0, 0.004, 0);
    CHECK_NEAR(sd, 0.3, 0.003, 0);
    float p[4] = {0, 51, 127.5f, 255};
    lam_image_scale255(p, 4);
    CHECK(p[0] == 0 && p[1] == 0.2f && p[2] == 0.5f && p[3] == 1.0f);
    free(x);
}

static void test_standardize(void)
{
    uint64_t live0 = t_live_bytes();
    enum { B = 50, C = 3, H = 4, W = 6, HW = H * W };
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_new(LAM_TASK_CLASSIFICATION, B, C * HW, 2, &ds));
    if (!ds) return;
    lam_rng r;
    lam_rng_seed(&r, 8);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < HW; i++)
                ds->x[(b * C + c) * HW + i] =
                    c == 2 ? 0.75f : (float)(c * 10) + (float)(c + 1) * lam_rng_normal(&r);
    float mean[C], sd[C];
    CHECK(lam_dataset_channel_stats(ds, mean, sd) == LAM_ERR_SHAPE); /* shape [nfeat] */
    CHECK_OK(lam_dataset_set_sample_shape(ds, lam_shape3(C, H, W)));
    CHECK_OK(lam_dataset_channel_stats(ds, mean, sd));
    CHECK_NEAR(mean[1], 10.0, 0.5, 0);
    CHECK_NEAR(sd[1], 2.0, 0.2, 0);
    CHECK(mean[2] == 0.75f && sd[2] == 1.0f); /* constant channel */
    lam_image_standardize(ds->x, B, C, HW, mean, sd);
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++) s += ds->x[(b * C + c) * HW + i];
        double m = s / (B * HW);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++) {
                double d = ds->x[(b * C + c) * HW + i] - m;
                ss += d * d;
            }
        CHECK_NEAR(m, 0.0, 1e-5, 0);
        CHECK_NEAR(sqrt(ss / (B * HW)), c == 2 ? 0.0 : 1.0, 1e-5, 0);
    }
    ds->x[5] = NAN;
    CHECK(lam_image_channel_stats(ds->x, B, C, HW, mean, sd) == LAM_ERR_ARG);
    CHECK(lam_image_channel_stats(ds->x, 0, C, HW, mean, sd) == LAM_ERR_ARG);
    CHECK(lam_dataset_channel_stats(NULL, mean, sd) == LAM_ERR_ARG);
    lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);
}

static void test_augment(void)
{
    enum { B = 6, C = 3, H = 8, W = 7, S = C * H * W, N = B * S };
    static float x0[N], x1[N], x2[N], ref[N];
    float tmp[S];
    lam_rng r;
    lam_rng_seed(&r, 21);
    for (int i = 0; i < N; i++) x0[i] = (float)lam_rng_below(&r, 256);
    const float mean[C] = {0.5f, 0.4f, 0.3f}, sd[C] = {0.25f, 0.2f, 0.3f};
    lam_augment a = lam_augment_defaults();
    CHECK(!a.scale255 && !a.crop && !a.shift && !a.flip && !a.noise && !a.standardize);
    /* all off: the identity, and nothing drawn */
    memcpy(x1, x0, sizeof x1);
    lam_rng_seed(&r, 1);
    lam_rng r0 = r;
    CHECK_OK(lam_augment_batch(&a, x1, B, C, H, W, &r, NULL));
    CHECK(memcmp(x0, x1, sizeof x1) == 0 && memcmp(&r, &r0, sizeof r) == 0);
    CHECK_OK(lam_augment_batch(NULL, x1, B, C, H, W, &r, NULL));
    a.scale255 = a.crop = a.shift = a.flip = a.noise = a.standardize = true;
    a.mean = mean;
    a.std = sd;
    a.crop_pad = 2;
    a.shift_max = 1;
    /* same seed -> same bits; another seed -> different */
    lam_alloc_stats s0 = stats();
    memcpy(x1, x0, sizeof x1);
    memcpy(x2, x0, sizeof x2);
    lam_rng_seed(&r, 99);
    CHECK_OK(lam_augment_batch(&a, x1, B, C, H, W, &r, tmp));
    lam_rng_seed(&r, 99);
    CHECK_OK(lam_augment_batch(&a, x2, B, C, H, W, &r, tmp));
    lam_alloc_stats s1 = stats();
    CHECK(s1.n_alloc == s0.n_alloc && s1.bytes_live == s0.bytes_live); /* allocates nothing */
    CHECK(memcmp(x1, x2, sizeof x1) == 0);
    memcpy(x2, x0, sizeof x2);
    lam_rng_seed(&r, 100);
    CHECK_OK(lam_augment_batch(&a, x2, B, C, H, W, &r, tmp));
    CHECK(memcmp(x1, x2, sizeof x1) != 0);
    /* the documented order, by hand */
    memcpy(ref, x0, sizeof ref);
    lam_rng_seed(&r, 99);
    for (int b = 0; b < B; b++) {
        float *s = ref + b * S;
        lam_image_scale255(s, S);
        lam_image_random_crop(s, C, H, W, 2, &r, tmp);
        lam_image_random_shift(s, C, H, W, 1, &r, tmp);
        lam_image_random_flip(s, C, H, W, &r);
        lam_image_add_noise(s, S, a.noise_std, &r);
        lam_image_standardize(s, 1, C, H * W, mean, sd);
    }
    CHECK(memcmp(x1, ref, sizeof ref) == 0);
    /* bad arguments leave x untouched */
    memcpy(x2, x0, sizeof x2);
    lam_augment bad = a;
    CHECK(lam_augment_batch(&bad, x2, B, C, H, W, &r, NULL) == LAM_ERR_ARG); /* no tmp */
    bad.crop_pad = -1;
    CHECK(lam_augment_batch(&bad, x2, B, C, H, W, &r, tmp) == LAM_ERR_ARG);
    bad = a;
    bad.noise_std = NAN;
    CHECK(lam_augment_batch(&bad, x2, B, C, H, W, &r, tmp) == LAM_ERR_ARG);
    bad = a;
    bad.std = NULL;
    CHECK(lam_augment_batch(&bad, x2, B, C, H, W, &r, tmp) == LAM_ERR_ARG);
    const float zero_sd[C] = {1, 0, 1};
    bad.std = zero_sd;
    CHECK(lam_augment_batch(&bad, x2, B, C, H, W, &r, tmp) == LAM_ERR_ARG);
    CHECK(lam_augment_batch(&a, x2, -1, C, H, W, &r, tmp) == LAM_ERR_ARG);
    CHECK(lam_augment_batch(&a, x2, B, 0, H, W, &r, tmp) == LAM_ERR_ARG);
    CHECK(lam_augment_batch(&a, x2, B, C, H, W, NULL, tmp) == LAM_ERR_ARG);
    CHECK(memcmp(x0, x2, sizeof x2) == 0);
    CHECK_OK(lam_augment_batch(&a, NULL, 0, C, H, W, NULL, tmp)); /* empty batch */
}

/* ---- fault injection ---------------------------------------------------------------- */

static void test_fault_injection(void)
{
    unsigned char ib[256], lb[64];
    static unsigned char cb[3 * 3074];
    double pix[30], lab[5] = {3, 0, 1, 3, 2};
    for (int i = 0; i < 30; i++) pix[i] = i;
    uint32_t d3[3] = {5, 2, 3}, d1[1] = {5};
    const char *ip = t_write_gz("fi_img.gz", ib, make_idx(ib, 0x0B, 3, d3, pix, 30));
    const char *lp = t_write_bytes("fi_lab", lb, make_idx(lb, 0x08, 1, d1, lab, 5));
    int cl[3] = {1, 2, 3}, cc[3] = {0, 1, 2};
    const char *c1 = t_write_bytes("fi_c.bin", cb, make_cifar(cb, 2, true, cc, cl, 0));
    const char *c2 = t_write_gz("fi_c.bin.gz", cb, make_cifar(cb, 3, true, cc, cl, 0));
    const char *cp[2] = {c1, c2};
    const char *names[4] = {"w", "x", "y", "z"};
    int fds0 = count_fds();
    for (int which = 0; which < 3; which++) {
        uint64_t live0 = t_live_bytes();
        int failures = 0;
        for (uint64_t n = 1; n < 200; n++) {
            lam_alloc_fail_after(n);
            lam_status st;
            if (which == 0) {
                lam_idx *m = NULL;
                st = lam_idx_read(ip, &m);
                lam_idx_free(m);
            } else if (which == 1) {
                lam_dataset *ds = NULL;
                lam_idx_opts o = lam_idx_opts_defaults();
                o.nclasses = 4;
                o.class_names = names;
                st = lam_dataset_from_idx(ip, lp, &o, &ds);
                lam_dataset_free(ds);
            } else {
                lam_dataset *ds = NULL;
                st = lam_cifar_read(cp, 2, LAM_CIFAR_100_COARSE, &ds);
                lam_dataset_free(ds);
            }
            lam_alloc_fail_after(0);
            CHECK_MSG(st == LAM_OK || st == LAM_ERR_NOMEM, "reader %d, fault %llu: %s %s",
                      which, (unsigned long long)n, lam_status_str(st), lam_last_error());
            CHECK(t_live_bytes() == live0);
            if (st == LAM_OK) break;
            failures++;
        }
        CHECK_MSG(failures >= 2, "reader %d: only %d injected failures", which, failures);
    }
    CHECK(count_fds() == fds0); /* every error path closed its files */
}

/* ---- Fashion-MNIST ------------------------------------------------------------------ */

static void test_fashion_finder(void)
{
    uint64_t live0 = t_live_bytes();
    /* missing: IO with the install hint */
    lam_dataset *tr = (lam_dataset *)1, *te = (lam_dataset *)1;
    CHECK(lam_fashion_mnist_load(t_tpath("no_fashion"), &tr, &te) == LAM_ERR_IO);
    CHECK(tr == NULL && te == NULL);
    CHECK(t_err_has("apt-get install dataset-fashion-mnist") && t_err_has("--data DIR"));
    CHECK(t_err_has("train-images-idx3-ubyte"));
    CHECK(lam_fashion_mnist_load(NULL, NULL, NULL) == LAM_ERR_ARG);
    /* a small stand-in: plain and .gz files mixed */
    char dir[300];
    snprintf(dir, sizeof dir, "%s/fm", t_tmpdir);
    mkdir(dir, 0700);
    unsigned char ib[256], lb[64];
    double pix[8], lab[2] = {9, 0};
    for (int i = 0; i < 8; i++) pix[i] = 255 - i;
    uint32_t d3[3] = {2, 2, 2}, d1[1] = {2};
    size_t ni = make_idx(ib, 0x08, 3, d3, pix, 8), nl = make_idx(lb, 0x08, 1, d1, lab, 2);
    t_write_gz("fm/train-images-idx3-ubyte.gz", ib, ni);
    t_write_bytes("fm/train-labels-idx1-ubyte", lb, nl);
    t_write_bytes("fm/t10k-images-idx3-ubyte", ib, ni);
    CHECK(lam_fashion_mnist_load(dir, &tr, &te) == LAM_ERR_IO); /* no t10k labels */
    CHECK(tr == NULL && te == NULL && t_err_has("t10k-labels-idx1-ubyte"));
    t_write_gz("fm/t10k-labels-idx1-ubyte.gz", lb, nl);
    CHECK_OK(lam_fashion_mnist_load(dir, &tr, &te));
    if (tr && te) {
        CHECK(tr->n == 2 && te->n == 2 && tr->nclasses == 10 && tr->labels[0] == 9);
        CHECK(tr->x[0] == 1.0f && strcmp(te->class_names[9], "Ankle boot") == 0);
        CHECK(strcmp(te->class_names[0], "T-shirt/top") == 0);
    }
    lam_dataset_free(tr);
    lam_dataset_free(te);
    te = NULL;
    CHECK_OK(lam_fashion_mnist_load(dir, NULL, &te));
    CHECK(te && te->n == 2);
    lam_dataset_free(te);
    /* headers only: counts without reading the data */
    int64_t ntr = 0, nte = 0;
    CHECK_OK(lam_fashion_mnist_peek(dir, &ntr, &nte));
    CHECK(ntr == 2 && nte == 2);
    lam_idx h;
    snprintf(dir, sizeof dir, "%s/fm/train-images-idx3-ubyte.gz", t_tmpdir);
    CHECK_OK(lam_idx_peek(dir, &h));
    CHECK(h.ndim == 3 && h.dims[0] == 2 && h.numel == 8 && h.gzip && h.data == NULL);
    CHECK(lam_fashion_mnist_peek(t_tpath("no_fashion"), &ntr, NULL) == LAM_ERR_IO);
    CHECK(t_live_bytes() == live0);
}

static void check_fashion_part(const lam_dataset *ds, int64_t n)
{
    CHECK(ds->n == n && ds->nfeat == 784 && ds->nclasses == 10);
    CHECK(ds->sample_shape.ndim == 3 && ds->sample_shape.d[0] == 1 &&
          ds->sample_shape.d[1] == 28 && ds->sample_shape.d[2] == 28);
    float lo = 1, hi = 0;
    for (int64_t i = 0; i < ds->n * ds->nfeat; i++) {
        if (ds->x[i] < lo) lo = ds->x[i];
        if (ds->x[i] > hi) hi = ds->x[i];
    }
    CHECK(lo == 0.0f && hi == 1.0f);
    int64_t counts[10];
    CHECK_OK(lam_dataset_class_counts(ds, counts));
    for (int k = 0; k < 10; k++) CHECK(counts[k] == n / 10); /* balanced */
    CHECK(strcmp(ds->class_names[6], "Shirt") == 0);
}

static void test_fashion_mnist(void)
{
    struct stat sb;
    if (stat(LAM_FASHION_MNIST_DIR, &sb) != 0) {
        printf("# note: %s absent, Fashion-MNIST test skipped (apt-get install "
               "dataset-fashion-mnist)\n", LAM_FASHION_MNIST_DIR);
        return;
    }
    uint64_t live0 = t_live_bytes();
    lam_dataset *tr = NULL, *te = NULL;
    double t0 = t_now();
    /* both parts: about 0.4 s, most of it zlib; 0.5 s under ASan */
    lam_status st = lam_fashion_mnist_load(NULL, &tr, &te);
    double dt = t_now() - t0;
    CHECK_MSG(st == LAM_OK, "%s", lam_last_error());
    printf("# Fashion-MNIST train + test loaded in %.3f s\n", dt);
    if (tr) check_fashion_part(tr, 60000);
    if (te) check_fashion_part(te, 10000);
    lam_dataset_free(tr);
    lam_dataset_free(te);
    CHECK(t_live_bytes() == live0);
}

int main(void)
{
    if (!t_mkdtemp("/tmp/lamina_test_images_XXXXXX")) return 1;
    RUN(test_idx_lying_size); /* first: it checks the allocation peak */
    RUN(test_idx_dtypes);
    RUN(test_idx_malformed);
    RUN(test_idx_pipe);
    RUN(test_idx_dataset);
    RUN(test_idx_dataset_errors);
    RUN(test_cifar);
    RUN(test_flip_and_crop_identity);
    RUN(test_shift);
    RUN(test_noise_and_scale);
    RUN(test_standardize);
    RUN(test_augment);
    RUN(test_fault_injection);
    RUN(test_fashion_finder);
    RUN(test_fashion_mnist);
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
