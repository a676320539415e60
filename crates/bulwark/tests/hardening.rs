//! What an attacker measures from outside must not tell them more than a failure (issue 14).

use std::time::{Duration, Instant};

use bulwark_testkit::{TestHome, start_fresh};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A wrong password for a user that exists costs what one for a user that does not exist
/// costs: the node verifies against a hash of the same cost either way.
#[test]
fn failures_cost_the_same_for_known_and_unknown_users() {
    let home = TestHome::new();
    let s = start_fresh(&home, &["-E", "xpack.security.authc.lockout.enabled=false"]);
    let time = |user: &str| {
        let started = Instant::now();
        let (status, _, _) = s.client.get("/", Some((user, "not-the-password-123"))).expect("request");
        assert_eq!(status, 401);
        started.elapsed()
    };
    // Warm both paths (connection, the dummy hash made on first use).
    time("elastic");
    time("nobody-here");
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..30 {
        // Interleaved, so that load on the machine falls on both alike.
        known.push(time("elastic"));
        unknown.push(time(&format!("nobody-{i}")));
    }
    let (k, u) = (median(known), median(unknown));
    let ratio = k.as_secs_f64() / u.as_secs_f64();
    assert!((0.8..=1.25).contains(&ratio), "known user {k:?} vs unknown user {u:?} (ratio {ratio:.2})");
}
