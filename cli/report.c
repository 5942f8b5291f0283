/* lamina report: (re)write a run folder's report.html from its results.json
 * and metrics.csv (lam_run_report_html), as lamina train does at the end of
 * a run. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const report_help =
    "usage: lamina report RUN_DIR\n"
    "Write RUN_DIR/report.html, the run's report as one self-contained HTML file (no\n"
    "scripts, nothing fetched: it opens offline and prints), from the run folder that\n"
    "lamina train left: results.json (required) and metrics.csv (the per-epoch log;\n"
    "without it the report has no curves).  lamina train writes the same report at the\n"
    "end of a run; this command makes it again (with a newer lamina, or for run folders\n"
    "made before reports existed).\n"
    "The report: the command that reproduces the run, summary cards, the curves of loss,\n"
    "accuracy, learning rate and epoch time (stage boundaries marked), the confusion\n"
    "matrix as a heat map with per-class precision/recall/F1 (or the regression errors,\n"
    "or the perplexity), the baselines, the model's layers, parameters, FLOPs and\n"
    "memory, the data and its split, the training settings, stages and timings.\n"
    "The file is written atomically and depends only on the two files.\n"
    "exit codes: 0 success, 1 failure (no or malformed results.json, a write error),\n"
    "2 usage error\n";

int cmd_report(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " ");
    if (rc) return rc;
    if ((rc = help_or_usage(&o, report_help, o.file != NULL)) >= 0) return rc;
    lam_status s = lam_run_report_html(o.file);
    if (s != LAM_OK) return fail(s);
    size_t n = strlen(o.file);
    printf("wrote %s%sreport.html\n", o.file, n && o.file[n - 1] == '/' ? "" : "/");
    return 0;
}
