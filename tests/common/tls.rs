//! Servers of their own for connection tests: a throwaway CA (rcgen) and a cluster listening on
//! TCP localhost with ssl=on, certificate logins for the members of `certusers`, SCRAM for the
//! rest and plain TCP refused; a standby streaming from a primary. Each is stopped on drop.
#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use tickets::db::cluster::{Cluster, Setup};

/// A certificate authority made for one test.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    pub fn write_root(&self, path: &Path) {
        std::fs::write(path, self.issuer.pem()).unwrap();
    }

    /// A certificate for `names` (DNS names or IP addresses) with common name `cn`, written to
    /// `cert` and `key` (the key 0600, as libpq and the server demand).
    pub fn issue(&self, cn: &str, names: &[&str], cert: &Path, key: &Path) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        let pair = KeyPair::generate().unwrap();
        let signed = params.signed_by(&pair, &self.issuer).unwrap();
        std::fs::write(cert, signed.pem()).unwrap();
        write_private(key, &pair.serialize_pem());
    }
}

pub fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A free TCP port on localhost (free when asked; good enough for a test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A cluster of its own, stopped and removed on drop.
pub struct OwnServer {
    pub cluster: Cluster,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.cluster.stop("immediate");
    }
}

impl OwnServer {
    pub fn start(setup: &Setup) -> OwnServer {
        let dir = tempfile::Builder::new()
            .prefix("tickets-own-")
            .tempdir()
            .unwrap();
        OwnServer::start_in(dir, setup, |_| {})
    }

    /// Starts a cluster in `dir`, letting `prepare` put files there first.
    pub fn start_in(
        dir: tempfile::TempDir,
        setup: &Setup,
        prepare: impl FnOnce(&Path),
    ) -> OwnServer {
        prepare(dir.path());
        let port = free_port();
        let cluster = Cluster::start_with(dir.path(), port, setup)
            .unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
        OwnServer { cluster, dir, port }
    }

    /// The superuser over the socket.
    pub fn superuser_conninfo(&self, dbname: &str) -> String {
        self.cluster.conninfo("postgres", dbname)
    }

    pub async fn superuser(&self, dbname: &str) -> tokio_postgres::Client {
        tickets::db::connect(&self.superuser_conninfo(dbname), "tickets-test")
            .await
            .unwrap_or_else(|e| panic!("superuser connection: {e}"))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

/// A TLS server: `ca.crt` signs its certificate (for localhost only, not 127.0.0.1) and the
/// clients' ones; members of `certusers` log in with a certificate, others with SCRAM, over
/// TLS only.
pub struct TlsServer {
    pub server: OwnServer,
    pub ca: Ca,
    /// Where the client-side files go (the CA's root, client certificates).
    pub files: tempfile::TempDir,
}

impl TlsServer {
    pub fn start() -> TlsServer {
        let ca = Ca::new("tickets test CA");
        let dir = tempfile::Builder::new()
            .prefix("tickets-tls-")
            .tempdir()
            .unwrap();
        let setup = Setup {
            listen: "127.0.0.1".into(),
            settings: vec![
                "ssl=on".into(),
                format!("ssl_cert_file={}", dir.path().join("server.crt").display()),
                format!("ssl_key_file={}", dir.path().join("server.key").display()),
                format!("ssl_ca_file={}", dir.path().join("ca.crt").display()),
            ],
            hba: "hostssl all +certusers 127.0.0.1/32 cert\n\
                  hostssl all all 127.0.0.1/32 scram-sha-256\n\
                  hostnossl all all 127.0.0.1/32 reject\n"
                .into(),
            ..Default::default()
        };
        let server = OwnServer::start_in(dir, &setup, |d| {
            ca.issue(
                "localhost",
                &["localhost"],
                &d.join("server.crt"),
                &d.join("server.key"),
            );
            ca.write_root(&d.join("ca.crt"));
        });
        let files = tempfile::tempdir().unwrap();
        ca.write_root(&files.path().join("root.crt"));
        TlsServer { server, ca, files }
    }

    pub fn root(&self) -> PathBuf {
        self.files.path().join("root.crt")
    }

    /// A client certificate for `login`, signed by the server's CA: (cert, key).
    pub fn client_cert(&self, login: &str) -> (PathBuf, PathBuf) {
        let cert = self.files.path().join(format!("{login}.crt"));
        let key = self.files.path().join(format!("{login}.key"));
        self.ca.issue(login, &[], &cert, &key);
        (cert, key)
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }
}
