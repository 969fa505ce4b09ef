//! Reading the plain text of bounces that carry no delivery-status part: where the returned copy
//! starts, which addresses failed and the lines that explain why (qmail's `<addr>:`, Exim's
//! indented address, Sendmail's `<addr>... reason`, Postfix's `<addr>: host said: …`, the
//! address lines of Gmail, Exchange, Yahoo …).

use mail_parser::Message;

use std::collections::HashMap;

use super::{MAX_FIELD, MAX_FINDINGS};

/// Most lines of explanation kept after a failed address.
const MAX_CONTEXT_LINES: usize = 8;

/// Longest explanation kept for a failed address, in bytes (a diagnostic shows its start).
const MAX_EXPLANATION: usize = 16 * 1024;

/// Whether `c` can be in the local part of an address.
fn is_local(c: char) -> bool {
    c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c)
}

/// Whether `c` can be in a domain.
fn is_domain(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

/// The first `local@domain` in `s` and where it starts and ends, lower-cased; addresses longer
/// than an address can be are skipped.
fn find_address(s: &str) -> Option<(String, usize, usize)> {
    let mut from = 0;
    while let Some(at) = s.get(from..)?.find('@').map(|i| i + from) {
        let start = s[..at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_local(c))
            .last()
            .map_or(at, |(i, _)| i);
        let end = s[at + 1..]
            .char_indices()
            .take_while(|&(_, c)| is_domain(c))
            .last()
            .map_or(at + 1, |(i, c)| at + 1 + i + c.len_utf8());
        let local = s[start..at].trim_start_matches('.');
        let domain = s[at + 1..end].trim_end_matches(['.', '-']);
        if !local.is_empty() && domain.contains('.') && local.len() + domain.len() < MAX_FIELD {
            let start = at - local.len();
            return Some((
                format!("{local}@{domain}").to_ascii_lowercase(),
                start,
                at + 1 + domain.len(),
            ));
        }
        from = at + 1;
    }
    None
}

/// The first address in `s`, lower-cased.
pub(super) fn first_address(s: &str) -> Option<String> {
    find_address(s).map(|(a, _, _)| a)
}

/// Whether the address is a mail system's own (`MAILER-DAEMON@…`, `postmaster@…`).
fn is_system(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or_default();
    [
        "mailer-daemon",
        "postmaster",
        "post_master",
        "mail-daemon",
        "mailerdaemon",
        "mdaemon",
    ]
    .contains(&local)
}

/// Whether the message presents itself as a bounce: sent by a mail system, or with a bounce's
/// subject.
pub(super) fn is_bounce(message: &Message<'_>, subject: &str, sender: &Option<String>) -> bool {
    let subject = subject.to_lowercase();
    let by_subject = [
        "undeliver",
        "undelivered",
        "delivery status notification",
        "delivery failure",
        "delivery failed",
        "delivery has failed",
        "delivery notification",
        "failure notice",
        "returned mail",
        "mail delivery failed",
        "mail delivery system",
        "non-deliver",
        "nondeliver",
        "non remis",
        "could not be delivered",
        "unable to deliver",
        "mail system error",
        "delivery problem",
        "message not delivered",
        "rejected",
        "bounce",
        "warning: could not send",
        "unzustellbar",
    ]
    .iter()
    .any(|p| subject.contains(p));
    let name = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.name())
        .unwrap_or_default()
        .to_lowercase();
    by_subject
        || sender.as_deref().is_some_and(is_system)
        || name.contains("mail delivery")
        || name.contains("mailer-daemon")
}

/// Whether a text (of a message that returns another) says a message was not delivered.
pub(super) fn says_undelivered(text: &str) -> bool {
    let text = text.to_lowercase();
    [
        "could not be delivered",
        "was not delivered",
        "undeliverable",
        "delivery has failed",
        "permanent error",
        "invalid user address",
    ]
    .iter()
    .any(|p| text.contains(p))
}

/// Where a copy of the returned message starts in a bounce's text: after a line announcing it,
/// or at the first line of a header block (`Return-Path:`, `Received:`, `Message-ID:` …).
pub(super) fn returned_copy(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let lower = line.trim().to_ascii_lowercase();
        let header = [
            "return-path:",
            "received:",
            "message-id:",
            "dkim-signature:",
        ]
        .iter()
        .any(|h| lower.starts_with(h))
            && line.starts_with(|c: char| c.is_ascii_alphabetic());
        if header {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// A failed address found in a bounce's text, with the lines that explain it.
#[derive(Debug)]
pub(super) struct Failure {
    /// The address, lower-cased (empty when none was found).
    pub address: String,
    /// Its explanation: the rest of its line and the lines after it (at most
    /// `MAX_CONTEXT_LINES`), up to the next failed address.
    pub text: String,
}

/// Prefixes that may precede a failed address at the start of a line.
const ADDRESS_PREFIXES: &[&str] = &[
    "could not be delivered to:",
    "original-recipient:",
    "final-recipient:",
    "recipient address:",
    "failed recipient:",
    "recipient:",
    "address:",
    "rcpt to:",
    "to:",
    "user:",
    "mailbox:",
];

/// The address a line opens with (after quotes, brackets, bullets, a reply code or a prefix such
/// as `Recipient:`), and the rest of the line.
fn address_line(line: &str) -> Option<(String, &str)> {
    let (address, start, end) = find_address(line)?;
    let before = line[..start].trim().to_ascii_lowercase();
    let before = ADDRESS_PREFIXES
        .iter()
        .find_map(|p| before.strip_prefix(p))
        .unwrap_or(before.as_str());
    // Sendmail's transcript: `550 <addr>... User unknown`.
    let before = match before.as_bytes() {
        [b'4' | b'5', b'0'..=b'9', b'0'..=b'9', rest @ ..] if rest.first() != Some(&b'.') => {
            &before[3..]
        }
        _ => before,
    };
    let opens = before
        .chars()
        .all(|c| c.is_whitespace() || "<\"'(*-•>[:;".contains(c))
        && !before.contains(">>>")
        && !before.contains("<<<");
    opens.then(|| (address, line.get(end..).unwrap_or_default()))
}

/// The address a line opens with, when it is a failed one: not a mail system's, nor in `exclude`.
fn failed_address_line<'l>(line: &'l str, exclude: &[Option<&str>]) -> Option<(String, &'l str)> {
    address_line(line)
        .filter(|(address, _)| !is_system(address) && !exclude.contains(&Some(address.as_str())))
}

/// Whether a line starts a record about another destination in a Sendmail transcript, ending the
/// explanation of the address before it: `While talking to HOST:`, `... while talking to HOST.:`,
/// or a line about a host (`550 example.org (smtp)... 550 Host unknown`).
fn starts_other_record(line: &str) -> bool {
    let t = line.trim_start();
    let lower = t.to_ascii_lowercase();
    let host_line = t.len() > 4
        && t.as_bytes()[..3].iter().all(u8::is_ascii_digit)
        && t.as_bytes()[3] == b' '
        && !t.contains('@')
        && t.contains(")... ");
    host_line
        || lower.starts_with("while talking to ")
        || lower.starts_with("... while talking to ")
}

/// The text of a bounce before its first failed address (as [`failures`] reads them): what it
/// says of every address, not of one.
pub(super) fn preamble<'t>(text: &'t str, exclude: &[Option<&str>]) -> &'t str {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if failed_address_line(line.trim_end_matches(['\r', '\n']), exclude).is_some() {
            break;
        }
        offset += line.len();
    }
    &text[..offset]
}

/// The failed addresses of a bounce's text, each once, with their explanations; addresses in
/// `exclude` (the bounce's own sender and recipient) and mail-system addresses are not failures.
pub(super) fn failures(text: &str, exclude: &[Option<&str>]) -> Vec<Failure> {
    let mut out: Vec<Failure> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut current: Option<usize> = None;
    let mut lines_kept = 0;
    for line in text.lines() {
        if let Some((address, rest)) = failed_address_line(line, exclude) {
            let i = match index.get(&address) {
                Some(&i) => i,
                None if out.len() < MAX_FINDINGS => {
                    index.insert(address.clone(), out.len());
                    out.push(Failure {
                        address,
                        text: String::new(),
                    });
                    out.len() - 1
                }
                None => break,
            };
            append(
                &mut out[i].text,
                rest.trim_start_matches(['>', ':', '.', ' ']),
            );
            current = Some(i);
            lines_kept = 0;
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        if starts_other_record(line) {
            current = None;
            continue;
        }
        if let Some(i) = current
            && lines_kept < MAX_CONTEXT_LINES
        {
            append(&mut out[i].text, line);
            lines_kept += 1;
        }
    }
    if out.is_empty()
        && let Some(address) = text
            .lines()
            .filter_map(first_address)
            .find(|a| !is_system(a) && !exclude.contains(&Some(a.as_str())))
    {
        let mut whole = String::new();
        append(&mut whole, text);
        out.push(Failure {
            address,
            text: whole,
        });
    }
    out
}

/// Appends `line` to `text`, separated by a space, while `text` is under `MAX_EXPLANATION`
/// bytes (cut at a character boundary).
fn append(text: &mut String, line: &str) {
    let room = MAX_EXPLANATION.saturating_sub(text.len());
    let mut line = line.trim();
    if line.len() > room {
        let mut end = room;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line = &line[..end];
    }
    if line.is_empty() {
        return;
    }
    if !text.is_empty() {
        text.push(' ');
    }
    text.push_str(line);
}

/// The text of an HTML body: tags dropped, block ends as line breaks, common entities decoded.
pub(super) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('>').map_or(rest.len(), |i| open + i + 1);
        let tag = rest[open..close].to_ascii_lowercase();
        if ["<br", "</p", "</div", "</tr", "</li", "</h", "<p"]
            .iter()
            .any(|t| tag.starts_with(t))
        {
            out.push('\n');
        }
        rest = &rest[close..];
    }
    out.push_str(rest);
    [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&nbsp;", " "),
        ("&#160;", " "),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(out, |s, (entity, c)| s.replace(entity, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_found_lower_cased_and_bounded() {
        assert_eq!(
            first_address("550 <User.Name+x@Mail.Example.COM>: no").as_deref(),
            Some("user.name+x@mail.example.com")
        );
        assert_eq!(
            first_address("a@b (no dot) c@d.example").as_deref(),
            Some("c@d.example")
        );
        assert_eq!(first_address("no address @ here"), None);
        assert_eq!(
            first_address(&format!("{}@x.example", "a".repeat(400))),
            None
        );
    }

    #[test]
    fn an_address_opening_a_line_is_a_failure_with_the_lines_after_it() {
        let text = "Hi.\n\n<kijitora@example.jp>:\n550 Unknown user\n\n  \
                    neko@example.org\n    SMTP error: 552 5.2.2 over quota\n\n\
                    Contact postmaster@example.net for help.\n";
        let f = failures(text, &[]);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(
            (f[0].address.as_str(), f[0].text.as_str()),
            ("kijitora@example.jp", "550 Unknown user")
        );
        // A block runs to the next failed address, over blank lines (Gmail puts one between the
        // address and its explanation).
        assert_eq!(
            f[1].text,
            "SMTP error: 552 5.2.2 over quota Contact postmaster@example.net for help."
        );
        // Sendmail's transcript: a reply code before the address, but not the server's own line.
        let transcript = ">>> RCPT To:<a@x.example>\n<<< 550 5.1.1 <a@x.example>... no\n\
                          550 <b@y.example>... User unknown\n";
        let f = failures(transcript, &[]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].address.as_str(), f[0].text.as_str()),
            ("b@y.example", "User unknown")
        );
    }

    // Before: a Sendmail transcript's next record ("550 example.org (smtp)... 550 Host unknown",
    // "While talking to …") was read as the explanation of the address before it, so a
    // connection reset took the next domain's "Host unknown" and was hard.
    #[test]
    fn a_sendmail_transcript_record_about_another_host_ends_an_explanation() {
        let text = "   ----- Transcript of session follows -----\n\
                    While talking to a.example:\n>>> DATA\n<<< 550 Go away\n\
                    554 <x@a.example>... Remote protocol error: Connection reset\n\
                    550 b.example (smtp)... 550 Host unknown\n\
                    554 <y@b.example>... 550 Host unknown (Authoritative answer)\n\
                    While talking to c.example:\n>>> RCPT To:<z@c.example>\n\
                    <<< 550 No such user here.\n550 <z@c.example>... User unknown\n";
        let f = failures(text, &[]);
        let texts: Vec<(&str, &str)> = f
            .iter()
            .map(|f| (f.address.as_str(), f.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                ("x@a.example", "Remote protocol error: Connection reset"),
                ("y@b.example", "550 Host unknown (Authoritative answer)"),
                ("z@c.example", "User unknown"),
            ]
        );
        // What it says before the first failed address is about all of them.
        assert_eq!(
            preamble(text, &[]),
            "   ----- Transcript of session follows -----\nWhile talking to a.example:\n\
             >>> DATA\n<<< 550 Go away\n"
        );
        assert_eq!(preamble("no address here\n", &[]), "no address here\n");
    }

    #[test]
    fn html_becomes_lines_of_text() {
        assert_eq!(
            html_to_text("<p>a&amp;b</p><br>c &lt;d&gt;"),
            "\na&b\n\nc <d>"
        );
    }
}
