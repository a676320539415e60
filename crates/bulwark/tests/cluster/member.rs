//! The members of the multi-node tests: real `bulwark` processes, each on its own loopback
//! address, and the tools around them (tokens, hand-made certificates).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use bulwark_testkit::{Client, Node, TestHome, command, run};
use serde_json::{Value, json};

pub const PASSWORD: &str = "cluster-test-password";
pub const ROUND_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Member {
    pub home: TestHome,
    /// The address clients call (HTTP).
    pub ip: String,
    /// `network.host` (the address of `ip` unless a test binds HTTP elsewhere).
    pub bind: String,
    pub name: String,
    pub node: Option<Node>,
    pub port: u16,
    /// More `-E` arguments for every start.
    pub extra: Vec<String>,
}

pub fn args(ip: &str, name: &str) -> Vec<String> {
    ["-E", &format!("network.host={ip}"), "-E", "transport.port=9300", "-E", &format!("node.name={name}")]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

impl Member {
    pub fn new(i: usize) -> Member {
        Member {
            home: TestHome::new(),
            ip: format!("127.0.0.{}", i + 2),
            bind: format!("127.0.0.{}", i + 2),
            name: format!("n{}", i + 1),
            node: None,
            port: 0,
            extra: Vec::new(),
        }
    }

    pub fn start(&mut self, token: Option<&str>) {
        let mut a = args(&self.bind, &self.name);
        a.extend(self.extra.iter().cloned());
        if let Some(t) = token {
            a.push("--enrollment-token".into());
            a.push(t.into());
        }
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let out = self.home.path().parent().unwrap().join(format!("stdout-{n}.log"));
        let mut node = Node::spawn_home(&self.home.path(), out, &a, &[("ELASTIC_PASSWORD", PASSWORD)]);
        // The test kills nodes: their peers' Raft (openraft) reports them unreachable or slow
        // (replication and vote RPCs) at ERROR.
        for e in ["\"target\":\"openraft::", "Unreachable node", "no answer from the transport"] {
            node.expect_error(e);
        }
        node.secret(PASSWORD);
        if let Some(t) = token {
            node.secret(t);
        }
        self.port = node.port();
        self.node = Some(node);
        let deadline = Instant::now() + ROUND_TIMEOUT;
        while self.call("GET", "/", None).0 != 200 {
            assert!(Instant::now() < deadline, "{} did not serve in time: {}", self.name, self.home.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill9(&mut self) {
        if let Some(mut n) = self.node.take() {
            n.kill9();
        }
    }

    pub fn ca(&self) -> Vec<u8> {
        std::fs::read(self.home.config("certs/http_ca.crt")).expect("http_ca.crt")
    }

    pub fn client(&self) -> Client {
        Client::at(&format!("https://{}:{}", self.ip, self.port), Some(&self.ca()))
    }

    /// (status, body) as `auth`, or (0, the error) when the node does not answer.
    pub fn call_as(&self, auth: (&str, &str), method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.client().call(method, path, auth, body.as_ref()).unwrap_or_else(|e| (0, json!(e.to_string())))
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(("elastic", PASSWORD), method, path, body)
    }
}

pub fn token(first: &Member) -> String {
    token_with(first, &["-s", "node"])
}

/// A token made by `create-enrollment-token` on `first` with `args`.
pub fn token_with(first: &Member, args: &[&str]) -> String {
    let url = format!("https://{}:{}", first.ip, first.port);
    let (code, out, err) =
        run(command(&first.home.path()).arg("create-enrollment-token").args(args).args(["--url", &url]));
    assert_eq!(code, 0, "{out}{err}");
    out.trim().lines().last().expect("a token").to_owned()
}

/// The name of the leader as `_cat/nodes` on `m` reports it.
pub fn leader(m: &Member) -> Option<String> {
    let (s, v) = m.call("GET", "/_cat/nodes?format=json", None);
    if s != 200 {
        return None;
    }
    v.as_array()?.iter().find(|n| n["master"] == "*").and_then(|n| n["name"].as_str()).map(str::to_owned)
}

/// Three nodes on 127.0.0.{base+2}..{base+4}.
pub fn form(base: usize) -> Vec<Member> {
    let mut m: Vec<Member> = (base..base + 3).map(Member::new).collect();
    m[0].start(None);
    for i in 1..3 {
        let t = token(&m[0]);
        m[i].start(Some(&t));
    }
    m
}

/// `bulwark certutil` run from `home` in `dir`, followed by unzipping its `--out` zip there.
pub fn certutil(home: &TestHome, dir: &std::path::Path, args: &[&str]) {
    let (code, out, err) = run(command(&home.path()).arg("certutil").args(args).current_dir(dir));
    assert_eq!(code, 0, "certutil {args:?}: {out}{err}");
    let zip = args.iter().skip_while(|a| **a != "--out").nth(1).expect("--out");
    let (code, out, err) = run(std::process::Command::new("unzip").args(["-o", "-q", zip]).current_dir(dir));
    assert_eq!(code, 0, "unzip {zip}: {out}{err}");
}

/// A home whose transport certificate (`dir/{name}/{name}.crt`) was made by hand, with
/// `discovery.seed_hosts: [seed]` and plain HTTP. It trusts the cluster's CA (and its own), so
/// only the cluster's checks stand between them.
pub fn hand_made_home(dir: &std::path::Path, name: &str, seed: &str) -> TestHome {
    let home = TestHome::new();
    let config = home.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    for f in ["crt", "key"] {
        std::fs::copy(dir.join(name).join(format!("{name}.{f}")), config.join(format!("node.{f}"))).unwrap();
    }
    std::fs::copy(dir.join("ca/ca.crt"), config.join("cluster-ca.crt")).unwrap();
    let own = if name == "other" { "other-ca" } else { "ca" };
    std::fs::copy(dir.join(own).join("ca.crt"), config.join("own-ca.crt")).unwrap();
    home.write_settings(&format!(
        "discovery.seed_hosts: [\"{seed}\"]\n\
         xpack.security.enabled: true\n\
         xpack.security.http.ssl.enabled: false\n\
         xpack.security.transport.ssl.enabled: true\n\
         xpack.security.transport.ssl.certificate: node.crt\n\
         xpack.security.transport.ssl.key: node.key\n\
         xpack.security.transport.ssl.certificate_authorities: [own-ca.crt, cluster-ca.crt]\n"
    ));
    home
}

/// The voting configuration as `_cluster/state` on `m` shows it: the voters' ids and the
/// excluded nodes' names.
pub fn voting(m: &Member) -> (Vec<String>, Vec<String>) {
    let (s, v) = m.call("GET", "/_cluster/state/metadata", None);
    assert_eq!(s, 200, "{v}");
    let c = &v["metadata"]["cluster_coordination"];
    let strings = |v: &Value, key: Option<&str>| -> Vec<String> {
        let list = v.as_array().unwrap_or_else(|| panic!("not a list: {v}"));
        list.iter().filter_map(|x| key.map_or(x, |k| &x[k]).as_str().map(str::to_owned)).collect()
    };
    let mut excluded = strings(&c["voting_config_exclusions"], Some("node_name"));
    excluded.sort();
    (strings(&c["last_committed_config"], None), excluded)
}
