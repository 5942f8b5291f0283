"""Summary table of the char_lstm runs made by bench/run.sh (stdlib only).

usage: python3 bench/seq_report.py RESULTS_DIR [NAME PREFIX]   (default char_lstm lstm)

Reads RESULTS_DIR/PREFIX_{lamina,torch}_t{1,2}.jsonl: one JSON line per run (a
fresh process each, 300 steps).  Each run reports tokens/s as 2048 tokens over
its median step time after 5 warm-up steps (the peer script's definition).
The figure shown is the median over runs, with the range in brackets.  Goals
char_lstm (issue 8): lamina >= 1.15 x torch at 1 thread and >= 1.5 x torch's
best setting at 2 threads; char_gpt (issue 9): >= 1.5 x at both; the loss
after 300 steps within 3 % of torch's.  Prints the table and one JSON line
with the figures, which it also writes to RESULTS_DIR/PREFIX_summary.json.
"""
import json
import os
import statistics
import sys

from digits_report import load  # one JSON record per line, malformed lines skipped

GOALS = {"char_lstm": (1.15, 1.5), "char_gpt": (1.5, 1.5), "char_llama": (1.5, 1.5)}
LOSS_TOL = 0.03
WHAT = {"char_lstm": "Embedding 64, LSTM 256 x 2, seq 64, batch 32, Adam 2e-3",
        "char_gpt": "GPT 4 x (4 heads, 128 wide), seq 128, batch 16, AdamW 1e-3 wd 0.1",
        "char_llama": "LLaMA-style 4 x (4 heads, 128 wide; RMSNorm, RoPE, SwiGLU 344), seq 128, batch 16, AdamW 1e-3 wd 0.1"}


def summary(rows, key):
    v = [r[key] for r in rows if r.get(key) is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "lo": min(v), "hi": max(v), "n": len(v)}


def fmt(s, p="%.0f"):
    if not s:
        return "-"
    return (p + " [" + p + "-" + p + "]") % (s["median"], s["lo"], s["hi"]) if s["n"] > 1 else p % s["median"]


def main():
    d = sys.argv[1]
    name, pre = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else ("char_lstm", "lstm")
    GOAL_1, GOAL_2 = GOALS.get(name, (1.5, 1.5))
    lam = {t: load(os.path.join(d, "%s_lamina_t%d.jsonl" % (pre, t))) for t in (1, 2)}
    tor = {t: load(os.path.join(d, "%s_torch_t%d.jsonl" % (pre, t))) for t in (1, 2)}
    out = {"bench": name + "_summary"}
    print()
    print("%s: %s, 300 steps; tokens/s = tokens per step / median step" % (name, WHAT.get(name, "")))
    hdr = "%-4s %-24s %-24s %-7s %-17s %-17s %-12s" % ("thr", "lamina tokens/s", "torch tokens/s", "ratio",
                                                       "lamina loss/last10", "torch loss/last10", "lamina gen/s")
    print(hdr)
    print("-" * len(hdr))
    best_t = None
    for t in (1, 2):
        lt, tt = summary(lam[t], "tokens_per_s"), summary(tor[t], "tokens_per_s")
        r = lt["median"] / tt["median"] if lt and tt else None
        ll, l10 = summary(lam[t], "loss_last"), summary(lam[t], "loss_last10_mean")
        tl, t10 = summary(tor[t], "loss_last"), summary(tor[t], "loss_last10_mean")
        g = summary(lam[t], "gen_tokens_per_s")
        print("%-4d %-24s %-24s %-7s %-17s %-17s %-12s" % (
            t, fmt(lt), fmt(tt), "-" if r is None else "%.2f" % r,
            "-" if not ll else "%.4f/%.4f" % (ll["median"], l10["median"]),
            "-" if not tl else "%.4f/%.4f" % (tl["median"], t10["median"]), fmt(g)))
        out["threads_%d" % t] = {"lamina_tokens_per_s": lt and lt["median"], "torch_tokens_per_s": tt and tt["median"],
                                 "ratio": r, "lamina_loss_last": ll and ll["median"],
                                 "lamina_loss_last10": l10 and l10["median"], "torch_loss_last": tl and tl["median"],
                                 "torch_loss_last10": t10 and t10["median"], "lamina_gen_tokens_per_s": g and g["median"],
                                 "runs": lt and lt["n"]}
        if tt and (best_t is None or tt["median"] > best_t[0]):
            best_t = (tt["median"], t)
    print()
    r1 = out["threads_1"]["ratio"]
    l2 = out["threads_2"]["lamina_tokens_per_s"]
    if r1 is not None:
        print("goal 1 thread: lamina / torch >= %.2f: %s (%.2f)" % (GOAL_1, "met" if r1 >= GOAL_1 else "NOT met", r1))
    if l2 and best_t:
        r2 = l2 / best_t[0]
        out["best"] = {"torch_tokens_per_s": best_t[0], "torch_threads": best_t[1], "ratio_2_threads": r2}
        print("goal 2 threads: lamina / torch's best (%d thr, %.0f) >= %.2f: %s (%.2f)" % (
            best_t[1], best_t[0], GOAL_2, "met" if r2 >= GOAL_2 else "NOT met", r2))
    a, b = out["threads_1"]["lamina_loss_last10"], out["threads_1"]["torch_loss_last10"]
    if a and b:
        rel = a / b - 1
        out["loss_rel_diff_last10"] = rel
        print("loss after 300 steps (mean of the last 10, 1 thread): lamina %.4f, torch %.4f: %+.1f %% "
              "(one seed each; see bench/README.md for the spread over seeds)" % (a, b, 100 * rel))
    with open(os.path.join(d, pre + "_summary.json"), "w") as f:
        json.dump(out, f)
        f.write("\n")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
