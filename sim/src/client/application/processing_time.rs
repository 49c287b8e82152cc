//! Processing-time distributions for simulated applications, sampled from the caller's seeded RNG and
//! always capped by a maximum so that a run stays bounded.

use serde::{Deserialize, Serialize};

/// How long an application takes per record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "distribution", rename_all = "snake_case")]
pub enum ProcessingTime {
    /// Always the same.
    Fixed {
        /// Milliseconds.
        ms: u64,
    },
    /// Uniform in `[min_ms, max_ms]`.
    Uniform {
        /// Lower bound.
        min_ms: u64,
        /// Upper bound (inclusive).
        max_ms: u64,
    },
    /// Exponential with a mean, capped.
    Exponential {
        /// Mean.
        mean_ms: f64,
        /// Cap.
        max_ms: u64,
    },
    /// Log-normal (a long tail of slow records), capped.
    LogNormal {
        /// Median (`exp(mu)`).
        median_ms: f64,
        /// Standard deviation of the underlying normal.
        sigma: f64,
        /// Cap.
        max_ms: u64,
    },
}

impl ProcessingTime {
    /// One sample. Draws a fixed number of values per variant.
    pub fn sample_ms(&self, rng: &mut impl rand::Rng) -> u64 {
        match *self {
            ProcessingTime::Fixed { ms } => ms,
            ProcessingTime::Uniform { min_ms, max_ms } => {
                let (low, high) = (min_ms.min(max_ms), min_ms.max(max_ms));
                rng.gen_range(low..=high)
            }
            ProcessingTime::Exponential { mean_ms, max_ms } => {
                let u: f64 = rng.gen();
                let sample = -mean_ms.max(0.0) * (1.0 - u).ln();
                clamp_ms(sample, max_ms)
            }
            ProcessingTime::LogNormal {
                median_ms,
                sigma,
                max_ms,
            } => {
                // Box-Muller: one standard normal from two uniforms.
                let u1: f64 = rng.gen();
                let u2: f64 = rng.gen();
                let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let sample = median_ms.max(0.0) * (sigma * z).exp();
                clamp_ms(sample, max_ms)
            }
        }
    }
}

fn clamp_ms(sample: f64, max_ms: u64) -> u64 {
    if sample.is_nan() || sample <= 0.0 {
        0
    } else if sample >= max_ms as f64 {
        max_ms
    } else {
        sample.round() as u64
    }
}
