//! Default container labels from `<policy root>/contexts/lxc_contexts`.
//!
//! The file holds `key = "context"` lines (quotes optional), `#` and `;` comments and
//! blank lines; a later line overrides an earlier one with the same key. Known keys:
//! `process`, `file`, `ro_file`, `content`, `sandbox_kvm_process`, `sandbox_lxc_process`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::context::SecurityContext;
use super::level::{Level, MlsRange};
use super::SelinuxError;

/// The process label used when the policy has no `lxc_contexts`.
pub const DEFAULT_PROCESS_LABEL: &str = "system_u:system_r:container_t:s0";
/// The file label used when the policy has no `lxc_contexts`.
pub const DEFAULT_FILE_LABEL: &str = "system_u:object_r:container_file_t:s0";

/// The parsed `lxc_contexts` file: key → context text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LxcContexts {
    entries: BTreeMap<String, String>,
    source: Option<PathBuf>,
}

impl LxcContexts {
    /// Parses the text of an `lxc_contexts` file. A line that is neither blank, a comment
    /// nor `key = value` is an error naming its line number. Values are not checked here;
    /// the typed accessors check them.
    pub fn parse(text: &str) -> Result<LxcContexts, SelinuxError> {
        Self::parse_from(text, None)
    }

    fn parse_from(text: &str, source: Option<&Path>) -> Result<LxcContexts, SelinuxError> {
        let mut entries = BTreeMap::new();
        let src = || source.map(Path::to_path_buf).unwrap_or_default();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let err = |reason: &str| SelinuxError::LxcContexts {
                path: src(),
                line: n + 1,
                reason: format!("{reason}: {raw:?}"),
            };
            let Some((k, v)) = line.split_once('=') else {
                return Err(err("expected key = \"context\""));
            };
            let key = k.trim();
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(err("the key must be a word of letters, digits and '_'"));
            }
            let mut val = v.trim();
            if let Some(inner) = val.strip_prefix('"') {
                val = inner
                    .strip_suffix('"')
                    .ok_or_else(|| err("unterminated quote"))?;
            }
            if val.is_empty() {
                return Err(err("empty value"));
            }
            entries.insert(key.to_string(), val.to_string());
        }
        Ok(LxcContexts { entries, source: source.map(Path::to_path_buf) })
    }

    /// Reads and parses a file. Fails with [`SelinuxError::Io`] when it cannot be read.
    pub fn load(path: &Path) -> Result<LxcContexts, SelinuxError> {
        let text = std::fs::read_to_string(path).map_err(|source| SelinuxError::Io {
            op: "read lxc_contexts",
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_from(&text, Some(path))
    }

    /// Loads `<policy root>/contexts/lxc_contexts` of the configured policy
    /// (`/etc/selinux/config`); `Ok(None)` when there is no policy root or no such file.
    pub fn load_system() -> Result<Option<LxcContexts>, SelinuxError> {
        let Some(root) = super::detect::policy_root() else { return Ok(None) };
        Self::load_from_root(&root)
    }

    /// Loads `<root>/contexts/lxc_contexts`; `Ok(None)` when it does not exist.
    pub fn load_from_root(root: &Path) -> Result<Option<LxcContexts>, SelinuxError> {
        let path = root.join("contexts").join("lxc_contexts");
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            _ => Self::load(&path).map(Some),
        }
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// All entries, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of `key` parsed as a context (None when absent).
    pub fn context(&self, key: &str) -> Result<Option<SecurityContext>, SelinuxError> {
        let Some(v) = self.get(key) else { return Ok(None) };
        v.parse().map(Some).map_err(|e| SelinuxError::LxcContexts {
            path: self.source.clone().unwrap_or_default(),
            line: 0,
            reason: format!("key {key:?}: {e}"),
        })
    }

    /// The container process label (`process`), or [`DEFAULT_PROCESS_LABEL`].
    pub fn process(&self) -> Result<SecurityContext, SelinuxError> {
        Ok(self.context("process")?.unwrap_or_else(default_process_label))
    }

    /// The container file label (`file`), or [`DEFAULT_FILE_LABEL`].
    pub fn file(&self) -> Result<SecurityContext, SelinuxError> {
        Ok(self.context("file")?.unwrap_or_else(default_file_label))
    }

    /// The read-only content label (`ro_file`), if the policy has one.
    pub fn ro_file(&self) -> Result<Option<SecurityContext>, SelinuxError> {
        self.context("ro_file")
    }
}

/// [`DEFAULT_PROCESS_LABEL`] as a context.
pub fn default_process_label() -> SecurityContext {
    SecurityContext::unchecked("system_u", "system_r", "container_t", Some(MlsRange::single(Level::S0)))
}

/// [`DEFAULT_FILE_LABEL`] as a context.
pub fn default_file_label() -> SecurityContext {
    SecurityContext::unchecked("system_u", "object_r", "container_file_t", Some(MlsRange::single(Level::S0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    // As shipped by container-selinux (Fedora), with comments and odd spacing added.
    const SAMPLE: &str = r#"
# lxc_contexts for containers
process = "system_u:system_r:container_t:s0"
content = "system_u:object_r:virt_var_lib_t:s0"
file = "system_u:object_r:container_file_t:s0"
ro_file="system_u:object_r:container_ro_file_t:s0"
  sandbox_kvm_process = "system_u:system_r:container_kvm_t:s0"
; old style comment
sandbox_lxc_process = system_u:system_r:spc_t:s0
sandbox_kvm_process = "system_u:system_r:container_kvm_t:s0:c1,c2"
"#;

    #[test]
    fn selinux_lxc_contexts_parse() {
        let l = LxcContexts::parse(SAMPLE).unwrap();
        assert_eq!(l.process().unwrap().to_string(), "system_u:system_r:container_t:s0");
        assert_eq!(l.file().unwrap().type_(), "container_file_t");
        assert_eq!(l.ro_file().unwrap().unwrap().type_(), "container_ro_file_t");
        assert_eq!(l.get("content"), Some("system_u:object_r:virt_var_lib_t:s0"));
        assert_eq!(l.get("sandbox_lxc_process"), Some("system_u:system_r:spc_t:s0"));
        // last one wins
        assert_eq!(l.get("sandbox_kvm_process"), Some("system_u:system_r:container_kvm_t:s0:c1,c2"));
        assert_eq!(l.iter().count(), 6);
    }

    #[test]
    fn selinux_lxc_contexts_defaults() {
        let empty = LxcContexts::parse("# nothing\n\n").unwrap();
        assert_eq!(empty.process().unwrap().to_string(), DEFAULT_PROCESS_LABEL);
        assert_eq!(empty.file().unwrap().to_string(), DEFAULT_FILE_LABEL);
        assert_eq!(empty.ro_file().unwrap(), None);
        assert_eq!(default_process_label(), DEFAULT_PROCESS_LABEL.parse().unwrap());
        assert_eq!(default_file_label(), DEFAULT_FILE_LABEL.parse().unwrap());
    }

    #[test]
    fn selinux_lxc_contexts_errors() {
        for (bad, line) in [
            ("process = \"a:b:c\"\nnonsense\n", 2),
            ("process = \"system_u:system_r:container_t\n", 1),
            ("= \"a:b:c\"", 1),
            ("pro cess = a:b:c", 1),
            ("file =", 1),
        ] {
            match LxcContexts::parse(bad) {
                Err(SelinuxError::LxcContexts { line: l, .. }) => assert_eq!(l, line, "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let l = LxcContexts::parse("process = \"not a context\"").unwrap();
        let e = l.process().unwrap_err();
        assert!(e.to_string().contains("process"), "{e}");
    }

    #[test]
    fn selinux_lxc_contexts_files() {
        let dir = std::env::temp_dir().join(format!("cocoon-selinux-lxc-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("contexts")).unwrap();
        assert_eq!(LxcContexts::load_from_root(&dir).unwrap(), None);
        std::fs::write(dir.join("contexts/lxc_contexts"), SAMPLE).unwrap();
        let l = LxcContexts::load_from_root(&dir).unwrap().unwrap();
        assert_eq!(l.file().unwrap().type_(), "container_file_t");
        std::fs::write(dir.join("contexts/lxc_contexts"), "garbage line\n").unwrap();
        let e = LxcContexts::load_from_root(&dir).unwrap_err();
        assert!(e.to_string().contains("lxc_contexts"), "{e}");
        assert!(e.to_string().contains(":1"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
