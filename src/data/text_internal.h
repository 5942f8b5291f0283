/* Private interface of the text part of the data layer: the tokeniser unit
 * iterator (tokenize.c) that the vocabulary, the readers and the windowing
 * code (text.c) share, and the train/test cut of a document.  Not installed. */
#ifndef LAMINA_DATA_TEXT_INTERNAL_H
#define LAMINA_DATA_TEXT_INTERNAL_H

#include "lamina/text.h"

/* Longest unit in bytes: a word piece; byte units are 1 byte, char units at
 * most 4. */
#define TOK_UNIT_MAX LAM_TOKEN_MAX_BYTES

/* Walks the units (tokens before the vocabulary) of a text.  Plain data: no
 * allocation, any number of iterators at once. */
typedef struct tok_iter {
    const unsigned char *s;
    size_t len, pos;
    lam_tokenizer tok;
    bool lower;
    int64_t invalid; /* bytes decoded as U+FFFD so far */
} tok_iter;

void tok_iter_init(tok_iter *it, lam_tokenizer tok, bool lower, const char *s, size_t len);

/* The next unit: its bytes into buf[TOK_UNIT_MAX] (lower-cased when asked;
 * an invalid byte becomes U+FFFD, EF BF BD), their count in *ulen and the
 * byte offset in the text where the unit starts in *off.  false at the end. */
bool tok_iter_next(tok_iter *it, char *buf, size_t *ulen, size_t *off);

/* Byte offset of the train/test cut of a text (see lam_text_split_parts):
 * the start of unit n - ceil(f * n) of its n units, len when that is n.
 * f <= 0 (or NaN) gives len, f >= 1 counts as 1. */
size_t text_cut(lam_tokenizer tok, const char *s, size_t len, double f);

#endif
