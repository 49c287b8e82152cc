//! Node references in fault events and clocks: `broker:2`, `controller`, `producer:0`, `consumer:1`
//! (every instance of consumer entry 1) or `consumer:1/3` (its instance 3).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A simulated node named in a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeRef {
    /// Broker `id` (1-based).
    Broker(u32),
    /// The dedicated controller (or the broker that hosts it).
    Controller,
    /// Entry `index` (0-based) of `producers`.
    Producer(usize),
    /// Entry `entry` of `consumers`; one instance, or all of them when `instance` is `None`.
    Consumer {
        /// Index in `consumers`.
        entry: usize,
        /// Instance within the entry (0-based).
        instance: Option<u32>,
    },
}

/// The accepted forms, for error messages.
pub const NODE_REF_FORMS: &str =
    "`broker:N`, `controller`, `producer:I`, `consumer:I` or `consumer:I/J`";

impl FromStr for NodeRef {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid node `{text}`: expected {NODE_REF_FORMS}");
        if text == "controller" {
            return Ok(NodeRef::Controller);
        }
        let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
        match kind {
            "broker" => rest.parse().map(NodeRef::Broker).map_err(|_| bad()),
            "producer" => rest.parse().map(NodeRef::Producer).map_err(|_| bad()),
            "consumer" => match rest.split_once('/') {
                Some((entry, instance)) => Ok(NodeRef::Consumer {
                    entry: entry.parse().map_err(|_| bad())?,
                    instance: Some(instance.parse().map_err(|_| bad())?),
                }),
                None => Ok(NodeRef::Consumer {
                    entry: rest.parse().map_err(|_| bad())?,
                    instance: None,
                }),
            },
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRef::Broker(id) => write!(f, "broker:{id}"),
            NodeRef::Controller => f.write_str("controller"),
            NodeRef::Producer(index) => write!(f, "producer:{index}"),
            NodeRef::Consumer {
                entry,
                instance: None,
            } => write!(f, "consumer:{entry}"),
            NodeRef::Consumer {
                entry,
                instance: Some(instance),
            } => write!(f, "consumer:{entry}/{instance}"),
        }
    }
}

impl<'de> Deserialize<'de> for NodeRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for NodeRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for NodeRef {
    fn schema_name() -> Cow<'static, str> {
        "NodeRef".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A node: broker:N, controller, producer:I, consumer:I or consumer:I/J.",
            "type": "string",
            "pattern": "^(controller|broker:[0-9]+|producer:[0-9]+|consumer:[0-9]+(/[0-9]+)?)$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every form parses and prints back the same.
    #[test]
    fn node_refs_round_trip() {
        for text in [
            "broker:2",
            "controller",
            "producer:0",
            "consumer:1",
            "consumer:1/3",
        ] {
            let node: NodeRef = text.parse().expect(text);
            assert_eq!(node.to_string(), text);
        }
        assert!("broker".parse::<NodeRef>().is_err());
        assert!("broker:x".parse::<NodeRef>().is_err());
        assert!("disk:1".parse::<NodeRef>().is_err());
    }
}
