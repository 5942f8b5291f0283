/* Bump arena in chained blocks: graph nodes, names and parse trees live here
 * and are freed together. */
#include "lamina/base.h"

#include <string.h>

typedef struct block {
    struct block *next;
    size_t used, cap;
    unsigned char data[];
} block;

struct lam_arena {
    block *head;
    size_t block_size;
};

lam_arena *lam_arena_new(size_t block_size)
{
    lam_arena *a = lam_calloc(1, sizeof *a);
    if (!a) return NULL;
    a->block_size = block_size ? block_size : 16384;
    return a;
}

void *lam_arena_alloc(lam_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > a->block_size ? size : a->block_size;
        size_t total;
        if (!lam_add_size(sizeof(block), cap, &total)) return NULL;
        b = lam_malloc(total);
        if (!b) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *lam_arena_strdup(lam_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = lam_arena_alloc(a, n);
    if (d) memcpy(d, s, n);
    return d;
}

void lam_arena_free(lam_arena *a)
{
    if (!a) return;
    for (block *b = a->head, *n; b; b = n) {
        n = b->next;
        lam_free(b);
    }
    lam_free(a);
}
