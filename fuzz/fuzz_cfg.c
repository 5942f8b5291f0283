/* Fuzz the model-file reader: lam_cfg_parse (src/io/cfg.c), then, for a file
 * that parses, lam_model_from_cfg (every section and key of src/train: data,
 * train, augment, stage and layer sections, the nn builders and the graph's
 * shape inference), lam_model_describe and, for models of at most 2^18
 * parameters, lam_model_compile at batch 1 (toposort, memory plan,
 * parameter initialisation: bigger models are legitimate but take more than
 * the 1 s an input may under ASan, in initialisation alone).
 *
 * No data is read: [data] path is overridden with a path that does not
 * exist, and text formats get a fixed three-token vocabulary of the
 * tokenizer the file names (as a checkpoint would supply), so the model is
 * built without a corpus.  A model file may ask for a big model: the
 * library's live memory is capped at 8 MiB (a graph of about 15,000 nodes,
 * built in a quarter of a second under UBSan), past which allocations fail
 * with LAM_ERR_NOMEM, which is a clean error here. */
#include "fuzz_common.h"

static const char *vocab_for(const lam_cfg *c)
{
    static const char *const json[] = {
        "{\"tokenizer\":\"byte\",\"lowercase\":false,\"pad\":false,\"unk\":false,\"tokens\":[97,98,99]}",
        "{\"tokenizer\":\"char\",\"lowercase\":false,\"pad\":false,\"unk\":true,\"tokens\":[\"a\",\"b\",\"c\"]}",
        "{\"tokenizer\":\"word\",\"lowercase\":false,\"pad\":true,\"unk\":true,\"tokens\":[\"a\",\"b\",\"c\"]}",
    };
    /* read the raw value without marking it used (the model decides that) */
    for (int i = 0; i < c->n_sec; i++) {
        if (strcmp(c->sec[i].name, "data")) continue;
        for (int k = 0; k < c->sec[i].n_kv; k++)
            if (!strcmp(c->sec[i].kv[k].key, "tokenizer")) {
                lam_tokenizer t;
                if (lam_tokenizer_from_name(c->sec[i].kv[k].value, &t)) return json[t];
            }
    }
    return json[0];
}

FZ_INITIALIZE(FZ_MEM_REFUSE, (size_t)8 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t live = fz_live();
    lam_cfg *c = (lam_cfg *)&c;
    lam_status s = lam_cfg_parse((const char *)data, size, "fuzz.cfg", &c);
    if (s != LAM_OK) {
        fz_check_failure(s, "lam_cfg_parse");
        FZ_CHECK(c == NULL, "failure left *out set");
        FZ_CHECK(fz_live() == live, "leak after a failed parse");
        return 0;
    }
    FZ_CHECK(c->text_len == size && !memcmp(c->text, data, size), "the text is not kept as given");
    for (int i = 0; i < c->n_sec; i++) {
        const lam_cfg_section *sec = &c->sec[i];
        FZ_CHECK(sec->name && sec->name[0] && sec->line >= 1, "section %d incomplete", i);
        for (int k = 0; k < sec->n_kv; k++)
            FZ_CHECK(sec->kv[k].key[0] && sec->kv[k].value[0] && sec->kv[k].line > sec->line,
                     "key %d of section %d incomplete", k, i);
    }
    lam_model_overrides ov = lam_model_overrides_none();
    ov.data_path = "/nonexistent/lamina-fuzz-data";
    ov.vocab_json = vocab_for(c);
    lam_model *m = (lam_model *)&m;
    s = lam_model_from_cfg(c, &ov, &m); /* owns c from here, also on error */
    if (s != LAM_OK) {
        fz_check_failure(s, "lam_model_from_cfg");
        FZ_CHECK(m == NULL, "failure left *out set");
    } else {
        static char buf[1 << 16];
        FZ_CHECK(m->g && m->x && m->out && m->loss, "model without graph nodes");
        lam_model_describe(m, buf, sizeof buf);
        if (lam_graph_param_total(m->g) <= ((size_t)1 << 18)) {
            s = lam_model_compile(m, 1);
            if (s == LAM_OK) lam_model_describe(m, buf, sizeof buf);
            else fz_check_failure(s, "lam_model_compile");
        }
        lam_model_free(m);
    }
    FZ_CHECK_NO_LEAK(live);
    return 0;
}
