//! Bodies the policy can control: planar arms with 2, 3 or 4 revolute joints and a parallel
//! gripper, and a point pusher (the Push-T agent). This module owns their kinematics
//! (forward kinematics, Jacobian, damped-least-squares IK), the action spaces and how an
//! action becomes the next effector pose.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::SimError;
use super::geometry::V2;

/// Metres the end effector may move in one control step at action magnitude 1.
pub const MAX_EE_STEP: f32 = 0.025;
/// Radians a joint may turn in one control step at action magnitude 1.
pub const MAX_JOINT_STEP: f32 = 0.08;
/// The effector is kept inside `[-EE_WORKSPACE_HALF, EE_WORKSPACE_HALF]²`: far enough from the
/// walls that a kinematic effector cannot press objects into them.
pub const EE_WORKSPACE_HALF: f32 = 0.38;
/// Where arm bases are mounted by default: the middle of the near table edge.
pub const ARM_BASE: [f32; 2] = [0.0, -0.5];

/// Which body the policy controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbodimentKind {
    /// 2-joint planar arm with a parallel gripper.
    Arm2,
    /// 3-joint planar arm with a parallel gripper (the default training body).
    Arm3,
    /// 4-joint planar arm with a parallel gripper (held out: never in training suites).
    Arm4,
    /// A point pusher with no gripper, as in Push-T.
    Pusher,
}

impl EmbodimentKind {
    /// The name used in suites and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            EmbodimentKind::Arm2 => "arm2",
            EmbodimentKind::Arm3 => "arm3",
            EmbodimentKind::Arm4 => "arm4",
            EmbodimentKind::Pusher => "pusher",
        }
    }

    /// Number of revolute joints (0 for the pusher).
    pub fn num_joints(self) -> usize {
        match self {
            EmbodimentKind::Arm2 => 2,
            EmbodimentKind::Arm3 => 3,
            EmbodimentKind::Arm4 => 4,
            EmbodimentKind::Pusher => 0,
        }
    }

    /// Whether the body has a gripper (and can pick objects up).
    pub fn has_gripper(self) -> bool {
        self != EmbodimentKind::Pusher
    }

    /// Length of the proprioception vector: `[q1..qn, gripper, ee_x, ee_y]` or `[ee_x, ee_y]`.
    pub fn proprio_dim(self) -> usize {
        if self.has_gripper() {
            self.num_joints() + 3
        } else {
            2
        }
    }

    /// Length of an action vector in `space`, or an error if the body cannot use it.
    pub fn action_dim(self, space: ActionSpace) -> Result<usize, SimError> {
        match (self, space) {
            (EmbodimentKind::Pusher, ActionSpace::EeDelta) => Ok(2),
            (EmbodimentKind::Pusher, ActionSpace::JointVelocity) => {
                Err(SimError::UnsupportedActionSpace {
                    embodiment: self.name().into(),
                    space: space.name().into(),
                })
            }
            (_, ActionSpace::EeDelta) => Ok(3),
            (_, ActionSpace::JointVelocity) => Ok(self.num_joints() + 1),
        }
    }
}

impl FromStr for EmbodimentKind {
    type Err = SimError;
    fn from_str(s: &str) -> Result<Self, SimError> {
        match s {
            "arm2" => Ok(EmbodimentKind::Arm2),
            "arm3" => Ok(EmbodimentKind::Arm3),
            "arm4" => Ok(EmbodimentKind::Arm4),
            "pusher" => Ok(EmbodimentKind::Pusher),
            other => Err(SimError::UnknownEmbodiment(other.to_string())),
        }
    }
}

/// How actions are interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionSpace {
    /// `[dx, dy, gripper]` (pusher: `[dx, dy]`), through the IK controller.
    EeDelta,
    /// `[q̇1..q̇n, gripper]`.
    JointVelocity,
}

impl ActionSpace {
    /// The name used in suites and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ActionSpace::EeDelta => "ee_delta",
            ActionSpace::JointVelocity => "joint_velocity",
        }
    }
}

/// Geometry of a planar arm: base position, link lengths and joint limits (radians; joint 1
/// is measured from +x, later joints relative to the previous link).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmConfig {
    #[serde(default = "default_base")]
    pub base: [f32; 2],
    pub link_lengths: Vec<f32>,
    pub joint_limits: Vec<[f32; 2]>,
}

fn default_base() -> [f32; 2] {
    ARM_BASE
}

impl ArmConfig {
    /// The default arm for `kind` (`None` for the pusher). Every default reaches the whole
    /// effector workspace.
    pub fn default_for(kind: EmbodimentKind) -> Option<ArmConfig> {
        let link_lengths = match kind {
            EmbodimentKind::Arm2 => vec![0.55, 0.5],
            EmbodimentKind::Arm3 => vec![0.42, 0.36, 0.27],
            EmbodimentKind::Arm4 => vec![0.34, 0.29, 0.24, 0.18],
            EmbodimentKind::Pusher => return None,
        };
        let mut joint_limits = vec![[-0.9, std::f32::consts::PI + 0.9]];
        joint_limits.extend(std::iter::repeat_n([-2.8, 2.8], link_lengths.len() - 1));
        Some(ArmConfig {
            base: ARM_BASE,
            link_lengths,
            joint_limits,
        })
    }

    /// Checks that the config matches `kind` and is physically sensible.
    pub fn validate(&self, kind: EmbodimentKind) -> Result<(), String> {
        let n = kind.num_joints();
        if self.link_lengths.len() != n || self.joint_limits.len() != n {
            return Err(format!(
                "{} needs {n} link lengths and {n} joint limits",
                kind.name()
            ));
        }
        if self
            .link_lengths
            .iter()
            .any(|l| !(l.is_finite() && *l > 0.0 && *l < 2.0))
        {
            return Err("link lengths must be in (0, 2) metres".into());
        }
        if self
            .joint_limits
            .iter()
            .any(|[lo, hi]| !(lo.is_finite() && hi.is_finite() && lo < hi))
        {
            return Err("joint limits must be finite [low, high] with low < high".into());
        }
        Ok(())
    }

    /// Positions of the base, every joint and the end effector (n + 1 points).
    pub fn joint_positions(&self, q: &[f32]) -> Vec<V2> {
        let mut points = Vec::with_capacity(q.len() + 1);
        let mut p = V2::from(self.base);
        let mut angle = 0.0;
        points.push(p);
        for (qi, len) in q.iter().zip(&self.link_lengths) {
            angle += qi;
            p += V2::new(angle.cos(), angle.sin()) * *len;
            points.push(p);
        }
        points
    }

    /// End-effector position for joint angles `q`.
    pub fn forward(&self, q: &[f32]) -> V2 {
        let mut p = V2::from(self.base);
        let mut angle = 0.0;
        for (qi, len) in q.iter().zip(&self.link_lengths) {
            angle += qi;
            let (s, c) = angle.sin_cos();
            p += V2::new(c, s) * *len;
        }
        p
    }

    /// Heading of the last link (the gripper's approach direction) in radians.
    pub fn ee_heading(&self, q: &[f32]) -> f32 {
        q.iter().sum()
    }

    fn jacobian_columns(&self, q: &[f32]) -> Vec<V2> {
        let points = self.joint_positions(q);
        let ee = *points.last().unwrap_or(&V2::ZERO);
        points[..q.len()].iter().map(|p| (ee - *p).perp()).collect()
    }

    fn clamp_to_limits(&self, q: &mut [f32]) {
        for (qi, [lo, hi]) in q.iter_mut().zip(&self.joint_limits) {
            *qi = qi.clamp(*lo, *hi);
        }
    }

    /// Damped-least-squares IK: joint angles near `q` that bring the effector to `target`,
    /// respecting joint limits. Redundant arms also drift, in the Jacobian's null space,
    /// toward a rest posture away from the limits. If the local solution gets stuck (a joint
    /// limit on the way), the IK is retried from the rest posture. Returns the best effort if
    /// the target is unreachable.
    pub fn inverse(&self, q: &[f32], target: V2) -> Vec<f32> {
        let local = self.solve_from(q, target);
        if (self.forward(&local) - target).length() < 1e-3 {
            return local;
        }
        let fresh = self.solve_from(&self.rest_posture(), target);
        if (self.forward(&fresh) - target).length() + 1e-4
            < (self.forward(&local) - target).length()
        {
            fresh
        } else {
            local
        }
    }

    fn rest_posture(&self) -> Vec<f32> {
        let n = self.link_lengths.len();
        let mut rest = vec![1.9_f32];
        rest.extend(std::iter::repeat_n(-1.0_f32, n - 1));
        self.clamp_to_limits(&mut rest);
        rest
    }

    fn solve_from(&self, q: &[f32], target: V2) -> Vec<f32> {
        const DAMPING: f32 = 0.05;
        const POSTURE_GAIN: f32 = 0.05;
        let rest = self.rest_posture();
        let mut q = q.to_vec();
        for _ in 0..16 {
            let err = target - self.forward(&q);
            if err.length() < 1e-4 {
                break;
            }
            let cols = self.jacobian_columns(&q);
            let (mut a, mut b, mut d) = (DAMPING * DAMPING, 0.0, DAMPING * DAMPING);
            for c in &cols {
                a += c.x * c.x;
                b += c.x * c.y;
                d += c.y * c.y;
            }
            let det = a * d - b * b;
            if det.abs() < 1e-12 {
                break;
            }
            let solve = |e: V2| V2::new(d * e.x - b * e.y, -b * e.x + a * e.y) / det;
            let w = solve(err);
            // Null-space posture term: z minus its part that would move the effector.
            let z: Vec<f32> = q
                .iter()
                .zip(&rest)
                .map(|(qi, ri)| POSTURE_GAIN * (ri - qi))
                .collect();
            let jz = cols
                .iter()
                .zip(&z)
                .fold(V2::ZERO, |acc, (c, zi)| acc + *c * *zi);
            let wz = solve(jz);
            for ((qi, c), zi) in q.iter_mut().zip(&cols).zip(&z) {
                let step = c.dot(w) + if cols.len() > 2 { zi - c.dot(wz) } else { 0.0 };
                *qi += step.clamp(-0.3, 0.3);
            }
            self.clamp_to_limits(&mut q);
        }
        q
    }

    /// Joint velocities (radians per step) that move the effector by `delta` metres, by damped
    /// least squares on the Jacobian.
    pub fn joint_step_for(&self, q: &[f32], delta: V2) -> Vec<f32> {
        let target = self.forward(q) + delta;
        let q_new = self.inverse(q, target);
        q_new.iter().zip(q).map(|(a, b)| a - b).collect()
    }

    /// A comfortable elbow-bent posture with the effector at `ee`.
    pub fn posture_for(&self, ee: V2) -> Vec<f32> {
        self.inverse(&self.rest_posture(), ee)
    }
}

/// Keeps a point inside the effector workspace.
pub fn clamp_to_workspace(p: V2) -> V2 {
    V2::new(
        p.x.clamp(-EE_WORKSPACE_HALF, EE_WORKSPACE_HALF),
        p.y.clamp(-EE_WORKSPACE_HALF, EE_WORKSPACE_HALF),
    )
}

fn in_workspace(p: V2) -> bool {
    p.x.abs() <= EE_WORKSPACE_HALF + 1e-4 && p.y.abs() <= EE_WORKSPACE_HALF + 1e-4
}

/// The kinematic state of the controlled body.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub kind: EmbodimentKind,
    pub arm: Option<ArmConfig>,
    /// Joint angles (empty for the pusher).
    pub joints: Vec<f32>,
    /// End-effector position.
    pub ee: V2,
    /// Whether the gripper is closed (always false for the pusher).
    pub gripper_closed: bool,
}

/// Where the body should be after one control step.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyCommand {
    pub joints: Vec<f32>,
    pub ee: V2,
    pub gripper_closed: bool,
}

impl Body {
    /// A body of `kind` with its effector at `ee_start` and the gripper open.
    pub fn new(kind: EmbodimentKind, arm: Option<ArmConfig>, ee_start: V2) -> Body {
        let arm = if kind.has_gripper() {
            arm.or_else(|| ArmConfig::default_for(kind))
        } else {
            None
        };
        match arm {
            Some(arm) => {
                let joints = arm.posture_for(clamp_to_workspace(ee_start));
                let ee = arm.forward(&joints);
                Body {
                    kind,
                    arm: Some(arm),
                    joints,
                    ee,
                    gripper_closed: false,
                }
            }
            None => Body {
                kind,
                arm: None,
                joints: Vec::new(),
                ee: clamp_to_workspace(ee_start),
                gripper_closed: false,
            },
        }
    }

    /// The proprioception vector (see the module docs of `sim` for the layout).
    pub fn proprio(&self) -> Vec<f32> {
        let mut v = Vec::with_capacity(self.kind.proprio_dim());
        if self.kind.has_gripper() {
            v.extend_from_slice(&self.joints);
            v.push(if self.gripper_closed { 1.0 } else { 0.0 });
        }
        v.push(self.ee.x);
        v.push(self.ee.y);
        v
    }

    /// Validates `action` and turns it into the body's next pose.
    pub fn command(&self, action: &[f32], space: ActionSpace) -> Result<BodyCommand, SimError> {
        let expected = self.kind.action_dim(space)?;
        if action.len() != expected {
            return Err(SimError::ActionDims {
                got: action.len(),
                expected,
                embodiment: self.kind.name().into(),
                space: space.name().into(),
            });
        }
        if let Some((index, &value)) = action
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && v.abs() <= 1.0))
        {
            return Err(SimError::ActionOutOfRange { index, value });
        }
        let gripper_closed = self.kind.has_gripper() && action[expected - 1] > 0.0;
        let Some(arm) = &self.arm else {
            let ee = clamp_to_workspace(self.ee + V2::new(action[0], action[1]) * MAX_EE_STEP);
            return Ok(BodyCommand {
                joints: Vec::new(),
                ee,
                gripper_closed,
            });
        };
        let proposal = match space {
            ActionSpace::EeDelta => {
                let target =
                    clamp_to_workspace(self.ee + V2::new(action[0], action[1]) * MAX_EE_STEP);
                arm.inverse(&self.joints, target)
            }
            ActionSpace::JointVelocity => {
                let mut q: Vec<f32> = self
                    .joints
                    .iter()
                    .zip(action)
                    .map(|(q, v)| q + v * MAX_JOINT_STEP)
                    .collect();
                arm.clamp_to_limits(&mut q);
                q
            }
        };
        // Shorten the joint step until the effector stays inside the workspace.
        let mut alpha = 1.0;
        let joints = loop {
            let q: Vec<f32> = self
                .joints
                .iter()
                .zip(&proposal)
                .map(|(a, b)| a + (b - a) * alpha)
                .collect();
            if alpha <= 0.0 || in_workspace(arm.forward(&q)) {
                break q;
            }
            alpha = if alpha < 0.1 { 0.0 } else { alpha * 0.5 };
        };
        let ee = arm.forward(&joints);
        Ok(BodyCommand {
            joints,
            ee,
            gripper_closed,
        })
    }

    /// Converts a desired normalised effector displacement into an action in `space`, the way
    /// the teacher drives either action space.
    pub fn action_for_ee_delta(
        &self,
        delta: V2,
        gripper_closed: bool,
        space: ActionSpace,
    ) -> Vec<f32> {
        let delta = if delta.length() > 1.0 {
            delta / delta.length()
        } else {
            delta
        };
        let grip = if gripper_closed { 1.0 } else { -1.0 };
        match (space, &self.arm) {
            (ActionSpace::JointVelocity, Some(arm)) => {
                let step = arm.joint_step_for(&self.joints, delta * MAX_EE_STEP);
                let mut a: Vec<f32> = step
                    .iter()
                    .map(|d| (d / MAX_JOINT_STEP).clamp(-1.0, 1.0))
                    .collect();
                a.push(grip);
                a
            }
            (_, None) => vec![delta.x, delta.y],
            (_, Some(_)) => vec![delta.x, delta.y, grip],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ik_reaches_workspace_corners_for_every_arm() {
        for kind in [
            EmbodimentKind::Arm2,
            EmbodimentKind::Arm3,
            EmbodimentKind::Arm4,
        ] {
            let arm = ArmConfig::default_for(kind).unwrap();
            arm.validate(kind).unwrap();
            let mut q = arm.posture_for(V2::new(0.0, -0.1));
            for target in [
                V2::new(-0.38, 0.38),
                V2::new(0.38, 0.38),
                V2::new(0.38, -0.38),
                V2::new(-0.38, -0.38),
            ] {
                // Walk there in small steps, as the controller would.
                for _ in 0..200 {
                    let ee = arm.forward(&q);
                    let step = (target - ee).clamp_length_max(MAX_EE_STEP);
                    q = arm.inverse(&q, ee + step);
                }
                let err = (arm.forward(&q) - target).length();
                assert!(err < 0.01, "{kind:?} misses {target:?} by {err}");
            }
        }
    }

    #[test]
    fn bad_actions_are_typed_errors() {
        let body = Body::new(EmbodimentKind::Arm3, None, V2::new(0.0, -0.2));
        assert!(matches!(
            body.command(&[0.0, 0.0], ActionSpace::EeDelta),
            Err(SimError::ActionDims { .. })
        ));
        assert!(matches!(
            body.command(&[f32::NAN, 0.0, 0.0], ActionSpace::EeDelta),
            Err(SimError::ActionOutOfRange { index: 0, .. })
        ));
        assert!(matches!(
            body.command(&[0.0, 1.5, 0.0], ActionSpace::EeDelta),
            Err(SimError::ActionOutOfRange { index: 1, .. })
        ));
        assert!(
            body.command(&[0.0, 0.0, 0.0, f32::INFINITY], ActionSpace::JointVelocity)
                .is_err()
        );
        let pusher = Body::new(EmbodimentKind::Pusher, None, V2::ZERO);
        assert!(matches!(
            pusher.command(&[0.0, 0.0], ActionSpace::JointVelocity),
            Err(SimError::UnsupportedActionSpace { .. })
        ));
        assert!("arm7".parse::<EmbodimentKind>().is_err());
    }

    #[test]
    fn joint_velocity_never_leaves_workspace() {
        let mut body = Body::new(EmbodimentKind::Arm2, None, V2::new(0.0, 0.0));
        for _ in 0..300 {
            let cmd = body
                .command(&[1.0, 1.0, -1.0], ActionSpace::JointVelocity)
                .unwrap();
            body.joints = cmd.joints;
            body.ee = cmd.ee;
            assert!(in_workspace(body.ee));
        }
    }
}
