//! Writing camera frames to disk: PNG frames and strips, looping GIFs, and a scripted-teacher
//! episode rendered for `praxis render`. Every file goes through a temporary name and a
//! rename.

use std::path::Path;

use crate::sim::error::SimError;
use crate::sim::{Env, EnvConfig, Suite, Teacher, TeacherConfig, Variations};

fn output_error(path: &Path, reason: impl ToString) -> SimError {
    SimError::Output {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Puts an encoded image at `path` through a temporary name and a rename, so an interrupted
/// write never leaves a truncated image behind.
fn install(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    crate::atomic::write_file(path, bytes).map_err(|e| output_error(path, e))
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

/// Writes one RGB frame as a PNG (through a temporary name).
pub fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<(), SimError> {
    check_frame(rgb, width, height, path)?;
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| output_error(path, e))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| output_error(path, e))?;
    writer.finish().map_err(|e| output_error(path, e))?;
    install(path, &bytes)
}

/// Writes RGB frames as a looping animated GIF, `delay_cs` hundredths of a second each
/// (through a temporary name).
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
    let mut bytes = Vec::new();
    let mut encoder =
        gif::Encoder::new(&mut bytes, w, h, &[]).map_err(|e| output_error(path, e))?;
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
    encoder.into_inner().map_err(|e| output_error(path, e))?; // the trailer
    install(path, &bytes)
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
    suite: &Suite,
    task: &str,
    seed: u64,
    image_size: u32,
    variations: Variations,
    out: &Path,
) -> Result<RenderSummary, SimError> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("png") | Some("gif")) {
        return Err(output_error(out, "the output must end in .png or .gif"));
    }
    let config = EnvConfig {
        image_size,
        variations,
        ..EnvConfig::default()
    };
    let mut env = Env::new(suite, task, config)?;
    let mut teacher = Teacher::new(TeacherConfig {
        seed,
        ..TeacherConfig::default()
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
        let file = std::fs::File::open(dir.path().join("a.gif")).unwrap();
        let mut gif = gif::DecodeOptions::new().read_info(file).unwrap();
        let mut frames = 0;
        while gif.read_next_frame().unwrap().is_some() {
            frames += 1;
        }
        assert_eq!(
            frames, 2,
            "the GIF decodes to its two frames, trailer included"
        );
        assert!(write_png(&dir.path().join("b.png"), 17, 16, &frame).is_err());
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

    /// An interrupted or failed write leaves no file and no temporary behind: a frame of the
    /// wrong size is refused before anything is written, and a good one replaces an old file
    /// whole.
    #[test]
    fn images_are_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        assert!(write_png(&path, 17, 16, &[0u8; 16 * 16 * 3]).is_err());
        assert!(!path.exists());
        std::fs::write(&path, b"old").unwrap();
        write_png(&path, 16, 16, &[7u8; 16 * 16 * 3]).unwrap();
        let written = std::fs::read(&path).unwrap();
        assert!(written.starts_with(b"\x89PNG"), "not a PNG");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            vec!["a.png".to_string()],
            "temporaries left: {names:?}"
        );
        let gif = dir.path().join("a.gif");
        assert!(write_gif(&gif, 16, 16, &[], 4).is_err());
        assert!(!gif.exists());
    }
}
