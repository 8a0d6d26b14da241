//! When a certificate may be used (its X.509 `notBefore`/`notAfter`), so an expired or
//! not-yet-valid serving certificate is reported instead of failing every handshake silently.

use std::time::{SystemTime, UNIX_EPOCH};

/// A certificate's validity period, in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertValidity {
    /// `notBefore`.
    pub not_before: i64,
    /// `notAfter`.
    pub not_after: i64,
}

/// Where `now` falls in a validity period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Within it.
    Valid,
    /// Before `notBefore`: a clock that is wrong, or a certificate issued for later.
    NotYetValid,
    /// After `notAfter`.
    Expired,
}

impl CertValidity {
    /// The validity of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Result<CertValidity, String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let v = cert.validity();
        Ok(CertValidity {
            not_before: v.not_before.timestamp(),
            not_after: v.not_after.timestamp(),
        })
    }

    /// Where `now` (Unix seconds) falls.
    pub fn period_at(&self, now: i64) -> Period {
        if now < self.not_before {
            Period::NotYetValid
        } else if now > self.not_after {
            Period::Expired
        } else {
            Period::Valid
        }
    }

    /// Where the current time falls.
    pub fn period_now(&self) -> Period {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.period_at(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_of_a_generated_certificate() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 2);
        params.not_after = rcgen::date_time_ymd(2021, 1, 2);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let v = CertValidity::of_der(cert.der()).unwrap();
        assert_eq!(v.not_before, 1_577_923_200);
        assert_eq!(v.not_after, 1_609_545_600);
        assert_eq!(v.period_at(1_500_000_000), Period::NotYetValid);
        assert_eq!(v.period_at(1_600_000_000), Period::Valid);
        assert_eq!(v.period_at(1_700_000_000), Period::Expired);
        assert_eq!(v.period_now(), Period::Expired);
        assert!(CertValidity::of_der(b"not a certificate").is_err());
    }
}
