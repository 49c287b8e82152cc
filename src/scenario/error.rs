//! [`ScenarioError`]: the one error a bad scenario file gets. It prints as
//! `file:line:column: path: message` with an optional `hint:` line below.

use std::fmt;

use super::path::FieldPath;

/// What kind of mistake a scenario file contains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScenarioErrorKind {
    /// The file could not be read.
    Io,
    /// The bytes are not UTF-8.
    Encoding,
    /// The text is not JSON.
    Syntax,
    /// A key appears twice in one object.
    DuplicateKey,
    /// A field the format does not have.
    UnknownField,
    /// A required field is absent.
    MissingField,
    /// A value of the wrong JSON type, or an unknown enum value.
    InvalidType,
    /// A config name Kafka does not have (or not in that scope).
    UnknownConfig,
    /// A config or field value outside what is allowed.
    InvalidValue,
    /// A name that refers to nothing declared (a topic, a group, a broker).
    UnknownReference,
    /// A sweep key path or `--vary` argument that does not apply.
    InvalidSweep,
}

/// A bad scenario file: where, which field, what is wrong, what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file name as given to the parser.
    pub file: String,
    /// 1-based line of the offending value (or key).
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The field path of the offending value; the root for syntax errors.
    pub path: FieldPath,
    /// The kind of mistake.
    pub kind: ScenarioErrorKind,
    /// What is wrong, and what is allowed.
    pub message: String,
    /// A suggestion (the nearest valid name, the allowed values).
    pub hint: Option<String>,
}

impl ScenarioError {
    /// The first line of the display: `file:line:column: path: message`.
    pub fn headline(&self) -> String {
        if self.path.is_root() {
            format!(
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        } else {
            format!(
                "{}:{}:{}: {}: {}",
                self.file, self.line, self.column, self.path, self.message
            )
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.headline())?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// An error found before positions are known: a path, a kind, a message and a hint. The parser turns it
/// into a [`ScenarioError`] by looking the path up in the file's position index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The offending value's path.
    pub path: FieldPath,
    /// Point at the key rather than the value (unknown keys and config names).
    pub at_key: bool,
    /// The kind of mistake.
    pub kind: ScenarioErrorKind,
    /// What is wrong, and what is allowed.
    pub message: String,
    /// A suggestion.
    pub hint: Option<String>,
}

impl FieldError {
    /// An error about the value at `path`.
    pub fn new(path: FieldPath, kind: ScenarioErrorKind, message: impl Into<String>) -> FieldError {
        FieldError {
            path,
            at_key: false,
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// Points the error at the member's key instead of its value.
    pub fn at_key(mut self) -> FieldError {
        self.at_key = true;
        self
    }

    /// Adds a hint line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> FieldError {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a hint line if there is one.
    pub fn with_optional_hint(mut self, hint: Option<String>) -> FieldError {
        self.hint = hint;
        self
    }
}
