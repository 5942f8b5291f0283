/* Tests of the data layer: data sets, scalers, one-hot, splits and the
 * batch loader (coverage, determinism, exact resume, no allocation per
 * batch).  The CSV reader: tests/test_csv.c. */
#include "lamina/data.h"
#include "test.h"

/* ---- data sets, transforms ------------------------------------------------ */

/* n samples, feature 0 = row index, labels: row % k. */
static lam_dataset *make_ds(int64_t n, int64_t nfeat, int32_t k)
{
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_new(LAM_TASK_CLASSIFICATION, n, nfeat, k, &ds));
    if (!ds) return NULL;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < nfeat; j++) ds->x[i * nfeat + j] = (float)(i + 1000 * j);
        ds->labels[i] = (int32_t)(i % k);
    }
    return ds;
}

static void test_dataset(void)
{
    uint64_t live0 = t_live_bytes();
    lam_dataset *ds = make_ds(10, 2, 3), *s = NULL;
    const char *fn[2] = {"u", "v"}, *cn[3] = {"a", "b", "c"};
    CHECK_OK(lam_dataset_set_feature_names(ds, fn));
    CHECK_OK(lam_dataset_set_class_names(ds, cn));
    CHECK(lam_dataset_set_target_names(ds, fn) == LAM_ERR_ARG);
    uint32_t idx[4] = {9, 0, 9, 4};
    CHECK_OK(lam_dataset_subset(ds, idx, 4, &s));
    if (s) {
        CHECK(s->n == 4 && s->x[0] == 9 && s->x[1] == 1009 && s->x[2] == 0 && s->labels[3] == 1);
        CHECK(strcmp(s->feature_names[1], "v") == 0 && strcmp(s->class_names[2], "c") == 0);
    }
    int64_t counts[3];
    CHECK_OK(lam_dataset_class_counts(s, counts));
    CHECK(counts[0] == 3 && counts[1] == 1 && counts[2] == 0);
    lam_dataset_free(s);
    idx[2] = 10;
    CHECK(lam_dataset_subset(ds, idx, 4, &s) == LAM_ERR_ARG && s == NULL);
    CHECK_OK(lam_dataset_subset(ds, NULL, 0, &s)); /* deep copy */
    CHECK(s && s->n == 10 && s->x[19] == 1009);
    lam_dataset_free(s);
    CHECK_OK(lam_dataset_check(ds));
    ds->labels[3] = 3;
    CHECK(lam_dataset_check(ds) == LAM_ERR_FORMAT && t_err_has("row 3"));
    CHECK(lam_dataset_class_counts(ds, counts) == LAM_ERR_FORMAT);
    lam_dataset_free(ds);
    CHECK(lam_dataset_new(LAM_TASK_REGRESSION, 5, 0, 1, &s) == LAM_ERR_ARG && !s);
    CHECK(lam_dataset_new(LAM_TASK_REGRESSION, -1, 2, 1, &s) == LAM_ERR_ARG);
    /* fault injection through new + names + subset */
    for (uint64_t n = 1; n < 60; n++) {
        uint64_t l0 = t_live_bytes();
        lam_dataset *a = make_ds(5, 2, 2), *b = NULL;
        if (!a) break;
        lam_alloc_fail_after(n);
        lam_status st = lam_dataset_set_feature_names(a, fn);
        if (st == LAM_OK) st = lam_dataset_subset(a, NULL, 0, &b);
        lam_alloc_fail_after(0);
        CHECK(st == LAM_OK || st == LAM_ERR_NOMEM);
        lam_dataset_free(a);
        lam_dataset_free(b);
        CHECK(t_live_bytes() == l0);
        if (st == LAM_OK) break;
    }
    CHECK(t_live_bytes() == live0);
}

static void test_scaler(void)
{
    uint64_t live0 = t_live_bytes();
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_new(LAM_TASK_CLASSIFICATION, 4, 3, 2, &ds));
    if (!ds) return;
    const float x[12] = {1, 10, 5, 2, 20, 5, 3, 60, 5, 6, 30, 5};
    memcpy(ds->x, x, sizeof x);
    lam_scaler *s = NULL;
    CHECK_OK(lam_scaler_fit(LAM_SCALER_STANDARD, ds, &s));
    const float *shift, *scale;
    int64_t nc;
    lam_scaler_params(s, &shift, &scale, &nc);
    CHECK(nc == 3 && lam_scaler_get_kind(s) == LAM_SCALER_STANDARD);
    CHECK_NEAR(shift[0], 3, 1e-6, 0);
    CHECK_NEAR(shift[1], 30, 1e-6, 0);
    CHECK_NEAR(scale[0], sqrt(3.5), 1e-6, 1e-6);  /* population std: 14/4 */
    CHECK_NEAR(scale[1], sqrt(350), 1e-5, 1e-6);  /* 1400/4 */
    CHECK(shift[2] == 5 && scale[2] == 1);       /* constant column */
    float row[3] = {4, 0, 7};
    CHECK_OK(lam_scaler_transform(s, row, 1, 3));
    CHECK_NEAR(row[0], 1 / sqrt(3.5), 1e-6, 1e-6);
    CHECK_NEAR(row[1], -30 / sqrt(350), 1e-6, 1e-6);
    CHECK_NEAR(row[2], 2, 1e-6, 0);
    CHECK_OK(lam_scaler_inverse(s, row, 1, 3));
    CHECK_NEAR(row[0], 4, 1e-5, 0);
    CHECK_NEAR(row[1], 0, 1e-5, 0);
    CHECK(lam_scaler_transform(s, row, 1, 2) == LAM_ERR_SHAPE);
    /* round trip through saved vectors */
    lam_scaler *s2 = NULL;
    CHECK_OK(lam_scaler_from_params(LAM_SCALER_STANDARD, shift, scale, 3, &s2));
    lam_dataset *copy = NULL;
    CHECK_OK(lam_dataset_subset(ds, NULL, 0, &copy));
    CHECK_OK(lam_scaler_apply(s, ds));
    CHECK_OK(lam_scaler_apply(s2, copy));
    CHECK(copy && memcmp(ds->x, copy->x, sizeof x) == 0);
    double mean0 = 0, var0 = 0;
    for (int i = 0; i < 4; i++) mean0 += ds->x[i * 3] / 4.0;
    for (int i = 0; i < 4; i++) var0 += (ds->x[i * 3] - mean0) * (ds->x[i * 3] - mean0) / 4.0;
    CHECK_NEAR(mean0, 0, 1e-6, 0);
    CHECK_NEAR(var0, 1, 1e-5, 0);
    const float zero[3] = {0, 0, 0};
    lam_scaler *bad = NULL;
    CHECK(lam_scaler_from_params(LAM_SCALER_STANDARD, shift, zero, 3, &bad) == LAM_ERR_ARG);
    lam_scaler_free(s);
    lam_scaler_free(s2);
    /* min-max */
    memcpy(copy->x, x, sizeof x);
    CHECK_OK(lam_scaler_fit_rows(LAM_SCALER_MINMAX, copy->x, 4, 3, &s));
    lam_scaler_params(s, &shift, &scale, NULL);
    CHECK(shift[0] == 1 && scale[0] == 5 && shift[1] == 10 && scale[1] == 50 && scale[2] == 1);
    float r2[3] = {6, 35, 5};
    CHECK_OK(lam_scaler_transform(s, r2, 1, 3));
    CHECK(r2[0] == 1 && r2[1] == 0.5f && r2[2] == 0);
    lam_scaler_free(s);
    copy->x[4] = NAN;
    CHECK(lam_scaler_fit(LAM_SCALER_STANDARD, copy, &s) == LAM_ERR_ARG && s == NULL);
    /* one-hot */
    int32_t lab[3] = {2, 0, 1};
    float oh[9];
    CHECK_OK(lam_onehot(lab, 3, 3, oh));
    CHECK(oh[2] == 1 && oh[0] == 0 && oh[3] == 1 && oh[7] == 1 && oh[8] == 0);
    lab[1] = 3;
    CHECK(lam_onehot(lab, 3, 3, oh) == LAM_ERR_ARG && t_err_has("labels[1]"));
    for (uint64_t n = 1; n < 10; n++) {
        uint64_t l0 = t_live_bytes();
        lam_alloc_fail_after(n);
        lam_status st = lam_scaler_fit(LAM_SCALER_MINMAX, ds, &s);
        lam_alloc_fail_after(0);
        CHECK(st == LAM_OK || st == LAM_ERR_NOMEM);
        if (st == LAM_OK) lam_scaler_free(s);
        CHECK(t_live_bytes() == l0);
    }
    lam_dataset_free(copy);
    lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);
}

/* ---- splits --------------------------------------------------------------- */

static void test_split(void)
{
    uint64_t live0 = t_live_bytes();
    lam_dataset *ds = make_ds(100, 2, 3), *tr = NULL, *te = NULL, *tr2 = NULL, *te2 = NULL;
    if (!ds) return;
    CHECK_OK(lam_dataset_split(ds, 0.2, 42, &tr, &te));
    CHECK(tr && te && tr->n == 80 && te->n == 20);
    int seen[100] = {0};
    for (int64_t i = 0; tr && i < tr->n; i++) seen[(int)tr->x[i * 2]]++;
    for (int64_t i = 0; te && i < te->n; i++) seen[(int)te->x[i * 2]]++;
    bool once = true;
    for (int i = 0; i < 100; i++) once = once && seen[i] == 1;
    CHECK(once);
    for (int64_t i = 0; te && i < te->n; i++)
        CHECK(te->labels[i] == (int32_t)te->x[i * 2] % 3 && te->x[i * 2 + 1] == te->x[i * 2] + 1000);
    CHECK_OK(lam_dataset_split(ds, 0.2, 42, &tr2, &te2));
    CHECK(tr2 && te2 && memcmp(te->x, te2->x, 20 * 2 * sizeof(float)) == 0);
    CHECK(memcmp(tr->labels, tr2->labels, 80 * sizeof(int32_t)) == 0);
    lam_dataset_free(tr2);
    lam_dataset_free(te2);
    CHECK_OK(lam_dataset_split(ds, 0.2, 43, &tr2, &te2));
    CHECK(te2 && memcmp(te->x, te2->x, 20 * 2 * sizeof(float)) != 0);
    /* validation split of the training part */
    lam_dataset *tr3 = NULL, *va = NULL;
    CHECK_OK(lam_dataset_split(tr, 0.1, 7, &tr3, &va));
    CHECK(tr3 && va && tr3->n == 72 && va->n == 8);
    lam_dataset_free(tr3);
    lam_dataset_free(va);
    lam_dataset_free(tr);
    lam_dataset_free(te);
    lam_dataset_free(tr2);
    lam_dataset_free(te2);
    /* ceil rule */
    lam_dataset *small = make_ds(10, 1, 2);
    CHECK_OK(lam_dataset_split(small, 0.25, 1, &tr, &te));
    CHECK(te && tr && te->n == 3 && tr->n == 7);
    lam_dataset_free(tr);
    lam_dataset_free(te);
    CHECK(lam_dataset_split(small, 0.0, 1, &tr, &te) == LAM_ERR_ARG && !tr && !te);
    CHECK(lam_dataset_split(small, 1.0, 1, &tr, &te) == LAM_ERR_ARG);
    CHECK(lam_dataset_split(small, NAN, 1, &tr, &te) == LAM_ERR_ARG);
    CHECK(lam_dataset_split(small, 0.95, 1, &tr, &te) == LAM_ERR_ARG && t_err_has("training"));
    lam_dataset_free(small);
    /* stratified: 60 / 30 / 10 -> 12 / 6 / 2 test rows */
    for (int i = 0; i < 100; i++) ds->labels[i] = i < 60 ? 0 : i < 90 ? 1 : 2;
    lam_split_opts so = lam_split_opts_defaults();
    CHECK(so.test_fraction == 0.25);
    so.test_fraction = 0.2;
    so.stratify = true;
    so.seed = 5;
    CHECK_OK(lam_dataset_split_ex(ds, &so, &tr, &te));
    int64_t c[3];
    if (te && tr) {
        CHECK_OK(lam_dataset_class_counts(te, c));
        CHECK(c[0] == 12 && c[1] == 6 && c[2] == 2);
        CHECK_OK(lam_dataset_class_counts(tr, c));
        CHECK(c[0] == 48 && c[1] == 24 && c[2] == 8);
    }
    lam_dataset_free(tr);
    lam_dataset_free(te);
    /* largest remainder: 7 test rows of 3/3/4 -> shares 2.1/2.1/2.8 -> 2/2/3 */
    lam_dataset *s10 = make_ds(10, 1, 3);
    for (int i = 0; i < 10; i++) s10->labels[i] = i < 3 ? 0 : i < 6 ? 1 : 2;
    so.test_fraction = 0.7;
    CHECK_OK(lam_dataset_split_ex(s10, &so, &tr, &te));
    if (te) {
        CHECK_OK(lam_dataset_class_counts(te, c));
        CHECK(c[0] == 2 && c[1] == 2 && c[2] == 3);
    }
    lam_dataset_free(tr);
    lam_dataset_free(te);
    lam_dataset_free(s10);
    for (uint64_t n = 1; n < 40; n++) {
        uint64_t l0 = t_live_bytes();
        lam_alloc_fail_after(n);
        so.test_fraction = 0.3;
        lam_status st = lam_dataset_split_ex(ds, &so, &tr, &te);
        lam_alloc_fail_after(0);
        CHECK(st == LAM_OK || (st == LAM_ERR_NOMEM && !tr && !te));
        lam_dataset_free(tr);
        lam_dataset_free(te);
        CHECK(t_live_bytes() == l0);
        if (st == LAM_OK) break;
    }
    lam_dataset *reg = NULL;
    CHECK_OK(lam_dataset_new(LAM_TASK_REGRESSION, 10, 1, 1, &reg));
    CHECK(lam_dataset_split_ex(reg, &so, &tr, &te) == LAM_ERR_ARG);
    lam_dataset_free(reg);
    lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);
}

/* ---- loader --------------------------------------------------------------- */

static void test_loader_epochs(void)
{
    uint64_t live0 = t_live_bytes();
    lam_dataset *ds = make_ds(10, 2, 3);
    if (!ds) return;
    lam_loader_opts o = lam_loader_opts_defaults();
    o.batch_size = 4;
    o.seed = 9;
    lam_loader *l = NULL;
    CHECK_OK(lam_loader_new(ds, &o, &l));
    if (!l) return;
    CHECK(lam_loader_num_batches(l) == 3);
    float xb[8];
    int32_t lb[4];
    int bn;
    uint32_t first[10];
    lam_alloc_stats a0, a1;
    lam_alloc_get_stats(&a0);
    for (int epoch = 0; epoch < 3; epoch++) {
        int seen[10] = {0}, sizes[4] = {0}, nb = 0, k = 0;
        uint32_t order[10];
        while (lam_loader_next(l, xb, lb, NULL, &bn)) {
            if (nb < 4) sizes[nb] = bn;
            nb++;
            for (int i = 0; i < bn; i++) {
                int r = (int)xb[i * 2];
                seen[r]++;
                order[k++] = (uint32_t)r;
                CHECK(lb[i] == r % 3 && xb[i * 2 + 1] == (float)(r + 1000));
            }
        }
        CHECK(bn == 0 && nb == 3 && sizes[0] == 4 && sizes[1] == 4 && sizes[2] == 2);
        for (int i = 0; i < 10; i++) CHECK(seen[i] == 1);
        CHECK(lam_loader_epoch(l) == (uint64_t)epoch + 1);
        if (epoch == 0) memcpy(first, order, sizeof first);
        else CHECK(memcmp(first, order, sizeof first) != 0); /* a fresh permutation */
    }
    lam_alloc_get_stats(&a1);
    CHECK(a1.n_alloc == a0.n_alloc); /* no allocation while batching */
    lam_loader_free(l);
    /* drop_last, no shuffle: identity order, the partial batch is skipped */
    o.shuffle = false;
    o.drop_last = true;
    CHECK_OK(lam_loader_new(ds, &o, &l));
    CHECK(lam_loader_num_batches(l) == 2);
    uint32_t idx[4];
    int nb = 0;
    while (lam_loader_next_indices(l, idx, &bn)) {
        CHECK(bn == 4 && idx[0] == (uint32_t)(4 * nb) && idx[3] == (uint32_t)(4 * nb + 3));
        nb++;
    }
    CHECK(nb == 2);
    lam_loader_free(l);
    /* errors */
    o.batch_size = 0;
    CHECK(lam_loader_new(ds, &o, &l) == LAM_ERR_ARG && l == NULL);
    for (uint64_t n = 1; n < 5; n++) {
        uint64_t l0 = t_live_bytes();
        o.batch_size = 3;
        lam_alloc_fail_after(n);
        lam_status st = lam_loader_new(ds, &o, &l);
        lam_alloc_fail_after(0);
        CHECK(st == LAM_OK || (st == LAM_ERR_NOMEM && !l));
        lam_loader_free(l);
        l = NULL;
        CHECK(t_live_bytes() == l0);
    }
    /* regression targets */
    lam_dataset *reg = NULL;
    CHECK_OK(lam_dataset_new(LAM_TASK_REGRESSION, 5, 1, 2, &reg));
    for (int i = 0; i < 5; i++) {
        reg->x[i] = (float)i;
        reg->y[2 * i] = (float)(10 * i);
        reg->y[2 * i + 1] = (float)(-i);
    }
    o = lam_loader_opts_defaults();
    o.batch_size = 5;
    CHECK_OK(lam_loader_new(reg, &o, &l));
    float rx[5], ry[10];
    CHECK(lam_loader_next(l, rx, NULL, ry, &bn) && bn == 5);
    for (int i = 0; i < 5; i++) CHECK(ry[2 * i] == 10 * rx[i] && ry[2 * i + 1] == -rx[i]);
    CHECK(!lam_loader_next(l, rx, NULL, ry, &bn));
    lam_loader_free(l);
    lam_dataset_free(reg);
    lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);
}

/* Batches of one epoch as indices; returns the count. */
static int run_batches(lam_loader *l, uint32_t *out, int max)
{
    int k = 0, bn;
    uint32_t idx[8];
    while (k < max && lam_loader_next_indices(l, idx, &bn))
        for (int i = 0; i < bn; i++) out[k++] = idx[i];
    return k;
}

static void test_loader_resume(void)
{
    uint64_t live0 = t_live_bytes();
    lam_dataset *ds = make_ds(23, 1, 2);
    if (!ds) return;
    lam_loader_opts o = lam_loader_opts_defaults();
    o.batch_size = 5;
    o.seed = 77;
    lam_loader *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(lam_loader_new(ds, &o, &a));
    CHECK_OK(lam_loader_new(ds, &o, &c));
    o.seed = 1; /* b starts elsewhere; its state will be overwritten */
    CHECK_OK(lam_loader_new(ds, &o, &b));
    if (!a || !b || !c) return;
    /* same seed: same sequence over several epochs */
    uint32_t s1[200], s2[200];
    int n1 = 0, n2 = 0;
    for (int e = 0; e < 3; e++) {
        n1 += run_batches(a, s1 + n1, 100);
        n2 += run_batches(c, s2 + n2, 100);
    }
    CHECK(n1 == 69 && n2 == 69 && memcmp(s1, s2, sizeof(uint32_t) * 69) == 0);
    /* save mid-epoch (two batches into epoch 3), restore into b */
    uint32_t idx[8];
    int bn;
    CHECK(lam_loader_next_indices(a, idx, &bn) && bn == 5);
    CHECK(lam_loader_next_indices(a, idx, &bn) && bn == 5);
    lam_loader_state st;
    lam_loader_get_state(a, &st);
    CHECK(st.epoch == 3 && st.pos == 10 && st.n == 23);
    CHECK_OK(lam_loader_set_state(b, &st));
    CHECK(lam_loader_epoch(b) == 3);
    n1 = n2 = 0;
    for (int e = 0; e < 3; e++) {
        n1 += run_batches(a, s1 + n1, 100);
        n2 += run_batches(b, s2 + n2, 100);
    }
    CHECK(n1 == 13 + 46 && n2 == n1 && memcmp(s1, s2, sizeof(uint32_t) * (size_t)n1) == 0);
    /* state at an epoch boundary */
    lam_loader_get_state(a, &st);
    CHECK(st.pos == 0);
    CHECK_OK(lam_loader_set_state(b, &st));
    n1 = run_batches(a, s1, 100);
    n2 = run_batches(b, s2, 100);
    CHECK(n1 == 23 && n2 == 23 && memcmp(s1, s2, sizeof(uint32_t) * 23) == 0);
    /* a state for another data set size is refused */
    st.n = 24;
    CHECK(lam_loader_set_state(b, &st) == LAM_ERR_ARG && t_err_has("24"));
    st.n = 23;
    st.pos = 30;
    CHECK(lam_loader_set_state(b, &st) == LAM_ERR_ARG);
    lam_loader_free(a);
    lam_loader_free(b);
    lam_loader_free(c);
    lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);
}

int main(void)
{
    RUN(test_dataset);
    RUN(test_scaler);
    RUN(test_split);
    RUN(test_loader_epochs);
    RUN(test_loader_resume);
    TEST_MAIN_END;
}
