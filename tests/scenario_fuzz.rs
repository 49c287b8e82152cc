//! Malformed scenario files never panic the parser: random bytes, truncated, character-flipped,
//! range-deleted and value-swapped versions of the example files all give `Ok` or a `ScenarioError`
//! whose line and column lie inside the file (design principle 6).

use proptest::prelude::*;
use sharesim::scenario::ScenarioFile;

const EXAMPLES: [&str; 4] = [
    include_str!("../scenarios/quickstart.json"),
    include_str!("../scenarios/head_of_line.json"),
    include_str!("../scenarios/swarm.json"),
    include_str!("../scenarios/minimal.json"),
];

/// Parses `bytes` and checks that any error points inside the text.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let result = std::panic::catch_unwind(|| ScenarioFile::parse_bytes("fuzz.json", bytes));
    let outcome = result.map_err(|_| TestCaseError::fail("the parser panicked"))?;
    if let Err(error) = outcome {
        let text = String::from_utf8_lossy(bytes);
        let lines: Vec<&str> = text.split('\n').collect();
        prop_assert!(
            error.line >= 1 && error.line <= lines.len(),
            "line {} of {}: {error}",
            error.line,
            lines.len()
        );
        let width = lines[error.line - 1].chars().count();
        prop_assert!(
            error.column >= 1 && error.column <= width + 1,
            "column {} of {width}: {error}",
            error.column
        );
        prop_assert!(error.to_string().starts_with("fuzz.json:"), "{error}");
    }
    Ok(())
}

/// Replacement material: JSON-ish tokens that make interesting mistakes.
const TOKENS: &[&str] = &[
    "",
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "true",
    "-1",
    "1e400",
    "18446744073709551616",
    "0.5",
    "\"x\"",
    "\"kind\"",
    "\"broker:9\"",
    "\u{e9}",
    "\\u0000",
    "\"share.record.lock.duration.ms\"",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Random bytes.
    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check(&bytes)?;
    }

    /// A valid file cut short anywhere.
    #[test]
    fn truncated(example in 0..EXAMPLES.len(), cut in 0.0f64..1.0) {
        let bytes = EXAMPLES[example].as_bytes();
        check(&bytes[..(bytes.len() as f64 * cut) as usize])?;
    }

    /// Flipped bytes, deleted ranges and inserted tokens, several at once.
    #[test]
    fn mutated(
        example in 0..EXAMPLES.len(),
        edits in proptest::collection::vec(
            (0u8..3, 0.0f64..1.0, 0usize..40, 0..TOKENS.len(), any::<u8>()),
            1..6,
        ),
    ) {
        let mut bytes = EXAMPLES[example].as_bytes().to_vec();
        for (kind, at, length, token, byte) in edits {
            let position = ((bytes.len() as f64) * at) as usize;
            match kind {
                0 => if position < bytes.len() { bytes[position] = byte },
                1 => { let end = (position + length).min(bytes.len()); bytes.drain(position..end); }
                _ => { bytes.splice(position..position, TOKENS[token].bytes()); }
            }
        }
        check(&bytes)?;
    }

    /// Values swapped between two places of a valid document: type and reference errors, not syntax.
    #[test]
    fn swapped_values(
        example in 0..EXAMPLES.len(),
        first in any::<prop::sample::Index>(),
        second in any::<prop::sample::Index>(),
    ) {
        let text = EXAMPLES[example];
        // Spans of scalar values: after a `:` up to the next `,` `}` or newline.
        let spans: Vec<(usize, usize)> = text
            .match_indices(": ")
            .map(|(at, _)| {
                let start = at + 2;
                let end = text[start..].find([',', '}', '\n', ']']).map_or(text.len(), |e| start + e);
                (start, end)
            })
            .filter(|(start, end)| end > start && !text[*start..*end].contains(['{', '[']))
            .collect();
        prop_assume!(spans.len() >= 2);
        let (a, b) = (first.get(&spans), second.get(&spans));
        prop_assume!(a != b);
        let (low, high) = if a.0 < b.0 { (*a, *b) } else { (*b, *a) };
        // Spans found inside a string value (": " in a description) may overlap.
        prop_assume!(high.0 >= low.1);
        let swapped = format!(
            "{}{}{}{}{}",
            &text[..low.0],
            &text[high.0..high.1],
            &text[low.1..high.0],
            &text[low.0..low.1],
            &text[high.1..]
        );
        check(swapped.as_bytes())?;
    }
}

/// Deep nesting is refused with an error, not a stack overflow.
#[test]
fn deep_nesting() {
    let text = format!(
        "{{\"sweep\": {{\"a\": [{}{}]}}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let error = ScenarioFile::parse("deep.json", &text).unwrap_err();
    assert_eq!(error.line, 1);
}
