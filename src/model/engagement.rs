//! Engagement fields: the feed item field a source's configuration names as holding its upvotes or
//! comments (`[sources.<name>.engagement]`), parsed once when the configuration is read.

/// An item field holding a count: `name` (any namespace prefix), `prefix:name` (that prefix as
/// written), either followed by `@attribute` to read an attribute instead of the text. In a JSON
/// Feed it is a dotted path into the item object, e.g. `_reddit.score`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    name: String,
    attribute: Option<String>,
}

impl Field {
    /// Parses a field name, or says why it is not one.
    pub fn parse(spec: &str) -> Result<Field, String> {
        let (name, attribute) = match spec.split_once('@') {
            Some((n, a)) => (n, Some(a)),
            None => (spec, None),
        };
        let word = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
        };
        if !word(name) || attribute.is_some_and(|a| !word(a)) || name.matches(':').count() > 1 {
            return Err(format!(
                "{spec:?} is not a field name (use `name`, `prefix:name` or `name@attribute`)"
            ));
        }
        Ok(Field {
            name: name.to_string(),
            attribute: attribute.map(str::to_string),
        })
    }

    /// The element name (`name` or `prefix:name`) or, in a JSON Feed, the dotted path.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The attribute to read instead of the element's text, if any.
    pub fn attribute(&self) -> Option<&str> {
        self.attribute.as_deref()
    }

    /// Whether the XML element `qualified` (as written, with its prefix) is this field.
    pub fn matches(&self, qualified: &str) -> bool {
        if self.name.contains(':') {
            return qualified == self.name;
        }
        qualified.rsplit(':').next() == Some(self.name.as_str())
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if let Some(a) = &self.attribute {
            write!(f, "@{a}")?;
        }
        Ok(())
    }
}
