//! A panic anywhere in an exporter is one structured log line, not raw text on stderr.

// Test code: a failed setup step should abort the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;

static RECORDS: Mutex<Vec<(log::Level, String, String)>> = Mutex::new(Vec::new());

struct Capture;
impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &log::Record<'_>) {
        RECORDS
            .lock()
            .unwrap()
            .push((r.level(), r.target().to_owned(), r.args().to_string()));
    }
    fn flush(&self) {}
}

#[test]
fn a_panic_message_goes_through_the_logger() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    common::logging::route_panics_to_log();
    let joined = std::thread::Builder::new()
        .name("handler".to_owned())
        .spawn(|| {
            let n: u64 = "10000000000000000000".parse().unwrap();
            #[allow(clippy::panic)]
            if n > 1 {
                panic!("overflow converting {n} seconds");
            }
        })
        .unwrap()
        .join();
    assert!(joined.is_err());
    let records = RECORDS.lock().unwrap();
    let (level, target, msg) = records
        .iter()
        .find(|(_, t, _)| t == "panic")
        .expect("no panic record");
    assert_eq!((*level, target.as_str()), (log::Level::Error, "panic"));
    assert!(
        msg.contains("thread handler panicked at common/tests/panic_log.rs:"),
        "{msg}"
    );
    assert!(
        msg.ends_with("overflow converting 10000000000000000000 seconds"),
        "{msg}"
    );
}
