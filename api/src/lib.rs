//! motcua's front ends over the engine: the command line (`cli`, `commands`) and the HTTP API
//! (`http`) with its web pages (`web`). The `motcua` binary (`main.rs`) is a thin shell over this library; the library is
//! what the HTTP tests build their router from.
//!
//! This is the only crate that prints, parses arguments, speaks HTTP or uses `anyhow`: the
//! engine and the definitions return typed errors, and JSON for clients is made here, by hand,
//! from engine types (`output`).

pub mod audit_cli;
pub mod calendar;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod demo_data;
pub mod directive_cli;
pub mod dossier_cli;
pub mod exchange_delivery;
pub mod forms_cli;
pub mod http;
pub mod message_cli;
pub mod output;
pub mod peers_config;
pub mod signature_cli;
pub mod signing_config;
pub mod token;
pub mod web;
pub mod webhook_delivery;
pub mod worker;
