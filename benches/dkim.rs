//! DKIM signing cost on one core: the bundled example issue's message to 256 recipients, as a
//! send worker builds it, signed with `Signer::sign` (relaxed canonicalisation, the body hash, the
//! header hash and the signature), first with the RSA key alone, then with RSA and Ed25519 (dual
//! signing); and the signature alone, as `openssl speed rsa2048` measures it: the same messages'
//! header blocks (empty bodies) signed with the RSA key. Prints signatures per second of this
//! thread's CPU time (from `/proc/thread-self/schedstat`, so other work on the machine does not
//! count), to compare with `openssl speed rsa2048`, which reports CPU (user) time of one thread.
//!
//! `dkim CONFIG_DIR SECONDS`: CONFIG_DIR has `[dkim]` with `ed25519_selector`, the example issue
//! frozen, and `DIGEST__DKIM__KEY` and `DIGEST__DKIM__ED25519_KEY` in the environment.

mod common;

use std::hint::black_box;
use std::path::PathBuf;

use digest::clock::{Clock, SystemClock};
use digest::mail::dkim::Signer;
use digest::mail::message::To;

/// CPU time of this thread so far, in seconds.
fn thread_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    let ns: f64 = stat.split_whitespace().next().unwrap().parse().unwrap();
    ns / 1e9
}

/// Signatures (messages signed) per CPU-second of `signer` over `messages`, for about `seconds`.
fn rate(signer: &Signer, messages: &[Vec<u8>], seconds: f64) -> f64 {
    let start = thread_cpu();
    let mut n = 0usize;
    while thread_cpu() - start < seconds {
        for _ in 0..32 {
            black_box(
                signer
                    .sign(&messages[n % messages.len()], 1_722_499_200)
                    .unwrap(),
            );
            n += 1;
        }
    }
    n as f64 / (thread_cpu() - start)
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let usage = "usage: dkim CONFIG_DIR SECONDS";
    let config_dir = PathBuf::from(args.next().expect(usage));
    let seconds: f64 = args.next().expect(usage).parse().expect(usage);
    let (mut config, _) =
        common::prepare(&config_dir, "best-of-distributed-systems", "2024-07").unwrap();
    let dual = config
        .sending
        .dkim
        .take()
        .expect("[dkim] in the configuration");
    assert!(dual.ed25519.is_some(), "[dkim] ed25519_selector");
    let d = config.digest("best-of-distributed-systems").unwrap();
    let period = digest::period::Period::parse_as(d.period, "2024-07").unwrap();
    let issue = digest::issue::find(&config.paths.digests, &d.id, period)
        .unwrap()
        .unwrap();
    let unsigned = digest::mail::campaign::prepare(&config, d, &issue).unwrap();
    let date = SystemClock.now();
    let messages: Vec<Vec<u8>> = (0..256)
        .map(|i| {
            let (subscriber, key, address, name) = common::recipient(i);
            let to = To {
                subscriber,
                key: &key,
                address: &address,
                name: Some(&name),
            };
            unsigned.bytes(&to, date).unwrap().1
        })
        .collect();
    let rsa_only = digest::config::Dkim {
        ed25519: None,
        ..dual.clone()
    };
    // Each header block ends with the blank line: a message whose body is empty.
    let heads: Vec<Vec<u8>> = messages
        .iter()
        .map(|m| {
            let blank = memchr::memmem::find(m, b"\r\n\r\n").expect("a header block");
            m[..blank + 4].to_vec()
        })
        .collect();
    let rsa_signer = Signer::new(&rsa_only).unwrap();
    let sign_only = rate(&rsa_signer, &heads, seconds);
    let rsa = rate(&rsa_signer, &messages, seconds);
    let both = rate(&Signer::new(&dual).unwrap(), &messages, seconds);
    println!(
        "message_bytes={} rsa_sign_per_cpu_s={sign_only:.1} rsa_per_cpu_s={rsa:.1} dual_per_cpu_s={both:.1}",
        messages[0].len()
    );
}
