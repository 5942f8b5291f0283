/* Sequence data for models: the [data] keys of the text formats (corpus,
 * text_csv, text_files) and of time series, the vocabulary a text model is
 * built with (made from the training part only, or read from a checkpoint),
 * and the data sets: language-modelling windows, padded labelled texts,
 * documents cut into labelled windows, time-series windows with their
 * scaler, plus the baselines that need no training (majority class,
 * persistence).  The text read to build the vocabulary is kept until the
 * data sets are made, so each source is read once. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

struct lam_text_cache {
    char *corpus; /* corpus */
    size_t corpus_len;
    lam_text_set *set; /* text_csv, text_files */
    uint32_t *idx;     /* text_csv: the rows in split order, test rows first */
    int64_t n_test;
};

void lam_text_cache_free_(struct lam_text_cache *tc)
{
    if (!tc) return;
    lam_free(tc->corpus);
    lam_text_set_free(tc->set);
    lam_free(tc->idx);
    lam_free(tc);
}

bool lam_data_format_is_text(lam_data_format f)
{
    return f == LAM_DATA_CORPUS || f == LAM_DATA_TEXT_CSV || f == LAM_DATA_TEXT_FILES;
}

/* "a, b, c" into n trimmed names in the cfg's arena */
static lam_status name_list(lam_cfg *c, const char *v, int line, const char *key, const char ***out, int *n)
{
    *n = 0;
    int cap = 1;
    for (const char *p = v; *p; p++) cap += *p == ',';
    const char **names = lam_arena_alloc(c->arena, sizeof *names * (size_t)cap);
    if (!names) return LAM_ERR_NOMEM;
    for (const char *p = v;;) {
        while (*p == ' ' || *p == '\t') p++;
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
        if (!len) return lam_fail(LAM_ERR_FORMAT, "%s:%d: %s = '%s': an empty column name", c->path, line, key, v);
        char *nm = lam_arena_alloc(c->arena, len + 1);
        if (!nm) return LAM_ERR_NOMEM;
        memcpy(nm, p, len);
        names[(*n)++] = nm;
        if (!e) break;
        p = e + 1;
    }
    *out = names;
    return LAM_OK;
}

lam_status lam_seq_data_opts_(lam_cfg *c, lam_cfg_section *s, lam_data_opts *d, const lam_shape *sample)
{
    int line = s ? s->line : 0;
    if (lam_data_format_is_text(d->format)) {
        if (sample->ndim != 1)
            return lam_fail(LAM_ERR_FORMAT, "%s: text data needs [net] input = the tokens per sample (one number)", c->path);
        d->vocab = lam_vocab_opts_defaults();
        static const char *const toks[] = {"byte", "char", "word", NULL};
        int t;
        TRY(lam_cfg_choice(c, s, "tokenizer", toks, LAM_TOKENIZER_BYTE, &t));
        d->vocab.tokenizer = (lam_tokenizer)t;
        long v;
        TRY(lam_cfg_int(c, s, "min_freq", 1, 1, 1L << 40, &v));
        d->vocab.min_freq = v;
        TRY(lam_cfg_int(c, s, "max_vocab", 0, 0, LAM_VOCAB_MAX_SIZE, &v));
        d->vocab.max_size = (int32_t)v;
        TRY(lam_cfg_bool(c, s, "lowercase", false, &d->vocab.lowercase));
        /* labelled texts meet words the training part never had */
        TRY(lam_cfg_bool(c, s, "unknown", d->format != LAM_DATA_CORPUS, &d->vocab.unk));
        TRY(lam_cfg_bool(c, s, "pad", d->format == LAM_DATA_TEXT_CSV, &d->vocab.pad));
        if (d->format == LAM_DATA_TEXT_CSV && !d->vocab.pad)
            return lam_fail(LAM_ERR_FORMAT, "%s:%d: text_csv pads its rows and needs pad = true", c->path, line);
        TRY(lam_cfg_bool(c, s, "follow_links", true, &d->follow_links));
        int64_t T = sample->d[0];
        TRY(lam_cfg_int(c, s, "stride", d->format == LAM_DATA_CORPUS ? 1 : T, 1, 1L << 40, &v));
        d->stride = v;
        const char *sep;
        TRY(lam_cfg_str(c, s, "label_sep", "-", &sep));
        if (strlen(sep) != 1) return lam_fail(LAM_ERR_FORMAT, "%s:%d: label_sep must be one character", c->path, line);
        d->label_sep = sep[0];
        const char *tc;
        TRY(lam_cfg_str(c, s, "text", "last", &tc));
        d->text_col = lam_csv_col_parse(!strcmp(tc, "last") ? "-1" : !strcmp(tc, "first") ? "0" : tc);
        if (!d->path) return lam_fail(LAM_ERR_FORMAT, "%s:%d: [data] format = %s needs path", c->path, line,
                                      lam_data_format_name(d->format));
        return LAM_OK;
    }
    if (d->format != LAM_DATA_TIMESERIES) return LAM_OK;
    lam_timeseries_opts *o = &d->ts;
    *o = lam_timeseries_opts_defaults();
    if (sample->ndim != 2)
        return lam_fail(LAM_ERR_FORMAT, "%s: time series need [net] input = window, features (two numbers)", c->path);
    const char *v;
    int fl = line;
    v = lam_cfg_raw(c, s, "features", &fl);
    if (!v) return lam_fail(LAM_ERR_FORMAT, "%s:%d: [data] format = timeseries needs features = COLUMN, ...", c->path, line);
    int nf;
    TRY(name_list(c, v, fl, "features", (const char ***)&o->features, &nf));
    o->nfeatures = nf;
    d->ts_nfeatures = nf;
    if (nf != sample->d[1])
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: %d features, but [net] input = %lld, %lld has %lld per step", c->path, fl,
                        nf, (long long)sample->d[0], (long long)sample->d[1], (long long)sample->d[1]);
    TRY(lam_cfg_str(c, s, "target", NULL, &o->target));
    TRY(lam_cfg_str(c, s, "class", NULL, &o->label));
    if (!o->target == !o->label)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: time series need exactly one of target = COLUMN (forecasting) and "
                                        "class = COLUMN (classification)", c->path, line);
    o->window = (int)sample->d[0];
    long h;
    TRY(lam_cfg_int(c, s, "horizon", 1, 1, 1L << 20, &h));
    o->horizon = (int)h;
    TRY(lam_cfg_str(c, s, "time_column", NULL, &o->time_column));
    TRY(lam_cfg_str(c, s, "test_from", NULL, &o->test_from));
    if (o->test_from && !o->time_column)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: test_from needs time_column", c->path, line);
    o->test_fraction = d->test_split;
    o->delimiter = d->csv.delimiter;
    if (!d->path) return lam_fail(LAM_ERR_FORMAT, "%s:%d: [data] format = timeseries needs path", c->path, line);
    return LAM_OK;
}

/* ---- the vocabulary ----------------------------------------------------------------- */

/* Read the text source into m->text and, with build, make the vocabulary
 * of its training part. */
static lam_status read_and_build(lam_model *m, bool build)
{
    lam_data_opts *d = &m->data;
    struct lam_text_cache *tc = lam_calloc(1, sizeof *tc);
    if (!tc) return LAM_ERR_NOMEM;
    m->text = tc;
    switch (d->format) {
    case LAM_DATA_CORPUS: {
        TRY(lam_text_read_corpus(d->path, d->follow_links, &tc->corpus, &tc->corpus_len));
        const char *t = tc->corpus;
        /* the training part: the text before the test part at the end */
        size_t n = (size_t)((double)tc->corpus_len * (1.0 - d->test_split));
        return build ? lam_vocab_build(&d->vocab, &t, &n, 1, &m->vocab) : LAM_OK;
    }
    case LAM_DATA_TEXT_FILES: {
        TRY(lam_text_files_read(d->path, d->label_sep, &tc->set));
        if (!build) return LAM_OK;
        int64_t n = tc->set->n;
        const char **parts = lam_calloc((size_t)n, sizeof *parts);
        size_t *lens = lam_calloc((size_t)n, sizeof *lens);
        lam_status s = LAM_ERR_NOMEM;
        if (parts && lens) {
            lam_text_split_parts(tc->set, d->vocab.tokenizer, d->test_split, parts, lens);
            s = lam_vocab_build(&d->vocab, parts, lens, n, &m->vocab);
        }
        lam_free(parts);
        lam_free(lens);
        return s;
    }
    case LAM_DATA_TEXT_CSV: {
        lam_csv_opts co = d->csv;
        TRY(lam_text_csv_read(d->path, &co, d->text_col, &tc->set));
        const lam_text_set *ts = tc->set;
        /* a seeded split of the rows, as for tables: the test rows first */
        lam_dataset *lab;
        TRY(lam_dataset_new(LAM_TASK_CLASSIFICATION, ts->n, 1, ts->nclasses, &lab));
        for (int64_t i = 0; i < ts->n; i++) lab->labels[i] = ts->labels[i], lab->x[i] = (float)i;
        lam_split_opts so = lam_split_opts_defaults();
        so.seed = d->split_seed;
        so.stratify = d->stratify;
        so.test_fraction = d->test_split;
        lam_dataset *tr = NULL, *te = NULL;
        lam_status s = LAM_OK;
        if (d->test_split > 0) s = lam_dataset_split_ex(lab, &so, &tr, &te);
        tc->idx = lam_calloc((size_t)ts->n, sizeof *tc->idx);
        if (s == LAM_OK && !tc->idx) s = LAM_ERR_NOMEM;
        int64_t k = 0;
        for (int part = 0; s == LAM_OK && part < 2; part++) {
            const lam_dataset *p = d->test_split > 0 ? (part ? tr : te) : (part ? lab : NULL);
            for (int64_t i = 0; p && i < p->n; i++) tc->idx[k++] = (uint32_t)p->x[i];
            if (part == 0) tc->n_test = k;
        }
        lam_dataset_free(lab);
        lam_dataset_free(tr);
        lam_dataset_free(te);
        if (s != LAM_OK || !build) return s;
        int64_t ntr = ts->n - tc->n_test;
        const char **texts = lam_calloc((size_t)(ntr ? ntr : 1), sizeof *texts);
        size_t *lens = lam_calloc((size_t)(ntr ? ntr : 1), sizeof *lens);
        s = LAM_ERR_NOMEM;
        if (texts && lens) {
            for (int64_t i = 0; i < ntr; i++) {
                uint32_t r = tc->idx[tc->n_test + i];
                texts[i] = ts->text[r];
                lens[i] = ts->len[r];
            }
            s = lam_vocab_build(&d->vocab, texts, lens, ntr, &m->vocab);
        }
        lam_free(texts);
        lam_free(lens);
        return s;
    }
    default: return lam_fail(LAM_ERR_ARG, "not a text format");
    }
}

lam_status lam_seq_vocab_(lam_model *m, const char *vocab_json)
{
    if (!lam_data_format_is_text(m->data.format)) return LAM_OK;
    if (vocab_json) {
        TRY(lam_vocab_from_json(vocab_json, strlen(vocab_json), &m->vocab));
        if (lam_vocab_tokenizer(m->vocab) != m->data.vocab.tokenizer)
            return lam_fail(LAM_ERR_FORMAT, "%s: the saved vocabulary is of the %s tokenizer, the model file says %s",
                            m->cfg->path, lam_tokenizer_name(lam_vocab_tokenizer(m->vocab)),
                            lam_tokenizer_name(m->data.vocab.tokenizer));
        return LAM_OK;
    }
    lam_status s = read_and_build(m, true);
    if (s != LAM_OK) return lam_fail(s, "%s: [data] %s: %s", m->cfg->path, m->data.path, lam_last_error());
    return LAM_OK;
}

/* ---- baselines ---------------------------------------------------------------------- */

/* The majority class of train, scored on test. */
lam_status lam_baseline_majority_(lam_model *m, const lam_dataset *train, const lam_dataset *test)
{
    if (!test || !train->labels || !test->labels || train->nclasses < 1) return LAM_OK;
    int K = train->nclasses > test->nclasses ? train->nclasses : test->nclasses;
    int64_t *cnt = lam_calloc((size_t)K, sizeof *cnt);
    if (!cnt) return LAM_ERR_NOMEM;
    for (int64_t i = 0; i < train->n; i++) cnt[train->labels[i]]++;
    int best = 0;
    for (int k = 1; k < K; k++)
        if (cnt[k] > cnt[best]) best = k;
    lam_metrics mt;
    lam_status s = lam_metrics_init(&mt, LAM_TASK_CLASSIFICATION, K);
    if (s == LAM_OK) {
        for (int64_t i = 0; i < test->n; i++) mt.confusion[(size_t)test->labels[i] * K + best]++;
        mt.n = test->n;
        lam_metrics_finish_classification(&mt);
        if (!m->baselines && !(m->baselines = lam_calloc(1, sizeof *m->baselines))) s = LAM_ERR_NOMEM;
        if (s == LAM_OK) {
            m->baselines->majority = true;
            m->baselines->majority_class = best;
            m->baselines->majority_accuracy = mt.accuracy;
            m->baselines->majority_macro_f1 = mt.macro_f1;
            m->baselines->n_test = test->n;
        }
        lam_metrics_free(&mt);
    }
    lam_free(cnt);
    return s;
}

/* Persistence on unscaled time-series windows: the target's last value. */
static lam_status baseline_persistence(lam_model *m, const lam_dataset *test, int feature)
{
    if (!test || feature < 0 || !test->y) return LAM_OK;
    int64_t W = m->sample.d[0], F = m->sample.d[1];
    double ae = 0, se = 0;
    for (int64_t i = 0; i < test->n; i++) {
        double e = (double)test->x[i * W * F + (W - 1) * F + feature] - test->y[i];
        ae += fabs(e);
        se += e * e;
    }
    if (!m->baselines && !(m->baselines = lam_calloc(1, sizeof *m->baselines))) return LAM_ERR_NOMEM;
    m->baselines->persistence = true;
    m->baselines->persistence_mae = ae / (double)test->n;
    m->baselines->persistence_rmse = sqrt(se / (double)test->n);
    m->baselines->n_test = test->n;
    return LAM_OK;
}

/* ---- data sets ---------------------------------------------------------------------- */

/* The last `fraction` of a set by position (windows, time) as validation. */
static lam_status tail_split(lam_model *m, lam_dataset **train, lam_dataset **val)
{
    double f = m->train.val_split;
    if (!val || f <= 0) return LAM_OK;
    lam_dataset *all = *train, *head = NULL, *tail = NULL;
    lam_status s;
    if (all->next_token && all->ids_stride < all->nfeat) {
        s = lam_dataset_lm_split(all, f, &head, &tail);
    } else {
        int64_t nt = (int64_t)ceil(f * (double)all->n), nh = all->n - nt;
        if (nh < 1 || nt < 1) return lam_fail(LAM_ERR_FORMAT, "%s: validation_split %g leaves an empty part", m->cfg->path, f);
        uint32_t *idx = lam_calloc((size_t)all->n, sizeof *idx);
        if (!idx) return LAM_ERR_NOMEM;
        for (int64_t i = 0; i < all->n; i++) idx[i] = (uint32_t)i;
        s = lam_dataset_subset(all, idx, nh, &head);
        if (s == LAM_OK) s = lam_dataset_subset(all, idx + nh, nt, &tail);
        lam_free(idx);
    }
    if (s != LAM_OK) {
        lam_dataset_free(head);
        lam_dataset_free(tail);
        return s;
    }
    lam_dataset_free(all);
    *train = head;
    *val = tail;
    return LAM_OK;
}

static lam_status text_sets(lam_model *m, lam_dataset **train, lam_dataset **test)
{
    lam_data_opts *d = &m->data;
    if (!m->text) TRY(read_and_build(m, false));
    struct lam_text_cache *tc = m->text;
    int64_t T = m->sample.d[0];
    switch (d->format) {
    case LAM_DATA_CORPUS: {
        lam_dataset *all;
        TRY(lam_dataset_lm_windows(m->vocab, tc->corpus, tc->corpus_len, T, d->stride, NULL, d->path, &all));
        if (d->test_split <= 0) {
            *train = all;
            return LAM_OK;
        }
        lam_status s = lam_dataset_lm_split(all, d->test_split, train, test);
        lam_dataset_free(all);
        return s;
    }
    case LAM_DATA_TEXT_FILES:
        return lam_dataset_doc_windows(tc->set, m->vocab, T, d->stride, d->test_split, NULL, train, test);
    case LAM_DATA_TEXT_CSV:
        TRY(lam_dataset_from_texts(tc->set, tc->idx + tc->n_test, tc->set->n - tc->n_test, m->vocab, T, NULL, train));
        if (tc->n_test) return lam_dataset_from_texts(tc->set, tc->idx, tc->n_test, m->vocab, T, NULL, test);
        return LAM_OK;
    default: return lam_fail(LAM_ERR_ARG, "not a text format");
    }
}

static lam_status timeseries_sets(lam_model *m, lam_dataset **train, lam_dataset **val, lam_dataset **test)
{
    lam_data_opts *d = &m->data;
    lam_timeseries_info info;
    lam_timeseries_opts o = d->ts;
    o.test_fraction = d->test_split;
    TRY(lam_timeseries_read(d->path, &o, train, test, &info));
    TRY(baseline_persistence(m, *test, info.target_feature));
    TRY(tail_split(m, train, val));
    if (d->scale != LAM_SCALE_NONE) {
        lam_scaler_free(m->scaler);
        m->scaler = NULL;
        TRY(lam_timeseries_fit_scaler(*train, o.window, o.nfeatures, &m->scaler));
        TRY(lam_scaler_apply(m->scaler, *train));
        if (val && *val) TRY(lam_scaler_apply(m->scaler, *val));
        if (*test) TRY(lam_scaler_apply(m->scaler, *test));
    }
    return LAM_OK;
}

lam_status lam_seq_prepare_(lam_model *m, lam_dataset **train, lam_dataset **val, lam_dataset **test)
{
    lam_status s;
    if (m->data.format == LAM_DATA_TIMESERIES) {
        s = timeseries_sets(m, train, val, test);
    } else {
        s = text_sets(m, train, test);
        if (s == LAM_OK && val && m->train.val_split > 0) {
            if ((*train)->next_token) {
                s = tail_split(m, train, val);
            } else {
                lam_split_opts so = lam_split_opts_defaults();
                so.seed = m->data.split_seed + 1;
                so.stratify = m->data.stratify;
                so.test_fraction = m->train.val_split;
                lam_dataset *tr = NULL, *va = NULL;
                s = lam_dataset_split_ex(*train, &so, &tr, &va);
                if (s == LAM_OK) {
                    lam_dataset_free(*train);
                    *train = tr;
                    *val = va;
                }
            }
        }
        lam_text_cache_free_(m->text);
        m->text = NULL;
    }
    if (s == LAM_OK && !(*train)->next_token && (*train)->labels) s = lam_baseline_majority_(m, *train, *test);
    if (s != LAM_OK) {
        lam_dataset_free(*train);
        lam_dataset_free(*test);
        if (val) lam_dataset_free(*val);
        *train = *test = NULL;
        if (val) *val = NULL;
        return lam_fail(s, "%s: [data] %s: %s", m->cfg->path, m->data.path, lam_last_error());
    }
    return LAM_OK;
}
