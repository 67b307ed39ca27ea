//! Small 2D geometry shared by physics set-up, rendering, success checks and the teacher:
//! poses, convex polygons, polygon clipping and area.

pub use rapier2d::math::Vector as V2;

/// A planar rigid pose: translation in metres and rotation in radians.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Pose2 {
    pub x: f32,
    pub y: f32,
    pub angle: f32,
}

impl Pose2 {
    /// A pose from its parts.
    pub fn new(x: f32, y: f32, angle: f32) -> Self {
        Self { x, y, angle }
    }

    /// The translation as a vector.
    pub fn position(&self) -> V2 {
        V2::new(self.x, self.y)
    }

    /// Maps a point given in this pose's local frame to the world frame.
    pub fn transform(&self, local: V2) -> V2 {
        let (s, c) = self.angle.sin_cos();
        V2::new(
            c * local.x - s * local.y + self.x,
            s * local.x + c * local.y + self.y,
        )
    }

    /// Maps a direction given in this pose's local frame to the world frame.
    pub fn rotate(&self, local: V2) -> V2 {
        let (s, c) = self.angle.sin_cos();
        V2::new(c * local.x - s * local.y, s * local.x + c * local.y)
    }
}

/// Wraps an angle to `(-π, π]`.
pub fn wrap_angle(a: f32) -> f32 {
    let two_pi = std::f32::consts::TAU;
    let mut r = a % two_pi;
    if r > std::f32::consts::PI {
        r -= two_pi;
    } else if r <= -std::f32::consts::PI {
        r += two_pi;
    }
    r
}

/// The 4 corners (counter-clockwise) of an axis-aligned rectangle.
pub fn rectangle(center: V2, half: V2) -> Vec<V2> {
    vec![
        V2::new(center.x - half.x, center.y - half.y),
        V2::new(center.x + half.x, center.y - half.y),
        V2::new(center.x + half.x, center.y + half.y),
        V2::new(center.x - half.x, center.y + half.y),
    ]
}

/// Signed area of a simple polygon (positive when counter-clockwise).
pub fn signed_area(poly: &[V2]) -> f32 {
    let n = poly.len();
    let mut a = 0.0;
    for i in 0..n {
        let p = poly[i];
        let q = poly[(i + 1) % n];
        a += p.x * q.y - q.x * p.y;
    }
    0.5 * a
}

/// Intersection of two convex counter-clockwise polygons (Sutherland–Hodgman clipping).
pub fn clip_convex(subject: &[V2], clip: &[V2]) -> Vec<V2> {
    let mut output: Vec<V2> = subject.to_vec();
    let n = clip.len();
    for i in 0..n {
        if output.is_empty() {
            break;
        }
        let a = clip[i];
        let b = clip[(i + 1) % n];
        let edge = b - a;
        let inside = |p: V2| edge.perp_dot(p - a) >= 0.0;
        let input = std::mem::take(&mut output);
        let m = input.len();
        for j in 0..m {
            let cur = input[j];
            let prev = input[(j + m - 1) % m];
            let cur_in = inside(cur);
            let prev_in = inside(prev);
            if cur_in {
                if !prev_in {
                    output.push(segment_line_intersection(prev, cur, a, b));
                }
                output.push(cur);
            } else if prev_in {
                output.push(segment_line_intersection(prev, cur, a, b));
            }
        }
    }
    output
}

fn segment_line_intersection(p: V2, q: V2, a: V2, b: V2) -> V2 {
    let edge = b - a;
    let d = q - p;
    let denom = edge.perp_dot(d);
    if denom.abs() < 1e-12 {
        return q;
    }
    let t = edge.perp_dot(a - p) / denom;
    p + d * t
}

/// Area of the intersection of two unions of pairwise-disjoint convex polygons.
pub fn union_overlap_area(a: &[Vec<V2>], b: &[Vec<V2>]) -> f32 {
    let mut area = 0.0;
    for pa in a {
        for pb in b {
            let clipped = clip_convex(pa, pb);
            if clipped.len() >= 3 {
                area += signed_area(&clipped).abs();
            }
        }
    }
    area
}

/// Distance from point `p` to the segment `ab`.
pub fn point_segment_distance(p: V2, a: V2, b: V2) -> f32 {
    let ab = b - a;
    let len2 = ab.length_squared();
    let t = if len2 > 0.0 {
        ((p - a).dot(ab) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (a + ab * t - p).length()
}

/// Distance between segments `ab` and `cd` (0 when they cross).
pub fn segment_segment_distance(a: V2, b: V2, c: V2, d: V2) -> f32 {
    let orient = |p: V2, q: V2, r: V2| (q - p).perp_dot(r - p);
    let (o1, o2, o3, o4) = (
        orient(a, b, c),
        orient(a, b, d),
        orient(c, d, a),
        orient(c, d, b),
    );
    if o1 * o2 < 0.0 && o3 * o4 < 0.0 {
        return 0.0;
    }
    point_segment_distance(a, c, d)
        .min(point_segment_distance(b, c, d))
        .min(point_segment_distance(c, a, b))
        .min(point_segment_distance(d, a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_two_offset_squares_gives_quarter_overlap() {
        let a = rectangle(V2::new(0.0, 0.0), V2::new(1.0, 1.0));
        let b = rectangle(V2::new(1.0, 1.0), V2::new(1.0, 1.0));
        let inter = clip_convex(&a, &b);
        assert!((signed_area(&inter) - 1.0).abs() < 1e-5);
        let disjoint = rectangle(V2::new(5.0, 0.0), V2::new(1.0, 1.0));
        assert!(clip_convex(&a, &disjoint).len() < 3);
    }

    #[test]
    fn segment_distances() {
        let d = segment_segment_distance(
            V2::new(0.0, 0.0),
            V2::new(1.0, 0.0),
            V2::new(0.5, 0.3),
            V2::new(0.5, 1.0),
        );
        assert!((d - 0.3).abs() < 1e-6);
        let crossing = segment_segment_distance(
            V2::new(0.0, 0.0),
            V2::new(1.0, 1.0),
            V2::new(0.0, 1.0),
            V2::new(1.0, 0.0),
        );
        assert_eq!(crossing, 0.0);
    }

    #[test]
    fn pose_transform_rotates_then_translates() {
        let p = Pose2::new(1.0, 2.0, std::f32::consts::FRAC_PI_2);
        let w = p.transform(V2::new(1.0, 0.0));
        assert!((w.x - 1.0).abs() < 1e-6 && (w.y - 3.0).abs() < 1e-6);
        assert!((wrap_angle(3.0 * std::f32::consts::PI) - std::f32::consts::PI).abs() < 1e-5);
    }

    #[test]
    fn segment_linear_intersection_sign() {
        // A large square whose left edge is x = 0.5 keeps a 0.5×2 strip of the unit square.
        let a = rectangle(V2::new(0.0, 0.0), V2::new(1.0, 1.0));
        let b = rectangle(V2::new(10.5, 0.0), V2::new(10.0, 10.0));
        assert!((signed_area(&clip_convex(&a, &b)) - 1.0).abs() < 1e-4);
    }
}
