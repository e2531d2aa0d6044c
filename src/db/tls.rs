//! TLS as libpq does it, with rustls (ring): `sslmode` disable / allow / prefer / require /
//! verify-ca / verify-full, `sslrootcert` (a file, or `system` for the operating system's
//! store), `sslcert` / `sslkey` client certificates.
//!
//! libpq's meanings: allow, prefer and require encrypt without checking the server's
//! certificate, unless a root certificate file exists (given, or ~/.postgresql/root.crt), in
//! which case the chain is checked as for verify-ca; verify-ca checks the chain to a trusted
//! root; verify-full also checks that the certificate names the host.

use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's six modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(s: &str) -> Result<SslMode, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "invalid sslmode value: \"{other}\" (use disable, allow, prefer, require, verify-ca or verify-full)"
                ));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Encrypt only (libpq's prefer/require without a root certificate).
    None,
    /// The chain to a trusted root, not the host name (verify-ca).
    Chain,
    /// The chain and the host name (verify-full).
    Full,
}

/// The TLS side of a connection, resolved from the libpq parameters.
#[derive(Clone)]
pub struct Tls {
    pub mode: SslMode,
    pub check: Check,
    pub connector: MakeRustlsConnect,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Resolves sslmode / sslrootcert / sslcert / sslkey (already layered) into a connector.
/// `home` locates libpq's defaults under ~/.postgresql/. Errors are one line naming the setting.
pub fn resolve(
    sslmode: Option<&str>,
    sslrootcert: Option<&str>,
    sslcert: Option<&str>,
    sslkey: Option<&str>,
    home: Option<&Path>,
) -> Result<Tls, String> {
    let system = sslrootcert == Some("system");
    let mode = match sslmode {
        Some(m) => SslMode::parse(m)?,
        // libpq: sslrootcert=system makes verify-full the default.
        None if system => SslMode::VerifyFull,
        None => SslMode::Prefer,
    };
    if system && mode != SslMode::VerifyFull {
        return Err(format!(
            "weak sslmode \"{}\" may not be used with sslrootcert=system (use \"verify-full\")",
            mode.as_str()
        ));
    }
    let dot = home.map(|h| h.join(".postgresql"));
    let (root_file, root_given) = match sslrootcert {
        Some("system") => (None, true),
        Some(path) => (Some(PathBuf::from(path)), true),
        None => (dot.as_ref().map(|d| d.join("root.crt")), false),
    };
    if mode == SslMode::Disable {
        return Ok(Tls {
            mode,
            check: Check::None,
            connector: connector(Verifier::Nothing, None)?,
        });
    }
    let root_file = root_file.filter(|f| root_given || f.exists());
    if let Some(f) = &root_file
        && !f.exists()
    {
        return Err(format!(
            "sslrootcert: root certificate file \"{}\" does not exist",
            f.display()
        ));
    }
    let check = match mode {
        SslMode::VerifyFull => Check::Full,
        SslMode::VerifyCa => Check::Chain,
        _ if root_file.is_some() => Check::Chain,
        _ => Check::None,
    };
    if check != Check::None && root_file.is_none() && !system {
        return Err(format!(
            "sslmode {}: no root certificate file \"{}\": give sslrootcert (a file, or \"system\" for the operating system's store), or use sslmode=require to encrypt without checking",
            mode.as_str(),
            dot.map(|d| d.join("root.crt").display().to_string())
                .unwrap_or_else(|| "~/.postgresql/root.crt".into())
        ));
    }
    let verifier = match (check, &root_file) {
        (Check::None, _) => Verifier::Nothing,
        (_, Some(file)) => Verifier::Roots(roots_from_file(file)?, check),
        (_, None) => Verifier::Roots(system_roots()?, check),
    };
    let client = client_cert(sslcert, sslkey, dot.as_deref())?;
    Ok(Tls {
        mode,
        check,
        connector: connector(verifier, client)?,
    })
}

fn roots_from_file(file: &Path) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| format!("sslrootcert: cannot read \"{}\": {e}", file.display()))?;
    for cert in certs {
        let cert =
            cert.map_err(|e| format!("sslrootcert: \"{}\" is not PEM: {e}", file.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("sslrootcert: \"{}\": {e}", file.display()))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "sslrootcert: \"{}\" holds no certificate",
            file.display()
        ));
    }
    Ok(roots)
}

fn system_roots() -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    // A malformed system certificate is skipped, as every TLS client does.
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err("sslrootcert=system: the operating system's certificate store is empty".into());
    }
    Ok(roots)
}

type ClientCert = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// The client certificate: given files must exist; libpq's defaults are used when present.
fn client_cert(
    sslcert: Option<&str>,
    sslkey: Option<&str>,
    dot: Option<&Path>,
) -> Result<Option<ClientCert>, String> {
    let cert = match sslcert {
        Some(c) => PathBuf::from(c),
        None => match dot.map(|d| d.join("postgresql.crt")).filter(|p| p.exists()) {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    if !cert.exists() {
        return Err(format!(
            "sslcert: certificate file \"{}\" does not exist",
            cert.display()
        ));
    }
    let key = match sslkey {
        Some(k) => PathBuf::from(k),
        None => cert.with_extension("key"),
    };
    if !key.exists() {
        return Err(format!(
            "sslkey: private key file \"{}\" does not exist",
            key.display()
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta =
            std::fs::metadata(&key).map_err(|e| format!("sslkey: \"{}\": {e}", key.display()))?;
        // libpq: 0600 or less, or 0640 when root owns the file.
        let mode = meta.permissions().mode() & 0o777;
        let loose = if meta.uid() == 0 {
            mode & 0o037 != 0
        } else {
            mode & 0o077 != 0
        };
        if loose {
            return Err(format!(
                "sslkey: private key file \"{}\" has group or world access; file must have permissions u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) or less if owned by root",
                key.display()
            ));
        }
    }
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("sslcert: cannot read \"{}\": {e}", cert.display()))?;
    let private = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| format!("sslkey: cannot read \"{}\": {e}", key.display()))?;
    Ok(Some((chain, private)))
}

enum Verifier {
    Nothing,
    Roots(rustls::RootCertStore, Check),
}

fn connector(verifier: Verifier, client: Option<ClientCert>) -> Result<MakeRustlsConnect, String> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match verifier {
        Verifier::Nothing => Arc::new(EncryptOnly {
            provider: provider.clone(),
        }),
        Verifier::Roots(roots, check) => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| format!("sslrootcert: {e}"))?;
            Arc::new(Chain {
                inner: webpki,
                check_name: check == Check::Full,
            })
        }
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match client {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("sslcert/sslkey: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// sslmode prefer/require without a root certificate: the handshake's signatures are checked
/// (the session is really encrypted with whoever holds the key), the certificate is not.
#[derive(Debug)]
struct EncryptOnly {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// verify-ca (chain only) and verify-full (chain and host name) over webpki.
#[derive(Debug)]
struct Chain {
    inner: Arc<WebPkiServerVerifier>,
    check_name: bool,
}

impl ServerCertVerifier for Chain {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            // webpki checks the name last, so this error means the chain itself is good.
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_one_line_naming_the_setting() {
        let home = tempfile::tempdir().unwrap();
        let h = Some(home.path());
        let err = |m, r, c, k| resolve(m, r, c, k, h).err().unwrap();
        assert!(
            err(Some("maybe"), None, None, None).starts_with("invalid sslmode value: \"maybe\"")
        );
        assert!(
            err(None, Some("/nope/ca.pem"), None, None)
                .starts_with("sslrootcert: root certificate file \"/nope/ca.pem\" does not exist")
        );
        assert!(
            err(Some("verify-ca"), None, None, None)
                .starts_with("sslmode verify-ca: no root certificate file")
        );
        assert!(
            err(Some("require"), Some("system"), None, None).contains("weak sslmode \"require\"")
        );
        assert!(
            err(Some("require"), None, Some("/nope/me.crt"), None)
                .starts_with("sslcert: certificate file \"/nope/me.crt\"")
        );
        let ok = resolve(None, None, None, None, h).ok().unwrap();
        assert_eq!((ok.mode, ok.check), (SslMode::Prefer, Check::None));
        let full = resolve(None, Some("system"), None, None, h).ok().unwrap();
        assert_eq!((full.mode, full.check), (SslMode::VerifyFull, Check::Full));
        // Disabled TLS reads no files at all.
        assert!(resolve(Some("disable"), Some("/nope"), None, None, h).is_ok());
    }
}
