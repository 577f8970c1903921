//! The rule snapshot from the command line: the real binary, a cache folder of the
//! test's own (`XDG_CACHE_HOME`).

use std::fs;
use std::path::Path;
use std::process::Command;

fn pare(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pare"));
    c.env("XDG_CACHE_HOME", cache);
    c
}

fn run(c: &mut Command) -> (bool, String, String) {
    let out = c.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A rules folder of 120 site files and a generic one.
fn big_folder() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("generic.toml"),
        "generic = true\n[[rule]]\nid = \"promo\"\ncategory = \"promo\"\nremove = \".promo\"\n",
    )
    .unwrap();
    for i in 0..120 {
        fs::write(
            d.path().join(format!("s{i:03}.toml")),
            format!("domains = [\"s{i}.example\"]\n[[rule]]\nid = \"x\"\ncategory = \"promo\"\nremove = \".box-{i}\"\n"),
        )
        .unwrap();
    }
    d
}

const PAGE: &str = "<html><head><link rel=\"canonical\" href=\"https://s42.example/a\"></head><body><article><p>The council met on Tuesday to discuss the budget for the coming year, and it agreed on most of it.</p><p>The council met on Tuesday to discuss the budget for the coming year, and it agreed on most of it.</p></article><div class=\"box-42\">Site box</div><div class=\"promo\">Buy now</div></body></html>";

#[test]
fn check_and_clean_use_the_snapshot_and_say_so() {
    let rules = big_folder();
    let cache = tempfile::tempdir().unwrap();
    let check = |extra: &[&str]| {
        run(pare(cache.path())
            .arg("check")
            .arg("--rules")
            .arg(rules.path())
            .args(extra))
    };
    let (ok, out, _) = check(&[]);
    assert!(
        ok && out.contains("0 file(s) from it, 121 read; written anew"),
        "{out}"
    );
    let made: Vec<_> = fs::read_dir(cache.path().join("pare"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        made.len() == 1 && made[0].starts_with("rules-") && made[0].ends_with(".snapshot"),
        "{made:?}"
    );
    let (ok, out, _) = check(&[]);
    assert!(
        ok && out.contains("121 file(s) from it, 0 read\nok: 121 files, 121 rules"),
        "{out}"
    );
    let (ok, out, _) = check(&["--no-snapshot"]);
    assert!(
        ok && !out.contains("snapshot") && out.contains("ok: 121 files"),
        "{out}"
    );

    // Cleaning from the snapshot is cleaning from the files.
    let page = cache.path().join("p.html");
    fs::write(&page, PAGE).unwrap();
    let clean = |extra: &[&str]| {
        run(pare(cache.path())
            .arg("clean")
            .arg("--rules")
            .arg(rules.path())
            .args(extra)
            .arg(&page))
    };
    let (ok, from_snapshot, _) = clean(&[]);
    let (ok2, from_files, _) = clean(&["--no-snapshot"]);
    assert!(ok && ok2);
    assert_eq!(from_snapshot, from_files);
    assert!(
        !from_snapshot.contains("Site box") && !from_snapshot.contains("Buy now"),
        "{from_snapshot}"
    );

    // A file broken since is reported where it is broken; the others still come from
    // the snapshot, which is left as it was.
    let snap = cache.path().join("pare").join(&made[0]);
    let before = fs::read(&snap).unwrap();
    let broken = rules.path().join("s007.toml");
    fs::write(
        &broken,
        "domains = [\"s7.example\"]\n[[rule]]\nid = \"x\"\ncategory = \"promo\"\nremove = \".box-7\"\ncolour = 1\n",
    )
    .unwrap();
    let (ok, _, err) = check(&[]);
    assert!(!ok);
    assert!(
        err.starts_with(&format!("{}:6:1: unknown field `colour`", broken.display())),
        "{err}"
    );
    assert_eq!(fs::read(&snap).unwrap(), before);
}

#[test]
fn an_unwritable_cache_is_a_warning_not_a_failure() {
    let rules = big_folder();
    let cache = tempfile::tempdir().unwrap();
    // The cache folder is a file: nothing can be written below it.
    fs::write(cache.path().join("pare"), "not a folder").unwrap();
    let (ok, out, err) = run(pare(cache.path())
        .arg("check")
        .arg("--rules")
        .arg(rules.path()));
    assert!(ok && out.contains("ok: 121 files"), "{out}");
    assert!(
        err.contains("warning: the rules snapshot could not be written"),
        "{err}"
    );
}

#[test]
fn check_config_warms_the_daemons_snapshot_and_never_makes_its_folder() {
    let rules = big_folder();
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("cache");
    for d in ["inbox", "outbox", "failed"] {
        fs::create_dir(root.path().join(d)).unwrap();
    }
    let config = root.path().join("pare.toml");
    fs::write(
        &config,
        format!(
            "inbox = \"inbox\"\noutbox = \"outbox\"\nfailed = \"failed\"\nrules = \"{}\"\n",
            rules.path().display()
        ),
    )
    .unwrap();
    let check = || run(pare(&cache).arg("check").arg("--config").arg(&config));
    // No work folder yet (the daemon has never run): none is made, nothing cached.
    let (ok, out, _) = check();
    assert!(ok && !out.contains("snapshot"), "{out}");
    assert!(!root.path().join("inbox/.pare-work").exists());
    assert!(!cache.exists());
    // Once the daemon's folder is there, the check writes the daemon's snapshot.
    fs::create_dir(root.path().join("inbox/.pare-work")).unwrap();
    let (ok, out, _) = check();
    let snap = root.path().join("inbox/.pare-work/rules.snapshot");
    assert!(
        ok && out.contains(&format!("snapshot {}", snap.display())),
        "{out}"
    );
    assert!(snap.is_file() && !cache.exists());
}
