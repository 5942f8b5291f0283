/* Model files: a strict `[section]` + `key = value` text format.
 *
 *   # comment            ; comment too; also after a value, following a space
 *   [net]
 *   input = 64
 *
 * Sections may repeat (one per layer); keys may not repeat within a section.
 * Reading a key through the typed getters marks it used; lam_cfg_check_unused
 * then reports any key nobody asked for as an error with its line number, so
 * a typo never passes silently. */
#ifndef LAMINA_CONFIG_H
#define LAMINA_CONFIG_H

#include "lamina/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lam_cfg_kv {
    const char *key, *value;
    int line;
    bool used;
} lam_cfg_kv;

typedef struct lam_cfg_section {
    const char *name;
    int line;
    lam_cfg_kv *kv;
    int n_kv;
} lam_cfg_section;

typedef struct lam_cfg {
    const char *path;     /* for messages */
    char *text;           /* the whole file, kept for checkpoints */
    size_t text_len;
    lam_cfg_section *sec;
    int n_sec;
    lam_arena *arena;
} lam_cfg;

/* Largest model file accepted (bytes). */
#define LAM_CFG_MAX_BYTES (1u << 20)

/* Parse `len` bytes of text; `path` names the source in messages.  On error
 * returns LAM_ERR_FORMAT with "path:line: what" and *out = NULL. */
lam_status lam_cfg_parse(const char *text, size_t len, const char *path, lam_cfg **out);
/* Read and parse a file (LAM_ERR_IO if it cannot be read). */
lam_status lam_cfg_load(const char *path, lam_cfg **out);
void lam_cfg_free(lam_cfg *c);

/* The first section called `name` at or after index `from` (-1 if none). */
int lam_cfg_find(const lam_cfg *c, const char *name, int from);
/* The raw value of `key` in section `s` (marks it used), or NULL. */
const char *lam_cfg_raw(lam_cfg *c, lam_cfg_section *s, const char *key, int *line);

/* Typed getters: a missing key gives the default (or, with required, an
 * error naming the section); a malformed or out-of-range value is
 * LAM_ERR_FORMAT with the line number.  s may be NULL (missing section). */
lam_status lam_cfg_int(lam_cfg *c, lam_cfg_section *s, const char *key, long def, long min, long max, long *out);
lam_status lam_cfg_double(lam_cfg *c, lam_cfg_section *s, const char *key, double def, double min, double max,
                          double *out);
lam_status lam_cfg_bool(lam_cfg *c, lam_cfg_section *s, const char *key, bool def, bool *out);
lam_status lam_cfg_str(lam_cfg *c, lam_cfg_section *s, const char *key, const char *def, const char **out);
/* One of `choices` (NULL-terminated); *out is its index. */
lam_status lam_cfg_choice(lam_cfg *c, lam_cfg_section *s, const char *key, const char *const *choices, int def,
                          int *out);
/* A comma-separated list of up to `max` positive integers ("1, 28, 28"). */
lam_status lam_cfg_int_list(lam_cfg *c, lam_cfg_section *s, const char *key, int64_t *out, int max, int *n,
                            bool required);
/* Error for the first key that no getter read. */
lam_status lam_cfg_check_unused(const lam_cfg *c);

#ifdef __cplusplus
}
#endif
#endif
