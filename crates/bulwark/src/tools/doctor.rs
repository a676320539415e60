//! `bulwark doctor`: the node's security state and every problem, each with its fix.

use std::process::ExitCode;

use bulwark_node::doctor::{Finding, Severity, examine};

use crate::{Globals, exit};

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn label(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "OK",
        Severity::Info => "INFO",
        Severity::Warning => "WARNING",
        Severity::Critical => "CRITICAL",
    }
}

/// Exit status 0 only when nothing is at warning or worse.
pub fn run(globals: &Globals, args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let hostname = bulwark_node::host::hostname();
    let loaded = bulwark_settings::load(&globals.home, &globals.overrides, &hostname)
        .map_err(|e| exit::fail(exit::CONFIG, e.to_string()))?;
    let password = crate::tools::keystore_password(&globals.home)?;
    let findings: Vec<Finding> = examine(&globals.home, &loaded, &password, crate::root::is_root());
    let worst = findings.iter().map(|f| f.severity).max().unwrap_or(Severity::Ok);
    if args.json {
        let report = serde_json::json!({
            "home": globals.home.root(),
            "status": label(worst).to_ascii_lowercase(),
            "findings": findings,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("Security report for {}", globals.home.root().display());
        for f in &findings {
            println!("[{}] {}: {}", label(f.severity), f.check, f.message);
            if !f.fix.is_empty() {
                println!("    fix: {}", f.fix);
            }
        }
        println!("Overall: {}", label(worst));
    }
    Ok(if worst >= Severity::Warning { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
