# The four arms of the confirmation and its plain-teacher control, descriptively (95% Wald; seed-paired t).
#   python3 docs/results/dagger-confirm/four_arms.py > docs/results/dagger-confirm/four-arms.txt
# Reads the committed report tables beside it (copies of runs/confirm*/recipes.json), with
# verdict.py's own per-seed reader and t table.
import json, math, os, statistics, sys
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from verdict import T95, arm

NAMES = {'goal-imitation-100-smooth': 'imitation, smoothed teacher', 'goal-dagger-50-smooth': 'DAgger, smoothed teacher',
         'goal-imitation-100': 'imitation, plain teacher', 'goal-dagger-50': 'DAgger, plain teacher'}
rows = json.load(open(os.path.join(HERE, 'confirm-recipes.json'))) + json.load(open(os.path.join(HERE, 'plain-recipes.json')))
a = {name: arm(rows, name) for name in NAMES}
for k, v in a.items():
    s = sum(x[0] for x in v.values()); n = sum(x[1] for x in v.values())
    print(f"{NAMES[k]:30s} {s}/{n} = {100*s/n:.1f}%  labels a seed {statistics.mean(x[2] for x in v.values()):.0f}  per seed: "+" / ".join(str(v[q][0]) for q in sorted(v)))
def cmp(x, y):
    X, Y = a[x], a[y]; seeds = sorted(set(X) & set(Y))
    sx = sum(X[q][0] for q in seeds); sy = sum(Y[q][0] for q in seeds); n = sum(X[q][1] for q in seeds)
    px, py = sx/n, sy/n; d = px-py; se = math.sqrt(px*(1-px)/n+py*(1-py)/n)
    ds = [(X[q][0]-Y[q][0])/X[q][1] for q in seeds]; m = statistics.mean(ds); h = T95[len(ds)-1]*statistics.stdev(ds)/math.sqrt(len(ds))
    print(f"{NAMES[x]} - {NAMES[y]}: {100*d:+.1f} points, 95% Wald [{100*(d-1.96*se):+.1f}, {100*(d+1.96*se):+.1f}]; seed-paired t 95% [{100*(m-h):+.1f}, {100*(m+h):+.1f}]; ahead on {sum(z>0 for z in ds)}, behind on {sum(z<0 for z in ds)} of {len(ds)}")
for x, y in [('goal-dagger-50', 'goal-imitation-100'), ('goal-dagger-50-smooth', 'goal-imitation-100'),
             ('goal-imitation-100-smooth', 'goal-imitation-100'), ('goal-dagger-50-smooth', 'goal-dagger-50')]:
    cmp(x, y)
