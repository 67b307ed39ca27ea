#!/usr/bin/env python3
"""The decision rule of docs/results/dagger-confirm/README.md, written before any of its runs.

Reads the `recipes.json` that `praxis report --recipes confirm.toml` writes and prints:
  - each arm's pooled successes over every (seed, evaluation episode);
  - (a) the pooled difference with its Wald interval at z = 2.2414 (97.5% two-sided: the
    smoothed pair's second test after the protocol seeds', Bonferroni over the two);
  - (b) the mean of the per-seed differences (seeds paired by their shared demonstrations)
    with its Student t 95% interval, which carries the training seeds' own variance;
  - the labels check (DAgger labels at most the imitation arm's samples, on every seed);
  - the verdict: shown only if (a) and (b) both lie above zero and the labels check holds.
Standard library only, so it runs anywhere the repository is checked out.
"""
import json
import math
import statistics
import sys

IMITATION = "goal-imitation-100-smooth"
DAGGER = "goal-dagger-50-smooth"
Z_BONFERRONI = 2.2414  # two-sided 97.5%
# Student t, two-sided 95%, by degrees of freedom (the confirmation has 12 seeds: 11).
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
       9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131}


def arm(rows, name):
    """Per seed: (successes, episodes, teacher labels) of one run."""
    out = {}
    for row in rows:
        if row["run"] != name:
            continue
        (target,) = row["targets"]
        out[row["seed"]] = (target["successes"], target["episodes"], row["teacher_labels"])
    return out


def main(path):
    rows = json.load(open(path))
    imitation, dagger = arm(rows, IMITATION), arm(rows, DAGGER)
    seeds = sorted(set(imitation) & set(dagger))
    if not seeds or set(imitation) != set(dagger):
        sys.exit(f"error: {path}: the two arms' seeds differ ({sorted(imitation)} / {sorted(dagger)})")

    def pooled(a):
        s = sum(a[k][0] for k in seeds)
        n = sum(a[k][1] for k in seeds)
        return s, n, s / n

    si, ni, pi = pooled(imitation)
    sd, nd, pd = pooled(dagger)
    diff = pd - pi
    se = math.sqrt(pi * (1 - pi) / ni + pd * (1 - pd) / nd)
    lo_a, hi_a = diff - Z_BONFERRONI * se, diff + Z_BONFERRONI * se

    per_seed = [dagger[k][0] / dagger[k][1] - imitation[k][0] / imitation[k][1] for k in seeds]
    mean = statistics.mean(per_seed)
    half = T95[len(seeds) - 1] * statistics.stdev(per_seed) / math.sqrt(len(seeds))
    lo_b, hi_b = mean - half, mean + half

    labels_ok = all(dagger[k][2] <= imitation[k][2] for k in seeds)

    print(f"seeds: {len(seeds)} ({', '.join(str(k) for k in seeds)})")
    print(f"imitation: {si}/{ni} = {100 * pi:.1f}%  per seed: "
          + " / ".join(str(imitation[k][0]) for k in seeds))
    print(f"DAgger:    {sd}/{nd} = {100 * pd:.1f}%  per seed: "
          + " / ".join(str(dagger[k][0]) for k in seeds))
    print(f"labels a seed: imitation {statistics.mean(imitation[k][2] for k in seeds):.0f}, "
          f"DAgger {statistics.mean(dagger[k][2] for k in seeds):.0f}; "
          f"DAgger at most imitation's on every seed: {labels_ok}")
    print(f"(a) pooled difference {100 * diff:+.1f} points, 97.5% Wald [{100 * lo_a:+.1f}, {100 * hi_a:+.1f}]")
    print(f"(b) per-seed difference, mean {100 * mean:+.1f} points, t 95% [{100 * lo_b:+.1f}, {100 * hi_b:+.1f}]; "
          f"DAgger ahead on {sum(d > 0 for d in per_seed)} of {len(seeds)} seeds, "
          f"behind on {sum(d < 0 for d in per_seed)}")
    shown = lo_a > 0 and lo_b > 0 and labels_ok
    print("verdict: " + ("SHOWN: DAgger beats imitation at fewer teacher labels" if shown
                         else "NOT SHOWN by the rule"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: verdict.py runs/confirm/recipes.json")
    main(sys.argv[1])
