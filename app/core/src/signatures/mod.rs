//! Signatures as pictures: renders a signature's strokes to a PNG for display and print.
//!
//! Pure (no IO). The strokes' units `0..=65535` span the whole image, so callers pass the
//! pad's aspect ratio (e.g. 600×240) to get the signature undistorted. Ink is near-black on
//! an opaque white background, 8-bit greyscale (small files, prints as drawn). Each segment
//! between two samples is drawn as a capsule whose radius follows the pen pressure along the
//! segment, with a one-pixel antialiased edge; overlapping segments darken to the ink colour
//! and never beyond it.

use hecha_shared::signature::{Point, Strokes};
use image::{GrayImage, ImageEncoder, Luma};

/// The largest side of a rendered image, in pixels (bounds memory whatever a caller asks).
pub const MAX_SIDE: u32 = 4096;

const INK: f32 = 16.0;
const PAPER: u8 = 255;

/// Renders `strokes` to a PNG of `width`×`height` pixels (each clamped to `1..=MAX_SIDE`).
/// An empty signature renders a blank white image.
pub fn render_png(strokes: &Strokes, width: u32, height: u32) -> Vec<u8> {
    let img = render(strokes, width, height);
    let mut out = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new(&mut out);
    match encoder.write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::L8,
    ) {
        Ok(()) => out,
        Err(e) => {
            // Not reachable with clamped, non-zero sizes and a buffer of matching length.
            tracing::error!("signature PNG encoding failed: {e}");
            Vec::new()
        }
    }
}

/// The signature as a greyscale image (what [`render_png`] encodes).
pub fn render(strokes: &Strokes, width: u32, height: u32) -> GrayImage {
    let (w, h) = (width.clamp(1, MAX_SIDE), height.clamp(1, MAX_SIDE));
    let mut img = GrayImage::from_pixel(w, h, Luma([PAPER]));
    let base = (w.max(h) as f32 / 300.0).max(1.0);
    let to_px = |p: &Point| {
        let x = f32::from(p.x) / 65535.0 * w as f32;
        let y = f32::from(p.y) / 65535.0 * h as f32;
        let r = match p.pressure {
            Some(pr) => base * (0.4 + 1.2 * f32::from(pr) / 255.0),
            None => base,
        };
        (x, y, r)
    };
    for stroke in strokes.strokes() {
        let pts: Vec<_> = stroke.iter().map(to_px).collect();
        match pts.as_slice() {
            [] => {}
            [only] => capsule(&mut img, *only, *only),
            many => {
                for pair in many.windows(2) {
                    capsule(&mut img, pair[0], pair[1]);
                }
            }
        }
    }
    img
}

/// Draws the segment `a`→`b` (x, y, radius) with round ends.
fn capsule(img: &mut GrayImage, a: (f32, f32, f32), b: (f32, f32, f32)) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let pad = a.2.max(b.2) + 1.0;
    let x0 = (a.0.min(b.0) - pad).floor().clamp(0.0, w) as u32;
    let x1 = (a.0.max(b.0) + pad).ceil().clamp(0.0, w) as u32;
    let y0 = (a.1.min(b.1) - pad).floor().clamp(0.0, h) as u32;
    let y1 = (a.1.max(b.1) + pad).ceil().clamp(0.0, h) as u32;
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    for py in y0..y1 {
        for px in x0..x1 {
            let (cx, cy) = (px as f32 + 0.5, py as f32 + 0.5);
            let t = if len2 > 0.0 {
                (((cx - a.0) * dx + (cy - a.1) * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (nx, ny) = (a.0 + t * dx - cx, a.1 + t * dy - cy);
            let dist = (nx * nx + ny * ny).sqrt();
            let r = a.2 + t * (b.2 - a.2);
            let coverage = (r + 0.5 - dist).clamp(0.0, 1.0);
            if coverage > 0.0 {
                let shade = (f32::from(PAPER) - coverage * (f32::from(PAPER) - INK)).round() as u8;
                let pixel = img.get_pixel_mut(px, py);
                pixel.0[0] = pixel.0[0].min(shade);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> GrayImage {
        image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .expect("a valid PNG")
            .to_luma8()
    }

    fn p(x: u16, y: u16, t: u32, pressure: Option<u8>) -> Point {
        Point { x, y, t, pressure }
    }

    #[test]
    fn a_stroke_is_dark_along_its_path_and_the_rest_stays_white() {
        // A horizontal line across the middle, then a diagonal with stylus pressure.
        let strokes = Strokes::new(vec![
            vec![p(6554, 32768, 0, None), p(58982, 32768, 400, None)],
            vec![
                p(6554, 6554, 900, Some(200)),
                p(32768, 19661, 1000, Some(180)),
                p(58982, 32768, 1100, Some(160)),
            ],
        ])
        .unwrap();
        let png = render_png(&strokes, 600, 240);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let img = decode(&png);
        assert_eq!(img.dimensions(), (600, 240));
        // Along the horizontal line (x 60..540 at y = 120): dark.
        for x in (70..530).step_by(20) {
            assert!(img.get_pixel(x, 120).0[0] < 80, "x={x}");
        }
        // Along the diagonal from (60, 24) to (300, 72).
        for i in 1..10 {
            let x = 60 + i * 24;
            let y = 24 + i * 24 / 5;
            assert!(img.get_pixel(x, y).0[0] < 80, "({x}, {y})");
        }
        // Far from both: white.
        for (x, y) in [(5, 5), (300, 200), (590, 10), (20, 230), (580, 180)] {
            assert_eq!(img.get_pixel(x, y).0[0], 255, "({x}, {y})");
        }
        // Antialiased: some pixels are neither ink nor paper.
        assert!(img.pixels().any(|px| px.0[0] > 40 && px.0[0] < 230));
    }

    #[test]
    fn an_empty_signature_renders_blank_at_the_size_asked() {
        let img = decode(&render_png(&Strokes::default(), 320, 128));
        assert_eq!(img.dimensions(), (320, 128));
        assert!(img.pixels().all(|px| px.0[0] == 255));
    }

    #[test]
    fn a_single_tap_is_a_dot_and_absurd_sizes_are_clamped() {
        let dot = Strokes::new(vec![vec![p(32768, 32768, 0, None)]]).unwrap();
        let img = decode(&render_png(&dot, 100, 100));
        assert!(img.get_pixel(50, 50).0[0] < 80);
        assert_eq!(img.get_pixel(10, 10).0[0], 255);
        let img = decode(&render_png(&dot, 0, 100_000));
        assert_eq!(img.dimensions(), (1, MAX_SIDE));
    }

    #[test]
    fn strokes_on_the_pad_edges_stay_inside_the_image() {
        let edges = Strokes::new(vec![vec![
            p(0, 0, 0, Some(255)),
            p(65535, 0, 1, Some(255)),
            p(65535, 65535, 2, Some(255)),
            p(0, 65535, 3, Some(255)),
        ]])
        .unwrap();
        let img = decode(&render_png(&edges, 200, 80));
        assert!(img.get_pixel(100, 0).0[0] < 128);
        assert!(img.get_pixel(199, 40).0[0] < 128);
        assert_eq!(img.get_pixel(100, 40).0[0], 255);
    }
}
