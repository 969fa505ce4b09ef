//! Personalization throughput: the bundled example issue rendered once, then one complete message
//! per recipient (unsubscribe token, Message-ID, headers, spliced quoted-printable bodies, the
//! formatted bytes) exactly as a send worker builds it. Single-threaded, so messages/s is per core.
//!
//! `cargo bench --bench personalize` (the example issue frozen, or `BENCH_CONFIG` naming a config
//! folder where it is); `scripts/bench` reads criterion's median from
//! `target/criterion/personalize/message/new/estimates.json`.

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use digest::clock::{Clock, SystemClock};
use digest::mail::message::To;

fn personalize(c: &mut Criterion) {
    // scripts/bench points this at a copy of the project where the example issue is frozen.
    let config = std::env::var_os("BENCH_CONFIG").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        PathBuf::from,
    );
    let (_, prepared) = common::prepare(&config, "best-of-distributed-systems", "2024-07").expect(
        "preparing the example issue: freeze it first (`digest build \
             best-of-distributed-systems --period 2024-07`) or set BENCH_CONFIG to a config folder",
    );
    let recipients: Vec<_> = (0..1024).map(common::recipient).collect();
    let date = SystemClock.now();
    let mut group = c.benchmark_group("personalize");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("message", |b| {
        b.iter(|| {
            let (subscriber, key, address, name) = &recipients[i % recipients.len()];
            i += 1;
            let to = To {
                subscriber: *subscriber,
                key,
                address,
                name: Some(name),
            };
            black_box(prepared.bytes(&to, date).expect("a message"))
        })
    });
    group.finish();
}

criterion_group!(benches, personalize);
criterion_main!(benches);
