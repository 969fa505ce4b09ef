//! Tag normalization: `Distributed-Systems`, `distributed systems` and `distributed_systems` are
//! all `distributed-systems`. README "Configuration" documents these rules for users.

/// Normalizes a tag: trims surrounding whitespace and any leading `#`; splits words at whitespace,
/// `-`, `_`, `.` and `/` (so `node.js` is `node-js`); lowercases them (Unicode-aware), drops control
/// characters and joins them with single hyphens. Every other character (`c++`, `c#`) is kept.
pub fn normalize(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len());
    for word in tag
        .trim()
        .trim_start_matches('#')
        .split(|c: char| c.is_whitespace() || matches!(c, '-' | '_' | '.' | '/'))
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('-');
        }
        out.extend(
            word.chars()
                .flat_map(char::to_lowercase)
                .filter(|c| !c.is_control()),
        );
    }
    out
}

/// Normalizes, sorts and dedupes a list of tags, dropping empty ones.
pub fn normalize_all<'a>(tags: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = tags
        .into_iter()
        .map(normalize)
        .filter(|t| !t.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A display name for a normalized tag: `distributed-systems` → "Distributed Systems".
pub fn display_name(tag: &str) -> String {
    tag.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_tag_agree() {
        for t in [
            "Distributed-Systems",
            "distributed systems",
            "distributed_systems",
            " DISTRIBUTED  Systems ",
            "#distributed--systems",
        ] {
            assert_eq!(normalize(t), "distributed-systems", "{t}");
        }
        assert_eq!(normalize("C++"), "c++");
        assert_eq!(normalize(" - _ "), "");
    }

    #[test]
    fn dots_and_slashes_separate_words() {
        assert_eq!(normalize("node.js"), normalize("node-js"));
        assert_eq!(normalize("Node.JS"), "node-js");
        assert_eq!(normalize("CI/CD"), "ci-cd");
        assert_eq!(normalize("a -- b"), "a-b");
    }

    #[test]
    fn leading_hashes_go_and_other_characters_stay() {
        assert_eq!(normalize("#rust"), "rust");
        assert_eq!(normalize("##Rust"), "rust");
        assert_eq!(normalize("C#"), "c#");
        assert_eq!(normalize("c++ 20"), "c++-20");
    }

    #[test]
    fn unicode_is_lowercased_and_control_characters_dropped() {
        assert_eq!(normalize("Ärger ÉTÉ"), "ärger-été");
        assert_eq!(normalize("ab\u{7}c"), "abc");
        assert_eq!(normalize("tab\tseparated"), "tab-separated");
    }

    #[test]
    fn lists_are_sorted_unique_and_non_empty() {
        assert_eq!(normalize_all(["b", "A", "a", "", "  "]), vec!["a", "b"]);
    }

    #[test]
    fn display_names_capitalize_words() {
        assert_eq!(display_name("distributed-systems"), "Distributed Systems");
    }
}
