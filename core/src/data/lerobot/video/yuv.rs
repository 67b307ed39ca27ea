//! RGB ↔ YUV 4:2:0 in BT.601 limited range, the colour conversion that video encoders and
//! LeRobot's decoders (PyAV, torchcodec) apply to `yuv420p` streams without colour metadata.
//! Both directions live here so that a frame written by Praxis and read back differs only by
//! what the codec itself lost.

/// One picture in planar 4:2:0: full-resolution luma, chroma halved in both directions
/// (rounded up for odd sizes).
#[derive(Debug, Clone, PartialEq)]
pub struct Yuv420 {
    pub width: usize,
    pub height: usize,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

/// Borrowed planes with their row strides, as decoders hand them out.
#[derive(Debug, Clone, Copy)]
pub struct Planes<'a> {
    pub y: &'a [u8],
    pub u: &'a [u8],
    pub v: &'a [u8],
    pub y_stride: usize,
    pub uv_stride: usize,
}

fn clamp(x: i32) -> u8 {
    x.clamp(0, 255) as u8
}

impl Yuv420 {
    /// Width and height of the chroma planes.
    pub fn chroma_size(width: usize, height: usize) -> (usize, usize) {
        (width.div_ceil(2), height.div_ceil(2))
    }

    /// Converts row-major RGB bytes (`width * height * 3`); chroma is the mean of each 2×2
    /// block.
    pub fn from_rgb(rgb: &[u8], width: usize, height: usize) -> Yuv420 {
        assert_eq!(rgb.len(), width * height * 3, "RGB buffer size");
        let px = |x: usize, y: usize| {
            let i = (y * width + x) * 3;
            (rgb[i] as i32, rgb[i + 1] as i32, rgb[i + 2] as i32)
        };
        let mut luma = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                let (r, g, b) = px(x, y);
                luma.push(clamp(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16));
            }
        }
        let (cw, ch) = Self::chroma_size(width, height);
        let (mut u, mut v) = (Vec::with_capacity(cw * ch), Vec::with_capacity(cw * ch));
        for cy in 0..ch {
            for cx in 0..cw {
                let (mut r, mut g, mut b, mut n) = (0, 0, 0, 0);
                for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (x, y) = (2 * cx + x, 2 * cy + y);
                    if x < width && y < height {
                        let p = px(x, y);
                        (r, g, b, n) = (r + p.0, g + p.1, b + p.2, n + 1);
                    }
                }
                let (r, g, b) = ((r + n / 2) / n, (g + n / 2) / n, (b + n / 2) / n);
                u.push(clamp(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128));
                v.push(clamp(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128));
            }
        }
        Yuv420 {
            width,
            height,
            y: luma,
            u,
            v,
        }
    }

    /// The planes of this picture (tightly packed).
    pub fn planes(&self) -> Planes<'_> {
        Planes {
            y: &self.y,
            u: &self.u,
            v: &self.v,
            y_stride: self.width,
            uv_stride: self.width.div_ceil(2),
        }
    }

    /// Back to row-major RGB bytes.
    pub fn to_rgb(&self) -> Vec<u8> {
        planes_to_rgb(self.planes(), self.width, self.height)
    }

    /// The planes concatenated Y, U, V (the I420 layout encoders take).
    pub fn to_i420(&self) -> Vec<u8> {
        [self.y.as_slice(), &self.u, &self.v].concat()
    }
}

/// Converts strided 4:2:0 planes to row-major RGB bytes.
pub fn planes_to_rgb(p: Planes<'_>, width: usize, height: usize) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            let c = 298 * (p.y[y * p.y_stride + x] as i32 - 16);
            let ci = (y / 2) * p.uv_stride + x / 2;
            let d = p.u[ci] as i32 - 128;
            let e = p.v[ci] as i32 - 128;
            rgb.push(clamp((c + 409 * e + 128) >> 8));
            rgb.push(clamp((c - 100 * d - 208 * e + 128) >> 8));
            rgb.push(clamp((c + 516 * d + 128) >> 8));
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_colours_survive_the_round_trip() {
        for rgb in [[0u8, 0, 0], [255, 255, 255], [200, 40, 30], [20, 180, 90]] {
            let img: Vec<u8> = rgb.iter().copied().cycle().take(6 * 4 * 3).collect();
            let back = Yuv420::from_rgb(&img, 6, 4).to_rgb();
            for (a, b) in img.iter().zip(&back) {
                assert!((*a as i32 - *b as i32).abs() <= 3, "{rgb:?}: {a} vs {b}");
            }
        }
    }
}
