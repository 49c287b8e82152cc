//! Expectations: which oracle invariants must hold, which must be violated (a known-bug scenario), and
//! bounds on metrics such as `duplicates <= 10`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::nearest::{did_you_mean, quoted_list};

/// An oracle invariant, by the code of the design's oracle table.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Invariant {
    /// Every committed record is delivered and then acknowledged or archived.
    #[serde(rename = "NO-LOSS")]
    NoLoss,
    /// A record is held by at most one member at a time.
    #[serde(rename = "EXCLUSIVE")]
    Exclusive,
    /// ACKNOWLEDGED or ARCHIVED records are never deliverable again within a state epoch.
    #[serde(rename = "TERMINAL-FINAL")]
    TerminalFinal,
    /// No record is delivered more often than the delivery-count limit allows.
    #[serde(rename = "DC-LIMIT")]
    DcLimit,
    /// SPSO never moves backwards nor past records whose terminal state is not durable.
    #[serde(rename = "SPSO-SAFE")]
    SpsoSafe,
    /// With faults healed, everything converges within the liveness bound.
    #[serde(rename = "LIVENESS")]
    Liveness,
    /// Acks, releases and session cleanup touch only their member's records.
    #[serde(rename = "OWNER")]
    Owner,
    /// Acknowledged state changes survive failover.
    #[serde(rename = "DURABLE")]
    Durable,
    /// Stale leader or state epochs are rejected.
    #[serde(rename = "FENCING")]
    Fencing,
    /// In-flight records stay within `group.share.partition.max.record.locks`.
    #[serde(rename = "INFLIGHT-CAP")]
    InflightCap,
    /// Cached batches never overlap; no response hands out an offset twice.
    #[serde(rename = "BATCH-WF")]
    BatchWf,
    /// Every acknowledgement has exactly one outcome, reported once.
    #[serde(rename = "ACK-OUTCOME")]
    AckOutcome,
    /// Dead members leave, live members can rejoin, assignments converge.
    #[serde(rename = "MEMBERSHIP")]
    Membership,
}

impl Invariant {
    /// Every invariant, in the oracle table's order.
    pub const ALL: [Invariant; 13] = [
        Invariant::NoLoss,
        Invariant::Exclusive,
        Invariant::TerminalFinal,
        Invariant::DcLimit,
        Invariant::SpsoSafe,
        Invariant::Liveness,
        Invariant::Owner,
        Invariant::Durable,
        Invariant::Fencing,
        Invariant::InflightCap,
        Invariant::BatchWf,
        Invariant::AckOutcome,
        Invariant::Membership,
    ];

    /// The code, e.g. `NO-LOSS`.
    pub fn code(self) -> &'static str {
        match self {
            Invariant::NoLoss => "NO-LOSS",
            Invariant::Exclusive => "EXCLUSIVE",
            Invariant::TerminalFinal => "TERMINAL-FINAL",
            Invariant::DcLimit => "DC-LIMIT",
            Invariant::SpsoSafe => "SPSO-SAFE",
            Invariant::Liveness => "LIVENESS",
            Invariant::Owner => "OWNER",
            Invariant::Durable => "DURABLE",
            Invariant::Fencing => "FENCING",
            Invariant::InflightCap => "INFLIGHT-CAP",
            Invariant::BatchWf => "BATCH-WF",
            Invariant::AckOutcome => "ACK-OUTCOME",
            Invariant::Membership => "MEMBERSHIP",
        }
    }
}

/// The invariants that must hold: `"all"` (the default) or a list of codes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum InvariantSet {
    /// Every invariant.
    #[default]
    All,
    /// Only these.
    Only(Vec<Invariant>),
}

impl InvariantSet {
    /// Whether `invariant` is in the set.
    pub fn contains(&self, invariant: Invariant) -> bool {
        match self {
            InvariantSet::All => true,
            InvariantSet::Only(list) => list.contains(&invariant),
        }
    }
}

impl<'de> Deserialize<'de> for InvariantSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            List(Vec<serde_json::Value>),
        }
        use serde::de::Error;
        let expected = "`\"all\"` or a list of invariant codes";
        match Raw::deserialize(deserializer)
            .map_err(|_| D::Error::custom(format!("expected {expected}")))?
        {
            Raw::Word(word) if word == "all" => Ok(InvariantSet::All),
            Raw::Word(word) => Err(D::Error::custom(format!(
                "invalid value `{word}`: expected {expected}"
            ))),
            Raw::List(items) => items
                .into_iter()
                .map(|item| Invariant::deserialize(item).map_err(D::Error::custom))
                .collect::<Result<Vec<_>, _>>()
                .map(InvariantSet::Only),
        }
    }
}

impl Serialize for InvariantSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            InvariantSet::All => serializer.serialize_str("all"),
            InvariantSet::Only(list) => list.serialize(serializer),
        }
    }
}

impl JsonSchema for InvariantSet {
    fn schema_name() -> Cow<'static, str> {
        "InvariantSet".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<Invariant>();
        json_schema!({
            "description": "\"all\" or a list of invariant codes.",
            "oneOf": [
                {"type": "string", "enum": ["all"]},
                {"type": "array", "items": item}
            ]
        })
    }
}

/// Metrics a bound may name. The runner and the reports compute each of them.
pub const METRICS: &[&str] = &[
    // Set only when a transactional batch was produced (`runner::transaction_metrics`).
    "aborted_archived",
    "aborted_delivered",
    "acknowledged",
    "archived",
    // The classic groups' side of a share-versus-classic comparison (`runner::classic_metrics`); set
    // only when the run has classic consumers.
    "classic.duplicates",
    "classic.max_latency_ms",
    "classic.p50_latency_ms",
    "classic.p99_latency_ms",
    "classic.records_processed",
    "classic.time_to_drain_ms",
    "deliveries",
    "delivery_count_limit_exceeded",
    "duplicates",
    "lock_expiries",
    "max_delivery_count",
    "max_latency_ms",
    // Set only when an `offset_reset` was answered (`runner::admin_metrics`).
    "offset_resets_done",
    "offset_resets_rejected",
    "out_of_order",
    "p50_latency_ms",
    "p99_latency_ms",
    "records_consumed",
    "records_produced",
    "redeliveries",
    "rejected",
    "released",
    "time_to_drain_ms",
];

/// A comparison in a metric bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `>=`
    GreaterOrEqual,
    /// `>`
    Greater,
}

impl Comparison {
    const ALL: [(&'static str, Comparison); 6] = [
        ("<=", Comparison::LessOrEqual),
        (">=", Comparison::GreaterOrEqual),
        ("==", Comparison::Equal),
        ("!=", Comparison::NotEqual),
        ("<", Comparison::Less),
        (">", Comparison::Greater),
    ];

    /// The operator text.
    pub fn symbol(self) -> &'static str {
        Comparison::ALL
            .iter()
            .find(|(_, comparison)| *comparison == self)
            .map_or("?", |(symbol, _)| symbol)
    }

    /// Whether `left <op> right`.
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Comparison::Less => left < right,
            Comparison::LessOrEqual => left <= right,
            Comparison::Equal => left == right,
            Comparison::NotEqual => left != right,
            Comparison::GreaterOrEqual => left >= right,
            Comparison::Greater => left > right,
        }
    }
}

/// A bound on a metric, written `"duplicates <= 10"`.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricBound {
    /// A name from [`METRICS`].
    pub metric: String,
    /// The comparison.
    pub comparison: Comparison,
    /// The bound.
    pub value: f64,
}

impl MetricBound {
    /// Whether a measured value satisfies the bound.
    pub fn holds(&self, measured: f64) -> bool {
        self.comparison.holds(measured, self.value)
    }
}

impl FromStr for MetricBound {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let form = "expected `METRIC OP NUMBER` with OP one of <, <=, ==, !=, >=, > \
                    (e.g. `duplicates <= 10`)";
        let (position, symbol, comparison) = Comparison::ALL
            .iter()
            .filter_map(|(symbol, comparison)| {
                text.find(symbol).map(|at| (at, *symbol, *comparison))
            })
            .min_by_key(|(at, symbol, _)| (*at, std::cmp::Reverse(symbol.len())))
            .ok_or_else(|| format!("invalid metric bound `{text}`: {form}"))?;
        let metric = text[..position].trim();
        let number = text[position + symbol.len()..].trim();
        if !METRICS.contains(&metric) {
            let hint = did_you_mean(metric, METRICS.iter().copied())
                .unwrap_or_else(|| format!("metrics: {}", quoted_list(METRICS.iter().copied())));
            return Err(format!("unknown metric `{metric}` in `{text}`; {hint}"));
        }
        let value: f64 = number
            .parse()
            .ok()
            .filter(|value: &f64| value.is_finite())
            .ok_or_else(|| {
                format!("invalid metric bound `{text}`: `{number}` is not a number; {form}")
            })?;
        Ok(MetricBound {
            metric: metric.to_string(),
            comparison,
            value,
        })
    }
}

impl fmt::Display for MetricBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.metric,
            self.comparison.symbol(),
            self.value
        )
    }
}

impl<'de> Deserialize<'de> for MetricBound {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for MetricBound {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for MetricBound {
    fn schema_name() -> Cow<'static, str> {
        "MetricBound".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let alternatives = METRICS.join("|");
        json_schema!({
            "description": "A metric bound such as \"duplicates <= 10\".",
            "type": "string",
            "pattern": format!("^\\s*({alternatives})\\s*(<=|>=|==|!=|<|>)\\s*-?[0-9]+(\\.[0-9]+)?\\s*$")
        })
    }
}

/// What must be true after a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Invariants that must hold (default `"all"`).
    #[serde(default)]
    pub hold: InvariantSet,
    /// Invariants that must be violated at least once: a known-bug or mutation scenario. They are
    /// excluded from `hold`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violated: Vec<Invariant>,
    /// Metric bounds, e.g. `["duplicates <= 10", "archived == 3", "p99_latency_ms < 5000"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricBound>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bounds parse with every operator, longest operator first.
    #[test]
    fn metric_bounds_parse() {
        let bound: MetricBound = "duplicates <= 10".parse().unwrap();
        assert_eq!(bound.comparison, Comparison::LessOrEqual);
        assert_eq!(bound.value, 10.0);
        assert!(bound.holds(10.0) && !bound.holds(11.0));
        let bound: MetricBound = "p99_latency_ms<5000".parse().unwrap();
        assert_eq!(
            (bound.metric.as_str(), bound.comparison),
            ("p99_latency_ms", Comparison::Less)
        );
        assert_eq!(bound.to_string(), "p99_latency_ms < 5000");
        assert!("archived = 3".parse::<MetricBound>().is_err());
        assert_eq!(
            "duplicate <= 1".parse::<MetricBound>().unwrap_err(),
            "unknown metric `duplicate` in `duplicate <= 1`; did you mean `duplicates`?"
        );
    }

    /// Codes round-trip through serde.
    #[test]
    fn invariant_codes_match_serde() {
        for invariant in Invariant::ALL {
            let json = serde_json::to_value(invariant).unwrap();
            assert_eq!(
                json,
                serde_json::Value::String(invariant.code().to_string())
            );
        }
    }
}
