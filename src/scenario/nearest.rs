//! Nearest-name suggestions ("did you mean `share.record.lock.duration.ms`?") by edit distance.

/// Levenshtein distance between two strings, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b_chars: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b_chars.len()).collect();
    let mut current = vec![0; b_chars.len() + 1];
    for (i, a_char) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, b_char) in b_chars.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != *b_char);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b_chars.len()]
}

/// The candidate closest to `name` (ties go to the earlier candidate), if it is close enough to be a
/// plausible typo: within a third of the longer name's length, or containing `name` as a suffix/prefix.
pub fn nearest_name<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(name, candidate);
        if best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    let (distance, candidate) = best?;
    let longest = name.chars().count().max(candidate.chars().count());
    let plausible = distance * 3 <= longest + 2
        || (!name.is_empty() && (candidate.ends_with(name) || candidate.starts_with(name)));
    plausible.then_some(candidate)
}

/// `did you mean `x`?` when a candidate is close to `name`.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    nearest_name(name, candidates).map(|nearest| format!("did you mean `{nearest}`?"))
}

/// Backquoted, comma-separated names: `` `a`, `b`, `c` ``.
pub fn quoted_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Edit distance counts insertions, deletions and substitutions.
    #[test]
    fn edit_distance_is_levenshtein() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    /// A typo finds its config; an unrelated word finds nothing.
    #[test]
    fn nearest_name_suggests_only_plausible_names() {
        let names = ["share.record.lock.duration.ms", "share.auto.offset.reset"];
        assert_eq!(
            nearest_name("share.record.lock.duraton.ms", names),
            Some("share.record.lock.duration.ms")
        );
        assert_eq!(nearest_name("zzz", names), None);
    }
}
