use super::*;

const CAUSES: &[Cause] = &[
    Cause {
        id: "process_down",
        title: Text::both("The process is not running", "进程不在"),
        remedy: Text::en("start it"),
    },
    Cause {
        id: "disk_full",
        title: Text::en("The data disk is full"),
        remedy: Text::en("free space"),
    },
];

const A: Step = Step {
    id: "a",
    title: Text::en("first"),
    source: "doc step 1",
};
const B: Step = Step {
    id: "b",
    title: Text::both("second", "第二步"),
    source: "doc step 2",
};
const C: Step = Step {
    id: "c",
    title: Text::en("third"),
    source: "",
};

fn args(limit: Duration) -> DiagnoseArgs {
    DiagnoseArgs {
        output: OutputFormat::Text,
        since: None,
        until: None,
        timeout: limit,
        target: None,
    }
}

fn walk(limit: Duration) -> Walk {
    let mut w = Walk::new(
        args(limit),
        Window::from_flags(Some("1h"), None).unwrap(),
        CollectorSet::new("t"),
    );
    w.procedure("doc 000", Text::en("the procedure"), CAUSES);
    w
}

#[tokio::test]
async fn the_first_failing_cause_is_the_verdict_and_steps_keep_their_order() {
    let mut w = walk(DEFAULT_LIMIT);
    assert_eq!(
        w.check(A, STEP_DEADLINE, async { Outcome::pass("fine") })
            .await,
        Status::Pass
    );
    w.manual(B, Text::both("call the network team", "联系网络组"));
    w.check_blocking(C, STEP_DEADLINE, || {
        Outcome::fail("no etcd process")
            .cause("process_down")
            .with(Evidence::new("ps", "nothing matches etcd").from("/proc"))
    })
    .await;
    w.record_outcome(
        Step {
            id: "d",
            title: Text::en("disk"),
            source: "",
        },
        Outcome::fail("99% used").cause("disk_full"),
    );
    let r = w.finish("bin", "1.0");
    assert_eq!(r.verdict.cause, "process_down");
    assert_eq!(r.verdict.steps, ["c"]);
    assert!(r.found_fault());
    let ids: Vec<_> = r.steps.iter().map(|s| (s.n, s.id)).collect();
    assert_eq!(ids, [(1, "a"), (2, "b"), (3, "c"), (4, "d")]);

    let json: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
    assert_eq!(json["verdict"]["cause"], "process_down");
    assert_eq!(json["verdict"]["title"]["zh"], "进程不在");
    assert_eq!(json["steps"][1]["status"], "manual");
    assert_eq!(json["steps"][1]["instruction"]["zh"], "联系网络组");
    assert_eq!(json["steps"][2]["evidence"][0]["what"], "ps");
    assert_eq!(json["steps"][2]["evidence"][0]["source"], "/proc");
    assert_eq!(json["timed_out"], serde_json::json!([]));

    let text = render_text(&r);
    assert!(text.contains(" 3. [FAIL] third"), "{text}");
    assert!(
        text.contains("VERDICT: The process is not running (进程不在)"),
        "{text}"
    );
    assert!(text.contains("原文: 联系网络组"), "{text}");
}

#[tokio::test]
async fn conclude_overrides_and_no_failure_is_no_fault() {
    let mut w = walk(DEFAULT_LIMIT);
    w.check(A, STEP_DEADLINE, async {
        Outcome::fail("x").cause("process_down")
    })
    .await;
    w.conclude("disk_full");
    assert_eq!(w.finish("bin", "1").verdict.cause, "disk_full");

    let mut w = walk(DEFAULT_LIMIT);
    w.check(A, STEP_DEADLINE, async { Outcome::pass("ok") })
        .await;
    w.not_applicable(B, "no peers configured");
    let r = w.finish("bin", "1");
    assert_eq!(r.verdict.cause, "no_fault_found");
    assert!(!r.found_fault());

    let mut w = walk(DEFAULT_LIMIT);
    w.check(A, STEP_DEADLINE, async { Outcome::fail("odd") })
        .await;
    let r = w.finish("bin", "1");
    assert_eq!(r.verdict.cause, "unexplained");
    assert_eq!(r.verdict.steps, ["a"]);
}

#[tokio::test]
async fn a_hanging_step_is_cut_at_its_deadline_and_the_walk_ends_with_a_verdict() {
    let mut w = walk(DEFAULT_LIMIT);
    let t0 = Instant::now();
    let s = w
        .check(A, Duration::from_millis(200), std::future::pending())
        .await;
    assert_eq!(s, Status::TimedOut);
    // A blocking step stuck in the kernel cannot be interrupted: it is left behind.
    let s = w
        .check_blocking(B, Duration::from_millis(200), || {
            std::thread::sleep(Duration::from_secs(1));
            Outcome::pass("too late")
        })
        .await;
    assert_eq!(s, Status::TimedOut);
    w.check(C, STEP_DEADLINE, async {
        Outcome::fail("down").cause("process_down")
    })
    .await;
    let r = w.finish("bin", "1");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(r.timed_out, ["a", "b"]);
    assert!(
        r.steps[0].summary.contains("0.2s deadline"),
        "{}",
        r.steps[0].summary
    );
    assert_eq!(r.verdict.cause, "process_down");
    assert!(render_text(&r).contains("timed out: a, b"));
}

#[tokio::test]
async fn the_walk_limit_cuts_a_step_and_skips_the_rest() {
    let mut w = walk(Duration::from_millis(300));
    let s = w.check(A, STEP_DEADLINE, std::future::pending()).await;
    assert_eq!(s, Status::TimedOut);
    let s = w
        .check(B, STEP_DEADLINE, async { Outcome::pass("ok") })
        .await;
    assert_eq!(s, Status::TimedOut);
    let r = w.finish("bin", "1");
    assert!(
        r.steps[0].summary.contains("walk's limit"),
        "{}",
        r.steps[0].summary
    );
    assert!(
        r.steps[1].summary.starts_with("not started"),
        "{}",
        r.steps[1].summary
    );
    assert_eq!(r.verdict.cause, "no_fault_found");
}

#[test]
fn value_and_samples_match_label_subsets() {
    let mut f = MetricFamily::new("x_up", "h", crate::MetricType::Gauge);
    f.push(&[("member", "a"), ("role", "leader")], 1.0);
    f.push(&[("member", "b"), ("role", "follower")], 0.0);
    let fams = vec![f];
    assert_eq!(value(&fams, "x_up", &[("member", "b")]), Some(0.0));
    assert_eq!(value(&fams, "x_up", &[("role", "leader")]), Some(1.0));
    assert_eq!(value(&fams, "x_up", &[("member", "c")]), None);
    assert_eq!(samples(&fams, "x_up", &[]).count(), 2);
}

#[test]
fn cause_tables_are_checked() {
    assert!(cause_table_problems(CAUSES).is_empty());
    const BAD: &[Cause] = &[
        Cause {
            id: "Process-Down",
            title: Text::en("t"),
            remedy: Text::en("r"),
        },
        Cause {
            id: "x",
            title: Text::en("t"),
            remedy: Text::en(""),
        },
        Cause {
            id: "x",
            title: Text::en("t"),
            remedy: Text::en("r"),
        },
        Cause {
            id: "no_fault_found",
            title: Text::en("t"),
            remedy: Text::en("r"),
        },
    ];
    let p = cause_table_problems(BAD).join("\n");
    assert!(p.contains("\"Process-Down\" is not snake_case"), "{p}");
    assert!(p.contains("\"x\" has no title or remedy"), "{p}");
    assert!(p.contains("\"x\" is used twice"), "{p}");
    assert!(p.contains("\"no_fault_found\" is used twice"), "{p}");
}
