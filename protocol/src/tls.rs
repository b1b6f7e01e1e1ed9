//! Certificate and key files read before a TLS transport uses them, so that a wrong file gets an error naming it
//! (not PEM, no certificate in it, not yet valid or expired, a key file without a private key) instead of a
//! handshake that silently never completes. Zenoh's TLS link (rustls) then verifies the chain itself.

use crate::error::{ConfigError, clip};
use crate::net::TlsFiles;
use std::path::Path;
use x509_parser::pem::Pem;
use x509_parser::time::ASN1Time;

/// What a certificate file holds (its first certificate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// The subject's common name (the ACL subject: `cert_common_names`), empty when it has none.
    pub common_name: String,
    /// Not valid before this (seconds since the Unix epoch).
    pub not_before: i64,
    /// Not valid after this (seconds since the Unix epoch).
    pub not_after: i64,
    /// Whether it is a certificate authority.
    pub is_ca: bool,
}

fn fail(path: &Path, message: impl Into<String>) -> ConfigError {
    ConfigError { key: path.display().to_string(), message: message.into() }
}

fn read_pem(path: &Path, what: &str) -> Result<Vec<Pem>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| fail(path, format!("cannot read the {what}: {e}")))?;
    let mut blocks = Vec::new();
    for block in Pem::iter_from_buffer(&bytes) {
        match block {
            Ok(pem) => blocks.push(pem),
            Err(e) if blocks.is_empty() => {
                let start = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
                return Err(fail(
                    path,
                    format!("the {what} is not PEM ({e}); it starts with `{}`", clip(&start, 40).escape_debug()),
                ));
            }
            Err(_) => break,
        }
    }
    if blocks.is_empty() {
        return Err(fail(path, format!("the {what} is not PEM: no `-----BEGIN ...-----` block")));
    }
    Ok(blocks)
}

fn date(t: i64) -> String {
    ASN1Time::from_timestamp(t).map(|t| t.to_string()).unwrap_or_else(|_| format!("{t} s after 1970"))
}

/// Reads the first certificate of a PEM file and checks it is valid at `now` (seconds since the Unix epoch).
pub fn read_certificate(path: &Path, now: i64) -> Result<CertInfo, ConfigError> {
    let blocks = read_pem(path, "certificate file")?;
    let pem = blocks.iter().find(|p| p.label == "CERTIFICATE").ok_or_else(|| {
        let labels: Vec<&str> = blocks.iter().map(|p| p.label.as_str()).collect();
        fail(path, format!("no CERTIFICATE block (found {})", labels.join(", ")))
    })?;
    let cert = pem.parse_x509().map_err(|e| fail(path, format!("the certificate cannot be parsed: {e}")))?;
    let validity = cert.validity();
    let info = CertInfo {
        common_name: cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default()
            .to_owned(),
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        is_ca: cert.is_ca(),
    };
    if now > info.not_after {
        return Err(fail(
            path,
            format!("the certificate `{}` expired on {}", clip(&info.common_name, 64), date(info.not_after)),
        ));
    }
    if now < info.not_before {
        return Err(fail(
            path,
            format!("the certificate `{}` is not valid before {}", clip(&info.common_name, 64), date(info.not_before)),
        ));
    }
    Ok(info)
}

/// Checks a private-key file: PEM with a `PRIVATE KEY` block (PKCS#8, or PKCS#1 / SEC1).
pub fn check_private_key(path: &Path) -> Result<(), ConfigError> {
    let blocks = read_pem(path, "private key file")?;
    if blocks.iter().any(|p| p.label.ends_with("PRIVATE KEY")) {
        return Ok(());
    }
    let labels: Vec<&str> = blocks.iter().map(|p| p.label.as_str()).collect();
    Err(fail(path, format!("no PRIVATE KEY block (found {})", labels.join(", "))))
}

/// Checks the three files of a TLS setting at `now` and returns this end's certificate.
pub fn check_files(files: &TlsFiles, now: i64) -> Result<CertInfo, ConfigError> {
    let ca = read_certificate(&files.ca, now)?;
    if !ca.is_ca {
        return Err(fail(&files.ca, format!("`{}` is not a certificate authority", clip(&ca.common_name, 64))));
    }
    let own = read_certificate(&files.cert, now)?;
    check_private_key(&files.key)?;
    Ok(own)
}

/// Now, in seconds since the Unix epoch.
pub fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
