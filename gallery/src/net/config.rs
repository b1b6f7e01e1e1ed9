//! How the gallery joins Zenoh: the protocol's network options ([`NetConfig`]: peer mode on loopback by default,
//! client mode to routers, explicit endpoints, an optional Zenoh JSON5 config file for access control and TLS —
//! see `deploy/zenoh/` for an ACL that lets only named peers enrol or forget) turned into a `zenoh::Config`.

use super::NetError;
pub use reid_protocol::net::{DEFAULT_ENDPOINT, Mode, NetConfig};

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
        Ok(config)
    }
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
