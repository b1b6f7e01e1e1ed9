//! Site certificates for the gallery's mutual TLS (`reid gallery certs`): a certificate authority per site, a
//! server certificate (its host names and addresses as subject alternative names, which clients verify), one
//! certificate per client whose common name is its identity in the access-control rules, and a Zenoh config that
//! turns TLS and those rules on ([`acl_json5`]): everyone with a certificate from the CA may look up and read
//! statistics; only `camera` clients may stream embeddings; only `admin` clients may enrol and forget.
//!
//! Keys are ECDSA P-256 (rcgen with ring, as Zenoh's rustls uses); private keys are written with mode 0600. Running
//! again on the same folder keeps the CA and every existing certificate and adds the new clients (the rules are
//! rewritten from `site.json`, the list of clients and roles).

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use reid_protocol::net::TlsFiles;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Certificate generation failures, naming the file or name involved.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A name or setting cannot be used.
    #[error("{what}: {message}")]
    Invalid {
        /// The name or setting.
        what: String,
        /// Why.
        message: String,
    },
    /// rcgen refused.
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
}

/// What a client certificate may do (the access-control subject it belongs to).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Look up, read statistics, stream, enrol and forget.
    Admin,
    /// Look up, read statistics and stream embeddings (`<prefix>/embeddings/**`).
    Camera,
    /// Look up and read statistics only.
    Reader,
}

/// A site to make or extend.
#[derive(Clone, Debug)]
pub struct SitePlan {
    /// Site name (the CA's organisation and common name).
    pub site: String,
    /// The gallery server's common name.
    pub server: String,
    /// Host names and IP addresses clients use to reach the server (its subject alternative names).
    pub hosts: Vec<String>,
    /// Clients to add, with their roles.
    pub clients: Vec<(String, Role)>,
    /// Validity of new certificates, in days.
    pub days: u32,
    /// Zenoh key prefix the access-control rules cover.
    pub prefix: String,
}

impl SitePlan {
    /// The server certificate's subject alternative names: `hosts`, then localhost, 127.0.0.1 and ::1.
    pub fn server_names(&self) -> Vec<String> {
        let mut names = self.hosts.clone();
        for default in ["localhost", "127.0.0.1", "::1"] {
            if !names.iter().any(|h| h == default) {
                names.push(default.to_owned());
            }
        }
        names
    }
}

/// What [`make_site`] left in the folder.
#[derive(Clone, Debug)]
pub struct SiteFiles {
    /// The folder.
    pub dir: PathBuf,
    /// The Zenoh config with TLS and the access-control rules (for `reid gallery serve --zenoh-config`).
    pub gallery_config: PathBuf,
    /// Files written this time.
    pub written: Vec<PathBuf>,
    /// Certificates that existed and were kept.
    pub kept: Vec<PathBuf>,
}

impl SiteFiles {
    /// The CA, certificate and key files of `name` (the server or a client).
    pub fn tls(&self, name: &str) -> TlsFiles {
        TlsFiles {
            ca: self.dir.join("ca.pem"),
            cert: self.dir.join(format!("{name}.pem")),
            key: self.dir.join(format!("{name}.key")),
        }
    }
}

/// `site.json`: the site's clients and roles, from which the rules are written.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Manifest {
    site: String,
    prefix: String,
    server: String,
    clients: BTreeMap<String, Role>,
}

/// A certificate authority able to sign.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    key_pem: String,
}

/// A certificate and its private key, PEM.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// The private key (PKCS#8).
    pub key_pem: String,
}

fn at(unix_s: i64) -> Result<OffsetDateTime, CertError> {
    OffsetDateTime::from_unix_timestamp(unix_s)
        .map_err(|e| CertError::Invalid { what: "validity".into(), message: e.to_string() })
}

/// A name usable as a common name, file name and DNS name: 1-64 of `A-Z a-z 0-9 . _ -`, not starting with `.`.
pub fn check_name(what: &str, name: &str) -> Result<(), CertError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(CertError::Invalid {
            what: what.to_owned(),
            message: format!(
                "`{}` must be 1-64 letters, digits, `.`, `_` or `-` (not starting with `.`)",
                reid_protocol::error::clip(name, 64)
            ),
        })
    }
}

impl Ca {
    /// A new CA for `site`, valid from `not_before` to `not_after` (seconds since the Unix epoch).
    pub fn generate(site: &str, not_before: i64, not_after: i64) -> Result<Ca, CertError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("{site} reid CA"));
        dn.push(DnType::OrganizationName, site);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.not_before = at(not_before)?;
        params.not_after = at(not_after)?;
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        let key_pem = key.serialize_pem();
        Ok(Ca { cert_pem: cert.pem(), key_pem, issuer: Issuer::new(params, key) })
    }

    /// An existing CA from its certificate and key (PEM).
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<Ca, CertError> {
        let key = KeyPair::from_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)?;
        Ok(Ca { issuer, cert_pem: cert_pem.to_owned(), key_pem: key_pem.to_owned() })
    }

    /// The CA certificate (PEM).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Signs a certificate for `name` (its common name) with subject alternative names `sans` (host names or IP
    /// addresses), usable both to serve and to connect, valid from `not_before` to `not_after`.
    pub fn issue(&self, name: &str, sans: &[String], not_before: i64, not_after: i64) -> Result<Issued, CertError> {
        check_name("name", name)?;
        let mut params = CertificateParams::new(sans.to_vec())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = at(not_before)?;
        params.not_after = at(not_after)?;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Issued { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename (mode 0600 when `secret`).
pub fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), CertError> {
    let fail = |e: std::io::Error| CertError::File { path: path.to_owned(), message: e.to_string() };
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(&tmp).map_err(fail)?;
    file.write_all(bytes).and_then(|_| file.sync_all()).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

fn read(path: &Path) -> Result<String, CertError> {
    std::fs::read_to_string(path).map_err(|e| CertError::File { path: path.to_owned(), message: e.to_string() })
}

/// The Zenoh config (JSON5) of a gallery server of this site: mutual TLS with the site's files and access control
/// by certificate common name. Also usable on a router (the server's own name is a subject, so enrolments and
/// streams may be forwarded to it).
pub fn acl_json5(dir: &Path, prefix: &str, server: &str, clients: &BTreeMap<String, Role>) -> String {
    let names = |roles: &[Role]| -> Vec<String> {
        let mut v: Vec<String> = clients.iter().filter(|(_, r)| roles.contains(r)).map(|(n, _)| n.clone()).collect();
        v.push(server.to_owned());
        v
    };
    let file = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let config = serde_json::json!({
        "transport": { "link": { "tls": {
            "root_ca_certificate": file("ca.pem"),
            "listen_certificate": file(&format!("{server}.pem")),
            "listen_private_key": file(&format!("{server}.key")),
            "connect_certificate": file(&format!("{server}.pem")),
            "connect_private_key": file(&format!("{server}.key")),
            "enable_mtls": true,
            "verify_name_on_connect": true,
            "close_link_on_expiration": true,
        }}},
        "access_control": {
            "enabled": true,
            "default_permission": "deny",
            "rules": [
                {
                    "id": "declarations",
                    "messages": ["declare_queryable", "declare_subscriber", "liveliness_token",
                                 "declare_liveliness_subscriber", "liveliness_query"],
                    "flows": ["ingress", "egress"],
                    "permission": "allow",
                    "key_exprs": [format!("{prefix}/**")],
                },
                {
                    "id": "lookups",
                    "messages": ["query", "reply", "put"],
                    "flows": ["ingress", "egress"],
                    "permission": "allow",
                    "key_exprs": [format!("{prefix}/gallery/*/query"), format!("{prefix}/gallery/*/stats"),
                                  format!("{prefix}/gallery/*/identified/**")],
                },
                {
                    "id": "streams",
                    "messages": ["put"],
                    "flows": ["ingress", "egress"],
                    "permission": "allow",
                    "key_exprs": [format!("{prefix}/embeddings/**")],
                },
                {
                    "id": "changes",
                    "messages": ["query", "reply"],
                    "flows": ["ingress", "egress"],
                    "permission": "allow",
                    "key_exprs": [format!("{prefix}/gallery/*/enroll"), format!("{prefix}/gallery/*/forget")],
                },
            ],
            "subjects": [
                { "id": "site" },
                { "id": "streamers", "cert_common_names": names(&[Role::Camera, Role::Admin]) },
                { "id": "admins", "cert_common_names": names(&[Role::Admin]) },
            ],
            "policies": [
                { "rules": ["declarations", "lookups"], "subjects": ["site"] },
                { "rules": ["streams"], "subjects": ["streamers"] },
                { "rules": ["changes"], "subjects": ["admins"] },
            ],
        },
    });
    let body = serde_json::to_string_pretty(&config).unwrap_or_default();
    format!(
        "// Made by `reid gallery certs`: mutual TLS with this site's CA and access control by certificate common name.\n\
         // Every peer with a certificate from the CA may look up and read statistics; `streamers` may publish\n\
         // embeddings; `admins` may enrol and forget. Serve with:\n\
         //   reid gallery serve --db gallery.redb --zenoh-config {} --listen tls/0.0.0.0:7447\n{body}\n",
        dir.join("gallery.json5").display()
    )
}

/// Makes (or extends) a site's certificates in `dir`: `ca.pem`/`ca.key`, `<server>.pem/.key`, `<client>.pem/.key`,
/// `site.json` and `gallery.json5` ([`acl_json5`]). Existing certificates are kept; `now` is seconds since the epoch.
pub fn make_site(dir: &Path, plan: &SitePlan, now: i64) -> Result<SiteFiles, CertError> {
    check_name("--site", &plan.site)?;
    check_name("--server-name", &plan.server)?;
    for (name, _) in &plan.clients {
        check_name("client", name)?;
        if name == &plan.server || name == "ca" {
            return Err(CertError::Invalid {
                what: "client".into(),
                message: format!("`{name}` is reserved (the CA's or the server's files)"),
            });
        }
    }
    if plan.days == 0 {
        return Err(CertError::Invalid { what: "--days".into(), message: "must be at least 1".into() });
    }
    reid_protocol::keys::check_chunks("--prefix", &plan.prefix)
        .map_err(|e| CertError::Invalid { what: "--prefix".into(), message: e.to_string() })?;
    std::fs::create_dir_all(dir).map_err(|e| CertError::File { path: dir.to_owned(), message: e.to_string() })?;
    let dir = dir.canonicalize().map_err(|e| CertError::File { path: dir.to_owned(), message: e.to_string() })?;
    let (mut written, mut kept) = (Vec::new(), Vec::new());
    let (ca_pem, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    let not_before = now - 3600;
    let not_after = now + i64::from(plan.days) * 86_400;
    let ca = if ca_pem.exists() && ca_key.exists() {
        kept.push(ca_pem.clone());
        Ca::load(&read(&ca_pem)?, &read(&ca_key)?).map_err(|e| CertError::File {
            path: ca_pem.clone(),
            message: format!("cannot load the site CA with ca.key: {e}"),
        })?
    } else {
        let ca = Ca::generate(&plan.site, not_before, now + i64::from(plan.days.max(3650)) * 86_400)?;
        write_file(&ca_key, ca.key_pem.as_bytes(), true)?;
        write_file(&ca_pem, ca.cert_pem.as_bytes(), false)?;
        written.extend([ca_pem.clone(), ca_key.clone()]);
        ca
    };
    let manifest_path = dir.join("site.json");
    let mut manifest: Manifest = if manifest_path.exists() {
        serde_json::from_str(&read(&manifest_path)?)
            .map_err(|e| CertError::File { path: manifest_path.clone(), message: e.to_string() })?
    } else {
        Manifest {
            site: plan.site.clone(),
            prefix: plan.prefix.clone(),
            server: plan.server.clone(),
            ..Default::default()
        }
    };
    if manifest.server != plan.server {
        return Err(CertError::Invalid {
            what: "--server-name".into(),
            message: format!("this site's server is `{}` (site.json)", manifest.server),
        });
    }
    manifest.prefix = plan.prefix.clone();
    let sans = plan.server_names();
    let mut issue = |name: &str, sans: &[String]| -> Result<(), CertError> {
        let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
        if cert.exists() && key.exists() {
            kept.push(cert);
            return Ok(());
        }
        let issued = ca.issue(name, sans, not_before, not_after)?;
        write_file(&key, issued.key_pem.as_bytes(), true)?;
        write_file(&cert, issued.cert_pem.as_bytes(), false)?;
        written.extend([cert, key]);
        Ok(())
    };
    issue(&plan.server, &sans)?;
    for (name, role) in &plan.clients {
        issue(name, std::slice::from_ref(name))?;
        manifest.clients.insert(name.clone(), *role);
    }
    let manifest_json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    write_file(&manifest_path, &manifest_json, false)?;
    let gallery_config = dir.join("gallery.json5");
    write_file(
        &gallery_config,
        acl_json5(&dir, &manifest.prefix, &manifest.server, &manifest.clients).as_bytes(),
        false,
    )?;
    written.extend([manifest_path, gallery_config.clone()]);
    Ok(SiteFiles { dir, gallery_config, written, kept })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reid_protocol::tls;

    #[test]
    fn a_site_has_a_ca_signed_certificates_and_rules_by_common_name() {
        let dir = tempfile::tempdir().unwrap();
        let now = tls::now_s();
        let plan = SitePlan {
            site: "lobby".into(),
            server: "gallery".into(),
            hosts: vec!["gallery.lan".into()],
            clients: vec![("cam1".into(), Role::Camera), ("admin".into(), Role::Admin), ("dash".into(), Role::Reader)],
            days: 30,
            prefix: "reid".into(),
        };
        let site = make_site(dir.path(), &plan, now).unwrap();
        let ca = tls::read_certificate(&site.dir.join("ca.pem"), now).unwrap();
        assert!(ca.is_ca);
        let admin = tls::check_files(&site.tls("admin"), now).unwrap();
        assert_eq!(admin.common_name, "admin");
        assert!(!admin.is_ca);
        assert!((admin.not_after - now - 30 * 86_400).abs() < 5, "{}", admin.not_after - now);
        let config = std::fs::read_to_string(&site.gallery_config).unwrap();
        let body: String = config.lines().filter(|l| !l.starts_with("//")).collect::<Vec<_>>().join("\n");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let subjects = &v["access_control"]["subjects"];
        assert_eq!(subjects[1]["cert_common_names"], serde_json::json!(["admin", "cam1", "gallery"]));
        assert_eq!(subjects[2]["cert_common_names"], serde_json::json!(["admin", "gallery"]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(site.dir.join("admin.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Again with one more client: the CA and existing certificates are kept, the rules name the new one.
        let before = std::fs::read(site.dir.join("cam1.pem")).unwrap();
        let more = SitePlan { clients: vec![("cam2".into(), Role::Camera)], ..plan.clone() };
        let again = make_site(dir.path(), &more, now).unwrap();
        assert_eq!(std::fs::read(site.dir.join("cam1.pem")).unwrap(), before);
        assert!(again.kept.contains(&site.dir.join("ca.pem")));
        let config = std::fs::read_to_string(&again.gallery_config).unwrap();
        assert!(config.contains("\"cam2\"") && config.contains("\"cam1\""), "{config}");
        // Names that would break a file name or a rule are refused, naming them.
        let bad = SitePlan { clients: vec![("../x".into(), Role::Reader)], ..plan.clone() };
        assert!(make_site(dir.path(), &bad, now).unwrap_err().to_string().contains("../x"));
        let reserved = SitePlan { clients: vec![("ca".into(), Role::Reader)], ..plan };
        assert!(make_site(dir.path(), &reserved, now).unwrap_err().to_string().contains("reserved"));
    }

    #[test]
    fn expired_and_not_pem_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let now = tls::now_s();
        let ca = Ca::generate("old", now - 400 * 86_400, now + 86_400).unwrap();
        let old = ca.issue("cam9", &["cam9".into()], now - 400 * 86_400, now - 86_400).unwrap();
        let path = dir.path().join("cam9.pem");
        std::fs::write(&path, &old.cert_pem).unwrap();
        let err = tls::read_certificate(&path, now).unwrap_err().to_string();
        assert!(err.contains("cam9.pem") && err.contains("expired"), "{err}");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, b"this is not a certificate\n").unwrap();
        let err = tls::read_certificate(&junk, now).unwrap_err().to_string();
        assert!(err.contains("junk.pem") && err.contains("not PEM"), "{err}");
        // A key file holding a certificate is refused as a key.
        let err = tls::check_private_key(&path).unwrap_err().to_string();
        assert!(err.contains("PRIVATE KEY") && err.contains("CERTIFICATE"), "{err}");
        // A leaf certificate given as the CA is refused.
        std::fs::write(dir.path().join("cam9.key"), &old.key_pem).unwrap();
        let fresh = ca.issue("cam8", &["cam8".into()], now - 60, now + 86_400).unwrap();
        std::fs::write(dir.path().join("cam8.pem"), &fresh.cert_pem).unwrap();
        std::fs::write(dir.path().join("cam8.key"), &fresh.key_pem).unwrap();
        let files = TlsFiles {
            ca: dir.path().join("cam8.pem"),
            cert: dir.path().join("cam8.pem"),
            key: dir.path().join("cam8.key"),
        };
        assert!(tls::check_files(&files, now).unwrap_err().to_string().contains("not a certificate authority"));
    }
}
