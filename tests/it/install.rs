//! `scripts/install.sh` into a temporary root with the binary this test run built:
//! the tree is complete, the installed binary loads the installed rules and reads the
//! installed config, and the installed units name what was installed.

use std::fs;
use std::path::Path;
use std::process::Command;

/// Runs the install script into `root` with `PREFIX=prefix`.
fn install(root: &Path, prefix: &str) {
    let out = Command::new("sh")
        .arg("scripts/install.sh")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DESTDIR", root)
        .env("PREFIX", prefix)
        .env("PARE_BIN", env!("CARGO_BIN_EXE_pare"))
        .output()
        .unwrap();
    assert!(out.status.success(), "install.sh failed: {out:?}");
}

#[test]
fn installs_a_tree_whose_binary_loads_its_rules() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    install(root, "/usr");
    for f in [
        "usr/bin/pare",
        "usr/lib/systemd/system/pare.service",
        "usr/lib/systemd/system/pare@.service",
        "usr/lib/sysusers.d/pare.conf",
        "usr/share/doc/pare/SERVICE.md",
        "etc/pare/pare.toml",
    ] {
        assert!(root.join(f).is_file(), "{f} missing");
    }
    assert!(root.join("etc/pare/rules.d").is_dir());
    let shipped = fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
        .unwrap()
        .count();
    let installed = fs::read_dir(root.join("usr/share/pare/rules"))
        .unwrap()
        .count();
    assert_eq!(installed, shipped);

    let pare = root.join("usr/bin/pare");
    let check = Command::new(&pare)
        .arg("check")
        .arg("--rules")
        .arg(root.join("usr/share/pare/rules"))
        .arg("--rules")
        .arg(root.join("etc/pare/rules.d"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        stdout.contains(&format!("ok: {shipped} files, ")),
        "{stdout}"
    );

    // The installed config parses and keeps its state under /var/lib/pare: `pare
    // status` reads it and finds the daemon has never run (exit 3).
    let status = Command::new(&pare)
        .args(["status", "--config"])
        .arg(root.join("etc/pare/pare.toml"))
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(3), "{status:?}");
    assert!(
        String::from_utf8_lossy(&status.stdout)
            .contains("/var/lib/pare/inbox/.pare-work/status.json"),
        "{status:?}"
    );

    let config = fs::read_to_string(root.join("etc/pare/pare.toml")).unwrap();
    for line in [
        "inbox = \"/var/lib/pare/inbox\"",
        "outbox = \"/var/lib/pare/outbox\"",
        "failed = \"/var/lib/pare/failed\"",
        "rules = \"/usr/share/pare/rules\"",
        "local_rules = \"/etc/pare/rules.d\"",
    ] {
        assert!(
            config.lines().any(|l| l == line),
            "{line} not in the config"
        );
    }
    let unit = fs::read_to_string(root.join("usr/lib/systemd/system/pare.service")).unwrap();
    assert!(unit.contains("\nExecStart=/usr/bin/pare run --config /etc/pare/pare.toml\n"));
    assert!(unit.contains("\nStateDirectory=pare "));
}

#[test]
fn another_prefix_is_written_into_the_units_and_config() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    install(root, "/opt/pare");
    assert!(root.join("opt/pare/bin/pare").is_file());
    let unit = fs::read_to_string(root.join("opt/pare/lib/systemd/system/pare@.service")).unwrap();
    assert!(
        unit.contains("\nExecStart=/opt/pare/bin/pare run --config /etc/pare/%i.toml\n"),
        "{unit}"
    );
    assert!(!unit.contains("/usr/bin/pare"), "{unit}");
    let config = fs::read_to_string(root.join("etc/pare/pare.toml")).unwrap();
    assert!(config.contains("\nrules = \"/opt/pare/share/pare/rules\"\n"));
}

#[test]
fn an_existing_config_is_kept() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    fs::create_dir_all(root.join("etc/pare")).unwrap();
    let mine = "inbox = \"/srv/in\"\noutbox = \"/srv/out\"\nfailed = \"/srv/failed\"\n";
    fs::write(root.join("etc/pare/pare.toml"), mine).unwrap();
    install(root, "/usr");
    assert_eq!(
        fs::read_to_string(root.join("etc/pare/pare.toml")).unwrap(),
        mine
    );
    assert!(root.join("etc/pare/pare.toml.new").is_file());
}
