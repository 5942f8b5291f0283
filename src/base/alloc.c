/* Allocation through replaceable hooks, with call and byte accounting (atomic,
 * so kernels may allocate from threads) and test-only fault injection.
 * Every block carries a small header recording its size so that frees can be
 * accounted without the caller passing sizes. */
#include "lamina/base.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define LAM_ALIGN 64
#define HDR 64 /* header size, keeps the payload 64-byte aligned */

static void *default_alloc(size_t size, size_t align, void *user)
{
    (void)user;
    void *p = NULL;
    if (posix_memalign(&p, align, size) != 0) return NULL;
    return p;
}
static void default_free(void *p, void *user)
{
    (void)user;
    free(p);
}

static lam_allocator hooks = {default_alloc, default_free, NULL};
static atomic_uint_fast64_t n_alloc, n_free, bytes_live, bytes_peak, fail_countdown;

void lam_set_allocator(const lam_allocator *a)
{
    if (a && a->alloc && a->free) hooks = *a;
    else hooks = (lam_allocator){default_alloc, default_free, NULL};
}

void lam_alloc_get_stats(lam_alloc_stats *out)
{
    out->n_alloc = atomic_load(&n_alloc);
    out->n_free = atomic_load(&n_free);
    out->bytes_live = atomic_load(&bytes_live);
    out->bytes_peak = atomic_load(&bytes_peak);
}

void lam_alloc_fail_after(uint64_t n) { atomic_store(&fail_countdown, n); }

bool lam_mul_size(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}
bool lam_add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a) return false;
    *out = a + b;
    return true;
}

void *lam_malloc(size_t size)
{
    uint_fast64_t c = atomic_load(&fail_countdown);
    if (c) {
        /* decrement; the allocation that brings it to zero fails */
        while (c && !atomic_compare_exchange_weak(&fail_countdown, &c, c - 1)) {}
        if (c == 1) {
            lam_fail(LAM_ERR_NOMEM, "out of memory (injected fault, %zu bytes)", size);
            return NULL;
        }
    }
    size_t total;
    if (!lam_add_size(size, HDR, &total)) {
        lam_fail(LAM_ERR_NOMEM, "allocation of %zu bytes overflows", size);
        return NULL;
    }
    unsigned char *p = hooks.alloc(total, LAM_ALIGN, hooks.user);
    if (!p) {
        lam_fail(LAM_ERR_NOMEM, "out of memory allocating %zu bytes", size);
        return NULL;
    }
    memcpy(p, &size, sizeof size);
    atomic_fetch_add(&n_alloc, 1);
    uint_fast64_t live = atomic_fetch_add(&bytes_live, size) + size;
    uint_fast64_t peak = atomic_load(&bytes_peak);
    while (live > peak && !atomic_compare_exchange_weak(&bytes_peak, &peak, live)) {}
    return p + HDR;
}

void *lam_calloc(size_t n, size_t size)
{
    size_t bytes;
    if (!lam_mul_size(n, size, &bytes)) {
        lam_fail(LAM_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    void *p = lam_malloc(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void *lam_realloc(void *p, size_t old_size, size_t new_size)
{
    void *q = lam_malloc(new_size);
    if (!q) return NULL;
    if (p) {
        memcpy(q, p, old_size < new_size ? old_size : new_size);
        lam_free(p);
    }
    return q;
}

void lam_free(void *p)
{
    if (!p) return;
    unsigned char *base = (unsigned char *)p - HDR;
    size_t size;
    memcpy(&size, base, sizeof size);
    atomic_fetch_add(&n_free, 1);
    atomic_fetch_sub(&bytes_live, size);
    hooks.free(base, hooks.user);
}

char *lam_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = lam_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

lam_status lam_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first, const char *what)
{
    if (need <= *cap) return LAM_OK;
    size_t nc = *cap ? *cap : (first ? first : 1), old, bytes;
    while (nc < need)
        if (!lam_mul_size(nc, 2, &nc)) return lam_fail(LAM_ERR_NOMEM, "%s size overflows", what);
    if (!lam_mul_size(nc, elem, &bytes) || !lam_mul_size(*cap, elem, &old))
        return lam_fail(LAM_ERR_NOMEM, "%s size overflows", what);
    void *q = lam_realloc(*p, old, bytes);
    if (!q) return LAM_ERR_NOMEM;
    *p = q;
    *cap = nc;
    return LAM_OK;
}
