//! Why DAgger's corrections do (or do not) help: measurements of a checkpoint, its
//! demonstrations and its corrections, with the stray detector's own test (the policy's
//! re-planned first action against the teacher's label: motion more than `stray_distance`
//! apart, or the gripper command different). Results: `docs/results/dagger-why/`.
//!
//! - **Rounds** (EPISODES > 0): one round of rollouts in which the teacher never drives
//!   (`takeover_steps = 0`), so each trigger is a takeover that *would* have happened and the
//!   rollout shows how the policy fares alone after it; then the same round with the teacher
//!   taking over. A trigger in a rollout the policy completes alone was a disagreement, not a
//!   mistake.
//! - **Distances** (rounds and DEMOS, one dataset per task): each rollout's first straying
//!   state against the nearest demonstration frame of its task and sub-goal (robot state and
//!   affordance point, each dimension scaled by its spread), beside the same distance between
//!   demonstrations. DAgger's premise is that the learner strays where the expert never went.
//! - **Fit** (DEMOS, and CORRECTIONS: a DAgger run's `data/corrections`): the share of their
//!   frames at which the policy would already stray from the recorded label.
//! - **Label conflicts** (CORRECTIONS): each correction frame against the demonstration frame
//!   with the nearest camera image, and whether their labels differ, beside the same between
//!   demonstrations. No policy can fit two labels for what is, to it, the same image.
//!
//! Run: `cargo run --release --example dagger_triggers -- CHECKPOINT SUITE EPISODES SEED
//! HANDBACK [DEMOS [CORRECTIONS]]` (HANDBACK: `steps` or `subgoal`); one JSON line per
//! measurement.

use praxis_core::checkpoint;
use praxis_core::data::{Dataset, Episode};
use praxis_core::model::Observation;
use praxis_core::sim::{Suite, Variations};
use praxis_core::train::recipes::dagger::{self, DaggerOptions, Handback, Labels};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, suite, episodes, seed, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: dagger_triggers CHECKPOINT SUITE EPISODES SEED HANDBACK [DEMOS [CORRECTIONS]]"
                .into(),
        );
    };
    let handback = match rest.first().map(String::as_str) {
        Some("steps") => Handback::Steps,
        Some("subgoal") => Handback::Subgoal,
        other => return Err(format!("unknown handback {other:?} (steps or subgoal)").into()),
    };
    let device = praxis_core::device::open_requested(None)?;
    let ckpt = checkpoint::load(std::path::Path::new(dir), &device.device)?;
    let suite = Suite::resolve(suite)?;
    let tasks: Vec<String> = suite.tasks.iter().map(|t| t.name.clone()).collect();
    let mut first_strays = Vec::new();
    let episodes: usize = episodes.parse()?;
    let rounds = if episodes == 0 {
        &[][..]
    } else {
        &[("policy alone", 0), ("teacher takes over", 6)][..]
    };
    for &(name, takeover_steps) in rounds {
        let options = DaggerOptions {
            episodes,
            labels: Labels::Takeover,
            handback: if takeover_steps == 0 {
                Handback::Steps
            } else {
                handback
            },
            takeover_steps,
            ..DaggerOptions::default()
        };
        let round = dagger::collect(
            &ckpt.policy,
            &ckpt.meta.tokenizer,
            &suite,
            &tasks,
            seed.parse()?,
            Variations::default(),
            &options,
        )?;
        println!(
            "{}",
            serde_json::json!({
                "round": name,
                "success": round.success_rate,
                "intervention_rate": round.intervention_rate,
                "labelled": round.labelled,
                "triggers": round.triggers,
            })
        );
        if takeover_steps == 0 {
            // the pieces come in rollout order, so a seed's first piece is its first streak
            let mut seen = std::collections::HashSet::new();
            first_strays = round
                .episodes
                .into_iter()
                .filter(|piece| seen.insert(piece.seed))
                .collect();
        }
    }
    if let Some(demos) = rest.get(1) {
        let demos = std::path::Path::new(demos);
        if episodes > 0 {
            println!("{}", distances(demos, &tasks, &first_strays)?);
        }
        let demo_sets: Vec<_> = tasks.iter().map(|task| demos.join(task)).collect();
        println!(
            "{}",
            serde_json::json!({ "on_demonstrations": strays_on(&ckpt, &demo_sets)? })
        );
        if let Some(corrections) = rest.get(2) {
            let mut sets: Vec<_> = std::fs::read_dir(corrections)?
                .map(|entry| entry.map(|e| e.path()))
                .collect::<Result<_, _>>()?;
            sets.sort();
            println!(
                "{}",
                serde_json::json!({ "on_corrections": strays_on(&ckpt, &sets)? })
            );
            println!(
                "{}",
                serde_json::json!({ "label_conflicts": conflicts(&demo_sets, &sets)? })
            );
        }
    }
    Ok(())
}

/// Whether two labels differ by the stray detector's test.
fn labels_differ(a: &[f32], b: &[f32]) -> bool {
    dagger::disagreement(a, b, DaggerOptions::default().stray_distance).strays()
}

/// One recorded frame: which episode, its camera image and its label.
struct Frame<'a> {
    episode: usize,
    image: &'a [u8],
    label: &'a [f32],
}

fn frames_of(episodes: &[Episode]) -> Vec<Frame<'_>> {
    episodes
        .iter()
        .enumerate()
        .flat_map(|(i, ep)| {
            let (bytes, dims) = (ep.image_bytes(), ep.action_dim as usize);
            (0..ep.len()).map(move |t| Frame {
                episode: i,
                image: &ep.images[t * bytes..(t + 1) * bytes],
                label: &ep.actions[t * dims..(t + 1) * dims],
            })
        })
        .collect()
}

/// The frame of `pool` (other than episode `skip`'s) whose image is nearest to `image`, and
/// the root-mean-square difference per pixel channel (0-255).
fn nearest_image<'a>(
    image: &[u8],
    pool: &'a [Frame<'a>],
    skip: Option<usize>,
) -> Option<(&'a Frame<'a>, f32)> {
    pool.iter()
        .filter(|f| Some(f.episode) != skip)
        .map(|f| {
            let sq: u64 = image
                .iter()
                .zip(f.image)
                .map(|(&a, &b)| (i32::from(a) - i32::from(b)).pow(2) as u64)
                .sum();
            (f, sq)
        })
        .min_by_key(|&(_, sq)| sq)
        .map(|(f, sq)| (f, (sq as f32 / image.len() as f32).sqrt()))
}

/// Label conflicts as a policy reading the camera meets them: for each correction frame, the
/// demonstration frame of its task with the nearest image, and whether their labels differ by
/// the stray detector's test; against the same for every fifth demonstration frame and the
/// nearest frame of another demonstration. Frames whose images are as alike as that, with
/// labels that differ, are what no policy reading the image can fit both of.
fn conflicts(
    demo_sets: &[std::path::PathBuf],
    correction_sets: &[std::path::PathBuf],
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let demos: Vec<Dataset> = demo_sets
        .iter()
        .map(|d| Dataset::open(d))
        .collect::<Result<_, _>>()?;
    let corrections: Vec<Dataset> = correction_sets
        .iter()
        .map(|d| Dataset::open(d))
        .collect::<Result<_, _>>()?;
    let (mut within, mut across) = (Vec::new(), Vec::new());
    let mut tasks_of_across = Vec::new();
    let mut opening = Vec::new();
    for data in &demos {
        let Some(task) = data.episodes().first().map(|e| e.task.clone()) else {
            continue;
        };
        let pool = frames_of(data.episodes());
        for frame in pool.iter().step_by(5) {
            if let Some((near, rms)) = nearest_image(frame.image, &pool, Some(frame.episode)) {
                within.push((rms, labels_differ(frame.label, near.label)));
            }
        }
        for set in &corrections {
            let mine: Vec<Episode> = set
                .episodes()
                .iter()
                .filter(|e| e.task == task)
                .cloned()
                .collect();
            let firsts: Vec<usize> = mine
                .iter()
                .scan(0, |start, ep| {
                    let first = *start;
                    *start += ep.len();
                    Some(first)
                })
                .collect();
            for (k, frame) in frames_of(&mine).into_iter().enumerate() {
                if let Some((near, rms)) = nearest_image(frame.image, &pool, None) {
                    across.push((rms, labels_differ(frame.label, near.label)));
                    tasks_of_across.push(task.clone());
                    // a piece's first two frames are the straying steps before its takeover
                    // (with `labels = "driven"`, the teacher's first two steps)
                    opening.push(k - firsts[frame.episode] < 2);
                }
            }
        }
    }
    let median = |v: &mut Vec<(f32, bool)>| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v.get(v.len() / 2).map_or(0.0, |p| p.0)
    };
    let close = median(&mut within);
    let mut close_by_task = std::collections::BTreeMap::<&str, [usize; 2]>::new();
    let mut close_by_place = [[0usize; 2]; 2];
    for (((rms, differ), task), first) in across.iter().zip(&tasks_of_across).zip(&opening) {
        if *rms <= close {
            let entry = close_by_task.entry(task.as_str()).or_default();
            entry[0] += usize::from(*differ);
            entry[1] += 1;
            let entry = &mut close_by_place[usize::from(*first)];
            entry[0] += usize::from(*differ);
            entry[1] += 1;
        }
    }
    let summary = |v: &[(f32, bool)]| {
        let near: Vec<_> = v.iter().filter(|p| p.0 <= close).collect();
        serde_json::json!({
            "frames": v.len(),
            "labels_differ": v.iter().filter(|p| p.1).count(),
            "as_close_as_the_median_demonstration_pair": near.len(),
            "of_those_labels_differ": near.iter().filter(|p| p.1).count(),
            "median_rms": v.get(v.len() / 2).map(|p| p.0),
        })
    };
    Ok(serde_json::json!({
        "median_rms_demonstration_pair": close,
        "demonstration_to_other_demonstrations": summary(&within),
        "close_corrections_by_task_labels_differ_of": close_by_task,
        "close_corrections_later_frames_labels_differ_of": close_by_place[0],
        "close_corrections_first_two_frames_labels_differ_of": close_by_place[1],
        "correction_to_demonstrations": summary({ median(&mut across); &across }),
    }))
}

/// The stray detector's test (`DaggerOptions::default()`'s distance, or a gripper
/// disagreement) applied at the recorded frames of `datasets`: the share of them at which the
/// policy, re-planning there, would already disagree with the action the teacher labelled them
/// with. A policy that has fitted its training data disagrees at few of its frames.
fn strays_on(
    ckpt: &checkpoint::Checkpoint,
    datasets: &[std::path::PathBuf],
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let config = ckpt.policy.config().clone();
    let per_obs = config.chunk_len * config.action_dim;
    let mut rng = praxis_core::train::loader::step_rng(7, 0, 4);
    let (mut frames, mut flagged) = (0usize, 0usize);
    let mut by_subgoal = std::collections::BTreeMap::<u32, [usize; 2]>::new();
    let mut by_task = std::collections::BTreeMap::<String, [usize; 2]>::new();
    for dir in datasets {
        let data = Dataset::open(dir)?;
        for ep in data.episodes() {
            let (dims, state_dim) = (ep.action_dim as usize, ep.state_dim as usize);
            let image = ep.image_bytes();
            let inputs: Vec<Observation<'_>> = (0..ep.len())
                .map(|t| Observation {
                    image: &ep.images[t * image..(t + 1) * image],
                    image_size: ep.width as usize,
                    state: &ep.states[t * state_dim..(t + 1) * state_dim],
                    instruction: &ep.instruction,
                })
                .collect();
            let chunk = praxis_core::eval::act_inputs(
                &ckpt.policy,
                &ckpt.meta.tokenizer,
                &inputs,
                &mut rng,
            )?;
            for t in 0..ep.len() {
                let start = t * per_obs;
                let proposed = praxis_core::eval::executable_action(&chunk[start..start + dims]);
                let strays = labels_differ(&proposed.0, &ep.actions[t * dims..(t + 1) * dims]);
                frames += 1;
                flagged += usize::from(strays);
                for entry in [
                    by_subgoal.entry(ep.subtasks[t]).or_default(),
                    by_task.entry(ep.task.clone()).or_default(),
                ] {
                    entry[0] += usize::from(strays);
                    entry[1] += 1;
                }
            }
        }
    }
    Ok(serde_json::json!({
        "demonstration_frames": frames,
        "flagged_as_straying": flagged,
        "share": flagged as f64 / frames.max(1) as f64,
        "by_subgoal_flagged_of_frames": by_subgoal,
        "by_task_flagged_of_frames": by_task,
    }))
}

/// A frame as a point: the robot's state and the affordance point.
fn point(ep: &Episode, t: usize) -> Vec<f32> {
    let dim = ep.state_dim as usize;
    let mut p = ep.states[t * dim..(t + 1) * dim].to_vec();
    p.extend_from_slice(&ep.affordance[t]);
    p
}

/// Nearest distance from `p` to a frame of `episodes` on sub-goal `subtask`, each dimension
/// divided by `scale`.
fn nearest(p: &[f32], subtask: u32, episodes: &[&Episode], scale: &[f32]) -> Option<f32> {
    episodes
        .iter()
        .flat_map(|ep| {
            (0..ep.len())
                .filter(|&t| ep.subtasks[t] == subtask)
                .map(|t| point(ep, t))
        })
        .map(|q| {
            p.iter()
                .zip(&q)
                .zip(scale)
                .map(|((a, b), s)| ((a - b) / s).powi(2))
                .sum::<f32>()
                .sqrt()
        })
        .min_by(f32::total_cmp)
}

/// Quantiles 0.5 and 0.9 of `values` (sorted here).
fn quantiles(mut values: Vec<f32>) -> serde_json::Value {
    values.sort_by(f32::total_cmp);
    let at = |q: f64| {
        values
            .get(((values.len() as f64 - 1.0) * q).round() as usize)
            .copied()
    };
    serde_json::json!({ "n": values.len(), "median": at(0.5), "p90": at(0.9) })
}

fn distances(
    demos: &std::path::Path,
    tasks: &[String],
    first_strays: &[Episode],
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let mut stray = Vec::new();
    let mut within = Vec::new();
    let mut subtasks = std::collections::BTreeMap::<u32, usize>::new();
    for task in tasks {
        let data = Dataset::open(&demos.join(task))?;
        let episodes: Vec<&Episode> = data.episodes().iter().collect();
        let points: Vec<Vec<f32>> = episodes
            .iter()
            .flat_map(|ep| (0..ep.len()).map(|t| point(ep, t)))
            .collect();
        let dims = points[0].len();
        let scale: Vec<f32> = (0..dims)
            .map(|d| {
                let mean = points.iter().map(|p| p[d]).sum::<f32>() / points.len() as f32;
                let var =
                    points.iter().map(|p| (p[d] - mean).powi(2)).sum::<f32>() / points.len() as f32;
                var.sqrt().max(1e-3)
            })
            .collect();
        for piece in first_strays.iter().filter(|p| &p.task == task) {
            *subtasks.entry(piece.subtasks[0]).or_default() += 1;
            stray.extend(nearest(
                &point(piece, 0),
                piece.subtasks[0],
                &episodes,
                &scale,
            ));
        }
        // every 10th frame of the first 20 demonstrations, against the other demonstrations
        for (i, ep) in episodes.iter().enumerate().take(20) {
            let others: Vec<&Episode> = episodes
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, e)| *e)
                .collect();
            for t in (0..ep.len()).step_by(10) {
                within.extend(nearest(&point(ep, t), ep.subtasks[t], &others, &scale));
            }
        }
    }
    Ok(serde_json::json!({
        "first_stray_to_demos": quantiles(stray),
        "demo_to_other_demos": quantiles(within),
        "first_stray_subgoal": subtasks,
    }))
}
