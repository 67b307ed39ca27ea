//! The report as markdown: each run's success pooled over its seeds against its baseline's,
//! with what it cost, and the lines under the table (shared machine, CPUs, notes).

use serde::Serialize;

use crate::eval::wilson_interval;

use super::protocol::{Budget, EvalTarget, Protocol};
use super::result::{SeedResult, TargetResult};

/// One run's results over its seeds, on one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pooled {
    /// Success pooled over the seeds' episodes.
    pub success_rate: f64,
    /// 95% Wilson interval of the pooled rate.
    pub ci95: [f64; 2],
    /// Success of each seed.
    pub per_seed: Vec<f64>,
    /// Mean fraction of sub-goals completed, over the seeds that recorded it.
    pub subgoals_done: Option<f64>,
}

fn pool(results: &[&SeedResult], target: &str) -> Option<Pooled> {
    let hits: Vec<&TargetResult> = results
        .iter()
        .filter_map(|r| r.targets.iter().find(|t| t.target == target))
        .collect();
    if hits.is_empty() {
        return None;
    }
    let k: usize = hits.iter().map(|t| t.successes).sum();
    let n: usize = hits.iter().map(|t| t.episodes).sum();
    let recorded: Vec<f64> = hits.iter().filter_map(|t| t.subgoals_done).collect();
    Some(Pooled {
        subgoals_done: (!recorded.is_empty())
            .then(|| recorded.iter().sum::<f64>() / recorded.len() as f64),
        success_rate: k as f64 / n.max(1) as f64,
        ci95: wilson_interval(k, n),
        per_seed: hits
            .iter()
            .map(|t| t.successes as f64 / t.episodes.max(1) as f64)
            .collect(),
    })
}

/// The report table as markdown, with the protocol above it and each run's note below.
pub fn to_markdown(protocol: &Protocol, budget: Budget, results: &[SeedResult]) -> String {
    let pct = |p: &Pooled| crate::eval::percent_with_interval(p.success_rate, p.ci95);
    let mut md = format!(
        "# Recipe report: `{}`\n\n{}\n\nBudgets × {}; {}. Success is closed loop on each suite's \
         fixed evaluation seeds, pooled over the training seeds, with its 95% Wilson interval; \
         Δ is the difference from the baseline in points (pooled); updates, labels and wall \
         time are per seed. Pooled intervals count every episode as independent; with several \
         training seeds, the seeds column also gives each seed's own success. Sub-goals is the \
         mean fraction of a task's sub-goals completed by the episode's end (partial progress on \
         multi-step tasks).\n\n\
         | recipe | category | evaluated on | success | baseline | Δ (points) | sub-goals | seeds | updates | trainable params | teacher labels | wall time |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
        protocol.name,
        protocol.description,
        budget.scale,
        if budget.first_seed_only {
            "first seed of each run only"
        } else {
            "every seed"
        },
    );
    for run in &protocol.runs {
        let mine: Vec<&SeedResult> = results.iter().filter(|r| r.run == run.name).collect();
        if mine.is_empty() {
            continue;
        }
        let base: Vec<&SeedResult> = match &run.baseline {
            Some(b) => results.iter().filter(|r| &r.run == b).collect(),
            None => Vec::new(),
        };
        for target in &run.eval {
            let label = target.label();
            let Some(p) = pool(&mine, &label) else {
                continue;
            };
            let base_label = run
                .baseline_eval
                .as_ref()
                .map_or_else(|| label.clone(), EvalTarget::label);
            let b = pool(&base, &base_label);
            let mean = |f: &dyn Fn(&SeedResult) -> f64| {
                mine.iter().map(|r| f(r)).sum::<f64>() / mine.len() as f64
            };
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {:.0} | {:.1} min |\n",
                run.recipe,
                run.category,
                label,
                pct(&p),
                b.as_ref().map_or("—".into(), pct),
                b.as_ref().map_or("—".into(), |b| format!(
                    "{:+.1}",
                    100.0 * (p.success_rate - b.success_rate)
                )),
                p.subgoals_done
                    .map_or("—".into(), |f| format!("{:.0}%", 100.0 * f)),
                seeds_cell(&p),
                mean(&|r| r.updates as f64),
                format_params(mine[0].params),
                mean(&|r| r.teacher_labels as f64),
                mean(&|r| r.train_seconds) / 60.0,
            ));
        }
    }
    let shared = results.iter().map(|r| r.jobs).max().unwrap_or(1);
    if shared > 1 {
        md.push_str(&format!(
            "\nUp to {shared} (run, seed) pairs trained side by side (`--jobs`), each on its share \
             of the CPU: a wall time is that pair's time while sharing the machine.\n"
        ));
    }
    md.push_str(&machines_line(results));
    let notes: Vec<String> = protocol
        .runs
        .iter()
        .filter(|r| !r.note.is_empty())
        .map(|r| format!("- **{}**: {}", r.recipe, r.note))
        .collect();
    if !notes.is_empty() {
        md.push('\n');
        md.push_str(&notes.join("\n"));
        md.push('\n');
    }
    md
}

/// Which CPUs the results were trained on, with how many (run, seed) pairs each; empty when
/// no result records its CPU (results from before it was recorded).
fn machines_line(results: &[SeedResult]) -> String {
    if results.iter().all(|r| r.cpu.is_none()) {
        return String::new();
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in results {
        let cpu = r.cpu.clone().unwrap_or_else(|| "not recorded".into());
        match counts.iter_mut().find(|(c, _)| *c == cpu) {
            Some((_, n)) => *n += 1,
            None => counts.push((cpu, 1)),
        }
    }
    let listed: Vec<String> = counts
        .iter()
        .map(|(cpu, n)| format!("{cpu}: {n} {}", if *n == 1 { "pair" } else { "pairs" }))
        .collect();
    format!(
        "\nTrained on {} (on the CPU backend results are exact on one kind of CPU, not across \
         kinds).\n",
        listed.join("; ")
    )
}

/// A warning for a report that resumes on another machine: how many of the finished pairs it
/// is about to reuse were trained on a CPU other than `here` (or on one not recorded), or
/// `None` when all were trained on this one. On the CPU backend a result is exact only on the
/// kind of CPU that made it, so a table mixing kinds should say so before it is trained.
pub fn reuse_warning(finished: &[SeedResult], here: &str) -> Option<String> {
    let elsewhere = finished
        .iter()
        .filter(|r| r.cpu.as_deref() != Some(here))
        .count();
    (elsewhere > 0).then(|| {
        format!(
            "note: {elsewhere} of the {} finished pairs reused here were trained on another CPU \
             or one not recorded (this one: {here}); on the CPU backend results are exact only \
             per kind of CPU, and the table's last line counts the pairs of each",
            finished.len()
        )
    })
}

fn seeds_cell(p: &Pooled) -> String {
    match p.per_seed.len() {
        1 => "1".into(),
        n => format!(
            "{n}: {}%",
            p.per_seed
                .iter()
                .map(|r| format!("{:.0}", 100.0 * r))
                .collect::<Vec<_>>()
                .join(" / ")
        ),
    }
}

fn format_params((trainable, total): (usize, usize)) -> String {
    match trainable == total {
        true => format!("{total} (all)"),
        false => format!(
            "{trainable} ({:.1}%)",
            100.0 * trainable as f64 / total.max(1) as f64
        ),
    }
}

/// Pooled success of run `name` on `target` (for the claims under the table).
pub fn pooled(results: &[SeedResult], name: &str, target: &str) -> Option<Pooled> {
    let mine: Vec<&SeedResult> = results.iter().filter(|r| r.run == name).collect();
    pool(&mine, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{protocol, result};

    /// Pooling adds episodes over seeds, averages the sub-goal fraction over the seeds that
    /// recorded it, and the table shows both with the difference from the baseline.
    #[test]
    fn table_pools_seeds_and_sub_goals() {
        let results = [
            result("base", 0, 2, None),
            result("rl", 0, 4, Some(0.5)),
            result("rl", 1, 6, Some(0.7)),
        ];
        let rl: Vec<&SeedResult> = results[1..].iter().collect();
        let pooled = pool(&rl, "long").unwrap();
        assert!((pooled.success_rate - 0.5).abs() < 1e-12);
        assert!((pooled.subgoals_done.unwrap() - 0.6).abs() < 1e-12);
        assert_eq!(pooled.per_seed, vec![0.4, 0.6]);
        let base = pool(&[&results[0]], "long").unwrap();
        assert_eq!(base.subgoals_done, None);

        let md = to_markdown(&protocol(), Budget::FULL, &results);
        let rl_row = md.lines().find(|l| l.starts_with("| grpo |")).unwrap();
        assert!(rl_row.contains("| +30.0 |"), "{rl_row}");
        assert!(rl_row.contains("| 60% |"), "{rl_row}");
        assert!(rl_row.contains("2: 40 / 60%"), "{rl_row}");
        let base_row = md.lines().find(|l| l.starts_with("| imitation |")).unwrap();
        assert!(base_row.contains("| — |"), "{base_row}");
    }

    /// The table names the CPUs its pairs trained on, counting the pairs of each and those
    /// that did not record one, and says nothing when none did.
    #[test]
    fn table_names_the_machines() {
        let on = |cpu: Option<&str>, r: SeedResult| SeedResult {
            cpu: cpu.map(String::from),
            ..r
        };
        let old = [result("base", 0, 2, None), result("rl", 0, 4, None)];
        assert!(!to_markdown(&protocol(), Budget::FULL, &old).contains("Trained on"));
        let mixed = [
            on(Some("cpu A"), result("base", 0, 2, None)),
            on(Some("cpu A"), result("rl", 0, 4, None)),
            on(Some("cpu B"), result("rl", 1, 4, None)),
            result("rl", 2, 4, None),
        ];
        let md = to_markdown(&protocol(), Budget::FULL, &mixed);
        let line = md.lines().find(|l| l.starts_with("Trained on")).unwrap();
        assert!(
            line.starts_with("Trained on cpu A: 2 pairs; cpu B: 1 pair; not recorded: 1 pair "),
            "{line}"
        );
    }

    /// Resuming warns only when some finished pair was trained elsewhere or did not record
    /// where, and counts those pairs.
    #[test]
    fn reuse_warns_of_pairs_from_other_cpus() {
        let on = |cpu: Option<&str>, r: SeedResult| SeedResult {
            cpu: cpu.map(String::from),
            ..r
        };
        let here = [on(Some("cpu A"), result("base", 0, 2, None))];
        assert_eq!(reuse_warning(&here, "cpu A"), None);
        assert_eq!(reuse_warning(&[], "cpu A"), None);
        let mixed = [
            on(Some("cpu A"), result("base", 0, 2, None)),
            on(Some("cpu B"), result("rl", 0, 4, None)),
            result("rl", 1, 4, None),
        ];
        let warning = reuse_warning(&mixed, "cpu A").unwrap();
        assert!(
            warning.starts_with("note: 2 of the 3 finished pairs") && warning.contains("cpu A"),
            "{warning}"
        );
    }
}
