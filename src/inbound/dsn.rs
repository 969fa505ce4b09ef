//! Field blocks: the per-recipient fields of an RFC 3464 `message/delivery-status` and the fields
//! of an RFC 5965 `message/feedback-report`: `Name: value` lines (folded lines continue with white
//! space), in groups separated by blank lines.

use std::collections::HashSet;

use crate::mail::error::Enhanced;

use super::MAX_FINDINGS;
use super::scan::first_address;

/// What a delivery-status group says about one recipient.
#[derive(Debug)]
pub(super) struct Recipient {
    /// `Final-Recipient`, else `Original-Recipient`, lower-cased.
    pub address: String,
    /// `Status`.
    pub status: Option<Enhanced>,
    /// `Diagnostic-Code` without its type (`smtp;`), or empty.
    pub diagnostic: String,
    /// `Action` is `delivered`, `relayed` or `expanded`: no failure.
    pub delivered: bool,
    /// `Action` is `delayed`: a temporary failure, still being retried.
    pub delayed: bool,
}

/// The unfolded fields of `text` (names lower-cased), grouped by blank lines; a second
/// `Final-Recipient` also starts a group (AOL separates its recipients with no blank line).
fn groups(text: &str) -> Vec<Vec<(String, String)>> {
    let mut groups: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if groups.last().is_some_and(|g| !g.is_empty()) {
                groups.push(Vec::new());
            }
            continue;
        }
        let Some(group) = groups.last_mut() else {
            continue;
        };
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = group.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':')
            && !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            let name = name.to_ascii_lowercase();
            let field = (name, value.trim().to_string());
            if field.0 == "final-recipient" && group.iter().any(|(n, _)| *n == field.0) {
                groups.push(vec![field]);
            } else {
                group.push(field);
            }
        }
    }
    groups
}

/// The value of the first field `name` in the group.
fn value<'g>(group: &'g [(String, String)], name: &str) -> Option<&'g str> {
    group
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The value after a type prefix (`rfc822; x@y`, `smtp; 550 …`).
fn typed(value: &str) -> &str {
    match value.split_once(';') {
        Some((kind, rest)) if !kind.contains(' ') && kind.len() < 40 => rest.trim(),
        _ => value.trim(),
    }
}

/// One [`Recipient`] per group of `text` that names a recipient, each address once, at most
/// [`MAX_FINDINGS`].
pub(super) fn recipients(text: &str) -> Vec<Recipient> {
    let mut out: Vec<Recipient> = Vec::new();
    let mut seen = HashSet::new();
    for group in groups(text) {
        let Some(address) = ["final-recipient", "original-recipient"]
            .iter()
            .find_map(|name| value(&group, name).and_then(|v| first_address(typed(v))))
        else {
            continue;
        };
        if !seen.insert(address.clone()) {
            continue;
        }
        if out.len() == MAX_FINDINGS {
            break;
        }
        let action = value(&group, "action")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let status =
            value(&group, "status").and_then(|v| Enhanced::parse_prefix(v.trim()).map(|(e, _)| e));
        out.push(Recipient {
            address,
            status,
            diagnostic: value(&group, "diagnostic-code")
                .map(typed)
                .unwrap_or_default()
                .to_string(),
            delivered: ["delivered", "relayed", "expanded"]
                .iter()
                .any(|a| action.starts_with(a)),
            delayed: action.starts_with("delayed"),
        });
    }
    out
}

/// The first value of field `name` anywhere in `text`.
pub(super) fn field(text: &str, name: &str) -> Option<String> {
    groups(text)
        .iter()
        .find_map(|g| value(g, name).map(str::to_string))
}

/// The recipients a feedback report is about, each once: every `Original-Rcpt-To`, else every
/// `Removal-Recipient`.
pub(super) fn feedback_recipients(report: &str) -> Vec<String> {
    let groups = groups(report);
    for name in ["original-rcpt-to", "removal-recipient"] {
        let mut out: Vec<String> = Vec::new();
        for address in groups
            .iter()
            .flatten()
            .filter(|(n, _)| n == name)
            .filter_map(|(_, v)| first_address(v))
        {
            if !out.contains(&address) {
                out.push(address);
            }
        }
        if !out.is_empty() {
            return out;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_groups_give_one_recipient_each_with_status_and_diagnostic() {
        let text = "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; <A@X.example>\n\
                    Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 no\n  such user\n\n\
                    Original-Recipient: rfc822;b@y.example\nAction: delayed\nStatus: 4.2.2\n\n\
                    Final-Recipient: rfc822; c@z.example\nAction: delivered\n";
        let r = recipients(text);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].address, "a@x.example");
        assert_eq!(r[0].status.map(|s| s.to_string()).as_deref(), Some("5.1.1"));
        assert_eq!(r[0].diagnostic, "550 5.1.1 no such user");
        assert!(r[1].delayed && !r[1].delivered);
        assert!(r[2].delivered);
    }

    #[test]
    fn a_feedback_report_names_each_original_recipient_once() {
        let report = "Feedback-Type: abuse\nOriginal-Rcpt-To: A@x.example\n\
                      Original-Rcpt-To: <b@x.example>\nOriginal-Rcpt-To: a@x.example\n";
        assert_eq!(feedback_recipients(report), ["a@x.example", "b@x.example"]);
        assert_eq!(field(report, "feedback-type").as_deref(), Some("abuse"));
        assert!(feedback_recipients("Feedback-Type: abuse\n").is_empty());
    }

    // Before: AOL's two recipients with no blank line between them were one group, and the
    // second recipient was missed.
    #[test]
    fn a_second_final_recipient_without_a_blank_line_starts_a_group() {
        let text = "Final-Recipient: rfc822; a@x.example\nAction: failed\nStatus: 5.2.2\n\
                    Final-Recipient: rfc822; b@x.example\nOriginal-Recipient: rfc822;b@x.example\n\
                    Action: failed\nStatus: 5.1.1\n";
        let r = recipients(text);
        let got: Vec<(&str, String)> = r
            .iter()
            .map(|r| (r.address.as_str(), r.status.unwrap().to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("a@x.example", "5.2.2".into()),
                ("b@x.example", "5.1.1".into())
            ]
        );
    }

    // Before: a type name of 20 characters or more stayed in the diagnostic, and AOL's
    // "X-Outbound-Mail-Relay; Name service error …" was read as a relaying refusal.
    #[test]
    fn a_long_diagnostic_type_is_dropped() {
        assert_eq!(
            typed("X-Outbound-Mail-Relay; Name service error"),
            "Name service error"
        );
        assert_eq!(typed("smtp; 550 x; y"), "550 x; y");
        assert_eq!(typed("550 no such user; sorry"), "550 no such user; sorry");
    }
}
