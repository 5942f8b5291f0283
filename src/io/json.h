/* Internal: a small strict JSON (RFC 8259) parser into an arena-allocated tree,
 * and a growable text buffer with a JSON string/number writer.  Used by the
 * safetensors container and available to other layers (e.g. run reports).
 *
 * Strictness: exactly one value, nothing but whitespace after it; no trailing
 * commas, comments, NaN/Infinity, leading zeros or '+'; only the escapes of the
 * RFC with \uXXXX surrogate pairs properly paired; raw control characters in
 * strings are rejected; strings must be valid UTF-8 (no overlongs, no encoded
 * surrogates, nothing above U+10FFFF); bounded nesting depth; duplicate keys
 * in any object are an error.  Numbers do not depend on the C locale. */
#ifndef LAMINA_IO_JSON_H
#define LAMINA_IO_JSON_H

#include "lamina/base.h"

typedef enum lam_json_type {
    LAM_JSON_NULL,
    LAM_JSON_BOOL,
    LAM_JSON_NUMBER,
    LAM_JSON_STRING,
    LAM_JSON_ARRAY,
    LAM_JSON_OBJECT,
} lam_json_type;

/* One value of the tree.  Everything (nodes, strings, child arrays) lives in
 * the arena passed to lam_json_parse and dies with it. */
typedef struct lam_json lam_json;
struct lam_json {
    lam_json_type type;
    size_t offset;       /* byte offset of the value's first character in the input */
    const char *key;     /* set when the value is an object member: NUL-terminated */
    size_t key_len;      /* key length in bytes (a key may contain \u0000) */
    union {
        bool boolean;    /* LAM_JSON_BOOL */
        struct {         /* LAM_JSON_NUMBER */
            double number;    /* the value, correctly rounded */
            int64_t integer;  /* exact value when is_int && !int_overflow */
            bool is_int;      /* the literal has no fraction and no exponent */
            bool int_overflow;/* ... but does not fit in int64_t */
        };
        struct {         /* LAM_JSON_STRING: decoded UTF-8, NUL-terminated */
            const char *str;
            size_t len;       /* bytes, excluding the terminator; may contain NULs */
        };
        struct {         /* LAM_JSON_ARRAY / LAM_JSON_OBJECT */
            lam_json **items; /* n children in document order (members carry key) */
            lam_json **sorted_; /* OBJECT only: members sorted by key, for lookup */
            size_t n;
        };
    };
};

typedef struct lam_json_options {
    int max_depth; /* deepest nesting of arrays/objects; clamped to [1, 1000] */
} lam_json_options;

/* Defaults: max_depth 64. */
lam_json_options lam_json_defaults(void);

/* Where and why a parse failed (offset is a byte offset into the input). */
typedef struct lam_json_error {
    size_t offset;
    char msg[192];
} lam_json_error;

/* Parse `len` bytes of `text` (need not be NUL-terminated) into a tree
 * allocated in `arena`; *out is the root.  `opt` may be NULL (defaults); `err`
 * may be NULL.  Returns LAM_OK; LAM_ERR_FORMAT for malformed input (err filled,
 * and the thread's error message is "JSON: <why> at byte <n>"); LAM_ERR_NOMEM.
 * On failure the arena may hold partial allocations: free the arena.
 * Memory use is bounded by roughly 40 x len bytes in the worst case. */
lam_status lam_json_parse(lam_arena *arena, const char *text, size_t len,
                          const lam_json_options *opt, lam_json **out, lam_json_error *err);

/* Member `key` of an object (binary search), or NULL when absent or when
 * `obj` is NULL or not an object. */
const lam_json *lam_json_get(const lam_json *obj, const char *key);

/* Name of a type for messages: "null", "boolean", "number", ... */
const char *lam_json_type_name(lam_json_type t);

/* True if s[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool lam_json_utf8_valid(const char *s, size_t n);

/* ---- writing ------------------------------------------------------------ */

/* A growable byte buffer (lam_malloc) with a sticky status: after the first
 * failure every append is a no-op and `status` tells why.  Zero-initialise it;
 * `data` is NUL-terminated whenever len > 0 and status is LAM_OK. */
typedef struct lam_json_buf {
    char *data;
    size_t len, cap;
    lam_status status;
} lam_json_buf;

void lam_json_buf_append(lam_json_buf *b, const void *p, size_t n);
void lam_json_buf_puts(lam_json_buf *b, const char *s);
void lam_json_buf_free(lam_json_buf *b); /* frees data and resets to zero */

/* Append s[0..n) as a quoted JSON string: '"' and '\\' escaped, control
 * characters as \n \t \r \b \f or \u00XX, everything else verbatim.  Invalid
 * UTF-8 sets the buffer's status to LAM_ERR_ARG (with a message). */
void lam_json_write_string(lam_json_buf *b, const char *s, size_t n);

/* Append a number in the shortest "%.{15,16,17}g" form that reads back to
 * the same double, with '.' whatever the locale; NaN and infinities become
 * null (JSON has no spelling for them). */
void lam_json_write_double(lam_json_buf *b, double x);

/* Append an integer. */
void lam_json_write_int(lam_json_buf *b, int64_t x);

#endif
