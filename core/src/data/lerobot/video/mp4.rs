//! MP4 (ISO BMFF) for one video track: a small muxer that writes what LeRobot writes (one
//! `av01` or `avc1` track, all samples in one chunk, key frames listed in `stss`), and a
//! demuxer on `re_mp4` that reads any progressive or fragmented MP4 back into samples.

use std::path::Path;

use crate::data::DataError;

/// The codec of a video track, with its decoder configuration record.
#[derive(Debug, Clone, PartialEq)]
pub enum Codec {
    /// AV1; the payload of the `av1C` box.
    Av1 { av1c: Vec<u8> },
    /// H.264; the payload of the `avcC` box.
    H264 { avcc: Vec<u8> },
}

/// One compressed frame.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedFrame {
    pub data: Vec<u8>,
    /// Decodable on its own (a key frame).
    pub key: bool,
}

/// A whole video track in memory: what the muxer writes and the demuxer returns.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoTrack {
    pub width: u16,
    pub height: u16,
    /// Time units per second of `pts`.
    pub timescale: u32,
    pub codec: Codec,
    pub frames: Vec<EncodedFrame>,
    /// Presentation time of each frame, in `timescale` units.
    pub pts: Vec<i64>,
}

impl VideoTrack {
    /// Presentation time of frame `i` in seconds.
    pub fn time_of(&self, i: usize) -> f64 {
        self.pts[i] as f64 / self.timescale as f64
    }
}

/// Movie timescale of `mvhd`/`tkhd` durations.
const MOVIE_TIMESCALE: u32 = 1000;

fn boxed(kind: &[u8; 4], content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + content.len());
    out.extend_from_slice(&(8 + content.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(content);
    out
}

fn full_box(kind: &[u8; 4], version: u8, flags: u32, content: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(4 + content.len());
    body.extend_from_slice(&(((version as u32) << 24) | flags).to_be_bytes());
    body.extend_from_slice(content);
    boxed(kind, &body)
}

struct Bytes(Vec<u8>);

impl Bytes {
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

const MATRIX: [u32; 9] = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000];

/// Serialises `track` as an MP4 file (ftyp, mdat, moov).
pub fn mux(track: &VideoTrack) -> Vec<u8> {
    let n = track.frames.len() as u32;
    let sample_delta = match track.pts.as_slice() {
        [a, b, ..] => (b - a) as u32,
        _ => track.timescale,
    };
    let media_duration = n as u64 * sample_delta as u64;
    let movie_duration =
        (media_duration * MOVIE_TIMESCALE as u64 / track.timescale.max(1) as u64) as u32;
    let (entry_kind, config_kind, config) = match &track.codec {
        Codec::Av1 { av1c } => (b"av01", b"av1C", av1c),
        Codec::H264 { avcc } => (b"avc1", b"avcC", avcc),
    };
    let mut b = Bytes(Vec::new());

    let ftyp = boxed(
        b"ftyp",
        &b.raw(b"isom")
            .u32(0x200)
            .raw(b"isomiso2")
            .raw(entry_kind)
            .raw(b"mp41")
            .take(),
    );
    let payload: usize = track.frames.iter().map(|f| f.data.len()).sum();
    let mdat_header = 8;
    let chunk_offset = (ftyp.len() + mdat_header) as u32;
    let mut mdat = Vec::with_capacity(mdat_header + payload);
    mdat.extend_from_slice(&((mdat_header + payload) as u32).to_be_bytes());
    mdat.extend_from_slice(b"mdat");
    for f in &track.frames {
        mdat.extend_from_slice(&f.data);
    }

    b.u32(0).u32(0).u32(MOVIE_TIMESCALE).u32(movie_duration);
    b.u32(0x10000).u16(0x100).raw(&[0; 10]);
    MATRIX.iter().for_each(|m| {
        b.u32(*m);
    });
    let mvhd = full_box(b"mvhd", 0, 0, &b.raw(&[0; 24]).u32(2).take());

    b.u32(0)
        .u32(0)
        .u32(1)
        .u32(0)
        .u32(movie_duration)
        .raw(&[0; 8]);
    b.u16(0).u16(0).u16(0).u16(0);
    MATRIX.iter().for_each(|m| {
        b.u32(*m);
    });
    b.u32((track.width as u32) << 16)
        .u32((track.height as u32) << 16);
    let tkhd = full_box(b"tkhd", 0, 3, &b.take());

    b.u32(0)
        .u32(0)
        .u32(track.timescale)
        .u32(media_duration as u32);
    let mdhd = full_box(b"mdhd", 0, 0, &b.u16(0x55c4).u16(0).take());
    b.u32(0).raw(b"vide").raw(&[0; 12]).raw(b"VideoHandler\0");
    let hdlr = full_box(b"hdlr", 0, 0, &b.take());

    let vmhd = full_box(b"vmhd", 0, 1, &[0; 8]);
    let url = full_box(b"url ", 0, 1, &[]);
    let dref = full_box(b"dref", 0, 0, &b.u32(1).raw(&url).take());
    let dinf = boxed(b"dinf", &dref);

    b.raw(&[0; 6]).u16(1).u16(0).u16(0).raw(&[0; 12]);
    b.u16(track.width)
        .u16(track.height)
        .u32(0x48_0000)
        .u32(0x48_0000)
        .u32(0)
        .u16(1);
    b.raw(&[0; 32]).u16(0x18).u16(0xffff);
    b.raw(&boxed(config_kind, config));
    let entry = boxed(entry_kind, &b.take());
    let stsd = full_box(b"stsd", 0, 0, &b.u32(1).raw(&entry).take());
    let stts = full_box(b"stts", 0, 0, &b.u32(1).u32(n).u32(sample_delta).take());
    let keys: Vec<u32> = (1..=n)
        .filter(|i| track.frames[*i as usize - 1].key)
        .collect();
    b.u32(keys.len() as u32);
    keys.iter().for_each(|k| {
        b.u32(*k);
    });
    let stss = full_box(b"stss", 0, 0, &b.take());
    let stsc = full_box(b"stsc", 0, 0, &b.u32(1).u32(1).u32(n).u32(1).take());
    b.u32(0).u32(n);
    track.frames.iter().for_each(|f| {
        b.u32(f.data.len() as u32);
    });
    let stsz = full_box(b"stsz", 0, 0, &b.take());
    let stco = full_box(b"stco", 0, 0, &b.u32(1).u32(chunk_offset).take());
    let stbl = boxed(b"stbl", &[stsd, stts, stss, stsc, stsz, stco].concat());
    let minf = boxed(b"minf", &[vmhd, dinf, stbl].concat());
    let mdia = boxed(b"mdia", &[mdhd, hdlr, minf].concat());
    let trak = boxed(b"trak", &[tkhd, mdia].concat());
    let moov = boxed(b"moov", &[mvhd, trak].concat());
    [ftyp, mdat, moov].concat()
}

/// Reads the first video track of an MP4 file.
pub fn demux(path: &Path) -> Result<VideoTrack, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    demux_bytes(&bytes, path)
}

/// Reads the first video track of MP4 bytes (`path` only names them in errors).
pub fn demux_bytes(bytes: &[u8], path: &Path) -> Result<VideoTrack, DataError> {
    let mp4 = re_mp4::Mp4::read_bytes(bytes)
        .map_err(|e| DataError::corrupt(path, format!("not a readable MP4 file: {e}")))?;
    let track = mp4
        .tracks()
        .values()
        .find(|t| t.kind == Some(re_mp4::TrackKind::Video))
        .ok_or_else(|| DataError::corrupt(path, "MP4 file has no video track"))?;
    let codec_name = track.codec_string(&mp4).unwrap_or_default();
    let config = track.raw_codec_config(&mp4).unwrap_or_default();
    let codec = if codec_name.starts_with("av01") {
        Codec::Av1 { av1c: config }
    } else if codec_name.starts_with("avc1") || codec_name.starts_with("avc3") {
        Codec::H264 { avcc: config }
    } else {
        return Err(DataError::corrupt(
            path,
            format!(
                "video codec {:?} is not supported (Praxis decodes AV1 and H.264)",
                if codec_name.is_empty() {
                    "unknown"
                } else {
                    &codec_name
                }
            ),
        ));
    };
    let mut samples = track.samples.clone();
    samples.sort_by_key(|s| s.decode_timestamp);
    let mut frames = Vec::with_capacity(samples.len());
    let mut pts = Vec::with_capacity(samples.len());
    for s in &samples {
        let data = bytes.get(s.byte_range()).ok_or_else(|| {
            DataError::corrupt(
                path,
                format!(
                    "truncated: frame {} needs bytes up to {} but the file has {}",
                    s.id,
                    s.offset + s.size,
                    bytes.len()
                ),
            )
        })?;
        frames.push(EncodedFrame {
            data: data.to_vec(),
            key: s.is_sync,
        });
        pts.push(s.composition_timestamp);
    }
    Ok(VideoTrack {
        width: track.width,
        height: track.height,
        timescale: track.timescale as u32,
        codec,
        frames,
        pts,
    })
}
