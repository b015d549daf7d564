//! One function per CLI command: open the engine, call it, print the answer.

use std::str::FromStr;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use motcua_definitions::timer::vietnam;
use motcua_engine::agency::Agencies;
use motcua_engine::store::any::AnyStore;
use motcua_engine::store::TaskQuery;
use motcua_engine::store::TaskSort;
use motcua_engine::{
    CommandOptions, DeployFile, Durability, Engine, InstanceId, JobId, StartInstance, SystemClock,
    TaskId,
};
use motcua_engine::{FolderBlobStore, WorkCalendar};
use motcua_forms::templates::Templates;
use serde_json::{json, Map, Value};

use crate::cli::{Cli, Cmd, CronCmd, Global, IncidentsCmd, JobsCmd};
use crate::output::{self, local, print_json, say, status_vi, table};

/// Opens the engine on the configured database: SQLite (`sqlite://FILE`) or PostgreSQL
/// (`postgres://...`).
pub async fn open(global: &Global) -> Result<Engine<AnyStore>> {
    let url = &global.database;
    let durability = Durability::from_str(&global.sqlite_sync).map_err(anyhow::Error::msg)?;
    let store = AnyStore::open(url, durability)
        .await
        .with_context(|| format!("cannot open database {url}"))?;
    if !(global.due_soon_days >= 0.0 && (global.due_soon_days * 2.0).fract() == 0.0) {
        bail!(
            "--due-soon-days must be a non-negative multiple of 0.5, not {}",
            global.due_soon_days
        );
    }
    let agencies = match &global.agencies {
        None => Agencies::shipped(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Agencies::parse(&path.display().to_string(), &text)?
        }
    };
    let engine = Engine::new(store, Arc::new(SystemClock))
        .with_calendar(calendar(global)?)
        .with_due_soon(global.due_soon_days)
        .with_blobs(Arc::new(FolderBlobStore::new(&global.documents_dir)))
        .with_templates(Templates::with_overrides(global.templates.clone()))
        .with_agencies(agencies)
        .with_checkpoint_interval(chrono::Duration::minutes(i64::from(
            global.checkpoint_minutes.max(1),
        )));
    let engine = match &global.signing {
        None => engine,
        Some(path) => engine.with_signatures(crate::signing_config::load(path)?),
    };
    Ok(match &global.peers {
        None => engine,
        Some(_) if global.signing.is_none() => {
            anyhow::bail!("--peers needs --signing: messages to peers are signed and verified")
        }
        Some(path) => engine.with_exchange(crate::peers_config::load(path)?),
    })
}

/// The working-day calendar: the shipped data, or the folder given by `--calendar`.
pub fn calendar(global: &Global) -> Result<WorkCalendar> {
    match &global.calendar {
        None => Ok(WorkCalendar::vietnam()),
        Some(dir) => WorkCalendar::from_override_dir(dir)
            .with_context(|| format!("cannot load the calendar from {}", dir.display())),
    }
}

/// Reads `YYYY-MM-DD` (local midnight) or `YYYY-MM-DDTHH:MM[:SS]` (local time, UTC+7).
pub fn parse_local(text: &str) -> Result<DateTime<Utc>> {
    let text = text.trim();
    let naive = match NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
    {
        Ok(t) => t,
        Err(_) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) => d.and_time(NaiveTime::MIN),
            Err(_) => bail!("'{text}' is not a date: write YYYY-MM-DD or YYYY-MM-DDTHH:MM"),
        },
    };
    match naive.and_local_timezone(vietnam()) {
        chrono::LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        _ => bail!("'{text}' is not a valid local time"),
    }
}

/// Parses `name=value` pairs: the value is JSON when it parses as JSON, else text.
pub fn parse_vars(pairs: &[String]) -> Result<Map<String, Value>> {
    let mut vars = Map::new();
    for pair in pairs {
        let Some((name, value)) = pair.split_once('=') else {
            bail!("variable '{pair}' must be written name=value");
        };
        let name = name.trim();
        if name.is_empty() {
            bail!("variable '{pair}' has no name before '='");
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        vars.insert(name.to_owned(), value);
    }
    Ok(vars)
}

pub(crate) fn options(global: &Global) -> CommandOptions {
    CommandOptions {
        actor: global.user.clone(),
        idempotency_key: global.idempotency_key.clone(),
    }
}

fn task_id(s: &str) -> Result<TaskId> {
    Ok(TaskId::from_str(s)?)
}

fn instance_id(s: &str) -> Result<InstanceId> {
    Ok(InstanceId::from_str(s)?)
}

fn job_id(s: &str) -> Result<JobId> {
    Ok(JobId::from_str(s)?)
}

/// Runs one command.
pub async fn run(cli: Cli) -> Result<()> {
    let g = &cli.global;
    match cli.command {
        Cmd::Demo { keep } => crate::demo::run(keep, g.json, g.signing.as_deref()).await,
        Cmd::Deploy { files, name } => {
            let engine = open(g).await?;
            let mut loaded = Vec::with_capacity(files.len());
            for path in &files {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                loaded.push(DeployFile {
                    name: path.display().to_string(),
                    bytes,
                });
            }
            let name = name.unwrap_or_else(|| loaded[0].name.clone());
            let deployed = engine.deploy(&name, &loaded).await?;
            if g.json {
                let v: Vec<Value> = deployed
                    .iter()
                    .map(|d| {
                        let mut j = output::definition_json(&d.definition);
                        j["created"] = Value::Bool(d.created);
                        j
                    })
                    .collect();
                print_json(&Value::Array(v));
            } else {
                for d in &deployed {
                    let what = if d.created {
                        "deployed"
                    } else {
                        "unchanged, already"
                    };
                    say!(
                        "{what} {} v{} ({})",
                        d.definition.key,
                        d.definition.version,
                        d.definition.name.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(())
        }
        Cmd::Definitions => {
            let engine = open(g).await?;
            let defs = engine.definitions().await?;
            if g.json {
                print_json(&Value::Array(
                    defs.iter().map(output::definition_json).collect(),
                ));
            } else {
                let mut t = table(&["key", "version", "name", "file", "deployed"]);
                for d in &defs {
                    t.add_row(vec![
                        d.key.clone(),
                        d.version.to_string(),
                        d.name.clone().unwrap_or_default(),
                        d.resource.clone(),
                        local(d.deployed_at),
                    ]);
                }
                say!("{t}");
            }
            Ok(())
        }
        Cmd::Start {
            key,
            version,
            business_key,
            vars,
        } => {
            let engine = open(g).await?;
            let request = StartInstance {
                key,
                version,
                business_key,
                variables: parse_vars(&vars)?,
            };
            let outcome = engine.start(request, options(g)).await?;
            print_outcome(g, &outcome);
            Ok(())
        }
        Cmd::Tasks {
            group,
            assignee,
            instance,
            all,
            due_before,
            overdue,
            sort,
            limit,
            offset,
        } => {
            let sort = match sort.as_str() {
                "created" => TaskSort::Created,
                "due" => TaskSort::Due,
                other => bail!("--sort takes 'created' or 'due', not '{other}'"),
            };
            let due_before = due_before.as_deref().map(parse_local).transpose()?;
            let engine = open(g).await?;
            let query = TaskQuery {
                candidate_group: group,
                assignee,
                instance: instance.as_deref().map(instance_id).transpose()?,
                include_closed: all,
                due_before,
                overdue: overdue.then_some(true),
                sort,
                limit: Some(limit),
                offset: Some(offset),
                ..TaskQuery::default()
            };
            let tasks = engine.tasks(&query).await?;
            if g.json {
                print_json(&Value::Array(tasks.iter().map(output::task_json).collect()));
            } else {
                let mut t = table(&[
                    "task", "name", "groups", "assignee", "state", "created", "due",
                ]);
                for task in &tasks {
                    let r = &task.record;
                    let due = match (r.due_at, task.overdue, task.due_soon) {
                        (None, _, _) => String::new(),
                        (Some(d), true, _) => format!("{} (quá hạn)", local(d)),
                        (Some(d), false, true) => format!("{} (sắp đến hạn)", local(d)),
                        (Some(d), false, false) => local(d),
                    };
                    t.add_row(vec![
                        r.id.to_string(),
                        r.name.clone(),
                        r.candidate_groups.join(", "),
                        r.assignee.clone().unwrap_or_default(),
                        status_vi(&task.state).to_owned(),
                        local(r.created_at),
                        due,
                    ]);
                }
                say!("{t}");
            }
            Ok(())
        }
        Cmd::Claim { task } => {
            let Some(user) = g.user.clone() else {
                bail!("claim needs the user who takes the task: pass --user NAME (or set MOTCUA_USER)");
            };
            let engine = open(g).await?;
            let outcome = engine.claim(task_id(&task)?, &user, options(g)).await?;
            print_outcome(g, &outcome);
            Ok(())
        }
        Cmd::Unclaim { task } => {
            let engine = open(g).await?;
            let outcome = engine.unclaim(task_id(&task)?, options(g)).await?;
            print_outcome(g, &outcome);
            Ok(())
        }
        Cmd::Complete { task, vars } => {
            let engine = open(g).await?;
            let outcome = engine
                .complete(task_id(&task)?, parse_vars(&vars)?, options(g))
                .await?;
            print_outcome(g, &outcome);
            Ok(())
        }
        Cmd::Cancel { id, reason } => {
            let engine = open(g).await?;
            let outcome = engine.cancel(instance_id(&id)?, reason, options(g)).await?;
            print_outcome(g, &outcome);
            Ok(())
        }
        Cmd::Instance { id } => {
            let engine = open(g).await?;
            let s = engine.instance(instance_id(&id)?).await?;
            if g.json {
                print_json(&output::instance_json(&s));
            } else {
                say!("instance  {}", s.id);
                say!("process   {} v{}", s.definition.key, s.definition.version);
                if let Some(b) = &s.business_key {
                    say!("business  {b}");
                }
                say!(
                    "status    {} ({})",
                    s.status.as_str(),
                    status_vi(s.status.as_str())
                );
                say!("version   {}", s.version);
                say!("started   {}", local(s.started_at));
                if let Some(e) = s.ended_at {
                    say!("ended     {}", local(e));
                }
                let waiting: Vec<&str> = s.tokens.iter().map(|t| t.node.as_str()).collect();
                say!("waiting   {}", waiting.join(", "));
                say!(
                    "variables {}",
                    serde_json::to_string(&s.variables).unwrap_or_default()
                );
            }
            Ok(())
        }
        Cmd::History { id } => {
            let engine = open(g).await?;
            let entries = engine.journal(instance_id(&id)?).await?;
            if g.json {
                print_json(&Value::Array(
                    entries.iter().map(output::journal_json).collect(),
                ));
            } else {
                let mut t = table(&["#", "time", "actor", "event", "data"]);
                for e in &entries {
                    let mut data = serde_json::to_value(&e.event).unwrap_or(Value::Null);
                    if let Value::Object(m) = &mut data {
                        m.remove("kind");
                    }
                    t.add_row(vec![
                        e.seq.to_string(),
                        local(e.at),
                        e.actor.clone().unwrap_or_default(),
                        e.kind.clone(),
                        data.to_string(),
                    ]);
                }
                say!("{t}");
            }
            Ok(())
        }
        Cmd::Incidents {
            action: Some(IncidentsCmd::Retry { job, retries }),
        } => {
            let engine = open(g).await?;
            engine
                .retry_incident(job_id(&job)?, retries, options(g))
                .await?;
            say!("job {job}: {retries} new attempt(s), due now");
            Ok(())
        }
        Cmd::Incidents { action: None } => {
            let engine = open(g).await?;
            let incidents = engine.incidents().await?;
            if g.json {
                print_json(&Value::Array(
                    incidents.iter().map(output::incident_json).collect(),
                ));
            } else {
                let mut t = table(&["job", "instance", "node", "message", "raised"]);
                for i in &incidents {
                    t.add_row(vec![
                        i.job.to_string(),
                        i.instance.map(|x| x.to_string()).unwrap_or_default(),
                        i.node.clone(),
                        i.message.clone(),
                        local(i.created_at),
                    ]);
                }
                say!("{t}");
            }
            Ok(())
        }
        Cmd::Jobs(jobs) => run_jobs(g, jobs).await,
        Cmd::Worker {
            once,
            id,
            poll_ms,
            webhooks,
        } => {
            let engine = open(g).await?.with_webhook_retry(webhooks.retry());
            webhooks.subscribe_portal(&engine).await?;
            let id = id.unwrap_or_else(|| format!("motcua-{}", std::process::id()));
            crate::worker::run(&engine, &id, once, poll_ms, g.json).await
        }
        Cmd::Token(args) => crate::token::run(&args),
        Cmd::Web(crate::cli::WebCmd::HashPassword { iterations }) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                bail!("give the password on standard input (one line)");
            }
            say!(
                "{}",
                crate::web::session::hash_password(password, iterations)?
            );
            Ok(())
        }
        Cmd::Serve {
            listen,
            worker: _,
            no_worker,
            poll_ms,
            webhooks,
            jwt_secret_file,
            jwks_file,
            jwt_issuer,
            jwt_audience,
            web_users,
        } => {
            let auth = crate::http::auth::AuthConfig {
                secret_file: jwt_secret_file,
                jwks_file,
                issuer: jwt_issuer,
                audience: jwt_audience,
            };
            let engine = open(g).await?.with_webhook_retry(webhooks.retry());
            webhooks.subscribe_portal(&engine).await?;
            let worker = (!no_worker).then(|| crate::http::WorkerConfig {
                id: format!("motcua-serve-{}", std::process::id()),
                poll_ms,
            });
            let config = crate::http::ServeConfig {
                listen,
                worker,
                auth,
                web_users,
            };
            crate::http::serve(engine, config).await
        }
        Cmd::Cron(cmd) => run_cron(g, cmd).await,
        Cmd::Cleanup {
            older_than_days,
            batch,
        } => {
            if older_than_days < 1 {
                bail!("--older-than-days must be at least 1");
            }
            let engine = open(g).await?;
            let before = engine.now() - Duration::days(older_than_days);
            let removed = engine.remove_finished(before, batch).await?;
            if g.json {
                print_json(
                    &json!({"instances": removed.instances, "events": removed.events,
                    "tasks": removed.tasks, "jobs": removed.jobs, "idempotency": removed.idempotency}),
                );
            } else {
                say!(
                    "removed {} finished instance(s) that ended before {} ({} journal events, {} tasks, {} jobs) and {} idempotency record(s)",
                    removed.instances,
                    local(before),
                    removed.events,
                    removed.tasks,
                    removed.jobs,
                    removed.idempotency
                );
            }
            Ok(())
        }
        Cmd::Calendar(cmd) => crate::calendar::run(cmd, &calendar(g)?, g.json),
        Cmd::Forms(cmd) => crate::forms_cli::run(cmd, g.json),
        Cmd::Signature(cmd) => crate::signature_cli::run(cmd, g.json),
        Cmd::Verify(args) => crate::audit_cli::verify_file(&args, g.json),
        Cmd::Directive(cmd) => crate::directive_cli::run(g, cmd).await,
        Cmd::Message(cmd) => crate::message_cli::run(g, cmd).await,
        Cmd::Journal(crate::audit_cli::JournalCmd::Checkpoint) => {
            let engine = open(g).await?;
            crate::audit_cli::checkpoint(&engine, engine.engine_key(), g.json).await
        }
        Cmd::Dossier(cmd) => crate::dossier_cli::run(g, cmd).await,
        Cmd::Transfer(cmd) => crate::dossier_cli::run_transfer(g, cmd).await,
    }
}

async fn run_jobs(g: &Global, cmd: JobsCmd) -> Result<()> {
    let engine = open(g).await?;
    match cmd {
        JobsCmd::Fetch {
            topic,
            worker,
            max,
            lock_seconds,
        } => {
            if lock_seconds <= 0 {
                bail!("--lock-seconds must be positive");
            }
            let jobs = engine
                .fetch_and_lock_keyed(
                    &topic,
                    &worker,
                    max,
                    Duration::seconds(lock_seconds),
                    &options(g),
                )
                .await?;
            print_json(&Value::Array(
                jobs.iter().map(output::fetched_job_json).collect(),
            ));
        }
        JobsCmd::Complete { job, worker, vars } => {
            let outcome = engine
                .complete_job(job_id(&job)?, &worker, parse_vars(&vars)?, options(g))
                .await?;
            print_outcome(g, &outcome);
        }
        JobsCmd::Fail {
            job,
            worker,
            error,
            retries,
        } => {
            let outcome = engine
                .fail_job(job_id(&job)?, &worker, &error, retries, options(g))
                .await?;
            print_outcome(g, &outcome);
        }
    }
    Ok(())
}

fn print_outcome(g: &Global, o: &motcua_engine::Outcome) {
    if g.json {
        print_json(&output::outcome_json(o));
        return;
    }
    say!(
        "instance {} — {} ({}), version {}",
        o.instance,
        o.status.as_str(),
        status_vi(o.status.as_str()),
        o.version
    );
    for t in &o.tasks {
        say!("new task {t}");
    }
    for j in &o.jobs {
        say!("new job {j}");
    }
}

async fn run_cron(g: &Global, cmd: CronCmd) -> Result<()> {
    let engine = open(g).await?;
    match cmd {
        CronCmd::Add {
            name,
            cron,
            handler,
        } => {
            let next = engine.put_schedule(&name, &cron, &handler).await?;
            say!(
                "schedule {name}: '{cron}' runs {handler}; next at {}",
                local(next)
            );
        }
        CronCmd::List => {
            let rows = engine.schedules().await?;
            if g.json {
                let v: Vec<Value> = rows
                    .iter()
                    .map(|r| json!({"name": r.name, "cron": r.cron, "handler": r.handler, "nextDue": r.next_due}))
                    .collect();
                print_json(&Value::Array(v));
            } else {
                let mut t = table(&["name", "cron", "handler", "next"]);
                for r in &rows {
                    t.add_row(vec![
                        r.name.clone(),
                        r.cron.clone(),
                        r.handler.clone(),
                        local(r.next_due),
                    ]);
                }
                say!("{t}");
            }
        }
        CronCmd::Remove { name } => {
            engine.remove_schedule(&name).await?;
            say!("schedule {name} removed");
        }
        CronCmd::Runs { name } => {
            let runs = engine.schedule_runs(&name).await?;
            let v: Vec<Value> = runs
                .iter()
                .map(|r| json!({"dueAt": r.due_at, "ranAt": r.ran_at, "runner": r.runner, "result": r.result}))
                .collect();
            print_json(&Value::Array(v));
        }
    }
    Ok(())
}
