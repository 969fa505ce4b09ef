//! A throw-away project folder and a runner for the real `digest` binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// The repository root (for the bundled config, theme and catalogue).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What a command printed and how it exited.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout and stderr together, for assertions that do not care which.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A project folder in a temporary directory: `config/`, `templates/`, `catalog/`.
pub struct Project {
    dir: tempfile::TempDir,
}

/// A minimal `digest.toml` with one digest on `tag`, plus `extra` TOML appended.
pub fn config(digest: &str, extra: &str) -> String {
    format!(
        r#"[site]
name = "Test Site"
base_url = "https://news.example.org"

[sources.main]
kind = "jsonl"
path = "catalog/main.jsonl"

[digests.{digest}]
tag = "distributed-systems"
period = "monthly"
size = 5
min_items = 1
{extra}
"#
    )
}

/// One catalogue line.
pub fn article(
    url: &str,
    title: &str,
    source: &str,
    tags: &[&str],
    published: &str,
    upvotes: u64,
) -> String {
    json!({
        "url": url, "title": title, "summary": format!("About {title}."), "kind": "article",
        "source": {"id": source, "name": source.to_uppercase(), "avatar": format!("https://img.example/{source}.png")},
        "tags": tags, "published_at": published, "upvotes": upvotes, "comments": 0
    })
    .to_string()
}

/// Fails the test unless `text` contains every one of `wants`, showing `text`.
pub fn assert_contains(text: &str, wants: &[&str]) {
    for want in wants {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

impl Project {
    /// A project with the given `digest.toml`, the repository's theme and an empty catalogue.
    pub fn new(digest_toml: &str) -> Project {
        let p = Project {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        p.write("config/digest.toml", digest_toml);
        for file in ["theme.toml", "email.css"] {
            let text = std::fs::read_to_string(repo().join("templates").join(file)).unwrap();
            p.write(&format!("templates/{file}"), &text);
        }
        p.write("catalog/main.jsonl", "");
        p
    }

    /// A copy of the bundled example project.
    pub fn example() -> Project {
        let config = std::fs::read_to_string(repo().join("config/digest.toml")).unwrap();
        let p = Project::new(&config);
        let catalog = std::fs::read_to_string(repo().join("catalog/articles-2024.jsonl")).unwrap();
        p.write("catalog/articles-2024.jsonl", &catalog);
        p
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    /// Writes the catalogue `catalog/main.jsonl` from lines.
    pub fn catalog(&self, lines: &[String]) {
        self.write("catalog/main.jsonl", &(lines.join("\n") + "\n"));
    }

    /// Runs `digest` in the project folder.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_digest"))
            .args(args)
            .current_dir(self.root())
            .env_remove("DIGEST_CONFIG")
            .env("NO_COLOR", "1")
            .output()
            .expect("running digest");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `digest` and fails the test unless it exits 0.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(out.code, 0, "digest {args:?} failed:\n{}", out.all());
        out
    }

    /// Runs `digest` and fails the test unless it exits 1.
    pub fn fails(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(out.code, 1, "digest {args:?} should fail:\n{}", out.all());
        out
    }

    /// The frozen issue of `digest` for `period`, parsed.
    pub fn issue(&self, digest: &str, period: &str) -> Value {
        serde_json::from_str(&self.read(&format!("digests/{digest}/{period}/issue.json"))).unwrap()
    }

    /// Titles of the items of a frozen issue, in order.
    pub fn titles(&self, digest: &str, period: &str) -> Vec<String> {
        self.issue(digest, period)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect()
    }
}
