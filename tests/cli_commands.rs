//! The simulation commands through the real binary: bad input is one line and exit code 2, never a
//! panic; `replay` confirms a hash and prints a record's timeline; sweep shards merge into the whole.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sharesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sharesim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sharesim-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// Principle 6: one line, exit 2.
#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let cases: &[&[&str]] = &[
        &["run", "scenarios/nope.json"],
        &[
            "run",
            "scenarios/quickstart.json",
            "--vary",
            "nosuch.path[9]=1",
        ],
        &[
            "run",
            "scenarios/quickstart.json",
            "--vary",
            "duration_ms=1,2",
        ],
        &["sweep", "scenarios/minimal.json", "--seeds", "5..2"],
        &["sweep", "scenarios/minimal.json", "--shard", "3/2"],
        &["sweep", "scenarios/minimal.json", "--jobs", "0"],
        &[
            "replay",
            "scenarios/minimal.json",
            "--seed",
            "1",
            "--expect-hash",
            "xyz",
        ],
        &["conform", "Cargo.toml"],
        &["merge", "Cargo.toml"],
    ];
    for args in cases {
        let output = sharesim(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("sharesim: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// `run` writes a report whose trace `conform` accepts and whose hash `replay` confirms; `--offset`
/// prints the record's life.
#[test]
fn run_conform_and_replay_agree() {
    let dir = temp_dir("run");
    let out = dir.join("report");
    let output = sharesim(&[
        "run",
        "scenarios/minimal.json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let text = stdout(&output);
    let hash = text
        .split("trace hash ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a hash in the summary")
        .to_string();
    for file in ["report.json", "report.md", "report.html", "trace.jsonl"] {
        assert!(out.join(file).exists(), "{file}");
    }
    let trace = out.join("trace.jsonl");
    let output = sharesim(&["conform", trace.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("every step allowed"));
    let output = sharesim(&[
        "replay",
        "scenarios/minimal.json",
        "--seed",
        "1",
        "--expect-hash",
        &hash,
        "--offset",
        "5",
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("hash confirmed"), "{text}");
    assert!(text.contains("ACQUIRED by consumer-0-0"), "{text}");
    assert!(text.contains("ACQUIRED -> ACKNOWLEDGED"), "{text}");
    let output = sharesim(&[
        "replay",
        "scenarios/minimal.json",
        "--seed",
        "2",
        "--expect-hash",
        &hash,
    ]);
    assert_eq!(output.status.code(), Some(1), "another seed, another hash");
    std::fs::remove_dir_all(&dir).ok();
}

/// Two shards merged give the rows of the unsharded sweep.
#[test]
fn sweep_shards_merge_into_the_whole_sweep() {
    let dir = temp_dir("sweep");
    let sweep = |extra: &[&str], out: &Path| {
        let mut args = vec![
            "sweep",
            "scenarios/minimal.json",
            "--seeds",
            "1..5",
            "--vary",
            "consumers[0].count=1,2",
            "--jobs",
            "2",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let output = sharesim(&args);
        assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
        output
    };
    let whole = dir.join("whole");
    let output = sweep(&[], &whole);
    assert!(
        stdout(&output).contains("consumers[0].count=2"),
        "{}",
        stdout(&output)
    );
    sweep(&["--shard", "1/2"], &dir.join("a"));
    sweep(&["--shard", "2/2"], &dir.join("b"));
    let merged = dir.join("merged");
    let output = sharesim(&[
        "merge",
        dir.join("a").to_str().unwrap(),
        dir.join("b/results.json").to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let rows = |path: &Path| {
        let text = std::fs::read_to_string(path.join("results.json")).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut rows: Vec<(String, u64, String)> = value["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row["point"].as_str().unwrap().to_string(),
                    row["seed"].as_u64().unwrap(),
                    row["trace_hash"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(rows(&whole).len(), 8);
    assert_eq!(rows(&whole), rows(&merged));
    std::fs::remove_dir_all(&dir).ok();
}
