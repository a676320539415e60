//! Monitoring: `_nodes/stats` sampled every [`INTERVAL`] with the console's service account
//! (the console's own need), kept for [`KEEP`] samples, drawn as SVG on the server. The page shows
//! the samples only to users the node lets read `_nodes/stats` themselves.

use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bulwark_client::Credentials;
use serde_json::Value;

use crate::app::AppState;

/// Time between samples.
pub const INTERVAL: Duration = Duration::from_secs(10);
/// Samples kept (one hour).
pub const KEEP: usize = 360;

/// One sample, summed over the nodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Epoch seconds.
    pub t: u64,
    pub resident_bytes: u64,
    pub docs: u64,
    pub open_fds: u64,
}

impl Sample {
    /// A sample from a `_nodes/stats` answer.
    pub fn from_stats(t: u64, stats: &Value) -> Sample {
        let mut s = Sample { t, resident_bytes: 0, docs: 0, open_fds: 0 };
        for n in stats["nodes"].as_object().into_iter().flat_map(|m| m.values()) {
            s.resident_bytes += n["process"]["mem"]["resident_in_bytes"].as_u64().unwrap_or(0);
            s.docs += n["indices"]["docs"]["count"].as_u64().unwrap_or(0);
            s.open_fds += n["process"]["open_file_descriptors"].as_u64().unwrap_or(0);
        }
        s
    }
}

/// The kept samples.
#[derive(Debug, Default)]
pub struct Monitor {
    samples: Mutex<VecDeque<Sample>>,
}

impl Monitor {
    pub fn push(&self, s: Sample) {
        let mut q = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        q.push_back(s);
        while q.len() > KEEP {
            q.pop_front();
        }
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().unwrap_or_else(PoisonError::into_inner).iter().copied().collect()
    }
}

/// Samples in the background while the console runs.
pub fn spawn(state: Arc<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        loop {
            tick.tick().await;
            let Some(node) = state.node() else { continue };
            match node.client.get("_nodes/stats/process,indices", Credentials::Bearer(&node.token)).await {
                Ok(v) => state.monitor.push(Sample::from_stats(crate::session::now(), &v)),
                Err(e) => tracing::debug!(error = %e, "could not sample _nodes/stats"),
            }
        }
    });
}

/// A line chart of `values` over `samples`' times, as a standalone SVG document.
pub fn chart(title: &str, unit: &str, samples: &[Sample], value: impl Fn(&Sample) -> f64) -> String {
    let (w, h, pad) = (720.0_f64, 240.0_f64, 40.0_f64);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        escape(title)
    );
    let _ = write!(svg, "<rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>");
    let _ = write!(
        svg,
        "<text x=\"{pad}\" y=\"20\" font-family=\"sans-serif\" font-size=\"14\">{}</text>",
        escape(title)
    );
    if samples.is_empty() {
        let _ = write!(
            svg,
            "<text x=\"{pad}\" y=\"120\" font-family=\"sans-serif\" font-size=\"13\">No samples yet: one is taken every {} s.</text></svg>",
            INTERVAL.as_secs()
        );
        return svg;
    }
    let max = samples.iter().map(&value).fold(0.0_f64, f64::max).max(1.0);
    let (t0, t1) = (samples[0].t as f64, samples[samples.len() - 1].t as f64);
    let span = (t1 - t0).max(1.0);
    let points: Vec<String> = samples
        .iter()
        .map(|s| {
            let x = pad + (s.t as f64 - t0) / span * (w - 2.0 * pad);
            let y = h - pad - value(s) / max * (h - 2.0 * pad);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(
        svg,
        "<line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#888\"/>",
        h - pad,
        w - pad,
        h - pad
    );
    let _ = write!(svg, "<line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{}\" stroke=\"#888\"/>", h - pad);
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"11\">{max:.1} {}</text>",
        pad + 4.0,
        pad - 4.0,
        escape(unit)
    );
    let _ = write!(
        svg,
        "<polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2\" points=\"{}\"/>",
        points.join(" ")
    );
    let _ = write!(
        svg,
        "<text x=\"{pad}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"11\">{} samples over {:.0} s</text></svg>",
        h - 12.0,
        samples.len(),
        span
    );
    svg
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_sum_nodes_and_chart_draws_them() {
        let stats = serde_json::json!({"nodes": {
            "a": {"process": {"mem": {"resident_in_bytes": 100}, "open_file_descriptors": 3}, "indices": {"docs": {"count": 5}}},
            "b": {"process": {"mem": {"resident_in_bytes": 50}, "open_file_descriptors": 1}, "indices": {"docs": {"count": 1}}},
        }});
        let s = Sample::from_stats(10, &stats);
        assert_eq!((s.resident_bytes, s.docs, s.open_fds), (150, 6, 4));
        let m = Monitor::default();
        for i in 0..(KEEP + 5) {
            m.push(Sample { t: i as u64, ..s });
        }
        assert_eq!(m.samples().len(), KEEP);
        let svg = chart("Memory <MB>", "MB", &m.samples(), |s| s.resident_bytes as f64);
        assert!(svg.contains("<polyline") && svg.contains("Memory &lt;MB&gt;"), "{svg}");
        assert!(chart("x", "", &[], |_| 0.0).contains("No samples yet"));
    }
}
