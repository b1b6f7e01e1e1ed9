//! How the gallery joins Zenoh: peer mode on loopback by default (multicast scouting off), client mode to
//! routers, explicit endpoints, and an optional Zenoh JSON5 config file for everything else (access control,
//! TLS) — see `deploy/zenoh/` for an ACL that lets only named peers enrol or forget.

use super::NetError;
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

    /// The Zenoh configuration.
    pub fn to_zenoh(&self) -> Result<zenoh::Config, NetError> {
        let mut config = match &self.config_file {
            Some(path) => zenoh::Config::from_file(path)
                .map_err(|e| NetError::Config { key: path.display().to_string(), message: e.to_string() })?,
            None => zenoh::Config::default(),
        };
        let set = |config: &mut zenoh::Config, key: &str, value: String| {
            config
                .insert_json5(key, &value)
                .map_err(|e| NetError::Config { key: key.to_owned(), message: e.to_string() })
        };
        let mode = match self.mode {
            Mode::Peer => "\"peer\"",
            Mode::Client => "\"client\"",
        };
        set(&mut config, "mode", mode.to_owned())?;
        for e in self.listen.iter().chain(&self.connect) {
            check_endpoint(e)?;
        }
        if !self.listen.is_empty() || self.config_file.is_none() {
            set(&mut config, "listen/endpoints", serde_json::to_string(&self.listen).unwrap_or_default())?;
        }
        if !self.connect.is_empty() || self.config_file.is_none() {
            set(&mut config, "connect/endpoints", serde_json::to_string(&self.connect).unwrap_or_default())?;
        }
        set(&mut config, "scouting/multicast/enabled", self.multicast.to_string())?;
        Ok(config)
    }
}

/// `proto/address` with a known protocol.
fn check_endpoint(e: &str) -> Result<(), NetError> {
    let bad = |m: &str| NetError::Config { key: "endpoint".to_owned(), message: format!("`{e}`: {m}") };
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
    fn endpoints_and_modes_are_checked() {
        assert!(NetConfig { listen: vec!["tcp/127.0.0.1:0".into()], ..Default::default() }.to_zenoh().is_ok());
        let err = NetConfig { connect: vec!["127.0.0.1:7447".into()], ..Default::default() }.to_zenoh().unwrap_err();
        assert!(err.to_string().contains("127.0.0.1:7447"), "{err}");
        assert!("router".parse::<Mode>().is_err());
        let missing = NetConfig { config_file: Some("/nonexistent/zenoh.json5".into()), ..Default::default() };
        assert!(missing.to_zenoh().unwrap_err().to_string().contains("/nonexistent/zenoh.json5"));
    }
}
