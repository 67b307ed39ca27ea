//! The digest that keeps a report honest across edits: a finished (run, seed) is reused only
//! while what it was trained from still says the same.

use std::path::Path;

use crate::error::{Error, Result};

use super::protocol::{Protocol, RunSpec};

/// A digest of what a run trains and evaluates: its config or curriculum as parsed (so
/// comments, formatting and where the checkout lives do not count), its eval targets and, for
/// `init_from`, the digest of the run it starts from. A finished (run, seed) is reused only
/// while its digest is unchanged: a result trained from another version of the protocol's
/// files is refused, not silently put in the table. What only shapes the table (the `recipe`
/// and `category` labels, `baseline`, `baseline_eval`, `note`) is left out, and so are the
/// files a config names (the base checkpoint, datasets).
pub fn fingerprint(run: &RunSpec, source: Option<&str>) -> Result<String> {
    let file = run
        .config
        .as_ref()
        .or(run.curriculum.as_ref())
        .expect("validated: config or curriculum");
    let eval = run
        .eval
        .iter()
        .map(|t| {
            let suite = match t.suite.ends_with(".toml") {
                true => parsed_toml(Path::new(&t.suite))?,
                false => serde_json::Value::String(t.suite.clone()),
            };
            Ok(serde_json::json!({ "suite": suite, "variations": t.variations }))
        })
        .collect::<Result<Vec<_>>>()?;
    let what = serde_json::json!({
        "kind": if run.config.is_some() { "config" } else { "curriculum" },
        "file": parsed_toml(file)?,
        "eval": eval,
        "init_from": source,
    });
    Ok(format!("{:016x}", fnv1a(what.to_string().as_bytes())))
}

/// The TOML file at `path` as a JSON value: its content without comments or layout.
fn parsed_toml(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value: toml::Value = toml::from_str(&text)
        .map_err(|e| Error::invalid(format!("{}: {}", path.display(), e.message())))?;
    serde_json::to_value(value).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))
}

/// 64-bit FNV-1a: a digest that is the same in every build and on every machine (std's
/// hasher promises neither).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Every run's [`fingerprint`], in protocol order (a run's includes its `init_from` source's).
pub(super) fn fingerprints(protocol: &Protocol) -> Result<Vec<String>> {
    let mut digests: Vec<String> = Vec::new();
    for run in &protocol.runs {
        let source = run.init_from.as_ref().map(|from| {
            let i = protocol.runs.iter().position(|r| &r.name == from);
            digests[i.expect("validated: an earlier run")].as_str()
        });
        let digest = fingerprint(run, source)?;
        digests.push(digest);
    }
    Ok(digests)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::EvalTarget;
    use crate::report::fixtures::protocol;

    fn spec_for(config: &Path) -> RunSpec {
        RunSpec {
            config: Some(config.to_path_buf()),
            curriculum: None,
            ..protocol().runs[0].clone()
        }
    }

    /// The fingerprint reads what a config says, not how it is written or where it lives,
    /// and changes with any value, the eval targets or the run it starts from, but not with
    /// what the run is compared with.
    #[test]
    fn fingerprints_follow_content_not_layout() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let write = |dir: &Path, text: &str| {
            let path = dir.join("c.toml");
            std::fs::write(&path, text).unwrap();
            path
        };
        let plain = write(a.path(), "steps = 10\n[schedule]\nlr = 0.001\n");
        let commented = write(
            b.path(),
            "# a note on the result\nsteps   = 10 # updates\n\n[schedule]\nlr = 1e-3\n",
        );
        let digest = |run: &RunSpec, source| fingerprint(run, source).unwrap();
        let reference = digest(&spec_for(&plain), None);
        assert_eq!(reference.len(), 16);
        assert_eq!(digest(&spec_for(&commented), None), reference);

        let longer = write(b.path(), "steps = 20\n[schedule]\nlr = 0.001\n");
        assert_ne!(digest(&spec_for(&longer), None), reference);
        assert_ne!(
            digest(&spec_for(&plain), Some("0123456789abcdef")),
            reference
        );
        let mut other_eval = spec_for(&plain);
        other_eval.eval[0].variations = vec!["lighting".into()];
        assert_ne!(digest(&other_eval, None), reference);

        // Which row it is compared with changes the table, not what trains.
        let mut other_comparison = spec_for(&plain);
        other_comparison.baseline_eval = Some(EvalTarget {
            suite: "goal".into(),
            variations: vec!["lighting".into()],
        });
        assert_eq!(digest(&other_comparison, None), reference);
    }
}
