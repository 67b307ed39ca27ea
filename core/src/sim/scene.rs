//! What is on the table: object shapes and colours, goal pads, and a seeded layout sampler
//! that turns a task's object list into concrete, non-overlapping poses.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::geometry::{Pose2, V2, point_segment_distance, rectangle, segment_segment_distance};

/// Radius of a goal pad, metres. An object counts as on a pad when its centre is inside.
pub const PAD_RADIUS: f32 = 0.07;
/// Objects and pads are sampled inside `[-LAYOUT_HALF, LAYOUT_HALF]²`, so the effector can
/// always get behind an object to push it.
pub const LAYOUT_HALF: f32 = 0.28;
/// Half side of a square block, metres.
pub const BLOCK_HALF: f32 = 0.04;
/// Radius of a disc, metres.
pub const DISC_RADIUS: f32 = 0.04;
/// Circumradius of the equilateral triangle, metres.
pub const TRIANGLE_RADIUS: f32 = 0.05;
/// The T's bar: centre and half-extents in the body frame (the origin is near the centroid).
pub const T_BAR: ([f32; 2], [f32; 2]) = ([0.0, 0.043], [0.1, 0.025]);
/// The T's stem: centre and half-extents in the body frame.
pub const T_STEM: ([f32; 2], [f32; 2]) = ([0.0, -0.057], [0.025, 0.075]);

/// Object and pad colours. Names are the words instructions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    Red,
    Green,
    Blue,
    Yellow,
    Purple,
    Orange,
}

impl Color {
    /// Every colour, in a fixed order.
    pub const ALL: [Color; 6] = [
        Color::Red,
        Color::Green,
        Color::Blue,
        Color::Yellow,
        Color::Purple,
        Color::Orange,
    ];

    /// The word used in instructions.
    pub fn name(self) -> &'static str {
        match self {
            Color::Red => "red",
            Color::Green => "green",
            Color::Blue => "blue",
            Color::Yellow => "yellow",
            Color::Purple => "purple",
            Color::Orange => "orange",
        }
    }

    /// The nominal sRGB colour the renderer paints objects with.
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Color::Red => [214, 48, 49],
            Color::Green => [46, 160, 67],
            Color::Blue => [40, 90, 220],
            Color::Yellow => [240, 200, 30],
            Color::Purple => [140, 60, 190],
            Color::Orange => [245, 130, 20],
        }
    }
}

/// The rigid shapes an object can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectShape {
    /// A square block.
    Block,
    /// A disc.
    Disc,
    /// An equilateral triangle (a convex polygon collider).
    Triangle,
    /// A T made of two boxes on one body, as in Push-T.
    T,
}

impl ObjectShape {
    /// Every shape, in a fixed order.
    pub const ALL: [ObjectShape; 4] = [
        ObjectShape::Block,
        ObjectShape::Disc,
        ObjectShape::Triangle,
        ObjectShape::T,
    ];

    /// The word used in instructions.
    pub fn name(self) -> &'static str {
        match self {
            ObjectShape::Block => "block",
            ObjectShape::Disc => "disc",
            ObjectShape::Triangle => "triangle",
            ObjectShape::T => "t",
        }
    }

    /// The shape as disjoint convex polygons (counter-clockwise) in the body frame; a disc is
    /// approximated by a 16-gon.
    pub fn local_polygons(self) -> Vec<Vec<V2>> {
        match self {
            ObjectShape::Block => vec![rectangle(V2::ZERO, V2::splat(BLOCK_HALF))],
            ObjectShape::Disc => vec![
                (0..16)
                    .map(|i| {
                        let a = i as f32 * std::f32::consts::TAU / 16.0;
                        V2::new(a.cos(), a.sin()) * DISC_RADIUS
                    })
                    .collect(),
            ],
            ObjectShape::Triangle => vec![
                (0..3)
                    .map(|i| {
                        let a =
                            std::f32::consts::FRAC_PI_2 + i as f32 * std::f32::consts::TAU / 3.0;
                        V2::new(a.cos(), a.sin()) * TRIANGLE_RADIUS
                    })
                    .collect(),
            ],
            ObjectShape::T => vec![
                rectangle(V2::from(T_BAR.0), V2::from(T_BAR.1)),
                rectangle(V2::from(T_STEM.0), V2::from(T_STEM.1)),
            ],
        }
    }

    /// The shape as world-frame polygons at `pose`.
    pub fn world_polygons(self, pose: &Pose2) -> Vec<Vec<V2>> {
        self.local_polygons()
            .into_iter()
            .map(|poly| poly.into_iter().map(|p| pose.transform(p)).collect())
            .collect()
    }

    /// Radius of a circle around the body origin that contains the whole shape.
    pub fn bounding_radius(self) -> f32 {
        match self {
            ObjectShape::Block => BLOCK_HALF * std::f32::consts::SQRT_2,
            ObjectShape::Disc => DISC_RADIUS,
            ObjectShape::Triangle => TRIANGLE_RADIUS,
            ObjectShape::T => 0.135,
        }
    }

    /// Distance from world point `p` to the shape at `pose` (0 inside).
    pub fn distance(self, pose: &Pose2, p: V2) -> f32 {
        if self == ObjectShape::Disc {
            return ((p - pose.position()).length() - DISC_RADIUS).max(0.0);
        }
        let local = Pose2::new(0.0, 0.0, -pose.angle).rotate(p - pose.position());
        let mut best = f32::INFINITY;
        for poly in self.local_polygons() {
            let n = poly.len();
            let inside =
                (0..n).all(|i| (poly[(i + 1) % n] - poly[i]).perp_dot(local - poly[i]) >= 0.0);
            if inside {
                return 0.0;
            }
            for i in 0..n {
                best = best.min(point_segment_distance(local, poly[i], poly[(i + 1) % n]));
            }
        }
        best
    }

    /// Smallest distance from the world segment `ab` to the shape at `pose` (0 if it touches).
    pub fn segment_distance(self, pose: &Pose2, a: V2, b: V2) -> f32 {
        if self == ObjectShape::Disc {
            return (point_segment_distance(pose.position(), a, b) - DISC_RADIUS).max(0.0);
        }
        let inverse = Pose2::new(0.0, 0.0, -pose.angle);
        let (la, lb) = (
            inverse.rotate(a - pose.position()),
            inverse.rotate(b - pose.position()),
        );
        let mut best = f32::INFINITY;
        for poly in self.local_polygons() {
            let n = poly.len();
            if (0..n).all(|i| (poly[(i + 1) % n] - poly[i]).perp_dot(la - poly[i]) >= 0.0) {
                return 0.0;
            }
            for i in 0..n {
                best = best.min(segment_segment_distance(la, lb, poly[i], poly[(i + 1) % n]));
            }
        }
        best
    }

    /// How far the shape reaches from its origin in world direction `dir` (unit) at `pose`.
    pub fn support(self, pose: &Pose2, dir: V2) -> f32 {
        if self == ObjectShape::Disc {
            return DISC_RADIUS;
        }
        let local_dir = Pose2::new(0.0, 0.0, -pose.angle).rotate(dir);
        self.local_polygons()
            .iter()
            .flatten()
            .map(|p| p.dot(local_dir))
            .fold(f32::NEG_INFINITY, f32::max)
    }
}

/// An object placed in the scene.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlacedObject {
    pub shape: ObjectShape,
    pub color: Color,
    pub pose: Pose2,
}

/// A goal pad placed in the scene: a coloured disc-shaped region on the table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlacedPad {
    pub color: Color,
    pub center: [f32; 2],
}

impl PlacedPad {
    /// The pad centre as a vector.
    pub fn position(&self) -> V2 {
        V2::from(self.center)
    }

    /// Whether a world point lies on the pad.
    pub fn contains(&self, p: V2) -> bool {
        (p - self.position()).length() < PAD_RADIUS
    }
}

/// A concrete scene: every pose fixed. `World::new` builds physics from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    pub objects: Vec<PlacedObject>,
    pub pads: Vec<PlacedPad>,
    /// Target pose of the T in Push-T tasks, drawn as a pale outline region.
    pub t_target: Option<Pose2>,
    /// Where the end effector starts.
    pub effector_start: [f32; 2],
}

/// A request for one object: fixed or random position, and jitter around a fixed position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObjectRequest {
    pub shape: ObjectShape,
    pub color: Color,
    pub position: Option<[f32; 2]>,
    pub angle: Option<f32>,
}

/// A request for one pad.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PadRequest {
    pub color: Color,
    pub position: Option<[f32; 2]>,
}

/// Everything the layout sampler needs.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutRequest {
    pub objects: Vec<ObjectRequest>,
    pub pads: Vec<PadRequest>,
    /// Uniform jitter (metres) added to fixed positions.
    pub jitter: f32,
    pub t_target: Option<Pose2>,
    /// For Push-T: how far (metres, radians) the T starts from its target.
    pub t_offset: Option<[f32; 2]>,
    pub effector_start: [f32; 2],
}

/// A deterministic RNG for one purpose of one episode: `stream` separates purposes so that
/// adding a variation never changes the base layout.
pub fn episode_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Samples a layout. Random positions avoid each other, the pads and the effector start;
/// returns `None` when no layout is found in a bounded number of tries.
pub fn sample_layout(req: &LayoutRequest, seed: u64) -> Option<Scene> {
    let mut rng = episode_rng(seed, 1);
    for _attempt in 0..200 {
        if let Some(scene) = try_layout(req, &mut rng) {
            return Some(scene);
        }
    }
    None
}

fn uniform(rng: &mut ChaCha8Rng, half: f32) -> f32 {
    if half <= 0.0 {
        0.0
    } else {
        rng.random_range(-half..half)
    }
}

fn try_layout(req: &LayoutRequest, rng: &mut ChaCha8Rng) -> Option<Scene> {
    let start = V2::from(req.effector_start);
    let mut pads: Vec<PlacedPad> = Vec::new();
    for pad in &req.pads {
        let p = match pad.position {
            Some(p) => V2::new(
                p[0] + uniform(rng, req.jitter),
                p[1] + uniform(rng, req.jitter),
            ),
            None => V2::new(uniform(rng, LAYOUT_HALF), uniform(rng, LAYOUT_HALF)),
        };
        let clear = pads
            .iter()
            .all(|q| (q.position() - p).length() > 2.0 * PAD_RADIUS + 0.03);
        if !clear || (p - start).length() < PAD_RADIUS + 0.02 {
            return None;
        }
        pads.push(PlacedPad {
            color: pad.color,
            center: p.into(),
        });
    }
    let mut objects: Vec<PlacedObject> = Vec::new();
    for obj in &req.objects {
        let (p, angle) = if obj.shape == ObjectShape::T && req.t_target.is_some() {
            let target = req.t_target.unwrap_or_default();
            let [dist, dangle] = req.t_offset.unwrap_or([0.1, 0.5]);
            let dir = rng.random_range(0.0..std::f32::consts::TAU);
            let r = rng.random_range(0.5 * dist..dist);
            let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
            let a = sign * rng.random_range(0.5 * dangle..=dangle.max(1e-6));
            (
                target.position() + V2::new(dir.cos(), dir.sin()) * r,
                target.angle + a,
            )
        } else {
            let p = match obj.position {
                Some(p) => V2::new(
                    p[0] + uniform(rng, req.jitter),
                    p[1] + uniform(rng, req.jitter),
                ),
                None => V2::new(uniform(rng, LAYOUT_HALF), uniform(rng, LAYOUT_HALF)),
            };
            let angle = match obj.angle {
                Some(a) => a,
                None => uniform(rng, std::f32::consts::PI),
            };
            (p, angle)
        };
        let radius = obj.shape.bounding_radius();
        let clear_objects = objects
            .iter()
            .all(|o| (o.pose.position() - p).length() > radius + o.shape.bounding_radius() + 0.04);
        let clear_pads = obj.shape == ObjectShape::T
            || pads
                .iter()
                .all(|q| (q.position() - p).length() > PAD_RADIUS + radius + 0.02);
        let clear_start = (p - start).length() > radius + 0.08;
        if !(clear_objects && clear_pads && clear_start) {
            return None;
        }
        objects.push(PlacedObject {
            shape: obj.shape,
            color: obj.color,
            pose: Pose2::new(p.x, p.y, angle),
        });
    }
    Some(Scene {
        objects,
        pads,
        t_target: req.t_target,
        effector_start: req.effector_start,
    })
}

/// Adds `count` distractor objects that no goal mentions: random shape (never a T) and
/// colour, never a twin of an existing object (so instructions stay unambiguous), placed
/// clear of everything else. Places fewer if the table is too crowded.
pub fn add_distractors(scene: &mut Scene, count: usize, rng: &mut ChaCha8Rng) {
    let shapes = [ObjectShape::Block, ObjectShape::Disc, ObjectShape::Triangle];
    let start = V2::from(scene.effector_start);
    let mut placed = 0;
    for _ in 0..400 {
        if placed == count {
            break;
        }
        let shape = shapes[rng.random_range(0..shapes.len())];
        let color = Color::ALL[rng.random_range(0..Color::ALL.len())];
        let p = V2::new(uniform(rng, LAYOUT_HALF), uniform(rng, LAYOUT_HALF));
        let r = shape.bounding_radius();
        let twin = scene
            .objects
            .iter()
            .any(|o| o.shape == shape && o.color == color);
        let clear = scene
            .objects
            .iter()
            .all(|o| (o.pose.position() - p).length() > r + o.shape.bounding_radius() + 0.04)
            && scene
                .pads
                .iter()
                .all(|q| (q.position() - p).length() > PAD_RADIUS + r + 0.02)
            && scene
                .t_target
                .is_none_or(|t| (t.position() - p).length() > 0.3)
            && (p - start).length() > r + 0.08;
        if !twin && clear {
            let angle = uniform(rng, std::f32::consts::PI);
            scene.objects.push(PlacedObject {
                shape,
                color,
                pose: Pose2::new(p.x, p.y, angle),
            });
            placed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> LayoutRequest {
        LayoutRequest {
            objects: vec![
                ObjectRequest {
                    shape: ObjectShape::Block,
                    color: Color::Red,
                    position: None,
                    angle: None,
                },
                ObjectRequest {
                    shape: ObjectShape::Disc,
                    color: Color::Blue,
                    position: None,
                    angle: None,
                },
                ObjectRequest {
                    shape: ObjectShape::Triangle,
                    color: Color::Green,
                    position: None,
                    angle: None,
                },
            ],
            pads: vec![PadRequest {
                color: Color::Yellow,
                position: None,
            }],
            jitter: 0.0,
            t_target: None,
            t_offset: None,
            effector_start: [0.0, -0.35],
        }
    }

    #[test]
    fn layouts_are_deterministic_and_separated() {
        let a = sample_layout(&request(), 7).expect("layout");
        assert_eq!(a, sample_layout(&request(), 7).expect("layout"));
        assert_ne!(a, sample_layout(&request(), 8).expect("layout"));
        for (i, o) in a.objects.iter().enumerate() {
            assert!(o.pose.x.abs() <= LAYOUT_HALF && o.pose.y.abs() <= LAYOUT_HALF);
            for o2 in &a.objects[i + 1..] {
                assert!((o.pose.position() - o2.pose.position()).length() > 0.1);
            }
            assert!(!a.pads[0].contains(o.pose.position()));
        }
    }

    #[test]
    fn support_of_block_along_axis_is_half_side() {
        let pose = Pose2::new(0.0, 0.0, 0.0);
        assert!((ObjectShape::Block.support(&pose, V2::X) - BLOCK_HALF).abs() < 1e-6);
        let rotated = Pose2::new(0.0, 0.0, std::f32::consts::FRAC_PI_4);
        let diag = BLOCK_HALF * std::f32::consts::SQRT_2;
        assert!((ObjectShape::Block.support(&rotated, V2::X) - diag).abs() < 1e-5);
    }
}
