//! The key flags every certutil command shares: `--keysize` (RSA) and `--ec`.

use bulwark_pki::{KeyAlgorithm, RsaBits};
use clap::Args;

use crate::exit::{self, fail};

/// RSA key size used when neither `--keysize` nor `--ec` is given (Elasticsearch's default).
const DEFAULT_RSA_BITS: u32 = 2048;

/// `--keysize N` or `--ec`.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// RSA key size in bits: 2048 (the default), 3072 or 4096.
    #[arg(long, value_name = "BITS", conflicts_with = "ec")]
    keysize: Option<u32>,
    /// Make ECDSA P-256 keys instead of RSA keys (smaller and faster).
    #[arg(long)]
    ec: bool,
}

impl KeyArgs {
    /// The key algorithm the flags ask for.
    pub fn algorithm(&self) -> anyhow::Result<KeyAlgorithm> {
        if self.ec {
            return Ok(KeyAlgorithm::EcdsaP256);
        }
        let bits = self.keysize.unwrap_or(DEFAULT_RSA_BITS);
        RsaBits::from_bits(bits).map(KeyAlgorithm::Rsa).map_err(|_| {
            fail(exit::USAGE, format!("invalid value {bits} for --keysize: use 2048, 3072 or 4096 (or --ec)"))
        })
    }
}
