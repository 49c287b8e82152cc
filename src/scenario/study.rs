//! A library scenario's study (issue 8): the question it answers, the finding in plain words with its
//! numbers filled in from the sweep on every run (so the text never goes stale), the claims across
//! parameter points that must hold (checked like expectations), and the metrics to plot.
//!
//! Placeholders in `finding`: `{seeds}` (the seed range, e.g. `1..=5`), `{runs}`, and
//! `{METRIC@POINT}`, the mean of a metric over the point's seeds (`{p99_latency_ms@consumers[0].count=8}`;
//! `POINT` is a sweep point label as the sweep report prints it, `default` when nothing is swept).
//! A claim is `SIDE OP SIDE` with spaces around OP (`<`, `<=`, `==`, `!=`, `>=`, `>`), each side a
//! `METRIC@POINT` mean or a number: `"p99_latency_ms@consumers[0].count=16 < p99_latency_ms@consumers[0].count=2"`.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::expectations::{Comparison, METRICS};

/// The study of a library scenario.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Study {
    /// The question, in plain words.
    pub question: String,
    /// What the numbers say, with `{seeds}`, `{runs}` and `{METRIC@POINT}` placeholders.
    pub finding: String,
    /// Comparisons across points that must hold (`METRIC@POINT OP METRIC@POINT`, or a number on a side).
    #[serde(default)]
    pub claims: Vec<String>,
    /// Metrics to plot per point (bar charts), e.g. `["p99_latency_ms", "duplicates"]`.
    #[serde(default)]
    pub plots: Vec<String>,
}

/// One side of a claim, or a placeholder: a metric's mean at a point.
#[derive(Clone, Debug, PartialEq)]
pub struct PointMetric {
    /// A name from [`METRICS`].
    pub metric: String,
    /// A point label.
    pub point: String,
}

impl fmt::Display for PointMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.metric, self.point)
    }
}

/// A side of a claim.
#[derive(Clone, Debug, PartialEq)]
pub enum ClaimSide {
    /// A metric's mean at a point.
    Measured(PointMetric),
    /// A constant.
    Number(f64),
}

/// A parsed claim.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// Left side.
    pub left: ClaimSide,
    /// The comparison.
    pub comparison: Comparison,
    /// Right side.
    pub right: ClaimSide,
}

/// Means of every measured metric per point label, over that point's seeds.
pub type PointMeans = BTreeMap<String, BTreeMap<String, f64>>;

/// Parses `METRIC@POINT`, checking the metric name and that the point exists.
pub fn parse_point_metric(text: &str, points: &[String]) -> Result<PointMetric, String> {
    let (metric, point) = text.trim().split_once('@').ok_or_else(|| {
        format!("`{text}` is not METRIC@POINT (e.g. `p99_latency_ms@consumers[0].count=8`)")
    })?;
    let metric = metric.trim();
    if !METRICS.contains(&metric) {
        return Err(format!(
            "unknown metric `{metric}` in `{text}`; metrics: {}",
            METRICS.join(", ")
        ));
    }
    let point = point.trim();
    if !points.iter().any(|known| known == point) {
        return Err(format!(
            "unknown point `{point}` in `{text}`; the sweep's points are: {}",
            points.join("; ")
        ));
    }
    Ok(PointMetric {
        metric: metric.to_string(),
        point: point.to_string(),
    })
}

/// Parses a claim against the sweep's point labels.
pub fn parse_claim(text: &str, points: &[String]) -> Result<Claim, String> {
    // Longest operators first, so ` <= ` is not read as ` < `.
    let operators = [
        (" <= ", Comparison::LessOrEqual),
        (" >= ", Comparison::GreaterOrEqual),
        (" == ", Comparison::Equal),
        (" != ", Comparison::NotEqual),
        (" < ", Comparison::Less),
        (" > ", Comparison::Greater),
    ];
    let (at, symbol, comparison) = operators
        .iter()
        .filter_map(|(symbol, comparison)| text.find(symbol).map(|at| (at, *symbol, *comparison)))
        .min_by_key(|(at, symbol, _)| (*at, std::cmp::Reverse(symbol.len())))
        .ok_or_else(|| {
            format!("`{text}` has no comparison; write `SIDE OP SIDE` with spaces around OP")
        })?;
    let side = |part: &str| -> Result<ClaimSide, String> {
        match part.trim().parse::<f64>() {
            Ok(number) if number.is_finite() => Ok(ClaimSide::Number(number)),
            _ => parse_point_metric(part, points).map(ClaimSide::Measured),
        }
    };
    Ok(Claim {
        left: side(&text[..at])?,
        comparison,
        right: side(&text[at + symbol.len()..])?,
    })
}

/// The `{...}` placeholders of a finding, in order, as written (without braces).
pub fn placeholders(finding: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = finding;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("unclosed `{{` in the finding at `{}`", &rest[open..]))?;
        found.push(&after[..close]);
        rest = &after[close + 1..];
    }
    Ok(found)
}

/// Checks every placeholder of a finding against the points.
pub fn check_finding(finding: &str, points: &[String]) -> Result<(), String> {
    for placeholder in placeholders(finding)? {
        if placeholder != "seeds" && placeholder != "runs" {
            parse_point_metric(placeholder, points)?;
        }
    }
    Ok(())
}

/// A number as findings and claims print it: integers plainly, others to one decimal.
pub fn format_mean(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// The value of a side, if measured.
pub fn side_value(side: &ClaimSide, means: &PointMeans) -> Option<f64> {
    match side {
        ClaimSide::Number(number) => Some(*number),
        ClaimSide::Measured(at) => means.get(&at.point)?.get(&at.metric).copied(),
    }
}

/// The finding with its placeholders filled; a metric no run measured reads `n/a`.
pub fn fill_finding(
    finding: &str,
    seeds: &str,
    runs: usize,
    means: &PointMeans,
    points: &[String],
) -> String {
    let mut text = String::new();
    let mut rest = finding;
    while let Some(open) = rest.find('{') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            break;
        };
        let placeholder = &after[..close];
        let value = match placeholder {
            "seeds" => seeds.to_string(),
            "runs" => runs.to_string(),
            _ => parse_point_metric(placeholder, points)
                .ok()
                .and_then(|at| side_value(&ClaimSide::Measured(at), means))
                .map_or("n/a".to_string(), format_mean),
        };
        text.push_str(&value);
        rest = &after[close + 1..];
    }
    text.push_str(rest);
    text
}

/// A claim's verdict and the numbers behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClaimResult {
    /// The claim as written.
    pub claim: String,
    /// Whether it holds (false when a side was not measured).
    pub holds: bool,
    /// The numbers, e.g. `332 < 120000`.
    pub found: String,
}

/// Evaluates a claim on the sweep's means.
pub fn evaluate_claim(text: &str, points: &[String], means: &PointMeans) -> ClaimResult {
    let claim = match parse_claim(text, points) {
        Ok(claim) => claim,
        Err(problem) => {
            return ClaimResult {
                claim: text.to_string(),
                holds: false,
                found: problem,
            }
        }
    };
    let left = side_value(&claim.left, means);
    let right = side_value(&claim.right, means);
    let show = |value: Option<f64>| value.map_or("n/a".to_string(), format_mean);
    ClaimResult {
        claim: text.to_string(),
        holds: matches!((left, right), (Some(l), Some(r)) if claim.comparison.holds(l, r)),
        found: format!(
            "{} {} {}",
            show(left),
            claim.comparison.symbol(),
            show(right)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points() -> Vec<String> {
        vec![
            "consumers[0].count=1".to_string(),
            "consumers[0].count=8".to_string(),
        ]
    }

    fn means() -> PointMeans {
        let mut means = PointMeans::new();
        means.insert(
            "consumers[0].count=1".into(),
            BTreeMap::from([("p99_latency_ms".to_string(), 900.0)]),
        );
        means.insert(
            "consumers[0].count=8".into(),
            BTreeMap::from([("p99_latency_ms".to_string(), 120.25)]),
        );
        means
    }

    /// A finding's placeholders are filled with the point means, rounded for reading.
    #[test]
    fn fills_a_finding() {
        let text =
            "Over seeds {seeds} ({runs} runs) p99 fell from {p99_latency_ms@consumers[0].count=1} \
                    to {p99_latency_ms@consumers[0].count=8} ms.";
        assert_eq!(check_finding(text, &points()), Ok(()));
        assert_eq!(
            fill_finding(text, "1..=5", 10, &means(), &points()),
            "Over seeds 1..=5 (10 runs) p99 fell from 900 to 120.3 ms."
        );
    }

    /// Claims compare point means; a false one says which numbers made it false.
    #[test]
    fn evaluates_claims() {
        let holds = evaluate_claim(
            "p99_latency_ms@consumers[0].count=8 < p99_latency_ms@consumers[0].count=1",
            &points(),
            &means(),
        );
        assert!(holds.holds, "{holds:?}");
        assert_eq!(holds.found, "120.3 < 900");
        let fails = evaluate_claim(
            "p99_latency_ms@consumers[0].count=8 >= 200",
            &points(),
            &means(),
        );
        assert!(!fails.holds);
        assert_eq!(fails.found, "120.3 >= 200");
    }

    /// Bad placeholders and claims name the problem and what would be valid.
    #[test]
    fn rejects_unknown_points_metrics_and_forms() {
        let unknown_point = check_finding("{p99_latency_ms@consumers[0].count=3}", &points());
        assert!(unknown_point
            .unwrap_err()
            .contains("consumers[0].count=1; consumers[0].count=8"));
        let unknown_metric = parse_claim("p98@consumers[0].count=1 < 5", &points());
        assert!(unknown_metric.unwrap_err().contains("unknown metric `p98`"));
        assert!(parse_claim("duplicates@default<5", &points()).is_err());
        assert!(check_finding("open {brace", &points()).is_err());
    }
}
