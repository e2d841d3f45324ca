//! How a path reaches the file a write goes to, when the writer is root: every step is taken
//! from a directory held open (`openat` with `O_NOFOLLOW`), so nothing another user does to
//! the path between a check and the write can send it elsewhere, and a link is followed only
//! when nobody but root (or the file's owner, for the operator's own files) could have made
//! it. What the kernel's `fs.protected_symlinks` does for opens in sticky directories, done
//! here for every directory, because a rename never asks it.

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

/// How a write's path may treat links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// pds.env and the answers file: a final link is followed when the link and the directory
    /// holding it belong to root or to the file's owner (config management, a git-tracked
    /// /etc). Links to directories on the way are judged as everywhere.
    Operator,
    /// Every other file: the name written must not be a link.
    Refuse,
}

/// Where a write may go.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub links: Links,
    /// The directory the operator gave (a web root): the path must stay inside it, links
    /// included, and it may belong to the site's user.
    pub within: Option<&'a Path>,
    /// Make missing directories on the way (mode 0755).
    pub make_dirs: bool,
}

impl Place<'_> {
    pub fn plain() -> Place<'static> {
        Place {
            links: Links::Refuse,
            within: None,
            make_dirs: false,
        }
    }
}

/// A directory reached safely, held open, with its real path.
#[derive(Debug)]
pub struct OpenDir {
    pub fd: OwnedFd,
    pub path: PathBuf,
}

/// Where a write goes: a directory held open and a name in it, and what is there now.
#[derive(Debug)]
pub struct Target {
    pub dir: OpenDir,
    pub name: OsString,
    /// The file there now (not a link: that was followed or refused).
    pub existing: Option<Stat>,
}

impl Target {
    /// The real path written.
    pub fn path(&self) -> PathBuf {
        self.dir.path.join(&self.name)
    }
}

/// Why a path was not taken. Each says what was found and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{link} is a symbolic link (to {to}); pds-wizard writes through no link but pds.env's and the answers file's: give the real path, or remove the link")]
    FinalLink { link: PathBuf, to: PathBuf },
    #[error("{link} is a symbolic link (to {to}) that {who}; a link is followed only when it and its directory belong to root or to the file's owner")]
    UntrustedLink {
        link: PathBuf,
        to: PathBuf,
        who: String,
    },
    #[error("{link} is a symbolic link (to {to}) that leads out of {base}, the directory given; nothing is written outside it")]
    Leaves {
        link: PathBuf,
        to: PathBuf,
        base: PathBuf,
    },
    #[error("{path} leads out of {base}, the directory given")]
    Outside { path: PathBuf, base: PathBuf },
    #[error("{dir} {who}, so they could replace what pds-wizard writes there (or put a link in its place); choose a directory only root can change")]
    OpenDirectory { dir: PathBuf, who: String },
    #[error("{path} belongs to {who}, in {dir}, which everyone can write: somebody else put it there; choose another name")]
    Planted {
        path: PathBuf,
        dir: PathBuf,
        who: String,
    },
    #[error("{0} is a directory: give the file's path")]
    IsDirectory(PathBuf),
    #[error("{0} is not a directory")]
    NotDirectory(PathBuf),
    #[error("the directory {0} does not exist")]
    NoDirectory(PathBuf),
    #[error("{0}: too many symbolic links on the way")]
    Loop(PathBuf),
    #[error("{0} is not a file path")]
    NotAFile(PathBuf),
}

/// Either a refusal or a system error on the way.
#[derive(Debug)]
pub enum WalkError {
    Refused(Refusal),
    Io(PathBuf, std::io::Error),
}

impl From<Refusal> for WalkError {
    fn from(r: Refusal) -> Self {
        WalkError::Refused(r)
    }
}

type Walked<T> = Result<T, WalkError>;

fn io_at(path: &Path) -> impl FnOnce(rustix::io::Errno) -> WalkError + '_ {
    move |e| WalkError::Io(path.to_path_buf(), e.into())
}

const MAX_LINKS: usize = 40;

/// Resolve `path` for a write, as `place` allows.
pub fn resolve(path: &Path, place: Place) -> Walked<Target> {
    let abs = std::path::absolute(path).map_err(|e| WalkError::Io(path.to_path_buf(), e))?;
    if path.as_os_str().as_bytes().ends_with(b"/") {
        return Err(Refusal::NotAFile(path.to_path_buf()).into());
    }
    let mut walk = match place.within {
        None => Walk::from_root(place),
        Some(base) => {
            let base_abs =
                std::path::absolute(base).map_err(|e| WalkError::Io(base.to_path_buf(), e))?;
            let rel = abs
                .strip_prefix(&base_abs)
                .map_err(|_| Refusal::Outside {
                    path: abs.clone(),
                    base: base_abs.clone(),
                })?
                .to_path_buf();
            // The way to the base itself is judged as any other path (links trusted or not);
            // below it, the base is the floor.
            let mut up = Walk::from_root(Place {
                make_dirs: false,
                ..place
            });
            up.dirs(components(&base_abs))?;
            let base_dir = up.stack.pop().expect("the walk keeps its root");
            let mut w = Walk::from_root(place);
            w.base = Some((base_abs, base_dir.path.clone()));
            w.stack = vec![base_dir];
            w.queue = components(&rel);
            return w.file(path);
        }
    };
    walk.queue = components(&abs);
    walk.file(path)
}

fn components(p: &Path) -> VecDeque<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

struct Walk {
    stack: Vec<OpenDir>,
    queue: VecDeque<OsString>,
    /// The base as given and as it really is, when the walk must stay below it.
    base: Option<(PathBuf, PathBuf)>,
    links: Links,
    make_dirs: bool,
    hops: usize,
}

impl Walk {
    fn from_root(place: Place) -> Walk {
        let root = rustix::fs::openat(
            rustix::fs::CWD,
            "/",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .expect("/ can always be opened");
        Walk {
            stack: vec![OpenDir {
                fd: root,
                path: PathBuf::from("/"),
            }],
            queue: VecDeque::new(),
            base: None,
            links: place.links,
            make_dirs: place.make_dirs,
            hops: 0,
        }
    }

    fn cur(&self) -> &OpenDir {
        self.stack.last().expect("the walk keeps its root")
    }

    /// Walk every component of `queue` as a directory.
    fn dirs(&mut self, queue: VecDeque<OsString>) -> Walked<()> {
        self.queue = queue;
        while let Some(c) = self.queue.pop_front() {
            self.step_dir(c)?;
        }
        Ok(())
    }

    /// Walk to the last component's directory and judge the name there.
    fn file(mut self, asked: &Path) -> Walked<Target> {
        loop {
            let Some(c) = self.queue.pop_front() else {
                return Err(Refusal::NotAFile(asked.to_path_buf()).into());
            };
            if !self.queue.is_empty() {
                self.step_dir(c)?;
                continue;
            }
            if c == ".." {
                return Err(Refusal::NotAFile(asked.to_path_buf()).into());
            }
            let cur = self.cur();
            let here = cur.path.join(&c);
            if self.base.is_none() {
                check_open_directory(cur)?;
            }
            let st = match rustix::fs::statat(&cur.fd, c.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(s) => Some(s),
                Err(rustix::io::Errno::NOENT) => None,
                Err(e) => return Err(io_at(&here)(e)),
            };
            match st.map(|s| FileType::from_raw_mode(s.st_mode)) {
                Some(FileType::Symlink) => {
                    let to = self.read_link(&c, &here)?;
                    match (self.links, &self.base) {
                        (Links::Operator, None) => self.judge_operator_link(&c, &here, &to)?,
                        _ => return Err(Refusal::FinalLink { link: here, to }.into()),
                    }
                    self.follow(to, &here)?;
                }
                Some(FileType::Directory) => return Err(Refusal::IsDirectory(here).into()),
                _ => {
                    if let (Some(s), None) = (&st, &self.base) {
                        check_planted(cur, s, &here)?;
                    }
                    let dir = self.stack.pop().expect("the walk keeps its root");
                    return Ok(Target {
                        dir,
                        name: c,
                        existing: st,
                    });
                }
            }
        }
    }

    fn step_dir(&mut self, c: OsString) -> Walked<()> {
        if c == ".." {
            if self.stack.len() > 1 {
                self.stack.pop();
            } else if let Some((given, _)) = &self.base {
                return Err(Refusal::Outside {
                    path: given.join(".."),
                    base: given.clone(),
                }
                .into());
            }
            return Ok(());
        }
        let cur = self.cur();
        let here = cur.path.join(&c);
        let st = match rustix::fs::statat(&cur.fd, c.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(s) => Some(s),
            Err(rustix::io::Errno::NOENT) => None,
            Err(e) => return Err(io_at(&here)(e)),
        };
        match st.map(|s| FileType::from_raw_mode(s.st_mode)) {
            None if self.make_dirs => {
                match rustix::fs::mkdirat(&cur.fd, c.as_os_str(), Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(io_at(&here)(e)),
                }
                self.push_dir(&c, here)
            }
            None => Err(Refusal::NoDirectory(here).into()),
            Some(FileType::Symlink) => {
                let to = self.read_link(&c, &here)?;
                if self.base.is_none() {
                    let link = st.expect("matched Some");
                    judge_dir_link(self.cur(), &link, &here, &to)?;
                }
                self.follow(to, &here)
            }
            Some(FileType::Directory) => self.push_dir(&c, here),
            Some(_) => Err(Refusal::NotDirectory(here).into()),
        }
    }

    fn push_dir(&mut self, c: &OsStr, here: PathBuf) -> Walked<()> {
        // O_NOFOLLOW: a link swapped in since the look is refused, not followed.
        let fd = rustix::fs::openat(
            &self.cur().fd,
            c,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io_at(&here))?;
        self.stack.push(OpenDir { fd, path: here });
        Ok(())
    }

    fn read_link(&self, c: &OsStr, here: &Path) -> Walked<PathBuf> {
        let t = rustix::fs::readlinkat(&self.cur().fd, c, Vec::new()).map_err(io_at(here))?;
        Ok(PathBuf::from(OsString::from_vec(t.into_bytes())))
    }

    /// Continue the walk at the link's target.
    fn follow(&mut self, to: PathBuf, link: &Path) -> Walked<()> {
        self.hops += 1;
        if self.hops > MAX_LINKS {
            return Err(Refusal::Loop(link.to_path_buf()).into());
        }
        let mut rest = if to.is_absolute() {
            match &self.base {
                None => {
                    self.stack.truncate(1);
                    components(&to)
                }
                Some((given, real)) => {
                    let inside = to.strip_prefix(real).or_else(|_| to.strip_prefix(given));
                    let Ok(inside) = inside else {
                        return Err(Refusal::Leaves {
                            link: link.to_path_buf(),
                            to,
                            base: given.clone(),
                        }
                        .into());
                    };
                    self.stack.truncate(1);
                    components(inside)
                }
            }
        } else {
            components(&to)
        };
        // A relative link that climbs out of the base is caught by `..` at the floor.
        rest.extend(self.queue.drain(..));
        self.queue = rest;
        Ok(())
    }

    /// pds.env's rule: the link and its directory belong to root or to the file's owner.
    fn judge_operator_link(&self, c: &OsStr, here: &Path, to: &Path) -> Walked<()> {
        let cur = self.cur();
        let link =
            rustix::fs::statat(&cur.fd, c, AtFlags::SYMLINK_NOFOLLOW).map_err(io_at(here))?;
        let owner = rustix::fs::statat(&cur.fd, c, AtFlags::empty())
            .ok()
            .map(|s| s.st_uid);
        let dir = rustix::fs::fstat(&cur.fd).map_err(io_at(&cur.path))?;
        let ok = |uid: u32| uid == 0 || Some(uid) == owner;
        if !ok(link.st_uid) {
            return Err(Refusal::UntrustedLink {
                link: here.to_path_buf(),
                to: to.to_path_buf(),
                who: format!("belongs to {}", user_name(link.st_uid)),
            }
            .into());
        }
        if !ok(dir.st_uid) {
            return Err(Refusal::UntrustedLink {
                link: here.to_path_buf(),
                to: to.to_path_buf(),
                who: format!(
                    "is in {}, which belongs to {}",
                    cur.path.display(),
                    user_name(dir.st_uid)
                ),
            }
            .into());
        }
        Ok(())
    }
}

/// A link to a directory on the way is followed when root (or this user) made it, in a
/// directory nobody else can change — or a sticky one, whose entries only their owners
/// can replace.
fn judge_dir_link(dir: &OpenDir, link: &Stat, here: &Path, to: &Path) -> Walked<()> {
    let d = rustix::fs::fstat(&dir.fd).map_err(io_at(&dir.path))?;
    if !is_trusted(link.st_uid) {
        return Err(Refusal::UntrustedLink {
            link: here.to_path_buf(),
            to: to.to_path_buf(),
            who: format!("belongs to {}", user_name(link.st_uid)),
        }
        .into());
    }
    if let Some(who) = others_can_change(&d) {
        if d.st_mode & 0o1000 == 0 {
            return Err(Refusal::UntrustedLink {
                link: here.to_path_buf(),
                to: to.to_path_buf(),
                who: format!("is in {}, which {who}", dir.path.display()),
            }
            .into());
        }
    }
    Ok(())
}

/// The directory a file is written in: nobody but root (or you) may be able to change it,
/// unless it is sticky.
fn check_open_directory(dir: &OpenDir) -> Walked<()> {
    let d = rustix::fs::fstat(&dir.fd).map_err(io_at(&dir.path))?;
    match others_can_change(&d) {
        Some(who) if d.st_mode & 0o1000 == 0 => Err(Refusal::OpenDirectory {
            dir: dir.path.clone(),
            who,
        }
        .into()),
        _ => Ok(()),
    }
}

/// In a sticky directory others can write (/tmp), a file of theirs is theirs: replacing it
/// would hand them what is written (the kernel's `fs.protected_regular`, for renames).
fn check_planted(dir: &OpenDir, file: &Stat, path: &Path) -> Walked<()> {
    let d = rustix::fs::fstat(&dir.fd).map_err(io_at(&dir.path))?;
    if d.st_mode & 0o1000 != 0 && others_can_change(&d).is_some() && !is_trusted(file.st_uid) {
        return Err(Refusal::Planted {
            path: path.to_path_buf(),
            dir: dir.path.clone(),
            who: user_name(file.st_uid),
        }
        .into());
    }
    Ok(())
}

/// Who besides root (and the one running this) could have written `target`'s content: its
/// owner, its group or everyone by its mode, or whoever can change its directory (a file
/// there can be swapped). None when nobody else could. What sudo and sshd ask of their
/// own files before they act on them.
pub fn who_else_can_change(target: &Target) -> Option<String> {
    let path = target.path();
    if let Some(f) = &target.existing {
        if !is_trusted(f.st_uid) {
            return Some(format!(
                "{} belongs to {}",
                path.display(),
                user_name(f.st_uid)
            ));
        }
        if f.st_mode & 0o002 != 0 || (f.st_mode & 0o020 != 0 && f.st_gid != 0) {
            return Some(format!(
                "{} can be written by {} (mode {:04o})",
                path.display(),
                if f.st_mode & 0o002 != 0 {
                    "everyone".to_string()
                } else {
                    format!("group {}", group_name(f.st_gid))
                },
                f.st_mode & 0o7777
            ));
        }
    }
    let d = rustix::fs::fstat(&target.dir.fd).ok()?;
    match others_can_change(&d) {
        Some(who) if d.st_mode & 0o1000 == 0 => {
            Some(format!("its directory {} {who}", target.dir.path.display()))
        }
        _ => None,
    }
}

/// Root, this process's user, and the user who came through sudo: the people running it.
fn is_trusted(uid: u32) -> bool {
    uid == 0
        || uid == rustix::process::geteuid().as_raw()
        || std::env::var("SUDO_UID").is_ok_and(|s| s.parse() == Ok(uid))
}

/// Who besides the trusted can change a directory ("belongs to nobody", "anyone can
/// change", "group www-data can change"), if anyone.
fn others_can_change(d: &Stat) -> Option<String> {
    if !is_trusted(d.st_uid) {
        return Some(format!("belongs to {}", user_name(d.st_uid)));
    }
    if d.st_mode & 0o002 != 0 {
        return Some(format!(
            "anyone can change (mode {:04o}, no sticky bit)",
            d.st_mode & 0o7777
        ));
    }
    if d.st_mode & 0o020 != 0 && d.st_gid != 0 {
        return Some(format!(
            "group {} can change (mode {:04o})",
            group_name(d.st_gid),
            d.st_mode & 0o7777
        ));
    }
    None
}

/// A user's name for a message ("nobody", or "uid 1234" when the system has none).
pub fn user_name(uid: u32) -> String {
    name_from("/etc/passwd", uid).unwrap_or_else(|| format!("uid {uid}"))
}

fn group_name(gid: u32) -> String {
    name_from("/etc/group", gid).unwrap_or_else(|| format!("gid {gid}"))
}

/// The name for an id in a passwd-format file (name:x:id:…). Only for messages: what
/// pds-wizard decides rests on the numbers.
fn name_from(file: &str, id: u32) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == id).then(|| name.to_string())
    })
}
