//! Where the two sides of a diff come from: a generation in memory, a
//! directory of manifests (the working tree's `generated/`), or the
//! manifests committed at a git revision.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::manifest::{self, Manifest};
use super::DiffError;
use crate::pipeline::Generation;
use crate::target::Target;
use crate::writer;

/// The manifests of one side of a diff, by target triple.
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestSet {
    /// How the report names this side, e.g. `LLVM 19.1.7` or `HEAD~1`.
    pub label: String,
    pub manifests: BTreeMap<String, Manifest>,
}

impl ManifestSet {
    /// The manifests a generation produced.
    pub fn from_generation(label: &str, generation: &Generation) -> Result<ManifestSet, DiffError> {
        let mut manifests = BTreeMap::new();
        for triple in &generation.report.targets {
            let Some(target) = Target::find(triple) else {
                continue;
            };
            let path = writer::manifest_path(target);
            let Some(file) = generation.files.iter().find(|f| f.path == path) else {
                continue;
            };
            let origin = format!("{} of {label}", path.display());
            manifests.insert(triple.to_string(), parse(&origin, &file.bytes)?);
        }
        Ok(ManifestSet {
            label: label.to_string(),
            manifests,
        })
    }

    /// The manifests of `targets` in `dir`; a target without one is left
    /// out.
    pub fn from_dir(
        label: &str,
        dir: &Path,
        targets: &[&'static Target],
    ) -> Result<ManifestSet, DiffError> {
        let mut manifests = BTreeMap::new();
        for target in targets {
            let path = dir.join(writer::manifest_path(target));
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => return Err(DiffError::Io { path, error }),
            };
            let origin = path.display().to_string();
            manifests.insert(target.triple.to_string(), parse(&origin, &bytes)?);
        }
        Ok(ManifestSet {
            label: label.to_string(),
            manifests,
        })
    }

    /// The manifests of `targets` in directory `dir` (relative to `repo`,
    /// e.g. `generated`) as committed at revision `rev` of the git
    /// repository `repo` is in; a target without one at `rev` is left out.
    /// The set is labelled `rev`.
    pub fn from_git(
        repo: &Path,
        rev: &str,
        dir: &Path,
        targets: &[&'static Target],
    ) -> Result<ManifestSet, DiffError> {
        if rev.starts_with('-') || rev.is_empty() {
            return Err(DiffError::Git {
                what: format!("`{rev}` is not a revision"),
                stderr: String::new(),
            });
        }
        let commit = format!("{rev}^{{commit}}");
        let verified = git(repo, &["rev-parse", "--verify", "--quiet", &commit])?;
        if !verified.status.success() {
            return Err(DiffError::Git {
                what: format!("unknown revision `{rev}` in {}", repo.display()),
                stderr: String::from_utf8_lossy(&verified.stderr).into_owned(),
            });
        }
        let mut manifests = BTreeMap::new();
        for target in targets {
            let path = dir.join(writer::manifest_path(target));
            let spec = format!("{rev}:./{}", git_path(&path));
            // `cat-file -e` tells a missing file from any other failure.
            if !git(repo, &["cat-file", "-e", &spec])?.status.success() {
                continue;
            }
            let shown = git(repo, &["show", &spec])?;
            if !shown.status.success() {
                return Err(DiffError::Git {
                    what: format!("cannot read {} at `{rev}`", path.display()),
                    stderr: String::from_utf8_lossy(&shown.stderr).into_owned(),
                });
            }
            let origin = format!("{} at `{rev}`", path.display());
            manifests.insert(target.triple.to_string(), parse(&origin, &shown.stdout)?);
        }
        Ok(ManifestSet {
            label: rev.to_string(),
            manifests,
        })
    }
}

fn parse(origin: &str, bytes: &[u8]) -> Result<Manifest, DiffError> {
    let text = std::str::from_utf8(bytes).map_err(|_| DiffError::Manifest {
        origin: origin.to_string(),
        message: "not UTF-8".to_string(),
    })?;
    manifest::parse(text).map_err(|e| DiffError::Manifest {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// A relative path with `/` separators, as git spells paths.
fn git_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn git(repo: &Path, args: &[&str]) -> Result<std::process::Output, DiffError> {
    Command::new("git")
        .current_dir(repo)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|error| DiffError::Io {
            path: PathBuf::from("git"),
            error,
        })
}
