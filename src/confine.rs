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
    pub fn of(directory: &Path) -> std::io::Result<Self> {
        Ok(Self {
            root: directory.canonicalize()?,
        })
    }

    /// `path` with symlinks and `..` resolved, if that is still inside.
    pub fn check(&self, path: &Path) -> Result<PathBuf, String> {
        let resolved = path
            .canonicalize()
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        match resolved.starts_with(&self.root) {
            true => Ok(resolved),
            false => Err(format!(
                "{} resolves to {}, outside {}: inputs are read only from inside their directory",
                path.display(),
                resolved.display(),
                self.root.display()
            )),
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
