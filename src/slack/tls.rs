//! TLS setup shared by the Slack clients: pick rustls's crypto provider explicitly.

/// Both `ring` (slack-morphism, hyper-rustls) and `aws-lc-rs` (the AWS SDK) are linked, so rustls
/// cannot choose a process-wide default by itself. Choose `ring`; calling this again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
