use super::devices::{Roots, discover};
use super::network::{Outcome, Step, Times};
use super::*;
use std::path::Path;

const NOW: i64 = 1_900_000_000;

fn write(p: &Path, s: &str) {
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, s).expect("write");
}

/// A fake /sys, /dev and /proc with one webcam (capture + metadata node) and one sound card
/// with a capture device.
fn fake_system(root: &Path) -> Roots {
    let r = Roots {
        sys: root.join("sys"),
        dev: root.join("dev"),
        proc: root.join("proc"),
    };
    let v4l = r.sys.join("class/video4linux");
    write(
        &v4l.join("video0/name"),
        "Integrated Camera: Integrated C\n",
    );
    write(&v4l.join("video0/index"), "0\n");
    write(
        &v4l.join("video1/name"),
        "Integrated Camera: Integrated C\n",
    );
    write(&v4l.join("video1/index"), "1\n");
    write(&r.dev.join("video0"), "");
    write(&r.dev.join("video1"), "");
    write(
        &r.proc.join("asound/cards"),
        " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n                      HDA Intel PCH at 0xf1610000 irq 147\n",
    );
    write(&r.dev.join("snd/pcmC0D0c"), "");
    write(&r.dev.join("snd/pcmC0D0p"), "");
    r
}

fn facts(devices: Option<devices::Found>) -> Facts {
    Facts {
        appointment_id: "a1".into(),
        now: NOW,
        visit_end: NOW + 1800,
        devices,
        network: Outcome::Reached {
            domain: "meet.example.org".into(),
            times: Times {
                dns_ms: 1,
                connect_ms: 20,
                tls_ms: 40,
            },
        },
        session_end: Some(NOW + 4 * 3600),
        window: WindowFacts::AppWindow {
            browser: "/usr/bin/chromium".into(),
            policy_missing: None,
        },
        e2ee_required: false,
        utc_offset_secs: 0,
    }
}

fn status(v: &ReadinessView, k: CheckKind) -> CheckStatus {
    v.checks
        .iter()
        .find(|c| c.kind == k)
        .map(|c| c.status)
        .expect("check present")
}

#[test]
fn finds_the_camera_and_microphone_without_opening_them() {
    let t = tempfile::tempdir().expect("tmp");
    let found = discover(&fake_system(t.path()));
    assert_eq!(found.cameras.len(), 1, "the metadata node is not a camera");
    assert_eq!(found.cameras[0].name, "Integrated Camera: Integrated C");
    assert_eq!(found.microphones.len(), 1);
    assert_eq!(found.microphones[0].name, "HDA Intel PCH");
    let v = assess(&facts(Some(found)));
    assert!(v.ready, "{v:#?}");
}

#[test]
fn camera_gone_needs_attention() {
    let t = tempfile::tempdir().expect("tmp");
    let roots = fake_system(t.path());
    // Unplugged: the kernel removes both the sysfs entry and the node.
    std::fs::remove_dir_all(roots.sys.join("class/video4linux/video0")).expect("rm");
    std::fs::remove_file(roots.dev.join("video0")).expect("rm");
    let v = assess(&facts(Some(discover(&roots))));
    assert!(!v.ready);
    let c = v.first_problem().expect("a problem");
    assert_eq!(c.kind, CheckKind::Camera);
    assert_eq!(c.says, "The camera is not connected.");
    assert!(
        c.todo
            .as_deref()
            .is_some_and(|t| t.starts_with("Plug it in"))
    );
    assert_eq!(status(&v, CheckKind::Microphone), CheckStatus::Ok);
}

#[test]
fn no_sound_card_means_no_microphone() {
    let t = tempfile::tempdir().expect("tmp");
    let roots = fake_system(t.path());
    std::fs::remove_file(roots.dev.join("snd/pcmC0D0c")).expect("rm");
    let v = assess(&facts(Some(discover(&roots))));
    assert_eq!(status(&v, CheckKind::Microphone), CheckStatus::Attention);
}

#[test]
fn devices_not_listable_here_are_checked_at_the_visit() {
    let v = assess(&facts(None));
    assert!(v.ready);
    assert_eq!(status(&v, CheckKind::Camera), CheckStatus::NotChecked);
}

#[test]
fn network_refusals_need_attention_in_plain_words() {
    for (outcome, words) in [
        (
            Outcome::Untrusted { domain: "m".into() },
            "its certificate is not one your hospital trusts",
        ),
        (
            Outcome::PinMismatch { domain: "m".into() },
            "not the one your hospital pinned",
        ),
        (
            Outcome::Unreachable {
                domain: "m".into(),
                step: Step::Dns,
            },
            "cannot find the video server",
        ),
    ] {
        let mut f = facts(None);
        f.network = outcome;
        let v = assess(&f);
        assert!(!v.ready);
        let c = v.first_problem().expect("problem");
        assert_eq!(c.kind, CheckKind::VideoServer);
        assert!(c.says.contains(words), "{}", c.says);
        assert!(c.todo.is_some());
    }
    let mut f = facts(None);
    f.network = Outcome::Unknown;
    assert!(
        assess(&f).ready,
        "a server named only at join is checked then"
    );
}

#[test]
fn session_ending_before_the_visit_ends_needs_attention() {
    let mut f = facts(None);
    f.session_end = Some(f.visit_end - 60);
    f.utc_offset_secs = 3600;
    let v = assess(&f);
    let c = v.first_problem().expect("problem");
    assert_eq!(c.kind, CheckKind::Session);
    assert!(
        c.says.contains(&clock_time(f.visit_end - 60, 3600)),
        "{}",
        c.says
    );
    f.session_end = None;
    assert!(!assess(&f).ready);
}

#[test]
fn no_chromium_needs_attention_on_linux() {
    let mut f = facts(None);
    f.window = WindowFacts::SystemBrowser {
        by_policy: false,
        policy_missing: None,
    };
    let v = assess(&f);
    assert_eq!(status(&v, CheckKind::Window), CheckStatus::Attention);
    f.window = WindowFacts::AppWindow {
        browser: "/usr/bin/chromium".into(),
        policy_missing: Some("/opt/missing/chrome".into()),
    };
    let c = assess(&f).first_problem().cloned().expect("problem");
    assert!(c.says.contains("/opt/missing/chrome"), "{}", c.says);
    f.window = WindowFacts::SystemBrowser {
        by_policy: true,
        policy_missing: None,
    };
    assert!(assess(&f).ready, "IT chose the default browser");
    f.window = WindowFacts::Embedded { e2ee: false };
    f.e2ee_required = true;
    assert!(!assess(&f).ready, "E2EE required where the window has none");
}

#[test]
fn clock_time_is_local() {
    // 1_900_000_000 = 2030-03-17 17:46:40 UTC.
    assert_eq!(clock_time(NOW, 0), "17:46");
    assert_eq!(clock_time(NOW, -5 * 3600), "12:46");
    assert_eq!(clock_time(NOW, 7 * 3600), "00:46");
}
