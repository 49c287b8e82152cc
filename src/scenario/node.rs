//! Node references in fault events and clocks: `broker:2`, `controller`, `producer:0`, `consumer:1`
//! (every instance of consumer entry 1) or `consumer:1/3` (its instance 3).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sharesim_sim::faults::FaultNode;

/// A simulated node named in a scenario: the simulator's [`FaultNode`] (whose `FromStr` and `Display`
/// are the one spelling of node references), with the scenario file's serde and JSON Schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeRef(pub FaultNode);

/// The accepted forms, for error messages.
pub const NODE_REF_FORMS: &str = sharesim_sim::faults::FAULT_NODE_FORMS;

impl FromStr for NodeRef {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse().map(NodeRef)
    }
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
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
