//! After a node stops, its logs are read for what no test should leave there: an `ERROR` line the
//! test did not say it expects, and any secret the test knows (the generated `elastic` password,
//! the enrollment token, passwords the test chose). A test that breaks something on purpose
//! names the error it expects with [`crate::Node::expect_error`]; one that handles a secret of
//! its own registers it with [`crate::Node::secret`].

use std::path::{Path, PathBuf};

/// What a stopped node's logs are checked against.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    /// Substrings of the `ERROR` lines the test provokes on purpose.
    pub expected_errors: Vec<String>,
    /// Strings that must never be written to a log.
    pub secrets: Vec<String>,
}

/// Secrets shorter than this are not looked for (they would match by chance).
const MIN_SECRET_LEN: usize = 8;

impl Watch {
    /// The problems found in the logs of the node at `home` (its `logs/` directory and the file
    /// its standard output and error went to).
    pub(crate) fn problems(&self, home: &Path, out: &Path) -> Vec<String> {
        let mut secrets = self.secrets.clone();
        // The first start's credentials, read now: they may have been written after the test
        // last looked.
        if let Ok(text) = std::fs::read_to_string(home.join("config").join("bootstrap-credentials")) {
            secrets.extend(
                text.lines()
                    .filter_map(|l| l.split_once('='))
                    .filter(|(k, _)| matches!(*k, "ELASTIC_PASSWORD" | "ENROLLMENT_TOKEN"))
                    .map(|(_, v)| v.to_owned()),
            );
        }
        secrets.retain(|s| s.len() >= MIN_SECRET_LEN);
        let mut files: Vec<PathBuf> = std::fs::read_dir(home.join("logs"))
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
            .unwrap_or_default();
        files.push(out.to_path_buf());
        let mut problems = Vec::new();
        for file in files {
            let Ok(bytes) = std::fs::read(&file) else { continue };
            let text = String::from_utf8_lossy(&bytes);
            for line in text.lines() {
                if let Some(s) = secrets.iter().find(|s| line.contains(s.as_str())) {
                    let at = s.chars().take(3).collect::<String>();
                    problems.push(format!("{}: a secret ({at}…) is in: {}", file.display(), cut(line)));
                }
                let error = line.contains("\"level\":\"ERROR\"") || line.starts_with("ERROR ");
                if error && !self.expected_errors.iter().any(|e| line.contains(e.as_str())) {
                    problems.push(format!(
                        "{}: an ERROR line the test did not expect: {}",
                        file.display(),
                        cut(line)
                    ));
                }
            }
        }
        problems
    }
}

fn cut(line: &str) -> String {
    line.chars().take(300).collect()
}
