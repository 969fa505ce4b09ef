//! `digest preview --serve` answers real HTTP requests with the rendered issue.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use crate::common::Project;

/// Sends one HTTP/1.1 GET and returns the whole response.
pub fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_answers_http_with_the_preview_on_loopback() {
    let p = Project::example();
    let mut child = Command::new(env!("CARGO_BIN_EXE_digest"))
        .args([
            "preview",
            "best-of-distributed-systems",
            "--period",
            "2024-07",
            "--serve",
            "127.0.0.1:0",
        ])
        .current_dir(p.root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let addr = stdout
        .lines()
        .map(|l| l.unwrap())
        .find_map(|l| {
            Some(
                l.strip_prefix("serving http://")?
                    .split('/')
                    .next()?
                    .to_string(),
            )
        })
        .expect("a serving line");
    let response = http_get(&addr, "/");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response:.200}");
    assert!(
        response
            .to_lowercase()
            .contains("content-type: text/html; charset=utf-8")
    );
    assert!(response.contains("<h1 class=\"title\""));
    assert!(response.contains("Best of Distributed Systems — July 2024"));
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
}
