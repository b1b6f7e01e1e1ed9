//! How a gallery client, server or publisher joins the network: peer mode on loopback by default (multicast
//! scouting off), client mode to routers, explicit endpoints, mutual TLS ([`TlsFiles`]: a site CA, this end's
//! certificate and key; every endpoint must then be `tls/`), and an optional Zenoh JSON5 config file for
//! everything else (access control by certificate common name; see `deploy/zenoh/` and `reid gallery certs`).
//! [`NetConfig::settings`] lists what a transport applies over that file; building the Zenoh configuration itself
//! happens where Zenoh is linked (`reid_gallery::net::ZenohConfig`, `reidpublish`), which also refuses plaintext
//! endpoints a config file brings when TLS is on ([`check_secure`]).

use crate::error::ConfigError;
use std::path::PathBuf;
use std::str::FromStr;

/// Zenoh session mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Talks directly to other peers.
    #[default]
    Peer,
    /// Talks through Zenoh routers.
    Client,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "peer" => Ok(Mode::Peer),
            "client" => Ok(Mode::Client),
            other => Err(format!("unknown zenoh mode `{other}` (expected peer or client)")),
        }
    }
}

/// The loopback endpoint a gallery listens on by default.
pub const DEFAULT_ENDPOINT: &str = "tcp/127.0.0.1:7447";
/// The loopback endpoint a gallery listens on by default with TLS.
pub const DEFAULT_TLS_ENDPOINT: &str = "tls/127.0.0.1:7447";

/// Mutual TLS: the site's certificate authority, and this end's certificate and private key (PEM files; `reid
/// gallery certs` makes them). The same pair serves both directions: listening and connecting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA that signed every certificate of the site (peers with another CA are refused).
    pub ca: PathBuf,
    /// This end's certificate; its common name is its identity in the access-control rules.
    pub cert: PathBuf,
    /// This end's private key.
    pub key: PathBuf,
}

/// The Zenoh config keys of a TLS setting, as (key, JSON5 value) pairs.
fn tls_settings(t: &TlsFiles) -> Vec<(&'static str, String)> {
    let path = |p: &PathBuf| serde_json::to_string(&p.to_string_lossy()).unwrap_or_default();
    vec![
        ("transport/link/tls/root_ca_certificate", path(&t.ca)),
        ("transport/link/tls/listen_certificate", path(&t.cert)),
        ("transport/link/tls/listen_private_key", path(&t.key)),
        ("transport/link/tls/connect_certificate", path(&t.cert)),
        ("transport/link/tls/connect_private_key", path(&t.key)),
        ("transport/link/tls/enable_mtls", "true".to_owned()),
        ("transport/link/tls/verify_name_on_connect", "true".to_owned()),
        ("transport/link/tls/close_link_on_expiration", "true".to_owned()),
    ]
}

/// Whether an endpoint's transport is encrypted (`tls/`, `quic/`).
pub fn is_secure(endpoint: &str) -> bool {
    endpoint.starts_with("tls/") || endpoint.starts_with("quic/")
}

/// With TLS on, refuses every plaintext endpoint among the final configuration's `listen/endpoints` and
/// `connect/endpoints` (JSON as Zenoh returns them: a list, or one list per mode), naming it.
pub fn check_secure(endpoint_lists: &[&str]) -> Result<(), ConfigError> {
    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            serde_json::Value::Object(o) => o.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    for list in endpoint_lists {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(list) {
            strings(&v, &mut all);
        }
    }
    match all.iter().find(|e| !is_secure(e)) {
        Some(e) => Err(plaintext(e)),
        None => Ok(()),
    }
}

fn plaintext(e: &str) -> ConfigError {
    ConfigError {
        key: "endpoint".to_owned(),
        message: format!(
            "`{}` is plaintext but TLS is configured: use a tls/ endpoint (e.g. {DEFAULT_TLS_ENDPOINT})",
            crate::error::clip(e, 200)
        ),
    }
}

/// Network settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetConfig {
    /// Peer or client.
    pub mode: Mode,
    /// Endpoints to listen on (`tcp/host:port`).
    pub listen: Vec<String>,
    /// Endpoints to connect to.
    pub connect: Vec<String>,
    /// A Zenoh JSON5 config file applied first (the settings above override its keys when given).
    pub config_file: Option<PathBuf>,
    /// Multicast scouting (off by default, also over a config file: explicit endpoints only).
    pub multicast: bool,
    /// Mutual TLS; every endpoint must then be `tls/` (plaintext is refused).
    pub tls: Option<TlsFiles>,
}

impl NetConfig {
    /// A server's default: peer, listening on [`DEFAULT_ENDPOINT`].
    pub fn server_default() -> Self {
        NetConfig { listen: vec![DEFAULT_ENDPOINT.to_owned()], ..Default::default() }
    }

    /// A client's default: peer, connecting to [`DEFAULT_ENDPOINT`].
    pub fn client_default() -> Self {
        NetConfig { connect: vec![DEFAULT_ENDPOINT.to_owned()], ..Default::default() }
    }

    /// These settings with mutual TLS: the default loopback endpoint becomes [`DEFAULT_TLS_ENDPOINT`]; other
    /// endpoints stay as given (a plaintext one is refused by [`NetConfig::settings`]).
    pub fn with_tls(mut self, tls: TlsFiles) -> Self {
        for e in self.listen.iter_mut().chain(self.connect.iter_mut()) {
            if e == DEFAULT_ENDPOINT {
                *e = DEFAULT_TLS_ENDPOINT.to_owned();
            }
        }
        self.tls = Some(tls);
        self
    }

    /// The Zenoh configuration keys these settings set, in order, as (key, JSON5 value) pairs to insert over the
    /// config file (or over Zenoh's defaults without one). Checks every endpoint first.
    pub fn settings(&self) -> Result<Vec<(&'static str, String)>, ConfigError> {
        let mode = match self.mode {
            Mode::Peer => "\"peer\"",
            Mode::Client => "\"client\"",
        };
        let mut out = vec![("mode", mode.to_owned())];
        for e in self.listen.iter().chain(&self.connect) {
            check_endpoint(e)?;
            if self.tls.is_some() && !is_secure(e) {
                return Err(plaintext(e));
            }
        }
        let list = |v: &[String]| serde_json::to_string(v).unwrap_or_default();
        if !self.listen.is_empty() || self.config_file.is_none() {
            out.push(("listen/endpoints", list(&self.listen)));
        }
        if !self.connect.is_empty() || self.config_file.is_none() {
            out.push(("connect/endpoints", list(&self.connect)));
        }
        out.push(("scouting/multicast/enabled", self.multicast.to_string()));
        if let Some(tls) = &self.tls {
            out.extend(tls_settings(tls));
        }
        Ok(out)
    }
}

/// `proto/address` with a known protocol.
pub fn check_endpoint(e: &str) -> Result<(), ConfigError> {
    let bad = |m: &str| ConfigError { key: "endpoint".to_owned(), message: format!("`{e}`: {m}") };
    let (proto, addr) = e.split_once('/').ok_or_else(|| bad("expected proto/address, e.g. tcp/127.0.0.1:7447"))?;
    if !matches!(proto, "tcp" | "udp" | "tls" | "quic" | "ws" | "unixsock-stream") {
        return Err(bad("unknown protocol"));
    }
    if addr.is_empty() {
        return Err(bad("no address"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_check_endpoints_and_keep_the_file_lists() {
        let net = NetConfig { listen: vec!["tcp/127.0.0.1:0".into()], ..Default::default() };
        let s = net.settings().unwrap();
        assert_eq!(s[0], ("mode", "\"peer\"".to_owned()));
        assert!(s.contains(&("listen/endpoints", r#"["tcp/127.0.0.1:0"]"#.to_owned())));
        assert!(s.contains(&("connect/endpoints", "[]".to_owned())));
        assert!(s.contains(&("scouting/multicast/enabled", "false".to_owned())));
        // With a config file, empty lists leave the file's endpoints alone.
        let with_file = NetConfig { mode: Mode::Client, config_file: Some("z.json5".into()), ..Default::default() };
        let s = with_file.settings().unwrap();
        assert_eq!(s[0], ("mode", "\"client\"".to_owned()));
        assert!(s.iter().all(|(k, _)| !k.ends_with("endpoints")));
        let err = NetConfig { connect: vec!["127.0.0.1:7447".into()], ..Default::default() }.settings().unwrap_err();
        assert!(err.to_string().contains("127.0.0.1:7447"), "{err}");
        for bad in ["carrier/x:1", "tcp/"] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
        assert!("router".parse::<Mode>().is_err());
        assert_eq!("client".parse::<Mode>(), Ok(Mode::Client));
    }

    fn files() -> TlsFiles {
        TlsFiles { ca: "/site/ca.pem".into(), cert: "/site/cam1.pem".into(), key: "/site/cam1.key".into() }
    }

    #[test]
    fn tls_refuses_plaintext_and_sets_mutual_tls() {
        let net = NetConfig::client_default().with_tls(files());
        assert_eq!(net.connect, vec![DEFAULT_TLS_ENDPOINT.to_owned()]);
        let s = net.settings().unwrap();
        let get = |k: &str| s.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone());
        assert_eq!(get("transport/link/tls/root_ca_certificate").as_deref(), Some(r#""/site/ca.pem""#));
        assert_eq!(get("transport/link/tls/connect_private_key").as_deref(), Some(r#""/site/cam1.key""#));
        assert_eq!(get("transport/link/tls/listen_certificate").as_deref(), Some(r#""/site/cam1.pem""#));
        assert_eq!(get("transport/link/tls/enable_mtls").as_deref(), Some("true"));
        // An explicit plaintext endpoint with TLS on is refused, naming it.
        let mixed = NetConfig { connect: vec!["tcp/10.0.0.5:7447".into()], ..Default::default() }.with_tls(files());
        let err = mixed.settings().unwrap_err().to_string();
        assert!(err.contains("tcp/10.0.0.5:7447") && err.contains("plaintext"), "{err}");
        // Without TLS no TLS keys are set.
        assert!(NetConfig::client_default().settings().unwrap().iter().all(|(k, _)| !k.contains("tls")));
        // The final configuration's lists (a config file's, per mode too) are checked the same way.
        assert!(check_secure(&[r#"["tls/0.0.0.0:7447"]"#, "[]"]).is_ok());
        let err = check_secure(&[r#"{"router": ["tls/a:1"], "peer": ["tcp/b:2"]}"#]).unwrap_err();
        assert!(err.to_string().contains("tcp/b:2"), "{err}");
    }
}
