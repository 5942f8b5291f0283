/* Reader for the golden fixtures in tests/golden/ (*.txt files), produced by the
 * committed scripts tests/golden/make_*.py with Debian's python3-torch.
 * Format: one tensor per line,  "NAME d0 d1 ... : v0 v1 v2 ..."  with values
 * printed as %.9g; lines starting with '#' are comments.  A scalar has no
 * dimensions ("loss : 0.25").  Test-only code: it reads trusted files. */
#ifndef LAMINA_TESTS_GOLDEN_H
#define LAMINA_TESTS_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct golden_tensor {
    char name[128];
    int ndim;
    long d[8];
    long n;
    double *v;
} golden_tensor;

typedef struct golden_file {
    int count;
    golden_tensor *t;
} golden_file;

/* Returns 0 on success; prints why and returns -1 otherwise. */
static int golden_load(const char *path, golden_file *g)
{
    FILE *f = fopen(path, "r");
    memset(g, 0, sizeof *g);
    if (!f) {
        fprintf(stderr, "  cannot open golden fixture %s\n", path);
        return -1;
    }
    size_t cap = 1 << 16;
    char *line = malloc(cap);
    int c, rc = 0;
    while (rc == 0) {
        size_t len = 0;
        while ((c = fgetc(f)) != EOF && c != '\n') {
            if (len + 1 >= cap) line = realloc(line, cap *= 2);
            line[len++] = (char)c;
        }
        line[len] = 0;
        if (len == 0 && c == EOF) break;
        if (len == 0 || line[0] == '#') continue;
        golden_tensor t;
        memset(&t, 0, sizeof t);
        char *colon = strchr(line, ':');
        if (!colon) { rc = -1; break; }
        *colon = 0;
        char *tok = strtok(line, " \t");
        if (!tok) { rc = -1; break; }
        snprintf(t.name, sizeof t.name, "%s", tok);
        t.n = 1;
        while ((tok = strtok(NULL, " \t")) && t.ndim < 8) {
            t.d[t.ndim++] = atol(tok);
            t.n *= t.d[t.ndim - 1];
        }
        t.v = malloc(sizeof(double) * (size_t)(t.n ? t.n : 1));
        char *p = colon + 1;
        for (long i = 0; i < t.n; i++) {
            char *end;
            t.v[i] = strtod(p, &end);
            if (end == p) { rc = -1; break; }
            p = end;
        }
        g->t = realloc(g->t, sizeof *g->t * (size_t)(g->count + 1));
        g->t[g->count++] = t;
    }
    free(line);
    fclose(f);
    if (rc) fprintf(stderr, "  malformed golden fixture %s\n", path);
    return rc;
}

/* The tensor called `name`, or NULL (and a message). */
static const golden_tensor *golden_get(const golden_file *g, const char *name)
{
    for (int i = 0; i < g->count; i++)
        if (strcmp(g->t[i].name, name) == 0) return &g->t[i];
    fprintf(stderr, "  golden tensor %s missing\n", name);
    return NULL;
}

/* Copy a golden tensor into floats. */
static void golden_to_f32(const golden_tensor *t, float *out)
{
    for (long i = 0; i < t->n; i++) out[i] = (float)t->v[i];
}

static void golden_free(golden_file *g)
{
    for (int i = 0; i < g->count; i++) free(g->t[i].v);
    free(g->t);
    memset(g, 0, sizeof *g);
}

#endif
