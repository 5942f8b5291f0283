/* lamina generate: text from a trained language model, written to standard
 * output as it is chosen, then a line of timings on standard error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const generate_help =
    "usage: lamina generate CKPT [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K]\n"
    "                       [--top-p P] [--stop TEXT] [--seed S] [--threads N] [--no-cache] [--quiet]\n"
    "                       [--json]\n"
    "Write text with a trained language model (a model file with [data] format = corpus).\n"
    "The prompt is read once; recurrent states and Transformer key/value caches are carried\n"
    "from token to token, so each new token costs one step of the network.  A Transformer's\n"
    "context is a hard limit: a longer prompt is cut to its end, and full caches are rebuilt\n"
    "from the last half of the context.  The same seed gives the same text.\n"
    "  --prompt TEXT     text to continue (default: a line break)\n"
    "  --tokens N        tokens to write (default 200)\n"
    "  --temperature T   softmax temperature; 0 takes the most likely token (default 1)\n"
    "  --top-k K         sample among the K most likely tokens only (default: all)\n"
    "  --top-p P         sample among the most likely tokens holding probability P (default 1)\n"
    "  --stop TEXT       stop once the generated text ends with TEXT\n"
    "  --seed S          sampling seed (default 0)\n"
    "  --no-cache        run the whole window (the last `context` tokens) again for every token\n"
    "                    (slow; the reference the cache is checked against)\n"
    "  --quiet           no timing line on standard error\n"
    "  --json            print {\"prompt\", \"text\", \"prompt_tokens\", \"tokens\", \"seconds\",\n"
    "                    \"tokens_per_second\"} as one JSON document once done, instead of the text\n";

/* generated text, kept for --json */
typedef struct text_buf {
    lam_json_buf b; /* used as a plain byte buffer */
    bool json;
} text_buf;

static void emit(const char *text, size_t len, void *user)
{
    text_buf *t = user;
    if (t->json) {
        lam_json_buf_append(&t->b, text, len);
        return;
    }
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

int cmd_generate(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " prompt tokens temperature top-k top-p stop seed threads quiet no-cache json ");
    if (rc) return rc;
    if ((rc = help_or_usage(&o, generate_help, o.file != NULL)) >= 0) return rc;
    rc = 0; /* help_or_usage said go on (-1) */
    lam_model *m;
    lam_status s = lam_checkpoint_load(o.file, &m, NULL);
    if (s != LAM_OK) return fail(s);
    lam_generate_opts g = lam_generate_opts_defaults();
    g.prompt = o.prompt ? o.prompt : "\n";
    g.prompt_len = strlen(g.prompt);
    g.tokens = o.tokens >= 0 ? o.tokens : 200;
    if (o.temperature >= 0) g.temperature = o.temperature;
    if (o.top_p > 0) g.top_p = o.top_p;
    g.top_k = o.top_k;
    g.stop = o.stop;
    g.no_cache = o.no_cache;
    g.seed = o.seed >= 0 ? (uint64_t)o.seed : 0;
    lam_generate_stats st;
    text_buf tb = {{0}, o.json};
    if (o.prompt && !o.json) fputs(o.prompt, stdout);
    s = lam_generate(m, &g, emit, &tb, &st);
    if (!o.json) fputc('\n', stdout);
    if (s == LAM_OK && o.json) {
        lam_json_buf_append(&tb.b, "", 1); /* NUL-terminated, also when empty */
        lam_json_buf b = {0};
        lam_json_buf_puts(&b, "{");
        lam_json_put_str(&b, "command", "generate");
        lam_json_put_str(&b, "checkpoint", o.file);
        lam_json_key(&b, "prompt");
        lam_json_write_string_lossy(&b, g.prompt, g.prompt_len);
        lam_json_key(&b, "text"); /* a byte-level model may cut a character: U+FFFD then */
        if (tb.b.status == LAM_OK) lam_json_write_string_lossy(&b, tb.b.data, tb.b.len - 1);
        lam_json_put_int(&b, "prompt_tokens", st.prompt_tokens);
        lam_json_put_int(&b, "tokens", st.tokens);
        lam_json_put_double(&b, "seconds", st.prompt_s + st.generate_s);
        lam_json_put_double(&b, "tokens_per_second", st.generate_s > 0 ? (double)st.tokens / st.generate_s : 0.0);
        if (tb.b.status != LAM_OK) b.status = tb.b.status;
        rc = put_json(&b);
    } else if (s == LAM_OK && !o.quiet)
        fprintf(stderr, "lamina: %lld prompt tokens in %.3f s, %lld tokens generated in %.3f s (%.0f tokens/s)\n",
                (long long)st.prompt_tokens, st.prompt_s, (long long)st.tokens, st.generate_s,
                st.generate_s > 0 ? (double)st.tokens / st.generate_s : 0.0);
    lam_json_buf_free(&tb.b);
    lam_model_free(m);
    return s == LAM_OK ? rc : fail(s);
}
