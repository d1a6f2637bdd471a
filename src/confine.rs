//! Input files stay inside the directory they were given in. A symlink in
//! `fixtures/`, or a `$ref: ../../x` in a downloaded spec, would otherwise let
//! the mock serve any file its user can read, to any page that can reach it.

use std::path::{Path, PathBuf};

/// A directory, resolved once, that the files read through it must stay in.
#[derive(Debug, Clone)]
pub struct Confinement {
    root: PathBuf,
}

impl Confinement {
    /// `directory` empty: the working directory (the parent of a file
    /// named by its name alone).
    pub fn of(directory: &Path) -> std::io::Result<Self> {
        let directory = Some(directory).filter(|d| !d.as_os_str().is_empty());
        Ok(Self {
            root: directory.unwrap_or(Path::new(".")).canonicalize()?,
        })
    }

    /// `path` with symlinks and `..` resolved, if that is still inside. The
    /// problem names `path` as given, never where it resolves to: clients
    /// see it, and must not learn where the mock's files sit.
    pub fn check(&self, path: &Path) -> Result<PathBuf, String> {
        let resolved = path
            .canonicalize()
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        if resolved.starts_with(&self.root) {
            Ok(resolved)
        } else {
            Err(format!(
                "{} resolves to a file outside its directory (through a symlink or `..`): inputs are read only from inside their directory",
                path.display()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_resolve_outside_are_refused() {
        let root = std::env::temp_dir().join(format!("specmock-confine-{}", std::process::id()));
        std::fs::create_dir_all(root.join("inner")).unwrap();
        std::fs::write(root.join("inner/kept.json"), "{}").unwrap();
        std::fs::write(root.join("outside.json"), "{}").unwrap();
        let confinement = Confinement::of(&root.join("inner")).unwrap();
        let kept = confinement.check(&root.join("inner/kept.json"));
        let escaped = confinement.check(&root.join("inner/../outside.json"));
        let missing = confinement.check(&root.join("inner/missing.json"));
        std::fs::remove_dir_all(&root).unwrap();
        assert!(kept.is_ok(), "{kept:?}");
        assert!(escaped.unwrap_err().contains("outside"));
        assert!(missing.unwrap_err().starts_with("cannot read"));
    }
}
