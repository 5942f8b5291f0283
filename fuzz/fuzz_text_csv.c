/* Fuzz the labelled-text CSV reader, lam_text_csv_read (src/data/text.c over
 * the CSV tokenizer of csv_lex.c), with two layouts: the defaults (no header,
 * label first, text last) and a header naming the columns "label" and
 * "text".  An accepted text set is checked (labels in range, class names
 * sorted and distinct) and carried on: a word vocabulary with <pad> and <unk>
 * built on its texts, padded rows (lam_dataset_from_texts) and documents cut
 * into windows (lam_dataset_doc_windows), each of which must pass
 * lam_dataset_check. */
#include "fuzz_common.h"

static void carry_on(const lam_text_set *ts)
{
    lam_vocab_opts vo = lam_vocab_opts_defaults();
    vo.tokenizer = (lam_tokenizer)(ts->n % 3);
    vo.pad = vo.unk = true;
    const char **texts = malloc((size_t)ts->n * sizeof *texts);
    FZ_CHECK(texts != NULL, "out of memory");
    for (int64_t i = 0; i < ts->n; i++) texts[i] = ts->text[i];
    lam_vocab *v = NULL;
    lam_status s = lam_vocab_build(&vo, texts, ts->len, ts->n, &v);
    free(texts);
    if (s != LAM_OK) {
        fz_check_failure(s, "lam_vocab_build");
        return;
    }
    lam_dataset *ds = NULL;
    s = lam_dataset_from_texts(ts, NULL, ts->n, v, 8, NULL, &ds);
    if (s == LAM_OK) {
        FZ_CHECK(lam_dataset_check(ds) == LAM_OK, "from_texts set fails the check: %s", lam_last_error());
        FZ_CHECK(ds->n == ts->n && ds->lengths, "rows");
        lam_dataset_free(ds);
    } else {
        fz_check_failure(s, "lam_dataset_from_texts");
    }
    lam_dataset *tr = NULL, *te = NULL;
    s = lam_dataset_doc_windows(ts, v, 3, 2, 0.25, NULL, &tr, &te);
    if (s == LAM_OK) {
        FZ_CHECK(lam_dataset_check(tr) == LAM_OK && (!te || lam_dataset_check(te) == LAM_OK),
                 "doc_windows parts fail the check: %s", lam_last_error());
        lam_dataset_free(tr);
        lam_dataset_free(te);
    } else {
        fz_check_failure(s, "lam_dataset_doc_windows");
        FZ_CHECK(!tr && !te, "failure left outputs set");
    }
    lam_vocab_free(v);
}

static void read_with(const char *path, const lam_csv_opts *o, lam_csv_col text_col)
{
    lam_text_set *ts = (lam_text_set *)&ts;
    lam_status s = lam_text_csv_read(path, o, text_col, &ts);
    if (s != LAM_OK) {
        fz_check_failure(s, "lam_text_csv_read");
        FZ_CHECK(ts == NULL, "failure left *out set");
        return;
    }
    FZ_CHECK(ts->n >= 1 && ts->nclasses >= 1 && ts->class_names, "empty text set accepted");
    for (int32_t k = 0; k < ts->nclasses; k++) {
        FZ_CHECK(ts->class_names[k] && ts->class_names[k][0], "class %d has no name", (int)k);
        if (k) FZ_CHECK(strcmp(ts->class_names[k - 1], ts->class_names[k]) < 0, "class names not sorted");
    }
    for (int64_t i = 0; i < ts->n; i++) {
        FZ_CHECK(ts->labels[i] >= 0 && ts->labels[i] < ts->nclasses, "label %d out of range", (int)ts->labels[i]);
        FZ_CHECK(ts->text[i] && ts->text[i][ts->len[i]] == 0, "text %lld not terminated", (long long)i);
        fz_touch(ts->text[i], ts->len[i]);
        if (ts->names) fz_touch(ts->names[i], strlen(ts->names[i]));
    }
    carry_on(ts);
    lam_text_set_free(ts);
}

FZ_INITIALIZE(FZ_MEM_TRAP, (size_t)256 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t live = fz_live();
    const char *p = fz_write("in.csv", data, size);
    lam_csv_opts o = lam_csv_opts_defaults();
    o.label = (lam_csv_col){0, NULL};
    read_with(p, &o, (lam_csv_col){-1, NULL});
    o = lam_csv_opts_defaults();
    o.header = LAM_CSV_HEADER_YES;
    o.label = (lam_csv_col){0, "label"};
    read_with(p, &o, (lam_csv_col){0, "text"});
    FZ_CHECK_NO_LEAK(live);
    return 0;
}
