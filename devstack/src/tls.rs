//! A test PKI and a TLS client, for the certificate-binding tests: a CA, a server certificate
//! for `localhost` and 127.0.0.1, and client certificates (with a URI SAN when a test needs
//! one), made fresh for each run; and requests over TLS, with or without a client certificate.

use crate::http::{self, Response};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use sha2::{Digest, Sha256};
use std::io::{self, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A certificate and its private key.
pub struct Identity {
    pub cert_pem: String,
    pub key_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl Identity {
    /// The SHA-256 of the certificate's DER: what `cnf["x5t#S256"]` names (base64url) and
    /// Envoy's `x-forwarded-client-cert` carries (`Hash=`, hex).
    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.cert_der).into()
    }

    /// [`Identity::sha256`] in lower-case hex.
    pub fn sha256_hex(&self) -> String {
        self.sha256().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A certificate authority that issues the server's and the clients' certificates.
pub struct Pki {
    ca_key: KeyPair,
    ca: rcgen::Certificate,
}

impl Pki {
    pub fn new() -> Result<Pki, String> {
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "jwt-authz test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().map_err(|e| e.to_string())?;
        let ca = params.self_signed(&ca_key).map_err(|e| e.to_string())?;
        Ok(Pki { ca_key, ca })
    }

    /// The CA certificate, PEM: what Envoy trusts client certificates by, and the client
    /// trusts the server by.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// A certificate for a server at `localhost` and 127.0.0.1.
    pub fn server(&self) -> Result<Identity, String> {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string()]).map_err(|e| e.to_string())?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        self.issue(params)
    }

    /// A client certificate for `name`, with `uri_san` as its URI SAN when given (how a mesh
    /// names a workload: `spiffe://...`).
    pub fn client(&self, name: &str, uri_san: Option<&str>) -> Result<Identity, String> {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        if let Some(uri) = uri_san {
            let uri = uri.try_into().map_err(|e: rcgen::Error| e.to_string())?;
            params.subject_alt_names.push(SanType::URI(uri));
        }
        self.issue(params)
    }

    fn issue(&self, params: CertificateParams) -> Result<Identity, String> {
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let cert = params
            .signed_by(&key, &self.ca, &self.ca_key)
            .map_err(|e| e.to_string())?;
        Ok(Identity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        })
    }

    /// Sends one request over TLS to `addr` (a server with a certificate from this CA),
    /// presenting `client`'s certificate when given; headers as in [`http::request`].
    pub fn get(
        &self,
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
        client: Option<&Identity>,
    ) -> io::Result<Response> {
        let config = self.client_config(client).map_err(io::Error::other)?;
        let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
        let connection = ClientConnection::new(Arc::new(config), name).map_err(io::Error::other)?;
        let socket = TcpStream::connect_timeout(&addr, TIMEOUT)?;
        socket.set_read_timeout(Some(TIMEOUT))?;
        socket.set_write_timeout(Some(TIMEOUT))?;
        let mut stream = StreamOwned::new(connection, socket);
        stream.write_all(&http::build_request(addr, "GET", path, headers, None))?;
        stream.flush()?;
        http::read_response(&mut BufReader::new(stream), true)
    }

    /// Envoy's downstream TLS transport socket (JSON, which is YAML) ending TLS with
    /// `server`'s certificate, asking for client certificates from this CA without requiring
    /// one.
    pub fn downstream_tls(&self, server: &Identity) -> serde_json::Value {
        serde_json::json!({
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                "require_client_certificate": false,
                "common_tls_context": {
                    "tls_certificates": [{
                        "certificate_chain": {"inline_string": server.cert_pem},
                        "private_key": {"inline_string": server.key_pem}
                    }],
                    "validation_context": {"trusted_ca": {"inline_string": self.ca_pem()}}
                }
            }
        })
    }

    /// A TLS client that trusts this CA's servers and presents `client`'s certificate when
    /// given.
    pub fn client_config(&self, client: Option<&Identity>) -> Result<ClientConfig, String> {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(self.ca.der().to_vec()))
            .map_err(|e| e.to_string())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots);
        match client {
            None => Ok(builder.with_no_client_auth()),
            Some(identity) => {
                let chain = vec![CertificateDer::from(identity.cert_der.clone())];
                let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_der.clone()));
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| e.to_string())
            }
        }
    }
}
