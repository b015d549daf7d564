//! The command-line grammar (clap derive).

use clap::{Args, Parser, Subcommand};

/// motcua — workflow engine for administrative procedures and leadership directives.
#[derive(Debug, Parser)]
#[command(name = "motcua", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Cmd,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Database URL.
    #[arg(
        long,
        global = true,
        env = "MOTCUA_DATABASE_URL",
        default_value = "sqlite://motcua.db"
    )]
    pub database: String,
    /// SQLite durability: `full` syncs every commit to disk, `normal` only at checkpoints.
    #[arg(
        long,
        global = true,
        env = "MOTCUA_SQLITE_SYNC",
        default_value = "full"
    )]
    pub sqlite_sync: String,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log format on standard error: `text` for people, `json` (one object a line) for log
    /// collectors. The level comes from MOTCUA_LOG (default `warn`).
    #[arg(long, global = true, env = "MOTCUA_LOG_FORMAT", default_value = "text",
          value_parser = ["text", "json"])]
    pub log_format: String,
    /// The acting user, recorded in the journal.
    #[arg(long, global = true, env = "MOTCUA_USER")]
    pub user: Option<String>,
    /// Idempotency key: retrying a command with the same key returns the first answer.
    #[arg(long, global = true)]
    pub idempotency_key: Option<String>,
    /// How many working days before a due date a task is marked "due soon".
    #[arg(
        long,
        global = true,
        env = "MOTCUA_DUE_SOON_DAYS",
        default_value_t = 1.0
    )]
    pub due_soon_days: f64,
    /// A folder of holiday override files (*.toml) that replaces the shipped calendar data.
    #[arg(long, global = true, env = "MOTCUA_CALENDAR_DIR")]
    pub calendar: Option<std::path::PathBuf>,
    /// Where dossier documents are kept: content-addressed files (SHA-256), never overwritten.
    #[arg(
        long = "documents",
        id = "documents_dir",
        global = true,
        env = "MOTCUA_DOCUMENTS_DIR",
        default_value = "motcua-documents"
    )]
    pub documents_dir: std::path::PathBuf,
    /// How often (minutes) the job executor signs a journal checkpoint with the engine key of
    /// `--signing` (no key: none are signed).
    #[arg(
        long,
        global = true,
        env = "MOTCUA_CHECKPOINT_MINUTES",
        default_value_t = 5
    )]
    pub checkpoint_minutes: u32,
    /// Templates (forms, slips) that replace the built-in ones: files of the same name.
    #[arg(long, global = true, env = "MOTCUA_TEMPLATES_DIR")]
    pub templates: Option<std::path::PathBuf>,
    /// The agency directory (TOML, `[[agency]]` with code, name, parent, address, phone, tier,
    /// peer; `[[tier]]` the routing tiers of transfers) printed on slips and checked when a
    /// transfer names an agency; default: the example directory shipped in
    /// engine/agencies/hue.toml.
    #[arg(long, global = true, env = "MOTCUA_AGENCIES")]
    pub agencies: Option<std::path::PathBuf>,
    /// The signing configuration (TOML): trust anchors, CRLs, the agencies' server-side keys,
    /// the engine's key and the signer certificates mapped to users and agencies (see
    /// README, "Signatures"). Without it, signatures cannot be attached or made.
    #[arg(long, global = true, env = "MOTCUA_SIGNING")]
    pub signing: Option<std::path::PathBuf>,
    /// The peer engines (TOML, `[[peer]]` with agency, url, certificate): dossiers transferred
    /// to their agencies are sent to them, signed, and their messages are received (see README,
    /// "Liên thông between engines"). Needs `--signing`.
    #[arg(long, global = true, env = "MOTCUA_PEERS")]
    pub peers: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Deploy BPMN files (all or nothing).
    Deploy {
        /// BPMN 2.0 files.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// A name for the deployment.
        #[arg(long)]
        name: Option<String>,
    },
    /// List deployed definitions and their versions.
    Definitions,
    /// Start an instance of a definition.
    Start {
        /// Definition key (the BPMN process id).
        key: String,
        /// A version (default: the latest).
        #[arg(long)]
        version: Option<i32>,
        /// Business key, e.g. the dossier code.
        #[arg(long)]
        business_key: Option<String>,
        /// Variables as name=value (value is JSON if it parses, else text).
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
    },
    /// List tasks (open ones unless --all).
    Tasks {
        /// Tasks a member of this candidate group may work.
        #[arg(long)]
        group: Option<String>,
        /// Tasks assigned to this user.
        #[arg(long)]
        assignee: Option<String>,
        /// Tasks of this instance.
        #[arg(long)]
        instance: Option<String>,
        /// Include completed and cancelled tasks.
        #[arg(long)]
        all: bool,
        /// Only tasks due before this date (YYYY-MM-DD, or YYYY-MM-DDTHH:MM local time).
        #[arg(long)]
        due_before: Option<String>,
        /// Only overdue tasks.
        #[arg(long)]
        overdue: bool,
        /// Order: `created` (oldest first) or `due` (earliest due date first).
        #[arg(long, default_value = "created")]
        sort: String,
        /// Page size (1 to 1000).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Claim a task (as --user).
    Claim {
        /// Task id.
        task: String,
    },
    /// Release a claimed task.
    Unclaim {
        /// Task id.
        task: String,
    },
    /// Complete a task.
    Complete {
        /// Task id.
        task: String,
        /// Variables as name=value (value is JSON if it parses, else text).
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
    },
    /// Show an instance: status, waiting nodes, variables.
    Instance {
        /// Instance id.
        id: String,
    },
    /// Show an instance's journal.
    History {
        /// Instance id.
        id: String,
    },
    /// Cancel an instance.
    Cancel {
        /// Instance id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// External-worker jobs (service tasks).
    #[command(subcommand)]
    Jobs(JobsCmd),
    /// Open incidents (jobs whose retries ran out); `incidents retry JOB` gives one new attempts.
    Incidents {
        #[command(subcommand)]
        action: Option<IncidentsCmd>,
    },
    /// Run the job executor: timers, timer start events, SLA marks and schedules.
    Worker {
        /// Run what is due now once, then stop.
        #[arg(long)]
        once: bool,
        /// Worker id (default: motcua-<pid>).
        #[arg(long)]
        id: Option<String>,
        /// How often to look for due jobs, in milliseconds.
        #[arg(long, default_value_t = 500)]
        poll_ms: u64,
        #[command(flatten)]
        webhooks: WebhookArgs,
    },
    /// Serve the HTTP API (JSON; errors as problem+json), with the job executor beside it.
    Serve {
        /// Address to listen on; port 0 picks a free port (printed as `listening on http://ADDR`).
        #[arg(long, env = "MOTCUA_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Run the job executor (timers, SLA marks, schedules) in this process (the default).
        #[arg(long, overrides_with = "no_worker")]
        worker: bool,
        /// Do not run the job executor here (run `motcua worker` elsewhere).
        #[arg(long, overrides_with = "worker")]
        no_worker: bool,
        /// How often the job executor looks for due jobs, in milliseconds.
        #[arg(long, default_value_t = 500)]
        poll_ms: u64,
        #[command(flatten)]
        webhooks: WebhookArgs,
        /// Require HS256 bearer tokens signed with the secret in this file (at least 32 bytes).
        /// Without this or --jwks-file the server runs in open development mode.
        #[arg(long, env = "MOTCUA_JWT_SECRET_FILE", conflicts_with = "jwks_file")]
        jwt_secret_file: Option<std::path::PathBuf>,
        /// Require RS256/ES256 bearer tokens verified with the public keys of this JWKS file
        /// (an identity provider's).
        #[arg(long, env = "MOTCUA_JWKS_FILE")]
        jwks_file: Option<std::path::PathBuf>,
        /// The issuer (`iss`) tokens must name.
        #[arg(long, env = "MOTCUA_JWT_ISSUER")]
        jwt_issuer: Option<String>,
        /// The audience (`aud`) tokens must name.
        #[arg(long, env = "MOTCUA_JWT_AUDIENCE")]
        jwt_audience: Option<String>,
        /// The web front's users (TOML `[[user]]` tables; `motcua web hash-password` makes
        /// their password hashes). Without it nobody can log in to `/web/`.
        #[arg(long, env = "MOTCUA_WEB_USERS")]
        web_users: Option<std::path::PathBuf>,
    },
    /// The web front's helpers.
    #[command(subcommand)]
    Web(WebCmd),
    /// Print an HS256 bearer token for `motcua serve --jwt-secret-file` (local use, the demo).
    Token(crate::token::TokenArgs),
    /// Remove finished instances (with their journal, tasks and jobs) that ended long ago.
    Cleanup {
        /// Keep instances that ended within this many days.
        #[arg(long, default_value_t = 365)]
        older_than_days: i64,
        /// Instances per transaction.
        #[arg(long, default_value_t = 1000)]
        batch: u32,
    },
    /// Operator schedules (cron, Asia/Ho_Chi_Minh).
    #[command(subcommand)]
    Cron(CronCmd),
    /// The working-day calendar (holidays of Vietnam).
    #[command(subcommand)]
    Calendar(crate::calendar::CalendarCmd),
    /// Dossiers (hồ sơ): submit, show, documents, lifecycle, slips of Circular 01/2018.
    #[command(subcommand)]
    Dossier(crate::dossier_cli::DossierCmd),
    /// Transfers between agencies (liên thông): the receiving agency accepts or returns one.
    #[command(subcommand)]
    Transfer(crate::dossier_cli::TransferCmd),
    /// Digital signatures: sign a document (detached CMS), verify CMS and PAdES signatures
    /// against a trust store with a report modelled on the EU DSS simple report.
    #[command(subcommand)]
    Signature(crate::signature_cli::SignatureCmd),
    /// E-forms for designers: check, validate sample data, render.
    #[command(subcommand)]
    Forms(crate::forms_cli::FormsCmd),
    /// Leadership directives (theo dõi ý kiến chỉ đạo): issue, report, extend, complete,
    /// accept; list with status, statistics, CSV for meetings.
    #[command(subcommand)]
    Directive(crate::directive_cli::DirectiveCmd),
    /// BPMN messages: send one by name and correlation key.
    #[command(subcommand)]
    Message(crate::message_cli::MessageCmd),
    /// The journal's tamper evidence: sign a checkpoint over the chain heads now.
    #[command(subcommand)]
    Journal(crate::audit_cli::JournalCmd),
    /// Verify an exported dossier archive offline (journal hash chain, documents, signatures,
    /// signed checkpoints) against trusted roots; exit status 0 only when everything holds.
    Verify(crate::audit_cli::VerifyArgs),
    /// Run the birth-registration procedure end to end on a fresh embedded database, then
    /// deploy the whole catalog and fill the database with realistic dossiers and directives.
    Demo {
        /// Keep the demo database here instead of a fresh temporary file.
        #[arg(long)]
        keep: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsCmd {
    /// Fetch and lock due jobs of a topic.
    Fetch {
        /// Topic.
        topic: String,
        /// Worker id.
        #[arg(long)]
        worker: String,
        /// At most this many.
        #[arg(long, default_value_t = 10)]
        max: u32,
        /// Lock duration in seconds.
        #[arg(long, default_value_t = 300)]
        lock_seconds: i64,
    },
    /// Complete a locked job.
    Complete {
        /// Job id.
        job: String,
        /// Worker id (must hold the lock).
        #[arg(long)]
        worker: String,
        /// Variables as name=value.
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
    },
    /// Report a failure of a locked job.
    Fail {
        /// Job id.
        job: String,
        /// Worker id (must hold the lock).
        #[arg(long)]
        worker: String,
        /// What went wrong.
        #[arg(long)]
        error: String,
        /// Attempts left (default: one fewer).
        #[arg(long)]
        retries: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum IncidentsCmd {
    /// Give the job of an incident new attempts, due now.
    Retry {
        /// Job id.
        job: String,
        /// Attempts to give.
        #[arg(long, default_value_t = 1)]
        retries: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum CronCmd {
    /// Add or replace a schedule.
    Add {
        /// Name.
        name: String,
        /// Cron expression: six fields with seconds (`0 0 7 * * *`) or five (`0 7 * * 1-5`).
        cron: String,
        /// What it runs (built in: overdue-report, history-cleanup).
        #[arg(long, default_value = "overdue-report")]
        handler: String,
    },
    /// List schedules.
    List,
    /// Remove a schedule.
    Remove {
        /// Name.
        name: String,
    },
    /// Show a schedule's recorded runs.
    Runs {
        /// Name.
        name: String,
    },
}

/// The back-off of failing outbound webhook deliveries (run by the job executor).
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Wait after a webhook receiver's first failure, in milliseconds; it doubles with each
    /// further failure.
    #[arg(long, env = "MOTCUA_WEBHOOK_RETRY_BASE_MS", default_value_t = 1_000)]
    pub webhook_retry_base_ms: u64,
    /// The longest wait between two attempts at a failing webhook receiver, in milliseconds
    /// (it is retried at this interval until it answers; no event is dropped).
    #[arg(long, env = "MOTCUA_WEBHOOK_RETRY_MAX_MS", default_value_t = 300_000)]
    pub webhook_retry_max_ms: u64,
    /// Post every dossier change to the national public-service portal's sync endpoint at this
    /// `http://` URL (the dossier mapped to MaHoSo, MaTTHC, TrangThaiHoSo, QuaTrinhXuLy...; at
    /// least once, in order, with the webhook back-off). Subscribed at start-up, from then on.
    #[arg(long, env = "MOTCUA_PORTAL_SYNC_URL")]
    pub portal_sync_url: Option<String>,
    /// The HMAC-SHA256 key the portal feed's bodies are signed with (a file, at least 16
    /// characters); default: a random key kept with the subscription.
    #[arg(
        long,
        env = "MOTCUA_PORTAL_SYNC_SECRET_FILE",
        requires = "portal_sync_url"
    )]
    pub portal_sync_secret_file: Option<std::path::PathBuf>,
}

impl WebhookArgs {
    /// Subscribes the portal feed when `--portal-sync-url` is given (idempotent: a restart
    /// keeps the subscription and its cursor).
    pub async fn subscribe_portal(
        &self,
        engine: &motcua_engine::Engine<motcua_engine::AnyStore>,
    ) -> anyhow::Result<()> {
        use anyhow::Context as _;
        let Some(url) = &self.portal_sync_url else {
            return Ok(());
        };
        let secret = match &self.portal_sync_secret_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .trim()
                .to_owned(),
            None => format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            ),
        };
        let row = engine
            .subscribe_portal_sync(url, secret)
            .await
            .with_context(|| format!("--portal-sync-url {url}"))?;
        tracing::info!(url = %row.url, subscription = %row.id, "portal feed subscribed");
        Ok(())
    }

    /// The engine's setting.
    pub fn retry(&self) -> motcua_engine::WebhookRetry {
        motcua_engine::WebhookRetry {
            base: std::time::Duration::from_millis(self.webhook_retry_base_ms.max(1)),
            max: std::time::Duration::from_millis(self.webhook_retry_max_ms.max(1)),
        }
    }
}

/// `motcua web ...`.
#[derive(Debug, clap::Subcommand)]
pub enum WebCmd {
    /// Read a password from standard input (one line) and print its hash for the users file
    /// of `motcua serve --web-users` (PBKDF2-HMAC-SHA256, random salt).
    HashPassword {
        /// PBKDF2 iterations.
        #[arg(long, default_value_t = crate::web::session::DEFAULT_ITERATIONS)]
        iterations: u32,
    },
}
