//! `digest init` (a new project that works at once, offline), `digest completions` and
//! `digest man`: all of them run without a configuration folder.

use std::path::Path;
use std::process::Command;

use clap::CommandFactory as _;
use digest::cli::Cli;

use crate::common::{Output, assert_contains, output};

/// Runs `digest` in `dir` with a clean environment: no configuration folder, no unsubscribe keys.
fn digest_in(dir: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_digest"));
    c.args(args)
        .current_dir(dir)
        .env_remove("DIGEST_CONFIG")
        .env_remove("DIGEST__UNSUBSCRIBE__KEYS")
        .env("NO_COLOR", "1");
    output(&mut c)
}

/// Runs `digest` in `dir` and fails the test unless it exits 0.
fn ok_in(dir: &Path, args: &[&str]) -> Output {
    let out = digest_in(dir, args);
    assert_eq!(out.code, 0, "digest {args:?} failed:\n{}", out.all());
    out
}

/// The names of the subcommands, from the clap definitions.
fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect()
}

/// The item titles of an RSS document.
fn item_titles(feed: &str) -> Vec<String> {
    feed.split("<item>")
        .skip(1)
        .map(|item| {
            let start = item.find("<title>").unwrap() + "<title>".len();
            item[start..start + item[start..].find("</title>").unwrap()].to_string()
        })
        .collect()
}

/// The file a command reported writing (`wrote FILE (N bytes)`).
fn wrote(out: &Output) -> &str {
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("wrote "))
        .unwrap();
    let rest = &line["wrote ".len()..];
    &rest[..rest.find(" (").unwrap()]
}

#[test]
fn init_then_check_and_preview_pass_in_a_fresh_folder_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let init = ok_in(dir.path(), &["init"]);
    assert_contains(
        &init.stdout,
        &[
            "digest check",
            "digest preview my-digest",
            "DIGEST__UNSUBSCRIBE__KEYS",
            "digest send my-digest --dry-run",
        ],
    );
    for file in [
        "config/digest.toml",
        "catalog/example-feed.xml",
        "lists/readers.csv",
        "templates/theme.toml",
        "templates/email.css",
        ".gitignore",
    ] {
        assert!(dir.path().join(file).is_file(), "{file} not written");
    }
    assert_contains(
        &std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        &["*.db*", "reports/", "digests/*/*/samples/", ".env"],
    );

    let check = ok_in(dir.path(), &["check"]);
    assert_contains(&check.stdout, &["configuration OK", "my-digest"]);

    let preview = ok_in(dir.path(), &["preview", "my-digest"]);
    let html = std::fs::read_to_string(dir.path().join(wrote(&preview))).unwrap();
    let feed = std::fs::read_to_string(dir.path().join("catalog/example-feed.xml")).unwrap();
    let titles = item_titles(&feed);
    assert_eq!(titles.len(), 5, "{feed}");
    for title in &titles {
        assert!(
            html.contains(title.as_str()),
            "{title:?} missing from the preview"
        );
    }
}

#[test]
fn init_refuses_a_folder_that_is_not_empty_naming_what_it_holds_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let out = digest_in(dir.path(), &["init", "."]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert_contains(&out.stderr, &["notes.txt", "not empty"]);
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1, "wrote something: {entries:?}");
}

#[test]
fn init_refuses_to_overwrite_a_project_file_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("project")).unwrap();
    std::fs::write(dir.path().join("project/.gitignore"), "mine\n").unwrap();
    let out = digest_in(dir.path(), &["init", "project"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert_contains(
        &out.stderr,
        &["project/.gitignore exists", "never overwrites"],
    );
    let gitignore = std::fs::read_to_string(dir.path().join("project/.gitignore")).unwrap();
    assert_eq!(gitignore, "mine\n");
    assert!(!dir.path().join("project/config").exists());
}

#[test]
fn bash_completions_offer_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let script = ok_in(dir.path(), &["completions", "bash"]).stdout;
    assert!(
        script.contains("complete -F"),
        "not a bash completion script"
    );
    for name in subcommands() {
        assert!(
            script.contains(&name),
            "{name} missing from the completions"
        );
    }
}

#[test]
fn man_page_has_its_title_and_names_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let page = ok_in(dir.path(), &["man"]).stdout;
    assert!(page.contains(".TH digest"), "no title:\n{page}");
    let names = subcommands();
    assert_contains(&format!("{names:?}"), &["init", "completions", "man"]);
    for name in names {
        assert!(
            page.contains(&format!("digest\\-{name}(1)")),
            "{name} missing"
        );
    }
}

#[test]
fn man_out_writes_a_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok_in(dir.path(), &["man", "--out", "man"]);
    for page in ["digest.1", "digest-init.1", "digest-suppress-add.1"] {
        let text = std::fs::read_to_string(dir.path().join("man").join(page)).unwrap();
        assert!(
            text.starts_with(".ie") && text.contains(".TH "),
            "{page}:\n{text}"
        );
        assert!(
            out.stdout.contains(page),
            "{page} not reported:\n{}",
            out.stdout
        );
    }
}
