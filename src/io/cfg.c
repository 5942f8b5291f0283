/* The model-file parser: `[section]` + `key = value`, strict, with line
 * numbers in every error, and typed getters that track which keys were used. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "lamina/config.h"

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) *--e = 0;
    return s;
}

static bool valid_name(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.')) return false;
    return true;
}

/* Repeated keys are found through one hash table over (section, key) for
 * the whole file, so parsing stays linear in the file size (a scan of the
 * section per key took minutes for a 1 MiB file of distinct keys).  Slots
 * hold section << 32 | key index, or -1. */
static size_t key_hash(int sec, const char *k, size_t mask)
{
    uint64_t h = 1469598103934665603ull ^ ((uint64_t)sec * 0x9E3779B97F4A7C15ull);
    for (; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29)) & mask;
}

void lam_cfg_free(lam_cfg *c)
{
    if (!c) return;
    lam_free(c->text);
    lam_arena_free(c->arena);
    lam_free(c);
}

lam_status lam_cfg_parse(const char *text, size_t len, const char *path, lam_cfg **out)
{
    *out = NULL;
    if (!path) path = "<model>";
    if (len > LAM_CFG_MAX_BYTES)
        return lam_fail(LAM_ERR_FORMAT, "%s: model file is %zu bytes, more than the %u allowed", path, len,
                        LAM_CFG_MAX_BYTES);
    if (memchr(text, 0, len)) return lam_fail(LAM_ERR_FORMAT, "%s: model file contains a NUL byte (binary?)", path);
    /* the text goes into checkpoint metadata, which is JSON: UTF-8 only (an
     * invalid byte found here, not when the first checkpoint is written) */
    if (!lam_json_utf8_valid(text, len)) {
        int line = 1;
        for (const char *p = text, *end = text + len, *nl; p < end; p = nl + 1, line++) {
            nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) nl = end;
            if (!lam_json_utf8_valid(p, (size_t)(nl - p))) break;
        }
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: not valid UTF-8; hint: save the model file as UTF-8", path, line);
    }
    lam_cfg *c = lam_calloc(1, sizeof *c);
    if (!c) return LAM_ERR_NOMEM;
    c->arena = lam_arena_new(0);
    c->text = lam_malloc(len + 1);
    char *work = lam_malloc(len + 1);
    /* every key is on a line of its own: twice the lines bounds the load */
    size_t lines = 1, mask = 15;
    for (const char *p = text, *end = text + len; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) lines++;
    while (mask + 1 < 2 * lines) mask = mask * 2 + 1;
    int64_t *slot = lam_malloc((mask + 1) * sizeof *slot);
    lam_status st = LAM_OK;
    if (!c->arena || !c->text || !work || !slot) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    memset(slot, 0xff, (mask + 1) * sizeof *slot);
    memcpy(c->text, text, len);
    c->text[len] = 0;
    c->text_len = len;
    memcpy(work, text, len);
    work[len] = 0;
    c->path = lam_arena_strdup(c->arena, path);
    if (!c->path) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    int cap_sec = 0, cap_kv = 0;
    int line = 0;
    for (char *p = work, *next; p && *p; p = next) {
        line++;
        next = strchr(p, '\n');
        if (next) *next++ = 0;
        /* comments: whole line, or '#'/';' after whitespace */
        for (char *q = p; *q; q++)
            if ((*q == '#' || *q == ';') && (q == p || q[-1] == ' ' || q[-1] == '\t')) {
                *q = 0;
                break;
            }
        char *s = trim(p);
        if (!*s) continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1] != 0) {
                st = lam_fail(LAM_ERR_FORMAT, "%s:%d: malformed section header '%s' (expected [name])", path, line, s);
                goto done;
            }
            *close = 0;
            char *name = trim(s + 1);
            if (!valid_name(name)) {
                st = lam_fail(LAM_ERR_FORMAT, "%s:%d: bad section name '%s'", path, line, name);
                goto done;
            }
            if (c->n_sec == cap_sec) {
                int nc = cap_sec ? cap_sec * 2 : 16;
                lam_cfg_section *ns = lam_arena_alloc(c->arena, sizeof *ns * (size_t)nc);
                if (!ns) {
                    st = LAM_ERR_NOMEM;
                    goto done;
                }
                if (c->n_sec) memcpy(ns, c->sec, sizeof *ns * (size_t)c->n_sec);
                c->sec = ns;
                cap_sec = nc;
            }
            lam_cfg_section *sec = &c->sec[c->n_sec++];
            memset(sec, 0, sizeof *sec);
            sec->name = lam_arena_strdup(c->arena, name);
            sec->line = line;
            cap_kv = 0;
            if (!sec->name) {
                st = LAM_ERR_NOMEM;
                goto done;
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            st = lam_fail(LAM_ERR_FORMAT, "%s:%d: expected 'key = value' or '[section]', found '%s'", path, line, s);
            goto done;
        }
        if (c->n_sec == 0) {
            st = lam_fail(LAM_ERR_FORMAT, "%s:%d: key outside any section (start with a [section] line)", path, line);
            goto done;
        }
        *eq = 0;
        char *key = trim(s), *val = trim(eq + 1);
        if (!valid_name(key)) {
            st = lam_fail(LAM_ERR_FORMAT, "%s:%d: bad key '%s'", path, line, key);
            goto done;
        }
        if (!*val) {
            st = lam_fail(LAM_ERR_FORMAT, "%s:%d: key '%s' has no value", path, line, key);
            goto done;
        }
        int si = c->n_sec - 1;
        lam_cfg_section *sec = &c->sec[si];
        size_t h = key_hash(si, key, mask);
        for (; slot[h] >= 0; h = (h + 1) & mask) {
            const lam_cfg_kv *old = &c->sec[slot[h] >> 32].kv[slot[h] & 0xffffffff];
            if ((int)(slot[h] >> 32) == si && strcmp(old->key, key) == 0) {
                st = lam_fail(LAM_ERR_FORMAT, "%s:%d: key '%s' repeated in [%s] (first on line %d)", path, line, key,
                              sec->name, old->line);
                goto done;
            }
        }
        if (sec->n_kv == cap_kv) {
            int nc = cap_kv ? cap_kv * 2 : 8;
            lam_cfg_kv *nk = lam_arena_alloc(c->arena, sizeof *nk * (size_t)nc);
            if (!nk) {
                st = LAM_ERR_NOMEM;
                goto done;
            }
            if (sec->n_kv) memcpy(nk, sec->kv, sizeof *nk * (size_t)sec->n_kv);
            sec->kv = nk;
            cap_kv = nc;
        }
        lam_cfg_kv *kv = &sec->kv[sec->n_kv++];
        kv->key = lam_arena_strdup(c->arena, key);
        kv->value = lam_arena_strdup(c->arena, val);
        kv->line = line;
        if (!kv->key || !kv->value) {
            st = LAM_ERR_NOMEM;
            goto done;
        }
        slot[h] = (int64_t)si << 32 | (int64_t)(sec->n_kv - 1);
    }
done:
    lam_free(slot);
    lam_free(work);
    if (st != LAM_OK) {
        lam_cfg_free(c);
        return st;
    }
    *out = c;
    return LAM_OK;
}

lam_status lam_cfg_load(const char *path, lam_cfg **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return lam_fail(LAM_ERR_IO, "%s: cannot open model file: %s", path, strerror(errno));
    char *buf = lam_malloc(LAM_CFG_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return LAM_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, LAM_CFG_MAX_BYTES + 1, f);
    int err = ferror(f);
    fclose(f);
    lam_status st;
    if (err) st = lam_fail(LAM_ERR_IO, "%s: read error", path);
    else st = lam_cfg_parse(buf, n, path, out);
    lam_free(buf);
    return st;
}

int lam_cfg_find(const lam_cfg *c, const char *name, int from)
{
    for (int i = from < 0 ? 0 : from; i < c->n_sec; i++)
        if (strcmp(c->sec[i].name, name) == 0) return i;
    return -1;
}

const char *lam_cfg_raw(lam_cfg *c, lam_cfg_section *s, const char *key, int *line)
{
    (void)c;
    if (!s) return NULL;
    for (int i = 0; i < s->n_kv; i++)
        if (strcmp(s->kv[i].key, key) == 0) {
            s->kv[i].used = true;
            if (line) *line = s->kv[i].line;
            return s->kv[i].value;
        }
    return NULL;
}

lam_status lam_cfg_int(lam_cfg *c, lam_cfg_section *s, const char *key, long def, long min, long max, long *out)
{
    int line;
    const char *v = lam_cfg_raw(c, s, key, &line);
    *out = def;
    if (!v) return LAM_OK;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: %s = '%s' is not an integer", c->path, line, key, v);
    if (x < min || x > max)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: %s = %ld is outside %ld..%ld", c->path, line, key, x, min, max);
    *out = x;
    return LAM_OK;
}

lam_status lam_cfg_double(lam_cfg *c, lam_cfg_section *s, const char *key, double def, double min, double max,
                          double *out)
{
    int line;
    const char *v = lam_cfg_raw(c, s, key, &line);
    *out = def;
    if (!v) return LAM_OK;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x))
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: %s = '%s' is not a finite number", c->path, line, key, v);
    if (x < min || x > max)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: %s = %g is outside [%g, %g]", c->path, line, key, x, min, max);
    *out = x;
    return LAM_OK;
}

lam_status lam_cfg_bool(lam_cfg *c, lam_cfg_section *s, const char *key, bool def, bool *out)
{
    int line;
    const char *v = lam_cfg_raw(c, s, key, &line);
    *out = def;
    if (!v) return LAM_OK;
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0")) *out = false;
    else return lam_fail(LAM_ERR_FORMAT, "%s:%d: %s = '%s': expected true or false", c->path, line, key, v);
    return LAM_OK;
}

lam_status lam_cfg_str(lam_cfg *c, lam_cfg_section *s, const char *key, const char *def, const char **out)
{
    const char *v = lam_cfg_raw(c, s, key, NULL);
    *out = v ? v : def;
    return LAM_OK;
}

lam_status lam_cfg_choice(lam_cfg *c, lam_cfg_section *s, const char *key, const char *const *choices, int def,
                          int *out)
{
    int line;
    const char *v = lam_cfg_raw(c, s, key, &line);
    *out = def;
    if (!v) return LAM_OK;
    for (int i = 0; choices[i]; i++)
        if (strcmp(v, choices[i]) == 0) {
            *out = i;
            return LAM_OK;
        }
    char list[256] = "";
    for (int i = 0; choices[i]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, choices[i], sizeof list - strlen(list) - 1);
    }
    return lam_fail(LAM_ERR_FORMAT, "%s:%d: %s = '%s': expected one of %s", c->path, line, key, v, list);
}

lam_status lam_cfg_int_list(lam_cfg *c, lam_cfg_section *s, const char *key, int64_t *out, int max, int *n,
                            bool required)
{
    int line;
    const char *v = lam_cfg_raw(c, s, key, &line);
    *n = 0;
    if (!v) {
        if (required)
            return lam_fail(LAM_ERR_FORMAT, "%s:%d: [%s] needs '%s'", c->path, s ? s->line : 0, s ? s->name : "?", key);
        return LAM_OK;
    }
    const char *p = v;
    while (*p) {
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (errno || end == p || x <= 0 || x > (1LL << 31))
            return lam_fail(LAM_ERR_FORMAT, "%s:%d: %s = '%s': expected positive integers separated by commas",
                            c->path, line, key, v);
        if (*n == max) return lam_fail(LAM_ERR_FORMAT, "%s:%d: %s has more than %d values", c->path, line, key, max);
        out[(*n)++] = x;
        while (*end == ' ' || *end == '\t') end++;
        if (*end == ',') end++;
        else if (*end) return lam_fail(LAM_ERR_FORMAT, "%s:%d: %s = '%s': unexpected '%c'", c->path, line, key, v, *end);
        while (*end == ' ' || *end == '\t') end++;
        p = end;
    }
    return LAM_OK;
}

lam_status lam_cfg_check_unused(const lam_cfg *c)
{
    for (int i = 0; i < c->n_sec; i++)
        for (int k = 0; k < c->sec[i].n_kv; k++)
            if (!c->sec[i].kv[k].used)
                return lam_fail(LAM_ERR_FORMAT, "%s:%d: unknown key '%s' in [%s]", c->path, c->sec[i].kv[k].line,
                                c->sec[i].kv[k].key, c->sec[i].name);
    return LAM_OK;
}
