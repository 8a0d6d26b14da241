//! systemd's view of a service over D-Bus (what `systemctl status` shows): per candidate unit,
//! `Manager.LoadUnit` (a path even for a unit that is not installed: LoadState `not-found`) and
//! one `Properties.GetAll` each for the Unit and Service interfaces. No `ListUnits`: it omits
//! stopped and disabled units (node_exporter's systemd collector cannot alert on them for that
//! reason) and costs a walk of every unit. Every call is bounded by the method timeout.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use zbus::blocking::Connection;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};

use super::{Spec, Status};

const DEST: &str = "org.freedesktop.systemd1";

/// Why systemd could not be asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SystemdError {
    /// No connection to the bus.
    #[error("connecting to systemd's D-Bus ({bus}): {source}")]
    Connect {
        /// The address, or "the system bus".
        bus: String,
        /// zbus's error (boxed: it is large).
        source: Box<zbus::Error>,
    },
    /// A call failed or timed out.
    #[error("systemd D-Bus call {call} for {unit}: {source}")]
    Call {
        /// The method.
        call: &'static str,
        /// The unit asked about.
        unit: String,
        /// zbus's error (boxed: it is large).
        source: Box<zbus::Error>,
    },
}

/// One unit's properties that matter here.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct UnitState {
    /// `loaded`, `not-found`, `masked`, `error`...
    pub(crate) load_state: String,
    /// `active`, `inactive`, `failed`, `activating`...
    pub(crate) active_state: String,
    /// `running`, `dead`, `exited`, `listening` (sockets)...
    pub(crate) sub_state: String,
    /// The rest of what `systemctl status` shows, for the audit.
    pub(crate) evidence: serde_json::Value,
}

impl UnitState {
    /// Installed on this host.
    pub(crate) fn exists(&self) -> bool {
        self.load_state != "not-found"
    }

    /// The document's `active (running)`; a listening socket is its service's readiness.
    pub(crate) fn healthy(&self) -> bool {
        self.active_state == "active" && matches!(self.sub_state.as_str(), "running" | "listening")
    }
}

/// The status of a service from its candidates' states: healthy when any existing candidate
/// is; otherwise the first existing one (or none) tells what is wrong.
pub(crate) fn decide(spec: &Spec, states: &[(String, UnitState)]) -> Status {
    let chosen = states
        .iter()
        .find(|(_, s)| s.exists() && s.healthy())
        .or_else(|| states.iter().find(|(_, s)| s.exists()));
    let evidence = json!({
        "units": states
            .iter()
            .filter(|(_, s)| s.exists())
            .map(|(u, s)| json!({"unit": u, "load_state": s.load_state, "active_state": s.active_state, "sub_state": s.sub_state, "properties": s.evidence}))
            .collect::<Vec<_>>(),
        "not_found": states.iter().filter(|(_, s)| !s.exists()).map(|(u, _)| u.as_str()).collect::<Vec<_>>(),
    });
    match chosen {
        Some((unit, s)) => Status {
            name: spec.name,
            abnormal: !s.healthy(),
            source: "systemd",
            found: unit.clone(),
            active_state: s.active_state.clone(),
            sub_state: s.sub_state.clone(),
            evidence,
        },
        None => Status {
            name: spec.name,
            abnormal: true,
            source: "systemd",
            found: String::new(),
            active_state: "inactive".to_owned(),
            sub_state: "not-found".to_owned(),
            evidence,
        },
    }
}

/// One long-lived connection to the bus systemd is on.
pub(crate) struct Bus {
    conn: Connection,
}

fn text(props: &HashMap<String, OwnedValue>, key: &str) -> String {
    props
        .get(key)
        .and_then(|v| v.downcast_ref::<&str>().ok().map(str::to_owned))
        .unwrap_or_default()
}

fn number(props: &HashMap<String, OwnedValue>, key: &str) -> serde_json::Value {
    let Some(v) = props.get(key) else {
        return serde_json::Value::Null;
    };
    if let Ok(n) = v.downcast_ref::<u64>() {
        json!(n)
    } else if let Ok(n) = v.downcast_ref::<u32>() {
        json!(n)
    } else if let Ok(n) = v.downcast_ref::<i32>() {
        json!(n)
    } else {
        serde_json::Value::Null
    }
}

impl Bus {
    /// Connects to `address` (empty: the system bus), every call bounded by `timeout`.
    pub(crate) fn connect(address: &str, timeout: Duration) -> Result<Self, SystemdError> {
        let bus = if address.is_empty() {
            "the system bus".to_owned()
        } else {
            address.to_owned()
        };
        let err = |source| SystemdError::Connect {
            bus: bus.clone(),
            source: Box::new(source),
        };
        let builder = if address.is_empty() {
            zbus::blocking::connection::Builder::system()
        } else {
            zbus::blocking::connection::Builder::address(address)
        }
        .map_err(err)?;
        let conn = builder.method_timeout(timeout).build().map_err(err)?;
        Ok(Self { conn })
    }

    fn get_all(
        &self,
        unit: &str,
        path: &OwnedObjectPath,
        iface: &str,
    ) -> Result<HashMap<String, OwnedValue>, SystemdError> {
        let err = |source| SystemdError::Call {
            call: "Properties.GetAll",
            unit: unit.to_owned(),
            source: Box::new(source),
        };
        self.conn
            .call_method(
                Some(DEST),
                path,
                Some("org.freedesktop.DBus.Properties"),
                "GetAll",
                &(iface,),
            )
            .map_err(err)?
            .body()
            .deserialize()
            .map_err(err)
    }

    /// The state of `unit` (LoadState `not-found` when it is not installed).
    pub(crate) fn unit(&self, unit: &str) -> Result<UnitState, SystemdError> {
        let path: OwnedObjectPath = self
            .conn
            .call_method(
                Some(DEST),
                "/org/freedesktop/systemd1",
                Some("org.freedesktop.systemd1.Manager"),
                "LoadUnit",
                &(unit,),
            )
            .and_then(|m| m.body().deserialize())
            .map_err(|source| SystemdError::Call {
                call: "Manager.LoadUnit",
                unit: unit.to_owned(),
                source: Box::new(source),
            })?;
        let props = self.get_all(unit, &path, "org.freedesktop.systemd1.Unit")?;
        let mut state = UnitState {
            load_state: text(&props, "LoadState"),
            active_state: text(&props, "ActiveState"),
            sub_state: text(&props, "SubState"),
            evidence: json!({
                "description": text(&props, "Description"),
                "unit_file_state": text(&props, "UnitFileState"),
                "active_enter_timestamp_us": number(&props, "ActiveEnterTimestamp"),
                "inactive_enter_timestamp_us": number(&props, "InactiveEnterTimestamp"),
            }),
        };
        if state.exists() && unit.ends_with(".service") {
            let svc = self.get_all(unit, &path, "org.freedesktop.systemd1.Service")?;
            if let Some(obj) = state.evidence.as_object_mut() {
                obj.insert("main_pid".to_owned(), number(&svc, "MainPID"));
                obj.insert("result".to_owned(), json!(text(&svc, "Result")));
                obj.insert(
                    "exec_main_status".to_owned(),
                    number(&svc, "ExecMainStatus"),
                );
                obj.insert("n_restarts".to_owned(), number(&svc, "NRestarts"));
            }
        }
        Ok(state)
    }

    /// The service's status from all its candidate units.
    pub(crate) fn status(&self, spec: &Spec) -> Result<Status, SystemdError> {
        let states = spec
            .units
            .iter()
            .map(|u| self.unit(u).map(|s| (u.clone(), s)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(decide(spec, &states))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(load: &str, active: &str, sub: &str) -> UnitState {
        UnitState {
            load_state: load.to_owned(),
            active_state: active.to_owned(),
            sub_state: sub.to_owned(),
            evidence: serde_json::Value::Null,
        }
    }

    fn sshd() -> Spec {
        super::super::specs(&crate::config::ServicesConfig::default())
            .unwrap()
            .into_iter()
            .find(|s| s.name == "sshd")
            .unwrap()
    }

    #[test]
    fn an_active_socket_counts_a_stopped_service_does_not_and_nothing_installed_is_abnormal() {
        let states = vec![
            (
                "sshd.service".to_owned(),
                unit("not-found", "inactive", "dead"),
            ),
            ("ssh.service".to_owned(), unit("loaded", "inactive", "dead")),
            (
                "ssh.socket".to_owned(),
                unit("loaded", "active", "listening"),
            ),
        ];
        let s = decide(&sshd(), &states);
        assert_eq!((s.abnormal, s.found.as_str()), (false, "ssh.socket"));
        let s = decide(&sshd(), &states[..2]);
        assert_eq!(
            (s.abnormal, s.found.as_str(), s.sub_state.as_str()),
            (true, "ssh.service", "dead")
        );
        assert_eq!(s.evidence["not_found"][0], "sshd.service");
        let s = decide(&sshd(), &states[..1]);
        assert_eq!(
            (s.abnormal, s.found.as_str(), s.sub_state.as_str()),
            (true, "", "not-found")
        );
        // Active but exited (a oneshot that finished) is not `active (running)`.
        let s = decide(
            &sshd(),
            &[("ssh.service".to_owned(), unit("loaded", "active", "exited"))],
        );
        assert!(s.abnormal);
    }
}
