//! The camera: an anti-aliased top-down RGB image of the table, drawn with tiny-skia, plus
//! PNG and animated-GIF output.
//!
//! Speed: the static part of the scene (table, walls, pads, Push-T target, lighting) is drawn
//! once per episode into a cached background; arm links are filled quads in one path. Frames
//! are then drawn incrementally (see [`Renderer`]): only the pixel rectangles where something
//! changed since the last frame are restored from the background and redrawn, so a static
//! object far from the arm costs nothing, and the output is pixel-identical to drawing the
//! frame from scratch. The background is opaque, so tiny-skia's premultiplied RGBA equals
//! straight RGBA and the RGB output just drops alpha.
//!
//! Writing frames to disk (PNG, GIF, a teacher episode for `praxis render`) is `output`'s.

use rand::RngExt;
use tiny_skia::{Color as SkColor, FillRule, Paint, PathBuilder, Pixmap, Transform};

use super::error::SimError;
use super::geometry::{Pose2, V2};
use super::scene::{Color, ObjectShape, PAD_RADIUS};
use super::world::{EFFECTOR_RADIUS, TABLE_HALF, World};

mod output;

pub use output::{
    PNG_STRIP_FRAMES, RenderSummary, frame_strip, render_teacher_episode, write_gif, write_png,
};

/// Half the side of the square of table the camera sees, metres (a little of the walls shows).
pub const VIEW_HALF: f32 = 0.53;
/// Largest supported image side, pixels.
pub const MAX_IMAGE_SIZE: u32 = 256;
/// Smallest supported image side, pixels.
pub const MIN_IMAGE_SIZE: u32 = 16;

const TABLE_RGB: [u8; 3] = [214, 200, 172];
const WALL_RGB: [u8; 3] = [84, 84, 90];
const TARGET_RGB: [u8; 3] = [150, 214, 150];
const LINK_RGB: [u8; 3] = [118, 118, 130];
const FINGER_RGB: [u8; 3] = [34, 34, 38];
const PUSHER_RGB: [u8; 3] = [52, 64, 130];
const LINK_HALF_WIDTH: f32 = 0.014;

/// How the camera sees an episode: neutral for training, perturbed by the held-out colour,
/// lighting and camera variations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Appearance {
    /// Per-colour RGB gains applied to objects and pads (index = `Color` order).
    pub colour_gain: [[f32; 3]; 6],
    /// Global brightness multiplier.
    pub brightness: f32,
    /// Brightness gradient across the image: multiplier `1 + g·(u, v)` with u, v in [-1, 1].
    pub gradient: [f32; 2],
    /// Camera pose error: the camera looks at `camera.position()` turned by `camera.angle`.
    pub camera: Pose2,
    /// Camera zoom (1 = nominal).
    pub zoom: f32,
}

impl Default for Appearance {
    fn default() -> Self {
        Appearance {
            colour_gain: [[1.0; 3]; 6],
            brightness: 1.0,
            gradient: [0.0; 2],
            camera: Pose2::default(),
            zoom: 1.0,
        }
    }
}

impl Appearance {
    /// Samples the appearance of one episode for the variations that are on.
    pub fn sample(
        colour_shift: bool,
        lighting: bool,
        camera_jitter: bool,
        rng: &mut impl rand::Rng,
    ) -> Appearance {
        let mut a = Appearance::default();
        if colour_shift {
            for gain in &mut a.colour_gain {
                for g in gain.iter_mut() {
                    *g = rng.random_range(0.7..1.3);
                }
            }
        }
        if lighting {
            a.brightness = rng.random_range(0.65..1.25);
            a.gradient = [rng.random_range(-0.25..0.25), rng.random_range(-0.25..0.25)];
        }
        if camera_jitter {
            a.camera = Pose2::new(
                rng.random_range(-0.03..0.03),
                rng.random_range(-0.03..0.03),
                rng.random_range(-0.07..0.07),
            );
            a.zoom = rng.random_range(0.94..1.06);
        }
        a
    }

    fn object_rgb(&self, color: Color) -> [u8; 3] {
        let i = Color::ALL.iter().position(|c| *c == color).unwrap_or(0);
        let base = color.rgb();
        let mut out = [0u8; 3];
        for k in 0..3 {
            out[k] = (base[k] as f32 * self.colour_gain[i][k] * self.brightness)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
        out
    }

    fn shade(&self, rgb: [u8; 3]) -> [u8; 3] {
        rgb.map(|c| (c as f32 * self.brightness).round().clamp(0.0, 255.0) as u8)
    }
}

/// Maps a world point to pixel coordinates `(u, v)` (u right, v down, pixel centres at
/// `i + 0.5`) for a `width`×`height` image seen with `appearance`'s camera.
pub fn world_to_pixel(p: V2, width: u32, height: u32, appearance: &Appearance) -> [f32; 2] {
    Camera::new(width, height, appearance).to_pixel(p)
}

/// The world → pixel map of one appearance, with the camera rotation's sine and cosine
/// computed once. Gives bit-identical results to rotating with `Pose2::rotate` point by point.
#[derive(Debug, Clone, Copy)]
struct Camera {
    position: V2,
    sin: f32,
    cos: f32,
    zoom: f32,
    width: f32,
    height: f32,
}

impl Camera {
    fn new(width: u32, height: u32, appearance: &Appearance) -> Camera {
        let (sin, cos) = (-appearance.camera.angle).sin_cos();
        Camera {
            position: appearance.camera.position(),
            sin,
            cos,
            zoom: appearance.zoom,
            width: width as f32,
            height: height as f32,
        }
    }

    #[inline]
    fn to_pixel(self, p: V2) -> [f32; 2] {
        let d = p - self.position;
        let q = V2::new(
            self.cos * d.x - self.sin * d.y,
            self.sin * d.x + self.cos * d.y,
        ) * self.zoom;
        [
            (q.x + VIEW_HALF) / (2.0 * VIEW_HALF) * self.width,
            (VIEW_HALF - q.y) / (2.0 * VIEW_HALF) * self.height,
        ]
    }
}

/// Maps body-frame points of one pose (optionally scaled) to the world frame, with the
/// rotation's sine and cosine computed once; bit-identical to `pose.transform(p * scale)`.
#[derive(Debug, Clone, Copy)]
struct Placement {
    x: f32,
    y: f32,
    sin: f32,
    cos: f32,
    scale: f32,
}

impl Placement {
    fn new(pose: &Pose2, scale: f32) -> Placement {
        let (sin, cos) = pose.angle.sin_cos();
        Placement {
            x: pose.x,
            y: pose.y,
            sin,
            cos,
            scale,
        }
    }

    #[inline]
    fn apply(&self, local: V2) -> V2 {
        let l = local * self.scale;
        V2::new(
            self.cos * l.x - self.sin * l.y + self.x,
            self.sin * l.x + self.cos * l.y + self.y,
        )
    }
}

/// A pixel rectangle `[x0, x1) × [y0, y1)` that a draw may touch.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PixelRect {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl PixelRect {
    /// The pixels an anti-aliased fill of a shape with pixel bounds `lo..hi` may touch: the
    /// bounds rounded out plus a 1-pixel margin, clipped to a `width`×`height` image.
    /// Float → usize casts saturate (NaN → 0), so the rectangle is always in the image.
    fn around(lo: [f32; 2], hi: [f32; 2], width: f32, height: f32) -> PixelRect {
        PixelRect {
            x0: (lo[0].floor() - 1.0).clamp(0.0, width) as usize,
            y0: (lo[1].floor() - 1.0).clamp(0.0, height) as usize,
            x1: (hi[0].ceil() + 1.0).clamp(0.0, width) as usize,
            y1: (hi[1].ceil() + 1.0).clamp(0.0, height) as usize,
        }
    }

    fn is_empty(&self) -> bool {
        self.x0 >= self.x1 || self.y0 >= self.y1
    }

    fn intersects(&self, other: &PixelRect) -> bool {
        self.x0 < other.x1 && other.x0 < self.x1 && self.y0 < other.y1 && other.y0 < self.y1
    }
}

/// One piece of an item's path, in pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    /// A closed polygon: `DrawList::points[start..end]`.
    Polygon { start: usize, end: usize },
    /// A circle with centre `(u, v)` and radius `r`.
    Circle { u: f32, v: f32, r: f32 },
}

/// One filled path of one colour, in paint order.
#[derive(Debug, Clone)]
struct Item {
    rgb: [u8; 3],
    ops: std::ops::Range<usize>,
    /// Where the item may draw (one rectangle per polygon or circle).
    rects: std::ops::Range<usize>,
}

/// The dynamic part of a frame as a list of items, kept to compare with the next frame.
#[derive(Debug, Default)]
struct DrawList {
    items: Vec<Item>,
    ops: Vec<Op>,
    points: Vec<[f32; 2]>,
    rects: Vec<PixelRect>,
    /// Start of the item being built in `ops` and `rects`.
    open: (usize, usize),
}

impl DrawList {
    fn clear(&mut self) {
        self.items.clear();
        self.ops.clear();
        self.points.clear();
        self.rects.clear();
        self.open = (0, 0);
    }

    /// Ends the item built since the last call, filled with `rgb`.
    fn finish_item(&mut self, rgb: [u8; 3]) {
        let (ops, rects) = (self.open.0..self.ops.len(), self.open.1..self.rects.len());
        self.open = (self.ops.len(), self.rects.len());
        self.items.push(Item { rgb, ops, rects });
    }

    fn item_rects(&self, i: usize) -> &[PixelRect] {
        &self.rects[self.items[i].rects.clone()]
    }

    /// Whether item `i` here and item `j` of `other` draw exactly the same pixels.
    fn same_item(&self, i: usize, other: &DrawList, j: usize) -> bool {
        let (a, b) = (&self.items[i], &other.items[j]);
        a.rgb == b.rgb
            && a.ops.len() == b.ops.len()
            && self.ops[a.ops.clone()]
                .iter()
                .zip(&other.ops[b.ops.clone()])
                .all(|(x, y)| match (x, y) {
                    (Op::Polygon { start, end }, Op::Polygon { start: s, end: e }) => {
                        self.points[*start..*end] == other.points[*s..*e]
                    }
                    _ => x == y,
                })
    }
}

/// Draws worlds into RGB frames, reusing its buffers.
///
/// Speed: a frame allocates nothing but what the caller's output buffer needs (the path
/// builder, paint, shape outlines and pixmaps are kept). Frames are drawn incrementally and
/// stay pixel-identical to drawing from scratch: the objects and arm of each frame are kept
/// as a list of filled paths; an item that differs from the last frame's item at the same
/// place marks its old and new pixel rectangles dirty, every item touching a dirty rectangle
/// is marked too (until nothing changes), and only the dirty rectangles are restored from the
/// background and redrawn, by the marked items in paint order. The RGB frame is kept too and
/// updated in the dirty rectangles only, which keeps memory traffic per frame small.
pub struct Renderer {
    width: u32,
    height: u32,
    appearance: Appearance,
    camera: Camera,
    paint: Paint<'static>,
    /// Reused path storage; `None` only while a path is being filled.
    builder: Option<PathBuilder>,
    /// Body-frame outlines of every shape, indexed like `ObjectShape::ALL`.
    outlines: Vec<Vec<Vec<V2>>>,
    background: Pixmap,
    /// The background as RGB u8.
    background_rgb: Vec<u8>,
    /// The last frame, RGBA and RGB.
    frame: Pixmap,
    frame_rgb: Vec<u8>,
    /// Items of the last frame and of the frame being drawn.
    last: DrawList,
    next: DrawList,
    /// Rectangles to restore and redraw this frame.
    dirty: Vec<PixelRect>,
    /// Which items of `next` are drawn this frame.
    redraw: Vec<bool>,
}

impl Renderer {
    /// A renderer for `width`×`height` frames (each in `MIN_IMAGE_SIZE..=MAX_IMAGE_SIZE`).
    pub fn new(width: u32, height: u32) -> Result<Renderer, SimError> {
        let ok = |s: u32| (MIN_IMAGE_SIZE..=MAX_IMAGE_SIZE).contains(&s);
        if !ok(width) || !ok(height) {
            return Err(SimError::InvalidConfig(format!(
                "image size {width}x{height} must be within {MIN_IMAGE_SIZE}..={MAX_IMAGE_SIZE} pixels a side"
            )));
        }
        let pixmap = || {
            Pixmap::new(width, height)
                .ok_or_else(|| SimError::InvalidConfig("cannot allocate image".into()))
        };
        let paint = Paint {
            anti_alias: true,
            ..Paint::default()
        };
        let appearance = Appearance::default();
        let mut r = Renderer {
            width,
            height,
            appearance,
            camera: Camera::new(width, height, &appearance),
            paint,
            builder: Some(PathBuilder::with_capacity(32, 64)),
            outlines: ObjectShape::ALL
                .iter()
                .map(|s| s.local_polygons())
                .collect(),
            background: pixmap()?,
            background_rgb: Vec::new(),
            frame: pixmap()?,
            frame_rgb: Vec::new(),
            last: DrawList::default(),
            next: DrawList::default(),
            dirty: Vec::with_capacity(64),
            redraw: Vec::with_capacity(16),
        };
        r.reset_frame();
        Ok(r)
    }

    /// Frame width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Frame height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The appearance in use.
    pub fn appearance(&self) -> &Appearance {
        &self.appearance
    }

    /// World point → pixel coordinates for this renderer's camera.
    pub fn to_pixel(&self, p: V2) -> [f32; 2] {
        self.camera.to_pixel(p)
    }

    /// Draws the static part of `world` (table, walls, pads, T target) with `appearance` into
    /// the cached background. Call once per episode.
    pub fn prepare(&mut self, world: &World, appearance: Appearance) {
        self.appearance = appearance;
        self.camera = Camera::new(self.width, self.height, &appearance);
        let mut list = std::mem::take(&mut self.next);
        list.clear();
        let h = TABLE_HALF;
        let table = [
            V2::new(-h, -h),
            V2::new(h, -h),
            V2::new(h, h),
            V2::new(-h, h),
        ];
        self.polygon(&mut list, &table, |p| p);
        list.finish_item(TABLE_RGB);
        if let Some(target) = world.t_target() {
            self.shape(&mut list, ObjectShape::T, &Placement::new(&target, 1.0));
            list.finish_item(TARGET_RGB);
        }
        for pad in world.pads() {
            let c = appearance.object_rgb(pad.color);
            let rgb = [0, 1, 2].map(|k| ((c[k] as u16 + TABLE_RGB[k] as u16) / 2) as u8);
            self.circle(&mut list, pad.position(), PAD_RADIUS * appearance.zoom);
            list.finish_item(rgb);
        }
        let bg = &mut self.background;
        bg.fill(SkColor::from_rgba8(
            WALL_RGB[0],
            WALL_RGB[1],
            WALL_RGB[2],
            255,
        ));
        for i in 0..list.items.len() {
            fill_item(&mut self.builder, &mut self.paint, bg, &list, i);
        }
        apply_lighting(bg, &appearance);
        list.clear();
        self.next = list;
        self.reset_frame();
    }

    /// Makes the kept frame the bare background, with no items drawn.
    fn reset_frame(&mut self) {
        self.frame
            .data_mut()
            .copy_from_slice(self.background.data());
        self.background_rgb.clear();
        self.background_rgb.extend(
            self.background
                .data()
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]]),
        );
        self.frame_rgb.clone_from(&self.background_rgb);
        self.last.clear();
    }

    /// Renders the current world into `out` as RGB u8, row-major HWC (`out` is resized).
    pub fn render(&mut self, world: &World, out: &mut Vec<u8>) {
        let mut next = std::mem::take(&mut self.next);
        next.clear();
        self.list_dynamic(world, &mut next);
        self.mark_dirty(&next);
        // Restore the dirty rectangles, redraw the marked items, refresh the RGB frame there.
        let frame = &mut self.frame;
        let stride = self.width as usize * 4;
        {
            let (bg, fr) = (self.background.data(), frame.data_mut());
            for r in &self.dirty {
                for y in r.y0..r.y1 {
                    let span = y * stride + r.x0 * 4..y * stride + r.x1 * 4;
                    fr[span.clone()].copy_from_slice(&bg[span]);
                }
            }
        }
        for i in 0..next.items.len() {
            if self.redraw[i] {
                fill_item(&mut self.builder, &mut self.paint, frame, &next, i);
            }
        }
        // The background is opaque, so premultiplied RGBA is straight RGBA: drop alpha.
        let w = self.width as usize;
        let (src, dst) = (frame.data(), self.frame_rgb.as_mut_slice());
        for r in &self.dirty {
            for y in r.y0..r.y1 {
                let (s, _) = src[(y * w + r.x0) * 4..(y * w + r.x1) * 4].as_chunks::<4>();
                let (d, _) = dst[(y * w + r.x0) * 3..(y * w + r.x1) * 3].as_chunks_mut::<3>();
                for (d, s) in d.iter_mut().zip(s) {
                    *d = [s[0], s[1], s[2]];
                }
            }
        }
        self.next = std::mem::replace(&mut self.last, next);
        out.clear();
        out.extend_from_slice(&self.frame_rgb);
    }

    /// Sets `dirty` and `redraw` for drawing `next` over the last frame.
    fn mark_dirty(&mut self, next: &DrawList) {
        let last = &self.last;
        self.dirty.clear();
        self.redraw.clear();
        for i in 0..next.items.len().max(last.items.len()) {
            let same = i < next.items.len() && i < last.items.len() && next.same_item(i, last, i);
            if !same {
                if i < last.items.len() {
                    self.dirty.extend_from_slice(last.item_rects(i));
                }
                if i < next.items.len() {
                    self.dirty.extend_from_slice(next.item_rects(i));
                }
            }
            if i < next.items.len() {
                self.redraw.push(!same);
            }
        }
        // An unchanged item touching a dirty rectangle is redrawn, so its rectangles are
        // restored too; repeat until no more items join.
        loop {
            let mut grew = false;
            for i in 0..next.items.len() {
                if self.redraw[i] {
                    continue;
                }
                let rects = next.item_rects(i);
                if rects
                    .iter()
                    .any(|r| self.dirty.iter().any(|d| d.intersects(r)))
                {
                    self.redraw[i] = true;
                    self.dirty.extend_from_slice(rects);
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
    }

    /// Lists the objects and the body of `world` in paint order.
    fn list_dynamic(&self, world: &World, list: &mut DrawList) {
        let held = world.grasp().map(|g| g.object);
        for i in 0..world.num_objects() {
            if Some(i) != held {
                self.list_object(list, world, i, 1.0);
            }
        }
        if let Some(i) = held {
            // A lifted object looks a little larger, as it is nearer the camera.
            self.list_object(list, world, i, 1.12);
        }
        self.list_body(list, world);
    }

    fn list_object(&self, list: &mut DrawList, world: &World, i: usize, scale: f32) {
        let object = world.object(i);
        let pose = world.object_pose(i);
        if object.shape == ObjectShape::Disc {
            let r = super::scene::DISC_RADIUS * scale * self.appearance.zoom;
            self.circle(list, pose.position(), r);
        } else {
            self.shape(list, object.shape, &Placement::new(&pose, scale));
        }
        list.finish_item(self.appearance.object_rgb(object.color));
    }

    fn list_body(&self, list: &mut DrawList, world: &World) {
        let body = world.body();
        let a = &self.appearance;
        let Some(arm) = &body.arm else {
            self.circle(list, body.ee, EFFECTOR_RADIUS * a.zoom);
            list.finish_item(a.shade(PUSHER_RGB));
            return;
        };
        let points = arm.joint_positions(&body.joints);
        for w in points.windows(2) {
            let d = (w[1] - w[0]).normalize_or_zero().perp() * LINK_HALF_WIDTH;
            self.polygon(list, &[w[0] - d, w[0] + d, w[1] + d, w[1] - d], |p| p);
        }
        list.finish_item(a.shade(LINK_RGB));
        // Two fingers across the last link's heading; closer together when closed.
        let heading = arm.ee_heading(&body.joints);
        let along = V2::new(heading.cos(), heading.sin());
        let across = along.perp();
        let spread = if body.gripper_closed { 0.016 } else { 0.034 };
        for s in [-1.0f32, 1.0] {
            let c = body.ee + across * (s * spread) + along * 0.008;
            let (a, b) = (along * 0.022, across * 0.006);
            self.polygon(list, &[c - a - b, c + a - b, c + a + b, c - a + b], |p| p);
        }
        list.finish_item(a.shade(FINGER_RGB));
    }

    /// Adds the polygons of `shape` placed by `placement`.
    fn shape(&self, list: &mut DrawList, shape: ObjectShape, placement: &Placement) {
        let index = ObjectShape::ALL
            .iter()
            .position(|s| *s == shape)
            .unwrap_or(0);
        for outline in &self.outlines[index] {
            self.polygon(list, outline, |p| placement.apply(p));
        }
    }

    /// Adds a closed polygon (world points mapped by `to_world`).
    fn polygon(&self, list: &mut DrawList, points: &[V2], to_world: impl Fn(V2) -> V2) {
        let start = list.points.len();
        let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        for p in points {
            let [u, v] = self.camera.to_pixel(to_world(*p));
            list.points.push([u, v]);
            lo = [lo[0].min(u), lo[1].min(v)];
            hi = [hi[0].max(u), hi[1].max(v)];
        }
        let end = list.points.len();
        list.ops.push(Op::Polygon { start, end });
        self.push_rect(list, lo, hi);
    }

    /// Adds a circle of `radius` metres (already zoomed).
    fn circle(&self, list: &mut DrawList, center: V2, radius: f32) {
        let [u, v] = self.camera.to_pixel(center);
        let r = radius / (2.0 * VIEW_HALF) * self.camera.width;
        list.ops.push(Op::Circle { u, v, r });
        self.push_rect(list, [u - r, v - r], [u + r, v + r]);
    }

    fn push_rect(&self, list: &mut DrawList, lo: [f32; 2], hi: [f32; 2]) {
        let rect = PixelRect::around(lo, hi, self.camera.width, self.camera.height);
        if !rect.is_empty() {
            list.rects.push(rect);
        }
    }
}

/// Fills item `i` of `list` (non-zero winding, anti-aliased) into `target`, reusing the path
/// storage in `builder`.
fn fill_item(
    builder: &mut Option<PathBuilder>,
    paint: &mut Paint<'static>,
    target: &mut Pixmap,
    list: &DrawList,
    i: usize,
) {
    let item = &list.items[i];
    let mut pb = builder.take().unwrap_or_default();
    pb.clear();
    for op in &list.ops[item.ops.clone()] {
        match *op {
            Op::Polygon { start, end } => {
                for (k, &[u, v]) in list.points[start..end].iter().enumerate() {
                    if k == 0 {
                        pb.move_to(u, v)
                    } else {
                        pb.line_to(u, v)
                    }
                }
                pb.close();
            }
            Op::Circle { u, v, r } => pb.push_circle(u, v, r),
        }
    }
    if pb.len() < 2 {
        *builder = Some(pb);
        return;
    }
    if let Some(path) = pb.finish() {
        let rgb = item.rgb;
        paint.set_color_rgba8(rgb[0], rgb[1], rgb[2], 255);
        target.fill_path(&path, paint, FillRule::Winding, Transform::identity(), None);
        *builder = Some(path.clear());
    }
}

/// Multiplies the background by the appearance's brightness and gradient (static lighting).
fn apply_lighting(bg: &mut Pixmap, a: &Appearance) {
    if a.brightness == 1.0 && a.gradient == [0.0, 0.0] {
        return;
    }
    let (w, h) = (bg.width() as usize, bg.height() as usize);
    let data = bg.data_mut();
    for y in 0..h {
        let v = 2.0 * (y as f32 + 0.5) / h as f32 - 1.0;
        for x in 0..w {
            let u = 2.0 * (x as f32 + 0.5) / w as f32 - 1.0;
            let gain = a.brightness * (1.0 + a.gradient[0] * u + a.gradient[1] * v);
            let px = &mut data[(y * w + x) * 4..(y * w + x) * 4 + 3];
            for c in px {
                *c = (*c as f32 * gain).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::embodiment::EmbodimentKind;
    use crate::sim::scene::{PlacedObject, PlacedPad, Scene};

    fn pixel(rgb: &[u8], width: u32, [u, v]: [f32; 2]) -> [u8; 3] {
        let i = (v as usize * width as usize + u as usize) * 3;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    }

    #[test]
    fn known_colours_at_known_pixels() {
        let scene = Scene {
            objects: vec![
                PlacedObject {
                    shape: ObjectShape::Block,
                    color: Color::Red,
                    pose: Pose2::new(-0.2, 0.2, 0.0),
                },
                PlacedObject {
                    shape: ObjectShape::Disc,
                    color: Color::Blue,
                    pose: Pose2::new(0.2, 0.2, 0.0),
                },
            ],
            pads: vec![PlacedPad {
                color: Color::Green,
                center: [0.2, -0.2],
            }],
            t_target: None,
            effector_start: [-0.2, -0.2],
        };
        let world = World::new(&scene, EmbodimentKind::Pusher, None);
        let mut r = Renderer::new(64, 64).unwrap();
        r.prepare(&world, Appearance::default());
        let mut rgb = Vec::new();
        r.render(&world, &mut rgb);
        assert_eq!(rgb.len(), 64 * 64 * 3);
        let at = |x: f32, y: f32| pixel(&rgb, 64, r.to_pixel(V2::new(x, y)));
        assert_eq!(at(-0.2, 0.2), Color::Red.rgb(), "block centre");
        assert_eq!(at(0.2, 0.2), Color::Blue.rgb(), "disc centre");
        assert_eq!(at(-0.2, -0.2), PUSHER_RGB, "pusher");
        assert_eq!(at(0.0, 0.0), TABLE_RGB, "bare table");
        let pad =
            [0, 1, 2].map(|k| ((Color::Green.rgb()[k] as u16 + TABLE_RGB[k] as u16) / 2) as u8);
        assert_eq!(at(0.2, -0.2), pad, "pad centre");
        assert_eq!(
            pixel(&rgb, 64, [0.0, 0.0]),
            WALL_RGB,
            "top-left corner is wall"
        );
        // +y is up: the block (y = 0.2) is in the upper half of the image.
        assert!(r.to_pixel(V2::new(-0.2, 0.2))[1] < 32.0);
        // Anti-aliasing: a block edge pixel mixes red and table.
        let edge = at(-0.2 + 0.04, 0.2);
        assert!(edge != Color::Red.rgb() || edge != TABLE_RGB);
    }

    #[test]
    fn incremental_frames_equal_frames_drawn_from_scratch() {
        // Grasps (the held object moves last and grows), pushes, arm motion and every
        // appearance variation: the kept renderer must match a fresh one on every frame.
        let variations: crate::sim::Variations = "distractors,colour-shift,lighting,camera-jitter"
            .parse()
            .unwrap();
        for (suite, task) in [("object", "place-red-block"), ("pusht", "t-far")] {
            let config = crate::sim::EnvConfig {
                render: false,
                variations,
                ..crate::sim::EnvConfig::default()
            };
            let mut env = crate::sim::Env::from_names(suite, task, config).unwrap();
            let mut teacher = crate::sim::Teacher::new(crate::sim::TeacherConfig {
                noise_std: 0.3,
                seed: 4,
                ..crate::sim::TeacherConfig::default()
            });
            let mut kept = Renderer::new(48, 48).unwrap();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let mut grasped = false;
            for seed in 0..2 {
                env.reset(seed).unwrap();
                let appearance = Appearance::sample(
                    true,
                    true,
                    true,
                    &mut crate::sim::scene::episode_rng(seed, 4),
                );
                kept.prepare(env.world().unwrap(), appearance);
                for step in 0..60 {
                    let world = env.world().unwrap();
                    grasped |= world.grasp().is_some();
                    kept.render(world, &mut a);
                    let mut fresh = Renderer::new(48, 48).unwrap();
                    fresh.prepare(world, appearance);
                    fresh.render(world, &mut b);
                    assert!(
                        a == b,
                        "{suite}/{task} seed {seed} step {step}: frames differ"
                    );
                    let r = env.step(&teacher.act(&env).unwrap()).unwrap();
                    if r.terminated || r.truncated {
                        break;
                    }
                }
            }
            assert!(
                grasped || suite == "pusht",
                "the object episodes should grasp"
            );
        }
    }

    #[test]
    fn oversized_cameras_are_refused() {
        assert!(Renderer::new(512, 512).is_err());
    }
}
