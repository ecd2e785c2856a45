//! Mapping of `object_store` errors to this crate's [`Error`].

use crate::Error;

/// Maps an `object_store` error from `operation` on `key` of `backend`.
///
/// `NotFound` and `AlreadyExists` keep their meaning; unsupported operations
/// become [`Error::NotSupported`]; everything else is [`Error::Backend`], which
/// is `transient` for failures the backend could not classify (network errors,
/// timeouts, 5xx responses after retries) and permanent for refused
/// credentials, permissions, bad paths and failed preconditions.
pub(crate) fn map_err(
    backend: &str,
    operation: &str,
    key: &dyn std::fmt::Display,
    e: object_store::Error,
) -> Error {
    use object_store::Error as E;
    let backend_err = |transient: bool, e: &E| Error::Backend {
        backend: backend.to_owned(),
        operation: format!("{operation} {key}"),
        message: e.to_string(),
        transient,
    };
    match e {
        E::NotFound { .. } => Error::NotFound {
            reference: key.to_string(),
        },
        E::AlreadyExists { .. } => Error::AlreadyExists {
            key: key.to_string(),
        },
        E::NotSupported { .. } | E::NotImplemented { .. } => Error::NotSupported {
            operation: format!("{operation} ({e})"),
            backend: backend.to_owned(),
        },
        E::UnknownConfigurationKey { .. } => Error::Config(e.to_string()),
        ref e @ (E::Generic { .. } | E::JoinError { .. }) => backend_err(true, e),
        ref e => backend_err(false, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_survive_mapping() {
        let nf = object_store::Error::NotFound {
            path: "p".into(),
            source: "gone".into(),
        };
        assert!(matches!(
            map_err("memory", "get", &"k", nf),
            Error::NotFound { reference } if reference == "k"
        ));
        let generic = object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        };
        match map_err("s3", "put", &"k", generic) {
            Error::Backend {
                transient,
                operation,
                ..
            } => {
                assert!(transient);
                assert_eq!(operation, "put k");
            }
            other => panic!("{other:?}"),
        }
        let denied = object_store::Error::PermissionDenied {
            path: "p".into(),
            source: "no".into(),
        };
        assert!(matches!(
            map_err("s3", "put", &"k", denied),
            Error::Backend {
                transient: false,
                ..
            }
        ));
    }
}
