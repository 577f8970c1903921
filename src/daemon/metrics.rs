//! The daemon's metrics in the Prometheus text format, written to `metrics_file`
//! atomically (a temporary name renamed over it), as node_exporter's textfile
//! collector expects. Counts since the daemon started; nothing here reads them back.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Upper bounds of the processing-time histogram, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// What the daemon counts for the metrics file.
#[derive(Debug, Default)]
pub struct Metrics {
    pub processed: u64,
    pub failed: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Blocks removed, by category name.
    pub removals: BTreeMap<&'static str, u64>,
    pub reloads_ok: u64,
    pub reloads_refused: u64,
    /// Files cleaned per histogram bucket (the last: slower than every bound).
    seconds: [u64; BUCKETS.len() + 1],
    seconds_sum: f64,
}

impl Metrics {
    /// One cleaned file that took `ms` milliseconds.
    pub fn took(&mut self, ms: u64) {
        let s = ms as f64 / 1000.0;
        let i = BUCKETS
            .iter()
            .position(|&b| s <= b)
            .unwrap_or(BUCKETS.len());
        self.seconds[i] += 1;
        self.seconds_sum += s;
    }

    /// The text format, with the queue's gauges.
    pub fn render(&self, queued: usize, working: usize) -> String {
        let mut o = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: &[(String, String)]| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in lines {
                let _ = writeln!(o, "{name}{labels} {v}");
            }
        };
        let one = |v: u64| vec![(String::new(), v.to_string())];
        metric(
            "pare_files_processed_total",
            "counter",
            "Files cleaned and published.",
            &one(self.processed),
        );
        metric(
            "pare_files_failed_total",
            "counter",
            "Files moved to the failed folder.",
            &one(self.failed),
        );
        metric(
            "pare_bytes_in_total",
            "counter",
            "Bytes of the files cleaned.",
            &one(self.bytes_in),
        );
        metric(
            "pare_bytes_out_total",
            "counter",
            "Bytes of the cleaned files published.",
            &one(self.bytes_out),
        );
        let removals: Vec<(String, String)> = self
            .removals
            .iter()
            .map(|(c, n)| (format!("{{category=\"{c}\"}}"), n.to_string()))
            .collect();
        metric(
            "pare_removals_total",
            "counter",
            "Blocks removed, by category.",
            &removals,
        );
        metric(
            "pare_rule_reloads_total",
            "counter",
            "Rule reloads, by result (a refused reload keeps the running rules).",
            &[
                ("{result=\"ok\"}".into(), self.reloads_ok.to_string()),
                (
                    "{result=\"refused\"}".into(),
                    self.reloads_refused.to_string(),
                ),
            ],
        );
        metric(
            "pare_queue_length",
            "gauge",
            "Files found and waiting for a worker.",
            &one(queued as u64),
        );
        metric(
            "pare_files_working",
            "gauge",
            "Files being cleaned now.",
            &one(working as u64),
        );
        let mut lines = Vec::new();
        let mut cum = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cum += self.seconds[i];
            lines.push((format!("_bucket{{le=\"{b}\"}}"), cum.to_string()));
        }
        cum += self.seconds[BUCKETS.len()];
        lines.push(("_bucket{le=\"+Inf\"}".into(), cum.to_string()));
        lines.push(("_sum".into(), format!("{}", self.seconds_sum)));
        lines.push(("_count".into(), cum.to_string()));
        metric(
            "pare_processing_seconds",
            "histogram",
            "Time to clean and publish one file.",
            &lines,
        );
        o
    }

    /// Writes the file atomically.
    pub fn write(&self, path: &Path, queued: usize, working: usize) -> std::io::Result<()> {
        let mut tmp = path.to_path_buf().into_os_string();
        tmp.push(".tmp");
        std::fs::write(&tmp, self.render(queued, working))?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_a_cumulative_histogram() {
        let mut m = Metrics {
            processed: 3,
            ..Metrics::default()
        };
        m.removals.insert("promo", 2);
        m.took(3);
        m.took(40);
        m.took(9000);
        let t = m.render(5, 1);
        assert!(
            t.contains("# TYPE pare_files_processed_total counter\npare_files_processed_total 3\n"),
            "{t}"
        );
        assert!(
            t.contains("pare_removals_total{category=\"promo\"} 2\n"),
            "{t}"
        );
        assert!(t.contains("pare_queue_length 5\n"), "{t}");
        assert!(
            t.contains("pare_processing_seconds_bucket{le=\"0.005\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("pare_processing_seconds_bucket{le=\"0.05\"} 2\n"),
            "{t}"
        );
        assert!(
            t.contains("pare_processing_seconds_bucket{le=\"+Inf\"} 3\n"),
            "{t}"
        );
        assert!(t.contains("pare_processing_seconds_count 3\n"), "{t}");
    }
}
