//! TLS interception for the test proxy: a throw-away CA and one certificate for the mapped names, as a TLS-inspecting egress proxy has.

use std::sync::Arc;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Ends the TLS a client speaks inside a `CONNECT` tunnel, with a certificate for every mapped
/// name signed by a CA made at start-up. A client trusts it only when told to (`SSL_CERT_FILE`
/// naming [`Interceptor::ca_pem`]), as with a real inspecting proxy's CA.
pub(crate) struct Interceptor {
    ca_pem: String,
    acceptor: TlsAcceptor,
}

impl Interceptor {
    /// A new CA, and a certificate for `names` it signs.
    pub(crate) fn new(names: Vec<String>) -> anyhow::Result<Self> {
        let ca_key = KeyPair::generate().context("generating the CA key")?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "chatops-sandbox test proxy CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .context("signing the CA certificate")?;
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate().context("generating the server key")?;
        let mut leaf_params =
            CertificateParams::new(names).context("the mapped names as certificate names")?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "chatops-sandbox intercepted");
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = leaf_params
            .signed_by(&leaf_key, &issuer)
            .context("signing the server certificate")?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone(), ca_cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .context("the server certificate")?;
        // The fakes behind speak HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            ca_pem: ca_cert.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The CA certificate, PEM, for the client's trust store.
    pub(crate) fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The server side of the handshake on `client`: the TLS stream and the name the client's
    /// hello asked for (SNI), or why the handshake failed (a client that does not trust the CA
    /// ends it with an alert).
    pub(crate) async fn accept<IO>(
        &self,
        client: IO,
    ) -> Result<(TlsStream<IO>, Option<String>), String>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let stream = self
            .acceptor
            .accept(client)
            .await
            .map_err(|e| format!("TLS handshake: {e}"))?;
        let name = stream.get_ref().1.server_name().map(str::to_owned);
        Ok((stream, name))
    }
}
