//! The example Alertmanager configuration is valid and routes each severity where it says.

use suite_tests::process::run_ok;
use suite_tests::workspace_root;

fn amtool(args: &[&str]) -> String {
    let mut argv = vec!["amtool"];
    argv.extend_from_slice(args);
    run_ok(&argv)
}

#[test]
fn example_config_is_valid_and_routes_by_severity() {
    let cfg = workspace_root().join("alerting-rules/alertmanager/alertmanager.yml");
    let cfg = cfg.to_string_lossy();
    amtool(&["check-config", &cfg]);
    let route = |labels: &[&str]| {
        let mut args = vec!["config", "routes", "test", "--config.file", &cfg];
        args.extend_from_slice(labels);
        amtool(&args).trim().to_owned()
    };
    assert_eq!(
        route(&["severity=critical", "alertname=IcServerConnectFailed"]),
        "ops-pager"
    );
    assert_eq!(
        route(&["severity=warning", "alertname=KeepalivedFailover"]),
        "ops-chat"
    );
    assert_eq!(route(&["severity=info"]), "ops-digest");
    assert_eq!(route(&["alertname=Other"]), "ops-default");
}
