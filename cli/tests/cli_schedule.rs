//! `rounds-cli schedule check` as an integrator runs it: on a vendor's published Appointment,
//! on a Bundle with one bad entry (piped in), and on a file that is not FHIR at all.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

fn check(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rounds-cli"))
        .args(["schedule", "check"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rounds-cli runs");
    if let Some(text) = stdin
        && let Some(mut i) = child.stdin.take()
    {
        i.write_all(text.as_bytes()).expect("stdin");
    }
    child.wait_with_output().expect("output")
}

#[test]
fn a_vendor_video_visit_is_shown_with_its_status_and_video_flag() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/fhir/cerner-r4/appointment-4817572-videovisit-noshow.json"
    );
    if !std::path::Path::new(file).is_file() {
        eprintln!("SKIP: shared reference data not on this machine");
        return;
    }
    let o = check(&[file], None);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.starts_with("1 shown, 0 skipped"), "{out}");
    assert!(out.contains("noshow") && out.contains("[video]"), "{out}");
}

#[test]
fn one_bad_entry_is_skipped_by_id_and_the_rest_kept() {
    let bundle = r#"{"resourceType":"Bundle","type":"collection","entry":[
      {"resource":{"resourceType":"Appointment","id":"good","status":"booked",
        "start":"2026-11-24T14:00:00+00:00","end":"2026-11-24T14:30:00Z",
        "participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]}},
      {"resource":{"resourceType":"Appointment","id":"bad","status":"sleeping",
        "start":"2026-11-24T15:00:00Z","end":"2026-11-24T15:30:00Z",
        "participant":[{"actor":{"reference":"Patient/p2","display":"Unseen Person"},"status":"accepted"}]}}]}"#;
    let o = check(&["-", "--json"], Some(bundle));
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["appointments"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["appointments"][0]["id"], "good");
    assert_eq!(v["skipped"][0]["id"], "bad");
    let reason = v["skipped"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("status"), "{reason}");
    // The skip says why by field, never by quoting the entry (it may carry a patient's name).
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Unseen Person"));
}

#[test]
fn a_file_that_is_not_fhir_is_rejected_with_a_nonzero_exit() {
    for (input, want) in [
        ("not json", "not valid JSON"),
        (r#"{"resourceType":"Patient","id":"x"}"#, ""),
    ] {
        let o = check(&["-"], Some(input));
        assert_eq!(o.status.code(), Some(1), "{input}");
        assert!(String::from_utf8_lossy(&o.stdout).contains(want));
    }
}
