//! The embedded default: a private PostgreSQL cluster run from the machine's own binaries
//! when no `DATABASE_URL` is configured.
//!
//! `initdb` refuses to run as root, so as root the cluster belongs to the `postgres`
//! system user and lives where that user can reach it. The cluster listens on 127.0.0.1
//! only, on a free port, with its own socket directory (a system Postgres may own 5432
//! and /var/run/postgresql), and requires a password kept in a 0600 file.
//!
//! One process at a time uses a data dir: it holds an exclusive lock on
//! `data_dir/fedgate.lock` for as long as it runs (the operating system lets go of it
//! when the process ends, however it ends), and stops the cluster on shutdown only if it
//! launched it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use nix::unistd::{Uid, User};
use rand::Rng;
use rand::distributions::Alphanumeric;
use secrecy::{ExposeSecret, SecretString};
use tokio::process::Command;

const SUPERUSER: &str = "fedgate";
const DATABASE: &str = "fedgate";
/// Where clusters go when running as root and the data dir is out of the postgres user's reach.
const ROOT_FALLBACK_PARENT: &str = "/var/lib/fedgate/embedded-postgres";
/// The file in the data dir whose lock says a process uses it; it holds that process's id.
const LOCK_FILE: &str = "fedgate.lock";

#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    cluster_dir: PathBuf,
    run_as: Option<User>,
    port: u16,
    password: SecretString,
    /// Whether this process launched the cluster (and so stops it) or found it running.
    launched: bool,
    _lock: DataDirLock,
}

impl EmbeddedPostgres {
    /// Creates (first run) or reuses the cluster for `data_dir` and makes sure it runs.
    pub async fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir().ok_or_else(|| {
            anyhow::anyhow!(
                "no DATABASE_URL is set and no PostgreSQL server binaries (initdb, pg_ctl) were \
                 found in PATH or /usr/lib/postgresql/*/bin: install PostgreSQL or set DATABASE_URL"
            )
        })?;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data dir {}", data_dir.display()))?;
        let data_dir = data_dir.canonicalize()?;
        let lock = DataDirLock::acquire(&data_dir)?;
        let run_as = if Uid::effective().is_root() {
            Some(User::from_name("postgres")?.ok_or_else(|| {
                anyhow::anyhow!(
                    "running as root, and initdb refuses root: a `postgres` system user is \
                     needed for the embedded database (or set DATABASE_URL)"
                )
            })?)
        } else {
            None
        };
        let cluster_dir = cluster_dir_for(&data_dir, run_as.as_ref())?;
        let mut cluster = Self {
            bin_dir,
            cluster_dir,
            run_as,
            port: 0,
            password: SecretString::from(String::new()),
            launched: false,
            _lock: lock,
        };
        cluster.prepare_dir()?;
        if !cluster.pgdata().join("PG_VERSION").exists() {
            cluster.init().await?;
        }
        cluster.password = SecretString::from(
            std::fs::read_to_string(cluster.password_file())
                .context("reading the embedded database password")?
                .trim()
                .to_owned(),
        );
        match cluster.running_port().await? {
            Some(port) => {
                tracing::info!(port, dir = %cluster.cluster_dir.display(), "reusing the running embedded PostgreSQL");
                cluster.port = port;
            }
            None => {
                cluster.launch().await?;
                cluster.launched = true;
            }
        }
        if let Err(error) = cluster.ensure_database().await {
            if let Err(stop) = cluster.shutdown().await {
                tracing::warn!(error = %stop, "could not stop the embedded PostgreSQL");
            }
            return Err(error);
        }
        Ok(cluster)
    }

    pub fn database_url(&self) -> SecretString {
        SecretString::from(format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{DATABASE}",
            self.password.expose_secret(),
            self.port
        ))
    }

    pub fn cluster_dir(&self) -> &Path {
        &self.cluster_dir
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether this process launched the cluster, rather than finding it running (left
    /// by a fedgate that died, or started by hand).
    pub fn launched(&self) -> bool {
        self.launched
    }

    /// Stops the cluster if this process launched it (one found running is left as it
    /// was found), then lets go of the data dir.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        if self.launched {
            self.stop().await
        } else {
            tracing::info!(dir = %self.cluster_dir.display(), "leaving the embedded PostgreSQL running: this process did not start it");
            Ok(())
        }
    }

    /// Stops the cluster, whoever launched it.
    pub async fn stop(&self) -> anyhow::Result<()> {
        let pgdata = self.pgdata();
        let status = self
            .command("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(&pgdata)
            .args(["-m", "fast", "-w", "-s"])
            .status()
            .await?;
        if !status.success() {
            bail!("pg_ctl stop failed for {}", pgdata.display());
        }
        tracing::info!("embedded PostgreSQL stopped");
        Ok(())
    }

    fn pgdata(&self) -> PathBuf {
        self.cluster_dir.join("pgdata")
    }

    fn password_file(&self) -> PathBuf {
        self.cluster_dir.join("password")
    }

    fn log_file(&self) -> PathBuf {
        self.cluster_dir.join("postgres.log")
    }

    /// A command from the PostgreSQL bin dir, run as the cluster's owner.
    fn command(&self, program: &str) -> Command {
        let program = self.bin_dir.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(&user.name).arg("--").arg(program);
                c
            }
            None => Command::new(program),
        };
        command
            .kill_on_drop(true)
            .stdin(std::process::Stdio::null());
        command
    }

    fn prepare_dir(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.cluster_dir)
            .with_context(|| format!("creating {}", self.cluster_dir.display()))?;
        std::fs::set_permissions(&self.cluster_dir, std::fs::Permissions::from_mode(0o700))?;
        self.give_to_owner(&self.cluster_dir)
    }

    fn give_to_owner(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(user) = &self.run_as {
            std::os::unix::fs::chown(path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .with_context(|| format!("chown {} to {}", path.display(), user.name))?;
        }
        Ok(())
    }

    async fn init(&self) -> anyhow::Result<()> {
        let password: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        let password_file = self.password_file();
        std::fs::write(&password_file, &password)?;
        std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600))?;
        self.give_to_owner(&password_file)?;
        tracing::info!(dir = %self.cluster_dir.display(), "initialising the embedded PostgreSQL cluster");
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(self.pgdata())
            .args(["-U", SUPERUSER, "-A", "scram-sha-256", "-E", "UTF8"])
            .args(["--locale=C"])
            .arg(format!("--pwfile={}", password_file.display()))
            .output()
            .await
            .context("running initdb")?;
        if !output.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// The port of a cluster already running from this directory, if any. A
    /// `postmaster.pid` left by a crash (no server behind it) is removed.
    async fn running_port(&self) -> anyhow::Result<Option<u16>> {
        let pid_file = self.pgdata().join("postmaster.pid");
        if !pid_file.exists() {
            return Ok(None);
        }
        let status = self
            .command("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(self.pgdata())
            .output()
            .await?;
        if status.status.success() {
            // Line 4 of postmaster.pid is the port.
            let port = std::fs::read_to_string(&pid_file)?
                .lines()
                .nth(3)
                .and_then(|l| l.trim().parse().ok());
            if port.is_some() {
                return Ok(port);
            }
        }
        tracing::warn!(file = %pid_file.display(), "removing stale postmaster.pid");
        std::fs::remove_file(&pid_file)?;
        Ok(None)
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        // A free port can be taken between probing and binding: try a few.
        let mut last_error = String::new();
        for _ in 0..3 {
            match self.launch_on(free_port()?).await? {
                Ok(()) => return Ok(()),
                Err(error) => last_error = error,
            }
        }
        bail!(
            "embedded PostgreSQL did not start ({last_error}); see {}",
            self.log_file().display()
        )
    }

    /// Starts the stopped cluster again on the port it had, so that clients holding its
    /// URL reconnect (tests take the database away and bring it back this way).
    pub async fn relaunch(&mut self) -> anyhow::Result<()> {
        if let Err(error) = self.launch_on(self.port).await? {
            bail!(
                "embedded PostgreSQL did not start again on port {} ({error}); see {}",
                self.port,
                self.log_file().display()
            );
        }
        Ok(())
    }

    /// `pg_ctl start` on `port`: what it said when the server did not start.
    async fn launch_on(&mut self, port: u16) -> anyhow::Result<Result<(), String>> {
        let options = format!(
            "-p {port} -k '{}' -c listen_addresses=127.0.0.1",
            self.cluster_dir.display()
        );
        let output = self
            .command("pg_ctl")
            .arg("start")
            .arg("-D")
            .arg(self.pgdata())
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-t", "60", "-s", "-o", &options])
            .output()
            .await
            .context("running pg_ctl start")?;
        if !output.status.success() {
            return Ok(Err(String::from_utf8_lossy(&output.stderr)
                .trim()
                .to_owned()));
        }
        tracing::info!(port, dir = %self.cluster_dir.display(), "embedded PostgreSQL started");
        self.port = port;
        Ok(Ok(()))
    }

    async fn ensure_database(&self) -> anyhow::Result<()> {
        use sqlx::Connection;
        let url = format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/postgres",
            self.password.expose_secret(),
            self.port
        );
        let mut conn = sqlx::PgConnection::connect(&url).await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(DATABASE)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            sqlx::query(&format!("CREATE DATABASE {DATABASE}"))
                .execute(&mut conn)
                .await?;
        }
        conn.close().await?;
        Ok(())
    }
}

/// An exclusive lock on the data dir's lock file, held while the value lives.
#[derive(Debug)]
struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock at once, or says which process holds it.
    fn acquire(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|pid| pid.trim().parse::<u32>().ok())
                    .map_or_else(String::new, |pid| format!(" (pid {pid})"));
                bail!(
                    "the data dir {} is in use by another fedgate{holder}, which runs the \
                     embedded PostgreSQL in it: stop that one first, or give this one another \
                     FEDGATE_DATA_DIR or a DATABASE_URL",
                    data_dir.display()
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
        file.set_len(0)?;
        writeln!(file, "{}", std::process::id())?;
        Ok(Self { _file: file })
    }
}

/// The first directory holding both `initdb` and `pg_ctl`: PATH first, then the newest
/// Debian-style `/usr/lib/postgresql/<version>/bin`.
fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let from_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .find(|dir| has_both(dir));
    if from_path.is_some() {
        return from_path;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// `data_dir/postgres`, unless running as root and the postgres user cannot traverse the
/// path (root's home is 0700): then a directory under /var/lib keyed by the data dir.
fn cluster_dir_for(data_dir: &Path, run_as: Option<&User>) -> anyhow::Result<PathBuf> {
    let preferred = data_dir.join("postgres");
    let Some(user) = run_as else {
        return Ok(preferred);
    };
    if traversable_by(data_dir, user) {
        return Ok(preferred);
    }
    let key = {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
        digest[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let parent = Path::new(ROOT_FALLBACK_PARENT);
    std::fs::create_dir_all(parent)?;
    let dir = parent.join(key);
    // Leave a pointer so an operator looking in the data dir finds the cluster.
    std::fs::write(
        data_dir.join("postgres.location"),
        format!("{}\n", dir.display()),
    )?;
    tracing::info!(dir = %dir.display(), "the data dir is not reachable by the postgres user; the embedded cluster lives elsewhere");
    Ok(dir)
}

/// Whether `user` may traverse every directory down to and including `dir`.
fn traversable_by(dir: &Path, user: &User) -> bool {
    dir.ancestors().all(|ancestor| {
        let Ok(meta) = std::fs::metadata(ancestor) else {
            return false;
        };
        let mode = meta.mode();
        if meta.uid() == user.uid.as_raw() {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid.as_raw() {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    })
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
