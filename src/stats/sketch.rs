//! `LatencySketch`: one bounded, mergeable latency histogram (HdrHistogram, 2 significant digits, µs).
//!
//! Why HdrHistogram rather than a DDSketch: its memory is fixed when it is made (about 34 KB of
//! counts for 1 µs … 7 days at 2 significant digits), so recording never allocates and is a few
//! integer operations, with no logarithm; two sketches with the same bounds merge exactly (bucket
//! by bucket); and it has a documented, versioned binary format (V2, shared with the Java, Go
//! and C ports), compact for sparse data, which the store keeps. The Rust DDSketch ports store
//! their private fields through serde and grow their bins as values arrive.

use std::time::Duration;

use anyhow::{anyhow, Context};
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;

/// Significant decimal digits kept: every recorded value is known to within 1% of itself.
const SIGNIFICANT_DIGITS: u8 = 2;
/// The relative error of any quantile this sketch answers, as stated by HdrHistogram for two
/// significant digits: the answer lies within `RELATIVE_ERROR × exact` of the exact quantile
/// (the value of rank ⌈q·n⌉ among the recorded values, in whole microseconds).
pub const RELATIVE_ERROR: f64 = 0.01;
/// The largest latency told apart: longer ones count as this (an alarm can wait days in SQS
/// while the bot is down; the percentiles then say "7d or more").
pub const MAX_LATENCY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Latencies in microseconds, from 0 to `MAX_LATENCY`.
#[derive(Clone, Debug)]
pub struct LatencySketch {
    histogram: Histogram<u64>,
}

impl Default for LatencySketch {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencySketch {
    /// An empty sketch. Allocates its counts once; nothing after this allocates.
    pub fn new() -> Self {
        let histogram = Histogram::new_with_bounds(1, max_micros(), SIGNIFICANT_DIGITS)
            .expect("constant histogram bounds are valid");
        Self { histogram }
    }

    /// Count one latency (whole microseconds; past `MAX_LATENCY` counts as `MAX_LATENCY`).
    pub fn record(&mut self, value: Duration) {
        let micros = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(micros.min(max_micros()));
    }

    /// Add every value of `other` (exact: both have the same buckets).
    pub fn merge(&mut self, other: &LatencySketch) {
        // Same bounds on both sides, and every value was clamped to them: cannot fail.
        let _ = self.histogram.add(&other.histogram);
    }

    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// The `q` quantile (0..=1) within `RELATIVE_ERROR`; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.is_empty() {
            return None;
        }
        let micros = self.histogram.value_at_quantile(q.clamp(0.0, 1.0));
        Some(Duration::from_micros(micros.min(max_micros())))
    }

    /// Empty it again, keeping its memory.
    pub fn reset(&mut self) {
        self.histogram.reset();
    }

    /// The V2 binary form (HdrHistogram's interchange format), for the store.
    pub fn encode(&self) -> anyhow::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(&self.histogram, &mut bytes)
            .map_err(|e| anyhow!("{e:?}"))
            .context("Failed to encode a latency sketch")?;
        Ok(bytes)
    }

    /// Read back what `encode` wrote. A sketch of other bounds (an older version's) is re-read
    /// into these bounds, so it still merges.
    pub fn decode(bytes: &[u8]) -> anyhow::Result<Self> {
        let stored: Histogram<u64> = Deserializer::new()
            .deserialize(&mut &bytes[..])
            .map_err(|e| anyhow!("{e:?}"))
            .context("Failed to decode a latency sketch")?;
        let mut sketch = Self::new();
        if sketch.histogram.add(&stored).is_err() {
            for value in stored.iter_recorded() {
                let micros = value.value_iterated_to().min(max_micros());
                sketch
                    .histogram
                    .saturating_record_n(micros, value.count_at_value());
            }
        }
        Ok(sketch)
    }
}

fn max_micros() -> u64 {
    MAX_LATENCY.as_micros() as u64
}
