/* Learning-rate schedules as closed-form factors on the base lr: constant,
 * StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, each optionally
 * preceded by a LinearLR warm-up that hands over like SequentialLR.  Closed
 * forms (not torch's recursive updates) so that a resumed run gets the same
 * factor from the step count alone.  Also the schedule names used by the
 * model file. */
#include "lamina/optim.h"

#include <math.h>
#include <string.h>

/* Warm-up length a "warmup_*" name implies until the caller sets one. */
#define DEFAULT_WARMUP 5

static const char *const names[LAM_SCHEDULE_COUNT_] = {"constant", "step", "multistep",
                                                       "exponential", "cosine"};
static const char *const warmup_names[LAM_SCHEDULE_COUNT_] = {
    "warmup_constant", "warmup_step", "warmup_multistep", "warmup_exponential", "warmup_cosine"};

lam_schedule lam_schedule_defaults(lam_schedule_kind kind)
{
    lam_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.per_step = false;
    s.step_size = 30;
    s.gamma = kind == LAM_SCHEDULE_EXPONENTIAL ? 0.95 : 0.1;
    s.t_max = 0;
    s.eta_min = 0;
    s.warmup = 0;
    s.warmup_start_factor = 1.0 / 3.0;
    return s;
}

static double main_factor(const lam_schedule *s, long t)
{
    switch (s->kind) {
    case LAM_SCHEDULE_STEP: {
        long k = s->step_size >= 1 ? t / s->step_size : t;
        return pow(s->gamma, (double)k);
    }
    case LAM_SCHEDULE_MULTISTEP: {
        /* bisect_right: milestones <= t count (torch counts repeats too) */
        int k = 0;
        for (int i = 0; i < s->n_milestones && i < LAM_SCHEDULE_MAX_MILESTONES; i++)
            k += s->milestones[i] <= t;
        return pow(s->gamma, (double)k);
    }
    case LAM_SCHEDULE_EXPONENTIAL: return pow(s->gamma, (double)t);
    case LAM_SCHEDULE_COSINE: {
        if (s->t_max <= 0) return 1.0; /* unset: the trainer has not filled in the run length */
        /* Held at eta_min after t_max: torch's closed form would climb again,
         * which no training run wants. */
        long tt = t < s->t_max ? t : s->t_max;
        const double pi = 3.14159265358979323846;
        return s->eta_min + (1 - s->eta_min) * (1 + cos(pi * (double)tt / (double)s->t_max)) / 2;
    }
    default: return 1.0;
    }
}

float lam_schedule_factor(const lam_schedule *s, long t)
{
    if (!s) return 1.0f;
    if (t < 0) t = 0;
    if (s->warmup > 0) {
        if (t < s->warmup) /* LinearLR closed form, end factor 1 */
            return (float)(s->warmup_start_factor +
                           (1 - s->warmup_start_factor) * (double)t / (double)s->warmup);
        t -= s->warmup; /* the main schedule restarts at 0 (SequentialLR) */
    }
    return (float)main_factor(s, t);
}

lam_status lam_schedule_check(const lam_schedule *s)
{
    if (!s) return lam_fail(LAM_ERR_ARG, "schedule: NULL");
    if ((unsigned)s->kind >= LAM_SCHEDULE_COUNT_)
        return lam_fail(LAM_ERR_ARG, "schedule: unknown kind %d", (int)s->kind);
    const char *nm = names[s->kind];
    if (s->warmup < 0)
        return lam_fail(LAM_ERR_ARG, "schedule %s: warmup = %ld must be >= 0", nm, s->warmup);
    if (!(s->warmup_start_factor >= 0 && s->warmup_start_factor <= 1))
        return lam_fail(LAM_ERR_ARG, "schedule %s: warmup_start_factor = %g must lie in [0, 1]",
                        nm, s->warmup_start_factor);
    bool uses_gamma = s->kind == LAM_SCHEDULE_STEP || s->kind == LAM_SCHEDULE_MULTISTEP ||
                      s->kind == LAM_SCHEDULE_EXPONENTIAL;
    if (uses_gamma && !(s->gamma > 0 && isfinite(s->gamma)))
        return lam_fail(LAM_ERR_ARG, "schedule %s: gamma = %g must be finite and > 0; hint: 0.1 "
                        "divides the lr by ten", nm, s->gamma);
    switch (s->kind) {
    case LAM_SCHEDULE_STEP:
        if (s->step_size < 1)
            return lam_fail(LAM_ERR_ARG, "schedule step: step_size = %ld must be >= 1",
                            s->step_size);
        break;
    case LAM_SCHEDULE_MULTISTEP:
        if (s->n_milestones < 0 || s->n_milestones > LAM_SCHEDULE_MAX_MILESTONES)
            return lam_fail(LAM_ERR_ARG, "schedule multistep: %d milestones (at most %d)",
                            s->n_milestones, LAM_SCHEDULE_MAX_MILESTONES);
        for (int i = 0; i < s->n_milestones; i++)
            if (s->milestones[i] < 0 || (i && s->milestones[i] < s->milestones[i - 1]))
                return lam_fail(LAM_ERR_ARG,
                                "schedule multistep: milestone %d = %ld; hint: milestones must "
                                "be >= 0 and in increasing order",
                                i, s->milestones[i]);
        break;
    case LAM_SCHEDULE_COSINE:
        if (s->t_max < 0)
            return lam_fail(LAM_ERR_ARG, "schedule cosine: t_max = %ld must be >= 0 (0: the run "
                            "length)", s->t_max);
        if (!(s->eta_min >= 0 && s->eta_min <= 1))
            return lam_fail(LAM_ERR_ARG, "schedule cosine: eta_min = %g must lie in [0, 1] (a "
                            "fraction of the base lr)", s->eta_min);
        break;
    default: break;
    }
    return LAM_OK;
}

static bool eq_ci(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
        if (x != y) return false;
    }
    return *a == *b;
}

bool lam_schedule_from_name(const char *name, lam_schedule *out)
{
    if (!name || !out) return false;
    if (eq_ci(name, "warmup")) {
        *out = lam_schedule_defaults(LAM_SCHEDULE_CONSTANT);
        out->warmup = DEFAULT_WARMUP;
        return true;
    }
    for (int k = 0; k < LAM_SCHEDULE_COUNT_; k++) {
        bool plain = eq_ci(name, names[k]), warm = eq_ci(name, warmup_names[k]);
        if (plain || warm) {
            *out = lam_schedule_defaults((lam_schedule_kind)k);
            if (warm) out->warmup = DEFAULT_WARMUP;
            return true;
        }
    }
    return false;
}

const char *lam_schedule_name(const lam_schedule *s)
{
    if (!s || (unsigned)s->kind >= LAM_SCHEDULE_COUNT_) return "?";
    return s->warmup > 0 ? warmup_names[s->kind] : names[s->kind];
}
