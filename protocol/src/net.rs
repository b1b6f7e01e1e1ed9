//! How a gallery client, server or publisher joins the network: peer mode on loopback by default (multicast
//! scouting off), client mode to routers, explicit endpoints, and an optional Zenoh JSON5 config file for
//! everything else (access control, TLS; see `deploy/zenoh/` for an ACL that lets only named peers enrol or
//! forget). [`NetConfig::settings`] lists what a transport applies over that file; building the Zenoh
//! configuration itself happens where Zenoh is linked (`reid_gallery::net::ZenohConfig`, `reidpublish`).

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
        }
        let list = |v: &[String]| serde_json::to_string(v).unwrap_or_default();
        if !self.listen.is_empty() || self.config_file.is_none() {
            out.push(("listen/endpoints", list(&self.listen)));
        }
        if !self.connect.is_empty() || self.config_file.is_none() {
            out.push(("connect/endpoints", list(&self.connect)));
        }
        out.push(("scouting/multicast/enabled", self.multicast.to_string()));
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
}
