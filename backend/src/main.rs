use clap::Parser;
use proofup::cli;
use proofup::config::{Cli, Command, LogFormat};
use tracing_subscriber::EnvFilter;

fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_env("PROOFUP_LOG").unwrap_or_else(|_| EnvFilter::new("info,sled=warn"));
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    match format {
        LogFormat::Json => b.json().flatten_event(true).init(),
        LogFormat::Human => b.init(),
    }
}

fn main() -> std::process::ExitCode {
    // Everything this process creates (the store's files, backups, the setup link, the control
    // socket) is readable by its own user only, whatever umask it was started with.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::SetupUrl(args)) => cli::setup_url::setup_url(args).map(|url| println!("{url}")),
        Some(Command::Serve(args)) => run(*args),
        Some(Command::Seed(args)) => cli::seed::seed(&args).map(|n| println!("{n}")),
        Some(Command::Backup(args)) => cli::backup::backup(&args).map(|s| println!("{s}")),
        Some(Command::HashRate(args)) => cli::hash_rate(&args),
        Some(Command::Keys(proofup::config::KeysCommand::Rotate(args))) => {
            cli::keys::rotate(&args).map(|s| println!("{s}"))
        }
        Some(Command::Restore(args)) => cli::backup::restore(&args).map(|s| println!("{s}")),
        Some(Command::Probe(args)) => cli::probe::probe(&args).map(|s| println!("{s}")),
        Some(Command::Migrate(args)) => cli::migrate::migrate(&args).map(|s| println!("{s}")),
        Some(Command::Breached(proofup::config::BreachedCommand::Build(args))) => {
            proofup::adapters::breached::BreachedSet::build(&args.from, &args.out, &args.name, args.min_count)
                .map(|n| println!("{n} entries written to {}", args.out.display()))
                .map_err(|e| e.to_string().into())
        }
        Some(Command::Mail(proofup::config::MailCommand::Test(args))) => {
            cli::mail::test(&args).map(|s| println!("{s}"))
        }
        None => run(cli.serve),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("proofup: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: proofup::config::ServeArgs) -> cli::CliResult<()> {
    init_logs(args.log_format);
    actix_web::rt::System::new().block_on(cli::serve::serve(args))
}
