//! The one source of random bytes in Bulwark: key ids and secrets, salts, generated passwords,
//! certificate serials, PKCS#12 and keystore passwords, nonces, temporary file names, cluster and
//! document ids all draw from [`fill`] or [`bytes`].
//!
//! It fails closed: when the system generator fails, the caller gets a [`RandomError`] and
//! propagates it (a request answers 500 in Elasticsearch's error shape, a tool exits non-zero
//! with the message, a start stops). Nothing ignores it, retries it forever or falls back to
//! something predictable such as the clock.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

use std::fmt;

/// The system random number generator failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomError;

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the system random number generator failed")
    }
}

impl std::error::Error for RandomError {}

impl From<RandomError> for std::io::Error {
    fn from(e: RandomError) -> std::io::Error {
        std::io::Error::other(e)
    }
}

/// Fills `buf` from the system CSPRNG.
pub fn fill(buf: &mut [u8]) -> Result<(), RandomError> {
    #[cfg(any(test, feature = "testing"))]
    if testing::FAILING.with(std::cell::Cell::get) {
        return Err(RandomError);
    }
    aws_lc_rs::rand::fill(buf).map_err(|_| RandomError)
}

/// `N` random bytes from the system CSPRNG.
pub fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

/// Failure injection for tests of the error paths (feature `testing`).
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use std::cell::Cell;

    thread_local! {
        pub(crate) static FAILING: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `f` with every draw on this thread failing.
    pub fn failing<R>(f: impl FnOnce() -> R) -> R {
        struct Reset(bool);
        impl Drop for Reset {
            fn drop(&mut self) {
                FAILING.with(|c| c.set(self.0));
            }
        }
        let _reset = Reset(FAILING.with(|c| c.replace(true)));
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_differ_and_fill_everything() {
        let (a, b) = (bytes::<32>().unwrap(), bytes::<32>().unwrap());
        assert_ne!(a, b);
        let mut big = vec![0u8; 4096];
        fill(&mut big).unwrap();
        assert!(big.iter().filter(|b| **b == 0).count() < 100);
        assert_eq!(bytes::<0>(), Ok([]));
    }

    #[test]
    fn a_failing_generator_is_an_error_and_only_inside_the_scope() {
        let got =
            testing::failing(|| (bytes::<16>(), testing::failing(|| fill(&mut [0u8; 4])), bytes::<1>()));
        assert_eq!(got, (Err(RandomError), Err(RandomError), Err(RandomError)));
        assert!(bytes::<16>().is_ok());
        let io: std::io::Error = RandomError.into();
        assert_eq!(io.to_string(), "the system random number generator failed");
    }
}
