//! Refusing to run as root (SPEC §2).

/// Fails when the effective user is root, unless `allow_root` is set.
pub fn check(allow_root: bool) -> anyhow::Result<()> {
    if rustix::process::geteuid().is_root() && !allow_root {
        return Err(crate::exit::fail(
            crate::exit::USAGE,
            "bulwark must not run as root: a compromised node would own the whole machine. \
             Run it as an unprivileged user (e.g. `useradd -r bulwark` and `sudo -u bulwark bulwark ...`), \
             or pass --allow-root in a container or CI where root is the only user",
        ));
    }
    Ok(())
}

/// Whether this process runs as root (the node warns at every start; `doctor` reports it).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}
