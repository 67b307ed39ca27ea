"""How far the version-5 chunk targets ("visited": the teacher's labels of the states that
followed in the rollout) were from the teacher's own plan from each state, read from the
correction datasets of a version-6 DAgger run (format 2 stores both: the per-frame labels and
the plans). Per takeover piece, frame 0 and 1 are the policy's straying steps; from frame 2 on
the teacher drives (a piece can also hold a later takeover's straying steps when they follow
straight on, which this split does not separate).

usage: python3 chunk_mismatch.py RUN_DIR [RUN_DIR ...]   (each .../seed-N/run)
"""
import json, math, struct, sys
from pathlib import Path


def episodes(ds):
    meta = json.loads((ds / "meta.json").read_text())
    for em in meta["episodes"]:
        b = (ds / em["file"]).read_bytes()
        version, t, h, w, sd, ad = struct.unpack_from("<6I", b, 8)
        if version != 2:
            raise SystemExit(f"{ds}: format {version} has no plans")
        (plan_len,) = struct.unpack_from("<I", b, 32)
        pos = 36 + t * h * w * 3 + t * sd * 4
        actions = struct.unpack_from(f"<{t * ad}f", b, pos)
        pos += t * ad * 4 + t * 4 + t * 16 + t * 4
        steps = struct.unpack_from(f"<{t}I", b, pos)
        pos += t * 4
        plans = struct.unpack_from(f"<{t * plan_len * ad}f", b, pos)
        yield t, ad, plan_len, actions, steps, plans


def main():
    totals = {"straying": [0.0, 0.0, 0], "teacher": [0.0, 0.0, 0]}
    for run in map(Path, sys.argv[1:]):
        for ds in sorted((run / "data" / "corrections").iterdir()):
            for t, ad, pl, actions, steps, plans in episodes(ds):
                for f in range(t):
                    kind = "straying" if f < 2 else "teacher"
                    for k in range(1, min(steps[f], t - f)):
                        visited = actions[(f + k) * ad:(f + k + 1) * ad]
                        plan = plans[(f * pl + k) * ad:(f * pl + k + 1) * ad]
                        d = math.dist(visited, plan)
                        n = math.hypot(*plan)
                        acc = totals[kind]
                        acc[0] += d
                        acc[1] += n
                        acc[2] += 1
    for kind, (d, n, c) in totals.items():
        if c:
            print(f"{kind}: {c} chunk steps, mean |visited - plan| {d / c:.3f}, "
                  f"mean |plan| {n / c:.3f}, ratio {d / n:.2f}")


main()
