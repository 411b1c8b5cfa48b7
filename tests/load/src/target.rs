//! The server under test: a plain-HTTP base URL that must be on this machine's loopback
//! interface, so the load generator can never be pointed at someone else's service.

use reqwest::Url;
use std::net::IpAddr;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TargetError {
    #[error("not a URL: {0}")]
    Parse(String),
    #[error("only http:// is supported (got {0}://)")]
    Scheme(String),
    #[error("refusing a non-loopback host {0:?}: this tool only loads a local server")]
    NotLoopback(String),
}

/// A validated loopback base URL (`http://127.0.0.1:PORT`).
#[derive(Debug, Clone)]
pub struct Target {
    base: Url,
}

impl Target {
    pub fn parse(text: &str) -> Result<Self, TargetError> {
        let base = Url::parse(text).map_err(|e| TargetError::Parse(format!("{text:?}: {e}")))?;
        if base.scheme() != "http" {
            return Err(TargetError::Scheme(base.scheme().to_owned()));
        }
        let host = base.host_str().unwrap_or_default();
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(TargetError::NotLoopback(host.to_owned()));
        }
        Ok(Self { base })
    }

    /// `path` resolved against the base (paths are absolute: `/v1/authenticate`).
    pub fn url(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        u.set_path(path);
        u.set_query(None);
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_accepted() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3:1/",
            "http://[::1]:9000",
            "http://localhost:3000",
        ] {
            let t = Target::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(t.url("/healthz").path(), "/healthz");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(
            Target::parse("http://10.0.0.1:80").unwrap_err(),
            TargetError::NotLoopback("10.0.0.1".into())
        );
        assert!(matches!(
            Target::parse("http://example.com"),
            Err(TargetError::NotLoopback(_))
        ));
        assert!(matches!(
            Target::parse("http://localhost.example.com"),
            Err(TargetError::NotLoopback(_))
        ));
        assert_eq!(
            Target::parse("https://127.0.0.1").unwrap_err(),
            TargetError::Scheme("https".into())
        );
        assert!(matches!(Target::parse("nope"), Err(TargetError::Parse(_))));
    }
}
