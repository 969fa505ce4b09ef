//! Configuration errors name file, key and line; overrides come from local.toml and the environment.

use std::collections::HashMap;

use digest::config::Config;

use crate::common::{Project, TEST_KEYS, assert_contains, config, output};

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
        "the environment variable DIGEST__SITE__BASE_URL: site.base_url: not a URL: relative URL \
         without a base"
    );
}

#[test]
fn an_environment_override_is_blamed_on_its_variable_every_time() {
    // 5 runs in 6 blamed config/digest.toml:9 (the digest's table) instead of the variable.
    let p = Project::new(&config("d", ""));
    for _ in 0..12 {
        let out = output(
            p.command(&["check"])
                .env("DIGEST__DIGESTS__D__MIN_SCORE", "abc"),
        );
        assert_eq!(out.code, 1, "{}", out.all());
        assert!(
            out.stderr.contains(
                "the environment variable DIGEST__DIGESTS__D__MIN_SCORE: digests.d.min_score: \
                 expected a floating point, found string \"abc\""
            ),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn an_unknown_key_does_not_hide_the_other_problems_of_its_table() {
    // The bad schedule and size appeared only once the unknown key was removed.
    let p = Project::new(&config(
        "d",
        "sizee = 3\nschedule = \"60 0 * * *\"\nmax_per_source = \"two\"\n\n[digests.e]\ntag = \"x\"\n\
         period = \"daily\"\nsize = 99\ncolour = \"red\"\n\n\
         [digests.e.scoring]\nupvote = 1\ncomments = \"many\"\n",
    ));
    let out = p.run(&["check"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert_contains(
        &out.stderr,
        &[
            "config/digest.toml:14: digests.d.sizee: unknown field `sizee`",
            "config/digest.toml:15: digests.d.schedule: \"60 0 * * *\" is not a valid schedule",
            "config/digest.toml:16: digests.d.max_per_source: expected an integer",
            "config/digest.toml:21: digests.e.size: must be between 1 and 40, not 99",
            "config/digest.toml:22: digests.e.colour: unknown field `colour`",
            "config/digest.toml:25: digests.e.scoring.upvote: unknown field `upvote`",
            "config/digest.toml:26: digests.e.scoring.comments: expected a floating point",
            "invalid configuration (7 problems)",
        ],
    );
}

#[test]
fn a_secret_in_a_file_is_refused_even_when_the_environment_sets_it() {
    // `[unsubscribe] keys` in local.toml and `[smtp] password` passed `digest check` whenever the
    // environment set them too; a password alone in a file was told "set both … or neither".
    let p = Project::new(&config(
        "d",
        "\n[smtp]\nhost = \"localhost\"\ntls = \"none\"\npassword = \"hunter2\"\n",
    ));
    p.write(
        "config/local.toml",
        &format!("[unsubscribe]\nkeys = \"{TEST_KEYS}\"\n"),
    );
    let env = [
        ("DIGEST__SMTP__USERNAME", "user"),
        ("DIGEST__SMTP__PASSWORD", "secret"),
    ];
    let out = output(p.command(&["check"]).envs(env));
    assert_eq!(out.code, 1, "{}", out.all());
    assert_contains(
        &out.stderr,
        &[
            "config/digest.toml:18: smtp.password: secrets come from the environment only: \
             remove it here and set DIGEST__SMTP__PASSWORD",
            "config/local.toml:2: unsubscribe.keys: secrets come from the environment only: \
             remove it here and set DIGEST__UNSUBSCRIBE__KEYS",
            "invalid configuration (2 problems)",
        ],
    );
    let out = p.run(&["check"]);
    assert!(!out.stderr.contains("set both"), "{}", out.stderr);
    assert_contains(
        &out.stderr,
        &["config/digest.toml:18: smtp.password: secrets come from the environment only"],
    );
}

#[test]
fn a_negative_min_score_is_refused() {
    // `min_score = -5` was accepted.
    let p = Project::new(&config("d", "min_score = -5"));
    let out = p.run(&["check"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert_contains(
        &out.stderr,
        &["config/digest.toml:14: digests.d.min_score: must be a number ≥ 0, not -5"],
    );
}

#[test]
fn check_names_every_configuration_file_it_read() {
    // With a local.toml, `check` said only "configuration OK: config/digest.toml".
    let p = Project::new(&config("d", ""));
    let out = p.ok(&["check"]);
    assert_contains(&out.stdout, &["configuration OK: config/digest.toml\n"]);
    p.write("config/local.toml", "[digests.d]\nsize = 7\n");
    let out = p.ok(&["check"]);
    assert_contains(
        &out.stdout,
        &["configuration OK: config/digest.toml, config/local.toml\n"],
    );
}
