//! The signature pad: a canvas that records strokes from pointer events (finger, stylus
//! with its pressure, or mouse) in pad units `0..=65535` across its box, and hands them
//! over on 确认. The core packs them into the document and renders the PNG.

use hecha_shared::signature::{Point, MAX_POINTS, MAX_STROKES};
use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, PointerEvent};

/// The strokes drawn so far and what is needed to extend them.
#[derive(Default)]
struct Ink {
    strokes: Vec<Vec<Point>>,
    /// `timeStamp` of the first point: `t` counts from it.
    started: Option<f64>,
    /// The pointer drawing now (others are ignored until it lifts).
    pointer: Option<i32>,
    points: usize,
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
}

/// Sizes the bitmap to the box on screen (sharp on high-density screens) and clears it.
fn reset(canvas: &HtmlCanvasElement) {
    let ratio = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
        .max(1.0);
    let w = (f64::from(canvas.client_width()) * ratio).round().max(1.0) as u32;
    let h = (f64::from(canvas.client_height()) * ratio).round().max(1.0) as u32;
    canvas.set_width(w);
    canvas.set_height(h);
    if let Some(ctx) = context(canvas) {
        ctx.clear_rect(0.0, 0.0, f64::from(w), f64::from(h));
        ctx.set_line_cap("round");
        ctx.set_line_join("round");
        ctx.set_stroke_style_str("#1a1a1a");
    }
}

/// The event's position in pad units, clamped to the box.
fn pad_point(canvas: &HtmlCanvasElement, ev: &PointerEvent, started: f64) -> Point {
    let rect = canvas.get_bounding_client_rect();
    let fx = ((f64::from(ev.client_x()) - rect.left()) / rect.width().max(1.0)).clamp(0.0, 1.0);
    let fy = ((f64::from(ev.client_y()) - rect.top()) / rect.height().max(1.0)).clamp(0.0, 1.0);
    // A mouse reports a made-up 0.5 while pressed: only pens and fingers give pressure.
    let pressure = (ev.pointer_type() != "mouse" && ev.pressure() > 0.0)
        .then(|| (f64::from(ev.pressure()) * 255.0).round().clamp(1.0, 255.0) as u8);
    Point {
        x: (fx * 65535.0).round() as u16,
        y: (fy * 65535.0).round() as u16,
        t: (ev.time_stamp() - started)
            .max(0.0)
            .min(f64::from(u32::MAX)) as u32,
        pressure,
    }
}

/// Draws the segment from `from` to `to` (pad units) on the canvas.
fn draw(canvas: &HtmlCanvasElement, from: Point, to: Point) {
    let Some(ctx) = context(canvas) else { return };
    let (w, h) = (f64::from(canvas.width()), f64::from(canvas.height()));
    let px = |p: Point| (f64::from(p.x) / 65535.0 * w, f64::from(p.y) / 65535.0 * h);
    let base = w / 160.0;
    let width = match to.pressure {
        Some(p) => base * (0.5 + f64::from(p) / 255.0),
        None => base,
    };
    ctx.set_line_width(width.max(1.5));
    ctx.begin_path();
    let (x0, y0) = px(from);
    let (x1, y1) = px(to);
    ctx.move_to(x0, y0);
    ctx.line_to(x1 + 0.01, y1);
    ctx.stroke();
}

/// The pad with 清除 and 确认 (and 取消). `on_confirm` receives the strokes; `busy` disables
/// 确认 while they are being recorded.
#[component]
pub fn SignaturePad(
    on_confirm: Callback<Vec<Vec<Point>>>,
    on_cancel: Callback<()>,
    #[prop(into)] busy: Signal<bool>,
) -> impl IntoView {
    let canvas_ref = NodeRef::<Canvas>::new();
    let ink = StoredValue::new_local(Ink::default());
    let points = RwSignal::new(0usize);
    let full = RwSignal::new(false);

    Effect::new(move |_| {
        if let Some(canvas) = canvas_ref.get() {
            reset(&canvas);
        }
    });

    let down = move |ev: PointerEvent| {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        ev.prevent_default();
        let mut refused = false;
        ink.update_value(|ink| {
            if ink.pointer.is_some() {
                return;
            }
            if ink.strokes.len() >= MAX_STROKES || ink.points >= MAX_POINTS {
                refused = true;
                return;
            }
            let started = *ink.started.get_or_insert(ev.time_stamp());
            let p = pad_point(&canvas, &ev, started);
            ink.pointer = Some(ev.pointer_id());
            ink.strokes.push(vec![p]);
            ink.points += 1;
            draw(&canvas, p, p);
        });
        full.set(refused);
        if !refused {
            let _ = canvas.set_pointer_capture(ev.pointer_id());
            points.set(ink.with_value(|i| i.points));
        }
    };
    let moved = move |ev: PointerEvent| {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let mut added = false;
        ink.update_value(|ink| {
            if ink.pointer != Some(ev.pointer_id()) || ink.points >= MAX_POINTS {
                return;
            }
            let started = ink.started.unwrap_or(0.0);
            let p = pad_point(&canvas, &ev, started);
            if let Some(stroke) = ink.strokes.last_mut() {
                let last = stroke.last().copied().unwrap_or(p);
                if (last.x, last.y) == (p.x, p.y) {
                    return;
                }
                stroke.push(p);
                ink.points += 1;
                draw(&canvas, last, p);
                added = true;
            }
        });
        if added {
            ev.prevent_default();
            points.set(ink.with_value(|i| i.points));
        }
    };
    let up = move |ev: PointerEvent| {
        ink.update_value(|ink| {
            if ink.pointer == Some(ev.pointer_id()) {
                ink.pointer = None;
            }
        });
    };
    let clear = move |_| {
        ink.set_value(Ink::default());
        points.set(0);
        full.set(false);
        if let Some(canvas) = canvas_ref.get_untracked() {
            reset(&canvas);
        }
    };
    let confirm = move |_| {
        let strokes = ink.with_value(|i| i.strokes.clone());
        if !strokes.is_empty() {
            on_confirm.run(strokes);
        }
    };

    view! {
        <div class="signature-pad">
            <canvas
                id="signature-canvas"
                class="signature-canvas"
                node_ref=canvas_ref
                on:pointerdown=down
                on:pointermove=moved
                on:pointerup=up
                on:pointercancel=up
                on:lostpointercapture=up
            ></canvas>
            <p class="hint signature-baseline">"请在框内签名"</p>
            {move || full.get().then(|| view! { <p class="error-text">"笔画过多，请清除后重签"</p> })}
            <div class="pad-actions">
                <button id="signature-clear" type="button" class="secondary" on:click=clear>
                    "清除"
                </button>
                <button
                    id="signature-cancel"
                    type="button"
                    class="secondary"
                    on:click=move |_| on_cancel.run(())
                >
                    "取消"
                </button>
                <button
                    id="signature-confirm"
                    type="button"
                    class="primary"
                    disabled=move || busy.get() || points.get() == 0
                    on:click=confirm
                >
                    "确认签字"
                </button>
            </div>
        </div>
    }
}
