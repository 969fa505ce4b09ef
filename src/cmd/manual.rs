//! `digest completions` and `digest man`: the shell completions and man pages of the command line,
//! generated from the same clap definitions that parse it ([`crate::cli::Cli`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs, ManArgs};

/// Prints the completion script for the shell asked for.
pub(super) fn completions(args: &CompletionsArgs) -> Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "digest", &mut script);
    super::write_out(format_args!("{}", String::from_utf8_lossy(&script)));
    Ok(ExitCode::SUCCESS)
}

/// Prints the main man page, or writes every page into `--out`.
pub(super) fn man(args: &ManArgs) -> Result<ExitCode> {
    // `digest help` is clap's, and `--help` says the same: no page of its own.
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    match &args.out {
        None => super::write_out(format_args!("{}", page(&clap_mangen::Man::new(command))?)),
        Some(dir) => {
            for path in write_pages(command, dir)? {
                say!("wrote {}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The roff text of one man page.
fn page(man: &clap_mangen::Man) -> Result<String> {
    let mut roff = Vec::new();
    man.render(&mut roff).context("rendering the man page")?;
    Ok(String::from_utf8_lossy(&roff).into_owned())
}

/// Writes the page of `command` and of each of its subcommands, at any depth, into `dir`
/// (`digest.1`, `digest-send.1`, `digest-suppress-add.1`); returns the files written.
fn write_pages(command: clap::Command, dir: &Path) -> Result<Vec<PathBuf>> {
    let subcommands: Vec<clap::Command> = command
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let man = clap_mangen::Man::new(command);
    let path = dir.join(man.get_filename());
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    crate::files::replace(&path, page(&man)?.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    let mut written = vec![path];
    for sub in subcommands {
        written.extend(write_pages(sub, dir)?);
    }
    Ok(written)
}
