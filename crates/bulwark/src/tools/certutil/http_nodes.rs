//! The nodes of `certutil http` given as flags: each `--name` starts a node, and the `--dns` and
//! `--ip` values after it (up to the next `--name`) belong to it. Without any `--name`, the
//! `--dns` and `--ip` values describe one certificate shared by all nodes.
//!
//! clap's derive cannot express "belongs to the preceding flag", so this group reads the
//! positions of the values on the command line itself.

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use super::instances::{self, Instance};
use crate::exit::{self, fail};

/// Name of the shared certificate when it has no usable host name (Elasticsearch's default).
const FALLBACK_NAME: &str = "elasticsearch";

/// The `--name`, `--dns` and `--ip` flags of `certutil http`, in command-line order.
#[derive(Debug, Clone, Default)]
pub struct NodeFlags {
    /// Values before the first `--name` (or all of them when there is no `--name`).
    leading: Group,
    /// One group per `--name`.
    named: Vec<Group>,
}

#[derive(Debug, Clone, Default)]
struct Group {
    name: Option<String>,
    dns: Vec<String>,
    ips: Vec<String>,
}

#[derive(Clone, Copy)]
enum Kind {
    Name,
    Dns,
    Ip,
}

impl NodeFlags {
    /// Whether no node flag was given.
    pub fn is_empty(&self) -> bool {
        self.named.is_empty() && self.leading.dns.is_empty() && self.leading.ips.is_empty()
    }

    /// The certificates the flags describe: one per `--name`, or one shared certificate.
    pub fn instances(&self) -> anyhow::Result<Vec<Instance>> {
        let invalid =
            |errors: Vec<String>| fail(exit::USAGE, format!("invalid node details: {}", errors.join("; ")));
        if self.named.is_empty() {
            let name = shared_name(&self.leading.dns);
            return Ok(vec![
                Instance::new(&name, None, &self.leading.dns, &self.leading.ips).map_err(invalid)?,
            ]);
        }
        if !self.leading.dns.is_empty() || !self.leading.ips.is_empty() {
            return Err(fail(
                exit::USAGE,
                "--dns and --ip belong to the --name before them, and some come before the first --name; \
                 write --name NODE first (or leave out --name for one certificate shared by all nodes)",
            ));
        }
        let mut list = Vec::new();
        for group in &self.named {
            let name = group.name.as_deref().unwrap_or_default();
            list.push(Instance::new(name, None, &group.dns, &group.ips).map_err(invalid)?);
        }
        instances::check_unique(&list).map_err(|e| fail(exit::USAGE, e))?;
        Ok(list)
    }
}

/// The key name of a certificate shared by several nodes: its first host name that is not a
/// wildcard, else the first with `*.` removed, else `elasticsearch` (as Elasticsearch picks it).
pub fn shared_name(dns: &[String]) -> String {
    dns.iter()
        .find(|d| !d.contains('*'))
        .cloned()
        .or_else(|| dns.first().map(|d| d.replace("*.", "")))
        .filter(|n| instances::check_filename(n).is_ok())
        .unwrap_or_else(|| FALLBACK_NAME.to_owned())
}

impl FromArgMatches for NodeFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut events: Vec<(usize, Kind, String)> = Vec::new();
        for (id, kind) in [("name", Kind::Name), ("dns", Kind::Dns), ("ip", Kind::Ip)] {
            if let (Some(values), Some(indices)) = (matches.get_many::<String>(id), matches.indices_of(id)) {
                events.extend(indices.zip(values).map(|(i, v)| (i, kind, v.clone())));
            }
        }
        events.sort_by_key(|(i, _, _)| *i);
        let mut flags = NodeFlags::default();
        for (_, kind, value) in events {
            let value = value.trim().to_owned();
            match kind {
                Kind::Name => flags.named.push(Group { name: Some(value), ..Group::default() }),
                Kind::Dns | Kind::Ip if value.is_empty() => {}
                Kind::Dns => flags.named.last_mut().unwrap_or(&mut flags.leading).dns.push(value),
                Kind::Ip => flags.named.last_mut().unwrap_or(&mut flags.leading).ips.push(value),
            }
        }
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for NodeFlags {
    fn augment_args(cmd: Command) -> Command {
        cmd.arg(
            Arg::new("name")
                .long("name")
                .value_name("NODE")
                .action(ArgAction::Append)
                .conflicts_with("input")
                .help("Start a node with its own certificate (repeatable); its --dns and --ip follow it"),
        )
        .arg(
            Arg::new("dns")
                .long("dns")
                .value_name("HOST[,HOST...]")
                .action(ArgAction::Append)
                .value_delimiter(',')
                .conflicts_with("input")
                .help("Host names of the preceding --name (or of the shared certificate), comma-separated"),
        )
        .arg(
            Arg::new("ip")
                .long("ip")
                .value_name("IP[,IP...]")
                .action(ArgAction::Append)
                .value_delimiter(',')
                .conflicts_with("input")
                .help("IP addresses of the preceding --name (or of the shared certificate), comma-separated"),
        )
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[arg(long = "in", id = "input")]
        input: Option<String>,
        #[command(flatten)]
        nodes: NodeFlags,
    }

    fn parse(args: &[&str]) -> Result<Vec<Instance>, String> {
        use clap::Parser;
        let cli = Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.nodes.instances().map_err(|e| e.to_string())
    }

    #[test]
    fn values_belong_to_the_preceding_name() {
        let nodes = parse(&[
            "--name",
            "node1",
            "--dns",
            "a.example,b.example",
            "--ip",
            "10.0.0.1",
            "--name",
            "node2",
            "--ip",
            "10.0.0.2",
            "--dns",
            "c.example",
        ])
        .unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].name, "node1");
        assert_eq!(nodes[0].dns, vec!["a.example", "b.example"]);
        assert_eq!(nodes[0].ips, vec!["10.0.0.1".parse::<std::net::IpAddr>().unwrap()]);
        assert_eq!(nodes[1].dns, vec!["c.example"]);
        assert_eq!(nodes[1].ips.len(), 1);
    }

    #[test]
    fn shared_certificate_without_names() {
        let nodes = parse(&["--dns", "*.es.example", "--dns", "es.example", "--ip", "10.0.0.9"]).unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].name, "es.example");
        assert_eq!(nodes[0].dns.len(), 2);
        assert_eq!(shared_name(&["*.es.example".to_owned()]), "es.example");
        assert_eq!(shared_name(&[]), "elasticsearch");
    }

    #[test]
    fn misplaced_or_duplicate() {
        assert!(parse(&["--dns", "a", "--name", "n"]).unwrap_err().contains("before the first --name"));
        assert!(parse(&["--name", "n", "--name", "N"]).unwrap_err().contains("two instances"));
        assert!(parse(&["--name", "n", "--in", "x.yml"]).is_err());
        assert!(parse(&[]).unwrap()[0].name == "elasticsearch");
    }
}
