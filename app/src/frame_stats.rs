//! The app's own frame timing, like egui's frame history: the interval between frames (what a
//! person sees as smoothness) and the time spent in the app's UI code each frame (layout and
//! painting commands, not rasterisation). Shown in a small overlay and read by tests.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Frames kept for the statistics.
const WINDOW: usize = 300;

/// A rolling record of frame times.
#[derive(Debug, Clone)]
pub struct FrameStats {
    last_frame: Option<Instant>,
    intervals: VecDeque<f32>,
    ui_times: VecDeque<f32>,
}

impl Default for FrameStats {
    fn default() -> Self {
        FrameStats {
            last_frame: None,
            intervals: VecDeque::with_capacity(WINDOW),
            ui_times: VecDeque::with_capacity(WINDOW),
        }
    }
}

fn push(queue: &mut VecDeque<f32>, value: f32) {
    if queue.len() == WINDOW {
        queue.pop_front();
    }
    queue.push_back(value);
}

/// The `q` quantile (0..=1) of `values`, in the same unit.
pub fn quantile(values: impl IntoIterator<Item = f32>, q: f32) -> Option<f32> {
    let mut sorted: Vec<f32> = values.into_iter().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f32::total_cmp);
    let index = ((sorted.len() - 1) as f32 * q.clamp(0.0, 1.0)).round() as usize;
    Some(sorted[index])
}

impl FrameStats {
    /// Call at the start of each frame; returns when the frame began.
    pub fn begin_frame(&mut self) -> Instant {
        let now = Instant::now();
        if let Some(last) = self.last_frame.replace(now) {
            push(&mut self.intervals, (now - last).as_secs_f32() * 1e3);
        }
        now
    }

    /// Call at the end of the app's UI code with the time [`begin_frame`](Self::begin_frame)
    /// returned.
    pub fn end_frame(&mut self, began: Instant) {
        push(&mut self.ui_times, began.elapsed().as_secs_f32() * 1e3);
    }

    /// Forgets the history (e.g. when training starts, to compare idle and busy windows).
    pub fn clear(&mut self) {
        self.intervals.clear();
        self.ui_times.clear();
        self.last_frame = None;
    }

    /// Frames recorded.
    pub fn len(&self) -> usize {
        self.ui_times.len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.ui_times.is_empty()
    }

    /// Frame-to-frame interval at quantile `q`, milliseconds.
    pub fn interval_ms(&self, q: f32) -> Option<f32> {
        quantile(self.intervals.iter().copied(), q)
    }

    /// Time in the app's UI code at quantile `q`, milliseconds.
    pub fn ui_ms(&self, q: f32) -> Option<f32> {
        quantile(self.ui_times.iter().copied(), q)
    }

    /// The overlay's text.
    pub fn summary(&self) -> String {
        let ms = |v: Option<f32>| v.map_or("-".into(), |v| format!("{v:.1}"));
        format!(
            "frame p50 {} p95 {} ms, ui p95 {} ms",
            ms(self.interval_ms(0.5)),
            ms(self.interval_ms(0.95)),
            ms(self.ui_ms(0.95))
        )
    }

    /// Mean interval over the window.
    pub fn mean_interval(&self) -> Option<Duration> {
        (!self.intervals.is_empty()).then(|| {
            Duration::from_secs_f32(
                self.intervals.iter().sum::<f32>() / self.intervals.len() as f32 / 1e3,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_pick_from_the_sorted_values() {
        let values = (1..=100).map(|v| v as f32);
        assert_eq!(quantile(values.clone(), 0.95), Some(95.0));
        assert_eq!(quantile(values, 0.0), Some(1.0));
        assert_eq!(quantile(Vec::new(), 0.5), None);
    }
}
