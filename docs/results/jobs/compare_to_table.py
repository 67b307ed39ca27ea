"""Compare a recipe report's recipes.json with the committed table, eval target by eval target.

Usage (from the repository root):
  python3 docs/results/jobs/compare_to_table.py runs/full-jobs2/recipes.json [TABLE.json]
TABLE.json defaults to docs/results/recipes-full/v4-table.json, the table of that run's day.
"""
import json,sys
ref={(r['run'],r['seed']):r for r in json.load(open(sys.argv[2] if len(sys.argv)>2 else 'docs/results/recipes-full/v4-table.json'))}
new=json.load(open(sys.argv[1]))
same=0;tot=0;tt=0
for r in new:
    k=(r['run'],r['seed']);o=ref.get(k)
    tt+=r['train_seconds']
    for t in r['targets']:
        tot+=1
        ot=[x for x in o['targets'] if x['target']==t['target']][0] if o else None
        eq= ot and ot['successes']==t['successes']
        same+=bool(eq)
        print(f"{k[0]:28s} {k[1]} {t['target'][:30]:30s} {t['successes']:3d}/{t['episodes']} ref {ot['successes'] if ot else '-'} labels {r['teacher_labels']} ref {o['teacher_labels'] if o else '-'} {r['train_seconds']:.0f}s ref {o['train_seconds'] if o else 0:.0f}s {'=' if eq else 'DIFF'}")
print(f"pairs {len(new)} targets {tot} same {same} train min {tt/60:.1f}")
