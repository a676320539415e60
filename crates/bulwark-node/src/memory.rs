//! The node's memory: its allocator, and how much memory the machine has.
//!
//! A large request body is parsed, copied into a store command and indexed by several threads.
//! glibc's allocator kept what they freed in per-thread arenas, so the resident size stayed near
//! its peak (about 300 MiB under the bulk benchmark, for some 90 MB of live heap) and capping its
//! arenas to get under 256 MiB cost a fifth of the indexing rate. The node uses mimalloc instead,
//! told to give freed pages back to the system at once (a purge delay of 0 rather than its 1 s)
//! and not to ask for transparent huge pages (with them an idle node held ~50 MiB): measured side
//! by side with glibc under the same load, the peak fell from about 300 to about 210 MiB and
//! stays flat from round to round at about the same indexing rate (docs/benchmarks.md, section 7). An operator
//! with memory to spare may set `MIMALLOC_PURGE_DELAY` (ms): 10 indexes 10–35 % faster for a peak
//! around 256 MiB (same section).
//!
//! C libraries linked into the node (aws-lc) keep using the C library's `malloc`.

// mimalloc is tuned through its C interface: the one place in this crate with unsafe code (the
// crate denies it everywhere else).
#![allow(unsafe_code)]

/// The process's allocator (every crate linked into the `bulwark` binary, and their tests).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`: its position in `mi_option_t` in the mimalloc 3 sources that
/// libmimalloc-sys 0.1.49 builds (pinned in Cargo.toml; the crate exports no constant for it).
/// `purged_memory_goes_back_at_once` fails if it stops meaning the purge delay.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Makes the allocator return freed memory to the system at once, unless `MIMALLOC_PURGE_DELAY`
/// says otherwise (mimalloc reads it itself); call before the runtime starts.
pub fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mi_option_set only changes an allocator parameter (read at each purge).
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
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

    /// 256 MiB written in 64 KiB blocks and freed are given back to the system at once (with
    /// mimalloc's default delay they stay resident for a second or more).
    #[cfg(target_os = "linux")]
    #[test]
    fn purged_memory_goes_back_at_once() {
        const MIB: u64 = 1 << 20;
        tune_allocator();
        let before = resident();
        let blocks: Vec<Vec<u8>> = (0..4096).map(|i| vec![i as u8 | 1; 64 << 10]).collect();
        let full = resident();
        assert!(
            full >= before + 200 * MIB,
            "{} MiB resident before, {} MiB with the blocks",
            before / MIB,
            full / MIB
        );
        drop(std::hint::black_box(blocks));
        let after = resident();
        assert!(
            after < full - 200 * MIB,
            "{} MiB resident with the blocks, {} MiB after freeing them",
            full / MIB,
            after / MIB
        );
    }
}
