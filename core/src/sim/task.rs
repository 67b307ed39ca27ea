//! What the robot must achieve: a task is an ordered list of sub-goals. This module checks
//! sub-goal success on the current world, tracks progress through the list, and computes the
//! dense reward and the affordance point (where the gripper should act next).

use serde::{Deserialize, Serialize};

use super::geometry::V2;
use super::push_t;
use super::scene::PAD_RADIUS;
use super::world::World;

/// The effector counts as at a pad when its distance to the pad centre is below this.
pub const REACH_TOLERANCE: f32 = 0.5 * PAD_RADIUS;

/// One step of a task. Object and pad indices refer to the task's object and pad lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SubGoal {
    /// Bring the effector onto a pad.
    Reach { pad: usize },
    /// Push an object until its centre is on a pad.
    Push { object: usize, pad: usize },
    /// Pick an object up and put it down (released) with its centre on a pad.
    Place { object: usize, pad: usize },
    /// Push the T until it covers ≥ 95% of its target pose.
    CoverT { object: usize },
}

impl SubGoal {
    /// The object the sub-goal is about, if any.
    pub fn object(&self) -> Option<usize> {
        match *self {
            SubGoal::Reach { .. } => None,
            SubGoal::Push { object, .. }
            | SubGoal::Place { object, .. }
            | SubGoal::CoverT { object } => Some(object),
        }
    }

    /// The pad the sub-goal is about, if any.
    pub fn pad(&self) -> Option<usize> {
        match *self {
            SubGoal::Reach { pad } | SubGoal::Push { pad, .. } | SubGoal::Place { pad, .. } => {
                Some(pad)
            }
            SubGoal::CoverT { .. } => None,
        }
    }

    /// Whether the world satisfies this sub-goal now.
    pub fn is_satisfied(&self, world: &World) -> bool {
        match *self {
            SubGoal::Reach { pad } => {
                (world.body().ee - world.pads()[pad].position()).length() < REACH_TOLERANCE
            }
            SubGoal::Push { object, pad } => {
                world.pads()[pad].contains(world.object_pose(object).position())
            }
            SubGoal::Place { object, pad } => {
                world.grasp().map(|g| g.object) != Some(object)
                    && world.pads()[pad].contains(world.object_pose(object).position())
            }
            SubGoal::CoverT { object } => world.t_target().is_some_and(|t| {
                push_t::coverage(&world.object_pose(object), &t) >= push_t::SUCCESS_COVERAGE
            }),
        }
    }

    /// Progress within this sub-goal in `[0, 1]` (1 when nearly satisfied): the dense reward.
    pub fn progress(&self, world: &World) -> f32 {
        let closeness = |d: f32| 1.0 - (d / 0.6).min(1.0);
        let ee = world.body().ee;
        match *self {
            SubGoal::Reach { pad } => closeness((ee - world.pads()[pad].position()).length()),
            SubGoal::Push { object, pad } | SubGoal::Place { object, pad } => {
                let obj = world.object_pose(object).position();
                0.8 * closeness((obj - world.pads()[pad].position()).length())
                    + 0.2 * closeness((ee - obj).length())
            }
            SubGoal::CoverT { object } => world
                .t_target()
                .map_or(0.0, |t| push_t::coverage(&world.object_pose(object), &t)),
        }
    }

    /// Where the gripper should act next for this sub-goal, world coordinates.
    pub fn affordance(&self, world: &World) -> V2 {
        match *self {
            SubGoal::Reach { pad } => world.pads()[pad].position(),
            SubGoal::Push { object, pad } => {
                let pose = world.object_pose(object);
                let dir = (world.pads()[pad].position() - pose.position()).normalize_or_zero();
                pose.position() - dir * world.object(object).shape.support(&pose, dir)
            }
            SubGoal::Place { object, pad } => {
                if world.grasp().map(|g| g.object) == Some(object) {
                    world.pads()[pad].position()
                } else {
                    world.object_pose(object).position()
                }
            }
            SubGoal::CoverT { object } => {
                let pose = world.object_pose(object);
                match world.t_target() {
                    Some(target) => pose.transform(push_t::best_contact(&pose, &target).point),
                    None => pose.position(),
                }
            }
        }
    }
}

/// Progress through a task's sub-goals. A sub-goal is latched once satisfied; the task
/// succeeds when the last one has been reached in order.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskProgress {
    goals: Vec<SubGoal>,
    index: usize,
}

impl TaskProgress {
    /// Progress at the start of an episode.
    pub fn new(goals: Vec<SubGoal>) -> TaskProgress {
        TaskProgress { goals, index: 0 }
    }

    /// Checks the world and advances past every satisfied sub-goal; returns whether the task
    /// is now complete.
    pub fn update(&mut self, world: &World) -> bool {
        while let Some(goal) = self.goals.get(self.index) {
            if !goal.is_satisfied(world) {
                break;
            }
            self.index += 1;
        }
        self.is_complete()
    }

    /// The sub-goals, in order.
    pub fn goals(&self) -> &[SubGoal] {
        &self.goals
    }

    /// Index of the current sub-goal (equals the number of sub-goals when complete).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The current sub-goal, if any remains.
    pub fn current(&self) -> Option<&SubGoal> {
        self.goals.get(self.index)
    }

    /// Whether every sub-goal has been reached.
    pub fn is_complete(&self) -> bool {
        self.index >= self.goals.len()
    }

    /// Dense reward in `[0, 1]`: completed sub-goals plus progress in the current one, over
    /// the number of sub-goals.
    pub fn dense_reward(&self, world: &World) -> f32 {
        let n = self.goals.len().max(1) as f32;
        let partial = self.current().map_or(0.0, |g| g.progress(world));
        ((self.index as f32 + partial) / n).min(1.0)
    }

    /// The affordance point of the current sub-goal (the effector itself once complete).
    pub fn affordance(&self, world: &World) -> V2 {
        self.current()
            .map_or(world.body().ee, |g| g.affordance(world))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::embodiment::{ActionSpace, EmbodimentKind};
    use crate::sim::geometry::Pose2;
    use crate::sim::scene::{Color, ObjectShape, PlacedObject, PlacedPad, Scene};

    fn world_with(
        objects: Vec<(ObjectShape, [f32; 3])>,
        ee: [f32; 2],
        t_target: Option<Pose2>,
    ) -> World {
        let scene = Scene {
            objects: objects
                .into_iter()
                .map(|(shape, p)| PlacedObject {
                    shape,
                    color: Color::Red,
                    pose: Pose2::new(p[0], p[1], p[2]),
                })
                .collect(),
            pads: vec![
                PlacedPad {
                    color: Color::Green,
                    center: [0.2, 0.2],
                },
                PlacedPad {
                    color: Color::Blue,
                    center: [-0.2, 0.2],
                },
            ],
            t_target,
            effector_start: ee,
        };
        let kind = if t_target.is_some() {
            EmbodimentKind::Pusher
        } else {
            EmbodimentKind::Arm3
        };
        World::new(&scene, kind, None)
    }

    #[test]
    fn reach_counts_only_near_the_pad_centre() {
        let goal = SubGoal::Reach { pad: 0 };
        assert!(goal.is_satisfied(&world_with(vec![], [0.21, 0.19], None)));
        assert!(!goal.is_satisfied(&world_with(vec![], [0.2, 0.26], None)));
        assert!(!SubGoal::Reach { pad: 1 }.is_satisfied(&world_with(vec![], [0.21, 0.19], None)));
    }

    #[test]
    fn push_counts_when_the_object_centre_is_on_the_pad() {
        let on = world_with(
            vec![(ObjectShape::Disc, [0.23, 0.17, 0.0])],
            [-0.3, -0.3],
            None,
        );
        let off = world_with(
            vec![(ObjectShape::Disc, [0.2, 0.1, 0.0])],
            [-0.3, -0.3],
            None,
        );
        assert!(SubGoal::Push { object: 0, pad: 0 }.is_satisfied(&on));
        assert!(!SubGoal::Push { object: 0, pad: 1 }.is_satisfied(&on));
        assert!(!SubGoal::Push { object: 0, pad: 0 }.is_satisfied(&off));
    }

    #[test]
    fn place_does_not_count_while_the_object_is_held() {
        let mut world = world_with(
            vec![(ObjectShape::Block, [0.2, 0.2, 0.0])],
            [0.2, 0.2],
            None,
        );
        let goal = SubGoal::Place { object: 0, pad: 0 };
        assert!(goal.is_satisfied(&world));
        let close = world
            .body()
            .command(&[0.0, 0.0, 1.0], ActionSpace::EeDelta)
            .unwrap();
        world.apply(close);
        assert!(world.grasp().is_some());
        assert!(!goal.is_satisfied(&world));
        let open = world
            .body()
            .command(&[0.0, 0.0, -1.0], ActionSpace::EeDelta)
            .unwrap();
        world.apply(open);
        assert!(goal.is_satisfied(&world));
    }

    #[test]
    fn cover_t_needs_95_percent_overlap() {
        let target = Pose2::new(0.0, 0.0, 0.4);
        let goal = SubGoal::CoverT { object: 0 };
        let near = world_with(
            vec![(ObjectShape::T, [0.002, 0.0, 0.41])],
            [0.3, -0.3],
            Some(target),
        );
        let off = world_with(
            vec![(ObjectShape::T, [0.0, 0.03, 0.4])],
            [0.3, -0.3],
            Some(target),
        );
        assert!(goal.is_satisfied(&near));
        assert!(!goal.is_satisfied(&off));
        assert!(goal.progress(&off) < 0.95 && goal.progress(&off) > 0.5);
    }

    #[test]
    fn progress_latches_sub_goals_in_order_and_reports_affordance() {
        let world = world_with(
            vec![(ObjectShape::Block, [-0.2, 0.2, 0.0])],
            [0.2, 0.2],
            None,
        );
        // Sub-goal 0 (reach pad 0) holds, sub-goal 1 (push object to pad 0) does not.
        let mut progress = TaskProgress::new(vec![
            SubGoal::Reach { pad: 0 },
            SubGoal::Push { object: 0, pad: 0 },
        ]);
        assert!(!progress.update(&world));
        assert_eq!(progress.index(), 1);
        let reward = progress.dense_reward(&world);
        assert!(reward > 0.5 && reward < 1.0);
        // Push affordance: the block's far side from the pad (pad is to the right → left face).
        let a = progress.affordance(&world);
        assert!(
            (a.x - (-0.24)).abs() < 1e-3 && (a.y - 0.2).abs() < 1e-3,
            "{a:?}"
        );
    }
}
