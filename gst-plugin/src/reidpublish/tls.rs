//! `reidpublish`'s mutual TLS: the `tls-ca`, `tls-cert` and `tls-key` properties (all three or none), their files
//! read before connecting (an error names the property and the file: not PEM, expired, a CA that is not a CA), and
//! the same checks on the TLS files and endpoints a `config` file brings (as the gallery does).

use reid_protocol::error::ConfigError;
use reid_protocol::net::{TlsFiles, check_secure};
use reid_protocol::tls::{self, CertInfo};
use std::path::PathBuf;

/// The TLS files of the three properties: `None` when none is set; an error naming each missing property when
/// only some are.
pub fn tls_files(ca: Option<PathBuf>, cert: Option<PathBuf>, key: Option<PathBuf>) -> Result<Option<TlsFiles>, String> {
    match (ca, cert, key) {
        (None, None, None) => Ok(None),
        (Some(ca), Some(cert), Some(key)) => Ok(Some(TlsFiles { ca, cert, key })),
        (ca, cert, key) => {
            let missing: Vec<&str> =
                [("tls-ca", ca.is_none()), ("tls-cert", cert.is_none()), ("tls-key", key.is_none())]
                    .iter()
                    .filter(|(_, absent)| *absent)
                    .map(|(name, _)| *name)
                    .collect();
            Err(format!(
                "property `{}` is not set: tls-ca, tls-cert and tls-key go together (all three or none)",
                missing.join("`, `")
            ))
        }
    }
}

/// Reads the three files at `now` (seconds since the Unix epoch) as `reid_protocol::tls::check_files` does, one
/// property at a time so that an error names the property and the file even when two properties share a path
/// (`property `tls-cert` /x/cam1.pem: the certificate `cam1` expired on ...`); returns this end's certificate.
pub fn check_tls_files(files: &TlsFiles, now: i64) -> Result<CertInfo, String> {
    let named = |property: &str, e: ConfigError| format!("property `{property}` {}: {}", e.key, e.message);
    let ca = tls::read_certificate(&files.ca, now).map_err(|e| named("tls-ca", e))?;
    if !ca.is_ca {
        return Err(format!(
            "property `tls-ca` {}: `{}` is not a certificate authority",
            files.ca.display(),
            reid_protocol::error::clip(&ca.common_name, 64)
        ));
    }
    let own = tls::read_certificate(&files.cert, now).map_err(|e| named("tls-cert", e))?;
    tls::check_private_key(&files.key).map_err(|e| named("tls-key", e))?;
    Ok(own)
}

/// Whether a Zenoh configuration turns TLS on (a root CA is set, by the properties or the config file).
pub fn tls_configured(config: &zenoh::Config) -> bool {
    ["root_ca_certificate", "root_ca_certificate_base64"].iter().any(|k| {
        config.get_json(&format!("transport/link/tls/{k}")).is_ok_and(|v| !matches!(v.trim(), "null" | "" | "\"\""))
    })
}

/// With TLS on in the final configuration: reads the certificate and key files it names (the CA must be a CA) and
/// refuses every plaintext endpoint, naming the Zenoh key and file, or the endpoint.
pub fn check_config_tls(config: &zenoh::Config) -> Result<(), String> {
    if !tls_configured(config) {
        return Ok(());
    }
    let path = |k: &str| {
        config
            .get_json(&format!("transport/link/tls/{k}"))
            .ok()
            .and_then(|v| serde_json::from_str::<Option<String>>(&v).ok().flatten())
            .map(PathBuf::from)
    };
    let named = |k: &str, e: ConfigError| format!("zenoh config `transport/link/tls/{k}` {}: {}", e.key, e.message);
    let now = tls::now_s();
    if let Some(ca) = path("root_ca_certificate") {
        let info = tls::read_certificate(&ca, now).map_err(|e| named("root_ca_certificate", e))?;
        if !info.is_ca {
            return Err(format!(
                "zenoh config `transport/link/tls/root_ca_certificate` {}: `{}` is not a certificate authority",
                ca.display(),
                reid_protocol::error::clip(&info.common_name, 64)
            ));
        }
    }
    for k in ["listen_certificate", "connect_certificate"] {
        if let Some(cert) = path(k) {
            tls::read_certificate(&cert, now).map_err(|e| named(k, e))?;
        }
    }
    for k in ["listen_private_key", "connect_private_key"] {
        if let Some(key) = path(k) {
            tls::check_private_key(&key).map_err(|e| named(k, e))?;
        }
    }
    let get = |k: &str| config.get_json(k).unwrap_or_default();
    let (listen, connect) = (get("listen/endpoints"), get("connect/endpoints"));
    check_secure(&[&listen, &connect]).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_properties_go_together() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(tls_files(None, None, None), Ok(None));
        let all = tls_files(p("/s/ca.pem"), p("/s/cam1.pem"), p("/s/cam1.key")).unwrap().unwrap();
        assert_eq!(all.cert, PathBuf::from("/s/cam1.pem"));
        assert_eq!(all.key, PathBuf::from("/s/cam1.key"));
        let err = tls_files(p("/s/ca.pem"), None, p("/s/cam1.key")).unwrap_err();
        assert!(err.contains("`tls-cert`") && !err.contains("`tls-ca`") && !err.contains("`tls-key`"), "{err}");
        let err = tls_files(None, None, p("/s/cam1.key")).unwrap_err();
        assert!(err.starts_with("property `tls-ca`, `tls-cert` is not set"), "{err}");
    }

    #[test]
    fn a_missing_file_is_named_with_its_property() {
        let files = TlsFiles { ca: "/nonexistent/ca.pem".into(), cert: "/n/c.pem".into(), key: "/n/c.key".into() };
        let err = check_tls_files(&files, tls::now_s()).unwrap_err();
        assert!(err.starts_with("property `tls-ca` /nonexistent/ca.pem: cannot read"), "{err}");
    }
}
