//! Field paths inside a scenario file, printed the way a reader finds them:
//! `groups[1].configs."share.record.lock.duration.ms"`.

use std::fmt;

/// One step of a [`FieldPath`]: an object key or an array index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathSegment {
    /// A key of a JSON object.
    Key(String),
    /// An index into a JSON array.
    Index(usize),
}

/// A path from the root of a scenario file to one value. The empty path is the root.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath {
    /// The steps, outermost first.
    pub segments: Vec<PathSegment>,
}

impl FieldPath {
    /// The root of the document.
    pub fn root() -> FieldPath {
        FieldPath::default()
    }

    /// This path extended by an object key.
    pub fn key(&self, key: &str) -> FieldPath {
        let mut path = self.clone();
        path.segments.push(PathSegment::Key(key.to_string()));
        path
    }

    /// This path extended by an array index.
    pub fn index(&self, index: usize) -> FieldPath {
        let mut path = self.clone();
        path.segments.push(PathSegment::Index(index));
        path
    }

    /// The path without its last segment (the root stays the root).
    pub fn parent(&self) -> FieldPath {
        let mut path = self.clone();
        path.segments.pop();
        path
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// Converts a path reported by `serde_path_to_error`.
    pub fn from_serde(path: &serde_path_to_error::Path) -> FieldPath {
        use serde_path_to_error::Segment;
        let segments = path
            .iter()
            .filter_map(|segment| match segment {
                Segment::Seq { index } => Some(PathSegment::Index(*index)),
                Segment::Map { key } => Some(PathSegment::Key(key.clone())),
                Segment::Enum { variant } => Some(PathSegment::Key(variant.clone())),
                Segment::Unknown => None,
            })
            .collect();
        FieldPath { segments }
    }
}

/// Whether a key prints bare (`cluster`) rather than quoted (`"retention.ms"`).
fn is_bare_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("(root)");
        }
        for (position, segment) in self.segments.iter().enumerate() {
            match segment {
                PathSegment::Index(index) => write!(f, "[{index}]")?,
                PathSegment::Key(key) => {
                    if position > 0 {
                        f.write_str(".")?;
                    }
                    if is_bare_key(key) {
                        f.write_str(key)?;
                    } else {
                        // Debug quoting escapes quotes and control characters in the key.
                        write!(f, "{key:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths print with bare identifiers, quoted config names and bracketed indexes.
    #[test]
    fn display_quotes_dotted_keys() {
        let path = FieldPath::root()
            .key("groups")
            .index(1)
            .key("configs")
            .key("share.record.lock.duration.ms");
        assert_eq!(
            path.to_string(),
            r#"groups[1].configs."share.record.lock.duration.ms""#
        );
        assert_eq!(FieldPath::root().to_string(), "(root)");
        assert_eq!(FieldPath::root().index(0).to_string(), "[0]");
    }
}
