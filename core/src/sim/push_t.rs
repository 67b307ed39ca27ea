//! Push-T geometry and push planning: how much of the target pose the T covers, where a
//! point pusher should push the T next, and how to get there without touching it. The
//! success check, the affordance point and the scripted teacher all use these, so they agree
//! with each other.
//!
//! # Push planning
//!
//! [`plan_push`] chooses the teacher's next push by *simulating* candidate pushes: for a few
//! boundary points (ranked by the quasi-static [`contact_score`]) and push directions, it
//! builds a model [`World`] holding only the T, at rest at its current pose, and the
//! effector just off the boundary, then drives the effector through exactly the actions the
//! teacher would send. The push length and the point kept are those whose predicted resting
//! pose has the smallest [`pose_error`] (plus a little for the way there), or that reach
//! [`SUCCESS_COVERAGE`] on the way.
//!
//! The model is close but not exact: a freshly built world replays the episode's world bit
//! for bit until the effector touches the T, then drifts by a fraction of a millimetre per
//! step (it lacks the episode world's contact history), and it cannot know a still-moving
//! T's velocity. So pushes are short and at most half speed, the teacher starts a push only
//! once the T has (nearly) stopped, plans from where a coasting T will stop ([`coast`]), and
//! re-plans after every push.
//!
//! [`way_to_push`] gets the effector to the start of a push without touching the T: rapier
//! makes speculative contacts within 2 cm, and an effector passing along the T inside that
//! distance nudges it, so the way backs straight off, goes round at [`TRAVEL_CLEARANCE`]
//! ([`route`]: shortest path through way points off the T's corners), and comes straight in
//! along the push's normal, slowing down.

use super::embodiment::{ActionSpace, Body, EE_WORKSPACE_HALF, EmbodimentKind, MAX_EE_STEP};
use super::geometry::{Pose2, V2, point_segment_distance, union_overlap_area, wrap_angle};
use super::scene::{Color, ObjectShape, PlacedObject, Scene, T_BAR, T_STEM};
use super::world::{EFFECTOR_RADIUS, World};

/// Push-T succeeds when the T covers at least this fraction of its target (as gym-pusht).
pub const SUCCESS_COVERAGE: f32 = 0.95;

/// Area of the T, square metres.
pub fn t_area() -> f32 {
    4.0 * (T_BAR.1[0] * T_BAR.1[1] + T_STEM.1[0] * T_STEM.1[1])
}

/// Fraction of the target T's area covered by the T at `pose`, by exact polygon
/// intersection (the T is two disjoint rectangles).
pub fn coverage(pose: &Pose2, target: &Pose2) -> f32 {
    let a = ObjectShape::T.world_polygons(pose);
    let b = ObjectShape::T.world_polygons(target);
    (union_overlap_area(&a, &b) / t_area()).clamp(0.0, 1.0)
}

/// The T's outer boundary in its body frame, counter-clockwise.
pub fn t_outline() -> [V2; 8] {
    let (bc, bh) = (V2::from(T_BAR.0), V2::from(T_BAR.1));
    let (sc, sh) = (V2::from(T_STEM.0), V2::from(T_STEM.1));
    let bar_bottom = bc.y - bh.y;
    [
        V2::new(sc.x - sh.x, sc.y - sh.y),
        V2::new(sc.x + sh.x, sc.y - sh.y),
        V2::new(sc.x + sh.x, bar_bottom),
        V2::new(bc.x + bh.x, bar_bottom),
        V2::new(bc.x + bh.x, bc.y + bh.y),
        V2::new(bc.x - bh.x, bc.y + bh.y),
        V2::new(bc.x - bh.x, bar_bottom),
        V2::new(sc.x - sh.x, bar_bottom),
    ]
}

/// Distance from a world point to the T at `pose` (0 inside).
pub fn distance_to_t(p: V2, pose: &Pose2) -> f32 {
    let local = Pose2::new(0.0, 0.0, -pose.angle).rotate(p - pose.position());
    let inside =
        |c: [f32; 2], h: [f32; 2]| (local.x - c[0]).abs() <= h[0] && (local.y - c[1]).abs() <= h[1];
    if inside(T_BAR.0, T_BAR.1) || inside(T_STEM.0, T_STEM.1) {
        return 0.0;
    }
    let outline = t_outline();
    (0..outline.len())
        .map(|i| point_segment_distance(local, outline[i], outline[(i + 1) % outline.len()]))
        .fold(f32::INFINITY, f32::min)
}

/// A place on the T's boundary to push, in the T's body frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contact {
    /// Index among [`contacts`], stable across calls.
    pub id: usize,
    /// Boundary point, body frame.
    pub point: V2,
    /// Outward normal at the point, body frame (the pusher pushes along `-normal`).
    pub normal: V2,
}

/// Candidate pushing points: 5 per outline edge (3 on the short edges), away from corners.
pub fn contacts() -> Vec<Contact> {
    let outline = t_outline();
    let mut out = Vec::new();
    for i in 0..outline.len() {
        let a = outline[i];
        let b = outline[(i + 1) % outline.len()];
        let d = b - a;
        let normal = V2::new(d.y, -d.x).normalize();
        let fractions: &[f32] = if d.length() > 0.06 {
            &[0.1, 0.3, 0.5, 0.7, 0.9]
        } else {
            &[0.25, 0.5, 0.75]
        };
        for &f in fractions {
            out.push(Contact {
                id: out.len(),
                point: a + d * f,
                normal,
            });
        }
    }
    out
}

/// Radius of gyration squared of the T about its origin (metres²): how pushing torque turns
/// into rotation under the table's equal linear and angular damping.
const GYRATION_SQ: f32 = 0.00536;
/// How many metres of position error one radian of angle error is worth when choosing pushes.
const ANGLE_WEIGHT: f32 = 0.12;

/// How well pushing at `contact` moves the T from `pose` toward `target`: cosine between the
/// body twist the push would cause (quasi-static, viscous table) and the twist that removes
/// the pose error. Higher is better; in `[-1, 1]`.
pub fn contact_score(contact: &Contact, pose: &Pose2, target: &Pose2) -> f32 {
    let err_p = target.position() - pose.position();
    let err_a = wrap_angle(target.angle - pose.angle);
    let want = [err_p.x, err_p.y, err_a * ANGLE_WEIGHT];
    let r = pose.rotate(contact.point);
    let f = -pose.rotate(contact.normal);
    let torque = r.perp_dot(f);
    let got = [f.x, f.y, torque / GYRATION_SQ * ANGLE_WEIGHT];
    let dot: f32 = want.iter().zip(&got).map(|(a, b)| a * b).sum();
    let nw = want.iter().map(|a| a * a).sum::<f32>().sqrt();
    let ng = got.iter().map(|a| a * a).sum::<f32>().sqrt();
    if nw < 1e-9 || ng < 1e-9 {
        0.0
    } else {
        dot / (nw * ng)
    }
}

/// The best contact to push next, without memory.
pub fn best_contact(pose: &Pose2, target: &Pose2) -> Contact {
    let all = contacts();
    let mut best = all[0];
    let mut best_score = f32::NEG_INFINITY;
    for c in all {
        let s = contact_score(&c, pose, target);
        if s > best_score {
            best_score = s;
            best = c;
        }
    }
    best
}

/// Metres of position error that one radian of angle error is worth in [`pose_error`]: about
/// 3 mm of offset and 0.04 rad of turn each cost 5% coverage.
pub const ANGLE_SCALE: f32 = 0.075;

/// Pose error of the T, metres: position error plus [`ANGLE_SCALE`] × angle error. Coverage
/// is roughly `1 - 16 × pose_error` near the target, so success needs about 3 mm.
pub fn pose_error(pose: &Pose2, target: &Pose2) -> f32 {
    (target.position() - pose.position()).length()
        + ANGLE_SCALE * wrap_angle(target.angle - pose.angle).abs()
}

/// Distance kept between the effector's centre and the T while going round it. Rapier makes
/// speculative contacts within its prediction distance (2 cm), and a fast effector passing
/// inside it nudges the T; so the way round keeps that gap, and [`approach_step`] slows the
/// effector down inside it.
pub const TRAVEL_CLEARANCE: f32 = EFFECTOR_RADIUS + 0.021;
/// Gap between the effector's edge and the T where a push starts.
const PUSH_GAP: f32 = 0.004;
/// Longest push the planner considers, control steps.
const MAX_PUSH_STEPS: u32 = 16;
/// Pose error the planner trades for one metre of effector travel to the push start.
const TRAVEL_WEIGHT: f32 = 0.01;
/// Coverage a simulated push must reach to count as a predicted success (a margin over
/// [`SUCCESS_COVERAGE`] for what the model does not know, such as a still-moving T).
const PREDICTED_SUCCESS: f32 = SUCCESS_COVERAGE + 0.005;
/// How many of the best-scoring boundary points are simulated.
const CANDIDATE_CONTACTS: usize = 8;
/// How many boundary points the wider search simulates.
const WIDE_CONTACTS: usize = 16;
/// Slowest push, metres per control step.
const MIN_PUSH_SPEED: f32 = 0.0015;
/// Fastest push, metres per control step: half the effector's top speed, so the T is never
/// struck hard (the model's error grows with push speed).
const MAX_PUSH_SPEED: f32 = 0.5 * MAX_EE_STEP;
/// Push directions tried at each point, radians from the inward normal.
const DIRECTIONS: [f32; 3] = [0.0, -0.3, 0.3];
/// Wider set of directions, tried when no push from the first set helps.
const WIDE_DIRECTIONS: [f32; 5] = [0.0, -0.25, 0.25, -0.5, 0.5];

/// How far out along the normal from a push start the straight final approach begins.
const APPROACH_LENGTH: f32 = TRAVEL_CLEARANCE + 0.002 - EFFECTOR_RADIUS - PUSH_GAP;

/// A short straight push planned by simulation; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Push {
    /// Effector position where the push starts (world frame), `PUSH_GAP` off the T.
    pub start: V2,
    /// Outward normal of the T's boundary where the push starts (world frame).
    pub normal: V2,
    /// Effector displacement per control step while pushing (world frame, metres).
    pub step: V2,
    /// Number of pushing steps.
    pub steps: u32,
    /// The T's pose the push was planned from.
    pub from: Pose2,
    /// Predicted [`pose_error`] after the push; negative when the push is predicted to reach
    /// [`SUCCESS_COVERAGE`] on the way.
    pub predicted: f32,
}

impl Push {
    /// Where the straight final approach to [`Push::start`] begins.
    pub fn approach(&self) -> V2 {
        self.start + self.normal * APPROACH_LENGTH
    }
}

/// The next push for the T at `pose` (at rest) with the effector at `ee`, or `None` when no
/// boundary point can be reached.
pub fn plan_push(pose: &Pose2, target: &Pose2, ee: V2) -> Option<Push> {
    let error = pose_error(pose, target);
    let speed = push_speed(error);
    let ranked = ranked_contacts(pose, target);
    let first = best_push(
        pose,
        target,
        ee,
        &ranked[..ranked.len().min(CANDIDATE_CONTACTS)],
        &DIRECTIONS,
        &[speed],
    );
    if first.is_some_and(|p| p.predicted < 0.97 * error) {
        return first;
    }
    // Nothing clearly helps: try more points and directions, pushing slower.
    let wide = best_push(
        pose,
        target,
        ee,
        &ranked[..ranked.len().min(WIDE_CONTACTS)],
        &WIDE_DIRECTIONS,
        &[(0.4 * speed).max(MIN_PUSH_SPEED)],
    );
    match (first, wide) {
        (Some(a), Some(b)) if a.predicted <= b.predicted => Some(a),
        (a, b) => b.or(a),
    }
}

/// Pushing speed for a pose error (metres per control step): slower near the target, so
/// each push moves the T by a fraction of the error.
fn push_speed(error: f32) -> f32 {
    (0.3 * error).clamp(MIN_PUSH_SPEED, MAX_PUSH_SPEED)
}

/// Boundary points whose push start is free, best quasi-static score first.
fn ranked_contacts(pose: &Pose2, target: &Pose2) -> Vec<Contact> {
    let mut scored: Vec<(f32, Contact)> = contacts()
        .into_iter()
        .filter(|c| start_is_free(pose, c))
        .map(|c| (contact_score(&c, pose, target), c))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, c)| c).collect()
}

/// Where the effector starts a push at `contact`: [`PUSH_GAP`] off the boundary along the
/// outward normal.
fn push_start(pose: &Pose2, contact: &Contact) -> V2 {
    pose.transform(contact.point) + pose.rotate(contact.normal) * (EFFECTOR_RADIUS + PUSH_GAP)
}

/// Whether a push at `contact` can start: the effector fits at the push start, and at the
/// start of its final approach with [`TRAVEL_CLEARANCE`], inside its workspace.
fn start_is_free(pose: &Pose2, contact: &Contact) -> bool {
    let start = push_start(pose, contact);
    let approach = start + pose.rotate(contact.normal) * APPROACH_LENGTH;
    let inside = |p: V2| p.x.abs() < EE_WORKSPACE_HALF && p.y.abs() < EE_WORKSPACE_HALF;
    ObjectShape::T.distance(pose, start) >= EFFECTOR_RADIUS + PUSH_GAP - 1e-3
        && ObjectShape::T.distance(pose, approach) >= TRAVEL_CLEARANCE - 1e-3
        && inside(start)
        && inside(approach)
}

/// The best push over the given points, directions and speeds, scored by predicted error
/// plus [`TRAVEL_WEIGHT`] × the way there.
fn best_push(
    pose: &Pose2,
    target: &Pose2,
    ee: V2,
    contacts: &[Contact],
    directions: &[f32],
    speeds: &[f32],
) -> Option<Push> {
    let mut best: Option<(f32, Push)> = None;
    for contact in contacts {
        let normal = pose.rotate(contact.normal);
        let probe = Push {
            start: push_start(pose, contact),
            normal,
            step: V2::ZERO,
            steps: 0,
            from: *pose,
            predicted: 0.0,
        };
        let Some(way) = way_to_push(pose, ee, &probe) else {
            continue;
        };
        for &turn in directions {
            let dir = Pose2::new(0.0, 0.0, turn).rotate(-normal);
            for &speed in speeds {
                let Some(push) = simulate_push(pose, target, &probe, dir * speed) else {
                    continue;
                };
                let score = push.predicted + TRAVEL_WEIGHT * way.length;
                if best.is_none_or(|(s, _)| score < s) {
                    best = Some((score, push));
                }
            }
        }
    }
    best.map(|(_, push)| push)
}

/// A T pushed at constant speed and then left alone moves on by this many times its last
/// step's displacement (measured in the simulator).
const COAST: f32 = 1.7;

/// Simulates pushing the T (at rest at `pose`) from `probe.start` by `step` per control
/// step, and returns the push length with the best predicted outcome.
fn simulate_push(pose: &Pose2, target: &Pose2, probe: &Push, step: V2) -> Option<Push> {
    let mut world = model_world(pose, probe.start);
    let mut previous = *pose;
    let mut best = Push {
        step,
        steps: 0,
        from: *pose,
        predicted: f32::INFINITY,
        ..*probe
    };
    for k in 1..=MAX_PUSH_STEPS {
        let command = world
            .body()
            .command(&push_action(world.body(), step), ActionSpace::EeDelta)
            .ok()?;
        world.apply(command);
        let now = world.object_pose(0);
        if coverage(&now, target) >= PREDICTED_SUCCESS {
            best.steps = k;
            best.predicted = -1.0 + 0.01 * k as f32;
            return Some(best);
        }
        let predicted = pose_error(&coast(&previous, &now), target);
        if predicted < best.predicted {
            best.predicted = predicted;
            best.steps = k;
        } else if predicted > best.predicted + 0.01 {
            break; // overshooting: longer pushes only get worse
        }
        previous = now;
    }
    (best.steps > 0).then_some(best)
}

/// Where a T seen at `previous` and then at `now` one control step later comes to rest if
/// nothing touches it (the table's damping, two substeps a step).
pub fn coast(previous: &Pose2, now: &Pose2) -> Pose2 {
    Pose2::new(
        now.x + COAST * (now.x - previous.x),
        now.y + COAST * (now.y - previous.y),
        now.angle + COAST * wrap_angle(now.angle - previous.angle),
    )
}

/// The normalised action that moves the effector of `body` by `step`, computed exactly as
/// the teacher computes its actions (so a model push replays bit for bit).
pub fn push_action(body: &Body, step: V2) -> Vec<f32> {
    let mut action = body.action_for_ee_delta(step / MAX_EE_STEP, false, ActionSpace::EeDelta);
    for v in &mut action {
        *v = v.clamp(-1.0, 1.0);
    }
    action
}

/// A world with only the T, at rest at `pose`, and the point pusher at `ee`.
fn model_world(pose: &Pose2, ee: V2) -> World {
    let scene = Scene {
        objects: vec![PlacedObject {
            shape: ObjectShape::T,
            color: Color::Blue,
            pose: *pose,
        }],
        pads: Vec::new(),
        t_target: None,
        effector_start: ee.into(),
    };
    World::new(&scene, EmbodimentKind::Pusher, None)
}

/// The way from one effector position to another round the T.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Route {
    /// The next point to move straight to.
    pub next: V2,
    /// Length of the whole way, metres.
    pub length: f32,
}

/// Shortest way from `from` to `to` round the T at `pose` that keeps [`TRAVEL_CLEARANCE`]
/// from it (or, on the first and last legs, whatever less the end points have). `None` when
/// there is no way.
pub fn route(pose: &Pose2, from: V2, to: V2) -> Option<Route> {
    let d_from = ObjectShape::T.distance(pose, from);
    let d_to = ObjectShape::T.distance(pose, to);
    let limit_from = TRAVEL_CLEARANCE.min(d_from) - 1e-4;
    let limit_to = TRAVEL_CLEARANCE.min(d_to) - 1e-4;
    let clear = |a: V2, b: V2, limit: f32| ObjectShape::T.segment_distance(pose, a, b) >= limit;
    if clear(from, to, limit_from.min(limit_to)) {
        return Some(Route {
            next: to,
            length: (to - from).length(),
        });
    }
    shortest_path(&route_nodes(pose), from, to, |a, b, ends| {
        let limit = match ends {
            (true, _) => limit_from,
            (_, true) => limit_to,
            _ => TRAVEL_CLEARANCE - 1e-4,
        };
        clear(a, b, limit)
    })
}

/// The effector's way from `ee` to the start of `push` with the T at `pose`: back straight
/// off the T if closer than [`TRAVEL_CLEARANCE`], go round it to [`Push::approach`], then
/// straight in along the normal, slowing down ([`approach_step`]). Moving straight toward or
/// away from a face never nudges the T; passing along it close by would. `next` is the
/// point to move toward now. `None` when there is no way.
pub fn way_to_push(pose: &Pose2, ee: V2, push: &Push) -> Option<Route> {
    let rel = ee - push.start;
    let (along, lateral) = (rel.dot(push.normal), rel.dot(push.normal.perp()));
    if lateral.abs() < 0.003 && along > -0.008 && along < APPROACH_LENGTH + 0.003 {
        let cap = if along < 0.0 {
            MAX_EE_STEP
        } else {
            approach_step(pose, ee)
        };
        return Some(Route {
            next: ee + (push.start - ee).clamp_length_max(cap),
            length: along.abs(),
        });
    }
    let approach = push.approach();
    let d = ObjectShape::T.distance(pose, ee);
    if d < TRAVEL_CLEARANCE - 1e-3 {
        let out = ee + outward(pose, ee) * (TRAVEL_CLEARANCE + 0.002 - d);
        let rest = if ObjectShape::T.distance(pose, out) >= TRAVEL_CLEARANCE - 1e-3 {
            route(pose, out, approach)?.length
        } else {
            (approach - out).length() // still in a corner: the next step backs off again
        };
        return Some(Route {
            next: out,
            length: (out - ee).length() + rest + APPROACH_LENGTH,
        });
    }
    let way = route(pose, ee, approach)?;
    Some(Route {
        next: way.next,
        length: way.length + APPROACH_LENGTH,
    })
}

/// Largest effector move (metres) that is safe at `p` while going to a push start: the
/// effector slows down as it closes in on the T, so that it arrives without touching it.
pub fn approach_step(pose: &Pose2, p: V2) -> f32 {
    let gap = ObjectShape::T.distance(pose, p) - EFFECTOR_RADIUS;
    if gap >= TRAVEL_CLEARANCE - EFFECTOR_RADIUS {
        MAX_EE_STEP
    } else {
        (0.5 * (gap - PUSH_GAP) + 0.0015).clamp(0.0015, MAX_EE_STEP)
    }
}

/// Unit direction in which the distance to the T grows fastest at `p`.
fn outward(pose: &Pose2, p: V2) -> V2 {
    let h = 1e-4;
    let d = |q: V2| ObjectShape::T.distance(pose, q);
    let g = V2::new(
        d(p + V2::new(h, 0.0)) - d(p - V2::new(h, 0.0)),
        d(p + V2::new(0.0, h)) - d(p - V2::new(0.0, h)),
    );
    g.try_normalize()
        .unwrap_or_else(|| (p - pose.position()).normalize_or(V2::Y))
}

/// Way points round the T: each outline corner moved out along both of its edges' normals,
/// so that straight moves between neighbouring corners keep [`TRAVEL_CLEARANCE`].
fn route_nodes(pose: &Pose2) -> Vec<V2> {
    let outline = t_outline();
    let n = outline.len();
    let normal = |i: usize| {
        let d = outline[(i + 1) % n] - outline[i];
        V2::new(d.y, -d.x).normalize()
    };
    (0..n)
        .map(|i| {
            let offset = (normal((i + n - 1) % n) + normal(i)) * (TRAVEL_CLEARANCE + 0.004);
            pose.transform(outline[i] + offset)
        })
        .filter(|p| p.x.abs() < EE_WORKSPACE_HALF && p.y.abs() < EE_WORKSPACE_HALF)
        .collect()
}

/// Dijkstra from `from` to `to` through `nodes`; `clear(a, b, (a is from, b is to))` says
/// whether a straight move is allowed.
fn shortest_path(
    nodes: &[V2],
    from: V2,
    to: V2,
    clear: impl Fn(V2, V2, (bool, bool)) -> bool,
) -> Option<Route> {
    let n = nodes.len();
    // dist[i]: shortest way from `from` to node i; first[i]: its first way point.
    let mut dist: Vec<f32> = nodes
        .iter()
        .map(|&p| {
            if clear(from, p, (true, false)) {
                (p - from).length()
            } else {
                f32::INFINITY
            }
        })
        .collect();
    let mut first: Vec<V2> = nodes.to_vec();
    let mut done = vec![false; n];
    let mut best: Option<Route> = None;
    for _ in 0..n {
        let Some(i) = (0..n)
            .filter(|&i| !done[i] && dist[i].is_finite())
            .min_by(|&a, &b| dist[a].total_cmp(&dist[b]))
        else {
            break;
        };
        done[i] = true;
        if clear(nodes[i], to, (false, true)) {
            let length = dist[i] + (to - nodes[i]).length();
            if best.is_none_or(|r| length < r.length) {
                best = Some(Route {
                    next: first[i],
                    length,
                });
            }
        }
        for j in 0..n {
            let via = dist[i] + (nodes[j] - nodes[i]).length();
            if !done[j] && via < dist[j] && clear(nodes[i], nodes[j], (false, false)) {
                dist[j] = via;
                first[j] = first[i];
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_is_one_at_target_and_drops_with_offset() {
        let target = Pose2::new(0.0, 0.05, 0.3);
        assert!((coverage(&target, &target) - 1.0).abs() < 1e-4);
        let shifted = Pose2::new(0.003, 0.05, 0.3);
        assert!(
            coverage(&shifted, &target) >= SUCCESS_COVERAGE,
            "3 mm off still counts"
        );
        let far = Pose2::new(0.03, 0.05, 0.3);
        assert!(
            coverage(&far, &target) < SUCCESS_COVERAGE,
            "3 cm off does not"
        );
        let turned = Pose2::new(0.0, 0.05, 0.6);
        assert!(
            coverage(&turned, &target) < SUCCESS_COVERAGE,
            "0.3 rad off does not"
        );
        let elsewhere = Pose2::new(0.4, -0.3, 0.3);
        assert_eq!(coverage(&elsewhere, &target), 0.0);
    }

    #[test]
    fn area_and_outline_agree() {
        let outline = t_outline();
        assert!((crate::sim::geometry::signed_area(&outline) - t_area()).abs() < 1e-6);
        assert_eq!(distance_to_t(V2::new(0.0, 0.0), &Pose2::default()), 0.0);
        assert!((distance_to_t(V2::new(0.0, 0.168), &Pose2::default()) - 0.1).abs() < 1e-5);
    }

    #[test]
    fn route_goes_round_the_t_with_clearance() {
        let pose = Pose2::new(0.0, 0.0, 0.4);
        let (mut p, goal) = (V2::new(0.0, -0.25), V2::new(0.02, 0.2));
        for _ in 0..40 {
            let way = route(&pose, p, goal).expect("a way round");
            let next = p + (way.next - p).clamp_length_max(MAX_EE_STEP);
            let clearance = ObjectShape::T.segment_distance(&pose, p, next);
            assert!(clearance >= TRAVEL_CLEARANCE - 1e-3, "{clearance} at {p:?}");
            p = next;
        }
        assert!((p - goal).length() < 1e-4, "arrived: {p:?}");
    }

    #[test]
    fn way_to_a_push_backs_off_before_going_round() {
        let pose = Pose2::default();
        let target = Pose2::new(0.05, 0.03, 0.2);
        let touching = V2::new(0.0, 0.068 + EFFECTOR_RADIUS); // on top of the bar
        let push = plan_push(&pose, &target, touching).expect("a push");
        let way = way_to_push(&pose, touching, &push).expect("a way");
        let before = ObjectShape::T.distance(&pose, touching);
        let after = ObjectShape::T.distance(&pose, way.next);
        assert!(
            after > before || (way.next - push.start).length() < 0.01,
            "backs off or goes straight to a nearby start: {way:?} {push:?}"
        );
    }

    #[test]
    fn planned_push_reduces_the_pose_error_in_the_model() {
        let target = Pose2::new(0.0, 0.03, 0.0);
        for pose in [
            Pose2::new(0.08, 0.0, -0.3),
            Pose2::new(-0.05, 0.09, 0.5),
            Pose2::new(0.004, 0.033, 0.03),
        ] {
            let push = plan_push(&pose, &target, V2::new(0.0, -0.3)).expect("a push");
            assert!(push.steps >= 1 && push.steps <= MAX_PUSH_STEPS);
            assert!(push.step.length() <= MAX_PUSH_SPEED + 1e-6);
            assert!(ObjectShape::T.distance(&pose, push.start) > EFFECTOR_RADIUS);
            assert!(
                push.predicted < pose_error(&pose, &target),
                "{pose:?}: {push:?}"
            );
        }
    }

    #[test]
    fn coast_extrapolates_the_last_step() {
        let rest = coast(&Pose2::new(0.0, 0.0, 0.0), &Pose2::new(0.01, 0.0, 0.1));
        assert!((rest.x - 0.01 * (1.0 + COAST)).abs() < 1e-6);
        assert!((rest.angle - 0.1 * (1.0 + COAST)).abs() < 1e-6);
    }

    #[test]
    fn best_contact_pushes_toward_the_target() {
        let pose = Pose2::new(0.0, 0.0, 0.0);
        let target = Pose2::new(0.1, 0.0, 0.0);
        let c = best_contact(&pose, &target);
        assert!(c.normal.x < -0.9, "push from the left side: {c:?}");
    }
}
