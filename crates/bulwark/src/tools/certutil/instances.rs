//! The instances certificates and CSRs are made for: from `--name/--dns/--ip`, from an instances
//! file (`--in`, Elasticsearch's `instances.yml` format), or from questions (`--multiple`).
//!
//! ```yaml
//! instances:
//!   - name: node1              # bare common name, or a DN such as "CN=node1,O=Example"
//!     dns: [node1.example.com, localhost]
//!     ip: [10.0.0.1, "::1"]
//!   - name: "CN=node2,O=Example"
//!     filename: node2          # folder and file names in the zip (default: the name)
//!     dns: node2.example.com   # a single value needs no list
//! ```

use std::net::IpAddr;
use std::path::Path;

use bulwark_pki::{CertRequest, KeyAlgorithm};
use serde::Deserialize;

use super::ask;
use crate::exit::{self, fail};

/// Name of the single instance when `--name` is not given (Elasticsearch's default).
pub const DEFAULT_NAME: &str = "instance";

/// Longest file name (255 bytes minus room for an extension such as `.p12`).
const MAX_FILENAME: usize = 251;

/// Upper bound on the size of an instances file, so a wrong path cannot eat memory.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// One instance: what its certificate names, and where its files go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// A bare common name or a DN: the certificate's subject and the PKCS#12 entry name.
    pub name: String,
    /// The instance's folder and file names inside a zip.
    pub filename: String,
    /// DNS subject alternative names.
    pub dns: Vec<String>,
    /// IP address subject alternative names.
    pub ips: Vec<IpAddr>,
}

impl Instance {
    /// Checks and builds an instance; the errors list every problem found.
    pub fn new(
        name: &str,
        filename: Option<&str>,
        dns: &[String],
        ips: &[String],
    ) -> Result<Self, Vec<String>> {
        let name = name.trim();
        let mut errors = Vec::new();
        if name.is_empty() {
            errors.push("an instance needs a name".to_owned());
        } else if let Err(e) = bulwark_pki::new_csr(&CertRequest::new(name)) {
            errors.push(format!("instance {name:?}: {e}"));
        }
        let filename = filename.map(str::trim).unwrap_or(name);
        if let Err(reason) = check_filename(filename) {
            if filename == name {
                errors.push(format!(
                    "instance {name:?}: the name cannot be used as a file name ({reason}); give the instance \
                     a `filename`"
                ));
            } else {
                errors.push(format!("instance {name:?}: filename {filename:?} {reason}"));
            }
        }
        let mut dns_names = Vec::new();
        for d in dns.iter().map(|d| d.trim()).filter(|d| !d.is_empty()) {
            match check_dns(d) {
                Ok(()) if dns_names.iter().any(|x| x == d) => {}
                Ok(()) => dns_names.push(d.to_owned()),
                Err(reason) => errors.push(format!("instance {name:?}: {reason}")),
            }
        }
        let mut ip_addrs = Vec::new();
        for ip in ips.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
            match parse_ip(ip) {
                Ok(addr) if ip_addrs.contains(&addr) => {}
                Ok(addr) => ip_addrs.push(addr),
                Err(reason) => errors.push(format!("instance {name:?}: {reason}")),
            }
        }
        if errors.is_empty() {
            Ok(Instance {
                name: name.to_owned(),
                filename: filename.to_owned(),
                dns: dns_names,
                ips: ip_addrs,
            })
        } else {
            Err(errors)
        }
    }

    /// The certificate (or CSR) request for this instance.
    pub fn request(&self, validity_days: u32, key: KeyAlgorithm) -> CertRequest {
        CertRequest {
            subject_cn: self.name.clone(),
            dns: self.dns.clone(),
            ips: self.ips.clone(),
            validity_days,
            key,
            crl_urls: Vec::new(),
        }
    }
}

/// The single instance described by `--name`, `--dns` and `--ip`.
/// The instances of `cert` and `csr`: from `--in` FILE, else asked on a terminal with
/// `--multiple`, else the single instance of `--name`/`--dns`/`--ip`.
pub fn choose(
    input: Option<&Path>,
    multiple: bool,
    name: Option<&str>,
    dns: &[String],
    ips: &[String],
) -> anyhow::Result<Vec<Instance>> {
    if let Some(path) = input {
        return from_file(path);
    }
    if multiple {
        if !crate::prompt::interactive() {
            return Err(fail(
                exit::USAGE,
                "--multiple asks for the instances on a terminal, and there is none; describe them in a file \
                 and pass --in instances.yml",
            ));
        }
        return ask_many();
    }
    Ok(vec![from_flags(name, dns, ips)?])
}

pub fn from_flags(name: Option<&str>, dns: &[String], ips: &[String]) -> anyhow::Result<Instance> {
    Instance::new(name.unwrap_or(DEFAULT_NAME), None, dns, ips)
        .map_err(|errors| fail(exit::USAGE, format!("invalid --name/--dns/--ip: {}", errors.join("; "))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstancesFile {
    instances: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    #[serde(default)]
    filename: Option<String>,
    #[serde(default)]
    dns: OneOrMany,
    #[serde(default)]
    ip: OneOrMany,
    #[serde(default)]
    cn: OneOrMany,
}

/// A list of strings, or a single string standing for a list of one.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl Default for OneOrMany {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// Reads an instances file. A file that is not valid YAML of the expected shape is a data error
/// (65); invalid names, addresses or duplicates are a configuration error (78), all listed.
pub fn from_file(path: &Path) -> anyhow::Result<Vec<Instance>> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| fail(exit::IO_ERROR, format!("cannot read the instances file [{shown}]: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(exit::DATA_ERROR, format!("the instances file [{shown}] is larger than 4 MiB")));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(exit::IO_ERROR, format!("cannot read the instances file [{shown}]: {e}")))?;
    let parsed =
        parse(&text).map_err(|e| fail(exit::DATA_ERROR, format!("instances file [{shown}]: {e}")))?;
    parsed.map_err(|errors| {
        fail(exit::CONFIG, format!("instances file [{shown}] has errors:\n  {}", errors.join("\n  ")))
    })
}

/// Parses instances YAML: the outer error is a YAML/shape error, the inner one the list of
/// invalid entries.
fn parse(text: &str) -> Result<Result<Vec<Instance>, Vec<String>>, String> {
    let file: InstancesFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let mut instances = Vec::new();
    let mut errors = Vec::new();
    for entry in file.instances {
        let cn = entry.cn.into_vec();
        if !cn.is_empty() {
            eprintln!(
                "WARNING: instance {:?}: `cn` names are not added to certificates (Bulwark does not use \
                 common-name SANs); DNS and IP names are",
                entry.name
            );
        }
        match Instance::new(
            &entry.name,
            entry.filename.as_deref(),
            &entry.dns.into_vec(),
            &entry.ip.into_vec(),
        ) {
            Ok(i) => instances.push(i),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if instances.is_empty() && errors.is_empty() {
        errors.push("`instances` is empty".to_owned());
    }
    if let Err(e) = check_unique(&instances) {
        errors.push(e);
    }
    Ok(if errors.is_empty() { Ok(instances) } else { Err(errors) })
}

/// Refuses two instances with the same file name (their files would collide in the zip).
pub fn check_unique(instances: &[Instance]) -> Result<(), String> {
    let mut seen: Vec<String> = Vec::new();
    for i in instances {
        let folded = i.filename.to_lowercase();
        if seen.contains(&folded) {
            return Err(format!(
                "two instances use the file name {:?}; give each a distinct name or filename",
                i.filename
            ));
        }
        seen.push(folded);
    }
    Ok(())
}

/// Asks for instances on the terminal until the user has no more (`--multiple`).
pub fn ask_many() -> anyhow::Result<Vec<Instance>> {
    let mut instances: Vec<Instance> = Vec::new();
    loop {
        let name = ask::text("Instance name", None)?;
        if name.is_empty() {
            ask::say("A name is needed.");
        } else {
            let filename = match check_filename(&name) {
                Ok(()) => None,
                Err(_) => Some(ask::text(&format!("File and folder name for {name}"), None)?),
            };
            let dns = split(&ask::text("DNS names (comma-separated, empty for none)", None)?);
            let ips = split(&ask::text("IP addresses (comma-separated, empty for none)", None)?);
            match Instance::new(&name, filename.as_deref(), &dns, &ips) {
                Ok(i) => {
                    instances.retain(|old| old.filename != i.filename);
                    instances.push(i);
                }
                Err(errors) => {
                    for e in errors {
                        ask::say(&e);
                    }
                    ask::say("This instance was skipped.");
                }
            }
        }
        if !ask::yes_no("Add another instance?", false)? {
            break;
        }
    }
    if instances.is_empty() {
        return Err(fail(exit::USAGE, "no instances were entered"));
    }
    Ok(instances)
}

fn split(s: &str) -> Vec<String> {
    s.split([',', ' ', '\t']).filter(|v| !v.is_empty()).map(str::to_owned).collect()
}

/// File and folder names: Elasticsearch's allowed characters, at most 251 of them, not starting
/// with a dot, and not `ca` (the CA's folder).
pub fn check_filename(name: &str) -> Result<(), String> {
    const PUNCTUATION: &str = "!@#$%^&{}[]()_+-=,.~'` ";
    if name.is_empty() {
        return Err("is empty".to_owned());
    }
    if name.len() > MAX_FILENAME {
        return Err(format!("is longer than {MAX_FILENAME} characters"));
    }
    if name.starts_with('.') {
        return Err("starts with a dot".to_owned());
    }
    if let Some(c) = name.chars().find(|c| !c.is_ascii_alphanumeric() && !PUNCTUATION.contains(*c)) {
        return Err(format!("contains {c:?} (allowed: letters, digits, spaces and {PUNCTUATION:?})"));
    }
    if name.eq_ignore_ascii_case("ca") {
        return Err("is reserved for the CA's folder".to_owned());
    }
    Ok(())
}

/// A plausible DNS name (wildcards allowed): ASCII letters, digits, `.`, `-`, `_`, `*`.
pub fn check_dns(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*'));
    if !ok {
        return Err(format!("{name:?} is not a valid DNS name"));
    }
    if name.len() > MAX_DNS_NAME {
        return Err(format!(
            "--dns {:?}... is {} characters long, and a DNS name may have at most {MAX_DNS_NAME} (RFC 1035)",
            &name[..20],
            name.len()
        ));
    }
    if let Some(label) = name.split('.').find(|l| l.len() > MAX_DNS_LABEL) {
        return Err(format!(
            "--dns {name:?} has a label of {} characters, and a DNS label may have at most {MAX_DNS_LABEL} \
             (RFC 1035)",
            label.len()
        ));
    }
    if name.split('.').any(str::is_empty) {
        return Err(format!("--dns {name:?} has an empty label"));
    }
    Ok(())
}

/// RFC 1035's limits on DNS names and their labels.
const MAX_DNS_NAME: usize = 253;
const MAX_DNS_LABEL: usize = 63;

/// An IPv4 or IPv6 address.
pub fn parse_ip(ip: &str) -> Result<IpAddr, String> {
    ip.parse().map_err(|_| format!("{ip:?} is not a valid IP address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elasticsearch_format() {
        let yaml = "\
instances:
  - name: node1
    dns: [node1.example.com, localhost]
    ip: [10.0.0.1, \"::1\"]
  - name: \"CN=node2,O=Example\"
    filename: node2
    dns: node2.example.com
    ip: 10.0.0.2
  - name: node3
";
        let list = parse(yaml).unwrap().unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].dns, vec!["node1.example.com", "localhost"]);
        assert_eq!(list[0].ips.len(), 2);
        assert_eq!(list[1].filename, "node2");
        assert_eq!(list[1].name, "CN=node2,O=Example");
        assert_eq!(list[1].ips, vec!["10.0.0.2".parse::<IpAddr>().unwrap()]);
        assert!(list[2].dns.is_empty());
    }

    #[test]
    fn shape_errors() {
        assert!(parse("instances: [").is_err());
        assert!(parse("nodes: []").is_err());
        assert!(parse("instances:\n  - nmae: x\n").is_err());
        assert!(parse("instances:\n  - name: a\n  - name: a\n    name: b\n").is_err());
    }

    #[test]
    fn entry_errors_are_all_listed() {
        let yaml = "instances:\n  - name: a\n    ip: [1.2.3]\n  - name: b\n    dns: [\"bad name\"]\n  - name: ca\n  - name: dup\n  - name: DUP\n";
        let errors = parse(yaml).unwrap().unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].contains("1.2.3"));
        assert!(errors[1].contains("bad name"));
        assert!(errors[2].contains("reserved"));
        assert!(errors[3].contains("DUP"), "{errors:?}");
        assert!(parse("instances: []").unwrap().is_err());
    }

    #[test]
    fn filenames() {
        assert!(check_filename("node-1.example_2").is_ok());
        assert!(check_filename("CN=node1,O=x").is_ok());
        for bad in ["", ".hidden", "a/b", "ca", "CA", "é"] {
            assert!(check_filename(bad).is_err(), "{bad:?}");
        }
        assert!(Instance::new("CN=x/y", None, &[], &[]).is_err());
        assert!(Instance::new("CN=x/y", Some("xy"), &[], &[]).is_ok());
    }
}
