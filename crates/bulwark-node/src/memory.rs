//! Giving memory back after large requests.
//!
//! A large body is parsed, copied into a store command and indexed by several threads; glibc's
//! allocator keeps what they freed in per-thread arenas, so the resident size stayed near its
//! peak and grew from one round of large requests to the next even after the index was
//! deleted. Two measures, both glibc-only (other allocators return memory on their own terms):
//! the number of arenas is capped (unless `MALLOC_ARENA_MAX` says otherwise), and after a large
//! request body a background task trims the heap (at most once a second, off the executor).

// glibc's allocator is tuned through libc (mallopt, malloc_trim, sysconf): the one place in
// this crate with unsafe code (the crate denies it everywhere else).
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A request body at least this large asks for a trim once its request is done.
pub const LARGE_BODY: u64 = 1 << 20;

/// glibc arenas, at most (glibc's own default is 8 per core). Measured side by side under the
/// bulk benchmark (two clients, 5,000 documents of 1 KB per request, quiet host): 2 arenas
/// peaked at 216–251 MiB against 286–311 MiB with 4, but indexed 20 % fewer documents a second
/// (11,900–16,200 against 16,900–18,500): the threads of a bulk request then contend for the
/// same arenas. Throughput is kept; docs/benchmarks.md, section 7, has the numbers.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENA_MAX: libc::c_int = 4;

/// Trims still to do, one a second: work a request started (a commit, a merge) may free memory
/// after its response was sent.
static TRIMS_WANTED: AtomicU32 = AtomicU32::new(0);

/// How many trims one large request asks for.
const TRIMS_PER_REQUEST: u32 = 3;

/// Caps the allocator's arenas; call once, before the runtime's threads start.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes allocator parameters; called before other threads allocate.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
        }
    }
}

/// The machine's physical memory in bytes (1 GiB when it cannot be read).
pub fn physical() -> u64 {
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads system configuration values.
        let (pages, size) =
            unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
        if let (Ok(p), Ok(s)) = (u64::try_from(pages), u64::try_from(size)) {
            return p.saturating_mul(s);
        }
    }
    1 << 30
}

/// A large request finished: its memory should go back to the system soon.
pub fn large_request_done() {
    TRIMS_WANTED.store(TRIMS_PER_REQUEST, Ordering::Relaxed);
}

/// Trims the heap once a second for a few seconds after large requests.
pub fn spawn_trimmer() {
    tokio::spawn(async {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let wanted =
                TRIMS_WANTED.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
            if wanted.is_ok() {
                let _ = tokio::task::spawn_blocking(trim).await;
            }
        }
    });
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}
