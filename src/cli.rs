//! Command-line arguments (clap). `main.rs` parses them and hands them to [`crate::cmd::run`].

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Builds ranked newsletter digests from tagged articles, renders and mails them.
#[derive(Debug, Parser)]
#[command(
    name = "digest",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Configuration folder holding digest.toml (and optional local.toml).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "config",
        env = "DIGEST_CONFIG"
    )]
    pub config: PathBuf,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the configuration, sources, theme and store; print every problem.
    Check,
    /// Load the configured sources into the store.
    Ingest(IngestArgs),
    /// Freeze the issue of a digest for a period into digests/DIGEST/PERIOD/issue.json.
    Build(BuildArgs),
    /// Render an issue as HTML (or text) for review, optionally serving it over HTTP.
    Preview(PreviewArgs),
    /// Send a frozen issue to the digest's lists (rehearse with --dry-run, test with --to).
    Send(SendArgs),
    /// Show the delivery ledger of a digest's issues: counts per state and failures.
    Status(StatusArgs),
    /// Edit a frozen issue that has not started sending: drop, pin or move items, set an
    /// editor's note, the subject line or the preheader.
    Edit(EditArgs),
    /// Approve an issue that awaits review (`review = "required"`), so it may be sent.
    Approve(ApproveArgs),
    /// Manage suppressions (addresses never to mail).
    Suppress(SuppressArgs),
    /// The readers who joined sign-up lists: list, export (CSV with consent), import, forget.
    Subscribers(SubscribersArgs),
    /// Run every scheduled digest and serve the archive, status and health pages, until SIGTERM
    /// or SIGINT (SIGHUP reloads the configuration).
    Daemon(DaemonArgs),
    /// Write the archive (a page per issue, an Atom feed per digest) as static files.
    Archive(ArchiveArgs),
    /// Read what came back: bounces, complaints, auto-replies and mailed unsubscribe requests.
    Inbound(InboundArgs),
    /// Write a new project into DIR: a commented configuration with one digest and one offline
    /// feed, a list, the theme and a .gitignore, ready for `digest check` and `digest preview`.
    Init(InitArgs),
    /// Print the shell completion script of `digest` for SHELL.
    Completions(CompletionsArgs),
    /// Print the man page of `digest` (roff), or write one per command into a folder.
    Man(ManArgs),
}

/// `digest inbound`: `classify` files, or process what came back from standard input (an MTA's
/// pipe), a Maildir or an IMAP mailbox.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct InboundArgs {
    /// What to do besides processing.
    #[command(subcommand)]
    pub action: Option<InboundAction>,
    /// Process the one message on standard input (for an MTA alias pipe); exit 0 once it is
    /// recorded (whatever it says), 75 (EX_TEMPFAIL: retry later) when the store or the
    /// configuration is unavailable.
    #[arg(long, conflicts_with = "maildir")]
    pub stdin: bool,
    /// Process the messages of a Maildir (`new/`, and `cur/` unless seen), moving each into its
    /// `.processed` subfolder once recorded.
    #[arg(long, value_name = "DIR", conflicts_with = "imap")]
    pub maildir: Option<PathBuf>,
    /// Process the messages of the IMAP mailbox of `[inbound.imap]` (password from
    /// DIGEST__INBOUND__IMAP__PASSWORD), moving each into its processed mailbox once recorded.
    #[arg(long, conflicts_with = "stdin")]
    pub imap: bool,
}

/// Inbound actions.
#[derive(Debug, Subcommand)]
pub enum InboundAction {
    /// Classify messages (bounce, complaint, auto-reply, unsubscribe request or other) and print
    /// a line per bounced recipient; changes nothing and needs no configuration.
    Classify {
        /// Print one JSON object per line.
        #[arg(long)]
        json: bool,
        /// Message files (one raw message each, as received).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

/// `digest init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project folder: new or empty (default: the current folder).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// `digest completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `digest man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `digest.1` and a page per subcommand (`digest-send.1`, …) into DIR instead of
    /// printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `digest daemon`.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Log format on stderr (filter with DIGEST_LOG, default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event (coloured on a terminal).
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// `digest archive`.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// Output folder: the site is written under DIR/archive/.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `digest ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Only this source (a key of the sources section).
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
}

/// The digest and period an issue command works on.
#[derive(Debug, Args)]
pub struct Target {
    /// Digest id (a key of the digests section).
    pub digest: String,

    /// Period: 2024-07 (monthly), 2024-W27 (weekly) or 2024-07-15 (daily); default: the last
    /// period that has closed in the digest's time zone.
    #[arg(long, value_name = "PERIOD")]
    pub period: Option<String>,
}

/// `digest build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Which issue.
    #[command(flatten)]
    pub target: Target,

    /// Replace an already frozen issue (it keeps its number).
    #[arg(long)]
    pub rebuild: bool,

    /// Freeze the issue of a period that has not closed yet (or has not begun): it misses
    /// whatever the rest of the period brings, and takes the next issue number now.
    #[arg(long)]
    pub open_period: bool,

    /// Freeze the issue even if its email's HTML stays over 100 KB (Gmail clips it, hiding the
    /// unsubscribe link).
    #[arg(long)]
    pub allow_oversize: bool,

    /// First print the ranking from the current catalogue: every candidate's score parts, why it
    /// was kept or dropped, and the stories told by several candidates with their similarity.
    #[arg(long)]
    pub explain: bool,
}

/// `digest preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// Which issue.
    #[command(flatten)]
    pub target: Target,

    /// Output file (default: digests/DIGEST/PERIOD/preview.html or .txt).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Write the plain-text part instead of the HTML.
    #[arg(long)]
    pub text: bool,

    /// Print every candidate's score parts and why it was kept or dropped, and the stories told by
    /// several candidates with their similarity.
    #[arg(long)]
    pub explain: bool,

    /// Also serve the preview over HTTP on ADDR until interrupted.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8025")]
    pub serve: Option<SocketAddr>,
}

/// `digest send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Which issue (it must be frozen: `digest build` first).
    #[command(flatten)]
    pub target: Target,

    /// Resolve the audience and report what a send would do; open no network connection and
    /// write a few sample .eml files.
    #[arg(long, conflicts_with_all = ["to", "yes", "retry_failed"])]
    pub dry_run: bool,

    /// Send one test message to ADDRESS (subject marked as a test, not recorded in the ledger).
    #[arg(long, value_name = "ADDRESS")]
    pub to: Option<String>,

    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Also retry recipients that failed permanently before.
    #[arg(long)]
    pub retry_failed: bool,

    /// Write the messages as .eml files into DIR instead of sending them over SMTP (the ledger
    /// records them as sent).
    #[arg(long, value_name = "DIR")]
    pub eml: Option<PathBuf>,

    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,

    /// Send the issue even if its email's HTML is over 100 KB (Gmail clips it, hiding the
    /// unsubscribe link).
    #[arg(long)]
    pub allow_oversize: bool,
}

/// `digest edit`: the operations given are applied in this order: drop, pin, move, note,
/// subject, preheader.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("op").required(true).multiple(true)
    .args(["drop", "pin", "move_item", "note", "subject", "preheader"])))]
pub struct EditArgs {
    /// Which issue (frozen, not sending yet).
    #[command(flatten)]
    pub target: Target,

    /// Remove item N (as numbered in the email).
    #[arg(long, value_name = "N")]
    pub drop: Option<u32>,

    /// Add the catalogue's article at URL (in the store: `digest ingest` first), at --at.
    #[arg(long, value_name = "URL")]
    pub pin: Option<String>,

    /// Position of the pinned article (default: last).
    #[arg(long, value_name = "N", requires = "pin")]
    pub at: Option<u32>,

    /// Move item N to position M.
    #[arg(long = "move", value_names = ["N", "M"], num_args = 2)]
    pub move_item: Option<Vec<u32>>,

    /// The editor's note, shown above the items: a Markdown file (an empty file removes it).
    #[arg(long, value_name = "FILE.md")]
    pub note: Option<PathBuf>,

    /// The subject line (default: the title).
    #[arg(long, value_name = "TEXT")]
    pub subject: Option<String>,

    /// The inbox preview text (default: a summary of the items).
    #[arg(long, value_name = "TEXT")]
    pub preheader: Option<String>,
}

/// `digest approve`.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// Which issue.
    #[command(flatten)]
    pub target: Target,
}

/// `digest status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Digest id.
    pub digest: String,

    /// Only this period (default: every frozen issue of the digest).
    #[arg(long, value_name = "PERIOD")]
    pub period: Option<String>,
}

/// `digest suppress`.
#[derive(Debug, Args)]
pub struct SuppressArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: SuppressAction,
}

/// Suppression actions.
#[derive(Debug, Subcommand)]
pub enum SuppressAction {
    /// Suppress addresses.
    Add {
        /// Addresses.
        #[arg(required = true)]
        addresses: Vec<String>,
        /// unsubscribed, bounced, complained or manual.
        #[arg(long, default_value = "manual")]
        reason: String,
        /// Only for this digest (default: every digest).
        #[arg(long, value_name = "DIGEST")]
        digest: Option<String>,
    },
    /// Lift suppressions.
    Remove {
        /// Addresses.
        #[arg(required = true)]
        addresses: Vec<String>,
        /// The suppression for this digest (default: the one for every digest).
        #[arg(long, value_name = "DIGEST")]
        digest: Option<String>,
    },
    /// Import a CSV file (header row; columns `email` and optional `reason`).
    Import {
        /// The CSV file.
        file: PathBuf,
        /// Reason for rows without one.
        #[arg(long, default_value = "manual")]
        reason: String,
        /// Only for this digest (default: every digest).
        #[arg(long, value_name = "DIGEST")]
        digest: Option<String>,
    },
    /// List every suppression.
    List,
}

/// `digest subscribers`.
#[derive(Debug, Args)]
pub struct SubscribersArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: SubscribersAction,
}

/// Actions on the members of sign-up lists (`signup = true`).
#[derive(Debug, Subcommand)]
pub enum SubscribersAction {
    /// List the members: address, list, digests, pause and when they confirmed.
    List {
        /// Only this list.
        #[arg(long, value_name = "LIST")]
        list: Option<String>,
    },
    /// Write the members and their consent record as CSV (stdout, or --out FILE).
    Export {
        /// Only this list.
        #[arg(long, value_name = "LIST")]
        list: Option<String>,
        /// Write here instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Add members from a CSV file (header row; `email` required; the columns of an export).
    Import {
        /// The CSV file.
        file: PathBuf,
        /// The sign-up list they join.
        #[arg(long, value_name = "LIST")]
        list: String,
    },
    /// Erase an address from the store (GDPR), keeping only a hashed suppression so that no list
    /// mails it again.
    Forget {
        /// The address.
        address: String,
    },
}

/// A command line asking for what cannot be: an unknown digest, a malformed period, a period that
/// has not closed. `digest` exits with code 2 for it, as clap does for its own usage errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    /// Exit code of a usage error.
    pub const EXIT_CODE: u8 = 2;
}
