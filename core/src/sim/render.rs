//! The camera: an anti-aliased top-down RGB image of the table, drawn with tiny-skia, plus
//! PNG and animated-GIF output.
//!
//! Speed: the static part of the scene (table, walls, pads, Push-T target, lighting) is drawn
//! once per episode into a cached background and copied per frame; arm links are filled
//! quads in one path. The background is opaque, so tiny-skia's premultiplied RGBA equals
//! straight RGBA and the RGB output just drops alpha.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use rand::RngExt;
use tiny_skia::{
    Color as SkColor, FillRule, Paint, PathBuilder, Pixmap, Transform,
};

use super::error::SimError;
use super::geometry::{Pose2, V2};
use super::scene::{Color, ObjectShape, PAD_RADIUS};
use super::world::{EFFECTOR_RADIUS, TABLE_HALF, World};

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
    fn to_pixel(&self, p: V2) -> [f32; 2] {
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

/// Draws worlds into RGB frames, reusing its buffers.
///
/// A frame costs no heap allocation beyond what the caller's output buffer needs: the path
/// builder, paint, per-shape outlines and pixmaps are kept between frames.
pub struct Renderer {
    width: u32,
    height: u32,
    appearance: Appearance,
    background: Pixmap,
    frame: Pixmap,
    brush: Brush,
}

/// The drawing state kept apart from the pixmaps so a pixmap can be borrowed mutably while
/// drawing with it.
struct Brush {
    camera: Camera,
    paint: Paint<'static>,
    /// Reused path storage; `None` only while a path is being filled.
    builder: Option<PathBuilder>,
    /// Body-frame outlines of every shape, indexed like `ObjectShape::ALL`.
    outlines: Vec<Vec<Vec<V2>>>,
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
        Ok(Renderer {
            width,
            height,
            appearance,
            background: pixmap()?,
            frame: pixmap()?,
            brush: Brush {
                camera: Camera::new(width, height, &appearance),
                paint,
                builder: Some(PathBuilder::with_capacity(32, 64)),
                outlines: ObjectShape::ALL
                    .iter()
                    .map(|s| s.local_polygons())
                    .collect(),
            },
        })
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
        self.brush.camera.to_pixel(p)
    }

    /// Draws the static part of `world` (table, walls, pads, T target) with `appearance` into
    /// the cached background. Call once per episode.
    pub fn prepare(&mut self, world: &World, appearance: Appearance) {
        self.appearance = appearance;
        self.brush.camera = Camera::new(self.width, self.height, &appearance);
        let bg = &mut self.background;
        let brush = &mut self.brush;
        bg.fill(SkColor::from_rgba8(
            WALL_RGB[0],
            WALL_RGB[1],
            WALL_RGB[2],
            255,
        ));
        let h = TABLE_HALF;
        let table = [
            V2::new(-h, -h),
            V2::new(h, -h),
            V2::new(h, h),
            V2::new(-h, h),
        ];
        brush.polygon(&table, |p| p);
        brush.fill(bg, TABLE_RGB);
        if let Some(target) = world.t_target() {
            let placement = Placement::new(&target, 1.0);
            let shape = shape_index(ObjectShape::T);
            for k in 0..brush.outlines[shape].len() {
                let outline = std::mem::take(&mut brush.outlines[shape][k]);
                brush.polygon(&outline, |p| placement.apply(p));
                brush.outlines[shape][k] = outline;
            }
            brush.fill(bg, TARGET_RGB);
        }
        for pad in world.pads() {
            let c = appearance.object_rgb(pad.color);
            let rgb = [0, 1, 2].map(|k| ((c[k] as u16 + TABLE_RGB[k] as u16) / 2) as u8);
            brush.circle(pad.position(), PAD_RADIUS * appearance.zoom);
            brush.fill(bg, rgb);
        }
        apply_lighting(bg, &appearance);
    }

    /// Renders the current world into `out` as RGB u8, row-major HWC (`out` is resized).
    pub fn render(&mut self, world: &World, out: &mut Vec<u8>) {
        let frame = &mut self.frame;
        frame.data_mut().copy_from_slice(self.background.data());
        let held = world.grasp().map(|g| g.object);
        for i in 0..world.num_objects() {
            if Some(i) != held {
                self.brush
                    .draw_object(frame, world, i, 1.0, &self.appearance);
            }
        }
        if let Some(i) = held {
            // A lifted object looks a little larger, as it is nearer the camera.
            self.brush
                .draw_object(frame, world, i, 1.12, &self.appearance);
        }
        self.brush.draw_body(frame, world, &self.appearance);
        // The background is opaque, so premultiplied RGBA is straight RGBA: drop alpha.
        let pixels = self.width as usize * self.height as usize;
        out.resize(pixels * 3, 0);
        let (dst, _) = out.as_chunks_mut::<3>();
        let (src, _) = frame.data().as_chunks::<4>();
        for (d, s) in dst.iter_mut().zip(src) {
            *d = [s[0], s[1], s[2]];
        }
    }
}

/// Position of `shape` in `ObjectShape::ALL`.
fn shape_index(shape: ObjectShape) -> usize {
    ObjectShape::ALL
        .iter()
        .position(|s| *s == shape)
        .unwrap_or(0)
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

impl Brush {
    fn draw_object(
        &mut self,
        frame: &mut Pixmap,
        world: &World,
        i: usize,
        scale: f32,
        appearance: &Appearance,
    ) {
        let object = world.object(i);
        let pose = world.object_pose(i);
        let rgb = appearance.object_rgb(object.color);
        if object.shape == ObjectShape::Disc {
            self.circle(
                pose.position(),
                super::scene::DISC_RADIUS * scale * appearance.zoom,
            );
        } else {
            let placement = Placement::new(&pose, scale);
            let shape = shape_index(object.shape);
            // Move the outline out while the builder is borrowed; no allocation.
            let outlines = std::mem::take(&mut self.outlines[shape]);
            for outline in &outlines {
                self.polygon(outline, |p| placement.apply(p));
            }
            self.outlines[shape] = outlines;
        }
        self.fill(frame, rgb);
    }

    fn draw_body(&mut self, frame: &mut Pixmap, world: &World, appearance: &Appearance) {
        let body = world.body();
        let Some(arm) = &body.arm else {
            self.circle(body.ee, EFFECTOR_RADIUS * appearance.zoom);
            self.fill(frame, appearance.shade(PUSHER_RGB));
            return;
        };
        let points = arm.joint_positions(&body.joints);
        for w in points.windows(2) {
            let d = (w[1] - w[0]).normalize_or_zero().perp() * LINK_HALF_WIDTH;
            self.polygon(&[w[0] - d, w[0] + d, w[1] + d, w[1] - d], |p| p);
        }
        self.fill(frame, appearance.shade(LINK_RGB));
        // Two fingers across the last link's heading; closer together when closed.
        let heading = arm.ee_heading(&body.joints);
        let along = V2::new(heading.cos(), heading.sin());
        let across = along.perp();
        let spread = if body.gripper_closed { 0.016 } else { 0.034 };
        for s in [-1.0f32, 1.0] {
            let c = body.ee + across * (s * spread) + along * 0.008;
            let (a, b) = (along * 0.022, across * 0.006);
            self.polygon(&[c - a - b, c + a - b, c + a + b, c - a + b], |p| p);
        }
        self.fill(frame, appearance.shade(FINGER_RGB));
    }

    fn builder(&mut self) -> &mut PathBuilder {
        self.builder.get_or_insert_with(PathBuilder::new)
    }

    /// Adds a closed polygon (world points mapped by `to_world`) to the pending path.
    fn polygon(&mut self, points: &[V2], to_world: impl Fn(V2) -> V2) {
        let camera = self.camera;
        let pb = self.builder();
        for (k, p) in points.iter().enumerate() {
            let [u, v] = camera.to_pixel(to_world(*p));
            if k == 0 {
                pb.move_to(u, v)
            } else {
                pb.line_to(u, v)
            }
        }
        pb.close();
    }

    /// Adds a circle of `radius` metres (already zoomed) to the pending path.
    fn circle(&mut self, center: V2, radius: f32) {
        let [u, v] = self.camera.to_pixel(center);
        let r = radius / (2.0 * VIEW_HALF) * self.camera.width;
        self.builder().push_circle(u, v, r);
    }

    /// Fills the pending path (non-zero winding, anti-aliased) with `rgb` and clears it.
    fn fill(&mut self, target: &mut Pixmap, rgb: [u8; 3]) {
        let Some(pb) = self.builder.take() else {
            return;
        };
        if pb.len() < 2 {
            let mut pb = pb;
            pb.clear();
            self.builder = Some(pb);
            return;
        }
        match pb.finish() {
            Some(path) => {
                self.paint.set_color_rgba8(rgb[0], rgb[1], rgb[2], 255);
                target.fill_path(
                    &path,
                    &self.paint,
                    FillRule::Winding,
                    Transform::identity(),
                    None,
                );
                self.builder = Some(path.clear());
            }
            None => self.builder = Some(PathBuilder::new()),
        }
    }
}

fn output_error(path: &Path, reason: impl ToString) -> SimError {
    SimError::Output {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn check_frame(rgb: &[u8], width: u32, height: u32, path: &Path) -> Result<(), SimError> {
    if rgb.len() != width as usize * height as usize * 3 {
        return Err(output_error(
            path,
            format!("frame has {} bytes, expected {width}x{height}x3", rgb.len()),
        ));
    }
    Ok(())
}

/// Writes one RGB frame as a PNG.
pub fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<(), SimError> {
    check_frame(rgb, width, height, path)?;
    let file = File::create(path).map_err(|e| output_error(path, e))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| output_error(path, e))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| output_error(path, e))?;
    writer.finish().map_err(|e| output_error(path, e))
}

/// Writes RGB frames as a looping animated GIF, `delay_cs` hundredths of a second each.
pub fn write_gif(
    path: &Path,
    width: u32,
    height: u32,
    frames: &[Vec<u8>],
    delay_cs: u16,
) -> Result<(), SimError> {
    if frames.is_empty() {
        return Err(output_error(path, "no frames"));
    }
    let (w, h) = (
        u16::try_from(width).map_err(|e| output_error(path, e))?,
        u16::try_from(height).map_err(|e| output_error(path, e))?,
    );
    let file = File::create(path).map_err(|e| output_error(path, e))?;
    let mut encoder =
        gif::Encoder::new(BufWriter::new(file), w, h, &[]).map_err(|e| output_error(path, e))?;
    encoder
        .set_repeat(gif::Repeat::Infinite)
        .map_err(|e| output_error(path, e))?;
    for rgb in frames {
        check_frame(rgb, width, height, path)?;
        let mut frame = gif::Frame::from_rgb_speed(w, h, rgb, 10);
        frame.delay = delay_cs;
        encoder
            .write_frame(&frame)
            .map_err(|e| output_error(path, e))?;
    }
    Ok(())
}

/// Joins frames side by side into one strip (for a PNG overview of an episode).
pub fn frame_strip(frames: &[Vec<u8>], width: u32, height: u32) -> Vec<u8> {
    let (w, h, n) = (width as usize, height as usize, frames.len());
    let mut out = vec![0u8; w * h * 3 * n];
    for (i, f) in frames.iter().enumerate() {
        for y in 0..h {
            let dst = (y * w * n + i * w) * 3;
            out[dst..dst + w * 3].copy_from_slice(&f[y * w * 3..(y + 1) * w * 3]);
        }
    }
    out
}

/// What [`render_teacher_episode`] wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RenderSummary {
    pub path: String,
    pub instruction: String,
    /// Frames in the episode (including the first observation).
    pub frames: usize,
    /// Frames in the output file (a PNG holds a strip of up to [`PNG_STRIP_FRAMES`]).
    pub frames_written: usize,
    pub success: bool,
}

/// Frames in the strip a PNG holds.
pub const PNG_STRIP_FRAMES: usize = 8;

/// Runs the scripted teacher on one task instance and writes the episode: an animated GIF if
/// `out` ends in `.gif` (every frame, 25 fps), or a PNG strip of [`PNG_STRIP_FRAMES`] frames
/// evenly spaced from the first to the last if it ends in `.png`. Used by `praxis render`.
pub fn render_teacher_episode(
    suite: &super::Suite,
    task: &str,
    seed: u64,
    image_size: u32,
    variations: super::Variations,
    out: &Path,
) -> Result<RenderSummary, SimError> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("png") | Some("gif")) {
        return Err(output_error(out, "the output must end in .png or .gif"));
    }
    let config = super::EnvConfig {
        image_size,
        variations,
        ..super::EnvConfig::default()
    };
    let mut env = super::Env::new(suite, task, config)?;
    let mut teacher = super::Teacher::new(super::TeacherConfig {
        noise_std: 0.0,
        seed,
    });
    let first = env.reset(seed)?;
    let instruction = first.instruction.clone();
    let mut frames = vec![first.image];
    let success = loop {
        let r = env.step(&teacher.act(&env)?)?;
        frames.push(r.obs.image);
        if r.terminated || r.truncated {
            break r.terminated;
        }
    };
    let frames_written = if ext.as_deref() == Some("gif") {
        write_gif(out, image_size, image_size, &frames, 4)?;
        frames.len()
    } else {
        let n = PNG_STRIP_FRAMES.min(frames.len());
        let picked: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                frames[if n == 1 {
                    0
                } else {
                    i * (frames.len() - 1) / (n - 1)
                }]
                .clone()
            })
            .collect();
        write_png(
            out,
            image_size * n as u32,
            image_size,
            &frame_strip(&picked, image_size, image_size),
        )?;
        n
    };
    Ok(RenderSummary {
        path: out.display().to_string(),
        instruction,
        frames: frames.len(),
        frames_written,
        success,
    })
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
    fn png_and_gif_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let frame = vec![128u8; 16 * 16 * 3];
        write_png(&dir.path().join("a.png"), 16, 16, &frame).unwrap();
        write_gif(
            &dir.path().join("a.gif"),
            16,
            16,
            &[frame.clone(), frame.clone()],
            4,
        )
        .unwrap();
        assert!(std::fs::metadata(dir.path().join("a.gif")).unwrap().len() > 20);
        assert!(write_png(&dir.path().join("b.png"), 17, 16, &frame).is_err());
        assert!(Renderer::new(512, 512).is_err());
        assert_eq!(
            frame_strip(&[frame.clone(), frame], 16, 16).len(),
            32 * 16 * 3
        );
    }

    #[test]
    fn teacher_episodes_render_to_png_strips_and_gifs() {
        let dir = tempfile::tempdir().unwrap();
        let suite = crate::sim::Suite::builtin("goal").unwrap();
        let v = crate::sim::Variations::default();
        let png =
            render_teacher_episode(&suite, "reach-purple", 1, 32, v, &dir.path().join("e.png"))
                .unwrap();
        assert!(png.success && png.frames_written == PNG_STRIP_FRAMES);
        let gif =
            render_teacher_episode(&suite, "reach-purple", 1, 32, v, &dir.path().join("e.gif"))
                .unwrap();
        assert_eq!(gif.frames_written, gif.frames);
        assert!(
            render_teacher_episode(&suite, "reach-purple", 1, 32, v, &dir.path().join("e.bmp"))
                .is_err()
        );
    }
}
