use clap::Parser;
use pds_wizard::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Before anything can panic (the wizard's terminal restore wraps this hook).
    pds_wizard::secret::install_panic_scrubber();
    let cli = Cli::parse();
    match &cli.command {
        Some(_) if cli.demo => {
            eprintln!("error: --demo opens the wizard on a sandbox file; run subcommands with --env-file instead");
            ExitCode::from(cli::EXIT_ERROR)
        }
        Some(cmd) => cli::run(&cli, cmd),
        None => match pds_wizard::tui::run(
            &cli.context(),
            match (cli.demo, cli.no_stand_ins) {
                (false, _) => pds_wizard::tui::Mode::Normal,
                (true, no) => pds_wizard::tui::Mode::Demo { stand_ins: !no },
            },
        ) {
            Ok(None) => ExitCode::SUCCESS,
            // 128 + the signal, as a shell reports a process a signal ended.
            Ok(Some(signal)) => ExitCode::from(128 + signal.number()),
            Err(e) => {
                eprintln!("error: {}", pds_wizard::secret::scrub(&format!("{e:#}")));
                ExitCode::from(cli::EXIT_ERROR)
            }
        },
    }
}
