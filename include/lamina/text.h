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
                               of its own; white space separates and is dropped */
    LAM_TOKENIZER_COUNT_
} lam_tokenizer;

const char *lam_tokenizer_name(lam_tokenizer t);              /* "byte", "char", "word" */
bool lam_tokenizer_from_name(const char *name, lam_tokenizer *out);

/* Largest vocabulary (ids are int32; the output layer of a language model
 * has one unit per token). */
#define LAM_VOCAB_MAX_SIZE (1 << 22)
/* Longest word token in bytes; longer runs are cut into pieces this long. */
#define LAM_TOKEN_MAX_BYTES 256

typedef struct lam_vocab_opts {
    lam_tokenizer tokenizer; /* BYTE */
    int64_t min_freq;        /* 1: units seen fewer times in the training text are
                                left out (they encode as <unk>, or are an error) */
    int32_t max_size;        /* 0: no limit; else at most this many tokens in all,
                                specials included, keeping the most frequent */
    bool lowercase;          /* fold ASCII letters to lower case before
                                counting and encoding (false) */
    bool pad;                /* reserve id 0 for "<pad>" (padded batches) (false) */
    bool unk;                /* reserve an id for "<unk>": units not in the
                                vocabulary encode as it; without it they are an
                                error (false) */
} lam_vocab_opts;

lam_vocab_opts lam_vocab_opts_defaults(void);

/* A vocabulary: the tokenizer and its token list.  Ids: "<pad>" (if any) is
 * 0, then "<unk>" (if any), then the units.  Byte and char units are in
 * ascending byte / code point order (so a byte vocabulary of a corpus is
 * the sorted set of its distinct bytes, ids their ranks, as in the
 * char_lstm peer workload); words in descending frequency, ties in bytewise
 * order.  Immutable once built; shared read-only by any number of threads. */
typedef struct lam_vocab lam_vocab;

/* What encoding met (counts add up across calls when the same stats is
 * passed again; zero it first). */
typedef struct lam_text_stats {
    int64_t bytes;          /* input bytes */
    int64_t tokens;         /* tokens produced (before any truncation) */
    int64_t invalid_utf8;   /* bytes decoded as U+FFFD (char, word) */
    int64_t unknown;        /* units encoded as <unk> */
    int64_t truncated;      /* tokens cut off by a length limit */
} lam_text_stats;

/* Build a vocabulary from n training texts (texts[i] is lens[i] bytes, any
 * bytes, NULs included).  Errors: LAM_ERR_ARG (bad options, n < 0), LAM_ERR_FORMAT
 * (no token at all, or more than LAM_VOCAB_MAX_SIZE with no max_size),
 * LAM_ERR_NOMEM. */
lam_status lam_vocab_build(const lam_vocab_opts *opts, const char *const *texts, const size_t *lens, int64_t n,
                           lam_vocab **out);
void lam_vocab_free(lam_vocab *v);

int32_t lam_vocab_size(const lam_vocab *v);
lam_tokenizer lam_vocab_tokenizer(const lam_vocab *v);
int32_t lam_vocab_pad_id(const lam_vocab *v); /* -1 if none */
int32_t lam_vocab_unk_id(const lam_vocab *v); /* -1 if none */
/* The token of id as text (a byte, a UTF-8 code point, a word, "<pad>",
 * "<unk>") and its length in bytes; NULL for an id out of range.  Valid
 * while v lives. */
const char *lam_vocab_token(const lam_vocab *v, int32_t id, size_t *len);
/* The id of a token's text, or -1. */
int32_t lam_vocab_find(const lam_vocab *v, const char *token, size_t len);

/* Encode len bytes of text: up to cap ids into ids[]; *n receives the number
 * of tokens of the whole text (which may exceed cap: the rest are counted in
 * stats->truncated and not written).  stats may be NULL.  `where` names the
 * text in messages (a path, "row 12"), may be NULL.  Allocates nothing.
 * Errors: LAM_ERR_FORMAT for a unit not in the vocabulary when it has no
 * <unk> (naming the unit, its byte offset and `where`). */
lam_status lam_vocab_encode(const lam_vocab *v, const char *text, size_t len, int32_t *ids, int64_t cap, int64_t *n,
                            lam_text_stats *stats, const char *where);

/* Decode ids into text: byte and char tokens are concatenated, words are
 * joined with single spaces; "<pad>" is skipped and "<unk>" written as
 * U+FFFD.  Writes at most cap - 1 bytes and a NUL; returns the length the
 * whole text needs (like snprintf).  Ids out of range are an error. */
lam_status lam_vocab_decode(const lam_vocab *v, const int32_t *ids, int64_t n, char *out, size_t cap, size_t *len);

/* The vocabulary as a JSON object (for checkpoint metadata):
 *   {"tokenizer": "char", "lowercase": false, "pad": true, "unk": true,
 *    "tokens": [...]}
 * tokens are JSON strings for char and word vocabularies, and byte values
 * (integers 0..255) for byte vocabularies (a lone byte is not valid UTF-8);
 * specials are not listed (they are implied by pad and unk).  *json is
 * NUL-terminated, owned by the caller (lam_free). */
lam_status lam_vocab_to_json(const lam_vocab *v, char **json, size_t *len);
/* Rebuild from lam_vocab_to_json's text, checking everything (JSON syntax,
 * fields and their types, token kinds, no duplicates, sizes) before use.
 * Errors: LAM_ERR_FORMAT naming the problem, LAM_ERR_NOMEM. */
lam_status lam_vocab_from_json(const char *json, size_t len, lam_vocab **out);

/* ---- text sources ------------------------------------------------------------ */

/* Largest single text file the readers accept (bytes). */
#define LAM_TEXT_MAX_FILE ((int64_t)1 << 31)

/* Read a corpus: a file, or every entry of a directory in bytewise name order
 * concatenated with nothing between (hidden entries, names starting with
 * '.', are skipped).  follow_links: symbolic links are followed (a linked
 * file's text then appears once per name, as cat does with a shell glob); else they are
 * skipped.  Subdirectories are skipped.  *text (NUL-terminated, owned by the
 * caller: lam_free) and *len receive the bytes.  Errors: LAM_ERR_IO (open,
 * read), LAM_ERR_FORMAT (empty corpus, a file over LAM_TEXT_MAX_FILE),
 * LAM_ERR_NOMEM. */
lam_status lam_text_read_corpus(const char *path, bool follow_links, char **text, size_t *len);

/* Texts with class labels, before tokenisation. */
typedef struct lam_text_set {
    int64_t n;
    char **text;            /* [n] owned, NUL-terminated (may hold NULs) */
    size_t *len;            /* [n] bytes */
    int32_t *labels;        /* [n] in [0, nclasses) */
    int32_t nclasses;
    char **class_names;     /* [nclasses], sorted bytewise; labels index them */
    char **names;           /* [n] where each text came from (file name, "line 12"), or NULL */
} lam_text_set;
void lam_text_set_free(lam_text_set *s);

/* Documents labelled by file name: every regular file of `dir` (symbolic
 * links skipped: several names may point at one text; hidden entries
 * skipped), in bytewise name order; the class of a file is its name up to
 * the first `sep` (the whole name without one): "GPL-2" -> "GPL".
 * Errors: LAM_ERR_IO, LAM_ERR_FORMAT (no files), LAM_ERR_NOMEM. */
lam_status lam_text_files_read(const char *dir, char sep, lam_text_set **out);

/* Labelled text in a CSV file (plain or gzip; RFC 4180 quoting, so texts
 * may hold delimiters and line breaks): one column is the class label, one
 * the text; other columns are ignored.  Labels are strings (classes sorted
 * bytewise; or, given class_names, one of those).  Records longer than
 * max_line bytes are an error with the line number (never a crash); a
 * missing label or text is an error.  The layout comes from opts: delimiter,
 * header (AUTO: a header when the label column is selected by name), label
 * column (default: the first), and text_col (default: the last; by name or
 * index as lam_csv_col).  Errors: as lam_csv_read. */
lam_status lam_text_csv_read(const char *path, const lam_csv_opts *opts, lam_csv_col text_col, lam_text_set **out);

/* ---- token data sets ------------------------------------------------------------ */

/* Language-modelling windows over one token stream: the text is encoded
 * with v and cut into windows of `seq` input tokens at every `stride`-th
 * position (1: every position, as random offsets would be drawn), each
 * target being the next `seq` tokens.  The windows share one ids buffer
 * (ids_stride = stride): n = (tokens - seq - 1) / stride + 1.  A text too
 * short for one window is an error (LAM_ERR_FORMAT, with its token count).
 * stats may be NULL; where names the text in messages. */
lam_status lam_dataset_lm_windows(const lam_vocab *v, const char *text, size_t len, int64_t seq, int64_t stride,
                                  lam_text_stats *stats, const char *where, lam_dataset **out);

/* Split a windowed language-modelling set by position: the first windows go
 * to *head, the windows that start at or after the cut to *tail, so that no
 * token is an input or target in both (windows that would overlap the cut
 * are dropped).  tail_fraction in (0, 1): the share of the token stream in
 * the tail.  Both parts share nothing with ds (they are copies).
 * Errors: LAM_ERR_ARG (not a windowed next-token set, fraction out of
 * range), LAM_ERR_FORMAT (a part would be empty), LAM_ERR_NOMEM. */
lam_status lam_dataset_lm_split(const lam_dataset *ds, double tail_fraction, lam_dataset **head, lam_dataset **tail);

/* Labelled texts as padded rows: each text encoded with v into at most
 * `seq` tokens (longer texts are cut at seq tokens, counted in
 * stats->truncated; empty texts get one <pad> token or, without a pad id,
 * are an error), padded with the pad id (or 0 when v has none) up to seq;
 * lengths[i] = tokens kept (>= 1).  Rows idx[0..m) of s (idx NULL: all, in
 * order).  The class names are copied.  Errors: LAM_ERR_ARG, the encoder's
 * errors (naming the row), LAM_ERR_NOMEM. */
lam_status lam_dataset_from_texts(const lam_text_set *s, const uint32_t *idx, int64_t m, const lam_vocab *v,
                                  int64_t seq, lam_text_stats *stats, lam_dataset **out);

/* Documents cut into labelled windows, split by position inside each
 * document: the first (1 - test_fraction) of each document's tokens yield
 * training windows, the rest test windows, so that no window is in both
 * parts (windows never cross the cut).  Windows of `seq` tokens every
 * `stride` tokens (stride = seq: no overlap); a part shorter than one window
 * gives none.  Each window is labelled with its document's class.  The
 * vocabulary must have been built on the training parts only (see
 * lam_text_split_parts).  test_fraction 0: everything is training data and
 * *test is NULL.  Errors: LAM_ERR_ARG, LAM_ERR_FORMAT (no training window),
 * LAM_ERR_NOMEM. */
lam_status lam_dataset_doc_windows(const lam_text_set *s, const lam_vocab *v, int64_t seq, int64_t stride,
                                   double test_fraction, lam_text_stats *stats, lam_dataset **train,
                                   lam_dataset **test);

/* The training part of each document as lam_dataset_doc_windows cuts it
 * (the bytes before the cut; the cut falls on a tokenizer unit boundary of
 * v's tokenizer: a byte, a UTF-8 sequence, between words), for building the
 * vocabulary on the training text only: parts[i], lens[i] point into s (no
 * copy).  Caller's arrays of s->n entries. */
void lam_text_split_parts(const lam_text_set *s, lam_tokenizer tok, double test_fraction, const char **parts,
                          size_t *lens);

/* ---- time series ------------------------------------------------------------------- */

typedef struct lam_timeseries_opts {
    const char *const *features; /* column names of the window's features (at least one) */
    int nfeatures;
    const char *target;          /* regression: the column whose next value is
                                    predicted (it may be a feature too); or NULL */
    const char *label;           /* classification instead: the class column of the
                                    window's last row (strings, sorted bytewise); or NULL */
    int window;                  /* rows per window (W >= 1) */
    int horizon;                 /* target: the value `horizon` rows after the
                                    window's last row (1) */
    const char *time_column;     /* column that orders the rows (checked to be
                                    non-decreasing, compared as strings; ISO dates
                                    and zero-padded numbers compare correctly), or NULL */
    const char *test_from;       /* with time_column: samples whose target row (label:
                                    last row) has time >= this value are test samples */
    double test_fraction;        /* without test_from: the last share of the samples
                                    (by time) is the test part (0.2) */
    char delimiter;              /* ',' */
} lam_timeseries_opts;

lam_timeseries_opts lam_timeseries_opts_defaults(void);

/* What lam_timeseries_read found. */
typedef struct lam_timeseries_info {
    int64_t rows;                /* data rows in the file */
    int64_t train_rows_end;      /* rows [0, end) are the rows the training windows use */
    int target_feature;          /* index of the target column among the features, or -1 */
} lam_timeseries_info;

/* Read a CSV of time-ordered rows (a header row naming the columns is
 * required) into windows: sample i holds the W consecutive rows of the
 * feature columns as x[i] (row-major [W, nfeatures]: sample_shape [W, F]) and
 * the target (regression, y[i, 0]) or the class (labels[i]).  The split is by
 * time, never at random; samples are in time order.  The data are not
 * scaled: fit a scaler on the training part (see
 * lam_timeseries_fit_scaler).  A missing or non-numeric feature or target
 * value is an error naming its line and column.  info may be NULL.
 * Errors: LAM_ERR_ARG (bad options, a column not in the header),
 * LAM_ERR_FORMAT (rows out of time order, too few rows for one window, an
 * empty part), LAM_ERR_IO, LAM_ERR_NOMEM. */
lam_status lam_timeseries_read(const char *path, const lam_timeseries_opts *opts, lam_dataset **train,
                               lam_dataset **test, lam_timeseries_info *info);

/* Per-feature standardisation (mean 0, std 1) fitted on the training
 * samples' rows (each row counted once, from the first window's rows and
 * each later window's last row), expanded to the [W, F] layout of a sample
 * (so lam_scaler_apply works on the data sets as they are).  Errors: as
 * lam_scaler_fit. */
lam_status lam_timeseries_fit_scaler(const lam_dataset *train, int window, int nfeatures, lam_scaler **out);

#ifdef __cplusplus
}
#endif
#endif
