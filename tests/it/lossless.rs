//! Nothing lost, whatever the name, the folder layout or the timing: the nine cases of
//! the issue of that name, each with the real binary on real folders. Each failed before
//! its fix.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::daemon::{
    DEADLINE, Env, RULE, assert_cleaned, claims, files, inputs, outputs, page, wait_for,
};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01";

fn pare(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pare"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A folder holding `rules/generic.toml` (the test rule), for commands run in it.
fn with_rules() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir_all(d.path().join("rules")).unwrap();
    fs::write(d.path().join("rules/generic.toml"), RULE).unwrap();
    d
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// 1. `pare clean -o` with inputs of the same name, and onto its own input.

#[test]
fn clean_o_mirrors_same_named_inputs_and_never_overwrites() {
    let d = with_rules();
    let p = d.path();
    // A `wget -r` mirror: index.html in every folder.
    for (i, f) in ["a/x.html", "b/x.html", "b/c/x.html"].iter().enumerate() {
        fs::create_dir_all(p.join(f).parent().unwrap()).unwrap();
        fs::write(p.join(f), page(i)).unwrap();
    }
    let o = pare(
        &[
            "clean",
            "--rules",
            "rules",
            "-o",
            "out",
            "a/x.html",
            "b/x.html",
            "b/c/x.html",
        ],
        p,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        files(&p.join("out")),
        ["a/x.html", "b/c/x.html", "b/x.html"]
    );
    for (i, f) in ["a/x.html", "b/x.html", "b/c/x.html"].iter().enumerate() {
        assert_cleaned(&fs::read_to_string(p.join("out").join(f)).unwrap(), i);
    }
    // One folder's files keep their bare names.
    let o = pare(&["clean", "--rules", "rules", "-o", "flat", "b/x.html"], p);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(files(&p.join("flat")), ["x.html"]);

    // Again with a changed input: the different output already there is not replaced…
    fs::write(p.join("a/x.html"), page(7)).unwrap();
    let o = pare(
        &[
            "clean", "--rules", "rules", "-o", "out", "a/x.html", "b/x.html",
        ],
        p,
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("--overwrite"), "{}", text(&o));
    assert_cleaned(&fs::read_to_string(p.join("out/a/x.html")).unwrap(), 0);
    // …unless asked; an identical one counts as done.
    let o = pare(
        &[
            "clean",
            "--rules",
            "rules",
            "--overwrite",
            "-o",
            "out",
            "a/x.html",
            "b/x.html",
        ],
        p,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_cleaned(&fs::read_to_string(p.join("out/a/x.html")).unwrap(), 7);

    // Never onto its own input, even with --overwrite.
    let before = fs::read(p.join("b/x.html")).unwrap();
    for extra in [&[][..], &["--overwrite"][..]] {
        let mut args = vec!["clean", "--rules", "../rules", "-o", "."];
        args.extend_from_slice(extra);
        args.push("x.html");
        let o = pare(&args, &p.join("b"));
        assert!(!o.status.success());
        assert!(text(&o).contains("its own input"), "{}", text(&o));
        assert_eq!(fs::read(p.join("b/x.html")).unwrap(), before);
    }
    // No temporary file is left anywhere.
    assert!(
        files(p).iter().all(|f| !f.contains("pare-tmp")),
        "{:?}",
        files(p)
    );
}

#[test]
fn clean_never_writes_its_report_or_stdout_over_an_input_and_never_drops_stdin() {
    let d = with_rules();
    let p = d.path();
    fs::create_dir_all(p.join("in")).unwrap();
    fs::write(p.join("in/a.html"), page(1)).unwrap();
    fs::write(p.join("in/b.html"), page(2)).unwrap();
    let unchanged = |what: &str| {
        assert_eq!(
            fs::read(p.join("in/a.html")).unwrap(),
            page(1).as_bytes(),
            "{what}"
        );
        assert_eq!(
            fs::read(p.join("in/b.html")).unwrap(),
            page(2).as_bytes(),
            "{what}"
        );
    };
    let refused = |args: &[&str], says: &str| {
        let o = pare(args, p);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
        unchanged(&format!("{args:?}"));
    };
    let r = ["clean", "--rules", "rules"];
    fs::hard_link(p.join("in/b.html"), p.join("b-link.html")).unwrap();
    let two = ["-o", "out", "in/a.html", "in/b.html"];
    for (args, says) in [
        // A report named like an input, however it is spelled, with -o and to stdout.
        (
            &[&two[..], &["--report", "in/a.html"]].concat(),
            "is the input",
        ),
        (
            &vec!["in/a.html", "--report", "in/../in/a.html"],
            "is the input",
        ),
        (
            &vec!["in/b.html", "--report", "b-link.html"],
            "is the input",
        ),
        // A report named like one of the run's outputs.
        (
            &[&two[..], &["--report", "out/a.html"]].concat(),
            "is the output",
        ),
    ] {
        refused(&[&r[..], &args[..]].concat(), says);
    }
    assert!(!p.join("out/a.html").exists());
    // `-` and no file at all with -o: stdin has no name to be written under.
    refused(&[&r[..], &["-o", "out", "-"]].concat(), "stdin");
    refused(&[&r[..], &["-o", "out"]].concat(), "needs the files");
    // stdout that is the input (`pare clean a.html >> a.html`).
    let append = fs::OpenOptions::new()
        .append(true)
        .open(p.join("in/a.html"))
        .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_pare"))
        .args([&r[..], &["in/a.html"]].concat())
        .current_dir(p)
        .stdin(Stdio::null())
        .stdout(append)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("stdout is the input"), "{}", text(&o));
    unchanged("stdout appending to the input");
    // stdin as the input: the report, and stdout, may not be that file either.
    for (args, says) in [
        (
            &["--report", "in/a.html"][..],
            "is the input read from stdin",
        ),
        (&[][..], "stdout is the input read from stdin"),
    ] {
        let out = fs::OpenOptions::new()
            .append(true)
            .open(p.join("in/a.html"))
            .unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_pare"))
            .args([&r[..], args].concat())
            .current_dir(p)
            .stdin(fs::File::open(p.join("in/a.html")).unwrap())
            .stdout(if args.is_empty() {
                Stdio::from(out)
            } else {
                Stdio::null()
            })
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
        unchanged("stdin the input");
    }
    // The report named like the file stdout goes to: it would replace the page.
    let o = Command::new(env!("CARGO_BIN_EXE_pare"))
        .args([&r[..], &["in/a.html", "--report", "page-out.html"]].concat())
        .current_dir(p)
        .stdin(Stdio::null())
        .stdout(fs::File::create(p.join("page-out.html")).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("where stdout goes"), "{}", text(&o));
    // A report through a link replaces the link's target, keeps its mode, and leaves
    // the link; one into a FIFO is written into it, the FIFO left a FIFO.
    fs::write(p.join("kept.json"), "old").unwrap();
    fs::set_permissions(
        p.join("kept.json"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::symlink("kept.json", p.join("via-link.json")).unwrap();
    let o = pare(
        &[
            &r[..],
            &["-o", "out2", "in/a.html", "--report", "via-link.json"],
        ]
        .concat(),
        p,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        fs::symlink_metadata(p.join("via-link.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        fs::read_to_string(p.join("kept.json"))
            .unwrap()
            .contains("\"pages\"")
    );
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(
            &fs::metadata(p.join("kept.json")).unwrap().permissions()
        ) & 0o777,
        0o600
    );
    assert!(
        Command::new("mkfifo")
            .arg(p.join("fifo"))
            .status()
            .unwrap()
            .success()
    );
    let fifo = p.join("fifo");
    let reader = std::thread::spawn(move || fs::read_to_string(fifo).unwrap());
    let o = pare(
        &[&r[..], &["-o", "out3", "in/a.html", "--report", "fifo"]].concat(),
        p,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(reader.join().unwrap().contains("\"pages\""));
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &fs::metadata(p.join("fifo")).unwrap().file_type()
    ));
    // What is allowed still works, and a report is written whole, over the one before.
    fs::write(p.join("report.json"), "old").unwrap();
    let o = pare(
        &[
            &r[..],
            &[
                "-o",
                "out",
                "in/a.html",
                "in/b.html",
                "--report",
                "report.json",
            ],
        ]
        .concat(),
        p,
    );
    assert!(o.status.success(), "{}", text(&o));
    let rep: serde_json::Value =
        serde_json::from_slice(&fs::read(p.join("report.json")).unwrap()).unwrap();
    assert_eq!(rep["pages"].as_array().unwrap().len(), 2);
    assert_cleaned(&fs::read_to_string(p.join("out/a.html")).unwrap(), 1);
    assert!(
        fs::read_dir(p).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".pare-")),
        "no temporary report left"
    );
    unchanged("the run that was allowed");
}

#[test]
fn explain_html_and_import_reports_never_land_on_an_input() {
    let d = with_rules();
    let p = d.path();
    fs::write(p.join("page.html"), page(3)).unwrap();
    let explain = |html: &str| {
        pare(
            &["explain", "--rules", "rules", "page.html", "--html", html],
            p,
        )
    };
    let o = explain("./page.html");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is the input"), "{}", text(&o));
    assert_eq!(fs::read_to_string(p.join("page.html")).unwrap(), page(3));
    let o = explain("marked.html");
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        fs::read_to_string(p.join("marked.html"))
            .unwrap()
            .contains("Article number 3")
    );
    // A FiveFilters folder: the report may not be one of its files.
    fs::create_dir_all(p.join("ftr")).unwrap();
    let config = "body: //div[@class='story']\nstrip: //div[@class='promo']\n";
    fs::write(p.join("ftr/example.com.txt"), config).unwrap();
    for report in ["ftr/example.com.txt", "ftr/../ftr/example.com.txt"] {
        let o = pare(
            &["import", "ftr", "ftr", "-o", "imported", "--report", report],
            p,
        );
        assert_eq!(o.status.code(), Some(2), "{report}: {}", text(&o));
        assert!(text(&o).contains("input folder"), "{}", text(&o));
        assert_eq!(
            fs::read_to_string(p.join("ftr/example.com.txt")).unwrap(),
            config
        );
    }
    let o = pare(
        &[
            "import",
            "ftr",
            "ftr",
            "-o",
            "imported",
            "--report",
            "misses.txt",
        ],
        p,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(p.join("misses.txt").is_file());
}

#[test]
fn clean_o_keeps_to_the_folder_it_started_with_when_a_link_takes_its_name() {
    let d = with_rules();
    let p = d.path();
    fs::create_dir_all(p.join("elsewhere")).unwrap();
    // Enough files, in sub-folders, that the run is still going when the swap comes;
    // the test makes sure it was (and doubles the files until it is).
    let placed = |dir: &Path| -> Vec<String> {
        files(dir)
            .into_iter()
            .filter(|f| !f.starts_with(".pare-tmp/"))
            .collect()
    };
    let mut n = 400;
    loop {
        let _ = fs::remove_dir_all(p.join("in"));
        let _ = fs::remove_dir_all(p.join("out.started"));
        let _ = fs::remove_file(p.join("out"));
        let mut names = Vec::new();
        for i in 0..n {
            let f = format!("in/d{}/p{i}.html", i % 7);
            fs::create_dir_all(p.join(&f).parent().unwrap()).unwrap();
            fs::write(p.join(&f), page(i)).unwrap();
            names.push(f);
        }
        let child = Command::new(env!("CARGO_BIN_EXE_pare"))
            .args([
                "clean", "--rules", "rules", "-j", "1", "--sync", "-o", "out",
            ])
            .args(&names)
            .current_dir(p)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for("the first outputs", DEADLINE, || {
            p.join("out").is_dir() && placed(&p.join("out")).len() >= 5
        });
        // The name taken by a link elsewhere: `mv out out.started; ln -s elsewhere out`.
        fs::rename(p.join("out"), p.join("out.started")).unwrap();
        std::os::unix::fs::symlink(p.join("elsewhere"), p.join("out")).unwrap();
        let at_swap = placed(&p.join("out.started")).len();
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(
            files(&p.join("elsewhere")),
            Vec::<String>::new(),
            "written through the link"
        );
        let out = placed(&p.join("out.started"));
        assert_eq!(
            out.len(),
            n,
            "every output in the folder the run started with"
        );
        for i in [0, n / 2, n - 1] {
            let f = format!("d{}/p{i}.html", i % 7);
            assert_cleaned(
                &fs::read_to_string(p.join("out.started").join(f)).unwrap(),
                i,
            );
        }
        if at_swap < n {
            break;
        }
        assert!(n < 20_000, "the run always ended before the swap");
        n *= 2;
    }
}

#[test]
fn clean_o_gives_same_named_inputs_their_own_output_under_load() {
    // Large inputs of the same name, cleaned in parallel: each output is its own input's.
    let d = with_rules();
    let p = d.path();
    let mut args: Vec<String> = ["clean", "--rules", "rules", "-j", "4", "-o", "out"]
        .map(String::from)
        .to_vec();
    for i in 0..8 {
        let f = format!("s{i}/source.html");
        fs::create_dir_all(p.join(format!("s{i}"))).unwrap();
        let body = format!("<p>marker {i}</p>").repeat(20_000);
        fs::write(
            p.join(&f),
            page(i).replace("<article>", &format!("<article>{body}")),
        )
        .unwrap();
        args.push(f);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = pare(&args, p);
    assert!(o.status.success(), "{}", text(&o));
    for i in 0..8 {
        let out = fs::read_to_string(p.join(format!("out/s{i}/source.html"))).unwrap();
        assert_cleaned(&out, i);
        for j in (0..8).filter(|&j| j != i) {
            assert!(
                !out.contains(&format!("marker {j}<")),
                "output {i} holds input {j}"
            );
        }
    }
}

// 2. Names too long for the work folder once escaped.

#[test]
fn names_too_long_to_escape_are_cleaned_and_block_nothing() {
    let env = Env::new("");
    let d = env.start();
    let long = format!("{}.html", "L".repeat(245));
    let slug = format!("{}.html", "s".repeat(197));
    let nested = format!("www.example-news-site.com/2024/05/17/{slug}");
    env.drop_file(&long, &page(1));
    env.drop_file(&nested, &page(2));
    env.drop_file("after.html", &page(3));
    for (rel, n) in [(&long, 1), (&nested, 2), (&"after.html".to_string(), 3)] {
        wait_for(rel, DEADLINE, || env.out(rel).is_some());
        assert_cleaned(&env.out(rel).unwrap(), n);
    }
    // A failure with such a name reaches failed/ under a name that fits (with a reason).
    let png = format!("{}.html", "P".repeat(250));
    crate::robust::deliver(&env, Path::new(&png), PNG);
    wait_for("the long-named PNG in failed", DEADLINE, || {
        files(&env.failed).iter().any(|f| f.ends_with(".reason"))
    });
    let failed = files(&env.failed);
    assert_eq!(failed.len(), 2, "{failed:?}");
    let reason = failed.iter().find(|f| f.ends_with(".reason")).unwrap();
    assert!(failed.iter().all(|f| f.len() <= 255));
    let why = fs::read_to_string(env.failed.join(reason)).unwrap();
    assert!(why.contains("PNG") && why.contains(&png), "{why}");
    let moved = failed.iter().find(|f| !f.ends_with(".reason")).unwrap();
    assert_eq!(fs::read(env.failed.join(moved)).unwrap(), PNG);
    wait_for("inbox and work empty", DEADLINE, || {
        inputs(&env).is_empty() && claims(&env).is_empty()
    });
    let status = pare(
        &["status", "--config", env.config.to_str().unwrap()],
        env.dir.path(),
    );
    assert!(!text(&status).contains("blocked"), "{}", text(&status));
    drop(d);
}

// 3. failed/: an input and its reason are one reservation.

#[test]
fn failed_never_replaces_a_file_and_reason_files_are_not_taken() {
    let env = Env::new("");
    fs::create_dir_all(&env.failed).unwrap();
    // Someone's file already holds the reason's name in failed/.
    fs::write(env.failed.join("z.html.reason"), "mine").unwrap();
    let d = env.start();
    crate::robust::deliver(&env, Path::new("z.html"), PNG);
    wait_for("z in failed", DEADLINE, || files(&env.failed).len() == 3);
    assert_eq!(fs::read(env.failed.join("z.html.reason")).unwrap(), b"mine");
    assert_eq!(fs::read(env.failed.join("z (2).html")).unwrap(), PNG);
    assert!(
        fs::read_to_string(env.failed.join("z (2).html.reason"))
            .unwrap()
            .contains("PNG")
    );

    // A `.reason` file in the inbox is not an article: left where it is, and counted.
    let first = [PNG, b"one"].concat();
    crate::robust::deliver(&env, Path::new("y.html.reason"), &first);
    crate::robust::deliver(&env, Path::new("y.html"), PNG);
    wait_for("y.html in failed", DEADLINE, || {
        env.failed.join("y.html.reason").exists()
    });
    wait_for("the reason file counted", DEADLINE, || {
        d.log().contains("not taken")
    });
    assert_eq!(fs::read(env.inbox.join("y.html.reason")).unwrap(), first);
    assert_eq!(fs::read(env.failed.join("y.html")).unwrap(), PNG);
    wait_for("pare status to count the reason file", DEADLINE, || {
        let status = pare(
            &["status", "--config", env.config.to_str().unwrap()],
            env.dir.path(),
        );
        text(&status).contains("1 reason file")
    });

    // `pare requeue` puts a failure back without its reason.
    drop(d);
    fs::remove_file(env.inbox.join("y.html.reason")).unwrap();
    let o = pare(
        &[
            "requeue",
            "--config",
            env.config.to_str().unwrap(),
            "y.html",
        ],
        env.dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::read(env.inbox.join("y.html")).unwrap(), PNG);
    assert!(!env.failed.join("y.html").exists());
    assert!(!env.failed.join("y.html.reason").exists());
    assert!(!env.inbox.join("y.html.reason").exists());
    // With no names, every failure goes back.
    let o = pare(
        &["requeue", "--config", env.config.to_str().unwrap()],
        env.dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 file"), "{}", text(&o));
    assert_eq!(fs::read(env.inbox.join("z (2).html")).unwrap(), PNG);
    assert_eq!(files(&env.failed), ["z.html.reason"]);
}

// 4. Folder layouts that would re-ingest or mix files are refused, naming both paths.

#[test]
fn layouts_that_loop_or_mix_are_refused_by_run_and_check() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "outbox = \"inbox\"\nfailed = \"failed\"\n",
            "outbox",
            "inbox",
        ),
        (
            "outbox = \"inbox/../inbox/out\"\nfailed = \"failed\"\n",
            "outbox",
            "inbox",
        ),
        (
            "outbox = \"link/out\"\nfailed = \"failed\"\n",
            "outbox",
            "inbox",
        ),
        (
            "outbox = \"outbox\"\nfailed = \"inbox\"\n",
            "failed",
            "inbox",
        ),
        (
            "outbox = \"outbox\"\nfailed = \"outbox\"\n",
            "failed",
            "outbox",
        ),
        (
            "outbox = \"outbox\"\nfailed = \"failed\"\nprocessed = \"move\"\ndone = \"inbox\"\n",
            "done",
            "inbox",
        ),
        (
            "outbox = \"outbox\"\nfailed = \"failed\"\nprocessed = \"move\"\ndone = \"outbox\"\n",
            "done",
            "outbox",
        ),
        (
            "outbox = \"inbox/..\"\nfailed = \"failed\"\n",
            "inbox",
            "outbox",
        ),
        // Files pare writes read as rules (a producer's `x.toml` published as a live
        // rule; second hostile run of 2026-12-02).
        (
            "outbox = \"outbox\"\nfailed = \"failed\"\nlocal_rules = \"outbox\"\n",
            "rules",
            "outbox",
        ),
        (
            "outbox = \"outbox\"\nfailed = \"failed\"\nlocal_rules = \"failed/r\"\n",
            "rules",
            "failed",
        ),
        (
            "outbox = \"outbox\"\nfailed = \"failed\"\nprocessed = \"move\"\ndone = \"rules\"\n",
            "rules",
            "done",
        ),
    ];
    for (layout, a, b) in cases {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        fs::create_dir_all(p.join("rules")).unwrap();
        fs::create_dir_all(p.join("inbox")).unwrap();
        fs::write(p.join("rules/generic.toml"), RULE).unwrap();
        std::os::unix::fs::symlink("inbox", p.join("link")).unwrap();
        fs::write(
            p.join("pare.toml"),
            format!("inbox = \"inbox\"\nrules = \"rules\"\n{layout}"),
        )
        .unwrap();
        for cmd in ["run", "check"] {
            let log = p.join(format!("{cmd}.log"));
            let mut child = Command::new(env!("CARGO_BIN_EXE_pare"))
                .args([cmd, "--config", "pare.toml"])
                .current_dir(p)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            let end = std::time::Instant::now() + DEADLINE;
            let status = loop {
                if let Some(s) = child.try_wait().unwrap() {
                    break Some(s);
                }
                if std::time::Instant::now() > end {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            assert!(status.is_some(), "{cmd} kept running with {layout}");
            let o = Output {
                status: status.unwrap(),
                stdout: Vec::new(),
                stderr: fs::read(&log).unwrap(),
            };
            let t = text(&o);
            assert!(!o.status.success(), "{cmd} accepted {layout}: {t}");
            let (pa, pb) = (
                fs::canonicalize(p).unwrap().join(a),
                fs::canonicalize(p).unwrap().join(b),
            );
            assert!(
                t.contains(&format!("{a} ")) && t.contains(&format!("{b} ")),
                "{cmd}, {layout}: {t}"
            );
            assert!(
                t.contains(pa.to_str().unwrap()) || t.contains(pb.to_str().unwrap()),
                "{cmd}, {layout}: {t}"
            );
        }
    }
    // A good layout passes `pare check --config`.
    let env = Env::new("");
    let o = pare(
        &["check", "--config", env.config.to_str().unwrap()],
        env.dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
}

// 5. The inbox replaced under a running daemon.

#[test]
fn an_inbox_replaced_while_running_is_watched_again() {
    let env = Env::new("");
    let d = env.start();
    env.drop_file("before.html", &page(1));
    wait_for("before.html", DEADLINE, || env.out("before.html").is_some());
    fs::rename(&env.inbox, env.dir.path().join("inbox.gone")).unwrap();
    fs::create_dir(&env.inbox).unwrap();
    wait_for("a warning about the new inbox", DEADLINE, || {
        d.log()
            .contains("the inbox or its work folder was replaced")
    });
    env.drop_file("after.html", &page(2));
    wait_for("after.html", DEADLINE, || env.out("after.html").is_some());
    assert_cleaned(&env.out("after.html").unwrap(), 2);
    // And removed: recreated (create_dirs), still watched.
    fs::rename(&env.inbox, env.dir.path().join("inbox.gone2")).unwrap();
    wait_for("the inbox created again", DEADLINE, || env.inbox.is_dir());
    wait_for("the state file in the new inbox", DEADLINE, || {
        env.work.join("status.json").exists()
    });
    env.drop_file("third.html", &page(3));
    wait_for("third.html", DEADLINE, || env.out("third.html").is_some());
    let status = pare(
        &["status", "--config", env.config.to_str().unwrap()],
        env.dir.path(),
    );
    assert!(status.status.success(), "{}", text(&status));
    assert!(text(&status).contains("running"), "{}", text(&status));
    drop(d);
}

// 6. The rules folder recreated file by file.

#[test]
fn rules_recreated_file_by_file_never_run_half_a_set() {
    let env = Env::new("");
    let sites: Vec<String> = (0..4).map(|i| format!("site{i}.com.toml")).collect();
    for s in &sites {
        fs::write(
            env.rules.join(s),
            format!("domains = [\"{}\"]\n", s.trim_end_matches(".toml")),
        )
        .unwrap();
    }
    let saved = env.dir.path().join("saved-rules");
    fs::create_dir(&saved).unwrap();
    for f in fs::read_dir(&env.rules).unwrap().flatten() {
        fs::copy(f.path(), saved.join(f.file_name())).unwrap();
    }
    let d = env.start();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let feeder = {
        let (stop, inbox, staging) = (
            stop.clone(),
            env.inbox.clone(),
            env.dir.path().join("staging"),
        );
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let tmp = staging.join(format!("f{n}"));
                fs::write(&tmp, page(n)).unwrap();
                fs::rename(&tmp, inbox.join(format!("f{n}.html"))).unwrap();
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    fs::remove_dir_all(&env.rules).unwrap();
    fs::create_dir(&env.rules).unwrap();
    // Site files first, the generic file last (as `cp saved/* rules/` goes: 'g' > digits).
    let mut names: Vec<OsString> = fs::read_dir(&saved)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    names.sort_by_key(|n| n.as_bytes().starts_with(b"generic"));
    for n in &names {
        std::thread::sleep(Duration::from_millis(50));
        fs::copy(saved.join(n), env.rules.join(n)).unwrap();
    }
    wait_for("the whole set loaded again", DEADLINE, || {
        d.log().contains("files=5")
    });
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let n = feeder.join().unwrap();
    wait_for("every page cleaned", DEADLINE, || {
        (0..n).all(|i| env.out(&format!("f{i}.html")).is_some())
    });
    for i in 0..n {
        assert_cleaned(&env.out(&format!("f{i}.html")).unwrap(), i);
    }
    // Emptied, and left empty: the running rules stay…
    let reloads = |d: &crate::daemon::Daemon| d.log().matches("rules reloaded").count();
    let before = reloads(&d);
    fs::remove_dir_all(&env.rules).unwrap();
    fs::create_dir(&env.rules).unwrap();
    wait_for("the empty set refused", DEADLINE, || {
        d.log()
            .contains("no rule files; pare keeps the running rules")
    });
    env.drop_file("g1.html", &page(1001));
    wait_for("g1.html", DEADLINE, || env.out("g1.html").is_some());
    assert_cleaned(&env.out("g1.html").unwrap(), 1001);
    // …and so they do when the site files are back but not the generic one…
    for n in names
        .iter()
        .filter(|n| !n.as_bytes().starts_with(b"generic"))
    {
        fs::copy(saved.join(n), env.rules.join(n)).unwrap();
    }
    wait_for("the set without generic rules refused", DEADLINE, || {
        d.log()
            .contains("no generic rules; pare keeps the running rules")
    });
    env.drop_file("g2.html", &page(1002));
    wait_for("g2.html", DEADLINE, || env.out("g2.html").is_some());
    assert_cleaned(&env.out("g2.html").unwrap(), 1002);
    assert_eq!(reloads(&d), before);
    // …until the whole set is back.
    fs::copy(saved.join("generic.toml"), env.rules.join("generic.toml")).unwrap();
    wait_for("the whole set reloaded", DEADLINE, || reloads(&d) > before);
}

// 7. Rule files that are symbolic links, and *.toml entries that are not files.

#[test]
fn symlinked_rule_files_reload_on_target_edits_and_bad_entries_are_errors() {
    let env = Env::new("");
    let avail = env.dir.path().join("available");
    fs::create_dir(&avail).unwrap();
    fs::rename(env.rules.join("generic.toml"), avail.join("generic.toml")).unwrap();
    std::os::unix::fs::symlink(avail.join("generic.toml"), env.rules.join("generic.toml")).unwrap();
    let d = env.start();
    env.drop_file("a.html", &page(1));
    wait_for("a.html", DEADLINE, || env.out("a.html").is_some());
    assert!(env.out("a.html").unwrap().contains("Advert"));
    // Edit the target, in place: the `.ad` block goes from now on.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(avail.join("generic.toml"))
        .unwrap();
    f.write_all(b"\n[[rule]]\nid = \"ad\"\ncategory = \"promo\"\nremove = \".ad\"\n")
        .unwrap();
    drop(f);
    wait_for("the reload", DEADLINE, || {
        d.log().contains("rules reloaded")
    });
    env.drop_file("b.html", &page(2));
    wait_for("b.html", DEADLINE, || env.out("b.html").is_some());
    assert!(!env.out("b.html").unwrap().contains("Advert"));

    // A dangling link, a FIFO: load errors naming them; the running rules stay.
    std::os::unix::fs::symlink(avail.join("nope.toml"), env.rules.join("dangling.toml")).unwrap();
    wait_for("the dangling link reported", DEADLINE, || {
        d.log().contains("dangling.toml")
    });
    fs::remove_file(env.rules.join("dangling.toml")).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(env.rules.join("pipe.toml"))
            .status()
            .unwrap()
            .success()
    );
    wait_for("the FIFO reported", DEADLINE, || {
        d.log().contains("pipe.toml")
    });
    env.drop_file("c.html", &page(3));
    wait_for("c.html", DEADLINE, || env.out("c.html").is_some());
    assert!(!env.out("c.html").unwrap().contains("Advert"));
    assert_cleaned(&env.out("c.html").unwrap(), 3);
    // The generic file replaced by a dangling link: still an error, old rules kept.
    fs::remove_file(env.rules.join("pipe.toml")).unwrap();
    fs::remove_file(avail.join("generic.toml")).unwrap();
    wait_for("the dangling generic reported", DEADLINE, || {
        d.log().matches("generic.toml").count() >= 1 && d.log().contains("not a readable")
    });
    env.drop_file("e.html", &page(4));
    wait_for("e.html", DEADLINE, || env.out("e.html").is_some());
    assert_cleaned(&env.out("e.html").unwrap(), 4);
    // `pare check` says the same.
    let o = pare(
        &["check", "--rules", env.rules.to_str().unwrap()],
        env.dir.path(),
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("generic.toml") && text(&o).contains("not a readable"),
        "{}",
        text(&o)
    );
}

// 8. A huge rule file.

#[test]
fn a_huge_rule_file_is_refused_before_it_is_read() {
    let env = Env::new("");
    let d = env.start();
    // Sparse: 4 GB of nothing on disk.
    let f = fs::File::create(env.rules.join("huge.toml")).unwrap();
    f.set_len(4 << 30).unwrap();
    drop(f);
    wait_for("the huge file reported", DEADLINE, || {
        d.log().contains("huge.toml") && d.log().contains("larger than")
    });
    env.drop_file("a.html", &page(1));
    wait_for("a.html", DEADLINE, || env.out("a.html").is_some());
    assert_cleaned(&env.out("a.html").unwrap(), 1);
    let o = pare(
        &["check", "--rules", env.rules.to_str().unwrap()],
        env.dir.path(),
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("larger than"), "{}", text(&o));
    drop(d);
}

// 9. A producer that writes in place and pauses.

#[test]
fn a_writer_that_pauses_is_waited_for() {
    let env = Env::new("");
    let d = env.start();
    let body = page(1);
    let (head, tail) = body.split_at(body.len() / 2);
    let mut f = fs::File::create(env.inbox.join("slow.html")).unwrap();
    f.write_all(head.as_bytes()).unwrap();
    f.flush().unwrap();
    // Three quiet periods (300 ms each) with the file open and half written.
    std::thread::sleep(Duration::from_millis(900));
    assert!(env.out("slow.html").is_none(), "taken half-written");
    f.write_all(tail.as_bytes()).unwrap();
    drop(f);
    wait_for("slow.html", DEADLINE, || env.out("slow.html").is_some());
    assert_eq!(
        env.out("slow.html").unwrap(),
        body.replace("<div class=\"promo\">Buy now</div>", "")
    );
    drop(d);
}

#[test]
fn a_writer_that_never_closes_is_taken_after_the_limit_with_a_warning() {
    let env = Env::new("max_open_write_ms = 1500\n");
    let d = env.start();
    let mut f = fs::File::create(env.inbox.join("open.html")).unwrap();
    f.write_all(page(1).as_bytes()).unwrap();
    f.flush().unwrap();
    wait_for("open.html", DEADLINE, || env.out("open.html").is_some());
    wait_for("still open for writing", DEADLINE, || {
        d.log().contains("still open for writing")
    });
    drop(f);
    drop(d);
}

/// Non-UTF-8 and long names in site folders, in one go: all cleaned.
#[test]
fn odd_names_in_site_folders_all_arrive() {
    let env = Env::new("");
    let d = env.start();
    let mut rels: Vec<PathBuf> = Vec::new();
    for (i, raw) in [
        b"news.example/caf\xe9 \n%2F.html".to_vec(),
        [b"news.example/".to_vec(), vec![b'x'; 250]].concat(),
        [b"news.example/a/b/c/".to_vec(), vec![0xffu8; 200]].concat(),
    ]
    .into_iter()
    .enumerate()
    {
        let rel = PathBuf::from(OsString::from_vec(raw));
        crate::robust::deliver(&env, &rel, page(i).as_bytes());
        rels.push(rel);
    }
    for (i, rel) in rels.iter().enumerate() {
        wait_for(&format!("{rel:?}"), DEADLINE, || {
            env.outbox.join(rel).exists()
        });
        assert_cleaned(&fs::read_to_string(env.outbox.join(rel)).unwrap(), i);
    }
    wait_for("inbox and work empty", DEADLINE, || {
        inputs(&env).is_empty() && claims(&env).is_empty()
    });
    assert!(files(&env.failed).is_empty());
    drop(d);
}

/// A crash after a file's output was published, before its original went: at the next
/// start it is committed, not cleaned again — rules changed meanwhile would otherwise
/// publish a second, different copy.
#[test]
fn a_file_published_before_a_crash_is_not_cleaned_twice() {
    let env = Env::new("");
    fs::create_dir_all(&env.work).unwrap();
    fs::create_dir_all(&env.outbox).unwrap();
    // As a killed daemon leaves it: the claim marked published, the output in place
    // (cleaned with rules since changed: it still holds the promo).
    fs::write(env.work.join("19-7+1_a.html"), page(1)).unwrap();
    fs::write(env.outbox.join("a.html"), page(1)).unwrap();
    // And one claimed but not published: cleaned as usual.
    fs::write(env.work.join("19-8_b.html"), page(2)).unwrap();
    let d = env.start();
    wait_for("the work folder empty", DEADLINE, || {
        claims(&env).is_empty()
    });
    assert_eq!(outputs(&env), ["a.html", "b.html"]);
    assert_eq!(env.out("a.html").unwrap(), page(1));
    assert_cleaned(&env.out("b.html").unwrap(), 2);
    wait_for("the log line", DEADLINE, || {
        d.log().contains("committed now")
    });
}

/// Two inputs whose cleaned copies come out byte for byte the same (a page saved twice,
/// the copies differing only in what pare removes) get an output each: the second is
/// never taken for a redo of the first and deleted without an output of its own. A
/// claim left by a crash whose output is already in place is a redo: one output.
#[test]
fn the_same_article_delivered_twice_gets_two_outputs_but_a_redo_one() {
    let env = Env::new("");
    let d = env.start();
    let settled = || {
        wait_for("inbox and work empty", DEADLINE, || {
            inputs(&env).is_empty() && claims(&env).is_empty()
        })
    };
    env.drop_file("a.html", &page(1));
    wait_for("outbox/a.html", DEADLINE, || env.out("a.html").is_some());
    settled();
    env.drop_file("a.html", &page(1).replace("Buy now", "Last chance"));
    wait_for("outbox/a (2).html", DEADLINE, || {
        env.out("a (2).html").is_some()
    });
    settled();
    assert_eq!(outputs(&env), ["a (2).html", "a.html"]);
    assert_eq!(env.out("a.html"), env.out("a (2).html"));
    assert_cleaned(&env.out("a.html").unwrap(), 1);
    drop(d);
    let marked = "its claim not yet marked: marked now";
    // Stopped: no temporary name is left linked to an output.
    assert!(
        !files(&env.outbox)
            .iter()
            .any(|f| f.starts_with(".pare-tmp/")),
        "{:?}",
        files(&env.outbox)
    );
    // As a daemon killed after publishing a.html, before marking its claim, leaves it:
    // the claim, and its output's temporary name still linked to the output. The next
    // start finds its own output by that file and commits it, with no second copy —
    // even with the output written to since (its content and times changed).
    fs::write(env.work.join("19-9_a.html"), page(1)).unwrap();
    fs::create_dir_all(env.outbox.join(".pare-tmp")).unwrap();
    fs::hard_link(env.outbox.join("a.html"), env.outbox.join(".pare-tmp/19-9")).unwrap();
    let out = fs::read(env.outbox.join("a.html")).unwrap();
    fs::write(env.outbox.join("a.html"), out).unwrap();
    let d = env.start();
    settled();
    assert_eq!(outputs(&env), ["a (2).html", "a.html"]);
    wait_for("the redo's log line", DEADLINE, || d.log().contains(marked));
    drop(d);
    // A claim with no temporary file placed (killed while it was being cleaned) is
    // another input: it gets an output of its own, though an identical one is there.
    fs::write(env.work.join("19-a_a.html"), page(1)).unwrap();
    let d = env.start();
    settled();
    assert_eq!(outputs(&env), ["a (2).html", "a (3).html", "a.html"]);
    assert_eq!(env.out("a (3).html"), env.out("a.html"));
    assert!(!d.log().contains(marked), "{}", d.log());
    drop(d);
    // Two deliveries of the same page claimed and killed before either was placed:
    // their temporary files, never linked, are swept at the start, and the first one
    // cleaned may get an inode number one of them had (ext4 hands freed numbers out
    // again at once). Neither takes the other's output for its own: two outputs.
    fs::write(env.work.join("19-b_a.html"), page(1)).unwrap();
    fs::write(env.work.join("19-c_a.html"), page(1)).unwrap();
    fs::write(env.outbox.join(".pare-tmp/19-b"), "half a pa").unwrap();
    fs::write(env.outbox.join(".pare-tmp/19-c"), "half a pa").unwrap();
    let d = env.start();
    settled();
    assert_eq!(
        outputs(&env),
        [
            "a (2).html",
            "a (3).html",
            "a (4).html",
            "a (5).html",
            "a.html"
        ]
    );
    assert_eq!(env.out("a (4).html"), env.out("a (5).html"));
    assert!(!d.log().contains(marked), "{}", d.log());
}

// Cases found by a hostile run after the fixes above.

#[test]
fn an_outbox_turned_into_a_link_into_the_inbox_holds_work_instead_of_looping() {
    let env = Env::new("");
    let d = env.start();
    env.drop_file("a.html", &page(1));
    wait_for("a.html", DEADLINE, || env.out("a.html").is_some());
    fs::rename(&env.outbox, env.dir.path().join("outbox.old")).unwrap();
    fs::create_dir(env.inbox.join("loop")).unwrap();
    std::os::unix::fs::symlink(env.inbox.join("loop"), &env.outbox).unwrap();
    wait_for("the layout refused", DEADLINE, || {
        d.log().contains("layout pare refuses")
    });
    env.drop_file("b.html", &page(2));
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        files(&env.inbox.join("loop")).is_empty(),
        "{:?}",
        files(&env.inbox.join("loop"))
    );
    assert_eq!(inputs(&env), ["b.html"]);
    // Mended: the file goes through, once.
    fs::remove_file(&env.outbox).unwrap();
    fs::rename(env.dir.path().join("outbox.old"), &env.outbox).unwrap();
    wait_for("b.html", DEADLINE, || env.out("b.html").is_some());
    assert_cleaned(&env.out("b.html").unwrap(), 2);
    wait_for("layout is mended", DEADLINE, || {
        d.log().contains("layout is mended")
    });
    assert_eq!(outputs(&env), ["a.html", "b.html"]);
}

#[test]
fn a_temporary_folder_that_is_a_link_is_never_followed() {
    let env = Env::new("");
    let elsewhere = env.dir.path().join("important");
    fs::create_dir_all(&elsewhere).unwrap();
    fs::write(elsewhere.join("keep.txt"), "KEEP").unwrap();
    fs::create_dir_all(&env.outbox).unwrap();
    std::os::unix::fs::symlink(&elsewhere, env.outbox.join(".pare-tmp")).unwrap();
    let d = env.start();
    assert_eq!(fs::read(elsewhere.join("keep.txt")).unwrap(), b"KEEP");
    wait_for("will not follow", DEADLINE, || {
        d.log().contains("will not follow")
    });
    env.drop_file("a.html", &page(1));
    wait_for("the publishing trouble", DEADLINE, || {
        d.log().contains("cannot publish")
    });
    assert_eq!(files(&elsewhere), ["keep.txt"]);
    assert!(env.out("a.html").is_none());
    // Removed: publishing resumes.
    fs::remove_file(env.outbox.join(".pare-tmp")).unwrap();
    wait_for("a.html", DEADLINE, || env.out("a.html").is_some());
}

#[test]
fn a_state_file_among_the_folders_is_refused() {
    for inside in [
        "inbox/state.json",
        "outbox/a.html",
        "failed/x.png",
        "rules/z.toml",
    ] {
        let env = Env::new(&format!("state_file = \"{inside}\"\n"));
        let o = pare(
            &["check", "--config", env.config.to_str().unwrap()],
            env.dir.path(),
        );
        assert!(!o.status.success(), "{inside}: {}", text(&o));
        assert!(
            text(&o).contains("the state file"),
            "{inside}: {}",
            text(&o)
        );
    }
}

#[test]
fn a_site_folder_named_like_a_failed_file_still_fails_cleanly() {
    let env = Env::new("");
    let d = env.start();
    crate::robust::deliver(&env, Path::new("foo"), PNG);
    wait_for("foo in failed", DEADLINE, || {
        env.failed.join("foo.reason").exists()
    });
    crate::robust::deliver(&env, Path::new("foo/x.html"), &[PNG, b"B"].concat());
    wait_for("foo/x.html in failed, flattened", DEADLINE, || {
        env.failed.join("foo_x.html.reason").exists()
    });
    let why = fs::read_to_string(env.failed.join("foo_x.html.reason")).unwrap();
    assert!(
        why.contains("PNG") && why.contains("original name: foo/x.html"),
        "{why}"
    );
    wait_for("work empty", DEADLINE, || claims(&env).is_empty());
    drop(d);
}

#[test]
fn a_writer_that_closes_and_opens_again_at_once_makes_one_article() {
    let env = Env::new("");
    let d = env.start();
    let body = page(1);
    let (head, tail) = body.split_at(body.len() / 2);
    fs::write(env.inbox.join("twice.html"), head).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(env.inbox.join("twice.html"))
        .unwrap();
    f.write_all(tail.as_bytes()).unwrap();
    drop(f);
    wait_for("twice.html", DEADLINE, || env.out("twice.html").is_some());
    wait_for("inbox empty", DEADLINE, || inputs(&env).is_empty());
    assert_eq!(outputs(&env), ["twice.html"]);
    assert_cleaned(&env.out("twice.html").unwrap(), 1);
    drop(d);
}

// Cases found by a second hostile run.

#[test]
fn a_site_folder_that_is_a_link_is_never_written_through() {
    let env = Env::new("");
    fs::create_dir_all(env.inbox.join("loop.com")).unwrap();
    fs::create_dir_all(&env.outbox).unwrap();
    let elsewhere = env.dir.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(env.inbox.join("loop.com"), env.outbox.join("loop.com")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, env.outbox.join("away.com")).unwrap();
    let d = env.start();
    env.drop_file("loop.com/x.html", &page(1));
    env.drop_file("away.com/y.html", &page(2));
    wait_for("both in failed", DEADLINE, || {
        env.failed.join("loop.com/x.html.reason").exists()
            && env.failed.join("away.com/y.html.reason").exists()
    });
    let why = fs::read_to_string(env.failed.join("loop.com/x.html.reason")).unwrap();
    assert!(why.contains("symbolic links"), "{why}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        d.log().matches("failed file=loop.com/x.html").count(),
        1,
        "{}",
        d.log()
    );
    assert!(files(&elsewhere).is_empty());
    assert!(inputs(&env).is_empty(), "{:?}", inputs(&env));
}

#[test]
fn a_work_folder_turned_into_a_link_is_not_followed() {
    let env = Env::new("");
    let victim = env.dir.path().join("victim");
    fs::create_dir_all(&victim).unwrap();
    fs::write(victim.join("status.json"), "precious").unwrap();
    let d = env.start();
    fs::remove_dir_all(&env.work).unwrap();
    std::os::unix::fs::symlink(&victim, &env.work).unwrap();
    wait_for("the link refused", DEADLINE, || {
        d.log().contains("work folder") && d.log().contains("is a symbolic link")
    });
    env.drop_file("a.html", &page(1));
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(fs::read(victim.join("status.json")).unwrap(), b"precious");
    assert_eq!(files(&victim), ["status.json"]);
    // Mended: work goes on.
    fs::remove_file(&env.work).unwrap();
    wait_for("a.html", DEADLINE, || env.out("a.html").is_some());
}

#[test]
fn requeue_moves_only_what_is_in_failed_and_finishes_what_it_left() {
    let env = Env::new("");
    fs::create_dir_all(env.failed.join("real.com")).unwrap();
    let outside = env.dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("v.html"), "outside").unwrap();
    std::os::unix::fs::symlink(&outside, env.failed.join("dirlink")).unwrap();
    let o = pare(
        &[
            "requeue",
            "--config",
            env.config.to_str().unwrap(),
            "dirlink/v.html",
        ],
        env.dir.path(),
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("symbolic link"), "{}", text(&o));
    assert_eq!(fs::read(outside.join("v.html")).unwrap(), b"outside");
    // A requeue killed half way left a file in the hold: the next one finishes it.
    let held = env.failed.join(".pare-requeue/77-1/real.com/g.html");
    fs::create_dir_all(held.parent().unwrap()).unwrap();
    fs::write(&held, "g").unwrap();
    fs::create_dir_all(&env.inbox).unwrap();
    let o = pare(
        &["requeue", "--config", env.config.to_str().unwrap()],
        env.dir.path(),
    );
    assert!(
        text(&o).contains("an earlier requeue, finished"),
        "{}",
        text(&o)
    );
    assert_eq!(fs::read(env.inbox.join("real.com/g.html")).unwrap(), b"g");
    assert!(!env.failed.join(".pare-requeue").join("77-1").exists());
}

/// `pare requeue` puts a file whose name the daemon shortened for the failed folder
/// back under the name it was delivered with — the daemon's own shortening, end to end
/// — and only that: a delivered name that holds the words "(original name: " and a
/// hidden work path (which once made requeue restore into `inbox/.pare-work/`, where the
/// daemon removes what it finds as a finished claim; review of the eighth hostile run's
/// mends) goes back whole, and a reason naming anything the daemon would not have
/// shortened to the failed name is not followed. A reason a killed requeue held without
/// its file goes back beside the file, and keeps its name; a running requeue's hold is
/// left alone.
#[test]
fn requeue_restores_a_shortened_name_and_leaves_no_reason_behind() {
    let env = Env::new("");
    let long = format!("site.com/2024/05/{}.html", "l".repeat(245));
    let crafted = format!("x (original name: .pare-work/{}.html", "y".repeat(245));
    let d = env.start();
    crate::robust::deliver(&env, Path::new(&long), PNG);
    crate::robust::deliver(&env, Path::new(&crafted), &[PNG, b"c"].concat());
    wait_for("both in failed", DEADLINE, || {
        files(&env.failed)
            .iter()
            .filter(|f| f.ends_with(".reason"))
            .count()
            == 2
    });
    wait_for("work empty", DEADLINE, || claims(&env).is_empty());
    drop(d);
    assert!(
        !files(&env.failed)
            .iter()
            .any(|f| f.contains(&"l".repeat(245))),
        "not shortened: {:?}",
        files(&env.failed)
    );
    // A reason a killed requeue held without its file (the file stayed in failed)...
    let dead = env
        .failed
        .join(".pare-requeue/requeue-999999999-1/site.com_a_b.html.reason");
    fs::create_dir_all(dead.parent().unwrap()).unwrap();
    fs::write(&dead, "why (original name: site.com/a/b.html)\n").unwrap();
    fs::write(env.failed.join("site.com_a_b.html"), "b").unwrap();
    // ... and the hold of a requeue still running (this test's pid is alive).
    let live = env.failed.join(format!(
        ".pare-requeue/requeue-{}-1/z.html.reason",
        std::process::id()
    ));
    fs::create_dir_all(live.parent().unwrap()).unwrap();
    fs::write(&live, "z's").unwrap();
    // Reasons that name what the daemon would not have shortened to the failed name.
    fs::write(env.failed.join("m.html"), "m").unwrap();
    fs::write(
        env.failed.join("m.html.reason"),
        "x (original name: ../../etc/m.html)\n",
    )
    .unwrap();
    fs::write(env.failed.join("n.html"), "n").unwrap();
    fs::write(
        env.failed.join("n.html.reason"),
        "x (original name: .pare-work/n.html)\n",
    )
    .unwrap();
    let o = pare(
        &["requeue", "--config", env.config.to_str().unwrap()],
        env.dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::read(env.inbox.join(&long)).unwrap(), PNG);
    assert_eq!(
        fs::read(env.inbox.join(&crafted)).unwrap(),
        [PNG, b"c"].concat()
    );
    assert_eq!(fs::read(env.inbox.join("site.com/a/b.html")).unwrap(), b"b");
    assert_eq!(fs::read(env.inbox.join("m.html")).unwrap(), b"m");
    assert_eq!(fs::read(env.inbox.join("n.html")).unwrap(), b"n");
    assert!(!env.inbox.join(".pare-work/n.html").exists());
    assert_eq!(
        fs::read_to_string(&live).unwrap(),
        "z's",
        "a running requeue's hold was touched"
    );
    let left: Vec<_> = files(&env.failed)
        .into_iter()
        .filter(|f| !f.starts_with(".pare-requeue/requeue-") || !f.ends_with("/z.html.reason"))
        .collect();
    assert!(left.is_empty(), "left in failed: {left:?}");
    assert!(!dead.parent().unwrap().exists());
}

/// A cleaned file whose original cannot go to `done` (the folder gone, or full) waits in
/// the work folder and goes once it can, while the daemon runs: not only at its next
/// start.
#[test]
fn an_original_that_cannot_be_moved_to_done_goes_once_it_can() {
    let env = Env::new("processed = \"move\"\ndone = \"done\"\n");
    let done = env.dir.path().join("done");
    let d = env.start();
    env.drop_file("a.html", &page(1));
    wait_for("outbox/a.html", DEADLINE, || env.out("a.html").is_some());
    wait_for("done/a.html", DEADLINE, || done.join("a.html").exists());
    fs::remove_dir_all(&done).unwrap();
    env.drop_file("b.html", &page(2));
    wait_for("outbox/b.html", DEADLINE, || env.out("b.html").is_some());
    wait_for("the warning", DEADLINE, || {
        d.log().contains("cannot remove the original")
    });
    assert_eq!(claims(&env).len(), 1, "{:?}", claims(&env));
    // `pare status` says so.
    wait_for("the status", DEADLINE, || {
        text(&pare(
            &["status", "--config", env.config.to_str().unwrap()],
            env.dir.path(),
        ))
        .contains("1 cleaned, originals waiting in the work folder")
    });
    // Others still go through meanwhile.
    env.drop_file("c.html", &page(3));
    wait_for("outbox/c.html", DEADLINE, || env.out("c.html").is_some());
    fs::create_dir(&done).unwrap();
    wait_for("the originals in done", DEADLINE, || {
        done.join("b.html").exists() && done.join("c.html").exists()
    });
    wait_for("the work folder empty", DEADLINE, || {
        claims(&env).is_empty()
    });
    assert_eq!(fs::read_to_string(done.join("b.html")).unwrap(), page(2));
    assert_eq!(outputs(&env), ["a.html", "b.html", "c.html"]);
    // Said once the originals are moved (the test may look between the two).
    wait_for("the log line", DEADLINE, || {
        d.log().contains("went after all")
    });
}

/// Originals waiting for a missing `done` folder are not moved once `done` comes back
/// as a link into the outbox (nor into the inbox): the committer checks the folder
/// layout before it moves them, and moves them once the layout is mended.
#[test]
fn waiting_originals_never_go_to_a_done_folder_that_is_a_link_into_the_outbox() {
    let env = Env::new("processed = \"move\"\ndone = \"done\"\n");
    let done = env.dir.path().join("done");
    let d = env.start();
    fs::remove_dir_all(&done).unwrap();
    env.drop_file("a.html", &page(1));
    wait_for("outbox/a.html", DEADLINE, || env.out("a.html").is_some());
    wait_for("the warning", DEADLINE, || {
        d.log().contains("cannot remove the original")
    });
    std::os::unix::fs::symlink(&env.outbox, &done).unwrap();
    wait_for("the layout refused", DEADLINE, || {
        d.log().contains("layout pare refuses")
    });
    // Retries come every 0.5 s at first: several would have moved it by now.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        outputs(&env),
        ["a.html"],
        "an original went into the outbox"
    );
    assert_cleaned(&env.out("a.html").unwrap(), 1);
    assert_eq!(claims(&env).len(), 1);
    fs::remove_file(&done).unwrap();
    fs::create_dir(&done).unwrap();
    wait_for("done/a.html", Duration::from_secs(60), || {
        done.join("a.html").exists()
    });
    assert_eq!(fs::read_to_string(done.join("a.html")).unwrap(), page(1));
    wait_for("the work folder empty", DEADLINE, || {
        claims(&env).is_empty()
    });
    assert_eq!(outputs(&env), ["a.html"]);
}

/// A consumer that takes outputs and removes the empty folders they leave (`find
/// -empty -delete`) races the daemon's `mkdir` of a site folder's next level: a folder
/// removed between making it and placing the file is made again. It used to be taken
/// for the outbox's trouble and held every file back (8 of 300 published in 20 s), and
/// a batch whose folders went with their parents kept its originals until a restart,
/// which published them again.
#[test]
fn a_consumer_removing_empty_folders_holds_nothing_back() {
    let env = Env::new("");
    let d = env.start();
    let taken = env.dir.path().join("taken");
    fs::create_dir_all(&taken).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let consumer = {
        let (outbox, taken, stop) = (env.outbox.clone(), taken.clone(), stop.clone());
        std::thread::spawn(move || {
            // Depth first: files moved out, then every empty folder removed.
            fn tidy(dir: &Path, top: bool, taken: &Path) {
                let Ok(rd) = fs::read_dir(dir) else { return };
                for e in rd.flatten() {
                    let p = e.path();
                    if p.file_name().is_some_and(|n| n == ".pare-tmp") {
                        continue;
                    }
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        tidy(&p, false, taken);
                    } else {
                        let name = p
                            .strip_prefix(taken.parent().unwrap().join("outbox"))
                            .unwrap()
                            .to_string_lossy()
                            .replace('/', "_");
                        let _ = fs::rename(&p, taken.join(name));
                    }
                }
                if !top {
                    let _ = fs::remove_dir(dir);
                }
            }
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tidy(&outbox, true, &taken);
            }
            tidy(&outbox, true, &taken);
        })
    };
    let n = 200;
    for i in 0..n {
        env.drop_file(&format!("w.example/2024/05/{}/a{i}.html", i % 5), &page(i));
    }
    wait_for(
        "every output taken by the consumer",
        Duration::from_secs(60),
        || fs::read_dir(&taken).unwrap().count() == n,
    );
    wait_for("the work folder empty", DEADLINE, || {
        claims(&env).is_empty()
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    consumer.join().unwrap();
    let log = d.log();
    assert!(!log.contains("cannot publish"), "{log}");
    assert!(!log.contains("originals kept in the work folder"), "{log}");
    drop(d);
    // Nothing is published again at the next start.
    let d = env.start();
    std::thread::sleep(Duration::from_millis(800));
    assert!(outputs(&env).is_empty(), "{:?}", outputs(&env));
    drop(d);
}

/// An original whose path cannot be made in `done` (a link where its site folder would
/// be) goes to the top of `done` under its path as one name: it used to stay in the
/// work folder for ever, tried every 30 s and at every start. Nothing is written
/// through the link.
#[test]
fn an_original_whose_path_cannot_be_made_in_done_goes_there_under_one_name() {
    let env = Env::new("processed = \"move\"\ndone = \"done\"\n");
    let done = env.dir.path().join("done");
    let elsewhere = env.dir.path().join("elsewhere");
    fs::create_dir_all(&done).unwrap();
    fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, done.join("site.example")).unwrap();
    let d = env.start();
    env.drop_file("site.example/y.html", &page(1));
    wait_for("done/site.example_y.html", DEADLINE, || {
        done.join("site.example_y.html").exists()
    });
    assert_eq!(
        fs::read_to_string(done.join("site.example_y.html")).unwrap(),
        page(1)
    );
    assert!(files(&elsewhere).is_empty(), "{:?}", files(&elsewhere));
    assert_cleaned(&env.out("site.example/y.html").unwrap(), 1);
    wait_for("the work folder empty", DEADLINE, || {
        claims(&env).is_empty()
    });
    assert!(
        d.log().contains("moved there under one name"),
        "{}",
        d.log()
    );
}

/// Originals waiting for a missing `done` when the daemon stops, whose outputs a
/// consumer takes before the next start: committed at that start, not cleaned and
/// published a second time (their claims say their outputs were made durable).
#[test]
fn waiting_originals_whose_outputs_were_taken_are_not_published_again() {
    let env = Env::new("processed = \"move\"\ndone = \"done\"\n");
    let done = env.dir.path().join("done");
    let d = env.start();
    fs::remove_dir_all(&done).unwrap();
    for i in 0..3 {
        env.drop_file(&format!("a{i}.html"), &page(i));
    }
    wait_for("three outputs", DEADLINE, || outputs(&env).len() == 3);
    wait_for("the warning", DEADLINE, || {
        d.log().contains("cannot remove the original")
    });
    assert!(d.stop().success());
    assert_eq!(claims(&env).len(), 3);
    // A consumer takes the outputs meanwhile.
    for f in outputs(&env) {
        fs::remove_file(env.outbox.join(f)).unwrap();
    }
    fs::create_dir(&done).unwrap();
    let d = env.start();
    wait_for("the originals in done", DEADLINE, || {
        files(&done).len() == 3
    });
    wait_for("the work folder empty", DEADLINE, || {
        claims(&env).is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        outputs(&env).is_empty(),
        "published again: {:?}",
        outputs(&env)
    );
    wait_for("committed now", DEADLINE, || {
        d.log().contains("committed now")
    });
}

/// `pare status` knows a running daemon by the lock it holds on the work folder, not
/// by its binary's name: a daemon run from a renamed copy used to be "not running".
#[test]
fn status_sees_a_daemon_run_from_a_renamed_binary() {
    let env = Env::new("");
    let copy = env.dir.path().join("cleaner");
    fs::copy(env!("CARGO_BIN_EXE_pare"), &copy).unwrap();
    let mut child = Command::new(&copy)
        .args(["run", "--config", env.config.to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = || {
        text(&pare(
            &["status", "--config", env.config.to_str().unwrap()],
            env.dir.path(),
        ))
    };
    wait_for("pare is running", DEADLINE, || {
        status().contains("pare is running")
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(status().contains("is not running"), "{}", status());
}

/// Swaps two names in one step (`renameat2(RENAME_EXCHANGE)`), as a hostile process
/// racing pare's checks would.
fn exchange(a: &Path, b: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    let (a, b) = (c(a), c(b));
    // SAFETY: two NUL-terminated paths that outlive the call; the kernel only reads them.
    #[allow(unsafe_code)]
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    r == 0
}

/// Swaps each pair of names out and back (see [`exchange`]) in a loop on a thread of
/// its own, pausing `pause` after each round, until [`stop`](Self::stop)ped: the real
/// folder is at its name most of the time.
struct Swapper {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    made: std::sync::Arc<std::sync::atomic::AtomicU64>,
    thread: std::thread::JoinHandle<u64>,
}

impl Swapper {
    fn start(pairs: Vec<(PathBuf, PathBuf)>, pause: Duration) -> Swapper {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let halt = stop.clone();
        let made = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let so_far = made.clone();
        let thread = std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !halt.load(Ordering::Relaxed) {
                for (a, b) in &pairs {
                    if exchange(a, b) {
                        std::thread::yield_now();
                        assert!(exchange(a, b));
                        swaps += 1;
                        so_far.store(swaps, Ordering::Relaxed);
                    }
                }
                if !pause.is_zero() {
                    std::thread::sleep(pause);
                }
            }
            swaps
        });
        Swapper { stop, made, thread }
    }

    /// Swaps made so far.
    fn swaps(&self) -> u64 {
        self.made.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops swapping; how many swaps (out and back) were made.
    fn stop(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// An outbox site folder and `done`'s site folder swapped with links into the inbox
/// in a tight loop while files are published and moved (found by a hostile run):
/// nothing is ever written through a link, and every input ends once — cleaned (its
/// original in `done`) or, when it met the link itself, failed with its reason.
#[test]
fn folders_swapped_for_links_in_a_loop_are_never_written_through() {
    let env = Env::new("processed = \"move\"\ndone = \"done\"\n");
    let done = env.dir.path().join("done");
    let (trap_out, trap_done) = (env.inbox.join("trap-out"), env.inbox.join("trap-done"));
    for d in [
        env.outbox.join("s.com"),
        done.join("s.com"),
        trap_out.clone(),
        trap_done.clone(),
    ] {
        fs::create_dir_all(d).unwrap();
    }
    std::os::unix::fs::symlink(&trap_out, env.outbox.join("s.link")).unwrap();
    std::os::unix::fs::symlink(&trap_done, done.join("s.link")).unwrap();
    let d = env.start();
    let swapper = Swapper::start(
        vec![
            (env.outbox.join("s.com"), env.outbox.join("s.link")),
            (done.join("s.com"), done.join("s.link")),
        ],
        Duration::ZERO,
    );
    const N: usize = 150;
    for i in 0..N {
        env.drop_file(&format!("s.com/{i}.html"), &page(i));
    }
    wait_for("every input taken", Duration::from_secs(60), || {
        inputs(&env).is_empty() && claims(&env).is_empty()
    });
    let swaps = swapper.stop();
    assert!(swaps > 100, "only {swaps} swaps");
    // Anything written through a link landed in the inbox and was cleaned from there.
    wait_for("inbox and work empty", DEADLINE, || {
        inputs(&env).is_empty() && claims(&env).is_empty()
    });
    drop(d);
    let strays = |dir: &Path| -> Vec<String> {
        files(dir)
            .into_iter()
            // (An original that met the link in `done` goes to its top under one
            // name, `s.com_<n>.html`: that is not through the link.)
            .filter(|f| !f.starts_with("s.com/") && !f.starts_with("s.com_") && f != "s.link")
            .collect()
    };
    assert!(
        strays(&env.outbox).is_empty(),
        "written through the link: {:?}",
        strays(&env.outbox)
    );
    assert!(
        strays(&done).is_empty(),
        "moved through the link: {:?}",
        strays(&done)
    );
    // Each input once: an output (with its original in done) or a failure.
    let outputs = files(&env.outbox.join("s.com"));
    let failed = files(&env.failed);
    let originals: Vec<String> = files(&done)
        .into_iter()
        .filter_map(|f| {
            f.strip_prefix("s.com/")
                .or(f.strip_prefix("s.com_"))
                .map(str::to_string)
        })
        .collect();
    for i in 0..N {
        let name = format!("{i}.html");
        let out = outputs
            .iter()
            .filter(|f| **f == name || f.starts_with(&format!("{i} (")))
            .count();
        let fail = failed
            .iter()
            .any(|f| *f == format!("s.com/{name}") || *f == format!("s.com_{name}"));
        assert!(
            (out == 1 && originals.contains(&name) && !fail) || (out == 0 && fail),
            "{name}: outputs {out}, failed {fail}, original in done {}\n{outputs:?}\n{failed:?}",
            originals.contains(&name)
        );
    }
    assert_eq!(
        outputs.len() + failed.iter().filter(|f| !f.ends_with(".reason")).count(),
        N
    );
}

/// The outbox itself swapped with a link into the inbox in a tight loop: between two of
/// the daemon's layout checks no output goes through the link (each job checks the
/// outbox it opened), and every input gets one output.
#[test]
fn an_outbox_swapped_for_a_link_in_a_loop_is_never_written_through() {
    let env = Env::new("");
    let trap = env.inbox.join("trap");
    fs::create_dir_all(&trap).unwrap();
    fs::create_dir_all(&env.outbox).unwrap();
    let link = env.dir.path().join("outbox-link");
    std::os::unix::fs::symlink(&trap, &link).unwrap();
    let d = env.start();
    // A pause after each swap: each time the daemon's own check by name sees the link
    // it holds all work back for a while.
    let swapper = Swapper::start(
        vec![(env.outbox.clone(), link.clone())],
        Duration::from_millis(2),
    );
    // Files in rounds of 60 until the swapper has made enough swaps to cross many jobs
    // (a machine under load gives its thread fewer turns).
    let mut n = 0;
    while n == 0 || (swapper.swaps() <= 50 && n < 600) {
        for i in n..n + 60 {
            env.drop_file(&format!("{i}.html"), &page(i));
        }
        n += 60;
        wait_for("every input taken", Duration::from_secs(150), || {
            inputs(&env).is_empty() && claims(&env).is_empty()
        });
    }
    let swaps = swapper.stop();
    assert!(swaps > 50, "only {swaps} swaps");
    wait_for("inbox and work empty", DEADLINE, || {
        inputs(&env).is_empty() && claims(&env).is_empty()
    });
    drop(d);
    let outputs = outputs(&env);
    let strays: Vec<&String> = outputs.iter().filter(|f| f.contains('/')).collect();
    assert!(strays.is_empty(), "written through the link: {strays:?}");
    assert!(files(&env.failed).is_empty(), "{:?}", files(&env.failed));
    for i in 0..n {
        assert!(
            outputs.contains(&format!("{i}.html")),
            "{i}.html: {outputs:?}"
        );
    }
    assert_eq!(outputs.len(), n, "{outputs:?}");
}

/// A claim left by a crash after its output was placed, its site folder in the outbox
/// then moved away and a link put in its place before the restart (found by a hostile
/// run, marked and unmarked claims alike): held until the folder is back, then
/// committed — not cleaned again into the failed folder (`ELOOP`) while its output is
/// there.
#[test]
fn a_placed_claim_whose_site_folder_became_a_link_waits_for_it() {
    let env = Env::new("");
    let elsewhere = env.dir.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    fs::create_dir_all(env.outbox.join("moved")).unwrap();
    fs::create_dir_all(env.outbox.join(".pare-tmp")).unwrap();
    fs::create_dir_all(&env.work).unwrap();
    // Unmarked: the output placed, its temporary name still linked to it.
    fs::write(env.outbox.join("moved/a.html"), "cleaned a").unwrap();
    fs::hard_link(
        env.outbox.join("moved/a.html"),
        env.outbox.join(".pare-tmp/19-1"),
    )
    .unwrap();
    fs::write(env.work.join("19-1_site.com%2Fa.html"), page(1)).unwrap();
    // Marked published.
    fs::write(env.outbox.join("moved/b.html"), "cleaned b").unwrap();
    fs::write(env.work.join("19-2+1_site.com%2Fb.html"), page(2)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, env.outbox.join("site.com")).unwrap();
    let d = env.start();
    wait_for("the hold", DEADLINE, || d.log().contains("cannot publish"));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(claims(&env).len(), 2, "{:?}", claims(&env));
    assert!(files(&env.failed).is_empty(), "{:?}", files(&env.failed));
    fs::remove_file(env.outbox.join("site.com")).unwrap();
    fs::rename(env.outbox.join("moved"), env.outbox.join("site.com")).unwrap();
    wait_for("both committed", Duration::from_secs(60), || {
        claims(&env).is_empty()
    });
    assert!(files(&env.failed).is_empty(), "{:?}", files(&env.failed));
    assert!(files(&elsewhere).is_empty(), "{:?}", files(&elsewhere));
    assert_eq!(outputs(&env), ["site.com/a.html", "site.com/b.html"]);
    wait_for("marked now", DEADLINE, || d.log().contains("marked now"));
}

/// The failed folder swapped with a link into the inbox in a loop while bad files come
/// in (found by a hostile run: 145 of 200 failures moved through the link and taken
/// again): each job checks the failed folder it opened and moves the file below that
/// open folder, so none goes through the link; every bad file ends in the failed folder
/// once, with its reason.
#[test]
fn a_failed_folder_swapped_for_a_link_in_a_loop_is_never_written_through() {
    let env = Env::new("");
    let trap = env.inbox.join("loop");
    fs::create_dir_all(&trap).unwrap();
    fs::create_dir_all(&env.failed).unwrap();
    let link = env.dir.path().join("failed-link");
    std::os::unix::fs::symlink(&trap, &link).unwrap();
    let d = env.start();
    let swapper = Swapper::start(
        vec![(env.failed.clone(), link.clone())],
        Duration::from_millis(2),
    );
    const N: usize = 60;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[0u8; 64]);
    for i in 0..N {
        let tmp = env.dir.path().join(format!("bad{i}"));
        fs::write(&tmp, &png).unwrap();
        fs::create_dir_all(env.inbox.join("site.com")).unwrap();
        fs::rename(&tmp, env.inbox.join(format!("site.com/{i}.html"))).unwrap();
        // Spread over the swapping (a loaded machine may otherwise fail them all
        // before the swapper has run).
        std::thread::sleep(Duration::from_millis(5));
    }
    wait_for("every input taken", Duration::from_secs(150), || {
        inputs(&env).is_empty() && claims(&env).is_empty()
    });
    let swaps = swapper.stop();
    assert!(swaps > 20, "only {swaps} swaps");
    drop(d);
    let failed = files(&env.failed);
    let strays: Vec<&String> = failed
        .iter()
        .filter(|f| !f.starts_with("site.com/"))
        .collect();
    assert!(strays.is_empty(), "moved through the link: {strays:?}");
    for i in 0..N {
        for name in [
            format!("site.com/{i}.html"),
            format!("site.com/{i}.html.reason"),
        ] {
            assert!(failed.contains(&name), "{name}: {failed:?}");
        }
    }
    assert_eq!(failed.len(), 2 * N, "{failed:?}");
}
