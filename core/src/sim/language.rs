//! Instructions in words: templates with paraphrases, and the vocabulary the model's
//! tokenizer is built from.
//!
//! Every instruction is lower-case words separated by single spaces, no punctuation. Training
//! uses the *training* templates; the held-out `paraphrase` variation uses different
//! templates and synonyms (cube, puck, wedge, mat) that never appear in training data but are
//! in [`vocabulary`], so the tokenizer knows them.

use std::collections::BTreeSet;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::scene::{Color, ObjectShape, PlacedObject, PlacedPad};
use super::task::SubGoal;

/// How a whole task is put in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phrasing {
    /// One clause per sub-goal, joined by `then`.
    #[default]
    Steps,
    /// One sentence for "put each object on the pad of its colour".
    SortByColour,
}

struct Templates {
    reach: &'static [&'static str],
    push: &'static [&'static str],
    place: &'static [&'static str],
    cover_t: &'static [&'static str],
    sort: &'static [&'static str],
    join: &'static [&'static str],
}

const TRAINING: Templates = Templates {
    reach: &["reach the {pad}", "move the gripper to the {pad}"],
    push: &[
        "push the {obj} onto the {pad}",
        "push the {obj} to the {pad}",
    ],
    place: &["put the {obj} on the {pad}", "place the {obj} on the {pad}"],
    cover_t: &["push the t onto the target", "align the t with the target"],
    sort: &[
        "sort the objects by colour",
        "put each object on the pad of its colour",
    ],
    join: &["then"],
};

const HELD_OUT: Templates = Templates {
    reach: &["go to the {pad}", "touch the {pad} with the hand"],
    push: &[
        "slide the {obj} over to the {pad}",
        "shove the {obj} onto the {pad}",
    ],
    place: &[
        "pick up the {obj} and drop it on the {pad}",
        "carry the {obj} to the {pad}",
    ],
    cover_t: &[
        "slide the t so it covers the outline",
        "match the t to its outline",
    ],
    sort: &[
        "match every object with the pad of the same colour",
        "group the objects onto pads of matching colour",
    ],
    join: &["and after that", "and next"],
};

const PAD_NOUN: &str = "pad";
const PAD_SYNONYM: &str = "mat";
const QUALIFIERS: [&str; 4] = ["left", "right", "upper", "lower"];

fn shape_synonym(shape: ObjectShape) -> &'static str {
    match shape {
        ObjectShape::Block => "cube",
        ObjectShape::Disc => "puck",
        ObjectShape::Triangle => "wedge",
        ObjectShape::T => "t",
    }
}

/// The words naming an object: its colour and shape, with a spatial qualifier (`left`,
/// `right`, `upper`, `lower`) when another object has the same colour and shape.
pub fn object_phrase(objects: &[PlacedObject], index: usize, held_out: bool) -> String {
    let me = &objects[index];
    let noun = if held_out {
        shape_synonym(me.shape)
    } else {
        me.shape.name()
    };
    let twins: Vec<&PlacedObject> = objects
        .iter()
        .enumerate()
        .filter(|(i, o)| *i != index && o.shape == me.shape && o.color == me.color)
        .map(|(_, o)| o)
        .collect();
    let Some(twin) = twins.first() else {
        return format!("{} {}", me.color.name(), noun);
    };
    let dx = me.pose.x - twin.pose.x;
    let dy = me.pose.y - twin.pose.y;
    let qualifier = if dx.abs() >= dy.abs() {
        if dx < 0.0 {
            QUALIFIERS[0]
        } else {
            QUALIFIERS[1]
        }
    } else if dy > 0.0 {
        QUALIFIERS[2]
    } else {
        QUALIFIERS[3]
    };
    format!("{qualifier} {} {}", me.color.name(), noun)
}

fn pad_phrase(pads: &[PlacedPad], index: usize, held_out: bool) -> String {
    format!(
        "{} {}",
        pads[index].color.name(),
        if held_out { PAD_SYNONYM } else { PAD_NOUN }
    )
}

/// Puts a task in words. `held_out` picks the held-out paraphrases; `rng` picks among the
/// templates of the chosen set.
pub fn instruction(
    goals: &[SubGoal],
    phrasing: Phrasing,
    objects: &[PlacedObject],
    pads: &[PlacedPad],
    held_out: bool,
    rng: &mut impl rand::Rng,
) -> String {
    let t = if held_out { &HELD_OUT } else { &TRAINING };
    let mut pick = |options: &[&'static str]| options[rng.random_range(0..options.len())];
    if phrasing == Phrasing::SortByColour {
        return pick(t.sort).to_string();
    }
    let join = format!(" {} ", pick(t.join));
    let clauses: Vec<String> = goals
        .iter()
        .map(|g| {
            let template = match g {
                SubGoal::Reach { .. } => pick(t.reach),
                SubGoal::Push { .. } => pick(t.push),
                SubGoal::Place { .. } => pick(t.place),
                SubGoal::CoverT { .. } => pick(t.cover_t),
            };
            let mut s = template.to_string();
            if let Some(o) = g.object() {
                s = s.replace("{obj}", &object_phrase(objects, o, held_out));
            }
            if let Some(p) = g.pad() {
                s = s.replace("{pad}", &pad_phrase(pads, p, held_out));
            }
            s
        })
        .collect();
    clauses.join(&join)
}

/// The instruction a policy reads while working on sub-goal `index`: the whole task's, or with
/// sub-goal instructions (the `subgoals` variation) that sub-goal's, the last one's once all
/// are done. The simulator and recorded episodes both answer it this way.
pub fn current_instruction<'a>(whole: &'a str, subgoals: &'a [String], index: usize) -> &'a str {
    match subgoals.len() {
        0 => whole,
        n => &subgoals[index.min(n - 1)],
    }
}

/// Every word any instruction can contain (training and held-out paraphrases), sorted and
/// deduplicated: the model's tokenizer is built from it.
pub fn vocabulary() -> Vec<String> {
    let mut words = BTreeSet::new();
    for t in [&TRAINING, &HELD_OUT] {
        for list in [t.reach, t.push, t.place, t.cover_t, t.sort, t.join] {
            for template in list {
                for w in template.split_whitespace() {
                    if !w.starts_with('{') {
                        words.insert(w.to_string());
                    }
                }
            }
        }
    }
    for c in Color::ALL {
        words.insert(c.name().to_string());
    }
    for s in ObjectShape::ALL {
        words.insert(s.name().to_string());
        words.insert(shape_synonym(s).to_string());
    }
    for w in QUALIFIERS.iter().chain(&[PAD_NOUN, PAD_SYNONYM]) {
        words.insert(w.to_string());
    }
    words.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::geometry::Pose2;
    use crate::sim::scene::episode_rng;

    #[test]
    fn every_instruction_word_is_in_the_vocabulary() {
        let vocab: BTreeSet<String> = vocabulary().into_iter().collect();
        let sorted = vocabulary();
        assert!(
            sorted.windows(2).all(|w| w[0] < w[1]),
            "sorted and deduplicated"
        );
        let objects = vec![
            PlacedObject {
                shape: ObjectShape::Block,
                color: Color::Red,
                pose: Pose2::new(-0.1, 0.0, 0.0),
            },
            PlacedObject {
                shape: ObjectShape::Block,
                color: Color::Red,
                pose: Pose2::new(0.1, 0.0, 0.0),
            },
            PlacedObject {
                shape: ObjectShape::Triangle,
                color: Color::Orange,
                pose: Pose2::new(0.0, 0.2, 0.0),
            },
        ];
        let pads = vec![PlacedPad {
            color: Color::Purple,
            center: [0.0, -0.2],
        }];
        let goals = [
            SubGoal::Reach { pad: 0 },
            SubGoal::Push { object: 0, pad: 0 },
            SubGoal::Place { object: 2, pad: 0 },
            SubGoal::CoverT { object: 1 },
        ];
        let mut rng = episode_rng(3, 9);
        for held_out in [false, true] {
            for phrasing in [Phrasing::Steps, Phrasing::SortByColour] {
                for _ in 0..20 {
                    let text = instruction(&goals, phrasing, &objects, &pads, held_out, &mut rng);
                    for w in text.split(' ') {
                        assert!(
                            vocab.contains(w),
                            "`{w}` of `{text}` missing from the vocabulary"
                        );
                    }
                }
            }
        }
        assert_eq!(object_phrase(&objects, 0, false), "left red block");
        assert_eq!(object_phrase(&objects, 1, true), "right red cube");
        assert_eq!(object_phrase(&objects, 2, false), "orange triangle");
    }
}
