//! The ROR through the real binary: the example offer is published to the sandbox's ROR,
//! which already holds its organisations and place (found, not created), published again
//! with no write, changed in one field and sent as one FHIRPath Patch; invalid offers
//! are refused with their line and field; and every resource produced (rendered, and as
//! the ROR holds it) is read by an FHIR R4 parser that is not the gateway's.

use std::path::{Path, PathBuf};

use crate::support::{check_profiles, cli, cli_with, repo};

const OFFER: &str = "schemas/examples/offer.yaml";

fn data_env(dir: &Path) -> [(&'static str, String); 1] {
    [("CRT_GATEWAY_STORAGE__DATA_DIR", dir.display().to_string())]
}

fn run(args: &[&str], dir: &Path) -> (Option<i32>, String) {
    let env = data_env(dir);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    cli_with(args, &env)
}

/// `ror pull` of the example's establishment into `<dir>/held.json`: the file and the
/// command's output.
fn pull(dir: &Path) -> (PathBuf, String) {
    let held = dir.join("held.json");
    let (code, text) = run(
        &[
            "ror",
            "pull",
            "720003011",
            "-o",
            &held.display().to_string(),
        ],
        dir,
    );
    assert_eq!(code, Some(0), "{text}");
    (held, text)
}

#[test]
fn publishing_twice_writes_nothing_and_one_change_is_one_patch() {
    let data = tempfile::tempdir().expect("temp dir");
    let (code, text) = run(&["ror", "publish", OFFER], data.path());
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("published: 3 write(s), 3 found, 0 unchanged"),
        "{text}"
    );
    assert!(text.contains("found     Organization/"), "{text}");
    assert!(!text.contains("create    Organization"), "{text}");

    let (code, text) = run(&["ror", "publish", OFFER], data.path());
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("published: 0 write(s), 3 found, 3 unchanged"),
        "{text}"
    );

    let original = std::fs::read_to_string(repo().join(OFFER)).unwrap();
    let changed = data.path().join("offer.yaml");
    std::fs::write(
        &changed,
        original.replace(
            "emergency_temporary_rooms: 2",
            "emergency_temporary_rooms: 3",
        ),
    )
    .unwrap();
    let changed = changed.display().to_string();
    let (code, text) = run(&["ror", "publish", &changed, "--dry-run"], data.path());
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("dry run: 2 write(s) to do, 3 found, 1 unchanged"),
        "{text}"
    );
    // The exact requests: one FHIRPath Patch of the offer, one capacity patch.
    assert!(text.contains("PATCH HealthcareService/5"), "{text}");
    assert!(
        text.contains("\"valueString\": \"HealthcareService.extraDetails\""),
        "{text}"
    );
    assert!(
        text.contains("PATCH Location?identifier=1720003011%2FCRT"),
        "{text}"
    );

    let (code, text) = run(&["ror", "publish", &changed], data.path());
    assert!(
        text.contains("published: 2 write(s), 3 found, 1 unchanged"),
        "{code:?} {text}"
    );
    let (_, text) = run(&["ror", "publish", &changed], data.path());
    assert!(
        text.contains("published: 0 write(s), 3 found, 3 unchanged"),
        "{text}"
    );

    let (held, text) = pull(data.path());
    assert!(text.contains("HealthcareService/5  v2"), "{text}");
    let (code, text) = cli(&["validate", &held.display().to_string()]);
    assert_eq!(code, Some(0), "the ROR's copy follows the rules: {text}");
}

#[test]
fn the_profile_checker_finds_the_guides_examples_valid_and_broken_copies_invalid() {
    let output = std::process::Command::new("python3")
        .arg(repo().join("tests/fhir/check_profile_selftest.py"))
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
}

#[test]
fn invalid_offers_name_the_line_and_the_field() {
    let data = tempfile::tempdir().expect("temp dir");
    let original = std::fs::read_to_string(repo().join(OFFER)).unwrap();
    let cases = [
        (
            "simultaneous_places: 25",
            "simultaneous_places: 20",
            "/volet2/simultaneous_places",
            "at least 25",
        ),
        (
            "finess_et: 720003011",
            "finess_et: 720003012",
            "/porteur/finess_et",
            "FINESS",
        ),
        (
            "on_call_24_7: true",
            "on_call_24_7: yes",
            "/volet2/on_call_24_7",
            "true or false",
        ),
        ("region: \"52\"", "region: \"99\"", "/crt/region", "52"),
        (
            "theme: isolation",
            "theme: loneliness",
            "/volet1/services/1/theme",
            "isolation",
        ),
    ];
    for (from, to, pointer, words) in cases {
        let line = original.lines().position(|l| l.contains(from)).unwrap() + 1;
        let file = data.path().join("broken.yaml");
        std::fs::write(&file, original.replace(from, to)).unwrap();
        let file = file.display().to_string();
        let (code, text) = cli(&["ror", "render", &file, "-o", "/dev/null"]);
        assert_eq!(code, Some(1), "{text}");
        let expected = format!("{file}:{line}: {pointer}:");
        assert!(text.contains(&expected), "expected {expected:?} in {text}");
        assert!(text.contains(words), "expected {words:?} in {text}");
        let (code, _) = cli(&["validate", &file]);
        assert_eq!(code, Some(1));
    }
}

#[test]
fn every_resource_reads_in_an_independent_fhir_r4_parser() {
    let data = tempfile::tempdir().expect("temp dir");
    let bundle = data.path().join("bundle.json");
    let (code, text) = cli(&["ror", "render", OFFER, "-o", &bundle.display().to_string()]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = cli(&["validate", &bundle.display().to_string()]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&["ror", "publish", OFFER], data.path());
    assert_eq!(code, Some(0), "{text}");
    let (held, _) = pull(data.path());

    // What the ROR holds (what the gateway wrote, stamped by the ROR) against the guide's
    // StructureDefinitions, read by a checker written apart from the gateway.
    let text = check_profiles("ror", std::slice::from_ref(&held));
    assert_eq!(text.matches("ror-healthcareservice").count(), 2, "{text}");

    let Some(python) = std::env::var_os("CRT_FHIR_PYTHON") else {
        eprintln!("CRT_FHIR_PYTHON is not set: the independent FHIR R4 parser is skipped");
        return;
    };
    let output = std::process::Command::new(python)
        .arg(repo().join("tests/fhir/read_r4.py"))
        .arg(&bundle)
        .arg(&held)
        // The ViaTrajectoire contract's examples, which a test keeps equal to what the
        // gateway reads and sends.
        .arg(repo().join("schemas/viatrajectoire/examples/request.json"))
        .arg(repo().join("schemas/viatrajectoire/examples/answer-waiting-list.json"))
        .arg(repo().join("schemas/viatrajectoire/examples/answer-refused.json"))
        .output()
        .expect("python runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("Organization, Organization, Location, HealthcareService, HealthcareService"),
        "{text}"
    );
}
