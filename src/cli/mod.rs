//! The same binary outside Lambda: a command line to run sample events through the handler
//! (`invoke`), to make new ones (`encode`), to ask the history the same question (`scan`), and
//! to ask, before a deletion, whether anything still reads a secret (`check`).
//! It owns everything the library does not do: reading files and standard input, walking
//! trees, building clients, printing.

mod bucket_walk;
mod check;
mod dry_run;
mod input_error;
mod scan;
mod scan_report;
mod sources;
mod stdout;
mod walk;

use input_error::InputError;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Parser, Subcommand};
use secret_deletion_alerts::aws::Wiring;
use secret_deletion_alerts::config::Config;
use secret_deletion_alerts::dry_run::DryRunSecrets;
use secret_deletion_alerts::error::Chain;
use secret_deletion_alerts::handler::{Adapters, BatchOptions, handle_batch};
use secret_deletion_alerts::logs::{SubscriptionEvent, control_message_event, encode_records};

use dry_run::StdoutPublisher;

#[derive(Debug, Parser)]
#[command(
    name = "secret-deletion-alerts",
    version,
    about = "Alerts when a Secrets Manager secret pending deletion is still read. In Lambda it \
             runs the function; here it runs events through the same handler."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Email,
    /// The chat message (AWS Chatbot's custom-notification JSON) `CHAT_TOPIC_ARN` receives.
    Chat,
    /// The Security Hub findings (ASFF) `SECURITY_HUB` imports, as imported into the
    /// secret's account and region.
    Finding,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one Lambda event file (a CloudWatch Logs subscription event) through the handler.
    Invoke {
        /// Call no AWS service: print each alert on stdout instead of publishing it, and look
        /// up and restore nothing.
        #[arg(long)]
        dry_run: bool,
        /// What a dry run prints for each alert: the email (subject and text) as a subscriber
        /// would get it, its JSON document (one line), its chat message, or its Security Hub
        /// findings. Default: the email on a terminal, JSON when stdout is a pipe or a file.
        #[arg(long, value_enum, requires = "dry_run")]
        format: Option<Format>,
        /// The event file, or - for standard input.
        file: PathBuf,
    },
    /// Look back: find the reads of secrets pending deletion in CloudTrail history (local
    /// files: the trail's log files, .json.gz or .json, whole directory trees of them, Event
    /// history exports, lookup-events output, JSON lines, subscription events; a trail's
    /// bucket in place, s3://BUCKET[/PREFIX]; CloudTrail Event history, --source
    /// event-history; a CloudTrail table, --source athena:DATABASE.TABLE) and report them with
    /// the function's detection and alert text. Exit status 0 when none was found and every
    /// source was read, 3 when reads were found, 2 when none was found but something could
    /// not be read, 1 when the scan could not run.
    Scan(scan::ScanArgs),
    /// Before a deletion: whether anything still reads these secrets, and who. Every
    /// GetSecretValue of the secret counts, successful or refused (BatchGetSecretValue logs
    /// one per secret). Exit status 0 when no secret asked was read in the window and every
    /// source was read in full, 3 when any is in use, 2 when a source could not be read in
    /// full and no read was seen, 1 when the check could not run.
    Check(check::CheckArgs),
    /// Wrap CloudTrail records (one JSON object, a {"Records":[...]} file, or JSON lines)
    /// into a CloudWatch Logs subscription event, printed on stdout.
    Encode {
        /// The log group the event claims to come from.
        #[arg(long, default_value = "aws-cloudtrail-logs")]
        log_group: String,
        /// Make the CONTROL_MESSAGE event CloudWatch Logs sends when a subscription is created.
        #[arg(long, conflicts_with = "file")]
        control: bool,
        /// The records file, or - for standard input.
        #[arg(required_unless_present = "control")]
        file: Option<PathBuf>,
    },
}

pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Invoke {
            dry_run,
            format,
            file,
        } => {
            let format = format.unwrap_or(if std::io::stdout().is_terminal() {
                Format::Email
            } else {
                Format::Json
            });
            invoke(&file, dry_run, format).await
        }
        Command::Encode {
            log_group,
            control,
            file,
        } => encode(file.as_deref(), &log_group, control),
        Command::Check(mut args) => {
            args.progress = std::io::stderr().is_terminal();
            check::check(args).await
        }
        Command::Scan(mut args) => {
            args.progress = std::io::stderr().is_terminal();
            scan::scan(args).await
        }
    }
}

pub(crate) fn parse_time(text: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339_weak(text)
        .map_err(|e| format!("{e} (expected e.g. 2026-08-01T00:00:00Z)"))
}

pub(crate) fn read_input(path: &std::path::Path) -> Result<Vec<u8>, InputError> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(InputError::Stdin)?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|source| InputError::File {
        path: path.display().to_string(),
        source,
    })
}

/// Says why the command stops (an error with its causes: [`Chain`]) and fails.
pub(crate) fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("secret-deletion-alerts: {message}");
    ExitCode::FAILURE
}

/// What `invoke` inflates at most: a Lambda payload (1 MB) of the most repetitive records.
const REPLAY_MAX_DECODED_BYTES: usize = 1 << 30;

async fn invoke(path: &std::path::Path, dry_run: bool, format: Format) -> ExitCode {
    let config = match Config::from_lookup(|k| std::env::var(k).ok()) {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    let bytes = match read_input(path) {
        Ok(bytes) => bytes,
        Err(e) => return fail(Chain(&e)),
    };
    // Read as the function reads it, so the local mode runs the function's path.
    let event = match SubscriptionEvent::from_json(&bytes) {
        Ok(event) => event,
        Err(e) => return fail(format!("{}: {}", path.display(), Chain(&e))),
    };
    let mut options = BatchOptions::from_config(&config, SystemTime::now());
    // A batch the function could read only up to its cap (dead-lettered for it) is read
    // whole here: the command line may use more memory than the function.
    options.max_decoded_bytes = options.max_decoded_bytes.max(REPLAY_MAX_DECODED_BYTES);
    let result = if dry_run {
        // A dry run remembers nothing: one alert per secret, as without a table.
        options.alert_window = None;
        let secrets = DryRunSecrets::default();
        let publisher = StdoutPublisher(format);
        handle_batch(
            &event.awslogs.data,
            &Adapters::new(&publisher, &secrets),
            &options,
        )
        .await
    } else {
        let topic = match config.require_topic() {
            Ok(topic) => topic,
            Err(e) => return fail(format!("{e} (or use --dry-run)")),
        };
        // The function's own wiring: what it publishes, looks up, restores and copies.
        let wiring = Wiring::build(&config, topic).await;
        handle_batch(&event.awslogs.data, &wiring.adapters(), &options).await
    };
    match result {
        Ok(summary) => {
            eprintln!(
                "{}",
                serde_json::to_string(&summary).unwrap_or_else(|e| e.to_string())
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(Chain(&e)),
    }
}

fn encode(path: Option<&std::path::Path>, log_group: &str, control: bool) -> ExitCode {
    let event = if control {
        control_message_event(log_group).map_err(|e| Chain(&e).to_string())
    } else {
        let Some(path) = path else {
            return fail("encode needs a FILE (or - for standard input) or --control");
        };
        read_input(path)
            .and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| InputError::NotUtf8 {
                    path: path.display().to_string(),
                })
            })
            .map_err(|e| Chain(&e).to_string())
            .and_then(|text| encode_records(&text, log_group).map_err(|e| Chain(&e).to_string()))
    };
    let event = match event {
        Ok(event) => event,
        Err(e) => return fail(e),
    };
    let json = match serde_json::to_string_pretty(&event) {
        Ok(json) => json,
        Err(e) => return fail(e),
    };
    match stdout::print_line(json) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
