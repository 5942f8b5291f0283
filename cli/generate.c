/* lamina generate: text from a trained language model, written to standard
 * output as it is chosen, then a line of timings on standard error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const generate_help =
    "usage: lamina generate CKPT [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K]\n"
    "                       [--top-p P] [--stop TEXT] [--seed S] [--threads N] [--no-cache] [--quiet]\n"
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
    "  --quiet           no timing line on standard error\n";

static void emit(const char *text, size_t len, void *user)
{
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

int cmd_generate(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " prompt tokens temperature top-k top-p stop seed threads quiet no-cache ");
    if (rc) return rc;
    if ((rc = help_or_usage(&o, generate_help, o.file != NULL)) >= 0) return rc;
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
    if (o.prompt) fputs(o.prompt, stdout);
    s = lam_generate(m, &g, emit, NULL, &st);
    fputc('\n', stdout);
    if (s == LAM_OK && !o.quiet)
        fprintf(stderr, "lamina: %lld prompt tokens in %.3f s, %lld tokens generated in %.3f s (%.0f tokens/s)\n",
                (long long)st.prompt_tokens, st.prompt_s, (long long)st.tokens, st.generate_s,
                st.generate_s > 0 ? (double)st.tokens / st.generate_s : 0.0);
    lam_model_free(m);
    return s == LAM_OK ? 0 : fail(s);
}
