//! How the gallery joins Zenoh: the protocol's network options ([`NetConfig`]: peer mode on loopback by default,
//! client mode to routers, explicit endpoints, mutual TLS, an optional Zenoh JSON5 config file for access control —
//! see `reid gallery certs` and `deploy/zenoh/` for rules by certificate common name) turned into a
//! `zenoh::Config`. With TLS on (from the settings or the file), the certificate files are read first (an error
//! names a file that is not PEM, expired or not a CA) and every endpoint must be `tls/`.

use super::NetError;
pub use reid_protocol::net::{DEFAULT_ENDPOINT, DEFAULT_TLS_ENDPOINT, Mode, NetConfig, TlsFiles};
use reid_protocol::tls;

/// Builds the Zenoh configuration of a [`NetConfig`] (import the trait to call `net.to_zenoh()`).
pub trait ZenohConfig {
    /// The Zenoh configuration: the config file (or Zenoh's defaults), then [`NetConfig::settings`] over it.
    fn to_zenoh(&self) -> Result<zenoh::Config, NetError>;
}

impl ZenohConfig for NetConfig {
    fn to_zenoh(&self) -> Result<zenoh::Config, NetError> {
        let mut config = match &self.config_file {
            Some(path) => zenoh::Config::from_file(path)
                .map_err(|e| NetError::Config { key: path.display().to_string(), message: e.to_string() })?,
            None => zenoh::Config::default(),
        };
        for (key, value) in self.settings()? {
            config
                .insert_json5(key, &value)
                .map_err(|e| NetError::Config { key: key.to_owned(), message: e.to_string() })?;
        }
        if tls_configured(&config) {
            check_tls_files(&config)?;
            let get = |k: &str| config.get_json(k).unwrap_or_default();
            let (listen, connect) = (get("listen/endpoints"), get("connect/endpoints"));
            reid_protocol::net::check_secure(&[&listen, &connect])?;
        }
        Ok(config)
    }
}

/// Reads the certificate files a TLS configuration names (the CA, and each certificate/key pair present) so that a
/// file that is not PEM, expired or not yet valid is refused naming it; warns when clients are not authenticated.
fn check_tls_files(config: &zenoh::Config) -> Result<(), NetError> {
    let path = |k: &str| {
        config
            .get_json(&format!("transport/link/tls/{k}"))
            .ok()
            .and_then(|v| serde_json::from_str::<Option<String>>(&v).ok().flatten())
            .map(std::path::PathBuf::from)
    };
    let now = tls::now_s();
    if let Some(ca) = path("root_ca_certificate") {
        let info = tls::read_certificate(&ca, now)?;
        if !info.is_ca {
            return Err(NetError::Config {
                key: ca.display().to_string(),
                message: format!("`{}` is not a certificate authority", info.common_name),
            });
        }
    }
    for (cert, key) in [("listen_certificate", "listen_private_key"), ("connect_certificate", "connect_private_key")] {
        if let Some(cert) = path(cert) {
            let info = tls::read_certificate(&cert, now)?;
            tracing::debug!("TLS certificate {} (CN `{}`)", cert.display(), info.common_name);
        }
        if let Some(key) = path(key) {
            tls::check_private_key(&key)?;
        }
    }
    if config.get_json("transport/link/tls/enable_mtls").is_ok_and(|v| v.trim() != "true") {
        tracing::warn!(
            "TLS without enable_mtls: peers are not authenticated by certificate, so access-control rules by \
             common name cannot apply"
        );
    }
    Ok(())
}

/// Whether a Zenoh configuration turns TLS on (a root CA is set, from the settings or a config file).
pub fn tls_configured(config: &zenoh::Config) -> bool {
    ["root_ca_certificate", "root_ca_certificate_base64"].iter().any(|k| {
        config.get_json(&format!("transport/link/tls/{k}")).is_ok_and(|v| !matches!(v.trim(), "null" | "" | "\"\""))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_modes_are_checked() {
        assert!(NetConfig { listen: vec!["tcp/127.0.0.1:0".into()], ..Default::default() }.to_zenoh().is_ok());
        let err = NetConfig { connect: vec!["127.0.0.1:7447".into()], ..Default::default() }.to_zenoh().unwrap_err();
        assert!(err.to_string().contains("127.0.0.1:7447"), "{err}");
        assert!("router".parse::<Mode>().is_err());
        let missing = NetConfig { config_file: Some("/nonexistent/zenoh.json5".into()), ..Default::default() };
        assert!(missing.to_zenoh().unwrap_err().to_string().contains("/nonexistent/zenoh.json5"));
    }
}
