//! The one-time verification code of interactive setup: six digits, printed in the setup link,
//! kept in `data/verification_code` (0600) for `bulwark console verification-code`, checked in
//! constant time; after [`MAX_ATTEMPTS`] wrong codes the setup form stays locked until the
//! console restarts (with a new code).

use std::path::Path;

use subtle::ConstantTimeEq;

use crate::ConsoleError;

/// Wrong codes before the form locks (Kibana's number).
pub const MAX_ATTEMPTS: u32 = 5;

/// What a code check says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The code is right.
    Valid,
    /// Wrong; the tries left before the lock.
    Wrong {
        /// Tries left before the form locks.
        left: u32,
    },
    /// Too many wrong tries: the form is locked.
    Locked,
}

/// The current code and the wrong tries so far.
#[derive(Debug)]
pub struct VerificationCode {
    code: String,
    failures: u32,
}

impl VerificationCode {
    /// A fresh random code, written to `file` (0600).
    pub fn generate(file: &Path) -> Result<VerificationCode, ConsoleError> {
        let raw = bulwark_random::bytes::<8>().map_err(|e| ConsoleError::Config(e.to_string()))?;
        let code = format!("{:06}", u64::from_le_bytes(raw) % 1_000_000);
        bulwark_pki::write_private_file(file, format!("{code}\n").as_bytes())
            .map_err(|e| ConsoleError::Config(format!("cannot write the verification code: {e}")))?;
        Ok(VerificationCode { code, failures: 0 })
    }

    /// The code, to print.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Checks a code typed in the form.
    pub fn check(&mut self, typed: &str) -> CodeCheck {
        if self.failures >= MAX_ATTEMPTS {
            return CodeCheck::Locked;
        }
        let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if typed.len() == self.code.len() && bool::from(typed.as_bytes().ct_eq(self.code.as_bytes())) {
            return CodeCheck::Valid;
        }
        self.failures += 1;
        if self.failures >= MAX_ATTEMPTS {
            CodeCheck::Locked
        } else {
            CodeCheck::Wrong { left: MAX_ATTEMPTS - self.failures }
        }
    }

    /// Whether the form is locked.
    pub fn locked(&self) -> bool {
        self.failures >= MAX_ATTEMPTS
    }
}

/// The pending code of a console home, for `bulwark console verification-code`.
pub fn read_pending(file: &Path) -> Option<String> {
    std::fs::read_to_string(file).ok().map(|s| s.trim().to_owned()).filter(|s| s.len() == 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_codes_lock_the_form() {
        let dir = std::env::temp_dir().join(format!("bulwark-code-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut c = VerificationCode::generate(&dir.join("code")).unwrap();
        assert_eq!(read_pending(&dir.join("code")).as_deref(), Some(c.code()));
        let good = c.code().to_owned();
        assert_eq!(c.check("x"), CodeCheck::Wrong { left: 4 });
        assert_eq!(c.check(&format!(" {good} ")), CodeCheck::Valid);
        for _ in 0..3 {
            assert!(matches!(c.check("000000x"), CodeCheck::Wrong { .. }));
        }
        assert_eq!(c.check("bad"), CodeCheck::Locked);
        assert_eq!(c.check(&good), CodeCheck::Locked);
        let _ = std::fs::remove_dir_all(dir);
    }
}
