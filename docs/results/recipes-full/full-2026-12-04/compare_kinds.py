"""Compare a recipe report with the committed table, the 2026-12-02b rerun (kind B) and the 2026-12-03 run (kind A), per (run, seed, target).

Usage (from the repository root): python3 docs/results/recipes-full/full-2026-12-04/compare_kinds.py runs/full-2026-12-04
(or this directory's recipes.json).
Prints the markdown table of this directory's README and a summary line.
"""
import json,glob,sys,os
root='docs/results'
here_dir=sys.argv[1]
def load_json(p): return {(r['run'],r['seed']):r for r in json.load(open(p))}
table=load_json(f'{root}/recipes-full/v4-table.json')
kindA=load_json(f'{root}/jobs/full-jobs2.json')
b={}
for f in glob.glob(f'{root}/recipes-full/rerun-2026-12-02b/*/seed-*/result.json'):
    r=json.load(open(f)); b[(r['run'],r['seed'])]=r
here={}
if here_dir.endswith('.json'):  # a report's recipes.json, e.g. this directory's
    here=load_json(here_dir)
for f in glob.glob(f'{here_dir}/*/seed-*/result.json'):
    r=json.load(open(f)); here[(r['run'],r['seed'])]=r
order=[(r['run'],r['seed']) for r in json.load(open(f'{root}/recipes-full/v4-table.json'))]
def succ(d,k,t):
    r=d.get(k)
    if not r: return None
    x=[x for x in r['targets'] if x['target']==t]
    return x[0]['successes'] if x else None
n=sameB=sameA=sameT=nB=0
print('| run | seed | evaluated on | here | 2026-12-02b rerun | table | 2026-12-03 run | labels here | train min here |')
print('|---|---|---|---|---|---|---|---|---|')
for k in order:
    if k not in here: continue
    r=here[k]
    for t in r['targets']:
        tg=t['target']; s=t['successes']; n+=1
        vb,vt,va=succ(b,k,tg),succ(table,k,tg),succ(kindA,k,tg)
        if vb is not None: nB+=1; sameB+= vb==s
        sameT+= vt==s; sameA+= va==s
        f=lambda v: '—' if v is None else (f"**{v}**" if v==s else str(v))
        print(f"| {k[0]} | {k[1]} | {tg} | {s}/{t['episodes']} | {f(vb)} | {f(vt)} | {f(va)} | {r['teacher_labels']:,} | {r['train_seconds']/60:.1f} |")
print()
print(f"targets {n}; equal to the 2026-12-02b rerun {sameB} of {nB}; to the table {sameT}; to the 2026-12-03 run {sameA}; train min {sum(r['train_seconds'] for r in here.values())/60:.1f}")
