//! `--web.config.file` (exporter-toolkit YAML): `web_config::load`, which reads the file and
//! checks every value. The file is written to a private temporary directory, so relative
//! certificate paths name nothing; inputs naming device or kernel files are skipped, as reading
//! `/dev/zero` as a certificate would only measure the disk of this machine.
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

static FILE: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("suite-fuzz-web-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the temporary directory");
    dir.join("web.yml")
});

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if ["/dev", "/proc", "/sys"].iter().any(|p| text.contains(p)) {
        return;
    }
    std::fs::write(&*FILE, data).expect("writing the temporary file");
    if let Ok(w) = common::web_config::load(&FILE) {
        assert!(w.tls.is_none(), "TLS without a readable certificate");
    }
});
