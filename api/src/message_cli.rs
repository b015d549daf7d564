//! `motcua message send NAME [--key K] [--var name=value]... [--ttl PT1H] [--id ID]`: correlates
//! a message like `POST /messages` (to the oldest waiting catcher, else a message start event,
//! else the buffer for its time to live).

use anyhow::{anyhow, Result};
use clap::Subcommand;
use motcua_engine::{CommandOptions, CorrelateMessage, Correlation};

use crate::cli::Global;
use crate::commands::{open, parse_vars};
use crate::http::messages::{correlation_json, parse_ttl};
use crate::output::{local, print_json, say};

/// `motcua message ...`.
#[derive(Debug, Subcommand)]
pub enum MessageCmd {
    /// Send a message by name (and correlation key).
    Send {
        /// The message name (the `name` of a `bpmn:message`).
        name: String,
        /// The correlation key.
        #[arg(long)]
        key: Option<String>,
        /// Payload variables as name=value (value is JSON if it parses, else text).
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
        /// How long it waits for a catcher when none waits (ISO 8601; PT0S: not kept).
        #[arg(long, default_value = "PT1H")]
        ttl: String,
        /// A unique message id: a message whose id was seen already is not applied again.
        #[arg(long)]
        id: Option<String>,
        /// Who sends it, for the journal.
        #[arg(long, default_value = "cli")]
        user: String,
    },
}

/// Runs a `message` subcommand.
pub async fn run(g: &Global, cmd: MessageCmd) -> Result<()> {
    let MessageCmd::Send {
        name,
        key,
        vars,
        ttl,
        id,
        user,
    } = cmd;
    let engine = open(g).await?;
    let ttl = parse_ttl(&ttl, engine.now()).map_err(|e| anyhow!(e))?;
    let request = CorrelateMessage {
        name,
        correlation_key: key,
        variables: parse_vars(&vars)?,
        ttl: Some(ttl),
        message_id: id,
    };
    let result = engine
        .correlate_message(request, CommandOptions::by(user))
        .await?;
    if g.json {
        print_json(&correlation_json(&result));
        return Ok(());
    }
    match result {
        Correlation::Correlated {
            message_id,
            instance,
        } => say!("message {message_id} correlated to instance {instance}"),
        Correlation::Started {
            message_id,
            instance,
        } => say!("message {message_id} started instance {instance}"),
        Correlation::Buffered {
            message_id,
            expires_at,
        } => say!(
            "message {message_id}: nothing waits for it; kept until {}",
            local(expires_at)
        ),
        Correlation::Dropped { message_id } => {
            say!("message {message_id}: nothing waits for it and its ttl is zero: dropped")
        }
        Correlation::Duplicate { message_id } => {
            say!("message {message_id} was seen already: nothing changed")
        }
    }
    Ok(())
}
