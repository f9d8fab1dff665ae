//! The statistics of `xsell report`: the difference of two groups' means
//! (recipients against the holdout, one variant against another) with a 95%
//! confidence interval.
//!
//! Small groups (both together up to [`BOOTSTRAP_LIMIT`] people) get a
//! percentile bootstrap: 2,000 resamples of each group drawn from a
//! generator seeded by what is compared, so the same ledger and data give
//! the same report every time. Larger groups get the normal approximation
//! (Welch's standard error), which a bootstrap would only reproduce more
//! slowly at that size. Below [`MIN_GROUP`] people in either group nothing
//! is concluded.

use serde::Serialize;

use crate::generate::rng::Rng;

/// Fewer people than this in a group: too few to conclude anything.
pub const MIN_GROUP: usize = 30;
/// Up to this many people in both groups together, the bootstrap is used.
pub const BOOTSTRAP_LIMIT: usize = 20_000;
const RESAMPLES: usize = 2_000;

/// `treated` mean minus `control` mean, with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Difference {
    pub difference: f64,
    pub low: f64,
    pub high: f64,
    /// How likely `treated` is truly ahead (share of resamples, or the
    /// normal approximation's probability), 0–1.
    pub confidence_ahead: f64,
    /// `bootstrap` or `normal`.
    pub method: &'static str,
}

impl Difference {
    /// The interval excludes zero.
    pub fn significant(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

/// The difference of means with its interval, or None when either group
/// has fewer than [`MIN_GROUP`] values.
pub fn difference(treated: &[f64], control: &[f64], seed: &str) -> Option<Difference> {
    if treated.len() < MIN_GROUP || control.len() < MIN_GROUP {
        return None;
    }
    let difference = mean(treated) - mean(control);
    if treated.len() + control.len() <= BOOTSTRAP_LIMIT {
        let mut rng = Rng::new(seed_of(seed), 0);
        let mut draws: Vec<f64> = (0..RESAMPLES)
            .map(|_| resampled_mean(treated, &mut rng) - resampled_mean(control, &mut rng))
            .collect();
        draws.sort_by(f64::total_cmp);
        let ahead = draws.iter().filter(|d| **d > 0.0).count() as f64 / RESAMPLES as f64;
        Some(Difference {
            difference,
            low: draws[RESAMPLES * 25 / 1000],
            high: draws[RESAMPLES * 975 / 1000 - 1],
            confidence_ahead: ahead,
            method: "bootstrap",
        })
    } else {
        let error = (variance(treated) / treated.len() as f64
            + variance(control) / control.len() as f64)
            .sqrt();
        let confidence_ahead = if error > 0.0 {
            normal_cdf(difference / error)
        } else if difference > 0.0 {
            1.0
        } else {
            0.0
        };
        Some(Difference {
            difference,
            low: difference - 1.96 * error,
            high: difference + 1.96 * error,
            confidence_ahead,
            method: "normal",
        })
    }
}

pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

fn variance(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean(values);
    values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (values.len() - 1) as f64
}

fn resampled_mean(values: &[f64], rng: &mut Rng) -> f64 {
    let n = values.len() as u64;
    (0..n).map(|_| values[rng.below(n) as usize]).sum::<f64>() / n as f64
}

fn seed_of(text: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Φ(x), from the error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
pub fn normal_cdf(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    let erf = if z >= 0.0 { erf } else { -erf };
    0.5 * (1.0 + erf)
}

/// The value at quantile `q` (0–1) of sorted values, by linear interpolation.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    match sorted.len() {
        0 => None,
        n => {
            let position = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let below = position.floor() as usize;
            let above = position.ceil() as usize;
            let weight = position - below as f64;
            Some(sorted[below] * (1.0 - weight) + sorted[above] * weight)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_difference_is_inside_the_interval_and_significant() {
        let treated: Vec<f64> = (0..500)
            .map(|i| if i % 10 < 3 { 1.0 } else { 0.0 })
            .collect();
        let control: Vec<f64> = (0..500)
            .map(|i| if i % 10 < 1 { 1.0 } else { 0.0 })
            .collect();
        let d = difference(&treated, &control, "t").unwrap();
        assert!((d.difference - 0.2).abs() < 1e-9);
        assert!(d.low < 0.2 && 0.2 < d.high && d.significant(), "{d:?}");
        assert!(d.confidence_ahead > 0.99);
        assert_eq!(d.method, "bootstrap");
    }

    #[test]
    fn equal_groups_are_not_significant_and_the_seed_makes_it_reproducible() {
        let values: Vec<f64> = (0..400).map(|i| (i % 7) as f64).collect();
        let a = difference(&values, &values, "same").unwrap();
        assert!(!a.significant(), "{a:?}");
        assert_eq!(a, difference(&values, &values, "same").unwrap());
    }

    #[test]
    fn large_groups_use_the_normal_approximation() {
        let treated: Vec<f64> = (0..30_000).map(|i| (i % 3) as f64).collect();
        let control: Vec<f64> = (0..30_000).map(|i| (i % 2) as f64).collect();
        let d = difference(&treated, &control, "big").unwrap();
        assert_eq!(d.method, "normal");
        assert!(d.significant() && d.low < 0.5 && 0.5 < d.high, "{d:?}");
    }

    #[test]
    fn small_groups_conclude_nothing() {
        assert!(difference(&[1.0; 29], &[0.0; 100], "s").is_none());
    }

    #[test]
    fn normal_cdf_and_quantiles() {
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
