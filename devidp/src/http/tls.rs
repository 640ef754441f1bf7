//! HTTPS for the dev servers: the certificate the caller gives (made by `rcgen` in a test,
//! say), and optionally client certificates verified against the caller's CA, for tokens
//! bound to a certificate (RFC 8705).

use std::io;
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

pub use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A server certificate with its key, and whether clients are asked for theirs.
#[derive(Debug)]
pub struct ServerTls {
    certificate_chain: Vec<CertificateDer<'static>>,
    private_key: PrivateKeyDer<'static>,
    client_certificates: ClientCertificates,
}

#[derive(Debug, Clone)]
enum ClientCertificates {
    NotAsked,
    /// Asked for, and verified against `roots` when sent.
    Verified {
        roots: Vec<CertificateDer<'static>>,
        required: bool,
    },
}

impl ServerTls {
    /// Serves `certificate_chain` (the server's certificate first, then any intermediates)
    /// with its `private_key`; clients are not asked for certificates.
    pub fn new(
        certificate_chain: Vec<CertificateDer<'static>>,
        private_key: PrivateKeyDer<'static>,
    ) -> ServerTls {
        ServerTls {
            certificate_chain,
            private_key,
            client_certificates: ClientCertificates::NotAsked,
        }
    }

    /// The same from PEM: one or more certificates, and a PKCS#8, SEC1 or PKCS#1 key.
    pub fn from_pem(certificate_chain: &[u8], private_key: &[u8]) -> io::Result<ServerTls> {
        let chain = certificates_from_pem(certificate_chain)
            .map_err(|e| invalid(format!("server certificate {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(private_key)
            .map_err(|e| invalid(format!("server key PEM: {e}")))?;
        Ok(ServerTls::new(chain, key))
    }

    /// Asks every client for a certificate and verifies one that is sent against `roots`;
    /// a client that sends none is served all the same, its requests without
    /// [`HttpRequest::client_certificate`](super::HttpRequest::client_certificate).
    pub fn optional_client_certificates(self, roots: Vec<CertificateDer<'static>>) -> ServerTls {
        self.client_certificates(roots, false)
    }

    /// Like [`ServerTls::optional_client_certificates`], and refuses the handshake of a
    /// client that sends none.
    pub fn required_client_certificates(self, roots: Vec<CertificateDer<'static>>) -> ServerTls {
        self.client_certificates(roots, true)
    }

    fn client_certificates(self, roots: Vec<CertificateDer<'static>>, required: bool) -> Self {
        ServerTls {
            client_certificates: ClientCertificates::Verified { roots, required },
            ..self
        }
    }

    /// The rustls acceptor, on the `ring` provider; a bad certificate, key or root is an
    /// `InvalidInput` error.
    pub(super) fn acceptor(&self) -> io::Result<TlsAcceptor> {
        let provider = Arc::new(ring::default_provider());
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS versions: {e}")))?;
        let builder = match &self.client_certificates {
            ClientCertificates::NotAsked => builder.with_no_client_auth(),
            ClientCertificates::Verified { roots, required } => {
                builder.with_client_cert_verifier(client_verifier(roots, *required, provider)?)
            }
        };
        let mut config = builder
            .with_single_cert(self.certificate_chain.clone(), self.private_key.clone_key())
            .map_err(|e| invalid(format!("server certificate and key: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

impl Clone for ServerTls {
    fn clone(&self) -> Self {
        ServerTls {
            certificate_chain: self.certificate_chain.clone(),
            private_key: self.private_key.clone_key(),
            client_certificates: self.client_certificates.clone(),
        }
    }
}

/// Every certificate of a PEM file (at least one), for a chain or for client roots.
pub fn certificates_from_pem(pem: &[u8]) -> io::Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("PEM: {e}")))?;
    if certificates.is_empty() {
        return Err(invalid("PEM: no certificate".into()));
    }
    Ok(certificates)
}

fn client_verifier(
    roots: &[CertificateDer<'static>],
    required: bool,
    provider: Arc<CryptoProvider>,
) -> io::Result<Arc<dyn rustls::server::danger::ClientCertVerifier>> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store
            .add(root.clone())
            .map_err(|e| invalid(format!("client certificate root: {e}")))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(store), provider);
    let verifier = if required {
        verifier
    } else {
        verifier.allow_unauthenticated()
    };
    verifier
        .build()
        .map_err(|e| invalid(format!("client certificate roots: {e}")))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_pki::{TestPki, tls_exchange};
    use crate::http::{HttpRequest, HttpResponse, Reply, ServerOptions, serve_listener};
    use sha2::{Digest, Sha256};
    use std::net::TcpListener;

    const GET: &[u8] = b"GET /whoami HTTP/1.1\r\nHost: localhost\r\n\r\n";

    /// An HTTPS server that answers with the SHA-256 (hex) of the client certificate it
    /// sees, or `none`.
    fn whoami(tls: ServerTls) -> crate::http::HttpServer {
        let handler = |request: &HttpRequest| {
            let seen = request
                .client_certificate()
                .map_or("none".to_owned(), |der| hex(&Sha256::digest(der)));
            Reply::Respond(HttpResponse::json(200, &serde_json::json!({"cert": seen})))
        };
        let options = ServerOptions {
            tls: Some(tls),
            ..ServerOptions::default()
        };
        serve_listener(TcpListener::bind("127.0.0.1:0").unwrap(), handler, options).unwrap()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn seen_certificate(answer: &str) -> String {
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        let (_, body) = answer.split_once("\r\n\r\n").unwrap();
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        body["cert"].as_str().unwrap().to_owned()
    }

    #[test]
    fn https_without_client_certificates() {
        let pki = TestPki::new("test CA");
        let server = whoami(pki.server_tls());
        assert_eq!(server.base_url(), format!("https://{}/", server.addr()));
        let answer = tls_exchange(server.addr(), &pki.ca(), None, GET).unwrap();
        assert_eq!(seen_certificate(&answer), "none");
        let client = pki.issue("client", &[]);
        let answer = tls_exchange(server.addr(), &pki.ca(), Some(client), GET).unwrap();
        assert_eq!(seen_certificate(&answer), "none", "not asked, not seen");
    }

    #[test]
    fn optional_client_certificate_is_seen_when_sent() {
        let pki = TestPki::new("test CA");
        let server = whoami(
            pki.server_tls()
                .optional_client_certificates(vec![pki.ca()]),
        );
        let client = pki.issue("client", &[]);
        let digest = hex(&Sha256::digest(&client.0[0]));
        let answer = tls_exchange(server.addr(), &pki.ca(), Some(client), GET).unwrap();
        assert_eq!(seen_certificate(&answer), digest);
        let answer = tls_exchange(server.addr(), &pki.ca(), None, GET).unwrap();
        assert_eq!(seen_certificate(&answer), "none");
    }

    #[test]
    fn client_certificate_from_another_ca_is_refused() {
        let pki = TestPki::new("test CA");
        let server = whoami(
            pki.server_tls()
                .optional_client_certificates(vec![pki.ca()]),
        );
        let stranger = TestPki::new("other CA").issue("client", &[]);
        let refused = tls_exchange(server.addr(), &pki.ca(), Some(stranger), GET);
        let error = refused.unwrap_err().to_string();
        assert!(error.contains("UnknownCA"), "{error}");
    }

    #[test]
    fn required_client_certificate_refuses_a_client_without_one() {
        let pki = TestPki::new("test CA");
        let server = whoami(
            pki.server_tls()
                .required_client_certificates(vec![pki.ca()]),
        );
        let refused = tls_exchange(server.addr(), &pki.ca(), None, GET);
        let error = refused.unwrap_err().to_string();
        assert!(error.contains("CertificateRequired"), "{error}");
        let client = pki.issue("client", &[]);
        let digest = hex(&Sha256::digest(&client.0[0]));
        let answer = tls_exchange(server.addr(), &pki.ca(), Some(client), GET).unwrap();
        assert_eq!(seen_certificate(&answer), digest);
    }

    #[test]
    fn plain_http_to_a_tls_server_gets_no_answer() {
        let pki = TestPki::new("test CA");
        let server = whoami(pki.server_tls());
        let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
        std::io::Write::write_all(&mut stream, GET).unwrap();
        let mut answer = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stream, &mut answer);
        assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));
    }

    #[test]
    fn pem_certificate_and_key_are_read() {
        let pki = TestPki::new("test CA");
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        let certificate = params.self_signed(&key).unwrap();
        let tls = ServerTls::from_pem(certificate.pem().as_bytes(), key.serialize_pem().as_bytes())
            .unwrap();
        let tls = tls
            .optional_client_certificates(certificates_from_pem(pki.ca_pem().as_bytes()).unwrap());
        let server = whoami(tls);
        let answer = tls_exchange(server.addr(), certificate.der(), None, GET).unwrap();
        assert_eq!(seen_certificate(&answer), "none");
    }

    #[test]
    fn bad_pem_and_mismatched_keys_are_clear_errors() {
        let error = ServerTls::from_pem(b"not pem", b"").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(error.to_string(), "server certificate PEM: no certificate");
        let pki = TestPki::new("test CA");
        let (chain, _) = pki.issue("a", &["localhost"]);
        let (_, other_key) = pki.issue("b", &["localhost"]);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let options = ServerOptions {
            tls: Some(ServerTls::new(chain, other_key)),
            ..ServerOptions::default()
        };
        let handler = |_: &HttpRequest| Reply::Close;
        let error = serve_listener(listener, handler, options).err().unwrap();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(
            error
                .to_string()
                .starts_with("server certificate and key: "),
            "{error}"
        );
    }
}
