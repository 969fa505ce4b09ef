//! Configuration errors name file, key and line; overrides come from local.toml and the environment.

use std::collections::HashMap;

use digest::config::Config;

use crate::common::{Project, config};

#[test]
fn check_lists_every_problem_with_file_line_and_key() {
    let toml = r#"[site]
name = "S"
base_url = "ftp://files.example"

[smtpp]
host = "x"

[sources.main]
kind = "jsonl"
path = "catalog/missing.jsonl"

[digests.bad-values]
tag = "distributed-systems"
period = "monthly"
timezone = "Mars/Olympus_Mons"
size = 0
title = "Best of {topic}"

[digests.typo]
tag = "x"
period = "monthly"
sizee = 3

[digests.yearly]
tag = "x"
period = "yearly"

[digests.Bad_Id]
tag = "x"
period = "monthly"
"#;
    let p = Project::new(toml);
    let out = p.run(&["check"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let e = &out.stderr;
    for want in [
        "config/digest.toml:3: site.base_url: must be an http(s) URL",
        "config/digest.toml:5: smtpp: unknown section",
        "config/digest.toml:15: digests.bad-values.timezone: unknown time zone \"Mars/Olympus_Mons\"",
        "config/digest.toml:16: digests.bad-values.size: must be between 1 and 40, not 0",
        "config/digest.toml:17: digests.bad-values.title: unknown placeholder {topic}",
        "config/digest.toml:22: digests.typo.sizee: unknown field `sizee`",
        "config/digest.toml:26: digests.yearly.period: unknown value \"yearly\" (use one of: daily, weekly, monthly)",
        "config/digest.toml:28: digests.Bad_Id: name must be lowercase letters, digits and '-'",
    ] {
        assert!(e.contains(want), "missing {want:?} in:\n{e}");
    }
    assert!(e.contains("invalid configuration (8 problems)"), "{e}");
}

#[test]
fn check_finds_missing_sources_and_a_broken_theme() {
    let p = Project::new(&config("d", ""));
    std::fs::remove_file(p.path("catalog/main.jsonl")).unwrap();
    p.write(
        "templates/theme.toml",
        &p.read("templates/theme.toml")
            .replace("accent = ", "accent_ = "),
    );
    let out = p.run(&["check"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "config/digest.toml:7: sources.main.path: file not found: catalog/main.jsonl"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("templates/theme.toml: colors.accent is missing"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_syntax_error_names_the_line() {
    let p = Project::new("[site]\nname = \"S\"\nbase_url = https://x\n");
    let out = p.run(&["check"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("config/digest.toml:3: syntax error:"),
        "{}",
        out.stderr
    );
    // Every command refuses a broken configuration the same way.
    let out = p.run(&["build", "d"]);
    assert!(
        out.stderr.contains("config/digest.toml:3: syntax error:"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_configuration_folder_is_explained() {
    let p = Project::new(&config("d", ""));
    let out = p.run(&["--config", "elsewhere", "check"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("elsewhere/digest.toml: file not found"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_good_configuration_passes_check() {
    let p = Project::example();
    let out = p.ok(&["check"]);
    assert!(
        out.stdout.contains(
            "best-of-distributed-systems: monthly in UTC, tags [distributed-systems], 14 items"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn local_toml_and_environment_override_digest_toml() {
    let p = Project::new(&config("d", ""));
    p.write(
        "config/local.toml",
        "[site]\nname = \"Local Name\"\n\n[digests.d]\nsize = 7\n",
    );
    let env = HashMap::from([(
        "DIGEST__SITE__BASE_URL".to_string(),
        "https://env.example.net/".to_string(),
    )]);
    let c = Config::load_with_env(&p.path("config"), Some(env.into_iter().collect())).unwrap();
    assert_eq!(c.site.name, "Local Name");
    assert_eq!(c.site.base_url, "https://env.example.net");
    assert_eq!(c.digests["d"].size, 7);
    assert_eq!(
        c.digests["d"].period,
        digest::period::PeriodKind::Monthly,
        "other keys kept"
    );
}

#[test]
fn a_bad_environment_override_names_the_environment() {
    let p = Project::new(&config("d", ""));
    let env = HashMap::from([(
        "DIGEST__SITE__BASE_URL".to_string(),
        "not a url".to_string(),
    )]);
    let e = Config::load_with_env(&p.path("config"), Some(env.into_iter().collect())).unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert_eq!(
        e.0[0].to_string(),
        "the environment: site.base_url: not a URL: relative URL without a base"
    );
}
