/* Lamina data layer, sequence part: tokenisers and vocabularies, token data
 * sets (language-modelling windows over a corpus, labelled text, documents
 * cut into labelled windows) and time-series windows.  Token data sets are
 * lam_datasets whose features are int32 ids (see the `ids` fields of
 * lam_dataset in lamina/data.h).
 *
 * Text is bytes.  The byte tokeniser takes them as they are; the char and
 * word tokenisers decode UTF-8, and every byte that does not start a valid
 * UTF-8 sequence (overlong forms, surrogates, code points above U+10FFFF,
 * truncated sequences) decodes to U+FFFD, the replacement character, one per
 * offending byte, counted in lam_text_stats.  Nothing about the input can
 * make these functions crash or allocate more than the input's size allows.
 *
 * Every fallible function returns lam_status with a message in
 * lam_last_error() (path, byte offset or line, what, a hint). */
#ifndef LAMINA_TEXT_H
#define LAMINA_TEXT_H

#include "lamina/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tokenisers and vocabularies ------------------------------------------ */

typedef enum lam_tokenizer {
    LAM_TOKENIZER_BYTE = 0, /* one token per byte */
    LAM_TOKENIZER_CHAR,     /* one token per Unicode code point (UTF-8) */
    LAM_TOKENIZER_WORD,     /* words: runs of letters/digits/marks (and '_',
                               '\''), each other non-space code point a token
                               of its own; white space separates and is dropped.
                               Classes: ASCII by the C locale's rules; above
                               ASCII a code point is a word character unless it
                               is white space (Unicode White_Space, U+200B,
                               U+FEFF) or in the punctuation / symbol table of
                               src/data/tokenize.c (Latin-1 and general
                               punctuation, currency, arrows, mathematical and
                               technical symbols, box drawing, dingbats, CJK and
                               full-width punctuation, emoji, U+FFFD: a
                               replaced invalid byte is a token of its own) */
    LAM_TOKENIZER_COUNT_
} lam_tokenizer;

/* "byte", "char", "word" ("?" for another value); and back (false for an
 * unknown name, *out untouched). */
const char *lam_tokenizer_name(lam_tokenizer t);
bool lam_tokenizer_from_name(const char *name, lam_tokenizer *out);

/* Largest vocabulary (ids are int32; the output layer of a language model
 * has one unit per token). */
#define LAM_VOCAB_MAX_SIZE (1 << 22)
/* Longest word token in bytes; longer runs are cut into pieces this long. */
#define LAM_TOKEN_MAX_BYTES 256

typedef struct lam_vocab_opts {
    lam_tokenizer tokenizer; /* BYTE */
    int64_t min_freq;        /* 1 (>= 1): units seen fewer times in the training
                                text are left out (they encode as <unk>, or are
                                an error) */
    int32_t max_size;        /* 0: no limit; else at most this many tokens in all,
                                specials included (so it must exceed their
                                number), keeping the most frequent (ties: the
                                bytewise smaller unit) */
    bool lowercase;          /* fold ASCII letters to lower case before
                                counting and encoding (false) */
    bool pad;                /* reserve id 0 for "<pad>" (padded batches) (false) */
    bool unk;                /* reserve an id for "<unk>": units not in the
                                vocabulary encode as it; without it they are an
                                error (false) */
} lam_vocab_opts;

/* byte tokenizer, min_freq 1, no limit, no lowercase, no specials. */
lam_vocab_opts lam_vocab_opts_defaults(void);

/* A vocabulary: the tokenizer and its token list.  Ids: "<pad>" (if any) is
 * 0, then "<unk>" (if any), then the units.  Byte and char units are in
 * ascending byte / code point order (so a byte vocabulary of a corpus is
 * the sorted set of its distinct bytes, ids their ranks, as in the
 * char_lstm peer workload); words in descending frequency, ties in bytewise
 * order.  Immutable once built; shared read-only by any number of threads. */
typedef struct lam_vocab lam_vocab;

/* What encoding met (counts add up across calls when the same stats is
 * passed again; zero it first).  A call that fails adds nothing. */
typedef struct lam_text_stats {
    int64_t bytes;          /* input bytes */
    int64_t tokens;         /* tokens produced (before any truncation) */
    int64_t invalid_utf8;   /* bytes decoded as U+FFFD (char, word) */
    int64_t unknown;        /* units encoded as <unk> */
    int64_t truncated;      /* tokens cut off by a length limit; for windows:
                               tokens that are in no window */
} lam_text_stats;

/* Build a vocabulary from n training texts (texts[i] is lens[i] bytes, any
 * bytes, NULs included); opts NULL: the defaults.  The caller owns *out
 * (lam_vocab_free).  Memory: a table of the distinct units seen, at most the
 * size of the texts.  Errors: LAM_ERR_ARG (bad options, n < 0, NULL arrays),
 * LAM_ERR_FORMAT (no token at all, or more than LAM_VOCAB_MAX_SIZE with no
 * max_size), LAM_ERR_NOMEM.  On error *out is NULL. */
lam_status lam_vocab_build(const lam_vocab_opts *opts, const char *const *texts, const size_t *lens,
                           int64_t n, lam_vocab **out);
/* Release a vocabulary; NULL is a no-op. */
void lam_vocab_free(lam_vocab *v);

/* Tokens in all, specials included (the V of an embedding or output layer);
 * the tokenizer; the ids of the specials.  Cannot fail. */
int32_t lam_vocab_size(const lam_vocab *v);
lam_tokenizer lam_vocab_tokenizer(const lam_vocab *v);
int32_t lam_vocab_pad_id(const lam_vocab *v); /* -1 if none */
int32_t lam_vocab_unk_id(const lam_vocab *v); /* -1 if none */
/* The token of id as text (a byte, a UTF-8 code point, a word, "<pad>",
 * "<unk>") and its length in bytes; NULL for an id out of range.  Valid
 * while v lives. */
const char *lam_vocab_token(const lam_vocab *v, int32_t id, size_t *len);
/* The id of a token's text (a unit as the tokenizer produces it, after
 * lower-casing; "<pad>", "<unk>"), or -1. */
int32_t lam_vocab_find(const lam_vocab *v, const char *token, size_t len);

/* Encode len bytes of text: up to cap ids into ids[]; *n receives the number
 * of tokens of the whole text (which may exceed cap: the rest are counted in
 * stats->truncated and not written; cap 0 with ids NULL counts only).
 * stats may be NULL.  `where` names the text in messages (a path,
 * "row 12"), may be NULL.  Allocates nothing.
 * Errors: LAM_ERR_ARG (NULL arguments, cap < 0), LAM_ERR_FORMAT for a unit
 * not in the vocabulary when it has no <unk> (naming the unit, its byte
 * offset and `where`). */
lam_status lam_vocab_encode(const lam_vocab *v, const char *text, size_t len, int32_t *ids,
                            int64_t cap, int64_t *n, lam_text_stats *stats, const char *where);

/* Decode ids into text: byte and char tokens are concatenated, words are
 * joined with single spaces; "<pad>" is skipped and "<unk>" written as
 * U+FFFD.  Writes at most cap - 1 bytes and a NUL (cap 0: nothing, out may
 * be NULL); *len (may be NULL) receives the length the whole text needs
 * (like snprintf).  Allocates nothing.  Errors: LAM_ERR_ARG (an id out of
 * range, naming its position; NULL arguments). */
lam_status lam_vocab_decode(const lam_vocab *v, const int32_t *ids, int64_t n, char *out,
                            size_t cap, size_t *len);

/* The vocabulary as a JSON object (for checkpoint metadata):
 *   {"tokenizer": "char", "lowercase": false, "pad": true, "unk": true,
 *    "tokens": [...]}
 * tokens are JSON strings for char and word vocabularies, and byte values
 * (integers 0..255) for byte vocabularies (a lone byte is not valid UTF-8);
 * specials are not listed (they are implied by pad and unk).  *json is
 * NUL-terminated, owned by the caller (lam_free). */
lam_status lam_vocab_to_json(const lam_vocab *v, char **json, size_t *len);
/* Rebuild from lam_vocab_to_json's text, checking everything before use:
 * strict JSON syntax (see src/io/json.h); exactly the five fields, of their
 * types; a known tokenizer; 1 to LAM_VOCAB_MAX_SIZE tokens in all (a text
 * that lists more is rejected by a scan before it is parsed); each token one
 * unit of its tokenizer as the tokenizer would produce it (an integer 0..255
 * for bytes, one code point for chars, one word piece for words; no ASCII
 * capitals when lowercase); byte and char tokens in strictly ascending order,
 * word tokens each once.  The caller owns *out.
 * Errors: LAM_ERR_FORMAT naming the problem and its byte offset,
 * LAM_ERR_NOMEM.  On error *out is NULL. */
lam_status lam_vocab_from_json(const char *json, size_t len, lam_vocab **out);

/* ---- text sources ------------------------------------------------------------ */

/* Largest single text file the readers accept (bytes). */
#define LAM_TEXT_MAX_FILE ((int64_t)1 << 31)

/* Read a corpus: a file, or every entry of a directory in bytewise name order
 * concatenated with nothing between (hidden entries, names starting with
 * '.', are skipped).  follow_links: symbolic links are followed (a linked
 * file's text then appears once per name, as cat does with a shell glob);
 * else they are skipped.  Subdirectories and special files are skipped.
 * The sizes come from the file system before one buffer is allocated; a
 * file that changes while it is read is an error.  *text (NUL-terminated,
 * owned by the caller: lam_free) and *len receive the bytes.
 * Errors: LAM_ERR_ARG (NULL argument), LAM_ERR_IO (open, read, a dangling
 * link that is to be followed), LAM_ERR_FORMAT (empty corpus, a file or the
 * whole corpus over LAM_TEXT_MAX_FILE), LAM_ERR_NOMEM. */
lam_status lam_text_read_corpus(const char *path, bool follow_links, char **text, size_t *len);

/* Texts with class labels, before tokenisation. */
typedef struct lam_text_set {
    int64_t n;
    char **text;            /* [n] owned, NUL-terminated (may hold NULs) */
    size_t *len;            /* [n] bytes */
    int32_t *labels;        /* [n] in [0, nclasses) */
    int32_t nclasses;
    char **class_names;     /* [nclasses], sorted bytewise (or as given to the
                               CSV reader); labels index them */
    char **names;           /* [n] where each text came from (file name, "line 12"), or NULL */
} lam_text_set;
/* Release a text set and everything it owns; NULL is a no-op. */
void lam_text_set_free(lam_text_set *s);

/* Documents labelled by file name: every regular file of `dir` (symbolic
 * links skipped: several names may point at one text; hidden entries
 * skipped), in bytewise name order; the class of a file is its name up to
 * the first `sep` (the whole name without one, or with sep 0): "GPL-2" ->
 * "GPL".  names[i] is the file name.  The caller owns *out
 * (lam_text_set_free).  Errors: LAM_ERR_ARG, LAM_ERR_IO, LAM_ERR_FORMAT (no
 * files, a file over LAM_TEXT_MAX_FILE), LAM_ERR_NOMEM. */
lam_status lam_text_files_read(const char *dir, char sep, lam_text_set **out);

/* Labelled text in a CSV file (plain or gzip; RFC 4180 quoting, so texts
 * may hold delimiters and line breaks): one column is the class label, one
 * the text; other columns are ignored.  Labels are strings (classes sorted
 * bytewise; or, given opts->class_names, one of those, in their order;
 * opts->nclasses alone is ignored).  Records longer than max_line bytes are
 * an error with the line number (never a crash); every record must have as
 * many fields as the first (a missing label or text field is an error with
 * its line); an empty label is an error; an empty text is kept (see
 * lam_dataset_from_texts).  Texts are kept as bytes: invalid UTF-8 is
 * replaced (and counted) when a char or word vocabulary encodes them.  The
 * layout comes from opts (NULL: the defaults): delimiter, header (AUTO: a
 * header when the label or the text column is selected by name, else none),
 * label column (opts->label; its default {-1, NULL} means the first column
 * here), and text_col (by name or index as lam_csv_col; {-1, NULL}: the
 * last).  names[i] is "line N", the record's first line.  The caller owns
 * *out (lam_text_set_free).
 * Errors: as lam_csv_read (LAM_ERR_ARG also when label and text are the
 * same column). */
lam_status lam_text_csv_read(const char *path, const lam_csv_opts *opts, lam_csv_col text_col,
                             lam_text_set **out);

/* ---- token data sets ------------------------------------------------------------ */

/* Language-modelling windows over one token stream: the text is encoded
 * with v and cut into windows of `seq` input tokens at every `stride`-th
 * position (1: every position, as random offsets would be drawn), each
 * target being the next `seq` tokens.  The windows share one ids buffer
 * (ids_stride = stride): n = (tokens - seq - 1) / stride + 1, ids_len =
 * (n - 1) * stride + seq + 1 (the tail no window reaches is not kept; it is
 * counted in stats->truncated).  The data set: next_token, nclasses = vocab
 * = lam_vocab_size(v), labels NULL, no names.  The caller owns *out.
 * stats may be NULL; where names the text in messages (may be NULL).
 * Errors: LAM_ERR_ARG (seq or stride outside [1, INT32_MAX - 1]), the
 * encoder's errors, LAM_ERR_FORMAT (a text too short for one window, with
 * its token count), LAM_ERR_NOMEM. */
lam_status lam_dataset_lm_windows(const lam_vocab *v, const char *text, size_t len, int64_t seq,
                                  int64_t stride, lam_text_stats *stats, const char *where,
                                  lam_dataset **out);

/* Split a windowed language-modelling set by position: the first windows go
 * to *head, the windows that start at or after the cut to *tail, so that no
 * token is an input or target in both (windows that would overlap the cut
 * are dropped).  tail_fraction in (0, 1): the share of the token stream in
 * the tail; the stream is the L = (n - 1) * ids_stride + nfeat + 1 tokens the
 * windows read, the cut is at L - ceil(tail_fraction * L).  Both parts keep
 * the stride and share nothing with ds (they are copies); works on any
 * next-token set without lengths (also one of rows of their own, whose
 * "position" is then the row order).
 * Errors: LAM_ERR_ARG (not a windowed next-token set, fraction out of
 * range), LAM_ERR_FORMAT (a part would be empty), LAM_ERR_NOMEM. */
lam_status lam_dataset_lm_split(const lam_dataset *ds, double tail_fraction, lam_dataset **head,
                                lam_dataset **tail);

/* Labelled texts as padded rows: each text encoded with v into at most
 * `seq` tokens (longer texts are cut at seq tokens, counted in
 * stats->truncated; texts with no token (empty, or only white space for
 * words) get one <pad> token or, without a pad id, are an error), padded
 * with the pad id (or 0 when v has none) up to seq; lengths[i] = tokens
 * kept (>= 1).  Rows idx[0..m) of s (idx NULL: all, in order).  The class
 * names are copied; labels are s's.  The caller owns *out.
 * Errors: LAM_ERR_ARG (bad arguments, an index out of range), the
 * encoder's errors (naming the text), LAM_ERR_FORMAT (a text with no token
 * and no pad id), LAM_ERR_NOMEM. */
lam_status lam_dataset_from_texts(const lam_text_set *s, const uint32_t *idx, int64_t m,
                                  const lam_vocab *v, int64_t seq, lam_text_stats *stats,
                                  lam_dataset **out);

/* Documents cut into labelled windows, split by position inside each
 * document: the first (1 - test_fraction) of each document's tokens yield
 * training windows, the rest test windows, so that no window is in both
 * parts (windows never cross the cut).  The cut is lam_text_split_parts's:
 * of a document's n tokenizer units the last ceil(test_fraction * n) are
 * the test part (one unit is one token).  Windows of `seq` tokens every
 * `stride` tokens from the start of each part (stride = seq: no overlap); a
 * part shorter than one window gives none.  Rows of their own
 * (ids_stride = seq, no lengths), in document order; each window is
 * labelled with its document's class and the class names are copied.  The
 * vocabulary must have been built on the training parts only (see
 * lam_text_split_parts); test parts may then hold units it lacks, so give
 * it <unk>.  test_fraction 0: everything is training data and *test is
 * NULL (test may then be NULL).  Errors: LAM_ERR_ARG (bad arguments,
 * test_fraction outside [0, 1)), the encoder's errors, LAM_ERR_FORMAT (no
 * training window; no test window when test_fraction > 0), LAM_ERR_NOMEM. */
lam_status lam_dataset_doc_windows(const lam_text_set *s, const lam_vocab *v, int64_t seq,
                                   int64_t stride, double test_fraction, lam_text_stats *stats,
                                   lam_dataset **train, lam_dataset **test);

/* The training part of each document as lam_dataset_doc_windows cuts it
 * (the bytes before the cut; the cut falls on a tokenizer unit boundary of
 * v's tokenizer: a byte, a UTF-8 sequence, between words: the start of unit
 * n - ceil(test_fraction * n) of the document's n units), for building the
 * vocabulary on the training text only: parts[i], lens[i] point into s (no
 * copy).  Caller's arrays of s->n entries.  test_fraction <= 0 gives whole
 * documents; above 1 counts as 1. */
void lam_text_split_parts(const lam_text_set *s, lam_tokenizer tok, double test_fraction,
                          const char **parts, size_t *lens);

/* ---- time series ------------------------------------------------------------------- */

typedef struct lam_timeseries_opts {
    const char *const *features; /* column names of the window's features (at least one) */
    int nfeatures;
    const char *target;          /* regression: the column whose next value is
                                    predicted (it may be a feature too); or NULL */
    const char *label;           /* classification instead: the class column of the
                                    window's last row (strings, sorted bytewise); or NULL */
    int window;                  /* rows per window (W >= 1); 1 */
    int horizon;                 /* target: the value `horizon` rows after the
                                    window's last row (1); labels ignore it */
    const char *time_column;     /* column that orders the rows (checked to be
                                    non-decreasing), or NULL.  Two times compare
                                    as numbers when both are numbers, else as
                                    strings in which the separators - / . : T
                                    and space count as one (so 2015/05/31 comes
                                    before 2015-06-01); ISO dates and zero-padded
                                    numbers compare correctly */
    const char *test_from;       /* with time_column: samples whose target row (label:
                                    last row) has time >= this value are test samples */
    double test_fraction;        /* without test_from: the last ceil(test_fraction
                                    * n) samples (by time) are the test part (0.2);
                                    0: no test part */
    char delimiter;              /* ',' */
} lam_timeseries_opts;

/* No columns (set features and target or label), window 1, horizon 1, no
 * time column, test_fraction 0.2, delimiter ','. */
lam_timeseries_opts lam_timeseries_opts_defaults(void);

/* What lam_timeseries_read found. */
typedef struct lam_timeseries_info {
    int64_t rows;                /* data rows in the file */
    int64_t train_rows_end;      /* rows [0, end) are the input rows of the training
                                    windows (their targets may lie after end) */
    int target_feature;          /* index of the target column among the features, or -1 */
} lam_timeseries_info;

/* Read a CSV of time-ordered rows (plain or gzip; a header row naming the
 * columns is required; other columns are ignored) into windows: sample i
 * holds rows i .. i+W-1 of the feature columns as x[i] (row-major
 * [W, nfeatures]: sample_shape [W, F]) and the target of row i+W-1+horizon
 * (regression, y[i, 0], target_names {target}) or the class of row i+W-1
 * (labels[i]; class_names: the distinct strings of the whole file, sorted
 * bytewise).  The split is by time, never at random; samples are in time
 * order.  The data are not scaled: fit a scaler on the training part (see
 * lam_timeseries_fit_scaler).  A missing (empty, NA, ...) or non-numeric
 * feature or target value, an empty time or class, or a row with another
 * number of fields than the header is an error naming its line (and
 * column).  test may be NULL when no test part is asked for (test_fraction 0
 * and no test_from); info may be NULL.  The caller owns the data sets.
 * Errors: LAM_ERR_ARG (bad options: no features, both or neither of target
 * and label, window or horizon < 1, test_from without time_column; a column
 * not in the header), LAM_ERR_FORMAT (rows out of time order, too few rows
 * for one window, an empty part, the errors above), LAM_ERR_IO,
 * LAM_ERR_NOMEM.  On error the outputs are NULL. */
lam_status lam_timeseries_read(const char *path, const lam_timeseries_opts *opts,
                               lam_dataset **train, lam_dataset **test, lam_timeseries_info *info);

/* Per-feature standardisation (mean 0, std 1) fitted on the training
 * samples' rows (each row counted once, from the first window's rows and
 * each later window's last row), expanded to the [W, F] layout of a sample
 * (so lam_scaler_apply works on the data sets as they are).  train must be
 * the training part as lam_timeseries_read returns it (consecutive samples
 * one row apart, checked).  The caller owns *out.
 * Errors: LAM_ERR_ARG (not a window set of window x nfeatures features, or
 * not consecutive windows), as lam_scaler_fit. */
lam_status lam_timeseries_fit_scaler(const lam_dataset *train, int window, int nfeatures,
                                     lam_scaler **out);

#ifdef __cplusplus
}
#endif
#endif
