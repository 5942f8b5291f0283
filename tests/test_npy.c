/* Tests for NumPy .npy / .npz files (src/io/npy.c, npz.c, npz_write.c):
 * fixtures written by real NumPy (tests/golden/npy/, made by
 * tests/golden/make_npy.py) read exactly; our writer's bytes equal np.save's
 * and np.savez's; round trips of every type and shape; header and archive
 * rules; conversion to float; prefixes, byte flips and allocation faults
 * (clean errors, nothing leaked, no temporary file left); and, when
 * /usr/bin/python3 has NumPy, NumPy reading what we wrote.  Data sets and
 * model files from NumPy arrays: tests/test_npy_data.c. */
#include "lamina/lamina.h"

#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

#define GOLD "tests/golden/npy/"

static void tpath(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", t_tmpdir, name); }

static char *to_hex(const void *p, size_t n)
{
    char *s = malloc(2 * n + 2);
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) sprintf(s + 2 * i, "%02x", b[i]);
    if (!n) strcpy(s, "-");
    return s;
}

/* ---- the manifest of the NumPy fixtures ------------------------------------------ */

typedef struct golden {
    char file[200], member[200], dtype[8], shape[128];
    int fortran;
    char *hex;
} golden;

static int load_manifest(golden **out)
{
    char *text = t_slurp(GOLD "manifest.txt", NULL);
    *out = NULL;
    if (!text) return 0;
    golden *g = calloc(256, sizeof *g);
    int k = 0;
    for (char *line = strtok(text, "\n"); line && k < 256; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        char label[200], hex[1 << 12];
        golden *e = &g[k];
        if (sscanf(line, "%199s %7s %d %127s %4095s", label, e->dtype, &e->fortran, e->shape, hex) != 5) continue;
        char *colon = strchr(label, ':');
        if (colon) {
            *colon = 0;
            snprintf(e->member, sizeof e->member, "%s", colon + 1);
        }
        snprintf(e->file, sizeof e->file, "%s", label);
        e->hex = strdup(hex);
        k++;
    }
    free(text);
    *out = g;
    return k;
}

static void free_manifest(golden *g, int n)
{
    for (int i = 0; i < n; i++) free(g[i].hex);
    free(g);
}

static void check_array(const lam_npy *a, const golden *e)
{
    char shape[128] = "", *hex = to_hex(a->data, a->nbytes);
    size_t k = 0;
    for (int i = 0; i < a->ndim; i++) k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%lld", i ? "," : "", (long long)a->dims[i]);
    if (!a->ndim) strcpy(shape, "-");
    CHECK_MSG(!strcmp(lam_npy_dtype_name(a->dtype), e->dtype), "%s %s: dtype %s, want %s", e->file, e->member,
              lam_npy_dtype_name(a->dtype), e->dtype);
    CHECK_MSG(!strcmp(shape, e->shape), "%s %s: shape %s, want %s", e->file, e->member, shape, e->shape);
    CHECK_MSG(!strcmp(hex, e->hex), "%s %s: data %s, want %s", e->file, e->member, hex, e->hex);
    int64_t numel = 1;
    for (int i = 0; i < a->ndim; i++) numel *= a->dims[i];
    CHECK(a->numel == numel && a->nbytes == (size_t)numel * lam_npy_dtype_size(a->dtype) && a->data);
    CHECK(((uintptr_t)a->data & 63) == 0);
    free(hex);
}

static void test_golden_read(void)
{
    golden *g;
    int n = load_manifest(&g);
    CHECK_MSG(n >= 50, "only %d arrays in " GOLD "manifest.txt", n);
    for (int i = 0; i < n; i++) {
        char path[256];
        snprintf(path, sizeof path, GOLD "%s", g[i].file);
        size_t size;
        unsigned char *bytes = t_slurp_exact(path, &size);
        CHECK_MSG(bytes != NULL, "%s missing", path);
        if (!bytes) continue;
        for (int mode = 0; mode < 2; mode++) {
            lam_npy *a = NULL;
            if (g[i].member[0]) {
                lam_npz *z = NULL;
                CHECK_OK(mode ? lam_npz_open_mem(bytes, size, path, &z) : lam_npz_open(path, &z));
                if (z) CHECK_OK(lam_npz_read(z, g[i].member, &a));
                lam_npz_close(z);
            } else {
                CHECK_OK(mode ? lam_npy_read_mem(bytes, size, path, &a) : lam_npy_read(path, &a));
                if (a) CHECK_MSG(a->fortran_order == (g[i].fortran != 0) || a->ndim <= 1, "%s: fortran flag", path);
            }
            if (a) check_array(a, &g[i]);
            lam_npy_free(a);
        }
        free(bytes);
    }
    free_manifest(g, n);
}

/* np.save's files: our writer gives the same bytes */
static void test_golden_write_identical(void)
{
    golden *g;
    int n = load_manifest(&g), done = 0;
    char out[192];
    tpath(out, sizeof out, "same.npy");
    for (int i = 0; i < n; i++) {
        if (g[i].member[0] || strncmp(g[i].file, "np_save_", 8)) continue;
        char path[256];
        snprintf(path, sizeof path, GOLD "%s", g[i].file);
        lam_npy *a = NULL;
        CHECK_OK(lam_npy_read(path, &a));
        if (!a) continue;
        CHECK_OK(lam_npy_write(out, a->dtype, a->ndim, a->dims, a->data));
        size_t n1, n2;
        unsigned char *x = t_slurp_exact(path, &n1), *y = t_slurp_exact(out, &n2);
        CHECK_MSG(x && y && n1 == n2 && !memcmp(x, y, n1), "%s: our bytes differ from np.save's", g[i].file);
        free(x);
        free(y);
        lam_npy_free(a);
        done++;
    }
    CHECK(done >= 15);
    free_manifest(g, n);
}

/* np.savez's archive: the same bytes; np.savez_compressed's: the same arrays */
static void test_golden_npz_identical(void)
{
    const char *files[2] = {GOLD "savez.npz", GOLD "savez_compressed.npz"};
    for (int c = 0; c < 2; c++) {
        lam_npz *z = NULL;
        CHECK_OK(lam_npz_open(files[c], &z));
        if (!z) continue;
        size_t n = lam_npz_count(z);
        CHECK(n == 4 && !strcmp(lam_npz_name(z, 0), "x") && !strcmp(lam_npz_name(z, 3), "bytes"));
        CHECK(lam_npz_name(z, n) == NULL && lam_npz_find(z, "y") == 1 && lam_npz_find(z, "y.npy") == -1);
        lam_npy *a[4] = {0};
        lam_npz_entry e[4];
        for (size_t i = 0; i < n && i < 4; i++) {
            CHECK_OK(lam_npz_read(z, lam_npz_name(z, i), &a[i]));
            if (a[i]) e[i] = (lam_npz_entry){lam_npz_name(z, i), a[i]->dtype, a[i]->ndim, a[i]->dims, a[i]->data};
        }
        char out[192];
        tpath(out, sizeof out, "same.npz");
        CHECK_OK(lam_npz_write(out, e, n, c == 1));
        size_t n1, n2;
        unsigned char *x = t_slurp_exact(files[c], &n1), *y = t_slurp_exact(out, &n2);
        bool same = x && y && n1 == n2 && !memcmp(x, y, n1);
        if (c == 0) CHECK_MSG(same, "our archive differs from np.savez's");
        else if (!same) printf("note: our deflated archive differs from np.savez_compressed's (another zlib?)\n");
        /* whatever the bytes, the arrays are the same */
        lam_npz *z2 = NULL;
        CHECK_OK(lam_npz_open(out, &z2));
        for (size_t i = 0; z2 && i < n; i++) {
            lam_npy *b = NULL;
            CHECK_OK(lam_npz_read(z2, lam_npz_name(z, i), &b));
            CHECK(b && a[i] && b->dtype == a[i]->dtype && b->nbytes == a[i]->nbytes &&
                  !memcmp(b->data, a[i]->data, b->nbytes));
            lam_npy_free(b);
        }
        lam_npz_close(z2);
        lam_npy *none = (lam_npy *)&none;
        lam_status s = lam_npz_read(z, "zz", &none);
        CHECK(s == LAM_ERR_FORMAT && none == NULL);
        CHECK_MSG(strstr(lam_last_error(), "no array 'zz' in the archive (it holds 4: 'x', 'y', 'scalar', 'bytes')"),
                  "%s", lam_last_error());
        for (int i = 0; i < 4; i++) lam_npy_free(a[i]);
        free(x);
        free(y);
        lam_npz_close(z);
    }
}

/* ---- round trips ------------------------------------------------------------------ */

typedef struct shape_case {
    int ndim;
    int64_t d[LAM_NPY_MAX_DIMS];
} shape_case;

static const shape_case shapes[] = {
    {0, {0}}, {1, {0}}, {3, {3, 0, 2}}, {1, {5}}, {2, {2, 3}}, {3, {2, 3, 4}}, {8, {1, 2, 1, 3, 1, 1, 2, 1}},
};
#define NSHAPES (int)(sizeof shapes / sizeof *shapes)

static void *pattern(lam_npy_dtype t, const shape_case *s, size_t *nbytes)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= (size_t)s->d[i];
    *nbytes = n * lam_npy_dtype_size(t);
    unsigned char *p = malloc(*nbytes + 1);
    for (size_t i = 0; i < *nbytes; i++) p[i] = (unsigned char)(i * 37 + (size_t)t * 11 + 1);
    if (t == LAM_NPY_BOOL)
        for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i % 3 == 0);
    return p;
}

static bool same_array(const lam_npy *a, lam_npy_dtype t, const shape_case *s, const void *data, size_t nbytes)
{
    if (!a || a->dtype != t || a->ndim != s->ndim || a->nbytes != nbytes) return false;
    for (int i = 0; i < s->ndim; i++)
        if (a->dims[i] != s->d[i]) return false;
    return !memcmp(a->data, data, nbytes);
}

static void test_roundtrip(void)
{
    char p[192], pz[192];
    tpath(p, sizeof p, "rt.npy");
    lam_npz_entry e[LAM_NPY_DTYPE_COUNT_ * NSHAPES];
    void *keep[LAM_NPY_DTYPE_COUNT_ * NSHAPES];
    size_t kb[LAM_NPY_DTYPE_COUNT_ * NSHAPES];
    char names[LAM_NPY_DTYPE_COUNT_ * NSHAPES][32];
    int ne = 0;
    for (int t = 0; t < LAM_NPY_DTYPE_COUNT_; t++)
        for (int k = 0; k < NSHAPES; k++) {
            size_t nb;
            void *data = pattern((lam_npy_dtype)t, &shapes[k], &nb);
            CHECK_OK(lam_npy_write(p, (lam_npy_dtype)t, shapes[k].ndim, shapes[k].d, data));
            lam_npy *a = NULL;
            CHECK_OK(lam_npy_read(p, &a));
            CHECK_MSG(same_array(a, (lam_npy_dtype)t, &shapes[k], data, nb), "%s shape %d", lam_npy_dtype_name(t), k);
            lam_npy_free(a);
            size_t fs;
            unsigned char *f = t_slurp_exact(p, &fs);
            CHECK((fs - nb) % 64 == 0); /* header padded to 64 bytes, as np.save */
            a = NULL;
            CHECK_OK(lam_npy_read_mem(f, fs, "mem", &a));
            CHECK(same_array(a, (lam_npy_dtype)t, &shapes[k], data, nb));
            lam_npy_free(a);
            free(f);
            snprintf(names[ne], sizeof names[ne], "%s_%d%s", lam_npy_dtype_name(t), k, ne % 5 == 0 ? "\xc3\xa9" : "");
            e[ne] = (lam_npz_entry){names[ne], (lam_npy_dtype)t, shapes[k].ndim, shapes[k].d, data};
            keep[ne] = data;
            kb[ne++] = nb;
        }
    for (int c = 0; c < 2; c++) {
        tpath(pz, sizeof pz, c ? "rt_c.npz" : "rt.npz");
        CHECK_OK(lam_npz_write(pz, e, (size_t)ne, c == 1));
        lam_npz *z = NULL;
        CHECK_OK(lam_npz_open(pz, &z));
        CHECK(lam_npz_count(z) == (size_t)ne);
        for (int i = 0; z && i < ne; i++) {
            CHECK(!strcmp(lam_npz_name(z, (size_t)i), names[i]));
            lam_npy *a = NULL;
            CHECK_OK(lam_npz_read(z, names[i], &a));
            const shape_case sc = {e[i].ndim, {0}};
            shape_case s2 = sc;
            memcpy(s2.d, e[i].dims, sizeof(int64_t) * (size_t)e[i].ndim);
            CHECK_MSG(same_array(a, e[i].dtype, &s2, keep[i], kb[i]), "npz member %s", names[i]);
            lam_npy_free(a);
        }
        lam_npz_close(z);
    }
    /* an empty archive */
    CHECK_OK(lam_npz_write(pz, NULL, 0, false));
    lam_npz *z = NULL;
    CHECK_OK(lam_npz_open(pz, &z));
    CHECK(z && lam_npz_count(z) == 0);
    lam_npz_close(z);
    for (int i = 0; i < ne; i++) free(keep[i]);
    CHECK(t_count_files(t_tmpdir, ".tmp.") == 0);
}

static void test_write_args(void)
{
    char p[192];
    tpath(p, sizeof p, "args.npy");
    int64_t d[2] = {2, -1}, ok[2] = {2, 2};
    float f[4] = {0};
    CHECK(lam_npy_write(NULL, LAM_NPY_F4, 1, ok, f) == LAM_ERR_ARG);
    CHECK(lam_npy_write("", LAM_NPY_F4, 1, ok, f) == LAM_ERR_ARG);
    CHECK(lam_npy_write(p, LAM_NPY_DTYPE_COUNT_, 1, ok, f) == LAM_ERR_ARG);
    CHECK(lam_npy_write(p, LAM_NPY_F4, 9, ok, f) == LAM_ERR_ARG);
    CHECK(lam_npy_write(p, LAM_NPY_F4, 2, d, f) == LAM_ERR_ARG);
    CHECK(strstr(lam_last_error(), "dimension 1 is -1 (negative)"));
    CHECK(lam_npy_write(p, LAM_NPY_F4, 2, ok, NULL) == LAM_ERR_ARG);
    int64_t big[2] = {INT64_MAX, 3};
    CHECK(lam_npy_write(p, LAM_NPY_F4, 2, big, f) == LAM_ERR_ARG);
    lam_npz_entry e[2] = {{"a", LAM_NPY_F4, 2, ok, f}, {"a", LAM_NPY_F4, 1, ok, f}};
    CHECK(lam_npz_write(p, e, 2, false) == LAM_ERR_ARG && strstr(lam_last_error(), "duplicate array name 'a'"));
    e[1].name = NULL;
    CHECK(lam_npz_write(p, e, 2, false) == LAM_ERR_ARG);
    e[1].name = "bad\xff";
    CHECK(lam_npz_write(p, e, 2, true) == LAM_ERR_ARG && strstr(lam_last_error(), "not valid UTF-8"));
    CHECK(lam_npz_write(p, NULL, 1, false) == LAM_ERR_ARG);
    /* an empty name is valid, as in NumPy (np.savez(f, **{'': a})) */
    e[1].name = "";
    CHECK_OK(lam_npz_write(p, e, 2, true));
    lam_npz *z = NULL;
    CHECK_OK(lam_npz_open(p, &z));
    lam_npy *a = NULL;
    CHECK(z && lam_npz_count(z) == 2 && !strcmp(lam_npz_name(z, 1), "") && lam_npz_find(z, "") == 1);
    if (z) CHECK_OK(lam_npz_read(z, "", &a));
    CHECK(a && a->ndim == 1 && a->numel == 2);
    lam_npy_free(a);
    lam_npz_close(z);
    unlink(p);
    CHECK(access(p, F_OK) != 0 && t_count_files(t_tmpdir, ".tmp.") == 0);
    /* an existing file keeps its mode when replaced */
    CHECK_OK(lam_npy_write(p, LAM_NPY_F4, 2, ok, f));
    chmod(p, 0640);
    CHECK_OK(lam_npy_write(p, LAM_NPY_I1, 1, ok, f));
    struct stat sb;
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0640);
}

/* ---- header rules, in memory -------------------------------------------------------- */

static unsigned char hbuf[1 << 21];

/* magic, version v, the length field, the header text as given, data */
static size_t make_npy(int v, const char *hdr, size_t hl, const void *data, size_t dn)
{
    memcpy(hbuf, "\x93NUMPY", 6);
    hbuf[6] = (unsigned char)v;
    hbuf[7] = 0;
    size_t pre = v == 1 ? 10 : 12;
    for (size_t i = 0; i < pre - 8; i++) hbuf[8 + i] = (unsigned char)(hl >> (8 * i));
    memcpy(hbuf + pre, hdr, hl);
    if (dn) memcpy(hbuf + pre + hl, data, dn);
    return pre + hl + dn;
}

static lam_status read_hdr(int v, const char *hdr, const void *data, size_t dn, lam_npy **a)
{
    size_t n = make_npy(v, hdr, strlen(hdr), data, dn);
    return lam_npy_read_mem(hbuf, n, "h", a);
}

static void test_header_accepts(void)
{
    const unsigned char d2[4] = {0x01, 0x02, 0x03, 0x04};
    static const char *const ok[] = {
        "{'shape': (2,), 'fortran_order': False, 'descr': '<i2'}\n",
        "{\"descr\": \"<i2\", \"fortran_order\": False, \"shape\": (2,)}   \n",
        "{ 'descr' : '<i2' ,\n 'fortran_order' : False , 'shape' : ( 2 , ) , }\n",
        "{'descr': '<i2', 'fortran_order': False, 'shape': (2L,), }\n",
        "{'descr': 'i2', 'fortran_order': False, 'shape': (2,), }\n",
        "{'descr': '=i2', 'fortran_order': False, 'shape': (2,), }\n",
        "{'descr': '|i2', 'fortran_order': False, 'shape': (2,), }\n",
        "{'descr':'<i2','fortran_order':False,'shape':(1,2,),}\n",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        lam_npy *a = NULL;
        lam_status s = read_hdr(1 + (int)(i % 3), ok[i], d2, 4, &a);
        CHECK_MSG(s == LAM_OK, "%s: %s", ok[i], lam_last_error());
        if (a) CHECK(a->dtype == LAM_NPY_I2 && a->numel == 2 && ((int16_t *)a->data)[0] == 0x0201);
        lam_npy_free(a);
    }
    /* big-endian, Fortran order, both */
    lam_npy *a = NULL;
    CHECK_OK(read_hdr(1, "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }\n", d2, 4, &a));
    if (a) CHECK(((int16_t *)a->data)[0] == 0x0102 && ((int16_t *)a->data)[1] == 0x0304);
    lam_npy_free(a);
    const unsigned char f6[6] = {1, 2, 3, 4, 5, 6};
    CHECK_OK(read_hdr(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }\n", f6, 6, &a));
    static const unsigned char c6[6] = {1, 3, 5, 2, 4, 6};
    if (a) CHECK(a->fortran_order && !memcmp(a->data, c6, 6));
    lam_npy_free(a);
    const unsigned char fb[8] = {0, 1, 0, 2, 0, 3, 0, 4};
    CHECK_OK(read_hdr(1, "{'descr': '>u2', 'fortran_order': True, 'shape': (2, 2), }\n", fb, 8, &a));
    if (a) {
        const uint16_t *u = a->data;
        CHECK(u[0] == 1 && u[1] == 3 && u[2] == 2 && u[3] == 4);
    }
    lam_npy_free(a);
    /* a long version 2.0 header of spaces, a version 3.0 header with UTF-8 */
    static char big[200000];
    int k = snprintf(big, sizeof big, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }");
    memset(big + k, ' ', sizeof big - (size_t)k - 2);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = 0;
    CHECK_OK(read_hdr(2, big, d2, 4, &a));
    lam_npy_free(a);
    CHECK_OK(read_hdr(3, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }   \n", d2, 4, &a));
    lam_npy_free(a);
}

typedef struct bad_hdr {
    int version;
    const char *hdr;
    size_t data;
    lam_status status;
    const char *want;
} bad_hdr;

static void test_header_rejects(void)
{
    static const bad_hdr bad[] = {
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2), }\n", 4, LAM_ERR_FORMAT, "h: byte offset 60: 'shape' (2) is an integer in parentheses, not a tuple"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': [2], }\n", 4, LAM_ERR_FORMAT, "'shape' is a list"},
        {1, "{'descr': '<i2', 'descr': '<i2', 'fortran_order': False, 'shape': (2,), }\n", 4, LAM_ERR_FORMAT, "h: byte offset 27: duplicate key 'descr' (first at byte offset 11)"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), 'foo': 1}\n", 4, LAM_ERR_FORMAT, "unknown key 'foo'"},
        {1, "{'descr': '<i2', 'fortran_order': False}\n", 4, LAM_ERR_FORMAT, "the header has no key 'shape'"},
        {1, "{'descr': '<U5', 'fortran_order': False, 'shape': (2,), }\n", 4, LAM_ERR_UNSUPPORTED, "dtype '<U5' (unicode strings) is not supported"},
        {1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n", 4, LAM_ERR_UNSUPPORTED, "(Python objects (pickled))"},
        {1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }\n", 4, LAM_ERR_UNSUPPORTED, "complex numbers"},
        {1, "{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (2,), }\n", 4, LAM_ERR_UNSUPPORTED, "datetime64"},
        {1, "{'descr': '<f16', 'fortran_order': False, 'shape': (2,), }\n", 4, LAM_ERR_UNSUPPORTED, "floats of this size"},
        {1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n", 4, LAM_ERR_UNSUPPORTED, "structured dtype"},
        {1, "{'descr': '<q9', 'fortran_order': False, 'shape': (2,), }\n", 4, LAM_ERR_FORMAT, "unknown dtype '<q9'"},
        {1, "{'descr': '<i2', 'fortran_order': 0, 'shape': (2,), }\n", 4, LAM_ERR_FORMAT, "expected True or False for 'fortran_order'"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), } ", 4, LAM_ERR_FORMAT, "not '\\n'"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), } x\n", 4, LAM_ERR_FORMAT, "'x' after the header dict"},
        {1, "{'descr': '<i\\x32', 'fortran_order': False, 'shape': (2,), }\n", 4, LAM_ERR_FORMAT, "escape sequence"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': ((2,),), }\n", 4, LAM_ERR_FORMAT, "nested brackets in 'shape'"},
        {1, "{{'descr': '<i2'}}\n", 4, LAM_ERR_FORMAT, "nested brackets where a key belongs"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (-2,), }\n", 4, LAM_ERR_FORMAT, "negative dimension"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,2), }\n", 4, LAM_ERR_UNSUPPORTED, "more than 8 dimensions"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (02,), }\n", 4, LAM_ERR_FORMAT, "leading zero"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (99999999999999999999,), }\n", 4, LAM_ERR_FORMAT, "exceeds 2^63 - 1"},
        {1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n", 4, LAM_ERR_FORMAT, "overflows"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }\n", 4, LAM_ERR_FORMAT, "truncated: the header declares shape (2, 3) of '<i2', 12 bytes"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (1,), }\n", 4, LAM_ERR_FORMAT, "2 unexpected bytes after the data"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), \n", 4, LAM_ERR_FORMAT, "expected a quoted string"},
        {1, "{'descr' '<i2', 'fortran_order': False, 'shape': (2,), }\n", 4, LAM_ERR_FORMAT, "expected ':' after the key"},
        {1, "{'descr': '<i2, 'fortran_order': False, 'shape': (2,), }\n", 4, LAM_ERR_FORMAT, "unknown dtype '<i2, '"},
        {1, "{'descr': '<M8[ns', 'fortran_order': False, 'shape': (2,), }\n", 4, LAM_ERR_FORMAT, "unknown dtype"},
        {1, "[]\n", 4, LAM_ERR_FORMAT, "does not start with '{'"},
        {1, "{'descr': '<i2' 'fortran_order': False, 'shape': (2,), }\n", 4, LAM_ERR_FORMAT, "expected ',' or '}'"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2 3), }\n", 4, LAM_ERR_FORMAT, "expected ',' or ')' in 'shape'"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2.0,), }\n", 4, LAM_ERR_FORMAT, "after a dimension"},
        {3, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), '\xff': 1}\n", 4, LAM_ERR_FORMAT, "invalid UTF-8 in the version 3.0 header"},
        {1, "\n", 4, LAM_ERR_FORMAT, "does not start with '{'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        static const unsigned char d[8];
        lam_npy *a = (lam_npy *)&a;
        lam_status s = read_hdr(bad[i].version, bad[i].hdr, d, bad[i].data, &a);
        CHECK_MSG(s == bad[i].status && a == NULL && strstr(lam_last_error(), bad[i].want),
                  "case %zu: %s: %s (want %s)", i, lam_status_str(s), lam_last_error(), bad[i].want);
    }
    /* the preamble */
    static const struct {
        const char *bytes;
        size_t n;
        const char *want;
    } pre[] = {
        {"", 0, "h: byte offset 0: the file is empty"},
        {"\x93NUM", 4, "truncated: the file ends inside the 10-byte preamble"},
        {"\x93NUMPY\x01\x00\x05", 9, "truncated: the file ends inside the 10-byte preamble"},
        {"\x93NUMPY\x02\x00\x05\x00", 10, "truncated: the file ends inside the 12-byte preamble of version 2.0"},
        {"\x93NUMPX\x01\x00\x05\x00", 10, "not a .npy file: it starts with '\\x93NUMPX'"},
        {"PK\x03\x04\x14\x00\x00\x00\x00\x00", 10, "this is a ZIP archive"},
        {"\x93NUMPY\x04\x00\x05\x00", 10, "unknown .npy format version 4.0"},
        {"\x93NUMPY\x01\x01\x05\x00", 10, "unknown .npy format version 1.1"},
        {"\x93NUMPY\x01\x00\x05\x00", 10, "truncated: header length 5 runs past the end of the 10-byte file"},
        {"\x93NUMPY\x01\x00\x00\x00", 10, "the header is empty"},
        {"\x93NUMPY\x02\x00\x00\x00\x20\x00", 12, "header length 2097152 exceeds the cap of 1048576 bytes"},
    };
    for (size_t i = 0; i < sizeof pre / sizeof *pre; i++) {
        lam_npy *a = (lam_npy *)&a;
        lam_status s = lam_npy_read_mem(pre[i].bytes, pre[i].n, "h", &a);
        CHECK_MSG(s == LAM_ERR_FORMAT && a == NULL && strstr(lam_last_error(), pre[i].want), "preamble %zu: %s", i,
                  lam_last_error());
    }
    CHECK(lam_npy_read_mem(NULL, 3, "h", &(lam_npy *){NULL}) == LAM_ERR_ARG);
    CHECK(lam_npy_read(NULL, &(lam_npy *){NULL}) == LAM_ERR_ARG);
    CHECK(lam_npy_read(t_tmpdir, &(lam_npy *){NULL}) == LAM_ERR_IO);
    CHECK(lam_npy_read("/nonexistent/x.npy", &(lam_npy *){NULL}) == LAM_ERR_IO);
}

/* Every prefix of every fixture fails cleanly (or, for an .npz, reads
 * no more than it can); random byte flips never crash or leak. */
static void test_prefixes_and_flips(void)
{
    static const char *const files[] = {GOLD "np_save_f4.npy", GOLD "fortran_be_i4.npy", GOLD "savez.npz",
                                        GOLD "savez_compressed.npz", GOLD "descriptors_zip64.npz",
                                        GOLD "zip64_records.npz", GOLD "unicode_names.npz"};
    uint64_t base = t_live_bytes();
    uint64_t rng = 12345;
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        size_t n;
        unsigned char *b = t_slurp_exact(files[f], &n);
        CHECK(b != NULL);
        if (!b) continue;
        bool npz = strstr(files[f], ".npz") != NULL;
        for (int round = 0; round < 2 + 400; round++) {
            size_t len = n;
            unsigned char *c = malloc(n);
            memcpy(c, b, n);
            if (round < 2) {
                /* round 0: prefixes, round 1: suffixes cut off the front */
                for (size_t k = 0; k < n; k += (n > 600 ? 3 : 1)) {
                    const unsigned char *p = round ? b + k + 1 : b;
                    size_t m = round ? n - k - 1 : k;
                    if (npz) {
                        lam_npz *z = (lam_npz *)&z;
                        lam_status s = lam_npz_open_mem(p, m, "p", &z);
                        CHECK_MSG(s != LAM_OK && z == NULL, "%s: a %zu-byte piece opened", files[f], m);
                        if (s == LAM_OK) lam_npz_close(z);
                    } else {
                        lam_npy *a = (lam_npy *)&a;
                        lam_status s = lam_npy_read_mem(p, m, "p", &a);
                        CHECK_MSG(s != LAM_OK && a == NULL, "%s: a %zu-byte piece read", files[f], m);
                        if (s == LAM_OK) lam_npy_free(a);
                    }
                }
                free(c);
                continue;
            }
            for (int k = 0; k < 1 + round % 4; k++) {
                rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                c[(rng >> 33) % len] ^= (unsigned char)(1u << ((rng >> 20) & 7));
            }
            lam_clear_error();
            if (npz) {
                lam_npz *z = NULL;
                lam_status s = lam_npz_open_mem(c, len, "f", &z);
                CHECK(s == LAM_OK || (z == NULL && lam_last_error()[0]));
                for (size_t i = 0; s == LAM_OK && i < lam_npz_count(z); i++) {
                    lam_npy *a = (lam_npy *)&a;
                    lam_status r = lam_npz_read(z, lam_npz_name(z, i), &a);
                    CHECK(r == LAM_OK ? a != NULL : a == NULL);
                    if (r == LAM_OK) lam_npy_free(a);
                }
                lam_npz_close(z);
            } else {
                lam_npy *a = (lam_npy *)&a;
                lam_status s = lam_npy_read_mem(c, len, "f", &a);
                CHECK(s == LAM_OK ? a != NULL : a == NULL);
                if (s == LAM_OK) lam_npy_free(a);
            }
            free(c);
        }
        free(b);
    }
    CHECK(t_live_bytes() == base);
}

/* ---- conversion to float --------------------------------------------------------------- */

static void test_to_f32(void)
{
    float out[8];
    uint16_t h[5] = {0x3c00, 0xc000, 0x0001, 0x7bff, 0x8000};
    lam_npy a = {.dtype = LAM_NPY_F2, .ndim = 1, .dims = {5}, .numel = 5, .nbytes = 10, .data = h};
    CHECK_OK(lam_npy_to_f32(&a, out));
    CHECK(out[0] == 1.0f && out[1] == -2.0f && out[2] == ldexpf(1, -24) && out[3] == 65504.0f && out[4] == 0 &&
          signbit(out[4]));
    h[1] = 0x7c00;
    CHECK(lam_npy_to_f32(&a, out) == LAM_ERR_FORMAT && strstr(lam_last_error(), "element 1 (index (1,)) is inf: infinite"));
    float f[6] = {0, 1, 2, 3, 4, NAN};
    lam_npy b = {.dtype = LAM_NPY_F4, .ndim = 2, .dims = {2, 3}, .numel = 6, .nbytes = 24, .data = f};
    CHECK(lam_npy_to_f32(&b, out) == LAM_ERR_FORMAT && strstr(lam_last_error(), "element 5 (index (1, 2)) is nan: not a number"));
    double d[2] = {1.5, 1e39};
    lam_npy c = {.dtype = LAM_NPY_F8, .ndim = 0, .numel = 2, .nbytes = 16, .data = d};
    c.ndim = 1, c.dims[0] = 2;
    CHECK(lam_npy_to_f32(&c, out) == LAM_ERR_FORMAT && strstr(lam_last_error(), "is 1e+39: beyond float range"));
    d[1] = -3.25;
    CHECK_OK(lam_npy_to_f32(&c, out));
    CHECK(out[0] == 1.5f && out[1] == -3.25f);
    uint8_t bo[3] = {0, 2, 1};
    lam_npy e = {.dtype = LAM_NPY_BOOL, .ndim = 1, .dims = {3}, .numel = 3, .nbytes = 3, .data = bo};
    CHECK_OK(lam_npy_to_f32(&e, out));
    CHECK(out[0] == 0 && out[1] == 1 && out[2] == 1);
    int64_t i8[2] = {INT64_MIN, -3};
    lam_npy g = {.dtype = LAM_NPY_I8, .ndim = 1, .dims = {2}, .numel = 2, .nbytes = 16, .data = i8};
    CHECK_OK(lam_npy_to_f32(&g, out));
    CHECK(out[0] == -9223372036854775808.0f && out[1] == -3);
    uint64_t u8[1] = {UINT64_MAX};
    lam_npy u = {.dtype = LAM_NPY_U8, .ndim = 0, .numel = 1, .nbytes = 8, .data = u8};
    CHECK_OK(lam_npy_to_f32(&u, out));
    CHECK(out[0] == 18446744073709551616.0f);
    CHECK(lam_npy_to_f32(NULL, out) == LAM_ERR_ARG);
    CHECK(!strcmp(lam_npy_dtype_name(LAM_NPY_U2), "u2") && lam_npy_dtype_size(LAM_NPY_F2) == 2 &&
          !strcmp(lam_npy_dtype_name(LAM_NPY_DTYPE_COUNT_), "?") && lam_npy_dtype_size(LAM_NPY_DTYPE_COUNT_) == 0);
}

/* ---- allocation faults ------------------------------------------------------------------------ */

typedef lam_status (*op_fn)(const void *ctx);

/* Run op with the k-th allocation failing, k = 1, 2, ... until it succeeds:
 * every failure is LAM_ERR_NOMEM, nothing leaks, no temporary file stays. */
static void sweep(const char *what, op_fn op, const void *ctx)
{
    uint64_t base = t_live_bytes();
    bool done = false;
    int k;
    for (k = 1; k < 400 && !done; k++) {
        lam_alloc_fail_after((uint64_t)k);
        lam_status s = op(ctx);
        lam_alloc_fail_after(0);
        CHECK_MSG(s == LAM_OK || s == LAM_ERR_NOMEM, "%s, allocation %d failing: %s: %s", what, k, lam_status_str(s),
                  lam_last_error());
        CHECK_MSG(t_live_bytes() == base, "%s, allocation %d failing: %llu bytes leaked", what, k,
                  (unsigned long long)(t_live_bytes() - base));
        CHECK_MSG(t_count_files(t_tmpdir, ".tmp.") == 0, "%s: a temporary file stays", what);
        done = s == LAM_OK;
    }
    CHECK_MSG(done, "%s never succeeded", what);
    CHECK_MSG(k > 2, "%s: allocates nothing?", what);
}

static lam_status op_npy_read(const void *ctx)
{
    lam_npy *a = NULL;
    lam_status s = lam_npy_read(ctx, &a);
    lam_npy_free(a);
    return s;
}

static lam_status op_npy_read_mem(const void *ctx)
{
    size_t n;
    unsigned char *b = t_slurp_exact(ctx, &n);
    lam_npy *a = NULL;
    lam_status s = lam_npy_read_mem(b, n, "m", &a);
    lam_npy_free(a);
    free(b);
    return s;
}

static lam_status read_all(lam_status s, lam_npz *z)
{
    for (size_t i = 0; s == LAM_OK && i < lam_npz_count(z); i++) {
        lam_npy *a = NULL;
        s = lam_npz_read(z, lam_npz_name(z, i), &a);
        lam_npy_free(a);
    }
    lam_npz_close(z);
    return s;
}

static lam_status op_npz(const void *ctx)
{
    lam_npz *z = NULL;
    lam_status s = lam_npz_open(ctx, &z);
    return read_all(s, z);
}

static lam_status op_npz_mem(const void *ctx)
{
    size_t n;
    unsigned char *b = t_slurp_exact(ctx, &n);
    lam_npz *z = NULL;
    lam_status s = lam_npz_open_mem(b, n, "m", &z);
    s = read_all(s, z);
    free(b);
    return s;
}

static lam_status op_from_npz(const void *ctx)
{
    lam_dataset *tr = NULL, *te = NULL;
    lam_status s = lam_dataset_from_npz(ctx, NULL, &tr, &te);
    lam_dataset_free(tr);
    lam_dataset_free(te);
    return s;
}

typedef struct write_ctx {
    const char *path;
    const lam_npz_entry *e;
    size_t n;
    bool compress;
} write_ctx;

static lam_status op_npy_write(const void *ctx)
{
    const write_ctx *w = ctx;
    return lam_npy_write(w->path, w->e->dtype, w->e->ndim, w->e->dims, w->e->data);
}

static lam_status op_npz_write(const void *ctx)
{
    const write_ctx *w = ctx;
    return lam_npz_write(w->path, w->e, w->n, w->compress);
}

static void test_alloc_faults(void)
{
    static const char *const npy[] = {GOLD "np_save_f4.npy", GOLD "be_f8.npy", GOLD "fortran_f4.npy",
                                      GOLD "np_save_scalar_f8.npy"};
    for (size_t i = 0; i < sizeof npy / sizeof *npy; i++) {
        sweep(npy[i], op_npy_read, npy[i]);
        sweep(npy[i], op_npy_read_mem, npy[i]);
    }
    static const char *const npz[] = {GOLD "savez.npz", GOLD "savez_compressed.npz", GOLD "descriptors.npz",
                                      GOLD "zip64_records.npz", GOLD "empty_archive.npz"};
    for (size_t i = 0; i < sizeof npz / sizeof *npz; i++) {
        sweep(npz[i], op_npz, npz[i]);
        sweep(npz[i], op_npz_mem, npz[i]);
    }
    sweep("from_npz", op_from_npz, GOLD "keras_style.npz");
    /* writers, over an existing file that must survive every failure */
    char p[192];
    tpath(p, sizeof p, "faults.npz");
    float f[6] = {1, 2, 3, 4, 5, 6};
    int64_t d[2] = {2, 3};
    lam_npz_entry e[3] = {{"a", LAM_NPY_F4, 2, d, f}, {"b\xc3\xa9", LAM_NPY_U1, 1, d, f}, {"c", LAM_NPY_F8, 0, NULL, f}};
    t_spit(p, "old", 3);
    for (int c = 0; c < 2; c++) {
        write_ctx w = {p, e, 3, c == 1};
        uint64_t base = t_live_bytes();
        for (int k = 1; k < 60; k++) {
            t_spit(p, "old", 3);
            lam_alloc_fail_after((uint64_t)k);
            lam_status s = op_npz_write(&w);
            lam_alloc_fail_after(0);
            size_t n;
            unsigned char *now = t_slurp_exact(p, &n);
            if (s != LAM_OK) CHECK(now && n == 3 && !memcmp(now, "old", 3));
            free(now);
            CHECK(t_live_bytes() == base);
            if (s == LAM_OK) break;
        }
        sweep("npz write", op_npz_write, &w);
    }
    tpath(p, sizeof p, "faults.npy");
    write_ctx w = {p, e, 1, false};
    sweep("npy write", op_npy_write, &w);
}

/* ---- NumPy reads what we write ---------------------------------------------------------------- */

static void test_numpy_reads_ours(void)
{
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        printf("skip test_numpy_reads_ours: /usr/bin/python3 with NumPy is not available\n");
        return;
    }
    char man[192], script[192], cmd[600];
    tpath(man, sizeof man, "ours_manifest.txt");
    tpath(script, sizeof script, "check.py");
    FILE *mf = fopen(man, "w");
    lam_npz_entry e[LAM_NPY_DTYPE_COUNT_ * NSHAPES];
    void *keep[LAM_NPY_DTYPE_COUNT_ * NSHAPES];
    char names[LAM_NPY_DTYPE_COUNT_ * NSHAPES][32];
    int ne = 0;
    for (int t = 0; t < LAM_NPY_DTYPE_COUNT_; t++)
        for (int k = 0; k < NSHAPES; k++) {
            size_t nb;
            void *data = pattern((lam_npy_dtype)t, &shapes[k], &nb);
            char p[192], file[64], shape[128] = "-";
            snprintf(file, sizeof file, "ours_%s_%d.npy", lam_npy_dtype_name(t), k);
            tpath(p, sizeof p, file);
            CHECK_OK(lam_npy_write(p, (lam_npy_dtype)t, shapes[k].ndim, shapes[k].d, data));
            size_t w = 0;
            for (int i = 0; i < shapes[k].ndim; i++)
                w += (size_t)snprintf(shape + w, sizeof shape - w, "%s%lld", i ? "," : "", (long long)shapes[k].d[i]);
            char *hex = to_hex(data, nb);
            snprintf(names[ne], sizeof names[ne], "%s_%d%s", lam_npy_dtype_name(t), k, k == 2 ? "\xc3\xa9" : "");
            fprintf(mf, "%s %s %s %s\n", file, lam_npy_dtype_name(t), shape, hex);
            fprintf(mf, "ours.npz:%s %s %s %s\n", names[ne], lam_npy_dtype_name(t), shape, hex);
            fprintf(mf, "ours_c.npz:%s %s %s %s\n", names[ne], lam_npy_dtype_name(t), shape, hex);
            free(hex);
            e[ne] = (lam_npz_entry){names[ne], (lam_npy_dtype)t, shapes[k].ndim, shapes[k].d, data};
            keep[ne++] = data;
        }
    fclose(mf);
    char pz[192];
    tpath(pz, sizeof pz, "ours.npz");
    CHECK_OK(lam_npz_write(pz, e, (size_t)ne, false));
    tpath(pz, sizeof pz, "ours_c.npz");
    CHECK_OK(lam_npz_write(pz, e, (size_t)ne, true));
    for (int i = 0; i < ne; i++) free(keep[i]);
    FILE *sf = fopen(script, "w");
    fputs("import os, sys, zipfile\n"
          "import numpy as np\n"
          "d = sys.argv[1]\n"
          "kind = {'b': 'b', 'i': 'i', 'u': 'u', 'f': 'f'}\n"
          "n = 0\n"
          "for line in open(os.path.join(d, 'ours_manifest.txt'), encoding='utf-8'):\n"
          "    label, dt, shape, hx = line.split()\n"
          "    if ':' in label:\n"
          "        f, m = label.split(':', 1)\n"
          "        assert zipfile.ZipFile(os.path.join(d, f)).testzip() is None\n"
          "        with np.load(os.path.join(d, f), allow_pickle=False) as z:\n"
          "            a = z[m]\n"
          "    else:\n"
          "        a = np.load(os.path.join(d, label), allow_pickle=False)\n"
          "    want = () if shape == '-' else tuple(int(s) for s in shape.split(','))\n"
          "    assert a.shape == want, (label, a.shape, want)\n"
          "    assert a.dtype.kind + str(a.dtype.itemsize) == dt, (label, a.dtype, dt)\n"
          "    got = a.astype(a.dtype.newbyteorder('<'), order='C').tobytes().hex() or '-'\n"
          "    assert got == hx, (label, got, hx)\n"
          "    n += 1\n"
          "print('numpy read', n, 'arrays')\n",
          sf);
    fclose(sf);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", script, t_tmpdir);
    FILE *pp = popen(cmd, "r");
    char out[256] = "";
    if (pp && !fgets(out, sizeof out, pp)) out[0] = 0;
    int rc = pp ? pclose(pp) : -1;
    char want[64];
    snprintf(want, sizeof want, "numpy read %d arrays", 3 * ne);
    CHECK_MSG(rc == 0 && strstr(out, want), "python: rc %d, '%s' (want '%s')", rc, out, want);
}

int main(void)
{
    if (!t_mkdtemp("/tmp/lamina_npy_XXXXXX")) return 1;
    lam_set_threads(1);
    RUN(test_golden_read);
    RUN(test_golden_write_identical);
    RUN(test_golden_npz_identical);
    RUN(test_roundtrip);
    RUN(test_write_args);
    RUN(test_header_accepts);
    RUN(test_header_rejects);
    RUN(test_prefixes_and_flips);
    RUN(test_to_f32);
    RUN(test_alloc_faults);
    RUN(test_numpy_reads_ours);
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
