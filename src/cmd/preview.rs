//! `digest preview`: render an issue (the frozen one if it exists) for review.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use super::{open_store, target};
use crate::cli::PreviewArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::issue;
use crate::render::{self, Context, Theme, Values};
use crate::select;

pub(super) fn run(config: &Config, args: &PreviewArgs, clock: &dyn Clock) -> Result<ExitCode> {
    let (digest, period) = target(config, &args.target, clock)?;
    let digests = &config.paths.digests;
    let frozen = issue::find(digests, &digest.id, period)?;
    let ranking = match (&frozen, args.explain) {
        (Some(_), false) => None,
        _ => Some(select::rank_period(
            &config.sources,
            &open_store(config, clock)?,
            digest,
            period,
        )?),
    };
    if let (Some(r), true) = (&ranking, args.explain) {
        say!("{}", select::explain(digest, r).trim_end());
        if frozen.is_some() {
            say!("(the issue is frozen: the preview shows the frozen items, not this ranking)");
        }
        say!();
    }
    let issue = match (frozen, ranking) {
        (Some(issue), _) => {
            say!(
                "issue #{} is frozen: rendering {}",
                issue.number,
                issue::path(digests, &digest.id, period).display()
            );
            issue
        }
        (None, Some(ranking)) => {
            let number = issue::next_number(digests, &digest.id)?;
            say!("issue not frozen yet: draft of issue #{number} from the current catalogue");
            issue::compose(digest, period, &ranking, number, clock.now())?
        }
        (None, None) => unreachable!("a ranking is computed whenever no issue is frozen"),
    };
    let theme = Theme::load(&config.paths.templates)?;
    let email = render::email(
        &issue,
        &Context {
            site: &config.site,
            theme: &theme,
        },
    )?;
    let (unsubscribe_url, email_address) = render::preview_values(&config.site);
    let values = Values {
        unsubscribe_url: &unsubscribe_url,
        email: &email_address,
    };
    let (body, extension) = if args.text {
        (email.text.fill(&values), "txt")
    } else {
        (email.html.fill(&values), "html")
    };
    let out = args.out.clone().unwrap_or_else(|| {
        issue::path(digests, &digest.id, period).with_file_name(format!("preview.{extension}"))
    });
    write(&out, &body)?;
    say!("subject: {}", email.subject);
    say!("wrote {} ({} bytes)", out.display(), body.len());
    if let Some(addr) = args.serve {
        serve(addr, body, args.text)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn write(out: &PathBuf, body: &str) -> Result<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(out, body).with_context(|| format!("writing {}", out.display()))
}

/// Serves `body` at every path of `addr` until Ctrl-C.
fn serve(addr: SocketAddr, body: String, text: bool) -> Result<()> {
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: serving on {addr}, which is not a loopback address: others can read it"
        );
    }
    let content_type = if text {
        "text/plain; charset=utf-8"
    } else {
        "text/html; charset=utf-8"
    };
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, content_type)], body) }
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        say!(
            "serving http://{}/ (Ctrl-C to stop)",
            listener.local_addr()?
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serving the preview")
    })
}
