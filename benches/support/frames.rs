//! What the UI benchmarks share: a frame timed as the screen would see it, and percentiles.

use std::time::{Duration, Instant};

use cache_console::ui::App;
use egui_kittest::Harness;

/// The `p` percentile (0‥1) of `samples`, which it sorts.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    if samples.is_empty() {
        return Duration::ZERO;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a short list"
    )]
    let idx = (((samples.len() as f64) * p).ceil() as usize).clamp(1, samples.len()) - 1;
    samples[idx]
}

/// One frame: the UI pass plus tessellation.
pub fn frame(h: &mut Harness<'static, App>) -> Duration {
    let start = Instant::now();
    h.step();
    let shapes = h.output().shapes.clone();
    let pixels_per_point = h.output().pixels_per_point;
    let _ = h.ctx.tessellate(shapes, pixels_per_point);
    start.elapsed()
}
