//! Video files of a LeRobot dataset: MP4 with AV1 (LeRobot's default) or H.264, demuxed,
//! decoded and encoded in-process (no ffmpeg, no Python).

pub mod av1;
pub mod h264;
pub mod mp4;
pub mod yuv;

use std::path::Path;

use crate::data::DataError;
use mp4::{Codec, VideoTrack};
use yuv::Yuv420;

/// Which codec to encode with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    Av1,
    H264,
}

impl VideoCodec {
    /// The name LeRobot records in `info.json` (`video.codec`).
    pub fn name(self) -> &'static str {
        match self {
            VideoCodec::Av1 => "av1",
            VideoCodec::H264 => "h264",
        }
    }
}

/// A decoded video: RGB frames with their presentation times.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedVideo {
    pub width: usize,
    pub height: usize,
    /// Row-major RGB bytes per frame.
    pub frames: Vec<Vec<u8>>,
    /// Presentation time of each frame, seconds.
    pub times: Vec<f64>,
    pub codec: VideoCodec,
}

impl DecodedVideo {
    /// Index of the frame shown at `time` seconds, if one lies within `tolerance`.
    pub fn frame_at(&self, time: f64, tolerance: f64) -> Option<usize> {
        let i = self.times.partition_point(|t| *t < time - tolerance);
        (i < self.times.len() && (self.times[i] - time).abs() <= tolerance).then_some(i)
    }
}

/// Decodes every frame of the MP4 file at `path`.
pub fn decode_file(path: &Path) -> Result<DecodedVideo, DataError> {
    let track = mp4::demux(path)?;
    decode_track(&track, path)
}

/// Decodes a demuxed track (`path` names it in errors).
pub fn decode_track(track: &VideoTrack, path: &Path) -> Result<DecodedVideo, DataError> {
    let (pictures, codec) = match &track.codec {
        Codec::Av1 { .. } => (av1::decode_all(&track.frames), VideoCodec::Av1),
        Codec::H264 { avcc } => (h264::decode_all(avcc, &track.frames), VideoCodec::H264),
    };
    let pictures = pictures.map_err(|e| DataError::corrupt(path, e))?;
    if pictures.len() != track.frames.len() {
        return Err(DataError::corrupt(
            path,
            format!(
                "{} frames decoded from {} samples",
                pictures.len(),
                track.frames.len()
            ),
        ));
    }
    let mut times: Vec<f64> = (0..track.pts.len()).map(|i| track.time_of(i)).collect();
    times.sort_by(f64::total_cmp);
    let (width, height) = (track.width as usize, track.height as usize);
    let frames = pictures
        .iter()
        .map(|p| {
            if (p.width, p.height) != (width, height) {
                return Err(DataError::corrupt(
                    path,
                    format!(
                        "frame is {}x{} but the track says {width}x{height}",
                        p.width, p.height
                    ),
                ));
            }
            Ok(p.to_rgb())
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DecodedVideo {
        width,
        height,
        frames,
        times,
        codec,
    })
}

/// Encodes RGB frames as an MP4 file's bytes. `segments` are frame counts that each start
/// with a key frame (LeRobot puts several episodes in one file; each is then seekable).
pub fn encode(
    frames: &[Vec<u8>],
    width: usize,
    height: usize,
    fps: u32,
    segments: &[usize],
    codec: VideoCodec,
) -> Result<Vec<u8>, String> {
    let timescale = fps * 1000;
    let mut all = Vec::with_capacity(frames.len());
    let mut config = None;
    let mut start = 0;
    for &len in segments {
        let pictures: Vec<Yuv420> = frames[start..start + len]
            .iter()
            .map(|rgb| Yuv420::from_rgb(rgb, width, height))
            .collect();
        let (record, packets) = match codec {
            VideoCodec::Av1 => av1::encode(
                &pictures,
                av1::EncoderSettings {
                    fps,
                    ..Default::default()
                },
            )?,
            VideoCodec::H264 => h264::encode(&pictures, fps)?,
        };
        config.get_or_insert(record);
        all.extend(packets);
        start += len;
    }
    let config = config.ok_or("no frames to encode")?;
    let track = VideoTrack {
        width: width as u16,
        height: height as u16,
        timescale,
        codec: match codec {
            VideoCodec::Av1 => Codec::Av1 { av1c: config },
            VideoCodec::H264 => Codec::H264 { avcc: config },
        },
        pts: (0..all.len() as i64).map(|i| i * 1000).collect(),
        frames: all,
    };
    Ok(mp4::mux(&track))
}
