//! The options a store reads from `MEDIA_*` variables and from a store
//! URL's query: one parser for every way of opening a store.

use std::str::FromStr;

use promptkit_core::MEDIA_STORE_OPTIONS;

use crate::{Organization, RetentionPolicy};

/// The variables every backend reads, with the option each sets.
pub(crate) const SHARED_VARIABLES: [(&str, &str); 3] = [
    ("MEDIA_ORGANIZATION", "organization"),
    ("MEDIA_DEFAULT_POLICY", "default_policy"),
    ("MEDIA_MAX_FILE_SIZE", "max_file_size"),
];

/// The local store's own variables (besides `MEDIA_STORE_DIR`).
#[cfg(feature = "local")]
pub(crate) const LOCAL_VARIABLES: [(&str, &str); 2] = [
    ("MEDIA_DEDUPLICATION", "deduplication"),
    ("MEDIA_FSYNC", "fsync"),
];

/// Options by name (those of [`MEDIA_STORE_OPTIONS`]); `None` (or `false`)
/// until given.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Options {
    pub(crate) organization: Option<Organization>,
    pub(crate) default_policy: Option<RetentionPolicy>,
    pub(crate) max_file_size: Option<u64>,
    pub(crate) read_only: bool,
    pub(crate) deduplication: Option<bool>,
    pub(crate) fsync: Option<bool>,
}

impl Options {
    /// Sets the options of the `variables` that `get` finds (blank counts
    /// as unset); an error says which variable is at fault.
    pub(crate) fn read_vars(
        &mut self,
        get: &dyn Fn(&str) -> Option<String>,
        variables: &[(&str, &str)],
    ) -> Result<(), String> {
        for (var, key) in variables {
            if let Some(v) = get(var).filter(|v| !v.trim().is_empty()) {
                self.set(key, &v)
                    .map_err(|e| format!("invalid {var}: {e}"))?;
            }
        }
        Ok(())
    }

    /// Sets the option `key` from its text.
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "organization" => {
                self.organization = Some(Organization::from_str(value).map_err(|e| e.to_string())?)
            }
            "default_policy" => {
                self.default_policy =
                    Some(RetentionPolicy::from_str(value).map_err(|e| e.to_string())?)
            }
            "max_file_size" => {
                let n = value.trim().parse();
                self.max_file_size =
                    Some(n.map_err(|e| format!("`{value}` is not a byte count: {e}"))?)
            }
            "read_only" => self.read_only = parse_bool(value)?,
            "deduplication" => self.deduplication = Some(parse_bool(value)?),
            "fsync" => self.fsync = Some(parse_bool(value)?),
            _ => {
                return Err(format!(
                    "unknown parameter ({}; s3://, gs:// and az:// URLs also take their \
                     object_store options, e.g. aws_endpoint)",
                    MEDIA_STORE_OPTIONS.join(", ")
                ));
            }
        }
        Ok(())
    }
}

fn parse_bool(v: &str) -> std::result::Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(format!("`{other}` is not a boolean (true/false)")),
    }
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;

    #[test]
    fn variables_and_parameters_share_one_parser() {
        let mut o = Options::default();
        let vars = |k: &str| match k {
            "MEDIA_ORGANIZATION" => Some("by-run".to_string()),
            "MEDIA_FSYNC" => Some(" ".to_string()), // blank: unset
            "MEDIA_DEDUPLICATION" => Some("no".to_string()),
            _ => None,
        };
        o.read_vars(&vars, &SHARED_VARIABLES).unwrap();
        o.read_vars(&vars, &LOCAL_VARIABLES).unwrap();
        assert_eq!(o.organization, Some(Organization::ByRun));
        assert_eq!((o.deduplication, o.fsync), (Some(false), None));
        o.set("max_file_size", "10").unwrap();
        o.set("read_only", "on").unwrap();
        assert_eq!((o.max_file_size, o.read_only), (Some(10), true));
        assert!(o.set("max_file_size", "lots").unwrap_err().contains("lots"));
        assert!(o.set("fsync", "maybe").is_err());
        assert!(
            o.set("colour", "red")
                .unwrap_err()
                .contains("unknown parameter")
        );
        for name in MEDIA_STORE_OPTIONS {
            let known = o
                .set(name, "")
                .map_or_else(|e| !e.contains("unknown parameter"), |()| true);
            assert!(
                known,
                "{name} is a media store option the parser does not know"
            );
        }
        let bad = |k: &str| (k == "MEDIA_DEFAULT_POLICY").then(|| "forever".to_string());
        let err = o.read_vars(&bad, &SHARED_VARIABLES).unwrap_err();
        assert!(err.contains("MEDIA_DEFAULT_POLICY"), "{err}");
    }
}
