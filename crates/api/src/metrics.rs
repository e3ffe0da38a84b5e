//! The API's own counters for `/metrics`: requests per status class and a
//! latency histogram.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
pub struct ApiMetrics {
    /// 1xx..5xx.
    by_class: [AtomicU64; 5],
    /// Non-cumulative counts per bucket; the last one is +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl ApiMetrics {
    pub fn observe(&self, status: u16, elapsed: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        let i = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus text exposition format.
    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP otwatch_api_requests_total API requests answered, by status class.\n");
        out.push_str("# TYPE otwatch_api_requests_total counter\n");
        for (i, c) in self.by_class.iter().enumerate() {
            let _ = writeln!(
                out,
                "otwatch_api_requests_total{{class=\"{}xx\"}} {}",
                i + 1,
                c.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP otwatch_api_request_duration_seconds API request latency.\n");
        out.push_str("# TYPE otwatch_api_request_duration_seconds histogram\n");
        let mut cum = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            cum += b.load(Ordering::Relaxed);
            let le = BUCKETS.get(i).map_or("+Inf".to_string(), |v| v.to_string());
            let _ = writeln!(
                out,
                "otwatch_api_request_duration_seconds_bucket{{le=\"{le}\"}} {cum}"
            );
        }
        let _ = writeln!(
            out,
            "otwatch_api_request_duration_seconds_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "otwatch_api_request_duration_seconds_count {}",
            self.count.load(Ordering::Relaxed)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = ApiMetrics::default();
        m.observe(200, Duration::from_millis(1));
        m.observe(404, Duration::from_millis(30));
        m.observe(503, Duration::from_secs(20));
        let mut s = String::new();
        m.render(&mut s);
        assert!(s.contains("otwatch_api_requests_total{class=\"2xx\"} 1"));
        assert!(s.contains("otwatch_api_requests_total{class=\"4xx\"} 1"));
        assert!(s.contains("otwatch_api_requests_total{class=\"5xx\"} 1"));
        assert!(s.contains("otwatch_api_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(s.contains("otwatch_api_request_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(s.contains("otwatch_api_request_duration_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(s.contains("otwatch_api_request_duration_seconds_count 3"));
    }
}
