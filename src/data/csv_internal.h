/* Private interface between the CSV tokenizer (csv_lex.c: buffered zlib input,
 * records split into fields) and the CSV reader (csv.c: columns, numbers,
 * labels, missing values, the data set).  Not installed. */
#ifndef LAMINA_DATA_CSV_INTERNAL_H
#define LAMINA_DATA_CSV_INTERNAL_H

#include "lamina/data.h"

#include <zlib.h>

/* Buffered input over gzopen/gzread (plain files pass through unchanged). */
typedef struct csv_src {
    gzFile gz;
    const char *path;
    unsigned char *buf;
    size_t len, pos;
    bool eof, first_fill;
    lam_status err;     /* sticky read error (message already recorded) */
    int64_t line, col;  /* 1-based position of the next byte */
    int64_t cl, cc;     /* position of the byte last read */
} csv_src;

typedef struct csv_field {
    size_t off, len;    /* bytes in csv_rec.text (NUL-terminated; may hold NULs) */
    int64_t line, col;  /* where the field starts */
} csv_field;

/* One record (a line, or several when quotes span lines).  Buffers are
 * reused from record to record. */
typedef struct csv_rec {
    char *text;
    size_t used, cap;
    csv_field *f;
    int nf;
    size_t fcap;
    int64_t line;               /* line of the record's first byte */
    int64_t end_line, end_col;  /* where the record ended */
    bool too_many;              /* stopped at max_fields + 1 fields */
} csv_rec;

/* Open path for reading.  LAM_ERR_IO / LAM_ERR_NOMEM with a message. */
lam_status csv_src_open(csv_src *s, const char *path);
void csv_src_close(csv_src *s);
/* Whether the file turned out to be gzip-compressed (after the first read). */
bool csv_src_is_gzip(csv_src *s);

/* Read the next non-blank record.  *got is false at end of file.  max_fields
 * > 0 stops a record once it has more fields than that (rec->too_many).
 * Errors: LAM_ERR_FORMAT (unterminated quote, text after a closing quote,
 * record longer than max_line, corrupt gzip), LAM_ERR_IO, LAM_ERR_NOMEM. */
lam_status csv_next(csv_src *s, csv_rec *r, char delim, size_t max_line, int max_fields,
                    bool *got);
void csv_rec_free(csv_rec *r);

static inline const char *csv_field_text(const csv_rec *r, int i) { return r->text + r->f[i].off; }

/* ---- field values (csv_values.c) ---- */

/* Missing-value markers: empty, NA, N/A, NaN (any case), "?". */
bool csv_is_missing(const char *s, size_t n);

/* Strict number: 0 and a finite value in *v; 1: not a number; 2: infinite or
 * outside float range.  Same bits as strtod in the C locale. */
int csv_parse_num(const char *s, size_t n, double *v);

/* Interned label strings with an open-addressing hash index (zero-init). */
typedef struct csv_strtab {
    char *pool;
    size_t used, cap;
    struct strent { size_t off, len; } *ent;
    size_t ecap;
    int32_t n;
    int32_t *h; /* -1: empty */
    size_t hcap;
} csv_strtab;

void csv_strtab_free(csv_strtab *t);
/* Id of s[0..n), or -1 (then *slot, if not NULL, is where it would go). */
int32_t csv_strtab_find(const csv_strtab *t, const char *s, size_t n, size_t *slot);
/* Id of s[0..n), added when new (*added set).  LAM_ERR_NOMEM. */
lam_status csv_strtab_intern(csv_strtab *t, const char *s, size_t n, int32_t *id, bool *added);
static inline const char *csv_strtab_str(const csv_strtab *t, int32_t id)
{
    return t->pool + t->ent[id].off;
}

/* A field shown in a message: at most ~40 bytes, quotes and non-printable
 * bytes escaped, "..." when cut.  Returns out. */
char *csv_show(const char *s, size_t len, char *out, size_t n);

/* The index of column `col` (by header name, or by index, negative from the
 * end) among the ncols fields of the header record `head`.  Errors:
 * LAM_ERR_ARG naming `what` (a name absent or twice in the header, with the
 * columns listed; an index out of range). */
lam_status csv_resolve_col(const char *path, const csv_rec *head, int ncols, lam_csv_col col, const char *what,
                           int *idx);

#endif