//! AV1, LeRobot's default video codec: decoding with rav1d (the Rust port of dav1d, no C and
//! no assembly here) and encoding with rav1e, both in-process.
//!
//! rav1d exposes dav1d's C interface; the `unsafe` in this file is confined to [`Decoder`],
//! which owns the context, copies each packet into a buffer rav1d allocates, and copies each
//! picture out before releasing it.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use rav1d::include::dav1d::data::Dav1dData;
use rav1d::include::dav1d::dav1d::{Dav1dContext, Dav1dSettings};
use rav1d::include::dav1d::headers::DAV1D_PIXEL_LAYOUT_I420;
use rav1d::include::dav1d::picture::Dav1dPicture;
use rav1d::src::lib as dav1d;

use super::mp4::EncodedFrame;
use super::yuv::Yuv420;

/// dav1d's "try again" result: `-EAGAIN`.
const EAGAIN: i32 = -11;

/// An AV1 decoder; pictures come out in presentation order, one per shown frame.
pub struct Decoder {
    ctx: Option<Dav1dContext>,
}

// SAFETY: the context is only ever used through `&mut self`, from one thread at a time.
unsafe impl Send for Decoder {}

impl Decoder {
    /// A single-threaded decoder without frame delay, so each packet yields its picture.
    pub fn new() -> Result<Decoder, String> {
        let mut settings = MaybeUninit::<Dav1dSettings>::uninit();
        // SAFETY: dav1d_default_settings writes a complete settings struct.
        let mut settings = unsafe {
            dav1d::dav1d_default_settings(NonNull::new_unchecked(settings.as_mut_ptr()));
            settings.assume_init()
        };
        settings.n_threads = 1;
        settings.max_frame_delay = 1;
        let mut ctx: Option<Dav1dContext> = None;
        // SAFETY: both pointers are valid for the call.
        let result = unsafe {
            dav1d::dav1d_open(
                Some(NonNull::from(&mut ctx)),
                Some(NonNull::from(&mut settings)),
            )
        };
        if result.0 != 0 || ctx.is_none() {
            return Err(format!(
                "could not start the AV1 decoder (code {})",
                result.0
            ));
        }
        Ok(Decoder { ctx })
    }

    /// Feeds one temporal unit and appends the pictures it completes to `out`.
    pub fn decode(&mut self, packet: &[u8], out: &mut Vec<Yuv420>) -> Result<(), String> {
        let mut data = Dav1dData::default();
        // SAFETY: dav1d_data_create allocates `packet.len()` bytes owned by `data`.
        let buf = unsafe { dav1d::dav1d_data_create(Some(NonNull::from(&mut data)), packet.len()) };
        if buf.is_null() {
            return Err("AV1 decoder could not allocate a packet buffer".into());
        }
        // SAFETY: `buf` has room for exactly `packet.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(packet.as_ptr(), buf, packet.len()) };
        loop {
            // SAFETY: the context is open and `data` is a valid packet.
            let sent = unsafe { dav1d::dav1d_send_data(self.ctx, Some(NonNull::from(&mut data))) };
            match sent.0 {
                0 if data.sz == 0 => break,
                0 | EAGAIN => {
                    if !self.drain_one(out)? && sent.0 == EAGAIN {
                        // Neither consumed nor producing: corrupt input.
                        self.release(&mut data);
                        return Err("AV1 decoder stalled on a packet".into());
                    }
                }
                code => {
                    self.release(&mut data);
                    return Err(format!("AV1 bitstream error (code {code})"));
                }
            }
        }
        while self.drain_one(out)? {}
        Ok(())
    }

    /// Outputs the pictures still held by the decoder.
    pub fn finish(&mut self, out: &mut Vec<Yuv420>) -> Result<(), String> {
        while self.drain_one(out)? {}
        Ok(())
    }

    fn release(&mut self, data: &mut Dav1dData) {
        // SAFETY: `data` was created by dav1d_data_create.
        unsafe { dav1d::dav1d_data_unref(Some(NonNull::from(data))) };
    }

    /// Takes one picture out if one is ready.
    fn drain_one(&mut self, out: &mut Vec<Yuv420>) -> Result<bool, String> {
        let mut pic = Dav1dPicture::default();
        // SAFETY: the context is open; `pic` is written by the call.
        let got = unsafe { dav1d::dav1d_get_picture(self.ctx, Some(NonNull::from(&mut pic))) };
        match got.0 {
            0 => {
                let copied = copy_picture(&pic);
                // SAFETY: `pic` holds a reference from dav1d_get_picture.
                unsafe { dav1d::dav1d_picture_unref(Some(NonNull::from(&mut pic))) };
                out.push(copied?);
                Ok(true)
            }
            EAGAIN => Ok(false),
            code => Err(format!("AV1 decoding failed (code {code})")),
        }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: the context came from dav1d_open and is closed once.
        unsafe { dav1d::dav1d_close(Some(NonNull::from(&mut self.ctx))) };
    }
}

fn copy_picture(pic: &Dav1dPicture) -> Result<Yuv420, String> {
    if pic.p.bpc != 8 || pic.p.layout != DAV1D_PIXEL_LAYOUT_I420 {
        return Err(format!(
            "AV1 picture is {}-bit layout {} (Praxis reads 8-bit 4:2:0)",
            pic.p.bpc, pic.p.layout
        ));
    }
    let (w, h) = (pic.p.w as usize, pic.p.h as usize);
    let (cw, ch) = Yuv420::chroma_size(w, h);
    let (ys, uvs) = (pic.stride[0] as usize, pic.stride[1] as usize);
    let plane = |i: usize, stride: usize, rows: usize, cols: usize| -> Result<Vec<u8>, String> {
        let ptr = pic.data[i].ok_or("AV1 picture without pixel data")?;
        let mut plane = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            // SAFETY: dav1d guarantees `rows` rows of `stride` bytes for this plane.
            let row = unsafe {
                std::slice::from_raw_parts((ptr.as_ptr() as *const u8).add(r * stride), cols)
            };
            plane.extend_from_slice(row);
        }
        Ok(plane)
    };
    Ok(Yuv420 {
        width: w,
        height: h,
        y: plane(0, ys, h, w)?,
        u: plane(1, uvs, ch, cw)?,
        v: plane(2, uvs, ch, cw)?,
    })
}

/// Settings of the AV1 encoder.
#[derive(Debug, Clone, Copy)]
pub struct EncoderSettings {
    /// Quantizer 0..=255 (lower is better quality).
    pub quantizer: usize,
    /// rav1e speed preset 0..=10 (10 is fastest).
    pub speed: u8,
    /// Frames per second.
    pub fps: u32,
}

impl Default for EncoderSettings {
    fn default() -> Self {
        EncoderSettings {
            quantizer: 40,
            speed: 10,
            fps: 10,
        }
    }
}

/// Encodes pictures of one size into AV1 temporal units (the first is a key frame) and
/// returns the `av1C` payload with them.
pub fn encode(
    frames: &[Yuv420],
    settings: EncoderSettings,
) -> Result<(Vec<u8>, Vec<EncodedFrame>), String> {
    use rav1e::prelude::*;
    let first = frames.first().ok_or("no frames to encode")?;
    let config = EncoderConfig {
        width: first.width,
        height: first.height,
        time_base: Rational::new(1, settings.fps as u64),
        bit_depth: 8,
        chroma_sampling: ChromaSampling::Cs420,
        pixel_range: PixelRange::Limited,
        quantizer: settings.quantizer,
        min_quantizer: settings.quantizer.min(255) as u8,
        low_latency: true,
        max_key_frame_interval: frames.len().max(1) as u64,
        speed_settings: SpeedSettings::from_preset(settings.speed),
        ..Default::default()
    };
    let mut ctx: Context<u8> = Config::new()
        .with_encoder_config(config)
        .with_threads(1)
        .new_context()
        .map_err(|e| format!("AV1 encoder settings rejected: {e}"))?;
    let av1c = ctx.container_sequence_header();
    let mut packets = Vec::with_capacity(frames.len());
    let mut receive = |ctx: &mut Context<u8>| -> Result<bool, String> {
        match ctx.receive_packet() {
            Ok(packet) => {
                packets.push(EncodedFrame {
                    data: strip_temporal_delimiter(packet.data),
                    key: packet.frame_type == FrameType::KEY,
                });
                Ok(true)
            }
            Err(EncoderStatus::Encoded) => Ok(true),
            Err(EncoderStatus::NeedMoreData | EncoderStatus::LimitReached) => Ok(false),
            Err(e) => Err(format!("AV1 encoding failed: {e}")),
        }
    };
    for f in frames {
        let mut frame = ctx.new_frame();
        let (cw, _) = Yuv420::chroma_size(f.width, f.height);
        frame.planes[0].copy_from_raw_u8(&f.y, f.width, 1);
        frame.planes[1].copy_from_raw_u8(&f.u, cw, 1);
        frame.planes[2].copy_from_raw_u8(&f.v, cw, 1);
        ctx.send_frame(frame)
            .map_err(|e| format!("AV1 encoder refused a frame: {e}"))?;
        while receive(&mut ctx)? {}
    }
    ctx.flush();
    while receive(&mut ctx)? {}
    if packets.len() != frames.len() {
        return Err(format!(
            "AV1 encoder returned {} packets for {} frames",
            packets.len(),
            frames.len()
        ));
    }
    Ok((av1c, packets))
}

/// MP4 samples carry no temporal-delimiter OBU (AV1-ISOBMFF §2.4); rav1e emits one.
fn strip_temporal_delimiter(mut data: Vec<u8>) -> Vec<u8> {
    if data.starts_with(&[0x12, 0x00]) {
        data.drain(..2);
    }
    data
}

/// Decodes AV1 temporal units to pictures.
pub fn decode_all(packets: &[EncodedFrame]) -> Result<Vec<Yuv420>, String> {
    let mut decoder = Decoder::new()?;
    let mut out = Vec::with_capacity(packets.len());
    for p in packets {
        decoder.decode(&p.data, &mut out)?;
    }
    decoder.finish(&mut out)?;
    Ok(out)
}
