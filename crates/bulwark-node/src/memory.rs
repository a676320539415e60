//! The node's memory: its allocator, and how much memory the machine has.
//!
//! A large request body is parsed, copied into a store command and indexed by several threads.
//! glibc's allocator kept what they freed in per-thread arenas, so the resident size stayed near
//! its peak (about 300 MiB under the bulk benchmark, for some 90 MB of live heap) and capping its
//! arenas to get under 256 MiB cost a fifth of the indexing rate. The node uses mimalloc instead,
//! tuned so that what a `_bulk` frees is used again by the next rather than given back and taken
//! again, page by page, while the peak stays under issue #18's 256 MiB (about 20 MiB above the
//! setting before):
//!
//! - blocks over 1 MiB (request bodies, log entries, the store's pages of a large entry) are
//!   mapped for themselves and given back to the system as soon as they are freed: kept among the
//!   small ones, they scattered free space no large block fits in, and the peak under the bulk
//!   benchmark rose past 400 MiB;
//! - the rest freed is given back after [`PURGE_DELAY_MS`] (mimalloc's default: 10 ms for pages,
//!   ten times that for its arenas); [`collect`] lets it go when the node is idle, which mimalloc
//!   alone does only when other memory is freed;
//! - no transparent huge pages (with them an idle node held ~50 MiB).
//!
//! Giving freed memory back at once (the setting of earlier versions) made ten times the page
//! faults per document of an in-process run and kept the node below item 5 of issue #18 on a
//! slower host; keeping it longer indexes a few per cent faster still for a higher peak (1 s took
//! it past 256 MiB in session 16; 10-15 MiB above this setting once the index's deletes stopped
//! holding a scoring weight each, session 17: docs/benchmarks-history.md). Each setting is left
//! to mimalloc when its environment variable (`MIMALLOC_PURGE_DELAY`, `MIMALLOC_ARENA_PURGE_MULT`,
//! `MIMALLOC_ARENA_MAX_OBJECT_SIZE`) is set.
//!
//! C libraries linked into the node (aws-lc, zstd) keep using the C library's `malloc`.

// mimalloc is tuned through its C interface: the one place in this crate with unsafe code (the
// crate denies it everywhere else).
#![allow(unsafe_code)]

/// The process's allocator (every crate linked into the `bulwark` binary, and their tests).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The settings (see the module documentation): an option's position in `mi_option_t` in the
/// mimalloc 3 sources that libmimalloc-sys 0.1.49 builds (pinned in Cargo.toml; the crate exports
/// no constants for these), the environment variable that overrides it, and its value. The test
/// below fails if the purge delay stops meaning what it says here.
const TUNING: [(libmimalloc_sys::mi_option_t, &str, std::ffi::c_long); 3] = [
    // mi_option_purge_delay, milliseconds.
    (15, "MIMALLOC_PURGE_DELAY", PURGE_DELAY_MS),
    // mi_option_arena_purge_mult: the arenas' delay is the purge delay times this.
    (24, "MIMALLOC_ARENA_PURGE_MULT", 1),
    // mi_option_arena_max_object_size, KiB: larger blocks are mapped for themselves.
    (45, "MIMALLOC_ARENA_MAX_OBJECT_SIZE", 1024),
];

/// How long freed memory is kept for reuse before it goes back to the system, in milliseconds:
/// the trade between the indexing rate and the peak resident size (docs/benchmarks-history.md,
/// session 16).
const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// How often [`collect`] runs.
pub const COLLECT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Tunes the allocator (see the module documentation); call before the runtime starts.
pub fn tune_allocator() {
    for (option, variable, value) in TUNING {
        if std::env::var_os(variable).is_none() {
            // SAFETY: mi_option_set only changes an allocator parameter (read where it is used).
            unsafe { libmimalloc_sys::mi_option_set(option, value) }
        }
    }
}

/// Gives back to the system what was freed more than the purge delay ago (mimalloc does it only
/// when other memory is freed, so an idle node would keep its last burst); the node calls it
/// every [`COLLECT_EVERY`].
pub fn collect() {
    // SAFETY: mi_collect only returns free memory to the system.
    unsafe { libmimalloc_sys::mi_collect(false) }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Resident bytes of this process.
    fn resident() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        // SAFETY: sysconf only reads a system configuration value.
        pages * u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap()
    }

    const MIB: u64 = 1 << 20;

    /// Allocates `count` blocks of `size` bytes, written to, and frees them; the resident sizes
    /// with them and just after, and when the freeing began.
    fn fill_and_free(count: usize, size: usize) -> (u64, u64, std::time::Instant) {
        let before = resident();
        let blocks: Vec<Vec<u8>> = (0..count).map(|i| vec![i as u8 | 1; size]).collect();
        let full = resident();
        assert!(
            full >= before + 200 * MIB,
            "{} MiB before, {} MiB with the blocks",
            before / MIB,
            full / MIB
        );
        let freed = std::time::Instant::now();
        drop(std::hint::black_box(blocks));
        (full, resident(), freed)
    }

    /// 256 MiB in 2 MiB blocks go back to the system as soon as they are freed; 256 MiB in 64 KiB
    /// blocks are kept for reuse for the purge delay (not at once, not a third of it after), then
    /// go back once `collect` runs (within 10 s here: a loaded host delays it). One test, so that
    /// nothing else in this process allocates meanwhile.
    #[cfg(target_os = "linux")]
    #[test]
    fn large_blocks_go_back_at_once_and_small_ones_after_the_purge_delay() {
        use std::time::Duration;
        let delay = Duration::from_millis(PURGE_DELAY_MS.unsigned_abs());
        tune_allocator();
        let (full, after, _) = fill_and_free(128, 2 << 20);
        assert!(
            after < full - 200 * MIB,
            "large: {} MiB with the blocks, {} MiB after",
            full / MIB,
            after / MIB
        );

        let (full, after, freed) = fill_and_free(4096, 64 << 10);
        // Asserted only when this thread was not held up for most of the delay (a loaded host).
        let still_kept = |now: u64, when: &str| {
            if freed.elapsed() < delay * 9 / 10 {
                assert!(
                    now > full - 64 * MIB,
                    "small: {} MiB with the blocks, {} MiB {when}",
                    full / MIB,
                    now / MIB
                );
            }
        };
        still_kept(after, "at once");
        std::thread::sleep(delay / 3);
        collect();
        let kept = resident();
        still_kept(kept, "a third of the delay after");
        let mut now = kept;
        while now >= full - 200 * MIB && freed.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
            collect();
            now = resident();
        }
        assert!(
            now < full - 200 * MIB,
            "small: {} MiB with the blocks, still {} MiB {:?} after",
            full / MIB,
            now / MIB,
            freed.elapsed()
        );
    }
}
