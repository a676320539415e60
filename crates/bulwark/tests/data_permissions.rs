//! Store and index files are 0600 and their directories 0700, also under a custom `path.data`
//! made beforehand with looser modes; `doctor` reports anything looser, with its `chmod`
//! (issue 14).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use bulwark_testkit::{TestHome, command, run, start_fresh};

/// Every entry under `dir` (itself included) with its permission bits.
fn modes(dir: &Path) -> Vec<(PathBuf, bool, u32)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        out.push((p.clone(), meta.is_dir(), meta.permissions().mode() & 0o777));
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        }
    }
    out
}

fn doctor_data_findings(home: &TestHome, data: &Path) -> Vec<serde_json::Value> {
    let mut cmd = command(&home.path());
    cmd.args(["doctor", "--json", "-E"]).arg(format!("path.data={}", data.display())).stdin(Stdio::null());
    let (code, out, err) = run(&mut cmd);
    let report: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    let found: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "permissions.data")
        .cloned()
        .collect();
    if !found.is_empty() {
        assert_eq!(code, 1, "a warning is exit status 1");
    }
    found
}

#[test]
fn data_files_are_private_under_a_custom_path_data_and_doctor_reports_looser_ones() {
    let home = TestHome::new();
    let data = home.path().parent().unwrap().join("custom-data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let setting = format!("path.data={}", data.display());
    let s = start_fresh(&home, &["-E", &setting]);
    let auth = Some(("elastic", s.password.as_str()));
    let (status, _, body) = s
        .client
        .send("PUT", "/files/_doc/1?refresh=true", auth, Some("application/json"), br#"{"a":"b"}"#.to_vec())
        .unwrap();
    assert!(status == 201, "{status} {}", String::from_utf8_lossy(&body));
    let (status, _, _) = s.client.send("GET", "/files/_search?q=a:b", auth, None, Vec::new()).unwrap();
    assert_eq!(status, 200);

    let all = modes(&data);
    assert!(all.iter().any(|(p, ..)| p.starts_with(data.join("store"))), "a store under {}", data.display());
    assert!(
        all.iter().any(|(p, ..)| p.starts_with(data.join("indices"))),
        "indices under {}",
        data.display()
    );
    let loose: Vec<_> = all
        .iter()
        .filter(|(_, is_dir, m)| if *is_dir { *m != 0o700 } else { *m != 0o600 })
        .map(|(p, is_dir, m)| format!("{} ({}) {m:o}", p.display(), if *is_dir { "dir" } else { "file" }))
        .collect();
    assert!(loose.is_empty(), "looser than 0600/0700:\n{}", loose.join("\n"));
    assert!(doctor_data_findings(&home, &data).is_empty());

    let file =
        all.iter().find(|(p, is_dir, _)| !is_dir && p.starts_with(data.join("store"))).unwrap().0.clone();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(data.join("indices"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let found = doctor_data_findings(&home, &data);
    assert_eq!(found.len(), 2, "{found:#?}");
    let text = serde_json::to_string(&found).unwrap();
    assert!(text.contains(&format!("chmod 600 {}", file.display())), "{text}");
    assert!(text.contains(&format!("chmod 700 {}", data.join("indices").display())), "{text}");
    assert!(text.contains("644"), "{text}");
    drop(s);
}
