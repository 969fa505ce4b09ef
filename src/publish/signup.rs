//! Readers who join, choose and leave on their own: what the daemon's sign-up, confirmation and
//! subscription pages do. Nothing is stored before a reader confirms: the confirmation link
//! carries the sign-up ([`Pending`]); confirming stores the member, the consent record and the
//! used token in one transaction.

use std::net::IpAddr;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Duration, Utc};
use lettre::Message;
use lettre::address::Envelope;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};

use super::subscribers::{default_digests, digests_of, signup_lists};
use crate::clock::Clock;
use crate::config::{Config, List};
use crate::mail::address::{self, Normalized};
use crate::mail::campaign;
use crate::model::signup::{Pending, Reader, network};
use crate::model::token::Keys;
use crate::period::PeriodKind;
use crate::render::Theme;
use crate::render::signup::{Mail, Texts, link_mail};
use crate::store::{Consent, Member, Store};

/// Longest pause a reader may choose, in weeks.
pub const MAX_PAUSE_WEEKS: i64 = 52;

/// A digest a sign-up list offers, as the form shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Digest id (the form value).
    pub id: String,
    /// What it is about: "Distributed Systems".
    pub name: String,
    /// How often it comes.
    pub cadence: PeriodKind,
    /// Ticked on a new form.
    pub default: bool,
}

impl Offer {
    /// "Distributed Systems (monthly)", the cadence in the texts' language.
    pub fn label(&self, texts: &Texts) -> String {
        format!("{} ({})", self.name, texts.cadence(self.cadence))
    }
}

/// The labels of the digests `ids` among `offers`, joined for a sentence: "A (monthly), B (weekly)".
pub fn labels(offers: &[Offer], ids: &[String], texts: &Texts) -> String {
    offers
        .iter()
        .filter(|o| ids.contains(&o.id))
        .map(|o| o.label(texts))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sign-up list `name` names, or the first one (by name) when `None`.
pub fn list<'c>(config: &'c Config, name: Option<&str>) -> Option<&'c List> {
    match name.filter(|n| !n.is_empty()) {
        Some(n) => signup_lists(config).find(|l| l.name == n),
        None => signup_lists(config).next(),
    }
}

/// The digests `list` offers, in id order.
pub fn offers(config: &Config, list: &List) -> Vec<Offer> {
    let defaults = default_digests(config, list);
    digests_of(config, &list.name)
        .into_iter()
        .map(|d| Offer {
            id: d.id.clone(),
            name: d.tag_name.clone(),
            cadence: d.period,
            default: defaults.contains(&d.id),
        })
        .collect()
}

/// What the sign-up form sent.
#[derive(Debug, Clone, Default)]
pub struct Form {
    /// The list (hidden field; default the first sign-up list).
    pub list: Option<String>,
    /// The address.
    pub email: String,
    /// Optional name.
    pub name: String,
    /// The digests ticked.
    pub digests: Vec<String>,
}

/// Why a form is refused; the page says so (none of these depends on who is subscribed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The address is not one.
    Address(String),
    /// No digest ticked (or none this list offers).
    NoDigest,
    /// No such sign-up list.
    NoList,
}

/// The sign-up `form` asks for, checked: the address parses, the digests are offered.
pub fn pending(
    config: &Config,
    form: &Form,
    now: DateTime<Utc>,
) -> Result<(Pending, Normalized), Refusal> {
    let list = list(config, form.list.as_deref()).ok_or(Refusal::NoList)?;
    let address = address::normalize(&form.email).map_err(Refusal::Address)?;
    let offered = offers(config, list);
    let digests: Vec<String> = offered
        .iter()
        .filter(|o| form.digests.contains(&o.id))
        .map(|o| o.id.clone())
        .collect();
    if digests.is_empty() {
        return Err(Refusal::NoDigest);
    }
    let name = crate::text::one_line(&form.name, 100);
    let pending = Pending {
        list: list.name.clone(),
        address: address.address.to_string(),
        name: (!name.is_empty()).then_some(name),
        digests,
        issued: now.timestamp(),
        replaces: None,
    };
    Ok((pending, address))
}

/// The keys that sign confirmation and subscription-page links (the unsubscribe keys).
pub fn keys(config: &Config) -> Result<Keys> {
    campaign::keys(config)
}

/// The link a confirmation mail carries.
pub fn confirm_url(config: &Config, keys: &Keys, pending: &Pending) -> String {
    format!("{}/confirm/{}", config.site.base_url, pending.seal(keys))
}

/// The link to a reader's subscription page.
pub fn manage_url(config: &Config, keys: &Keys, reader: Reader) -> String {
    format!("{}/manage/{}", config.site.base_url, reader.seal(keys))
}

/// A message to `to` with a plain-text and an HTML part, from `[mail] from`, dated `now` and
/// DKIM-signed when `[dkim]` is configured, ready for the transport.
pub fn message(
    config: &Config,
    to: &str,
    mail: &Mail,
    now: DateTime<Utc>,
) -> Result<(Envelope, Vec<u8>)> {
    let from = config
        .sending
        .mail
        .as_ref()
        .ok_or_else(|| anyhow!("no [mail] section in the configuration: set mail.from"))?
        .from
        .clone();
    let to: Mailbox = to.parse().map_err(|e| anyhow!("{to:?}: {e}"))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(&mail.subject)
        .date(now.into())
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(mail.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(mail.html.clone()),
                ),
        )?;
    let dkim = config.sending.dkim.as_ref();
    let bytes = crate::mail::dkim::signed(dkim, message.formatted(), now.timestamp())?;
    Ok((message.envelope().clone(), bytes))
}

/// The confirmation mail of `pending`, in the texts' language.
pub fn confirmation_mail(config: &Config, keys: &Keys, pending: &Pending) -> Result<Mail> {
    let (theme, texts) = look(config)?;
    let offers = list(config, Some(&pending.list)).map_or_else(Vec::new, |l| offers(config, l));
    let site = config.site.name.as_str();
    let digests = labels(&offers, &pending.digests, &texts);
    let days = (crate::model::signup::CONFIRM_TTL / 86_400).to_string();
    let values = [
        ("site", site),
        ("digests", digests.as_str()),
        ("days", days.as_str()),
    ];
    Ok(link_mail(
        &theme,
        texts.get("confirm_mail.subject", &values),
        texts.get("confirm_mail.text", &values),
        &confirm_url(config, keys, pending),
        texts.get("confirm_mail.button", &values),
        Some(texts.get("confirm_mail.ignore", &values)),
    ))
}

/// The mail carrying a subscription-page link: `kind` is `welcome_mail` (after a confirmation)
/// or `fresh_mail` (asked for on the page).
pub fn link_to_manage(config: &Config, kind: &str, url: &str, digests: &str) -> Result<Mail> {
    let (theme, texts) = look(config)?;
    let values = [("site", config.site.name.as_str()), ("digests", digests)];
    Ok(link_mail(
        &theme,
        texts.get(&format!("{kind}.subject"), &values),
        texts.get(&format!("{kind}.text"), &values),
        url,
        texts.get("confirm.manage_link", &values),
        (kind == "fresh_mail").then(|| texts.get("fresh_mail.ignore", &values)),
    ))
}

/// The theme and the texts of the pages and mails.
pub fn look(config: &Config) -> Result<(Theme, Texts)> {
    Ok((
        Theme::load(&config.paths.templates)?,
        Texts::load(&config.paths.templates)?,
    ))
}

/// Token purpose of proof-of-work challenges.
const POW: &str = "pow";
/// How long a proof-of-work challenge is good for, in seconds.
const POW_TTL: i64 = 3600;

/// A fresh proof-of-work challenge: a signed timestamp, so the server keeps no state.
pub fn pow_challenge(keys: &Keys, now: DateTime<Utc>) -> String {
    keys.seal(POW, &now.timestamp().to_be_bytes())
}

/// Whether `nonce` solves `challenge` (genuine, at most an hour old) at `bits`: SHA-256 of
/// `challenge:nonce` starts with `bits` zero bits.
pub fn pow_ok(keys: &Keys, challenge: &str, nonce: &str, bits: u32, now: DateTime<Utc>) -> bool {
    use sha2::{Digest as _, Sha256};
    let Some((payload, _)) = keys.open(POW, challenge) else {
        return false;
    };
    let Ok(issued) = <[u8; 8]>::try_from(payload.as_slice()).map(i64::from_be_bytes) else {
        return false;
    };
    let age = now.timestamp() - issued;
    if !(0..=POW_TTL).contains(&age) || nonce.len() > 20 {
        return false;
    }
    let hash = Sha256::digest(format!("{challenge}:{nonce}").as_bytes());
    let mut zeros = 0;
    for b in hash {
        zeros += b.leading_zeros();
        if b != 0 {
            break;
        }
    }
    zeros >= bits
}

/// Hands one message to the configured relay.
pub async fn deliver(config: &Config, envelope: &Envelope, bytes: &[u8]) -> Result<()> {
    let transport = campaign::smtp_connector(config)?;
    let mut connection = transport.connect().await?;
    let sent = connection.send(envelope, bytes).await;
    connection.close().await;
    sent?;
    Ok(())
}

/// What a confirmation POST did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// The reader is a member now; their subscriber id (for the subscription-page link).
    Joined(Pending, i64),
    /// The link was used already: nothing changed.
    Used,
    /// Not a genuine, unexpired link, or for a list that no longer takes sign-ups.
    Invalid,
}

/// Confirms the sign-up `token` carries: in one transaction, stores the member (or moves the
/// memberships of the address it replaces), the consent record (`text`, the time, the network
/// of `ip`), marks the token used and lifts the reader's old unsubscribe suppressions.
pub fn confirm(
    config: &Config,
    store: &mut Store,
    token: &str,
    ip: Option<IpAddr>,
    text: &str,
    clock: &dyn Clock,
) -> Result<Confirmed> {
    let keys = keys(config)?;
    let now = clock.now();
    let Some((pending, name)) = Pending::open(&keys, token, now.timestamp()) else {
        return Ok(Confirmed::Invalid);
    };
    let Some(list) = list(config, Some(&pending.list)) else {
        return Ok(Confirmed::Invalid);
    };
    let address = address::normalize(&pending.address).map_err(|e| anyhow!(e))?;
    let offered: Vec<String> = offers(config, list).into_iter().map(|o| o.id).collect();
    let digests: Vec<String> = pending
        .digests
        .iter()
        .filter(|d| offered.contains(d))
        .cloned()
        .collect();
    let consent = Consent {
        at: now,
        form: if pending.replaces.is_some() {
            "manage"
        } else {
            "subscribe"
        }
        .into(),
        text: text.to_string(),
        digests: digests.clone(),
        ip: ip.map(network),
    };
    store.transaction(|s| {
        if !s.use_token(&name, now)? {
            return Ok(Confirmed::Used);
        }
        let mut members = vec![Member {
            list: list.name.clone(),
            address: address.key.clone(),
            send_to: address.address.to_string(),
            name: pending.name.clone(),
            digests: digests.clone(),
            paused_until: None,
            consent: consent.clone(),
        }];
        if let Some(old) = &pending.replaces {
            // An address change: every membership of the old address moves, choices kept.
            members = s
                .memberships(old)?
                .into_iter()
                .map(|m| Member {
                    address: address.key.clone(),
                    send_to: address.address.to_string(),
                    consent: Consent {
                        digests: m.digests.clone(),
                        ..consent.clone()
                    },
                    ..m
                })
                .collect();
            s.leave(old)?;
        }
        for m in &members {
            s.join(m)?;
        }
        s.lift_unsubscribed(&address.key)?;
        let id = s.subscriber_id(&address.key)?;
        crate::fault::point("signup-confirm");
        Ok(Confirmed::Joined(pending.clone(), id))
    })
}

/// What a subscription page shows: the reader's address and their memberships with the digests
/// each list offers.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The reader.
    pub reader: Reader,
    /// Their address key.
    pub address: String,
    /// Their memberships (empty for a reader only on configured lists) and each list's offers.
    pub memberships: Vec<(Member, Vec<Offer>)>,
}

/// The subscription a manage token names, if it is genuine and names a known reader.
pub fn subscription(config: &Config, store: &Store, token: &str) -> Result<Option<Subscription>> {
    let keys = keys(config)?;
    let Some(reader) = Reader::open(&keys, token) else {
        return Ok(None);
    };
    let Some(address) = store.subscriber_address(reader.0)? else {
        return Ok(None);
    };
    if address.starts_with("sha256:") {
        return Ok(None); // forgotten
    }
    let memberships = store
        .memberships(&address)?
        .into_iter()
        .map(|m| {
            let offers = list(config, Some(&m.list)).map_or_else(Vec::new, |l| offers(config, l));
            (m, offers)
        })
        .collect();
    Ok(Some(Subscription {
        reader,
        address,
        memberships,
    }))
}

/// Sets the digests `chosen` (among those each list offers) on every membership of the
/// subscription, and a pause of `pause_weeks` (0: none; at most [`MAX_PAUSE_WEEKS`]).
pub fn choose(
    store: &mut Store,
    subscription: &Subscription,
    chosen: &[String],
    pause_weeks: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let weeks = pause_weeks.clamp(0, MAX_PAUSE_WEEKS);
    let until = (weeks > 0).then(|| now + Duration::weeks(weeks));
    store.transaction(|s| {
        for (m, offers) in &subscription.memberships {
            let digests: Vec<String> = offers
                .iter()
                .filter(|o| chosen.contains(&o.id))
                .map(|o| o.id.clone())
                .collect();
            s.choose(&m.list, &m.address, &digests, until)?;
        }
        Ok(())
    })
}

/// The subscription again, as the store has it now (after [`choose`]).
pub fn reread(store: &Store, subscription: &Subscription) -> Result<Subscription> {
    let memberships = store
        .memberships(&subscription.address)?
        .into_iter()
        .map(|m| {
            let offers = subscription
                .memberships
                .iter()
                .find(|(old, _)| old.list == m.list)
                .map_or_else(Vec::new, |(_, o)| o.clone());
            (m, offers)
        })
        .collect();
    Ok(Subscription {
        memberships,
        ..subscription.clone()
    })
}

/// Unsubscribes the reader from everything: the same suppression a one-click unsubscribe
/// writes (for every digest), and their memberships end; whether the suppression is new.
pub fn unsubscribe_all(
    store: &mut Store,
    subscription: &Subscription,
    now: DateTime<Utc>,
) -> Result<bool> {
    store.transaction(|s| {
        let new = super::suppress::unsubscribe(s, &subscription.address, None, "manage page", now)?;
        s.leave(&subscription.address)?;
        Ok(new)
    })
}

/// The subscription-page link for the address `raw` (and the address to mail it to), if the
/// store knows the reader: a member, or someone a digest went to. `None` otherwise; the page that
/// asks answers the same either way.
pub fn fresh_link(
    config: &Config,
    store: &mut Store,
    raw: &str,
) -> Result<Option<(String, String)>> {
    let Ok(address) = address::normalize(raw) else {
        return Ok(None);
    };
    let known =
        !store.memberships(&address.key)?.is_empty() || store.has_subscriber(&address.key)?;
    if !known {
        return Ok(None);
    }
    let id = store.subscriber_id(&address.key)?;
    let url = manage_url(config, &keys(config)?, Reader(id));
    Ok(Some((address.address.to_string(), url)))
}
