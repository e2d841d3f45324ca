//! install.sh against a release directory: this machine's binary packed as the release's
//! archive for this CPU (the layout install.sh documents), SHA256SUMS beside it. Installs
//! into a scratch prefix; a corrupted archive is refused with the reason and nothing
//! installed. About 20 s (most of it packing the debug binary).

use std::path::Path;
use std::process::{Command, Output};

fn run(cmd: &mut Command) -> Output {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// DIR/dist: pds-wizard-VERSION-ARCH-unknown-linux-musl.tar.gz and SHA256SUMS.
fn release(dir: &Path) -> std::path::PathBuf {
    let bin = env!("CARGO_BIN_EXE_pds-wizard");
    let name = format!(
        "pds-wizard-{}-{}-unknown-linux-musl",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    );
    let top = dir.join("stage").join(&name);
    std::fs::create_dir_all(top.join("completions")).unwrap();
    std::fs::copy(bin, top.join("pds-wizard")).unwrap();
    run(Command::new(bin)
        .arg("man")
        .arg("--out-dir")
        .arg(top.join("man")));
    for (shell, file) in [
        ("bash", "pds-wizard.bash"),
        ("zsh", "_pds-wizard"),
        ("fish", "pds-wizard.fish"),
    ] {
        let o = run(Command::new(bin).args(["completions", shell]));
        std::fs::write(top.join("completions").join(file), o.stdout).unwrap();
    }
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"),
        top.join("README.md"),
    )
    .unwrap();
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    let archive = format!("{name}.tar.gz");
    run(Command::new("tar")
        .arg("-czf")
        .arg(dist.join(&archive))
        .arg("-C")
        .arg(dir.join("stage"))
        .arg(&name));
    let sums = run(Command::new("sha256sum").arg(&archive).current_dir(&dist));
    std::fs::write(dist.join("SHA256SUMS"), sums.stdout).unwrap();
    dist
}

fn install(from: &Path, prefix: &Path) -> Output {
    Command::new("sh")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
        .arg("--from")
        .arg(from)
        .arg("--prefix")
        .arg(prefix)
        .output()
        .unwrap()
}

#[test]
fn install_sh_installs_a_verified_archive_and_refuses_a_corrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let dist = release(dir.path());

    // Corrupted: one byte of the archive changed. Refused, with the reason; nothing there.
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    for e in std::fs::read_dir(&dist).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), bad.join(e.file_name())).unwrap();
    }
    let archive = std::fs::read_dir(&bad)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .unwrap();
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    let refused_prefix = dir.path().join("refused");
    let o = install(&bad, &refused_prefix);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("does not match SHA256SUMS") && err.contains("nothing was installed"),
        "{err}"
    );
    assert!(!refused_prefix.exists(), "something was installed");

    // No SHA256SUMS: nothing to check against, refused.
    std::fs::remove_file(bad.join("SHA256SUMS")).unwrap();
    let o = install(&bad, &refused_prefix);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SHA256SUMS is missing"));
    assert!(!refused_prefix.exists());

    // The real one: the binary, its man pages and completions, and its --version said.
    let prefix = dir.path().join("prefix");
    let o = install(&dist, &prefix);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let installed = prefix.join("bin/pds-wizard");
    let version = run(Command::new(&installed).arg("--version"));
    assert_eq!(out, String::from_utf8_lossy(&version.stdout));
    assert!(
        out.starts_with(&format!("pds-wizard {} (", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&installed).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert!(prefix.join("share/man/man1/pds-wizard.1").is_file());
    assert!(prefix
        .join("share/bash-completion/completions/pds-wizard")
        .is_file());
    assert!(prefix
        .join("share/zsh/site-functions/_pds-wizard")
        .is_file());
    assert!(prefix
        .join("share/fish/vendor_completions.d/pds-wizard.fish")
        .is_file());
}
