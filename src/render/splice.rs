//! Render once, personalize by splicing: a rendered body is cut at field markers into literal
//! parts, and each recipient's message only concatenates the parts with that recipient's values.
//!
//! A marker is `\u{1}name\u{1}`. Untrusted text can never contain one: every string from an issue
//! passes through [`crate::text::one_line`], which drops control characters, before rendering.

use std::fmt;

/// A per-recipient value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The recipient's one-click unsubscribe URL.
    UnsubscribeUrl,
    /// The recipient's address.
    Email,
    /// The recipient's subscription page ("Manage your subscription").
    ManageUrl,
}

impl Field {
    const ALL: [Field; 3] = [Field::UnsubscribeUrl, Field::Email, Field::ManageUrl];

    fn name(self) -> &'static str {
        match self {
            Field::UnsubscribeUrl => "unsubscribe_url",
            Field::Email => "email",
            Field::ManageUrl => "manage_url",
        }
    }

    /// The marker that stands for this field in a rendered body.
    pub fn marker(self) -> String {
        format!("\u{1}{}\u{1}", self.name())
    }
}

/// The values of one recipient.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    /// One-click unsubscribe URL.
    pub unsubscribe_url: &'a str,
    /// Address.
    pub email: &'a str,
    /// Subscription page URL.
    pub manage_url: &'a str,
}

impl Values<'_> {
    /// The value of `f`.
    pub fn get(&self, f: Field) -> &str {
        match f {
            Field::UnsubscribeUrl => self.unsubscribe_url,
            Field::Email => self.email,
            Field::ManageUrl => self.manage_url,
        }
    }
}

/// How spliced values are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// HTML text and attribute values.
    Html,
    /// Plain text: as is.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Field(Field),
}

/// A part of a [`Template`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Fixed text.
    Literal(&'a str),
    /// A hole for a recipient's value.
    Field(Field),
}

/// A rendered body with holes for per-recipient values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    escape: Escape,
    literal_len: usize,
}

impl Template {
    /// Cuts `rendered` at its field markers.
    pub fn new(rendered: &str, escape: Escape) -> Template {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = rendered;
        while let Some(at) = rest.find('\u{1}') {
            let after = &rest[at + 1..];
            let field = after.find('\u{1}').and_then(|end| {
                Field::ALL
                    .into_iter()
                    .find(|f| f.name() == &after[..end])
                    .map(|f| (f, end))
            });
            literal.push_str(&rest[..at]);
            match field {
                Some((f, end)) => {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                    parts.push(Part::Field(f));
                    rest = &after[end + 1..];
                }
                // A stray control character: drop it.
                None => rest = after,
            }
        }
        literal.push_str(rest);
        parts.push(Part::Literal(literal));
        parts.retain(|p| !matches!(p, Part::Literal(s) if s.is_empty()));
        let literal_len = parts
            .iter()
            .map(|p| if let Part::Literal(s) = p { s.len() } else { 0 })
            .sum();
        Template {
            parts,
            escape,
            literal_len,
        }
    }

    /// The literal parts and holes, in order.
    pub fn pieces(&self) -> impl Iterator<Item = Piece<'_>> {
        self.parts.iter().map(|p| match p {
            Part::Literal(s) => Piece::Literal(s),
            Part::Field(f) => Piece::Field(*f),
        })
    }

    /// How values are escaped when spliced.
    pub fn escape(&self) -> Escape {
        self.escape
    }

    /// Appends the body for one recipient to `out`.
    pub fn fill_into(&self, values: &Values<'_>, out: &mut String) {
        out.reserve(self.literal_len + 256);
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Field(f) => self.escape.apply(values.get(*f), out),
            }
        }
    }

    /// The body for one recipient.
    pub fn fill(&self, values: &Values<'_>) -> String {
        let mut out = String::new();
        self.fill_into(values, &mut out);
        out
    }

    /// Whether the template has a hole for `field`.
    pub fn has(&self, field: Field) -> bool {
        self.parts.contains(&Part::Field(field))
    }
}

impl fmt::Display for Template {
    /// The body with markers shown as `{name}`, for diagnostics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Literal(s) => f.write_str(s)?,
                Part::Field(field) => write!(f, "{{{}}}", field.name())?,
            }
        }
        Ok(())
    }
}

impl Escape {
    /// Appends `value` to `out`, escaped.
    pub fn apply(self, value: &str, out: &mut String) {
        match self {
            Escape::Html => escape_html(value, out),
            Escape::None => out.push_str(value),
        }
    }
}

fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: Values<'static> = Values {
        unsubscribe_url: "https://x.example/u/t?a=1&b=2",
        email: "\"<b>\"@x.example",
        manage_url: "https://x.example/manage/m?a=1&b=2",
    };

    #[test]
    fn fields_are_spliced_and_escaped_for_their_context() {
        let body = format!(
            "<a href=\"{}\">u</a> to {}",
            Field::UnsubscribeUrl.marker(),
            Field::Email.marker()
        );
        let html = Template::new(&body, Escape::Html);
        assert_eq!(
            html.fill(&V),
            "<a href=\"https://x.example/u/t?a=1&amp;b=2\">u</a> to &quot;&lt;b&gt;&quot;@x.example"
        );
        let text = Template::new(&body, Escape::None);
        assert!(text.fill(&V).ends_with("to \"<b>\"@x.example"));
        assert!(html.has(Field::Email));
    }

    #[test]
    fn unknown_markers_and_stray_controls_are_dropped() {
        let t = Template::new("a\u{1}nope\u{1}b\u{1}c", Escape::None);
        assert_eq!(t.fill(&V), "anopebc");
        assert!(!t.has(Field::Email));
    }
}
