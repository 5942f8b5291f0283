/* lamina train's reliability plumbing: the SIGINT / SIGTERM handlers that
 * turn a signal into a clean stop after the current step (through lam_fit's
 * should_stop hook: the library itself installs no handlers), and the
 * removal of temporary files that killed checkpoint writes left behind. */
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The signal that asked training to stop, 0 while none has.  A file-scope
 * variable because a signal handler can reach nothing else; only the
 * handler writes it, lam_fit reads it through the should_stop hook after
 * every step. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    if (stop_signal) { /* the second signal: end now, as by default (the checkpoint on disk is whole) */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
}

bool should_stop(void *user)
{
    (void)user;
    return stop_signal != 0;
}

int stop_signal_received(void) { return stop_signal; }

/* Catch SIGINT and SIGTERM for the time of training (not those ignored
 * when lamina started, as under nohup: they stay ignored). */
void catch_stop_signals(saved_signals *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &old->intr);
    sigaction(SIGTERM, &sa, &old->term);
    if (old->intr.sa_handler == SIG_IGN) sigaction(SIGINT, &old->intr, NULL);
    if (old->term.sa_handler == SIG_IGN) sigaction(SIGTERM, &old->term, NULL);
    old->set = true;
}

void restore_signals(saved_signals *old)
{
    if (!old->set) return;
    sigaction(SIGINT, &old->intr, NULL);
    sigaction(SIGTERM, &old->term, NULL);
    old->set = false;
}

/* Remove what killed runs' checkpoint writes left in the run folder: the
 * temporary files NAME.safetensors.tmp.XXXXXX of lam_safetensors_write
 * (never renamed into place, so the files they were to replace are
 * whole).  Returns how many went. */
int remove_stale_temporaries(const char *dir)
{
    static const char *const stems[] = {"checkpoint.safetensors.tmp.", "model.safetensors.tmp."};
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        for (int i = 0; i < 2; i++) {
            size_t k = strlen(stems[i]);
            if (strncmp(de->d_name, stems[i], k) != 0 || strlen(de->d_name) != k + 6) continue;
            char p[PATH_MAX + 300];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            if (unlink(p) == 0) n++;
        }
    closedir(d);
    return n;
}
