//! `bulwark service-tokens`: manage service account tokens in `config/service_tokens`, as
//! `elasticsearch-service-tokens` does.
//!
//! A token's secret is printed once, when it is created; the file keeps only its hash
//! (`xpack.security.authc.service_token_hashing.algorithm`, PBKDF2_STRETCH by default), written atomically with mode 0600. A running node picks the changes up from
//! the file.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use bulwark_security::authn::{
    SERVICE_TOKENS_FILE, ServiceAccount, ServiceAccountToken, ServiceTokenId, ServiceTokensFile,
};
use bulwark_settings::values::PasswordHashing;
use clap::{Args, Subcommand};
use secrecy::ExposeSecret;

use super::node_admin::load_settings;
use super::users::{realm_file_failure, stdout_failure, write_realm_file};
use crate::Globals;
use crate::exit::{self, fail, random_failure};

/// Manage service account tokens (config/service_tokens).
///
/// Service accounts are built-in identities for other Elastic-compatible services:
/// elastic/kibana, elastic/fleet-server and elastic/enterprise-search-server. A client sends a
/// token as `Authorization: Bearer <token>`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Exit codes: 0 ok, 64 usage or unknown service account, 65 invalid, existing or missing token
name, 74 I/O error, 78 invalid service_tokens file.")]
pub struct ServiceTokensArgs {
    #[command(subcommand)]
    command: ServiceTokensCommand,
}

#[derive(Debug, Subcommand)]
enum ServiceTokensCommand {
    /// Create a token and print it (the only time its secret is shown).
    Create(TokenArgs),
    /// Delete a token.
    Delete(TokenArgs),
    /// List tokens (qualified names), of every service account or of one.
    List(ListArgs),
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// The service account, e.g. elastic/kibana.
    #[arg(value_name = "SERVICE_ACCOUNT")]
    principal: String,
    /// The token's name: 1 to 256 letters, digits, '-' or '_', not starting with '_'.
    #[arg(value_name = "TOKEN_NAME")]
    name: String,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Only this service account's tokens.
    #[arg(value_name = "SERVICE_ACCOUNT")]
    principal: Option<String>,
}

/// Runs `bulwark service-tokens <command>` against the home's config directory.
pub fn run(globals: &Globals, args: ServiceTokensArgs) -> anyhow::Result<ExitCode> {
    let path = globals.home.config_dir().join(SERVICE_TOKENS_FILE);
    match args.command {
        ServiceTokensCommand::Create(a) => {
            create(&path, &a, load_settings(globals)?.security.service_token_hashing)
        }
        ServiceTokensCommand::Delete(a) => delete(&path, &a),
        ServiceTokensCommand::List(a) => list(&path, a.principal.as_deref()),
    }?;
    Ok(ExitCode::SUCCESS)
}

fn create(path: &Path, args: &TokenArgs, algorithm: PasswordHashing) -> anyhow::Result<()> {
    let id = token_id(args)?;
    let mut file = ServiceTokensFile::load(path).map_err(realm_file_failure)?;
    if file.contains(&id) {
        return Err(fail(
            exit::DATA_ERROR,
            format!("Service token [{}] already exists", id.qualified_name()),
        ));
    }
    let token = ServiceAccountToken::generate(id).map_err(random_failure)?;
    file.insert(token.id(), token.hash(algorithm).map_err(random_failure)?);
    write_realm_file(path, &file.to_file_string())?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "SERVICE_TOKEN {} = {}", token.id().qualified_name(), token.to_bearer().expose_secret())
        .and_then(|()| stdout.flush())
        .map_err(stdout_failure)
}

fn delete(path: &Path, args: &TokenArgs) -> anyhow::Result<()> {
    let id = token_id(args)?;
    let mut file = ServiceTokensFile::load(path).map_err(realm_file_failure)?;
    if !file.remove(&id) {
        return Err(fail(
            exit::DATA_ERROR,
            format!("Service token [{}] does not exist", id.qualified_name()),
        ));
    }
    write_realm_file(path, &file.to_file_string())
}

fn list(path: &Path, principal: Option<&str>) -> anyhow::Result<()> {
    if let Some(p) = principal {
        account(p)?;
    }
    let file = ServiceTokensFile::load(path).map_err(realm_file_failure)?;
    let mut stdout = io::stdout().lock();
    for name in file.qualified_names(principal) {
        writeln!(stdout, "{name}").map_err(stdout_failure)?;
    }
    stdout.flush().map_err(stdout_failure)
}

fn account(principal: &str) -> anyhow::Result<&'static ServiceAccount> {
    ServiceAccount::find(principal).ok_or_else(|| {
        fail(
            exit::USAGE,
            format!(
                "Unknown service account principal: [{principal}]. Must be one of [{}]",
                ServiceAccount::principals().join(",")
            ),
        )
    })
}

fn token_id(args: &TokenArgs) -> anyhow::Result<ServiceTokenId> {
    let account = account(&args.principal)?;
    ServiceTokenId::new(account, &args.name).map_err(|e| fail(exit::DATA_ERROR, e))
}
