//! Success-band task sampling: practise the tasks the policy sometimes solves.
//!
//! Survey category: **multi-component integration** (deciding what to train on from the
//! policy's own measured outcomes). Tasks whose last measured success lies between 10% and 90%
//! are where practice pays: the ones always solved teach nothing new and the ones never solved
//! give no signal yet. This follows the "learning progress" / zone-of-proximal-development task
//! selection of automatic curricula (Portelas et al., 2020, "Automatic Curriculum Learning For
//! Deep RL: A Short Survey"), here over demonstration data: a curriculum stage that lists
//! `success_band` in its signals draws that share of each batch from the demonstrations of the
//! tasks inside the band, re-chosen after every gate evaluation.

use std::collections::BTreeMap;

/// Lowest success of a task worth practising.
pub const LOW: f64 = 0.1;
/// Highest success of a task worth practising.
pub const HIGH: f64 = 0.9;

/// The tasks of `tasks` whose measured success lies in [`LOW`, `HIGH`]; all of `tasks` when
/// none was measured yet or none lies in the band (then there is nothing better to focus on).
pub fn select(tasks: &[String], success: &BTreeMap<String, f64>) -> Vec<String> {
    let in_band: Vec<String> = tasks
        .iter()
        .filter(|t| success.get(*t).is_some_and(|s| (LOW..=HIGH).contains(s)))
        .cloned()
        .collect();
    if in_band.is_empty() {
        tasks.to_vec()
    } else {
        in_band
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keeps_the_tasks_inside_the_band_edges_included() {
        let tasks = names(&["a", "b", "c", "d", "e"]);
        let success = BTreeMap::from([
            ("a".to_string(), 0.0),
            ("b".to_string(), 0.1),
            ("c".to_string(), 0.5),
            ("d".to_string(), 0.9),
            ("e".to_string(), 0.95),
        ]);
        assert_eq!(select(&tasks, &success), names(&["b", "c", "d"]));
    }

    #[test]
    fn falls_back_to_every_task_without_measurements_or_band_members() {
        let tasks = names(&["a", "b"]);
        assert_eq!(select(&tasks, &BTreeMap::new()), tasks);
        let solved = BTreeMap::from([("a".to_string(), 1.0), ("b".to_string(), 0.0)]);
        assert_eq!(select(&tasks, &solved), tasks);
    }
}
