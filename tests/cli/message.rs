//! The two ways a message is built are the same message: `Prepared::bytes` (written straight
//! into one buffer, used to send) and `Prepared::formatted` (lettre's builder, used for test
//! messages), parsed by an independent parser (mail-parser); signed, they carry the same DKIM
//! signatures (RSA and Ed25519 signatures are deterministic, so equal signatures mean the two
//! paths hashed the same canonical headers and body).

use digest::mail::{address, message::To};
use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

use crate::common::Project;

#[test]
fn the_fast_path_and_lettres_builder_make_the_same_message() {
    let p = Project::example();
    p.ok(&[
        "build",
        "best-of-distributed-systems",
        "--period",
        "2024-07",
    ]);
    let unsigned = p.prepared("best-of-distributed-systems", "2024-07");
    let config = p.read("config/digest.toml");
    p.write(
        "config/digest.toml",
        &format!("{config}\n[dkim]\ndomain = \"example.com\"\nselector = \"r\"\ned25519_selector = \"e\"\n"),
    );
    let (rsa, _, _) = crate::dkim::rsa_key();
    let (ed25519, _, _) = crate::dkim::ed25519_key();
    let signed = p.prepared_with(
        "best-of-distributed-systems",
        "2024-07",
        &[
            ("DIGEST__DKIM__KEY", &rsa),
            ("DIGEST__DKIM__ED25519_KEY", &ed25519),
        ],
    );
    let date = chrono::DateTime::parse_from_rfc3339("2024-08-01T08:00:00Z")
        .unwrap()
        .to_utc();
    let cases = [
        ("Ann.Lee@Example.com", Some("Ann \"Äpfel\" Lee\r\nBcc: x@y")),
        ("\"john doe\"@example.org", None),
    ];
    for ((raw, name), prepared) in cases
        .into_iter()
        .flat_map(|c| [(c, &unsigned), (c, &signed)])
    {
        let a = address::normalize(raw).unwrap();
        let to = To {
            subscriber: 7,
            key: &a.key,
            address: &a.address,
            name,
        };
        let (envelope, fast) = prepared.bytes(&to, date).unwrap();
        let (built_envelope, slow) = prepared.formatted(&to, date, false).unwrap();
        assert_eq!(envelope, built_envelope);
        let (f, s) = (
            MessageParser::default().parse(&fast).unwrap(),
            MessageParser::default().parse(&slow).unwrap(),
        );
        let headers = |m: &mail_parser::Message<'_>| {
            let mut v: Vec<(String, String)> = m
                .headers()
                .iter()
                .filter(|h| h.name() != "Date")
                .map(|h| (h.name().to_string(), format!("{:?}", h.value())))
                .collect();
            v.sort();
            v
        };
        assert_eq!(headers(&f), headers(&s), "{raw}");
        let signatures = headers(&f)
            .iter()
            .filter(|(name, _)| name == "DKIM-Signature")
            .count();
        assert_eq!(
            signatures,
            if std::ptr::eq(prepared, &signed) {
                2
            } else {
                0
            }
        );
        assert_eq!(f.date(), s.date());
        assert!(matches!(
            f.header("Content-Type"),
            Some(HeaderValue::ContentType(_))
        ));
        assert_eq!(f.subject(), Some("Best of Distributed Systems — July 2024"));
        // Same boundary, so the MIME bodies (after the headers) are the same bytes.
        let body = |m: &[u8]| m[m.windows(4).position(|w| w == b"\r\n\r\n").unwrap()..].to_vec();
        assert_eq!(body(&fast), body(&slow), "{raw}");
        assert_eq!(f.body_text(0), s.body_text(0), "{raw}");
        assert_eq!(f.body_html(0), s.body_html(0), "{raw}");
        let kinds = |m: &mail_parser::Message<'_>| -> Vec<String> {
            m.parts
                .iter()
                .filter_map(|p| {
                    p.content_type()
                        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
                })
                .collect()
        };
        assert_eq!(
            kinds(&f),
            ["multipart/alternative", "text/plain", "text/html"]
        );
        assert_eq!(kinds(&f), kinds(&s));
        assert!(
            f.body_text(0).unwrap().contains(&a.address.to_string()),
            "the recipient is spliced in"
        );
        assert!(
            !String::from_utf8_lossy(&fast).contains("\r\nBcc:"),
            "no header injected through the name"
        );
    }
}
