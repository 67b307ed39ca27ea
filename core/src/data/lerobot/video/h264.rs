//! H.264, the codec of older LeRobot datasets and of most phone and webcam recordings:
//! decoding and encoding with OpenH264 (built from source by the `openh264` crate, in-process).
//!
//! MP4 stores H.264 as length-prefixed NAL units with the parameter sets in the `avcC` box;
//! OpenH264 speaks Annex B (start codes). The conversions both ways live here.

use openh264::OpenH264API;
use openh264::decoder::Decoder;
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, FrameType};
use openh264::formats::{YUVBuffer, YUVSource};

use super::mp4::EncodedFrame;
use super::yuv::Yuv420;

const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The parameter sets of an `avcC` record and its NAL length size.
struct AvcConfig {
    length_size: usize,
    parameter_sets: Vec<Vec<u8>>,
}

fn parse_avcc(avcc: &[u8]) -> Result<AvcConfig, String> {
    let bad = || "malformed avcC record".to_string();
    if avcc.len() < 7 || avcc[0] != 1 {
        return Err(bad());
    }
    let length_size = (avcc[4] & 3) as usize + 1;
    let mut parameter_sets = Vec::new();
    let mut at = 5;
    for mask in [0x1f, 0xff] {
        let count = *avcc.get(at).ok_or_else(bad)? as usize & mask;
        at += 1;
        for _ in 0..count {
            let len = u16::from_be_bytes([
                *avcc.get(at).ok_or_else(bad)?,
                *avcc.get(at + 1).ok_or_else(bad)?,
            ]) as usize;
            parameter_sets.push(avcc.get(at + 2..at + 2 + len).ok_or_else(bad)?.to_vec());
            at += 2 + len;
        }
    }
    Ok(AvcConfig {
        length_size,
        parameter_sets,
    })
}

/// Length-prefixed NAL units → Annex B.
fn to_annex_b(sample: &[u8], length_size: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let mut at = 0;
    while at < sample.len() {
        let header = sample
            .get(at..at + length_size)
            .ok_or("H.264 sample ends inside a NAL length")?;
        let len = header
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        let nal = sample
            .get(at + length_size..at + length_size + len)
            .ok_or("H.264 NAL unit runs past its sample")?;
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(nal);
        at += length_size + len;
    }
    Ok(())
}

fn copy_decoded(yuv: &impl YUVSource) -> Yuv420 {
    let (w, h) = yuv.dimensions();
    let (cw, ch) = Yuv420::chroma_size(w, h);
    let (ys, us, vs) = yuv.strides();
    let rows = |plane: &[u8], stride: usize, rows: usize, cols: usize| {
        (0..rows)
            .flat_map(|r| plane[r * stride..r * stride + cols].iter().copied())
            .collect::<Vec<u8>>()
    };
    Yuv420 {
        width: w,
        height: h,
        y: rows(yuv.y(), ys, h, w),
        u: rows(yuv.u(), us, ch, cw),
        v: rows(yuv.v(), vs, ch, cw),
    }
}

/// Decodes an H.264 track (samples in MP4 form) to pictures.
///
/// OpenH264 sometimes refuses a frame of a stream from another encoder (e.g. x264's, with
/// parameter sets repeated in-band) after having decoded everything before it; a fresh decoder
/// started at the preceding key frame then decodes it. A frame that fails twice is an error.
pub fn decode_all(avcc: &[u8], samples: &[EncodedFrame]) -> Result<Vec<Yuv420>, String> {
    let config = parse_avcc(avcc)?;
    let mut out: Vec<Yuv420> = Vec::with_capacity(samples.len());
    let mut from = 0;
    let mut retried_at = None;
    'restart: loop {
        let mut decoder =
            Decoder::new().map_err(|e| format!("could not start the H.264 decoder: {e}"))?;
        let mut stream = Vec::new();
        for ps in &config.parameter_sets {
            stream.extend_from_slice(&START_CODE);
            stream.extend_from_slice(ps);
        }
        for (i, sample) in samples.iter().enumerate().skip(from) {
            to_annex_b(&sample.data, config.length_size, &mut stream)?;
            match decoder.decode(&stream) {
                Ok(Some(yuv)) => out.push(copy_decoded(&yuv)),
                Ok(None) => {}
                Err(e) => {
                    let key = (0..i).rev().find(|k| samples[*k].key).unwrap_or(0);
                    if retried_at == Some(i) || key == from && from != 0 || i == 0 {
                        return Err(format!("H.264 decoding failed at frame {i}: {e}"));
                    }
                    retried_at = Some(i);
                    out.truncate(out.len().min(key));
                    from = key;
                    continue 'restart;
                }
            }
            stream.clear();
        }
        let rest = decoder
            .flush_remaining()
            .map_err(|e| format!("H.264 decoding failed while flushing: {e}"))?;
        out.extend(rest.iter().map(copy_decoded));
        return Ok(out);
    }
}

/// Splits Annex B output into NAL units without start codes.
fn nal_units(annex_b: &[u8]) -> Vec<&[u8]> {
    let mut units = Vec::new();
    let mut i = 0;
    let mut start = None;
    while i + 3 <= annex_b.len() {
        if annex_b[i..i + 3] == [0, 0, 1] {
            if let Some(s) = start {
                let mut end = i;
                while end > s && annex_b[end - 1] == 0 {
                    end -= 1;
                }
                units.push(&annex_b[s..end]);
            }
            i += 3;
            start = Some(i);
        } else {
            i += 1;
        }
    }
    if let Some(s) = start {
        units.push(&annex_b[s..]);
    }
    units
}

/// Encodes pictures into H.264 (constrained baseline, no B-frames, first frame IDR); returns
/// the `avcC` payload and one length-prefixed sample per picture.
pub fn encode(frames: &[Yuv420], fps: u32) -> Result<(Vec<u8>, Vec<EncodedFrame>), String> {
    // A bitrate far above what small frames need, so the frame skipping OpenH264 wants
    // enabled for rate control never happens (the frame count is checked on decoding).
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(8_000_000))
        .max_frame_rate(FrameRate::from_hz(fps as f32))
        .skip_frames(true);
    let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| format!("could not start the H.264 encoder: {e}"))?;
    let (mut sps, mut pps) = (None, None);
    let mut samples = Vec::with_capacity(frames.len());
    for f in frames {
        let buffer = YUVBuffer::from_vec(f.to_i420(), f.width, f.height);
        let bits = encoder
            .encode(&buffer)
            .map_err(|e| format!("H.264 encoding failed: {e}"))?;
        let key = matches!(bits.frame_type(), FrameType::IDR | FrameType::I);
        let mut sample = Vec::new();
        for nal in nal_units(&bits.to_vec()) {
            match nal.first().map(|b| b & 0x1f) {
                Some(7) => sps = Some(nal.to_vec()),
                Some(8) => pps = Some(nal.to_vec()),
                Some(_) => {
                    sample.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                    sample.extend_from_slice(nal);
                }
                None => {}
            }
        }
        if sample.is_empty() {
            return Err(format!("H.264 encoder skipped frame {}", samples.len()));
        }
        samples.push(EncodedFrame { data: sample, key });
    }
    let (sps, pps) = sps
        .zip(pps)
        .ok_or("H.264 encoder wrote no parameter sets")?;
    let mut avcc = vec![1, sps[1], sps[2], sps[3], 0xff, 0xe1];
    avcc.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    avcc.extend_from_slice(&sps);
    avcc.push(1);
    avcc.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    avcc.extend_from_slice(&pps);
    Ok((avcc, samples))
}
