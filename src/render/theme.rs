//! The theme: `templates/theme.toml` (language, colours, logo, footer text, postal address) and the
//! stylesheet it names (default `templates/email.css`), read at run time so a user restyles the
//! email without recompiling. In the stylesheet, `var(--name)` stands for `colors.name`; it is
//! replaced before inlining, so the output needs no CSS variables (which email clients lack).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::model::canonical;

/// A loaded theme.
#[derive(Debug, Clone)]
pub struct Theme {
    /// `lang` attribute of the document, e.g. "en".
    pub lang: String,
    /// Optional logo (https only) shown above the title.
    pub logo: Option<Logo>,
    /// Footer sentence saying why the reader gets the email; `{email}` and `{site}` are filled.
    pub footer_text: String,
    /// Postal address of the sender (required by anti-spam law in many countries), shown after
    /// the site name.
    pub postal_address: String,
    /// Named colours, used in the stylesheet and for `bgcolor` fallbacks.
    pub colors: BTreeMap<String, String>,
    /// The stylesheet with colours substituted.
    pub css: String,
}

/// A logo image.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logo {
    /// https URL of the image.
    pub url: String,
    /// Alternative text.
    pub alt: String,
    /// Width in CSS pixels.
    pub width: u32,
    /// Height in CSS pixels.
    pub height: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    #[serde(default = "english")]
    lang: String,
    #[serde(default = "default_stylesheet")]
    stylesheet: PathBuf,
    logo: Option<Logo>,
    footer_text: String,
    postal_address: String,
    #[serde(default)]
    colors: BTreeMap<String, String>,
}

fn english() -> String {
    "en".into()
}
fn default_stylesheet() -> PathBuf {
    "email.css".into()
}

/// Colours every stylesheet may rely on; `theme.toml` must define them.
pub const REQUIRED_COLORS: &[&str] = &["page", "card", "text", "muted", "accent", "border"];

impl Theme {
    /// Loads `theme.toml` and its stylesheet from `dir`.
    pub fn load(dir: &Path) -> Result<Theme> {
        let file = dir.join("theme.toml");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading the theme {}", file.display()))?;
        let raw: RawTheme =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        for name in REQUIRED_COLORS {
            if !raw.colors.contains_key(*name) {
                bail!("{}: colors.{name} is missing", file.display());
            }
        }
        for (name, value) in &raw.colors {
            if !is_css_color(value) {
                bail!(
                    "{}: colors.{name} = {value:?} is not a #rgb/#rrggbb colour",
                    file.display()
                );
            }
        }
        if let Some(logo) = &raw.logo
            && !logo.url.starts_with("https://")
        {
            bail!("{}: logo.url must be an https URL", file.display());
        }
        let css_file = dir.join(&raw.stylesheet);
        let css = std::fs::read_to_string(&css_file)
            .with_context(|| format!("reading the stylesheet {}", css_file.display()))?;
        let css = substitute_colors(&css, &raw.colors).map_err(|name| {
            anyhow::anyhow!("{}: var(--{name}) is not in colors", css_file.display())
        })?;
        let lang = raw.lang.trim().to_string();
        if lang.is_empty() || !lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            bail!(
                "{}: lang {:?} is not a language tag",
                file.display(),
                raw.lang
            );
        }
        Ok(Theme {
            lang,
            logo: raw.logo.filter(|l| canonical::is_http(&l.url)),
            footer_text: crate::text::one_line(&raw.footer_text, 500),
            postal_address: crate::text::one_line(&raw.postal_address, 300),
            colors: raw.colors,
            css,
        })
    }

    /// A colour by name (as a `#hex` string); every required colour is present.
    pub fn color(&self, name: &str) -> &str {
        self.colors.get(name).map_or("#000000", String::as_str)
    }
}

fn is_css_color(v: &str) -> bool {
    let hex = v.strip_prefix('#').unwrap_or("");
    matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `css` without its `/* … */` comments.
fn strip_comments(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(open) = rest.find("/*") {
        out.push_str(&rest[..open]);
        rest = rest[open + 2..]
            .find("*/")
            .map_or("", |close| &rest[open + 2 + close + 2..]);
    }
    out.push_str(rest);
    out
}

/// Replaces every `var(--name)` in `css` (comments removed) by `colors[name]`; the error is an
/// unknown name.
fn substitute_colors(css: &str, colors: &BTreeMap<String, String>) -> Result<String, String> {
    let css = strip_comments(css);
    let mut out = String::with_capacity(css.len());
    let mut rest = css.as_str();
    while let Some(at) = rest.find("var(--") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "var(--".len()..];
        let end = after
            .find(')')
            .ok_or_else(|| after.chars().take(20).collect::<String>())?;
        let name = after[..end].trim();
        out.push_str(colors.get(name).ok_or_else(|| name.to_string())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_substituted_and_unknown_names_refused() {
        let colors = BTreeMap::from([("accent".to_string(), "#0f766e".to_string())]);
        assert_eq!(
            substitute_colors("a{color:var(--accent)}", &colors).unwrap(),
            "a{color:#0f766e}"
        );
        assert_eq!(
            substitute_colors("a{color:var(--nope)}", &colors).unwrap_err(),
            "nope"
        );
        let commented = "/* var(--name) */a{b:c}/* x */d{e:f}/* open";
        assert_eq!(
            substitute_colors(commented, &colors).unwrap(),
            "a{b:c}d{e:f}"
        );
        assert!(is_css_color("#fff") && is_css_color("#0F766E"));
        assert!(!is_css_color("red") && !is_css_color("#12345") && !is_css_color("#zzz"));
    }
}
