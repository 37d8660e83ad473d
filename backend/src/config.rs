//! Command line and environment. Parsed once in `main` and passed down as plain structs.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "proofup",
    version,
    about = "Proofup: a self-hosted identity protection portal (MFA registration policy, directory, sign-in logs)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal and its API (the default).
    Serve(Box<ServeArgs>),
    /// Print the one-time URL that creates the first Global administrator.
    SetupUrl(SetupUrlArgs),
    /// Fill a (stopped) store with a synthetic directory for trials and benchmarks:
    /// users `seed-user-N` (role User, no password) and groups `Seed group N`
    /// nested in levels, each user directly in three groups.
    Seed(SeedArgs),
    /// Write a consistent backup of the store to a file: through the running server
    /// (its control socket in the data directory), or directly when it is stopped.
    Backup(BackupArgs),
    /// Restore a backup into an empty data directory (the server stopped). Sessions are
    /// not in backups: everyone signs in again.
    Restore(RestoreArgs),
    /// Copy a (stopped) embedded store into an empty PostgreSQL database, in one transaction,
    /// with the counts checked; then run every node with --database-url and the same secret
    /// key file. Sessions go across; applications sign their users in again.
    Migrate(MigrateArgs),
    /// Rotate the ID-token signing keys (next → active → retired): through the running
    /// server, or directly when it is stopped. Relying parties never see an unknown key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Ask a running server whether it is ready (`GET /readyz` on its listen address): exit 0
    /// if so, 1 if not. For container health checks, where the image has no curl.
    Probe(ProbeArgs),
    /// The breached-password set: `proofup breached build --from FILE --out FILE` turns a Pwned
    /// Passwords download (`SHA1:COUNT` lines) or a list of passwords into the compact filter
    /// `--breached-set` reads. Offline; nothing is downloaded.
    #[command(subcommand)]
    Breached(BreachedCommand),
    /// Mail: `proofup mail test --to ADDR` sends a test message now with the mail settings
    /// given (the same flags as serve), and says what the server answered.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Benchmarks: Argon2id verifications per second with the production parameters,
    /// one thread per core flat out (the bound for sign-in throughput).
    #[command(hide = true)]
    HashRate(HashRateArgs),
}

#[derive(Debug, Subcommand)]
pub enum BreachedCommand {
    /// Build the filter from a file.
    Build(BreachedBuildArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BreachedBuildArgs {
    /// Pwned Passwords lines (`SHA1HEX:COUNT`, as haveibeenpwned-downloader writes them) or one
    /// password per line.
    #[arg(long)]
    pub from: PathBuf,
    /// The set to write (replaced atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Keep only hashes seen at least this often (smaller set).
    #[arg(long, default_value_t = 1)]
    pub min_count: u64,
    /// The set's name, as the evidence of a detection shows it.
    #[arg(long, default_value = "breached passwords")]
    pub name: String,
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Send a test message now (no server needed), to check the mail settings.
    Test(MailTestArgs),
}

#[derive(Debug, Clone, Args)]
pub struct MailTestArgs {
    /// Where to send the test message.
    #[arg(long)]
    pub to: String,
    /// The portal's public URL, as the message's footer names it.
    #[arg(long, env = "PROOFUP_PUBLIC_URL", default_value = "http://localhost:8080")]
    pub public_url: String,
    #[command(flatten)]
    pub mail: MailArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    /// The server's listen address (an unspecified address such as 0.0.0.0 is asked on loopback).
    #[arg(long, env = "PROOFUP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 3)]
    pub timeout_seconds: u64,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// The next keys (already published) start signing; the active ones retire.
    Rotate(KeysArgs),
}

#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    #[arg(long, env = "PROOFUP_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The nodes' PostgreSQL database: rotate there (every node signs with the new key within a
    /// second); the secret key file is then the nodes' shared one.
    #[arg(long, env = "PROOFUP_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The server's secret key file (default: secret.key in the data directory); it must exist.
    #[arg(long, env = "PROOFUP_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    #[arg(long, env = "PROOFUP_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Refused with the way to back PostgreSQL up (`pg_dump`): this command copies the embedded store.
    #[arg(long, env = "PROOFUP_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The backup file to write (replaced if it exists).
    #[arg(long)]
    pub to: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// An empty (or missing) directory to restore into.
    #[arg(long, env = "PROOFUP_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The backup file.
    #[arg(long)]
    pub from: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// The embedded store to copy (its server stopped).
    #[arg(long)]
    pub from_data_dir: PathBuf,
    /// The PostgreSQL database to fill (`postgres://user:password@host/db`; empty).
    #[arg(long, env = "PROOFUP_DATABASE_URL", hide_env_values = true)]
    pub to: String,
}

#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// Directory of the embedded store.
    #[arg(long, env = "PROOFUP_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    #[arg(long, default_value_t = 50)]
    pub groups: usize,
    /// Levels of nesting.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub depth: u32,
    /// Sign-in log rows to add, spread over the 30 days before now.
    #[arg(long, default_value_t = 0)]
    pub sign_ins: usize,
    /// Audit log rows to add, spread over the 30 days before now.
    #[arg(long, default_value_t = 0)]
    pub audit: usize,
    /// Benchmarks: give this many seeded users an authenticator app and a session waiting for
    /// its code, listed as `session-token base32-secret` lines in --sessions-out (0600).
    #[arg(long, default_value_t = 0, hide = true, requires = "sessions_out")]
    pub totp_sessions: usize,
    #[arg(long, hide = true)]
    pub sessions_out: Option<PathBuf>,
    /// Benchmarks: an application "Bench" and this many sign-ins through it, each waiting as a
    /// code (valid 10 minutes) and as a refresh token, listed in --grants-out (0600): a first
    /// line `client-id secret`, then `code refresh-token` lines.
    #[arg(long, default_value_t = 0, hide = true, requires = "grants_out")]
    pub oidc_grants: usize,
    #[arg(long, hide = true)]
    pub grants_out: Option<PathBuf>,
    /// Benchmarks: how long the Bench application's access tokens live (1–60 minutes; short, to
    /// measure memory with tokens expiring and swept as in production).
    #[arg(long, default_value_t = 60, hide = true, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub access_token_minutes: u32,
}

#[derive(Debug, Clone, Args)]
pub struct HashRateArgs {
    /// Threads hashing at once (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "PROOFUP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory of the embedded store (created if missing).
    #[arg(long, env = "PROOFUP_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// File holding the 32-byte key that encrypts TOTP secrets at rest. Created
    /// (mode 0600) on first run. Keep it out of store backups for separation.
    #[arg(long, env = "PROOFUP_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,

    /// The URL people use to reach Proofup (scheme, host and port). Used in links
    /// and to check the Origin of state-changing requests. Default: http://localhost:<port>.
    #[arg(long, env = "PROOFUP_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Mark the session cookie Secure and name it with the __Host- prefix. On by
    /// default when the public URL is https.
    #[arg(long, env = "PROOFUP_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Reverse proxies whose X-Forwarded-For and X-Forwarded-Host are believed: comma separated
    /// addresses or CIDR ranges (`10.0.0.9,10.1.0.0/16,fd00::/8`).
    #[arg(long, env = "PROOFUP_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Sign a session out after this many minutes without a request.
    #[arg(long, env = "PROOFUP_SESSION_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub session_idle_minutes: u32,

    /// Sign a session out this many hours after sign-in, active or not.
    #[arg(long, env = "PROOFUP_SESSION_ABSOLUTE_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub session_absolute_hours: u32,

    /// Sign-in and setup attempts allowed per client IP per minute.
    #[arg(long, env = "PROOFUP_SIGN_IN_PER_IP_PER_MINUTE", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100000))]
    pub sign_in_per_ip_per_minute: u32,

    /// How long a temporary access pass (issued when a user is created or reset) stays valid, in hours.
    #[arg(long, env = "PROOFUP_PASS_HOURS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub pass_hours: u32,

    /// Memory for the store's page cache, in MiB.
    #[arg(long, env = "PROOFUP_CACHE_MIB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(8..=65536))]
    pub cache_mib: u64,

    /// Log format on standard output.
    #[arg(long, env = "PROOFUP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// Days the sign-in and audit logs keep an entry; older entries are removed hourly.
    #[arg(long, env = "PROOFUP_LOG_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub log_retention_days: u32,

    /// Most entries each log keeps; beyond it the oldest are removed hourly (a flood of refused
    /// sign-ins cannot fill the disk).
    #[arg(long, env = "PROOFUP_LOG_MAX_ROWS", default_value_t = 2_000_000, value_parser = clap::value_parser!(u64).range(1000..))]
    pub log_max_rows: u64,

    /// HTTP worker threads (default: one per core; on PostgreSQL, four per core, since a
    /// store call waits for a database round trip on its worker).
    #[arg(long, env = "PROOFUP_WORKERS")]
    pub workers: Option<usize>,

    /// Keep the data in PostgreSQL instead of the embedded store (`postgres://user@host/db`),
    /// for several nodes on one database. The data directory then holds only the secret key
    /// file (every node needs the same one), the setup link and the control socket.
    #[arg(long, env = "PROOFUP_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// PostgreSQL connections this node keeps.
    #[arg(long, env = "PROOFUP_DB_POOL_SIZE", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub db_pool_size: u32,

    /// Statements running longer than this are cancelled by PostgreSQL.
    #[arg(long, env = "PROOFUP_DB_STATEMENT_TIMEOUT_MS", default_value_t = 5000, value_parser = clap::value_parser!(u32).range(100..=600_000))]
    pub db_statement_timeout_ms: u32,

    /// File holding the bearer token Prometheus presents to scrape `GET /metrics` (at least 32
    /// characters; Prometheus reads it with `authorization: {credentials_file: ...}`). Without
    /// it, `/metrics` is off.
    #[arg(long, env = "PROOFUP_METRICS_TOKEN_FILE")]
    pub metrics_token_file: Option<PathBuf>,

    #[command(flatten)]
    pub mail: MailArgs,

    #[command(flatten)]
    pub risk: RiskArgs,
}

/// Risk: what the detections read. All optional: without them sign-ins work and the portal says
/// "location unavailable".
#[derive(Debug, Clone, Default, Args)]
pub struct RiskArgs {
    /// A GeoIP/ASN database in MaxMind's MMDB format (GeoLite2 City or ASN, DB-IP Lite, ...);
    /// repeat for several (a City file and an ASN file). Read at start; never fetched online.
    #[arg(long = "geoip-db", env = "PROOFUP_GEOIP_DB", value_delimiter = ',')]
    pub geoip_db: Vec<PathBuf>,

    /// The breached-password set built by `proofup breached build`: the password typed at every
    /// successful sign-in is checked against it (leaked credentials).
    #[arg(long, env = "PROOFUP_BREACHED_SET")]
    pub breached_set: Option<PathBuf>,

    /// Anonymizers (Tor exits, VPN egress): one address or CIDR range per line, `#` comments.
    /// Re-read when the file changes.
    #[arg(long, env = "PROOFUP_ANONYMIZER_LIST")]
    pub anonymizer_list: Option<PathBuf>,
}

/// Reads an address list: one address or CIDR per line; blank lines and `#` comments skipped.
pub fn read_ip_list(path: &std::path::Path) -> Result<Vec<ipnet::IpNet>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let net = proofup_shared::policy::parse_network(line).ok_or_else(|| {
            format!("{} line {}: \"{line}\" is not an address or a CIDR range", path.display(), n + 1)
        })?;
        out.push(net);
    }
    Ok(out)
}

/// Shortest metrics token accepted: it guards a page that tells how many people sign in.
pub const METRICS_TOKEN_MIN_CHARS: usize = 32;

/// Mail: where Proofup's messages go out. Without `--smtp-url` nothing is sent and the portal
/// says mail is off.
#[derive(Debug, Clone, Default, Args)]
pub struct MailArgs {
    /// The mail server: `smtp://host[:port]` (STARTTLS required; port 587 by default) or
    /// `smtps://host[:port]` (TLS from the first byte; port 465). A user name may precede the
    /// host (`smtp://proofup@mail.example.com`); the password comes from --smtp-password-file.
    /// `?tls=none` sends in clear and is accepted only for a loopback server (a local relay).
    #[arg(long, env = "PROOFUP_SMTP_URL")]
    pub smtp_url: Option<String>,

    /// File holding the mail server's password (never on the command line, never logged).
    #[arg(long, env = "PROOFUP_SMTP_PASSWORD_FILE")]
    pub smtp_password_file: Option<PathBuf>,

    /// PEM file of a certificate authority the mail server's certificate may chain to, besides
    /// the system's (a private CA).
    #[arg(long, env = "PROOFUP_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,

    /// The From of every message, e.g. `Contoso sign-in <no-reply@contoso.com>`. Required with
    /// --smtp-url.
    #[arg(long, env = "PROOFUP_MAIL_FROM")]
    pub mail_from: Option<String>,

    /// The organisation's name, as messages say it.
    #[arg(long, env = "PROOFUP_ORGANISATION", default_value = "Proofup")]
    pub organisation: String,
}

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS; refused if the server does not offer it.
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Tls,
    /// No TLS: loopback servers only.
    None,
}

impl SmtpSecurity {
    pub fn label(self) -> &'static str {
        match self {
            SmtpSecurity::StartTls => "STARTTLS (required)",
            SmtpSecurity::Tls => "TLS",
            SmtpSecurity::None => "none (loopback server)",
        }
    }
}

/// The mail settings, checked.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// An extra trusted certificate authority (PEM).
    pub ca_pem: Option<Vec<u8>>,
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("from", &self.from)
            .finish()
    }
}

impl MailArgs {
    /// The mail settings, or `None` when mail is off; `Err` says what to fix.
    pub fn smtp(&self) -> Result<Option<SmtpConfig>, String> {
        let Some(raw) = self.smtp_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            if self.mail_from.is_some() || self.smtp_password_file.is_some() {
                return Err("--mail-from and --smtp-password-file need --smtp-url".into());
            }
            return Ok(None);
        };
        let mut c = parse_smtp_url(raw)?;
        c.from = self
            .mail_from
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .ok_or("--smtp-url needs --mail-from (the address messages come from)")?
            .to_owned();
        check_mailbox(&c.from).map_err(|e| format!("--mail-from: {e}"))?;
        if let Some(path) = &self.smtp_password_file {
            let p = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --smtp-password-file {}: {e}", path.display()))?;
            let p = p.trim_end_matches(['\r', '\n']).to_owned();
            if p.is_empty() {
                return Err(format!("--smtp-password-file {} is empty", path.display()));
            }
            if c.username.is_none() {
                return Err("--smtp-password-file needs a user name in --smtp-url (smtp://user@host)".into());
            }
            c.password = Some(p);
        }
        if let Some(path) = &self.smtp_ca_file {
            c.ca_pem =
                Some(std::fs::read(path).map_err(|e| format!("cannot read --smtp-ca-file {}: {e}", path.display()))?);
        }
        Ok(Some(c))
    }
}

/// A From like `Name <addr@host>` or `addr@host`.
pub fn check_mailbox(s: &str) -> Result<(), String> {
    let addr = match (s.rfind('<'), s.ends_with('>')) {
        (Some(i), true) => &s[i + 1..s.len() - 1],
        _ => s,
    };
    match proofup_shared::validation::validate_email(addr) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err("an address is needed".into()),
        Err(e) => Err(e),
    }
}

/// Reads `smtp://` / `smtps://` URLs. A password in the URL is refused: it would show in the
/// process list and in shell history.
pub fn parse_smtp_url(raw: &str) -> Result<SmtpConfig, String> {
    let u = url::Url::parse(raw).map_err(|e| format!("--smtp-url is not a URL: {e}"))?;
    let mut security = match u.scheme() {
        "smtp" => SmtpSecurity::StartTls,
        "smtps" => SmtpSecurity::Tls,
        other => return Err(format!("--smtp-url: use smtp:// or smtps://, not {other}://")),
    };
    if u.password().is_some() {
        return Err("--smtp-url must not hold a password: put it in a file named by --smtp-password-file".into());
    }
    let host = match u.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        None => return Err("--smtp-url needs a host".into()),
    };
    for (k, v) in u.query_pairs() {
        match (k.as_ref(), v.as_ref()) {
            ("tls", "none") => {
                if security != SmtpSecurity::StartTls {
                    return Err("--smtp-url: tls=none goes with smtp://".into());
                }
                let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback());
                if !loopback {
                    return Err("--smtp-url: tls=none (mail in clear) is allowed only for a loopback server".into());
                }
                security = SmtpSecurity::None;
            }
            ("tls", "required") => {}
            (k, _) => return Err(format!("--smtp-url: unknown parameter {k}")),
        }
    }
    if u.path() != "" && u.path() != "/" {
        return Err("--smtp-url takes no path".into());
    }
    let port = u.port().unwrap_or(match security {
        SmtpSecurity::Tls => 465,
        SmtpSecurity::StartTls => 587,
        SmtpSecurity::None => 25,
    });
    let username = (!u.username().is_empty())
        .then(|| percent_encoding::percent_decode_str(u.username()).decode_utf8_lossy().into_owned());
    Ok(SmtpConfig { host, port, security, username, password: None, ca_pem: None, from: String::new() })
}

/// Reads the metrics token file: its first line, trimmed; kept only as its SHA-256.
pub fn read_metrics_token(path: &std::path::Path) -> Result<[u8; 32], String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the metrics token file {}: {e}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.chars().count() < METRICS_TOKEN_MIN_CHARS {
        return Err(format!(
            "the metrics token in {} is shorter than {METRICS_TOKEN_MIN_CHARS} characters (make one with `openssl rand -hex 32`)",
            path.display()
        ));
    }
    Ok(crate::domain::setup::sha256(token))
}

#[derive(Debug, Clone, Args)]
pub struct SetupUrlArgs {
    #[arg(long, env = "PROOFUP_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Listen address of the server (to build the URL when no public URL is set).
    #[arg(long, env = "PROOFUP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[arg(long, env = "PROOFUP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The nodes' PostgreSQL database: issue a fresh link there (the nodes' logged links stop
    /// working), from any machine that reaches it.
    #[arg(long, env = "PROOFUP_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// The setup link, kept beside the store (mode 0600) so `proofup setup-url` can show it while
/// the server holds the store's lock; removed the moment setup completes.
pub fn setup_file(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("setup-url.json")
}

/// One `--trusted-proxies` entry: an address (a range of one) or a CIDR range.
pub fn parse_proxy(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(ipnet::IpNet::from(ip.to_canonical()));
    }
    s.parse::<ipnet::IpNet>()
        .map(|n| n.trunc())
        .map_err(|_| format!("`{s}` is neither an IP address nor a CIDR range (e.g. 10.0.0.0/8)"))
}

/// What the HTTP layer needs, resolved from the arguments.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Without a trailing slash, e.g. `http://localhost:8080`.
    pub public_url: String,
    pub secure_cookies: bool,
    /// Addresses and ranges of the reverse proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub session_idle_minutes: u32,
    pub session_absolute_hours: u32,
    pub sign_in_per_ip_per_minute: u32,
    pub pass_hours: u32,
    /// Where the server keeps the one-time setup link (removed the moment setup completes).
    pub setup_file: Option<PathBuf>,
    /// SHA-256 of the bearer token that may read `/metrics`; `None`: `/metrics` is off.
    pub metrics_token: Option<[u8; 32]>,
    /// The organisation's name, as messages say it.
    pub organisation: String,
    /// The mail settings in force (set by `serve` once checked); `None`: mail is off.
    pub mail: Option<crate::domain::mail::MailSetup>,
}

pub fn public_url(explicit: Option<&str>, listen: SocketAddr) -> String {
    match explicit {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None if listen.ip().is_loopback() || listen.ip().is_unspecified() => {
            format!("http://localhost:{}", listen.port())
        }
        None => format!("http://{listen}"),
    }
}

impl ServeArgs {
    pub fn http_config(&self) -> HttpConfig {
        let public_url = public_url(self.public_url.as_deref(), self.listen);
        HttpConfig {
            secure_cookies: self.secure_cookies || public_url.starts_with("https://"),
            public_url,
            trusted_proxies: self.trusted_proxies.clone(),
            session_idle_minutes: self.session_idle_minutes,
            session_absolute_hours: self.session_absolute_hours,
            sign_in_per_ip_per_minute: self.sign_in_per_ip_per_minute,
            pass_hours: self.pass_hours,
            setup_file: Some(setup_file(&self.data_dir)),
            metrics_token: None,
            organisation: self.mail.organisation.clone(),
            mail: None,
        }
    }
}

impl HttpConfig {
    /// Defaults for tests and embedding.
    pub fn for_tests() -> Self {
        Self {
            public_url: "http://localhost:8080".into(),
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            sign_in_per_ip_per_minute: 20,
            pass_hours: 8,
            setup_file: None,
            metrics_token: None,
            organisation: "Proofup".into(),
            mail: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_are_read_strictly() {
        let c = parse_smtp_url("smtp://mail.example.com").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.security, c.username),
            ("mail.example.com", 587, SmtpSecurity::StartTls, None)
        );
        let c = parse_smtp_url("smtps://proofup%2Bid@mail.example.com:2465").unwrap();
        assert_eq!((c.port, c.security, c.username.as_deref()), (2465, SmtpSecurity::Tls, Some("proofup+id")));
        let c = parse_smtp_url("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((c.port, c.security), (2525, SmtpSecurity::None));
        assert_eq!(parse_smtp_url("smtp://localhost:25?tls=none").unwrap().security, SmtpSecurity::None);
        for (bad, says) in [
            ("smtp://mail.example.com?tls=none", "loopback"),
            ("smtp://u:secret@mail.example.com", "password"),
            ("http://mail.example.com", "smtp://"),
            ("smtps://127.0.0.1?tls=none", "smtp://"),
            ("smtp://mail.example.com/x", "path"),
            ("smtp://mail.example.com?auth=x", "unknown parameter"),
            ("mail.example.com", "not a URL"),
        ] {
            let e = parse_smtp_url(bad).err().unwrap_or_default();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn mail_needs_a_from_and_a_user_for_a_password() {
        let args = |url: Option<&str>, from: Option<&str>| MailArgs {
            smtp_url: url.map(Into::into),
            mail_from: from.map(Into::into),
            ..Default::default()
        };
        assert!(args(None, None).smtp().unwrap().is_none());
        assert!(args(None, Some("a@b.org")).smtp().is_err());
        assert!(args(Some("smtp://m.example.com"), None).smtp().unwrap_err().contains("--mail-from"));
        let c =
            args(Some("smtp://m.example.com"), Some("Contoso sign-in <no-reply@contoso.com>")).smtp().unwrap().unwrap();
        assert_eq!(c.from, "Contoso sign-in <no-reply@contoso.com>");
        assert!(args(Some("smtp://m.example.com"), Some("not an address")).smtp().is_err());
        let dir = std::env::temp_dir().join(format!("proofup-mail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let mut a = args(Some("smtp://m.example.com"), Some("a@b.org"));
        a.smtp_password_file = Some(file.clone());
        assert!(a.smtp().unwrap_err().contains("user name"));
        a.smtp_url = Some("smtp://proofup@m.example.com".into());
        let c = a.smtp().unwrap().unwrap();
        assert_eq!(c.password.as_deref(), Some("s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
