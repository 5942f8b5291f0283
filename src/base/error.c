/* Status names, the per-thread error message, the log callback and the
 * always-on internal assertion. */
#include "lamina/base.h"
#include "lamina/lamina.h" /* LAMINA_VERSION */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[LAM_ERR_COUNT_] = {
    [LAM_OK] = "LAM_OK",
    [LAM_ERR_NOMEM] = "LAM_ERR_NOMEM",
    [LAM_ERR_ARG] = "LAM_ERR_ARG",
    [LAM_ERR_SHAPE] = "LAM_ERR_SHAPE",
    [LAM_ERR_IO] = "LAM_ERR_IO",
    [LAM_ERR_FORMAT] = "LAM_ERR_FORMAT",
    [LAM_ERR_STATE] = "LAM_ERR_STATE",
    [LAM_ERR_UNSUPPORTED] = "LAM_ERR_UNSUPPORTED",
    [LAM_ERR_NUMERIC] = "LAM_ERR_NUMERIC",
};

const char *lam_status_str(lam_status s)
{
    if ((unsigned)s >= LAM_ERR_COUNT_) return "LAM_ERR_UNKNOWN";
    return status_names[s];
}

static _Thread_local char last_error[1024];

const char *lam_last_error(void) { return last_error; }
void lam_clear_error(void) { last_error[0] = 0; }

lam_status lam_fail(lam_status s, const char *fmt, ...)
{
    /* Format into a local buffer first: callers pass the current message on
     * ("%s: %s", path, lam_last_error()), and vsnprintf into the buffer it
     * reads from garbles the message (and is undefined behaviour). */
    char buf[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    memcpy(last_error, buf, sizeof buf);
    return s;
}

void lam_assert_fail_(const char *expr, const char *file, int line)
{
    /* An internal invariant broke: a bug in Lamina, never a user error. */
    fprintf(stderr, "lamina: internal error: %s (%s:%d)\n", expr, file, line);
    abort();
}

static lam_log_fn log_fn;
static void *log_user;

void lam_set_log(lam_log_fn fn, void *user)
{
    log_fn = fn;
    log_user = user;
}

void lam_log(lam_log_level level, const char *fmt, ...)
{
    if (!log_fn) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_fn(level, buf, log_user);
}

const char *lam_version(void) { return LAMINA_VERSION; }
