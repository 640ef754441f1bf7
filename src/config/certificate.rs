//! A provider's `certificate_binding`: whether tokens bound to a client certificate
//! (RFC 8705 §3) are held to it, and which forwarders may pass the certificate on.

use super::reader::Object;
use super::{ConfigError, error};
use crate::proof::settings::{CertificateMode, CertificateSettings};

/// Forwarders accepted per provider: a front tier, not a fleet.
const MAX_FORWARDERS: usize = 16;

/// The provider's `certificate_binding`; absent, it is off (and certificate-bound tokens are
/// refused).
pub(super) fn compile(provider: &Object) -> Result<CertificateSettings, ConfigError> {
    let Some(raw) = provider.object("certificate_binding")? else {
        return Ok(CertificateSettings::default());
    };
    let mode = match raw.string("mode")?.as_deref() {
        None | Some("off") => CertificateMode::Off,
        Some("enforced") => CertificateMode::Enforced,
        Some("required") => CertificateMode::Required,
        Some(other) => {
            return Err(error(
                raw.at("mode"),
                format!("{other:?} is not a mode: off, enforced or required"),
            ));
        }
    };
    let forwarded_by = raw.strings("forwarded_by")?;
    if forwarded_by.len() > MAX_FORWARDERS {
        return Err(error(
            raw.at("forwarded_by"),
            format!("at most {MAX_FORWARDERS} forwarders"),
        ));
    }
    for (i, san) in forwarded_by.iter().enumerate() {
        // A URI SAN has a scheme; an empty or schemeless name would match no certificate.
        let scheme = san.split_once(':').map(|(scheme, _)| scheme);
        if !scheme.is_some_and(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        }) {
            return Err(error(
                raw.at_index("forwarded_by", i),
                format!(
                    "{san:?} is not a URI: name a forwarder by the URI SAN of its certificate (spiffe://cluster.local/ns/edge/sa/gateway)"
                ),
            ));
        }
    }
    if mode == CertificateMode::Off && !forwarded_by.is_empty() {
        return Err(error(
            raw.at("forwarded_by"),
            "has no use while mode is off",
        ));
    }
    Ok(CertificateSettings { mode, forwarded_by })
}
