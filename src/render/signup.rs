//! The pages and mails of sign-up and subscription management: small maud components on a page
//! shell in the theme's colours and logo, with every text from `templates/signup.toml` (built-in
//! English where the file or a key is missing), so they can be translated. Forms work without
//! JavaScript, every field has a label, and the pages are plain documents (keyboard order is
//! reading order).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Result, anyhow, bail};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::Theme;
use crate::period::PeriodKind;

/// The built-in texts (English), also the file `digest` ships in `templates/`.
const DEFAULT: &str = include_str!("../../templates/signup.toml");

/// The texts, by section and key.
#[derive(Debug, Clone)]
pub struct Texts {
    map: BTreeMap<String, BTreeMap<String, String>>,
}

fn parse(text: &str, file: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    toml::from_str(text).map_err(|e| anyhow!("{file}: {e}"))
}

impl Texts {
    /// The built-in texts, overridden by `signup.toml` in `dir` if there is one. A key the
    /// built-in file does not have is an error naming the file and the key.
    pub fn load(dir: &Path) -> Result<Texts> {
        let mut map = parse(DEFAULT, "built-in signup.toml")?;
        let file = dir.join("signup.toml");
        if let Ok(text) = std::fs::read_to_string(&file) {
            for (section, keys) in parse(&text, &file.display().to_string())? {
                let Some(known) = map.get_mut(&section) else {
                    bail!("{}: unknown section [{section}]", file.display());
                };
                for (key, value) in keys {
                    if !known.contains_key(&key) {
                        bail!("{}: unknown key {section}.{key}", file.display());
                    }
                    known.insert(key, value);
                }
            }
        }
        Ok(Texts { map })
    }

    /// The text at `section.key` with `{name}` placeholders filled from `values`.
    pub fn get(&self, key: &str, values: &[(&str, &str)]) -> String {
        let (section, name) = key.split_once('.').unwrap_or(("", key));
        let mut text = self
            .map
            .get(section)
            .and_then(|s| s.get(name))
            .cloned()
            .unwrap_or_else(|| key.to_string());
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// How often a digest of `kind` comes, in words.
    pub fn cadence(&self, kind: PeriodKind) -> String {
        self.get(&format!("cadence.{kind}"), &[])
    }
}

/// A mail: subject, plain text and HTML.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// A mail of a sentence, a link (as a button in HTML) and an optional closing sentence.
pub fn link_mail(
    theme: &Theme,
    subject: String,
    text: String,
    link: &str,
    button: String,
    ignore: Option<String>,
) -> Mail {
    let mut plain = format!("{text}\n\n{link}\n");
    if let Some(i) = &ignore {
        plain.push_str(&format!("\n{i}\n"));
    }
    let accent = theme.color("accent");
    let body = html! {
        (DOCTYPE)
        html lang=(theme.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (subject) }
            }
            body style=(format!("margin: 0 auto; padding: 16px; max-width: 560px; font: 16px/1.5 -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; color: {};", theme.color("text"))) {
                p { (text) }
                p {
                    a href=(link) style=(format!("display: inline-block; padding: 12px 20px; background: {accent}; color: #ffffff; text-decoration: none; border-radius: 6px;")) { (button) }
                }
                p style="font-size: 13px; word-break: break-all; overflow-wrap: anywhere;" { a href=(link) style=(format!("color: {accent};")) { (link) } }
                @if let Some(i) = &ignore { p style=(format!("color: {};", theme.color("muted"))) { (i) } }
            }
        }
    };
    Mail {
        subject,
        text: plain,
        html: body.into_string(),
    }
}

/// The page shell: theme colours and logo, the site name, a `<main>` with `content`.
pub fn page(theme: &Theme, site: &str, title: &str, content: Markup) -> Markup {
    let c = |n: &str| theme.color(n).to_string();
    let css = format!(
        "body{{margin:0;background:{page};color:{text};font:16px/1.5 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}}\
         main{{max-width:34rem;margin:2rem auto;padding:1.5rem;background:{card};border:1px solid {border};border-radius:8px}}\
         h1{{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}}\
         a{{color:{accent}}}\
         label,legend{{display:block;font-weight:600;margin:1rem 0 .25rem}}\
         fieldset{{border:1px solid {border};border-radius:6px;margin:1rem 0;padding:.5rem 1rem 1rem}}\
         fieldset label{{font-weight:400;margin:.5rem 0}}\
         input[type=email],input[type=text],select{{box-sizing:border-box;width:100%;padding:.6rem;font:inherit;color:{text};background:{card};border:1px solid {muted};border-radius:6px}}\
         input[type=checkbox]{{width:1.1rem;height:1.1rem;margin-right:.5rem;vertical-align:-2px}}\
         button{{margin-top:1rem;padding:.7rem 1.2rem;font:inherit;font-weight:600;color:#fff;background:{accent};border:0;border-radius:6px;cursor:pointer}}\
         button:focus-visible,input:focus-visible,select:focus-visible,a:focus-visible{{outline:3px solid {accent};outline-offset:2px}}\
         .muted{{color:{muted};font-size:.9rem}}\
         .error{{color:#b42318;font-weight:600}}\
         .hp{{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}}\
         header{{max-width:34rem;margin:1.5rem auto 0;padding:0 1.5rem;display:flex;align-items:center;gap:.75rem;font-weight:600}}\
         @media (max-width:36rem){{main{{margin:1rem .5rem;padding:1rem}}}}",
        page = c("page"),
        text = c("text"),
        card = c("card"),
        border = c("border"),
        accent = c("accent"),
        muted = c("muted"),
    );
    html! {
        (DOCTYPE)
        html lang=(theme.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " · " (site) }
                style { (PreEscaped(css)) }
            }
            body {
                header {
                    @if let Some(logo) = &theme.logo {
                        img src=(logo.url) alt="" width=(logo.width) height=(logo.height);
                    }
                    span { (site) }
                }
                main {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

/// A digest as a checkbox: its id, label and whether it is ticked.
#[derive(Debug, Clone)]
pub struct Choice<'a> {
    /// Digest id (the form value).
    pub id: &'a str,
    /// What it is and how often.
    pub label: String,
    /// Ticked.
    pub checked: bool,
}

/// A fieldset of digest checkboxes named `digest`.
pub fn choices(legend: &str, choices: &[Choice<'_>]) -> Markup {
    html! {
        fieldset {
            legend { (legend) }
            @for c in choices {
                label {
                    input type="checkbox" name="digest" value=(c.id) checked[c.checked];
                    (c.label)
                }
            }
        }
    }
}

/// What the sign-up form shows besides the texts.
#[derive(Debug, Clone, Default)]
pub struct SignupForm<'a> {
    /// The list (a hidden field), when there is more than one sign-up list.
    pub list: Option<&'a str>,
    /// The digests offered.
    pub choices: Vec<Choice<'a>>,
    /// The address and name typed, when the form is shown again.
    pub email: &'a str,
    /// See `email`.
    pub name: &'a str,
    /// Why the form is shown again.
    pub error: Option<String>,
    /// The proof-of-work challenge and its difficulty in bits, when it is on.
    pub pow: Option<(String, u32)>,
}

/// The sign-up form, posting to `action`.
pub fn signup_form(t: &Texts, form: &SignupForm<'_>, action: &str) -> Markup {
    html! {
        @if let Some(e) = &form.error { p.error role="alert" { (e) } }
        form method="post" action=(action) {
            @if let Some(list) = form.list { input type="hidden" name="list" value=(list); }
            label for="email" { (t.get("subscribe.email_label", &[])) }
            input #email type="email" name="email" required autocomplete="email" value=(form.email);
            label for="name" { (t.get("subscribe.name_label", &[])) }
            input #name type="text" name="name" autocomplete="name" maxlength="100" value=(form.name);
            (choices(&t.get("subscribe.digests_legend", &[]), &form.choices))
            div.hp aria-hidden="true" {
                label for="website" { (t.get("subscribe.honeypot_label", &[])) }
                input #website type="text" name="website" tabindex="-1" autocomplete="off";
            }
            @if let Some((challenge, bits)) = &form.pow {
                p.error.pow-js { (t.get("subscribe.pow_no_js", &[])) }
                input type="hidden" name="pow_challenge" value=(challenge);
                input type="hidden" name="pow_nonce" value="" data-bits=(bits);
                p.muted { (t.get("subscribe.pow_note", &[])) }
                script { (PreEscaped(POW_SCRIPT)) }
            }
            button type="submit" { (t.get("subscribe.button", &[])) }
        }
    }
}

/// Finds the proof-of-work nonce in the browser before the form is sent (see
/// `crate::publish::signup::pow_ok`): the smallest decimal nonce such that
/// SHA-256(`challenge:nonce`) starts with `bits` zero bits. Once per form (a second press while
/// it works does nothing). It hides the form's "needs JavaScript" notice, which therefore shows
/// whenever the script cannot run: JavaScript off, or no Web Crypto (a page served neither over
/// https nor from localhost), where the form goes without a nonce and the server says why.
const POW_SCRIPT: &str = r#"(function(){var f=document.currentScript.closest('form');if(!(window.crypto&&crypto.subtle))return;f.querySelector('.pow-js').hidden=true;f.addEventListener('submit',async function(e){var n=f.querySelector('[name=pow_nonce]');if(n.value)return;e.preventDefault();if(f.dataset.busy)return;f.dataset.busy='1';var c=f.querySelector('[name=pow_challenge]').value,b=+n.dataset.bits,enc=new TextEncoder();for(var i=0;;i++){var h=new Uint8Array(await crypto.subtle.digest('SHA-256',enc.encode(c+':'+i)));var z=0;for(var k=0;k<h.length;k++){if(h[k]===0){z+=8;continue}z+=Math.clz32(h[k])-24;break}if(z>=b){n.value=String(i);f.submit();return}}})})();"#;

/// A page of one or more paragraphs, with an optional link.
pub fn message(paragraphs: &[String], link: Option<(&str, String)>) -> Markup {
    html! {
        @for p in paragraphs { p { (p) } }
        @if let Some((href, text)) = link { p { a href=(href) { (text) } } }
    }
}

/// The confirmation landing page: the consent text and the button that POSTs it.
pub fn confirm_form(t: &Texts, consent: &str) -> Markup {
    html! {
        form method="post" {
            p #consent { (consent) }
            button type="submit" aria-describedby="consent" { (t.get("confirm.button", &[])) }
        }
    }
}

/// What the subscription page shows.
#[derive(Debug, Clone)]
pub struct ManageView<'a> {
    /// The reader's address.
    pub address: &'a str,
    /// The digests of their memberships (empty: only on configured lists).
    pub choices: Vec<Choice<'a>>,
    /// Until when they pause, if they do (a date).
    pub paused_until: Option<String>,
    /// A notice at the top (saved, confirmation sent).
    pub notice: Option<String>,
    /// The site name.
    pub site: &'a str,
}

/// Pause lengths offered, in weeks.
pub const PAUSES: [u32; 4] = [2, 4, 8, 12];

/// The subscription page: choices and pause, address change, leaving. Every form posts to the
/// page's own URL with an `action` field.
pub fn manage(t: &Texts, v: &ManageView<'_>) -> Markup {
    html! {
        @if let Some(n) = &v.notice { p role="status" { strong { (n) } } }
        p { (t.get("manage.intro", &[("address", v.address)])) }
        @if v.choices.is_empty() {
            p.muted { (t.get("manage.not_member", &[])) }
        } @else {
            form method="post" {
                input type="hidden" name="action" value="choose";
                (choices(&t.get("manage.digests_legend", &[]), &v.choices))
                @if let Some(d) = &v.paused_until { p.muted { (t.get("manage.paused_until", &[("date", d)])) } }
                label for="pause" { (t.get("manage.pause_label", &[])) }
                select #pause name="pause_weeks" {
                    option value="0" { (t.get("manage.pause_none", &[])) }
                    @for w in PAUSES {
                        option value=(w) { (t.get("manage.pause_weeks", &[("weeks", &w.to_string())])) }
                    }
                }
                button type="submit" { (t.get("manage.save", &[])) }
            }
            form method="post" {
                input type="hidden" name="action" value="address";
                fieldset {
                    legend { (t.get("manage.address_legend", &[])) }
                    label for="new_email" { (t.get("manage.address_label", &[])) }
                    input #new_email type="email" name="email" required autocomplete="email";
                    button type="submit" { (t.get("manage.address_button", &[])) }
                }
            }
        }
        form method="post" {
            input type="hidden" name="action" value="leave";
            fieldset {
                legend { (t.get("manage.leave_legend", &[])) }
                p { (t.get("manage.leave_text", &[("site", v.site)])) }
                button type="submit" { (t.get("manage.leave_button", &[])) }
            }
        }
    }
}

/// The form that mails a fresh subscription-page link.
pub fn fresh_form(t: &Texts, site: &str) -> Markup {
    html! {
        p { (t.get("fresh.intro", &[("site", site)])) }
        form method="post" action="/manage" {
            label for="fresh_email" { (t.get("fresh.email_label", &[])) }
            input #fresh_email type="email" name="email" required autocomplete="email";
            button type="submit" { (t.get("fresh.button", &[])) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_translation_overrides_keys_and_an_unknown_key_is_an_error_naming_it() {
        // Without the key check a misspelt key would silently keep the English text.
        let dir = tempfile::tempdir().unwrap();
        let t = Texts::load(dir.path()).unwrap();
        assert_eq!(t.get("subscribe.title", &[("site", "S")]), "Subscribe to S");
        std::fs::write(
            dir.path().join("signup.toml"),
            "[subscribe]\ntitle = \"Abonnieren: {site}\"\n",
        )
        .unwrap();
        let t = Texts::load(dir.path()).unwrap();
        assert_eq!(t.get("subscribe.title", &[("site", "S")]), "Abonnieren: S");
        assert_eq!(t.get("subscribe.button", &[]), "Subscribe", "others kept");
        std::fs::write(
            dir.path().join("signup.toml"),
            "[subscribe]\ntitel = \"x\"\n",
        )
        .unwrap();
        let e = Texts::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("signup.toml") && e.contains("subscribe.titel"),
            "{e}"
        );
    }
}
