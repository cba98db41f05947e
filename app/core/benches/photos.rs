//! Photo pipeline benchmark: time and output size of `process_photo` on a generated 12 MP
//! (4000×3000) phone-like JPEG, the JPEG quality/size trade-off, and the cost of the
//! scaling methods we considered. Prints figures; asserts nothing.
//!
//! Run: `cargo bench -p hecha-core --bench photos` (release build).
//! Optional: `cargo bench -p hecha-core --bench photos -- <photo.jpg>...` adds the same
//! quality table and a pipeline run for the first real photo, and (given several) checks
//! that they all come out the same size and picture (e.g. the exif-orientation examples).

use std::time::{Duration, Instant};

use fast_image_resize::{FilterType as Filter, ResizeAlg};
use hecha_core::photos::{
    encode_jpeg, process_photo, scale_to_fit, scale_with, FULL_LONG_EDGE, JPEG_QUALITY,
};
use hecha_shared::photo::PhotoKind;
use image::imageops::FilterType;
use image::{Rgb, RgbImage};

const RUNS: usize = 9;
const QUALITIES: [u8; 7] = [60, 70, 75, 80, 85, 90, 95];

fn main() {
    let files: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();

    let started = Instant::now();
    let scene = synthetic_scene(4000, 3000, 0x5eed);
    let source = encode_jpeg(&scene, 92).expect("encode the source");
    println!(
        "source: generated 4000x3000 scene, JPEG q92 as a phone writes it: {} KB (made in {:.1} s)",
        source.len() / 1024,
        started.elapsed().as_secs_f64()
    );

    pipeline_runs("generated 12 MP", &source);
    scaling_methods(&scene);
    quality_table(
        "generated 12 MP",
        &scale_to_fit(&scene, FULL_LONG_EDGE).expect("scale"),
    );

    // Hand check of orientation on real files: every output must have the same size as
    // the first file's output and show the same (upright) picture, i.e. a high PSNR.
    let mut first: Option<(String, RgbImage)> = None;
    if files.len() > 1 {
        println!("\norientation check (each output against the first file's output):");
    }
    for path in files.iter().filter(|_| files.len() > 1) {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let out = match process_photo(&bytes, PhotoKind::Other) {
            Ok(out) => out,
            Err(e) => {
                println!("  {path}: {e}");
                continue;
            }
        };
        let pixels = image::load_from_memory(&out.full)
            .expect("decode")
            .into_rgb8();
        let agreement = match &first {
            Some((_, reference)) if reference.dimensions() == pixels.dimensions() => {
                format!("PSNR {:.1} dB", psnr(reference, &pixels))
            }
            Some((name, _)) => format!("size differs from {name}"),
            None => "reference".to_string(),
        };
        println!(
            "  {path}: {}x{}, {} KB, {agreement}",
            out.width,
            out.height,
            out.full.len() / 1024
        );
        if first.is_none() {
            // For scale: what a wrongly oriented output would score.
            let mirrored = image::imageops::flip_horizontal(&pixels);
            let upside_down = image::imageops::rotate180(&pixels);
            println!(
                "    (a mirrored output would score {:.1} dB, an upside-down one {:.1} dB)",
                psnr(&pixels, &mirrored),
                psnr(&pixels, &upside_down)
            );
            first = Some((path.clone(), pixels));
        }
    }

    for path in files.iter().take(1) {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                println!("\n{path}: {e}");
                continue;
            }
        };
        pipeline_runs(path, &bytes);
        match image::load_from_memory(&bytes) {
            Ok(img) => quality_table(
                path,
                &scale_to_fit(&img.into_rgb8(), FULL_LONG_EDGE).expect("scale"),
            ),
            Err(e) => println!("{path}: {e}"),
        }
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn pipeline_runs(label: &str, bytes: &[u8]) {
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = process_photo(bytes, PhotoKind::HouseOutside).expect("pipeline");
        times.push(t.elapsed());
        last = Some(out);
    }
    let out = last.expect("at least one run");
    let (min, max) = (
        times.iter().min().copied().unwrap_or_default(),
        times.iter().max().copied().unwrap_or_default(),
    );
    println!(
        "\npipeline on {label} ({} KB in), {RUNS} runs: median {:.0} ms (min {:.0}, max {:.0})",
        bytes.len() / 1024,
        median(times).as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
    );
    println!(
        "  full {}x{}: {} KB   thumbnail: {} KB   (targets: <= 500 ms, <= 400 KB)",
        out.width,
        out.height,
        out.full.len() / 1024,
        out.thumb.len() / 1024
    );
    // Where the time goes.
    let t = Instant::now();
    let decoded = image::load_from_memory(bytes).expect("decode").into_rgb8();
    let decode = t.elapsed();
    let t = Instant::now();
    let full = scale_to_fit(&decoded, FULL_LONG_EDGE).expect("scale");
    let scale = t.elapsed();
    let t = Instant::now();
    let _ = encode_jpeg(&full, JPEG_QUALITY).expect("encode");
    let encode = t.elapsed();
    println!(
        "  stages (one run): decode {:.0} ms, scale {:.0} ms, encode full {:.0} ms",
        decode.as_secs_f64() * 1e3,
        scale.as_secs_f64() * 1e3,
        encode.as_secs_f64() * 1e3
    );
}

fn scaling_methods(scene: &RgbImage) {
    println!("\nscaling 4000x3000 -> 1600x1200, median of {RUNS}:");
    let fir = |alg: ResizeAlg| move |i: &RgbImage| scale_with(i, 1600, 1200, alg).expect("scale");
    let fir_lanczos = fir(ResizeAlg::Convolution(Filter::Lanczos3));
    let fir_catmull = fir(ResizeAlg::Convolution(Filter::CatmullRom));
    let fir_super = fir(ResizeAlg::SuperSampling(Filter::Lanczos3, 2));
    type Scale<'a> = &'a dyn Fn(&RgbImage) -> RgbImage;
    let methods: [(&str, Scale); 6] = [
        ("fast_image_resize Lanczos3 (used)", &fir_lanczos),
        ("fast_image_resize Catmull-Rom", &fir_catmull),
        ("fast_image_resize supersample x2", &fir_super),
        ("image Lanczos3", &|i| {
            image::imageops::resize(i, 1600, 1200, FilterType::Lanczos3)
        }),
        ("image Catmull-Rom", &|i| {
            image::imageops::resize(i, 1600, 1200, FilterType::CatmullRom)
        }),
        ("image box (imageops::thumbnail)", &|i| {
            image::imageops::thumbnail(i, 1600, 1200)
        }),
    ];
    let reference = image::imageops::resize(scene, 1600, 1200, FilterType::Lanczos3);
    for (name, f) in methods {
        let mut times = Vec::new();
        let mut out = None;
        for _ in 0..RUNS {
            let t = Instant::now();
            out = Some(f(scene));
            times.push(t.elapsed());
        }
        let out = out.expect("ran");
        println!(
            "  {name:34} {:6.0} ms   PSNR vs image Lanczos3 {:.1} dB",
            median(times).as_secs_f64() * 1e3,
            psnr(&reference, &out)
        );
    }
}

fn image_crate_jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .expect("encode");
    out
}

fn quality_table(label: &str, image: &RgbImage) {
    println!(
        "\nJPEG quality vs size on {label}, {}x{} (PSNR against the unencoded pixels):",
        image.width(),
        image.height()
    );
    for q in QUALITIES {
        let t = Instant::now();
        let bytes = encode_jpeg(image, q).expect("encode");
        let time = t.elapsed();
        let decoded = image::load_from_memory(&bytes).expect("decode").into_rgb8();
        let other = image_crate_jpeg(image, q);
        let other_decoded = image::load_from_memory(&other).expect("decode").into_rgb8();
        println!(
            "  q{q:3}: {:5} KB  PSNR {:.1} dB  encode {:3.0} ms   | image crate encoder: {:5} KB  PSNR {:.1} dB",
            bytes.len() / 1024,
            psnr(image, &decoded),
            time.as_secs_f64() * 1e3,
            other.len() / 1024,
            psnr(image, &other_decoded),
        );
    }
}

fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    let mut sum = 0f64;
    for (x, y) in a.as_raw().iter().zip(b.as_raw()) {
        let d = f64::from(*x) - f64::from(*y);
        sum += d * d;
    }
    let mse = sum / a.as_raw().len().max(1) as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// A deterministic scene with what makes real photos expensive to compress: a sky
/// gradient, fractal "foliage" texture (value noise over four octaves), buildings with
/// hard edges and windows, a line of small text-like marks, and sensor noise.
fn synthetic_scene(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut rng = XorShift(seed | 1);
    let grids: Vec<(u32, Vec<f32>)> = [256u32, 64, 16, 4]
        .into_iter()
        .map(|cell| {
            let gw = width / cell + 2;
            let gh = height / cell + 2;
            (cell, (0..gw * gh).map(|_| rng.unit()).collect())
        })
        .collect();
    let noise = |x: u32, y: u32| -> f32 {
        let mut v = 0.0;
        let mut amp = 0.5;
        for (cell, grid) in &grids {
            let gw = width / cell + 2;
            let (fx, fy) = (x as f32 / *cell as f32, y as f32 / *cell as f32);
            let (ix, iy) = (fx as u32, fy as u32);
            let (tx, ty) = (fx - ix as f32, fy - iy as f32);
            let at = |i: u32, j: u32| grid[(j * gw + i) as usize];
            let top = at(ix, iy) * (1.0 - tx) + at(ix + 1, iy) * tx;
            let bottom = at(ix, iy + 1) * (1.0 - tx) + at(ix + 1, iy + 1) * tx;
            v += amp * (top * (1.0 - ty) + bottom * ty);
            amp *= 0.5;
        }
        v
    };
    let horizon = height * 2 / 5;
    let mut img = RgbImage::new(width, height);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let base = if y < horizon {
            let t = y as f32 / horizon as f32;
            let n = noise(x, y) * 30.0;
            [
                90.0 + 80.0 * t + n,
                140.0 + 60.0 * t + n,
                230.0 - 20.0 * t + n * 0.5,
            ]
        } else {
            let n = noise(x, y);
            [40.0 + 120.0 * n, 70.0 + 140.0 * n, 30.0 + 60.0 * n]
        };
        *px = Rgb(base.map(|c| c.clamp(0.0, 255.0) as u8));
    }
    // Buildings: walls with a plaster texture, dark windows, a roof line.
    for _ in 0..14 {
        let w = 150 + rng.below(350);
        let h = 250 + rng.below(700);
        let x0 = rng.below(width - w);
        let y0 = horizon + 200 - h.min(horizon + 200);
        let wall = [
            150 + rng.below(80),
            130 + rng.below(80),
            110 + rng.below(80),
        ];
        for y in y0..(y0 + h).min(height) {
            for x in x0..x0 + w {
                let in_window = (x - x0) % 60 > 20
                    && (x - x0) % 60 < 45
                    && (y - y0) % 80 > 25
                    && (y - y0) % 80 < 60;
                let n = (noise(x * 3 % width, y * 3 % height) * 40.0) as u32;
                let c = if in_window {
                    [30 + n / 2, 35 + n / 2, 45 + n / 2]
                } else {
                    [wall[0] + n / 2, wall[1] + n / 2, wall[2] + n / 2]
                };
                img.put_pixel(x, y, Rgb(c.map(|v| v.min(255) as u8)));
            }
        }
    }
    // Text-like marks (a sign / a document in the scene): small dark strokes.
    for row in 0..12 {
        for col in 0..120 {
            if rng.below(4) == 0 {
                continue;
            }
            let (x0, y0) = (600 + col * 22, 2300 + row * 40);
            for y in y0..y0 + 24 {
                for x in x0..x0 + 16 {
                    let stroke = (x - x0) < 3 || (y - y0) < 3 || (x + y) % 11 < 2;
                    if stroke && rng.below(3) > 0 {
                        img.put_pixel(x, y, Rgb([20, 20, 25]));
                    }
                }
            }
        }
    }
    // Sensor noise, strongest in the shadows as on a phone.
    for px in img.pixels_mut() {
        for c in px.0.iter_mut() {
            let amp = if *c < 80 { 14 } else { 8 };
            let d = rng.below(amp) as i32 - (amp / 2) as i32;
            *c = (*c as i32 + d).clamp(0, 255) as u8;
        }
    }
    img
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}
