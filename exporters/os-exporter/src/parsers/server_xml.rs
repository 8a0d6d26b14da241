//! The connector ports of a Tomcat `server.xml`: every `<Connector ... port="N">` outside XML
//! comments. A `${...}` property is resolved by Tomcat from system properties the exporter
//! cannot see, so it is an error naming it rather than a guess.

use regex::Regex;
use std::sync::LazyLock;

/// Why no port list could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerXmlError {
    /// A connector port given as a `${...}` property.
    #[error(
        "a <Connector> port is the property {0:?}, which only Tomcat can resolve: list the port under ports instead"
    )]
    Property(String),
    /// A port that is not a number from 1 to 65535.
    #[error("a <Connector> port {0:?} is not a port number from 1 to 65535")]
    BadPort(String),
    /// A comment that never ends.
    #[error("an XML comment is not closed")]
    UnclosedComment,
}

static CONNECTOR: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)]
    Regex::new(r"(?s)<Connector\b([^>]*)>").unwrap()
});
static PORT: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)]
    Regex::new(r#"(?s)\sport\s*=\s*(?:"([^"]*)"|'([^']*)')"#).unwrap()
});

/// The text without its `<!-- ... -->` comments.
fn strip_comments(xml: &str) -> Result<String, ServerXmlError> {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 4..];
        let end = after.find("-->").ok_or(ServerXmlError::UnclosedComment)?;
        rest = &after[end + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The ports of the active connectors, in file order, each once.
pub fn connector_ports(xml: &str) -> Result<Vec<u16>, ServerXmlError> {
    let text = strip_comments(xml)?;
    let mut ports = Vec::new();
    for tag in CONNECTOR.captures_iter(&text) {
        let Some(attrs) = tag.get(1) else { continue };
        let Some(p) = PORT.captures(attrs.as_str()) else {
            continue;
        };
        let raw = p
            .get(1)
            .or_else(|| p.get(2))
            .map_or("", |m| m.as_str())
            .trim();
        if raw.contains("${") {
            return Err(ServerXmlError::Property(raw.to_owned()));
        }
        let port: u16 = raw
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| ServerXmlError::BadPort(raw.to_owned()))?;
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of Debian's tomcat10 server.xml: one active connector, two commented out.
    const DEBIAN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <!-- A "Connector" represents an endpoint by which requests are received
         and responses are returned.
    -->
    <Connector port="8080" protocol="HTTP/1.1"
               connectionTimeout="20000"
               redirectPort="8443" />
    <!--
    <Connector port="8443" protocol="org.apache.coyote.http11.Http11NioProtocol"
               maxThreads="150" SSLEnabled="true">
    </Connector>
    -->
    <!-- <Connector protocol="AJP/1.3" address="::1" port="8009" redirectPort="8443" /> -->
    <Connector protocol="HTTP/1.1" address="127.0.0.1"
               port='8443' SSLEnabled="true" />
  </Service>
</Server>"#;

    #[test]
    fn active_connectors_only() {
        assert_eq!(connector_ports(DEBIAN).unwrap(), vec![8080, 8443]);
    }

    #[test]
    fn redirect_port_is_not_the_port() {
        assert_eq!(
            connector_ports(r#"<Connector redirectPort="8443" port="80"/>"#).unwrap(),
            vec![80]
        );
    }

    #[test]
    fn properties_and_garbage_are_errors() {
        assert_eq!(
            connector_ports(r#"<Connector port="${http.port}"/>"#),
            Err(ServerXmlError::Property("${http.port}".into()))
        );
        assert!(matches!(
            connector_ports(r#"<Connector port="0"/>"#),
            Err(ServerXmlError::BadPort(_))
        ));
        assert_eq!(
            connector_ports("<!-- <Connector port=\"1\"/>"),
            Err(ServerXmlError::UnclosedComment)
        );
    }
}
